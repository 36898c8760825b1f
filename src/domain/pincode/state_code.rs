//! GST state codes: the two digits that open a GSTIN and name a place of supply.

/// Every state code GSTN issues, with the state or territory it stands for. Kept as data:
/// the table changes when states are formed or merged (25 and 28 remain for old GSTINs).
const STATES: &[(u8, &str)] = &[
    (1, "Jammu and Kashmir"),
    (2, "Himachal Pradesh"),
    (3, "Punjab"),
    (4, "Chandigarh"),
    (5, "Uttarakhand"),
    (6, "Haryana"),
    (7, "Delhi"),
    (8, "Rajasthan"),
    (9, "Uttar Pradesh"),
    (10, "Bihar"),
    (11, "Sikkim"),
    (12, "Arunachal Pradesh"),
    (13, "Nagaland"),
    (14, "Manipur"),
    (15, "Mizoram"),
    (16, "Tripura"),
    (17, "Meghalaya"),
    (18, "Assam"),
    (19, "West Bengal"),
    (20, "Jharkhand"),
    (21, "Odisha"),
    (22, "Chhattisgarh"),
    (23, "Madhya Pradesh"),
    (24, "Gujarat"),
    (25, "Daman and Diu"),
    (26, "Dadra and Nagar Haveli and Daman and Diu"),
    (27, "Maharashtra"),
    (28, "Andhra Pradesh (before division)"),
    (29, "Karnataka"),
    (30, "Goa"),
    (31, "Lakshadweep"),
    (32, "Kerala"),
    (33, "Tamil Nadu"),
    (34, "Puducherry"),
    (35, "Andaman and Nicobar Islands"),
    (36, "Telangana"),
    (37, "Andhra Pradesh"),
    (38, "Ladakh"),
    (97, "Other Territory"),
    (99, "Centre Jurisdiction"),
];

/// A GST state code from the table (`07` Delhi, `27` Maharashtra, …); `Display` writes its
/// two digits, as on a GSTIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StateCode(u8);

impl StateCode {
    /// The code written as two digits (`"07"`); `None` if the table has no such code.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() != 2 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: u8 = raw.parse().ok()?;
        STATES
            .iter()
            .any(|(code, _)| *code == number)
            .then_some(Self(number))
    }

    /// The state or territory's name as GST registers it.
    pub fn state_name(self) -> &'static str {
        STATES
            .iter()
            .find(|(code, _)| *code == self.0)
            .map_or("", |(_, name)| name)
    }
}

impl std::fmt::Display for StateCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::StateCode;

    #[test]
    fn codes_are_two_digits_from_the_table() {
        let delhi = StateCode::parse("07").expect("Delhi");
        assert_eq!(delhi.to_string(), "07");
        assert_eq!(delhi.state_name(), "Delhi");
        assert_eq!(
            StateCode::parse("37").map(StateCode::state_name),
            Some("Andhra Pradesh")
        );
        for bad in ["7", "007", "00", "39", "98", "ab", ""] {
            assert_eq!(StateCode::parse(bad), None, "{bad}");
        }
    }
}
