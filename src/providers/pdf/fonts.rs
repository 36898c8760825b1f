//! The fonts, compiled into the binary so a server without any font installed still sets ₹
//! and Hindi names (Noto, SIL Open Font License 1.1: see fonts/NOTICE.md). krilla embeds only
//! the glyphs a document uses, so the PDF carries a small subset of each.

use std::sync::LazyLock;

use krilla::text::Font;
use rustybuzz::Face;

const NOTO_SANS_REGULAR: &[u8] = include_bytes!("fonts/NotoSans-Regular.ttf");
const NOTO_SANS_BOLD: &[u8] = include_bytes!("fonts/NotoSans-Bold.ttf");
const NOTO_SANS_DEVANAGARI: &[u8] = include_bytes!("fonts/NotoSansDevanagari-Regular.ttf");

/// Regular or bold Latin text. Devanagari has one weight here: a bold Hindi run is set in
/// the regular face rather than shipping another quarter megabyte for headings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// Which embedded face sets a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typeface {
    Latin(Weight),
    Devanagari,
}

/// One face twice over: krilla's handle writes it into the PDF, rustybuzz's shapes with it.
pub struct Loaded {
    pub pdf: Font,
    pub shaper: Face<'static>,
}

pub struct Fonts {
    regular: Loaded,
    bold: Loaded,
    devanagari: Loaded,
}

impl Fonts {
    pub fn get(&self, face: Typeface) -> &Loaded {
        match face {
            Typeface::Latin(Weight::Regular) => &self.regular,
            Typeface::Latin(Weight::Bold) => &self.bold,
            Typeface::Devanagari => &self.devanagari,
        }
    }
}

fn load(data: &'static [u8]) -> Option<Loaded> {
    Some(Loaded {
        pdf: Font::new(data.into(), 0)?,
        shaper: Face::from_slice(data, 0)?,
    })
}

/// Parsed once per process; None only if a font file in the binary is corrupt.
static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: load(NOTO_SANS_REGULAR)?,
        bold: load(NOTO_SANS_BOLD)?,
        devanagari: load(NOTO_SANS_DEVANAGARI)?,
    })
});

pub fn fonts() -> Option<&'static Fonts> {
    FONTS.as_ref()
}

/// Devanagari, Vedic Extensions and Devanagari Extended: what Noto Sans lacks and Noto Sans
/// Devanagari sets.
fn is_devanagari(c: char) -> bool {
    matches!(c, '\u{0900}'..='\u{097F}' | '\u{1CD0}'..='\u{1CFF}' | '\u{A8E0}'..='\u{A8FF}')
}

/// Spaces and the zero-width joiners belong to whichever run they sit in, so "अनन्या शर्मा"
/// is shaped as one run and a joiner stays with the conjunct it controls.
fn is_neutral(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200C}' | '\u{200D}')
}

/// Splits `text` into runs of one face each: Devanagari runs in Noto Sans Devanagari, the
/// rest (Latin, digits, ₹) in Noto Sans of the given weight. Each run is shaped on its own,
/// as a shaper needs one script per run.
pub fn runs(text: &str, weight: Weight) -> Vec<(Typeface, &str)> {
    let mut runs: Vec<(Typeface, &str)> = Vec::new();
    let mut start = 0;
    let mut current: Option<Typeface> = None;
    for (i, c) in text.char_indices() {
        if is_neutral(c) {
            continue;
        }
        let face = if is_devanagari(c) {
            Typeface::Devanagari
        } else {
            Typeface::Latin(weight)
        };
        match current {
            Some(f) if f != face => {
                runs.push((f, &text[start..i]));
                start = i;
                current = Some(face);
            }
            None => current = Some(face),
            Some(_) => {}
        }
    }
    if start < text.len() {
        runs.push((current.unwrap_or(Typeface::Latin(weight)), &text[start..]));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fonts_load_and_cover_the_rupee_and_hindi() {
        let fonts = fonts().expect("the embedded fonts parse");
        let has = |face: Typeface, c: char| fonts.get(face).shaper.glyph_index(c).is_some();
        assert!(has(Typeface::Latin(Weight::Regular), '₹'));
        assert!(has(Typeface::Latin(Weight::Bold), '₹'));
        assert!(has(Typeface::Devanagari, 'अ'));
        assert!(has(Typeface::Devanagari, '्'));
    }

    #[test]
    fn a_mixed_string_splits_into_runs_by_script() {
        let latin = Typeface::Latin(Weight::Regular);
        assert_eq!(runs("₹1,180.00", Weight::Regular), [(latin, "₹1,180.00")]);
        assert_eq!(
            runs("Buyer: अनन्या शर्मा (Delhi)", Weight::Regular),
            [
                (latin, "Buyer: "),
                (Typeface::Devanagari, "अनन्या शर्मा "),
                (latin, "(Delhi)")
            ]
        );
        assert_eq!(runs("", Weight::Bold), []);
        assert_eq!(
            runs("  ", Weight::Bold),
            [(Typeface::Latin(Weight::Bold), "  ")]
        );
    }
}
