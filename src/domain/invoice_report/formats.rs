//! Values as the GST offline tool's CSV templates write them: the tool refuses a file whose
//! dates, places of supply or amounts are in any other shape.

use chrono::{DateTime, Utc};

use crate::domain::gst::series::ist;
use crate::domain::pincode::StateCode;

/// `01-Dec-2026`: the day in India (an invoice issued at 20:00 UTC is dated the next day).
pub fn tool_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&ist()).format("%d-%b-%Y").to_string()
}

/// `29-Karnataka`: the code and the state's name as the tool's list spells it.
pub fn tool_place_of_supply(state: StateCode) -> String {
    format!("{state}-{}", state.state_name())
}

/// Paise as rupees with two decimals and no grouping: `123456.78`, `-12.50`.
pub fn tool_rupees(paise: i64) -> String {
    let sign = if paise < 0 { "-" } else { "" };
    let (rupees, paise) = (paise.unsigned_abs() / 100, paise.unsigned_abs() % 100);
    format!("{sign}{rupees}.{paise:02}")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn dates_are_the_day_in_india() {
        let morning = Utc.with_ymd_and_hms(2026, 12, 1, 4, 30, 0).unwrap();
        assert_eq!(tool_date(morning), "01-Dec-2026");
        // 18:30 UTC on 30 November is midnight in India: already 1 December.
        let midnight = Utc.with_ymd_and_hms(2026, 11, 30, 18, 30, 0).unwrap();
        assert_eq!(tool_date(midnight), "01-Dec-2026");
        let before = Utc.with_ymd_and_hms(2026, 11, 30, 18, 29, 59).unwrap();
        assert_eq!(tool_date(before), "30-Nov-2026");
    }

    #[test]
    fn places_of_supply_carry_code_and_name() {
        let place = |code| tool_place_of_supply(StateCode::parse(code).unwrap());
        assert_eq!(place("29"), "29-Karnataka");
        assert_eq!(place("07"), "07-Delhi");
    }

    #[test]
    fn amounts_have_two_decimals_and_no_grouping() {
        assert_eq!(tool_rupees(12_345_678), "123456.78");
        assert_eq!(tool_rupees(5), "0.05");
        assert_eq!(tool_rupees(0), "0.00");
        assert_eq!(tool_rupees(-1_250), "-12.50");
    }
}
