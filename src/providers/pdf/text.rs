//! Shaped text: each run shaped once with rustybuzz (the shaper krilla itself uses), so the
//! layout measures exactly the glyphs krilla then draws — conjuncts, matras and all.

use krilla::text::{GlyphId, KrillaGlyph};
use rustybuzz::UnicodeBuffer;

use super::fonts::{runs, Fonts, Typeface, Weight};

/// A run of one face, shaped; glyph advances are in ems.
#[derive(Debug, Clone)]
pub struct ShapedRun {
    pub face: Typeface,
    pub text: String,
    pub glyphs: Vec<KrillaGlyph>,
    advance: f32,
}

impl ShapedRun {
    /// The width in points at `size`.
    pub fn width(&self, size: f32) -> f32 {
        self.advance * size
    }
}

/// One line of text at one size, ready to draw.
#[derive(Debug, Clone)]
pub struct Shaped {
    pub runs: Vec<ShapedRun>,
    pub size: f32,
}

impl Shaped {
    /// The width in points.
    pub fn width(&self) -> f32 {
        self.runs.iter().map(|r| r.width(self.size)).sum()
    }
}

fn shape_run(fonts: &Fonts, face: Typeface, text: &str) -> ShapedRun {
    let shaper = &fonts.get(face).shaper;
    let upem = shaper.units_per_em() as f32;
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    let output = rustybuzz::shape(shaper, &[], buffer);
    let infos = output.glyph_infos();
    let positions = output.glyph_positions();
    // A glyph's text is its cluster: from its cluster start to the next cluster's start. This
    // is what the PDF's ToUnicode map gets, so copying a conjunct copies its characters.
    let cluster_end = |i: usize| {
        infos[i..]
            .iter()
            .map(|g| g.cluster)
            .find(|&c| c != infos[i].cluster)
            .map_or(text.len(), |c| c as usize)
    };
    let glyphs: Vec<KrillaGlyph> = infos
        .iter()
        .zip(positions)
        .enumerate()
        .map(|(i, (info, pos))| {
            KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                pos.x_advance as f32 / upem,
                pos.x_offset as f32 / upem,
                pos.y_offset as f32 / upem,
                pos.y_advance as f32 / upem,
                info.cluster as usize..cluster_end(i),
                None,
            )
        })
        .collect();
    let advance = glyphs.iter().map(|g| g.x_advance).sum();
    ShapedRun {
        face,
        text: text.to_owned(),
        glyphs,
        advance,
    }
}

/// Shapes `text` at `size` points, splitting it into runs by script.
pub fn shape(fonts: &Fonts, text: &str, weight: Weight, size: f32) -> Shaped {
    let runs = runs(text, weight)
        .into_iter()
        .map(|(face, run)| shape_run(fonts, face, run))
        .collect();
    Shaped { runs, size }
}

/// A Devanagari vowel sign, virama or nukta: removing the character before it would leave it
/// hanging, so text is cut only before a base character.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{0951}'..='\u{0957}'
        | '\u{0962}'..='\u{0963}' | '\u{200C}' | '\u{200D}')
}

/// `text` cut to fit `width`, ending in "…" when anything was cut.
pub fn truncate(fonts: &Fonts, text: &str, weight: Weight, size: f32, width: f32) -> Shaped {
    let full = shape(fonts, text, weight, size);
    if full.width() <= width {
        return full;
    }
    let mut cut = text.trim_end().to_owned();
    loop {
        // Drop the last base character with any marks after it, and the consonant before a
        // virama left at the end: a half-form would read as another letter.
        while let Some(c) = cut.pop() {
            if !is_mark(c) {
                break;
            }
        }
        if cut.ends_with(['\u{094D}', '\u{200C}', '\u{200D}']) {
            continue;
        }
        let candidate = format!("{}…", cut.trim_end());
        let shaped = shape(fonts, &candidate, weight, size);
        if cut.is_empty() || shaped.width() <= width {
            return shaped;
        }
    }
}

/// `text` broken at spaces into lines no wider than `width`, at most `max_lines` of them;
/// the last is truncated when the text does not fit. A word wider than a line is truncated.
pub fn wrap(
    fonts: &Fonts,
    text: &str,
    weight: Weight,
    size: f32,
    width: f32,
    max_lines: usize,
) -> Vec<Shaped> {
    let fits = |s: &str| shape(fonts, s, weight, size).width() <= width;
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if line.is_empty() || fits(&candidate) {
            line = candidate;
        } else {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    let overflow = lines.len() > max_lines;
    if overflow {
        // The rest goes on the last line, which truncation then ends with "…".
        let rest = lines.split_off(max_lines - 1).join(" ");
        lines.push(rest);
    }
    lines
        .iter()
        .map(|l| truncate(fonts, l, weight, size, width))
        .collect()
}

/// `text` on one line at `size` or, when that is too wide, at the largest size down to
/// `min_size` that fits: amounts are never truncated, a digit lost would change the sum.
pub fn fit(
    fonts: &Fonts,
    text: &str,
    weight: Weight,
    size: f32,
    width: f32,
    min_size: f32,
) -> Shaped {
    let mut shaped = shape(fonts, text, weight, size);
    let w = shaped.width();
    if w > width {
        shaped.size = (size * width / w).max(min_size);
    }
    shaped
}

#[cfg(test)]
mod tests {
    use super::super::fonts::fonts;
    use super::*;

    fn text_of(s: &Shaped) -> String {
        s.runs.iter().map(|r| r.text.as_str()).collect()
    }

    #[test]
    fn devanagari_is_shaped_into_fewer_glyphs_than_characters() {
        let fonts = fonts().unwrap();
        // श + ् + म forms a conjunct; the shaper must have combined something.
        let shaped = shape(fonts, "शर्मा", Weight::Regular, 10.0);
        assert_eq!(shaped.runs.len(), 1);
        assert_eq!(shaped.runs[0].face, Typeface::Devanagari);
        assert!(shaped.runs[0].glyphs.len() < "शर्मा".chars().count());
        assert!(shaped.runs[0]
            .glyphs
            .iter()
            .all(|g| g.glyph_id.to_u32() != 0));
        assert!(shaped.width() > 10.0);
    }

    #[test]
    fn long_text_wraps_and_the_last_line_is_truncated() {
        let fonts = fonts().unwrap();
        let text =
            "Handloom cotton saree with zari border and a matching blouse piece, dry clean only";
        let lines = wrap(fonts, text, Weight::Regular, 8.0, 100.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.width() <= 100.0));
        assert!(text_of(&lines[1]).ends_with('…'));
        let short = wrap(fonts, "Tea", Weight::Regular, 8.0, 100.0, 2);
        assert_eq!(short.iter().map(text_of).collect::<Vec<_>>(), ["Tea"]);
    }

    #[test]
    fn truncation_never_leaves_a_hanging_vowel_sign() {
        let fonts = fonts().unwrap();
        let full = shape(fonts, "अनन्या शर्मा", Weight::Regular, 10.0).width();
        let cut = text_of(&truncate(
            fonts,
            "अनन्या शर्मा",
            Weight::Regular,
            10.0,
            full * 0.6,
        ));
        assert!(cut.ends_with('…') && cut.len() > "…".len(), "{cut}");
        assert!(!cut.trim_end_matches('…').ends_with('\u{094D}'), "{cut}");
        // Every width down to nothing ends in a whole syllable.
        for percent in (5..100).step_by(5) {
            let width = full * percent as f32 / 100.0;
            let cut = text_of(&truncate(fonts, "अनन्या शर्मा", Weight::Regular, 10.0, width));
            let last = cut.trim_end_matches('…').chars().last();
            assert!(last.is_none_or(|c| c != '\u{094D}'), "{cut}");
        }
    }

    #[test]
    fn amounts_shrink_instead_of_losing_digits() {
        let fonts = fonts().unwrap();
        let shaped = fit(fonts, "₹12,34,56,789.00", Weight::Regular, 8.0, 40.0, 4.0);
        assert_eq!(text_of(&shaped), "₹12,34,56,789.00");
        assert!(shaped.size < 8.0);
        assert!(shaped.width() <= 40.5);
    }
}
