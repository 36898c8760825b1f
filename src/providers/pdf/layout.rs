//! The page model: A4 pages of drawing operations laid out top to bottom, with a cursor that
//! starts a new page when the next block would not fit. Laying out before drawing lets the
//! footers say "Page 1 of 3", which needs the page count.

use super::fonts::{Fonts, Weight};
use super::text::{self, Shaped};

/// A4 in points.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;
pub const MARGIN: f32 = 40.0;
pub const LEFT: f32 = MARGIN;
pub const RIGHT: f32 = PAGE_WIDTH - MARGIN;
pub const CONTENT_WIDTH: f32 = RIGHT - LEFT;
/// Where content stops, above the footer.
const BOTTOM: f32 = PAGE_HEIGHT - 56.0;

/// The palette: near-black text, grey labels and rules, a tinted band behind table headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);
pub const INK: Rgb = Rgb(28, 28, 30);
pub const MUTED: Rgb = Rgb(100, 104, 112);
pub const ACCENT: Rgb = Rgb(22, 58, 110);
pub const RULE: Rgb = Rgb(196, 200, 206);
pub const BAND: Rgb = Rgb(236, 240, 245);

/// One drawing operation; `y` of text is its baseline, from the top of the page.
#[derive(Debug, Clone)]
pub enum Op {
    Text {
        x: f32,
        y: f32,
        text: Shaped,
        color: Rgb,
    },
    /// A horizontal rule.
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
        width: f32,
        color: Rgb,
    },
    Band {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        color: Rgb,
    },
}

/// The pages laid out so far and the cursor on the last one.
pub struct Pages<'f> {
    pub fonts: &'f Fonts,
    pages: Vec<Vec<Op>>,
    /// The top of the free space on the current page.
    pub y: f32,
}

impl<'f> Pages<'f> {
    pub fn new(fonts: &'f Fonts) -> Self {
        Pages {
            fonts,
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    pub fn shape(&self, text: &str, weight: Weight, size: f32) -> Shaped {
        text::shape(self.fonts, text, weight, size)
    }

    pub fn wrap(
        &self,
        text: &str,
        weight: Weight,
        size: f32,
        width: f32,
        max: usize,
    ) -> Vec<Shaped> {
        text::wrap(self.fonts, text, weight, size, width, max)
    }

    fn push(&mut self, op: Op) {
        self.pages.last_mut().expect("one page at least").push(op);
    }

    /// Text with its left edge at `x`.
    pub fn text(&mut self, x: f32, y: f32, text: Shaped, color: Rgb) {
        self.push(Op::Text { x, y, text, color });
    }

    /// Text with its right edge at `right`.
    pub fn text_right(&mut self, right: f32, y: f32, text: Shaped, color: Rgb) {
        let x = right - text.width();
        self.text(x, y, text, color);
    }

    /// A horizontal rule at `y` from `x1` to `x2`.
    pub fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32, color: Rgb) {
        self.push(Op::Rule {
            x1,
            x2,
            y,
            width,
            color,
        });
    }

    pub fn band(&mut self, x: f32, y: f32, width: f32, height: f32, color: Rgb) {
        self.push(Op::Band {
            x,
            y,
            width,
            height,
            color,
        });
    }

    /// Whether `height` more points fit on the current page.
    pub fn fits(&self, height: f32) -> bool {
        self.y + height <= BOTTOM
    }

    /// Starts a new page unless `height` fits; says whether it did.
    pub fn make_room(&mut self, height: f32) -> bool {
        if self.fits(height) {
            return false;
        }
        self.pages.push(Vec::new());
        self.y = MARGIN;
        true
    }

    /// Puts "`label` · Page i of n" at the foot of every page and hands the pages over.
    pub fn finish(mut self, label: &str) -> Vec<Vec<Op>> {
        let count = self.pages.len();
        let baseline = PAGE_HEIGHT - 28.0;
        for index in 0..count {
            let left = self.shape(label, Weight::Regular, 7.0);
            let right = self.shape(
                &format!("Page {} of {count}", index + 1),
                Weight::Regular,
                7.0,
            );
            let page = &mut self.pages[index];
            page.push(Op::Rule {
                x1: LEFT,
                x2: RIGHT,
                y: baseline - 10.0,
                width: 0.5,
                color: RULE,
            });
            page.push(Op::Text {
                x: LEFT,
                y: baseline,
                text: left,
                color: MUTED,
            });
            page.push(Op::Text {
                x: RIGHT - right.width(),
                y: baseline,
                text: right,
                color: MUTED,
            });
        }
        self.pages
    }
}
