//! India's postal index numbers and where they are: [`Pincode`], and the
//! [`PincodeDirectory`] that knows each one's district and state (with its GST
//! [`StateCode`]).
//!
//! The directory is India Post's, reduced to one district and state per pincode by
//! `refresh.py` (`make pincodes`) into `pincodes.tsv`, which is compiled into the binary and
//! parsed the first time it is asked. Sources and licences: `NOTICE.md` beside it.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::validation::FieldError;

mod state_code;

pub use state_code::StateCode;

/// A six-digit pincode whose first digit is not 0, as sent (no spaces); `Display` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pincode(u32);

impl Pincode {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::from_digits(raw).ok_or_else(|| {
            FieldError::new(
                field,
                "invalid_pincode",
                "must be six digits, the first not 0 (e.g. 560001)",
            )
        })
    }

    fn from_digits(raw: &str) -> Option<Self> {
        let bytes = raw.as_bytes();
        (bytes.len() == 6 && bytes.iter().all(u8::is_ascii_digit) && bytes[0] != b'0')
            .then(|| raw.parse().ok().map(Self))
            .flatten()
    }
}

impl std::fmt::Display for Pincode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a pincode is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locality {
    /// `None` for the few pincodes India Post lists without one (new delivery centres).
    pub district: Option<String>,
    /// The state or territory's name, as GST registers it.
    pub state: &'static str,
    pub state_code: StateCode,
}

/// Pincode → district and state.
#[derive(Debug, Default)]
pub struct PincodeDirectory {
    districts: Vec<(StateCode, String)>,
    /// The index into `districts` of each pincode.
    pincodes: HashMap<Pincode, u16>,
}

static INDIA_POST: LazyLock<PincodeDirectory> = LazyLock::new(|| {
    PincodeDirectory::from_tsv(include_str!("pincodes.tsv"))
        .unwrap_or_else(|line| panic!("src/domain/pincode/pincodes.tsv: line {line} is invalid"))
});

impl PincodeDirectory {
    /// India Post's directory, compiled in (parsed on first use).
    pub fn india_post() -> &'static Self {
        &INDIA_POST
    }

    /// Reads `state code<TAB>district<TAB>pincode pincode …` lines (`refresh.py`'s output).
    /// The number of the first invalid line otherwise.
    pub fn from_tsv(text: &str) -> Result<Self, usize> {
        let mut directory = Self::default();
        for (number, line) in text.lines().enumerate() {
            let mut parts = line.split('\t');
            let (Some(code), Some(district), Some(pins), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(number + 1);
            };
            let code = StateCode::parse(code).ok_or(number + 1)?;
            let index = u16::try_from(directory.districts.len()).map_err(|_| number + 1)?;
            directory.districts.push((code, district.to_owned()));
            for pin in pins.split(' ') {
                let pin = Pincode::from_digits(pin).ok_or(number + 1)?;
                if directory.pincodes.insert(pin, index).is_some() {
                    return Err(number + 1);
                }
            }
        }
        Ok(directory)
    }

    pub fn lookup(&self, pincode: &Pincode) -> Option<Locality> {
        let (code, district) = self
            .districts
            .get(usize::from(*self.pincodes.get(pincode)?))?;
        Some(Locality {
            district: (!district.is_empty()).then(|| district.clone()),
            state: code.state_name(),
            state_code: *code,
        })
    }

    /// How many pincodes it knows.
    pub fn len(&self) -> usize {
        self.pincodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pincodes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::{Pincode, PincodeDirectory};

    fn pin(raw: &str) -> Pincode {
        Pincode::parse("pincode", raw).expect(raw)
    }

    #[test]
    fn pincodes_are_six_digits_not_starting_with_zero() {
        assert_eq!(pin("560001").to_string(), "560001");
        for bad in [
            "060001",
            "56001",
            "5600011",
            "56000a",
            " 560001",
            "560 001",
            "",
            "５６０００１",
        ] {
            let error = Pincode::parse("pincode", bad).expect_err(bad);
            assert_eq!(
                (error.field.as_str(), error.code),
                ("pincode", "invalid_pincode")
            );
        }
    }

    #[test]
    fn india_posts_directory_knows_districts_states_and_state_codes() {
        let directory = PincodeDirectory::india_post();
        assert!(directory.len() > 19_000, "{}", directory.len());
        let bengaluru = directory.lookup(&pin("560001")).expect("560001");
        assert_eq!(bengaluru.district.as_deref(), Some("Bengaluru Urban"));
        assert_eq!(
            (bengaluru.state, bengaluru.state_code.to_string().as_str()),
            ("Karnataka", "29")
        );
        let delhi = directory.lookup(&pin("110001")).expect("110001");
        assert_eq!(
            (delhi.state, delhi.state_code.to_string().as_str()),
            ("Delhi", "07")
        );
        // Filed under another territory by the package; put back by refresh.py.
        let port_blair = directory.lookup(&pin("744101")).expect("744101");
        assert_eq!(port_blair.state_code.to_string(), "35");
        assert_eq!(directory.lookup(&pin("999999")), None);
    }

    #[test]
    fn a_pincode_without_a_district_still_has_its_state() {
        let found = PincodeDirectory::india_post()
            .lookup(&pin("400113"))
            .expect("400113");
        assert_eq!((found.district, found.state), (None, "Maharashtra"));
    }

    #[test]
    fn malformed_lines_are_refused_by_number() {
        assert!(PincodeDirectory::from_tsv("27\tMumbai\t400001\n").is_ok());
        assert_eq!(
            PincodeDirectory::from_tsv("27\tMumbai\t400001\n40\tX\t400002").err(),
            Some(2)
        );
        assert_eq!(
            PincodeDirectory::from_tsv("27\tMumbai\t400001 400001").err(),
            Some(1)
        );
        assert_eq!(PincodeDirectory::from_tsv("27\tMumbai").err(), Some(1));
    }
}
