//! Below the lines: the totals right-aligned with the grand total in bold, the amount in
//! words beside them, and the notes in small print. The block moves to a new page whole
//! rather than split a total from its label.

use super::document::InvoiceDocument;
use super::fonts::Weight;
use super::layout::{Pages, ACCENT, CONTENT_WIDTH, INK, LEFT, MUTED, RIGHT, RULE};
use super::text;

const TOTALS_WIDTH: f32 = 230.0;
const ROW: f32 = 14.0;
const GRAND: f32 = 11.0;
const WORDS_WIDTH: f32 = CONTENT_WIDTH - TOTALS_WIDTH - 24.0;
const NOTE: f32 = 7.5;

pub fn draw(pages: &mut Pages, doc: &InvoiceDocument) {
    let words = pages.wrap(&doc.amount_in_words, Weight::Bold, 9.0, WORDS_WIDTH, 4);
    let totals_height = doc.totals.len() as f32 * ROW + 8.0;
    let words_height = 14.0 + words.len() as f32 * 12.0;
    pages.make_room(totals_height.max(words_height) + 6.0);
    let top = pages.y;
    let totals_bottom = totals(pages, doc, top);

    let label = pages.shape("AMOUNT IN WORDS", Weight::Bold, 7.0);
    pages.text(LEFT, top + 9.0, label, MUTED);
    let mut y = top + 23.0;
    for line in words {
        pages.text(LEFT, y, line, INK);
        y += 12.0;
    }
    pages.y = totals_bottom.max(y) + 12.0;
    notes(pages, &doc.notes);
}

/// The totals, label left and amount right in a column at the right margin; the last row
/// is the grand total. Returns the y below.
fn totals(pages: &mut Pages, doc: &InvoiceDocument, top: f32) -> f32 {
    let left = RIGHT - TOTALS_WIDTH;
    let mut y = top + 10.0;
    let last = doc.totals.len().saturating_sub(1);
    for (i, (label, amount)) in doc.totals.iter().enumerate() {
        let grand = i == last;
        let (weight, size, color) = if grand {
            pages.rule(left, RIGHT, y - ROW + 4.0, 0.8, ACCENT);
            y += 4.0;
            (Weight::Bold, GRAND, ACCENT)
        } else {
            (Weight::Regular, 9.0, INK)
        };
        let amount = text::fit(pages.fonts, amount, weight, size, TOTALS_WIDTH * 0.5, 6.0);
        let label_width = TOTALS_WIDTH - amount.width() - 8.0;
        let label = text::truncate(pages.fonts, label, weight, size, label_width);
        pages.text(left, y, label, if grand { color } else { MUTED });
        pages.text_right(RIGHT, y, amount, color);
        y += ROW;
    }
    y - ROW + 6.0
}

/// Each note wrapped in small grey print, under a thin rule.
fn notes(pages: &mut Pages, notes: &[String]) {
    if notes.is_empty() {
        return;
    }
    let lines: Vec<_> = notes
        .iter()
        .flat_map(|n| pages.wrap(n, Weight::Regular, NOTE, CONTENT_WIDTH, 3))
        .collect();
    pages.make_room(lines.len() as f32 * 10.0 + 12.0);
    pages.rule(LEFT, RIGHT, pages.y, 0.5, RULE);
    pages.y += 12.0;
    for line in lines {
        pages.text(LEFT, pages.y, line, MUTED);
        pages.y += 10.0;
    }
}
