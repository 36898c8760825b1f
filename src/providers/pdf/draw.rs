//! Laid-out pages into a PDF with krilla: glyphs already shaped, so krilla embeds each face
//! subset to the glyphs used and maps every glyph back to its text for copy and search.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::Document;

use super::fonts::Fonts;
use super::layout::{Op, Rgb, PAGE_HEIGHT, PAGE_WIDTH};
use super::text::Shaped;
use super::RenderError;

pub fn write(pages: Vec<Vec<Op>>, fonts: &Fonts, title: String) -> Result<Vec<u8>, RenderError> {
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title)
            .creator("Bazaar".to_owned())
            .language("en-IN".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or(RenderError::PageSize)?;
    for ops in pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, text, color } => {
                    draw_text(&mut surface, fonts, x, y, &text, color)
                }
                Op::Rule {
                    x1,
                    x2,
                    y,
                    width,
                    color,
                } => {
                    let mut path = PathBuilder::new();
                    path.move_to(x1, y);
                    path.line_to(x2, y);
                    if let Some(path) = path.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: paint(color).into(),
                            width,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
                Op::Band {
                    x,
                    y,
                    width,
                    height,
                    color,
                } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(x, y, width, height) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.set_fill(Some(fill(color)));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| RenderError::Pdf(e.to_string()))
}

/// Each run after the one before it, in its own face.
fn draw_text(surface: &mut Surface, fonts: &Fonts, x: f32, y: f32, text: &Shaped, color: Rgb) {
    surface.set_fill(Some(fill(color)));
    let mut x = x;
    for run in &text.runs {
        let font = fonts.get(run.face).pdf.clone();
        surface.draw_glyphs(
            Point::from_xy(x, y),
            &run.glyphs,
            font,
            &run.text,
            text.size,
            false,
        );
        x += run.width(text.size);
    }
}

fn paint(color: Rgb) -> rgb::Color {
    rgb::Color::new(color.0, color.1, color.2)
}

fn fill(color: Rgb) -> Fill {
    Fill {
        paint: paint(color).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}
