//! Shipping zones and serviceability: where Bazaar delivers, for what fee, how fast, and
//! whether cash on delivery is offered there.
//!
//! A zone matches a destination by its state (two-digit GST state code) or by a prefix of
//! its pincode. Of the zones that match, the most specific wins: any pincode prefix beats a
//! state, and a longer prefix beats a shorter one; between equally specific zones the oldest
//! (smallest id) wins, so the answer never depends on storage order. A disabled zone still
//! wins its match, and answers `zone_disabled`: staff switch off delivery to a region by
//! disabling the zone that covers it (see docs/storefront.md, "Shipping").

use chrono::{DateTime, Utc};

use super::ids::ZoneId;
use super::money::Paise;
use super::validation::{char_len, Collector, FieldError};

/// A two-digit GST state code (`29` Karnataka, `27` Maharashtra, `97` Other Territory).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GstState(String);

impl GstState {
    /// Every state and union territory code a delivery can go to: 01–38 and 97.
    pub fn all() -> Vec<Self> {
        (1..=38)
            .map(|n| Self(format!("{n:02}")))
            .chain([Self("97".into())])
            .collect()
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let known = raw.len() == 2
            && raw.bytes().all(|b| b.is_ascii_digit())
            && matches!(raw.parse::<u8>(), Ok(1..=38 | 97));
        if known {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "unknown_state_code",
                "must be a two-digit GST state code (01 to 38, or 97)",
            ))
        }
    }

    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first 1 to 6 digits of a pincode (a pincode never starts with 0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PincodePrefix(String);

impl PincodePrefix {
    pub const PATTERN: &'static str = "^[1-9][0-9]{0,5}$";

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let valid = (1..=6).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_digit())
            && !raw.starts_with('0');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "invalid_format",
                "must be 1 to 6 digits, not starting with 0",
            ))
        }
    }

    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many days a delivery takes: between `min_days` and `max_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryEstimate {
    pub min_days: u16,
    pub max_days: u16,
}

impl DeliveryEstimate {
    pub const MAX_DAYS: u16 = 60;
}

/// Cash on delivery in a zone, optionally only up to an order value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodRule {
    /// The largest goods value paid in cash here; `None` for no ceiling of the zone's own.
    pub max_order: Option<Paise>,
}

/// A zone as staff write it, before parsing.
#[derive(Debug, Clone, Default)]
pub struct RawZone {
    pub name: String,
    pub states: Vec<String>,
    pub pincode_prefixes: Vec<String>,
    pub fee_paise: i64,
    pub free_shipping_at_paise: Option<i64>,
    pub cod_offered: bool,
    pub cod_max_order_paise: Option<i64>,
    pub min_days: i64,
    pub max_days: i64,
    pub enabled: bool,
}

/// A parsed zone, everything but its identity and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneDraft {
    pub name: String,
    pub states: Vec<GstState>,
    pub pincode_prefixes: Vec<PincodePrefix>,
    /// Zero for free delivery.
    pub fee: Paise,
    /// Goods worth at least this ship free.
    pub free_shipping_at: Option<Paise>,
    /// `None` where cash on delivery is not offered.
    pub cod: Option<CodRule>,
    pub estimate: DeliveryEstimate,
    pub enabled: bool,
}

/// At most this many state codes or pincode prefixes in one zone.
pub const MAX_STATES: usize = 40;
pub const MAX_PREFIXES: usize = 200;
pub const MAX_NAME_CHARS: usize = 80;

impl ZoneDraft {
    /// Parses a zone, reporting every invalid field. Duplicate codes and prefixes are
    /// dropped; a zone must name at least one state or prefix.
    pub fn parse(raw: &RawZone) -> Result<Self, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = raw.name.trim();
        if name.is_empty() || char_len(&raw.name) > MAX_NAME_CHARS {
            errors.push(FieldError::new(
                "name",
                "invalid_length",
                format!("must be 1 to {MAX_NAME_CHARS} characters"),
            ));
        } else if name.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "name",
                "invalid",
                "must not contain control characters",
            ));
        }
        if raw.states.len() > MAX_STATES {
            errors.push(FieldError::new(
                "states",
                "too_many",
                format!("must hold at most {MAX_STATES} items"),
            ));
        }
        if raw.pincode_prefixes.len() > MAX_PREFIXES {
            errors.push(FieldError::new(
                "pincode_prefixes",
                "too_many",
                format!("must hold at most {MAX_PREFIXES} items"),
            ));
        }
        let mut states: Vec<GstState> = raw
            .states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| errors.take(GstState::parse(&format!("states[{i}]"), s)))
            .collect();
        states.sort();
        states.dedup();
        let mut prefixes: Vec<PincodePrefix> = raw
            .pincode_prefixes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                errors.take(PincodePrefix::parse(&format!("pincode_prefixes[{i}]"), s))
            })
            .collect();
        prefixes.sort();
        prefixes.dedup();
        if raw.states.is_empty() && raw.pincode_prefixes.is_empty() {
            errors.push(FieldError::new(
                "states",
                "required",
                "name at least one state code or pincode prefix",
            ));
        }
        let fee = errors.take(fee("fee_paise", raw.fee_paise));
        let free = raw
            .free_shipping_at_paise
            .and_then(|v| errors.take(Paise::parse_price("free_shipping_at_paise", v)));
        let cod_max = raw
            .cod_max_order_paise
            .and_then(|v| errors.take(Paise::parse_price("cod.max_order_paise", v)));
        let estimate = errors.take(estimate(raw.min_days, raw.max_days));
        match (fee, estimate, errors.is_empty()) {
            (Some(fee), Some(estimate), true) => Ok(Self {
                name: name.to_owned(),
                states,
                pincode_prefixes: prefixes,
                fee,
                free_shipping_at: free,
                cod: raw.cod_offered.then_some(CodRule { max_order: cod_max }),
                estimate,
                enabled: raw.enabled,
            }),
            _ => Err(errors.into_errors()),
        }
    }
}

/// A fee: zero (free) up to [`Paise::MAX`].
fn fee(field: &str, amount: i64) -> Result<Paise, FieldError> {
    if amount > Paise::MAX {
        Err(FieldError::new(
            field,
            "too_large",
            format!("must be at most {} paise", Paise::MAX),
        ))
    } else {
        Paise::parse_bound(field, amount)
    }
}

fn estimate(min: i64, max: i64) -> Result<DeliveryEstimate, FieldError> {
    let limit = i64::from(DeliveryEstimate::MAX_DAYS);
    for (field, days) in [("estimate.min_days", min), ("estimate.max_days", max)] {
        if !(0..=limit).contains(&days) {
            return Err(FieldError::new(
                field,
                "out_of_range",
                format!("must be 0 to {limit} days"),
            ));
        }
    }
    if min > max {
        return Err(FieldError::new(
            "estimate.max_days",
            "below_min_days",
            "must be at least estimate.min_days",
        ));
    }
    Ok(DeliveryEstimate {
        min_days: min as u16,
        max_days: max as u16,
    })
}

/// A stored zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingZone {
    pub id: ZoneId,
    pub zone: ZoneDraft,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ShippingZone {
    pub fn create(zone: ZoneDraft, now: DateTime<Utc>) -> Self {
        let now = super::time::truncate_to_millis(now);
        Self {
            id: ZoneId::generate(),
            zone,
            created_at: now,
            updated_at: now,
        }
    }

    /// The same zone with its settings replaced.
    pub fn replaced(&self, zone: ZoneDraft, now: DateTime<Utc>) -> Self {
        Self {
            zone,
            updated_at: super::time::truncate_to_millis(now),
            ..self.clone()
        }
    }

    /// How specifically this zone matches `destination`: the length of its longest
    /// matching pincode prefix, 0 for a match by state, `None` for no match.
    fn specificity(&self, destination: &Destination<'_>) -> Option<usize> {
        let by_prefix = self
            .zone
            .pincode_prefixes
            .iter()
            .filter(|p| destination.pincode.starts_with(p.as_str()))
            .map(|p| p.as_str().len())
            .max();
        by_prefix.or_else(|| {
            self.zone
                .states
                .iter()
                .any(|s| s.as_str() == destination.state_code)
                .then_some(0)
        })
    }
}

/// Where an order goes: the GST state code and the pincode of the delivery address.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub state_code: &'a str,
    pub pincode: &'a str,
}

/// The terms of delivery to a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingQuote {
    pub zone_id: ZoneId,
    pub zone_name: String,
    /// Zero when the goods reach the zone's free-shipping value.
    pub fee: Paise,
    /// Whether the order may be paid in cash on delivery: the zone offers it and the goods
    /// are within its ceiling (checkout applies the global ceiling on top).
    pub cod_allowed: bool,
    pub estimate: DeliveryEstimate,
}

/// Why Bazaar does not deliver somewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unserviceable {
    /// No zone covers the destination.
    NoZone,
    /// The zone that covers it is disabled.
    ZoneDisabled,
}

impl Unserviceable {
    pub const ALL: [Self; 2] = [Self::NoZone, Self::ZoneDisabled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoZone => "no_zone",
            Self::ZoneDisabled => "zone_disabled",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NoZone => "we do not deliver to this pincode",
            Self::ZoneDisabled => "delivery to this area is paused",
        }
    }

    /// The refusal as a field error (checkout reports it on the address field it names).
    pub fn field_error(self, field: &str) -> FieldError {
        FieldError::new(field, self.as_str(), self.message())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serviceability {
    Serviceable(ShippingQuote),
    NotServiceable(Unserviceable),
}

/// Delivery terms for `goods_value` to `destination`, from the most specific of `zones`
/// that matches (see the module's documentation).
pub fn quote(
    zones: &[ShippingZone],
    destination: &Destination<'_>,
    goods_value: Paise,
) -> Serviceability {
    let best = zones
        .iter()
        .filter_map(|z| z.specificity(destination).map(|s| (s, z)))
        // Most specific first; among equals, the smallest (oldest) id.
        .max_by(|(a, za), (b, zb)| a.cmp(b).then_with(|| zb.id.cmp(&za.id)));
    let Some((_, zone)) = best else {
        return Serviceability::NotServiceable(Unserviceable::NoZone);
    };
    let rules = &zone.zone;
    if !rules.enabled {
        return Serviceability::NotServiceable(Unserviceable::ZoneDisabled);
    }
    let free = rules.free_shipping_at.is_some_and(|at| goods_value >= at);
    let cod_allowed = rules
        .cod
        .is_some_and(|cod| cod.max_order.is_none_or(|max| goods_value <= max));
    Serviceability::Serviceable(ShippingQuote {
        zone_id: zone.id.clone(),
        zone_name: rules.name.clone(),
        fee: if free { Paise::trusted(0) } else { rules.fee },
        cod_allowed,
        estimate: rules.estimate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn raw(name: &str, states: &[&str], prefixes: &[&str]) -> RawZone {
        RawZone {
            name: name.into(),
            states: states.iter().map(|s| s.to_string()).collect(),
            pincode_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            fee_paise: 4_900,
            free_shipping_at_paise: Some(99_900),
            cod_offered: true,
            cod_max_order_paise: Some(500_000),
            min_days: 2,
            max_days: 5,
            enabled: true,
        }
    }

    fn zone(name: &str, states: &[&str], prefixes: &[&str]) -> ShippingZone {
        ShippingZone::create(
            ZoneDraft::parse(&raw(name, states, prefixes)).unwrap(),
            at(),
        )
    }

    fn to(state_code: &'static str, pincode: &'static str) -> Destination<'static> {
        Destination {
            state_code,
            pincode,
        }
    }

    fn zone_of(s: Serviceability) -> String {
        match s {
            Serviceability::Serviceable(q) => q.zone_name,
            Serviceability::NotServiceable(r) => r.as_str().to_owned(),
        }
    }

    #[test]
    fn a_pincode_prefix_beats_a_state_and_a_longer_prefix_a_shorter_one() {
        let zones = [
            zone("karnataka", &["29"], &[]),
            zone("bengaluru", &[], &["56"]),
            zone("central bengaluru", &[], &["5600"]),
        ];
        let value = Paise::trusted(10_000);
        assert_eq!(
            zone_of(quote(&zones, &to("29", "560001"), value)),
            "central bengaluru"
        );
        assert_eq!(
            zone_of(quote(&zones, &to("29", "562123"), value)),
            "bengaluru"
        );
        assert_eq!(
            zone_of(quote(&zones, &to("29", "580001"), value)),
            "karnataka"
        );
        assert_eq!(
            zone_of(quote(&zones, &to("27", "400001"), value)),
            "no_zone"
        );
    }

    #[test]
    fn the_oldest_of_equally_specific_zones_wins() {
        let first = zone("first", &["27"], &[]);
        let second = zone("second", &["27"], &[]);
        let value = Paise::trusted(10_000);
        assert_eq!(
            zone_of(quote(
                &[second.clone(), first.clone()],
                &to("27", "400001"),
                value
            )),
            "first"
        );
        assert_eq!(
            zone_of(quote(&[first, second], &to("27", "400001"), value)),
            "first"
        );
    }

    #[test]
    fn a_disabled_zone_answers_for_what_it_covers() {
        let mut paused = zone("paused", &[], &["7911"]);
        paused.zone.enabled = false;
        let zones = [zone("assam", &["18"], &[]), paused];
        let value = Paise::trusted(10_000);
        assert_eq!(
            zone_of(quote(&zones, &to("18", "791100"), value)),
            "zone_disabled"
        );
        assert_eq!(zone_of(quote(&zones, &to("18", "781001"), value)), "assam");
    }

    #[test]
    fn shipping_is_free_at_the_threshold_and_cod_stops_above_the_ceiling() {
        let zones = [zone("india", &["29"], &[])];
        let quote_for = |v: i64| match quote(&zones, &to("29", "560001"), Paise::trusted(v)) {
            Serviceability::Serviceable(q) => q,
            other => panic!("{other:?}"),
        };
        assert_eq!(quote_for(99_899).fee.get(), 4_900);
        assert_eq!(quote_for(99_900).fee.get(), 0);
        assert!(quote_for(500_000).cod_allowed);
        assert!(!quote_for(500_001).cod_allowed);
        assert_eq!(
            quote_for(1).estimate,
            DeliveryEstimate {
                min_days: 2,
                max_days: 5
            }
        );
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let mut bad = raw(" ", &["00", "29"], &["0560", "5600001"]);
        bad.fee_paise = -1;
        bad.min_days = 6;
        bad.cod_max_order_paise = Some(0);
        let errors = ZoneDraft::parse(&bad).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "states[0]",
                "pincode_prefixes[0]",
                "pincode_prefixes[1]",
                "fee_paise",
                "cod.max_order_paise",
                "estimate.max_days"
            ]
        );
        let empty = ZoneDraft::parse(&raw("x", &[], &[])).unwrap_err();
        assert_eq!(empty[0].code, "required");
    }

    #[test]
    fn the_state_codes_are_01_to_38_and_97() {
        assert_eq!(GstState::all().len(), 39);
        for ok in ["01", "29", "38", "97"] {
            assert!(GstState::parse("s", ok).is_ok(), "{ok}");
        }
        for bad in ["00", "39", "99", "9", "290", "ab", " 29"] {
            assert!(GstState::parse("s", bad).is_err(), "{bad}");
        }
    }
}
