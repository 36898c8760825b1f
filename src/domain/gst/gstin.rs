//! The GSTIN: the 15-character number GSTN gives each registration, checked down to its
//! check character so a mistyped number never reaches an invoice.
//!
//! Layout: state code (2 digits) · PAN (5 letters, 4 digits, 1 letter) · entity number
//! (1–9, then A–Z) · one more character · check character (mod-36 over the first 14).

use crate::domain::pincode::StateCode;
use crate::domain::validation::FieldError;

/// The characters a GSTIN is written in; a character's value is its index.
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A GSTIN whose state code is in the table, whose PAN is PAN-shaped and whose check
/// character matches. Uppercase; `Display` writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gstin {
    text: String,
    state: StateCode,
}

impl Gstin {
    /// Surrounding spaces are dropped and letters uppercased, as people type it.
    ///
    /// Codes: `invalid_format` (length, characters, PAN or entity number),
    /// `unknown_state` (the first two digits are no GST state code), `bad_check_digit`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim().to_ascii_uppercase();
        let bytes = text.as_bytes();
        let format = || {
            FieldError::new(
                field,
                "invalid_format",
                "must be a 15-character GSTIN: state code, PAN, entity number, Z, check character (e.g. 27AAPFU0939F1ZV)",
            )
        };
        if bytes.len() != 15 || !bytes.iter().all(|b| ALPHABET.contains(b)) {
            return Err(format());
        }
        if !bytes[..2].iter().all(u8::is_ascii_digit) {
            return Err(format());
        }
        let state = StateCode::parse(&text[..2]).ok_or_else(|| {
            FieldError::new(
                field,
                "unknown_state",
                format!("{} is not a GST state code", &text[..2]),
            )
        })?;
        // The 14th character is `Z` for ordinary registrations, but GSTN gives others to
        // other kinds sharing this layout (`C` for tax collectors, `D` for deductors), and
        // the check character covers it anyway: any letter or digit is taken.
        if !is_pan(&bytes[2..12]) || bytes[12] == b'0' {
            return Err(format());
        }
        if check_char(&text[..14]) != Some(char::from(bytes[14])) {
            return Err(FieldError::new(
                field,
                "bad_check_digit",
                "the last character does not match the rest: check the GSTIN for a typing mistake",
            ));
        }
        Ok(Self { text, state })
    }

    /// Where the seller is registered: the first two digits.
    pub fn state_code(&self) -> StateCode {
        self.state
    }

    /// The holder's PAN: characters 3 to 12.
    pub fn pan(&self) -> &str {
        &self.text[2..12]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Gstin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Five letters, four digits, a letter.
fn is_pan(pan: &[u8]) -> bool {
    pan.len() == 10
        && pan[..5].iter().all(u8::is_ascii_uppercase)
        && pan[5..9].iter().all(u8::is_ascii_digit)
        && pan[9].is_ascii_uppercase()
}

/// The check character of a GSTIN's first 14 characters (uppercase letters and digits);
/// `None` for anything else.
///
/// GSTN's mod-36 checksum: each character's value times 1, 2, 1, 2 … from the first,
/// each product folded to quotient + remainder of division by 36, summed; the check
/// character is the one worth (36 − sum mod 36) mod 36. The folding makes doubling a
/// permutation of 0–35, so any one changed character changes the check character.
pub fn check_char(first_14: &str) -> Option<char> {
    if first_14.len() != 14 {
        return None;
    }
    let mut sum = 0;
    for (i, byte) in first_14.bytes().enumerate() {
        let value = ALPHABET.iter().position(|&a| a == byte)?;
        let product = value * if i % 2 == 0 { 1 } else { 2 };
        sum += product / 36 + product % 36;
    }
    Some(char::from(ALPHABET[(36 - sum % 36) % 36]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gstn_examples_parse_with_their_state_and_pan() {
        let maharashtra = Gstin::parse("gstin", "27AAPFU0939F1ZV").expect("valid");
        assert_eq!(maharashtra.state_code().to_string(), "27");
        assert_eq!(maharashtra.pan(), "AAPFU0939F");
        assert_eq!(maharashtra.as_str(), "27AAPFU0939F1ZV");
        let karnataka = Gstin::parse("gstin", "29AAGCB7383J1Z4").expect("valid");
        assert_eq!(karnataka.state_code().state_name(), "Karnataka");
        assert_eq!(karnataka.pan(), "AAGCB7383J");
    }

    #[test]
    fn lowercase_and_surrounding_spaces_are_normalised() {
        let gstin = Gstin::parse("gstin", " 27aapfu0939f1zv ").expect("valid");
        assert_eq!(gstin.to_string(), "27AAPFU0939F1ZV");
    }

    #[test]
    fn check_char_matches_the_examples() {
        assert_eq!(check_char("27AAPFU0939F1Z"), Some('V'));
        assert_eq!(check_char("29AAGCB7383J1Z"), Some('4'));
        assert_eq!(check_char("27AAPFU0939F1"), None);
        assert_eq!(check_char("27aapfu0939f1z"), None);
    }

    fn code(raw: &str) -> &'static str {
        Gstin::parse("gstin", raw).expect_err(raw).code
    }

    #[test]
    fn corrupted_numbers_are_refused_with_the_reason() {
        // A wrong check character, and one changed character elsewhere.
        assert_eq!(code("27AAPFU0939F1ZW"), "bad_check_digit");
        assert_eq!(code("27AAPFU0938F1ZV"), "bad_check_digit");
        // Two neighbours swapped.
        assert_eq!(code("27AAPUF0939F1ZV"), "bad_check_digit");
        assert_eq!(code("29AAGCB7383J1Z5"), "bad_check_digit");
        // No such state (39), or not digits there.
        let mut unknown = String::from("39AAPFU0939F1Z");
        unknown.push(check_char(&unknown).unwrap());
        assert_eq!(code(&unknown), "unknown_state");
        assert_eq!(code("X7AAPFU0939F1ZV"), "invalid_format");
        // Length, characters, PAN shape, entity number 0.
        for bad in [
            "",
            "27AAPFU0939F1Z",
            "27AAPFU0939F1ZVV",
            "27AAPFU0939F1Z-",
            "27AAPF10939F1ZV",
            "27AAPFU093XF1ZV",
            "27AAPFU093911ZV",
            "27AAPFU0939F0ZV",
        ] {
            assert_eq!(code(bad), "invalid_format", "{bad}");
        }
    }

    #[test]
    fn the_fourteenth_character_need_not_be_z() {
        let mut collector = String::from("27AAPFU0939F1C");
        collector.push(check_char(&collector).unwrap());
        assert!(Gstin::parse("gstin", &collector).is_ok(), "{collector}");
    }

    #[test]
    fn errors_name_the_field() {
        let error = Gstin::parse("seller.gstin", "nope").unwrap_err();
        assert_eq!(error.field, "seller.gstin");
    }
}
