//! Financial years and invoice numbers (rule 46): a number is unique within its
//! financial year, at most 16 characters of letters, digits, `-` and `/`.
//!
//! Numbers read `<prefix>/<yy-yy>/<serial>` with the serial zero-padded to six digits,
//! e.g. `INV/26-27/000123`: exactly 16 characters with a three-character prefix, and
//! text order is issue order within a year. Issuing the consecutive serials is not here.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

use crate::domain::validation::FieldError;

/// Rule 46's limit on an invoice number's length.
pub const MAX_INVOICE_NUMBER_LEN: usize = 16;

/// Digits the serial is padded to.
const SERIAL_WIDTH: usize = 6;

/// `/yy-yy/` and the padded serial: what a number holds beside its prefix.
const FIXED_PART_LEN: usize = "/26-27/".len() + SERIAL_WIDTH;

/// India Standard Time, UTC+05:30 all year round: the clock invoice dates are read on.
pub fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 30 * 60).expect("+05:30 is a valid offset")
}

/// The calendar day `at` falls on in India: the day an invoice is dated and rates apply on.
pub fn india_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&ist()).date_naive()
}

/// 1 April to 31 March, named by the year it starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FinancialYear {
    start_year: i32,
}

impl FinancialYear {
    /// The year running from 1 April `start_year`.
    pub fn starting(start_year: i32) -> Self {
        Self { start_year }
    }

    /// The year `at` falls in, in India: the year turns at midnight IST on 1 April,
    /// which is 18:30 UTC on 31 March.
    pub fn containing(at: DateTime<Utc>) -> Self {
        Self::of_date(india_date(at))
    }

    /// The year a calendar day (in India) falls in.
    pub fn of_date(day: NaiveDate) -> Self {
        let start_year = if day.month() >= 4 {
            day.year()
        } else {
            day.year() - 1
        };
        Self { start_year }
    }

    pub fn start_year(self) -> i32 {
        self.start_year
    }

    /// 1 April.
    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.start_year, 4, 1)
    }

    /// 31 March of the next year.
    pub fn last_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.start_year + 1, 3, 31)
    }

    /// `2026-27`.
    pub fn label(self) -> String {
        format!(
            "{}-{:02}",
            self.start_year,
            (self.start_year + 1).rem_euclid(100)
        )
    }

    /// `26-27`, as invoice numbers carry it.
    pub fn short_label(self) -> String {
        format!(
            "{:02}-{:02}",
            self.start_year.rem_euclid(100),
            (self.start_year + 1).rem_euclid(100)
        )
    }
}

/// Letters, digits, `-` and `/` only: rule 46's characters.
fn is_rule_46_text(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')
}

/// What a seller's invoice numbers start with (`INV`): 1 to 3 letters, digits, `-` or
/// `/`, so that a number with a six-digit serial stays within 16 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InvoicePrefix(String);

impl InvoicePrefix {
    pub const MAX_LEN: usize = MAX_INVOICE_NUMBER_LEN - FIXED_PART_LEN;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !is_rule_46_text(raw) {
            return Err(FieldError::new(
                field,
                "invalid_invoice_prefix",
                format!(
                    "must be 1 to {} letters, digits, - or /: invoice numbers hold at most {MAX_INVOICE_NUMBER_LEN} characters",
                    Self::MAX_LEN
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a number cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceNumberError {
    #[error("invoice serials start at 1")]
    ZeroSerial,
    #[error("{0} is longer than {MAX_INVOICE_NUMBER_LEN} characters")]
    TooLong(String),
    #[error("{0} holds a character other than letters, digits, - and /")]
    InvalidCharacter(String),
}

/// An invoice number that rule 46 accepts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InvoiceNumber(String);

impl InvoiceNumber {
    /// `INV/26-27/000123`. A serial past 999,999 makes the number too long: a seller that
    /// busy needs a shorter prefix or a second series.
    pub fn format(
        prefix: &InvoicePrefix,
        year: FinancialYear,
        serial: u64,
    ) -> Result<Self, InvoiceNumberError> {
        if serial == 0 {
            return Err(InvoiceNumberError::ZeroSerial);
        }
        let number = format!(
            "{}/{}/{serial:0width$}",
            prefix.as_str(),
            year.short_label(),
            width = SERIAL_WIDTH
        );
        Self::check(number)
    }

    /// A number as stored or typed (a credit note names the invoice it corrects).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::check(raw.to_owned())
            .map_err(|e| FieldError::new(field, "invalid_invoice_number", e.to_string()))
    }

    fn check(number: String) -> Result<Self, InvoiceNumberError> {
        if number.is_empty() || !is_rule_46_text(&number) {
            Err(InvoiceNumberError::InvalidCharacter(number))
        } else if number.len() > MAX_INVOICE_NUMBER_LEN {
            Err(InvoiceNumberError::TooLong(number))
        } else {
            Ok(Self(number))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw).unwrap().to_utc()
    }

    #[test]
    fn the_year_turns_at_midnight_ist_on_1_april() {
        // 31 March 23:59 IST is 18:29 UTC; 1 April 00:00 IST is 18:30 UTC on 31 March.
        let last_minute = FinancialYear::containing(utc("2027-03-31T18:29:59Z"));
        let first_minute = FinancialYear::containing(utc("2027-03-31T18:30:00Z"));
        assert_eq!(last_minute.label(), "2026-27");
        assert_eq!(first_minute.label(), "2027-28");
        assert_eq!(
            FinancialYear::containing(utc("2027-03-31T23:59:00+05:30")),
            last_minute
        );
        assert_eq!(
            FinancialYear::containing(utc("2027-04-01T00:00:00+05:30")),
            first_minute
        );
        // Still 31 March in UTC, already the new year in India.
        assert_eq!(
            FinancialYear::containing(utc("2027-03-31T20:00:00Z")),
            first_minute
        );
    }

    #[test]
    fn a_year_runs_from_april_to_march() {
        let year = FinancialYear::starting(2026);
        assert_eq!(year.first_day(), NaiveDate::from_ymd_opt(2026, 4, 1));
        assert_eq!(year.last_day(), NaiveDate::from_ymd_opt(2027, 3, 31));
        assert_eq!(FinancialYear::of_date(year.first_day().unwrap()), year);
        assert_eq!(FinancialYear::of_date(year.last_day().unwrap()), year);
        assert_eq!(
            FinancialYear::containing(utc("2027-01-15T10:00:00Z")).start_year(),
            2026
        );
    }

    #[test]
    fn labels_are_long_and_short() {
        assert_eq!(FinancialYear::starting(2026).label(), "2026-27");
        assert_eq!(FinancialYear::starting(2026).short_label(), "26-27");
        assert_eq!(FinancialYear::starting(2099).label(), "2099-00");
        assert_eq!(FinancialYear::starting(2009).short_label(), "09-10");
    }

    fn prefix(raw: &str) -> InvoicePrefix {
        InvoicePrefix::parse("prefix", raw).unwrap()
    }

    #[test]
    fn numbers_carry_prefix_year_and_padded_serial() {
        let number = InvoiceNumber::format(&prefix("INV"), FinancialYear::starting(2026), 123);
        assert_eq!(number.unwrap().as_str(), "INV/26-27/000123");
        let short = InvoiceNumber::format(&prefix("B"), FinancialYear::starting(2026), 1);
        assert_eq!(short.unwrap().to_string(), "B/26-27/000001");
    }

    #[test]
    fn a_number_never_passes_16_characters() {
        let year = FinancialYear::starting(2026);
        let last = InvoiceNumber::format(&prefix("INV"), year, 999_999).unwrap();
        assert_eq!(last.as_str().len(), MAX_INVOICE_NUMBER_LEN);
        assert_eq!(
            InvoiceNumber::format(&prefix("INV"), year, 1_000_000),
            Err(InvoiceNumberError::TooLong("INV/26-27/1000000".into()))
        );
        assert_eq!(
            InvoiceNumber::format(&prefix("INV"), year, 0),
            Err(InvoiceNumberError::ZeroSerial)
        );
    }

    #[test]
    fn prefixes_are_short_and_in_rule_46_characters() {
        assert_eq!(InvoicePrefix::MAX_LEN, 3);
        for ok in ["INV", "S1", "A-B", "X/"] {
            assert_eq!(prefix(ok).as_str(), ok);
        }
        for bad in ["", "INVC", "IN V", "IN_", "₹"] {
            let error = InvoicePrefix::parse("prefix", bad).unwrap_err();
            assert_eq!(error.code, "invalid_invoice_prefix", "{bad}");
        }
    }

    #[test]
    fn numbers_read_back_are_held_to_the_same_rule() {
        assert!(InvoiceNumber::parse("n", "INV/26-27/000123").is_ok());
        assert!(InvoiceNumber::parse("n", "SHOP-2026/000123").is_ok());
        assert!(InvoiceNumber::parse("n", "SHOP-2026/0001234").is_err());
        assert!(InvoiceNumber::parse("n", "INV 26-27 1").is_err());
        assert!(InvoiceNumber::parse("n", "").is_err());
    }
}
