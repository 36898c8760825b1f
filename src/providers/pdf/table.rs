//! The lines table: one row per line, descriptions wrapped to three lines, amounts shrunk
//! rather than cut, and the header repeated on every page the rows run onto.

use super::document::DocumentLine;
use super::fonts::Weight;
use super::layout::{Pages, BAND, CONTENT_WIDTH, INK, LEFT, MUTED, RULE};
use super::text::{self, Shaped};

const SIZE: f32 = 8.0;
const HEADER_SIZE: f32 = 7.0;
const LEADING: f32 = 10.0;
const PAD: f32 = 4.0;
const MAX_DESCRIPTION_LINES: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

struct Column {
    header: &'static str,
    /// None for the description, which takes the width the others leave.
    width: Option<f32>,
    align: Align,
    cell: fn(&DocumentLine) -> &str,
}

const COLUMNS: [Column; 10] = [
    column("Description", None, Align::Left, |l| &l.description),
    column("HSN/SAC", Some(42.0), Align::Left, |l| &l.hsn),
    column("Qty", Some(28.0), Align::Right, |l| &l.quantity),
    column("Unit price", Some(54.0), Align::Right, |l| &l.unit_price),
    column("Taxable value", Some(58.0), Align::Right, |l| {
        &l.taxable_value
    }),
    column("GST rate", Some(30.0), Align::Right, |l| &l.rate),
    column("CGST", Some(50.0), Align::Right, |l| &l.cgst),
    column("SGST", Some(50.0), Align::Right, |l| &l.sgst),
    column("IGST", Some(54.0), Align::Right, |l| &l.igst),
    column("Total", Some(62.0), Align::Right, |l| &l.total),
];

const fn column(
    header: &'static str,
    width: Option<f32>,
    align: Align,
    cell: fn(&DocumentLine) -> &str,
) -> Column {
    Column {
        header,
        width,
        align,
        cell,
    }
}

/// The serial-number column, which no line field fills.
const SERIAL_WIDTH: f32 = 18.0;

/// The columns this table shows, with their left edge and width: a tax column empty on
/// every line (IGST within a state, CGST and SGST across states) is left out.
fn layout(lines: &[DocumentLine]) -> Vec<(&'static Column, f32, f32)> {
    let shown: Vec<&Column> = COLUMNS
        .iter()
        .filter(|c| c.width.is_none() || lines.iter().any(|l| !(c.cell)(l).trim().is_empty()))
        .collect();
    let fixed: f32 = shown.iter().filter_map(|c| c.width).sum();
    let description = CONTENT_WIDTH - SERIAL_WIDTH - fixed;
    let mut x = LEFT + SERIAL_WIDTH;
    shown
        .into_iter()
        .map(|c| {
            let width = c.width.unwrap_or(description);
            let placed = (c, x, width);
            x += width;
            placed
        })
        .collect()
}

pub fn draw(pages: &mut Pages, lines: &[DocumentLine]) {
    let columns = layout(lines);
    // The header and at least one row stay together.
    pages.make_room(header_height() + LEADING + 2.0 * PAD);
    header(pages, &columns);
    for (index, line) in lines.iter().enumerate() {
        let cells = row(pages, &columns, index, line);
        let height =
            cells.iter().map(|c| c.1.len()).max().unwrap_or(1) as f32 * LEADING + 2.0 * PAD;
        if pages.make_room(height) {
            header(pages, &columns);
        }
        let baseline = pages.y + PAD + SIZE;
        for ((x, align, width), lines) in cells {
            for (i, shaped) in lines.into_iter().enumerate() {
                let y = baseline + i as f32 * LEADING;
                match align {
                    Align::Left => pages.text(x + PAD, y, shaped, INK),
                    Align::Right => pages.text_right(x + width - PAD, y, shaped, INK),
                }
            }
        }
        pages.y += height;
        pages.rule(LEFT, LEFT + CONTENT_WIDTH, pages.y, 0.4, RULE);
    }
    pages.y += 14.0;
}

fn header_height() -> f32 {
    2.0 * (HEADER_SIZE + 2.0) + 2.0 * PAD
}

/// The header band: "#", then each column's name, on up to two lines.
fn header(pages: &mut Pages, columns: &[(&Column, f32, f32)]) {
    let height = header_height();
    pages.band(LEFT, pages.y, CONTENT_WIDTH, height, BAND);
    let baseline = pages.y + PAD + HEADER_SIZE;
    let serial = pages.shape("#", Weight::Bold, HEADER_SIZE);
    pages.text_right(LEFT + SERIAL_WIDTH - PAD, baseline, serial, MUTED);
    for &(column, x, width) in columns {
        let lines = pages.wrap(
            column.header,
            Weight::Bold,
            HEADER_SIZE,
            width - 2.0 * PAD,
            2,
        );
        for (i, line) in lines.into_iter().enumerate() {
            let y = baseline + i as f32 * (HEADER_SIZE + 2.0);
            match column.align {
                Align::Left => pages.text(x + PAD, y, line, MUTED),
                Align::Right => pages.text_right(x + width - PAD, y, line, MUTED),
            }
        }
    }
    pages.y += height;
}

type Cell = ((f32, Align, f32), Vec<Shaped>);

/// A row's cells, shaped: the description wrapped, everything else on one line.
fn row(
    pages: &Pages,
    columns: &[(&Column, f32, f32)],
    index: usize,
    line: &DocumentLine,
) -> Vec<Cell> {
    let fonts = pages.fonts;
    let mut cells = vec![(
        (LEFT, Align::Right, SERIAL_WIDTH),
        vec![pages.shape(&(index + 1).to_string(), Weight::Regular, SIZE)],
    )];
    for &(column, x, width) in columns {
        let value = (column.cell)(line);
        let inner = width - 2.0 * PAD;
        let lines = if column.width.is_none() {
            pages.wrap(value, Weight::Regular, SIZE, inner, MAX_DESCRIPTION_LINES)
        } else if column.align == Align::Right {
            vec![text::fit(fonts, value, Weight::Regular, SIZE, inner, 5.0)]
        } else {
            vec![text::truncate(fonts, value, Weight::Regular, SIZE, inner)]
        };
        cells.push(((x, column.align, width), lines));
    }
    cells
}
