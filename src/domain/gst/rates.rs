//! GST rates as data: each tax class has a schedule of rates with the dates they apply
//! from, because rates change by notification (most recently on 22 September 2025) and an
//! invoice is taxed at the rate in force on its date.
//!
//! Sellers configure their own table (their products' classes and the notifications
//! that apply to them); [`RateTable::built_in`] is only an illustration of the
//! September 2025 change. Tables are written as JSON so settings can carry them:
//!
//! ```json
//! { "standard_12_to_5": [
//!     { "from": "2017-07-01", "rate_bp": 1200 },
//!     { "from": "2025-09-22", "rate_bp": 500, "label": "5% from 22 Sep 2025" } ] }
//! ```

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::validation::{Collector, FieldError};

/// The highest rate a schedule may hold: 100%, in basis points.
pub const MAX_RATE_BP: u32 = 10_000;

/// A rate in basis points as a percentage, without the sign and without trailing zeros:
/// 1800 → `18`, 25 → `0.25`, 250 → `2.5`, as invoices and the GST returns write rates.
pub fn percent(rate_bp: u32) -> String {
    let (whole, hundredths) = (rate_bp / 100, rate_bp % 100);
    match hundredths {
        0 => whole.to_string(),
        h if h % 10 == 0 => format!("{whole}.{}", h / 10),
        h => format!("{whole}.{h:02}"),
    }
}

/// A rate and the day it applies from (until the next entry's day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateEntry {
    /// Basis points: 1800 is 18%.
    pub rate_bp: u32,
    pub effective_from: NaiveDate,
    /// What people call it (`"5% from 22 Sep 2025"`), if anything.
    pub label: Option<String>,
}

/// One tax class's rates over time: at least one entry, ordered by date, no two on the
/// same day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateSchedule {
    entries: Vec<RateEntry>,
}

impl RateSchedule {
    /// Entries in any order. Codes: `empty_schedule`, `rate_too_high`, `duplicate_date`.
    pub fn new(field: &str, mut entries: Vec<RateEntry>) -> Result<Self, FieldError> {
        if entries.is_empty() {
            return Err(FieldError::new(
                field,
                "empty_schedule",
                "needs at least one rate",
            ));
        }
        if let Some(high) = entries.iter().find(|e| e.rate_bp > MAX_RATE_BP) {
            return Err(FieldError::new(
                field,
                "rate_too_high",
                format!(
                    "{} basis points is more than {MAX_RATE_BP} (100%)",
                    high.rate_bp
                ),
            ));
        }
        entries.sort_by_key(|e| e.effective_from);
        if let Some(pair) = entries
            .windows(2)
            .find(|w| w[0].effective_from == w[1].effective_from)
        {
            return Err(FieldError::new(
                field,
                "duplicate_date",
                format!("two rates apply from {}", pair[0].effective_from),
            ));
        }
        Ok(Self { entries })
    }

    /// The rate in force on `date` (the latest entry from that day or before); `None`
    /// before the first entry.
    pub fn rate_on(&self, date: NaiveDate) -> Option<&RateEntry> {
        self.entries.iter().rev().find(|e| e.effective_from <= date)
    }

    /// Oldest first.
    pub fn entries(&self) -> &[RateEntry] {
        &self.entries
    }
}

/// The name of a tax class a product is put in (`standard_18`): lowercase letters,
/// digits and `_`, at most 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaxClass(String);

impl TaxClass {
    /// Rebuilds a class read back from storage, which was parsed on its way in. (The class
    /// may have left the configured table since; the product keeps it.)
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let ok = (1..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "invalid_tax_class",
                "must be 1 to 40 lowercase letters, digits or _",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Every tax class a seller uses and its schedule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RateTable {
    classes: BTreeMap<TaxClass, RateSchedule>,
}

/// An illustration, not advice: a class moved from 12% to 5%, a class that stayed at 18%,
/// one moved from 28% to the new 40% band, and exempt supplies. GST began on 1 July 2017.
const BUILT_IN: &str = r#"{
  "standard_12_to_5": [
    { "from": "2017-07-01", "rate_bp": 1200, "label": "12%" },
    { "from": "2025-09-22", "rate_bp": 500, "label": "5% from 22 Sep 2025" }
  ],
  "standard_18": [
    { "from": "2017-07-01", "rate_bp": 1800, "label": "18%" }
  ],
  "luxury_40": [
    { "from": "2017-07-01", "rate_bp": 2800, "label": "28%" },
    { "from": "2025-09-22", "rate_bp": 4000, "label": "40% from 22 Sep 2025" }
  ],
  "exempt": [
    { "from": "2017-07-01", "rate_bp": 0, "label": "exempt" }
  ]
}"#;

static BUILT_IN_TABLE: LazyLock<RateTable> = LazyLock::new(|| {
    RateTable::parse_json("rates", BUILT_IN)
        .unwrap_or_else(|errors| panic!("the built-in rate table is invalid: {errors:?}"))
});

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    from: String,
    rate_bp: u32,
    #[serde(default)]
    label: Option<String>,
}

impl RateTable {
    /// The illustrative table above (see the module doc).
    pub fn built_in() -> &'static Self {
        &BUILT_IN_TABLE
    }

    /// A JSON object of class name → entries `{ "from": "YYYY-MM-DD", "rate_bp": n,
    /// "label"?: "…" }`. Every invalid part is reported, under `field` (`rates.luxury_40[1].from`).
    pub fn parse_json(field: &str, text: &str) -> Result<Self, Vec<FieldError>> {
        let raw: BTreeMap<String, Vec<RawEntry>> = serde_json::from_str(text).map_err(|e| {
            vec![FieldError::new(
                field,
                "invalid_rate_table",
                format!("must be an object of tax class → list of rates: {e}"),
            )]
        })?;
        let mut errors = Collector::default();
        let mut classes = BTreeMap::new();
        for (name, raw_entries) in raw {
            let at = format!("{field}.{name}");
            let class = errors.take(TaxClass::parse(&at, &name));
            let mut entries = Vec::with_capacity(raw_entries.len());
            let mut dates_ok = true;
            for (i, entry) in raw_entries.into_iter().enumerate() {
                let date = NaiveDate::parse_from_str(&entry.from, "%Y-%m-%d").map_err(|_| {
                    FieldError::new(
                        format!("{at}[{i}].from"),
                        "invalid_date",
                        "must be a date written YYYY-MM-DD",
                    )
                });
                match errors.take(date) {
                    Some(effective_from) => entries.push(RateEntry {
                        rate_bp: entry.rate_bp,
                        effective_from,
                        label: entry.label,
                    }),
                    None => dates_ok = false,
                }
            }
            // A schedule missing an unreadable entry would be judged on the wrong entries.
            let schedule = dates_ok
                .then(|| errors.take(RateSchedule::new(&at, entries)))
                .flatten();
            if let (Some(class), Some(schedule)) = (class, schedule) {
                classes.insert(class, schedule);
            }
        }
        if errors.is_empty() {
            Ok(Self { classes })
        } else {
            Err(errors.into_errors())
        }
    }

    pub fn schedule(&self, class: &TaxClass) -> Option<&RateSchedule> {
        self.classes.get(class)
    }

    /// The rate of `class` on `date`; `None` for a class the table does not have, or a
    /// date before its first rate.
    pub fn rate_on(&self, class: &TaxClass, date: NaiveDate) -> Option<&RateEntry> {
        self.schedule(class)?.rate_on(date)
    }

    /// A class of this table, as typed. Codes: `invalid_tax_class`, `unknown_tax_class`
    /// (the message lists the table's classes).
    pub fn class(&self, field: &str, raw: &str) -> Result<TaxClass, FieldError> {
        let class = TaxClass::parse(field, raw)?;
        if self.classes.contains_key(&class) {
            return Ok(class);
        }
        let known: Vec<_> = self.classes().map(TaxClass::as_str).collect();
        Err(FieldError::new(
            field,
            "unknown_tax_class",
            format!("must be a class of the rate table: {}", known.join(", ")),
        ))
    }

    pub fn classes(&self) -> impl Iterator<Item = &TaxClass> {
        self.classes.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    fn built_in_rate(class: &str, date: &str) -> Option<u32> {
        let class = TaxClass::parse("class", class).unwrap();
        RateTable::built_in()
            .rate_on(&class, day(date))
            .map(|e| e.rate_bp)
    }

    #[test]
    fn rates_read_as_percentages_without_trailing_zeros() {
        let written: Vec<String> = [0, 25, 250, 300, 500, 1800, 4000, 1205]
            .into_iter()
            .map(percent)
            .collect();
        assert_eq!(written, ["0", "0.25", "2.5", "3", "5", "18", "40", "12.05"]);
    }

    #[test]
    fn the_september_2025_change_applies_from_the_22nd() {
        assert_eq!(built_in_rate("standard_12_to_5", "2025-09-21"), Some(1200));
        assert_eq!(built_in_rate("standard_12_to_5", "2025-09-22"), Some(500));
        assert_eq!(built_in_rate("luxury_40", "2025-09-21"), Some(2800));
        assert_eq!(built_in_rate("luxury_40", "2025-09-22"), Some(4000));
        assert_eq!(built_in_rate("luxury_40", "2030-01-01"), Some(4000));
        assert_eq!(built_in_rate("standard_18", "2025-09-21"), Some(1800));
        assert_eq!(built_in_rate("standard_18", "2025-09-22"), Some(1800));
        assert_eq!(built_in_rate("exempt", "2025-09-22"), Some(0));
    }

    #[test]
    fn no_rate_before_the_first_entry_or_for_an_unknown_class() {
        assert_eq!(built_in_rate("standard_18", "2017-06-30"), None);
        assert_eq!(built_in_rate("standard_28", "2025-09-22"), None);
    }

    #[test]
    fn a_class_is_taken_only_from_the_table() {
        let table = RateTable::built_in();
        assert_eq!(table.class("c", "exempt").unwrap().as_str(), "exempt");
        let unknown = table.class("c", "standard_28").unwrap_err();
        assert_eq!(
            (unknown.field.as_str(), unknown.code),
            ("c", "unknown_tax_class")
        );
        assert!(unknown.message.contains("luxury_40"), "{}", unknown.message);
        assert_eq!(
            table.class("c", "Standard 18").unwrap_err().code,
            "invalid_tax_class"
        );
    }

    #[test]
    fn labels_come_with_the_rate() {
        let class = TaxClass::parse("class", "standard_12_to_5").unwrap();
        let entry = RateTable::built_in()
            .rate_on(&class, day("2026-01-01"))
            .unwrap();
        assert_eq!(entry.label.as_deref(), Some("5% from 22 Sep 2025"));
        assert_eq!(entry.effective_from, day("2025-09-22"));
    }

    #[test]
    fn entries_may_come_in_any_order() {
        let table = RateTable::parse_json(
            "rates",
            r#"{"gold": [{"from": "2025-09-22", "rate_bp": 300}, {"from": "2017-07-01", "rate_bp": 300}]}"#,
        )
        .unwrap();
        let gold = table
            .schedule(&TaxClass::parse("c", "gold").unwrap())
            .unwrap();
        assert_eq!(gold.entries()[0].effective_from, day("2017-07-01"));
    }

    #[test]
    fn every_invalid_part_is_reported_where_it_is() {
        let errors = RateTable::parse_json(
            "rates",
            r#"{
                "Bad Name": [{"from": "2017-07-01", "rate_bp": 500}],
                "twice": [{"from": "2017-07-01", "rate_bp": 500}, {"from": "2017-07-01", "rate_bp": 1800}],
                "too_high": [{"from": "2017-07-01", "rate_bp": 10001}],
                "bad_date": [{"from": "22/09/2025", "rate_bp": 500}],
                "empty": []
            }"#,
        )
        .unwrap_err();
        let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            found,
            [
                ("rates.Bad Name", "invalid_tax_class"),
                ("rates.bad_date[0].from", "invalid_date"),
                ("rates.empty", "empty_schedule"),
                ("rates.too_high", "rate_too_high"),
                ("rates.twice", "duplicate_date"),
            ]
        );
    }

    #[test]
    fn a_table_that_is_not_json_of_that_shape_is_one_error() {
        for bad in [
            "",
            "[]",
            r#"{"a": [{"from": "2017-07-01"}]}"#,
            r#"{"a": [{"from": "2017-07-01", "rate_bp": 1, "extra": 1}]}"#,
        ] {
            let errors = RateTable::parse_json("rates", bad).unwrap_err();
            assert_eq!(errors.len(), 1, "{bad}");
            assert_eq!(errors[0].code, "invalid_rate_table");
        }
    }
}
