//! GST (`BAZAAR_GST_*`): the registered seller tax invoices name, and the rules they are
//! made with: price basis, rates per tax class, a product's default class and code, how
//! many code digits invoices show, and the invoice and credit-note prefixes.
//!
//! A seller must issue tax invoices, so production refuses to start without one. The
//! development profile falls back to a documented sample seller, so `make run` needs no setup.

use super::environment::Environment;
use super::parser::Parser;
use super::spec::SettingSpec;
use crate::domain::gst::gstin::Gstin;
use crate::domain::gst::hsn::{InvoiceDigits, TaxCode};
use crate::domain::gst::rates::RateTable;
use crate::domain::gst::seller::{Seller, TaxSettings};
use crate::domain::gst::series::InvoicePrefix;
use crate::domain::gst::tax::PriceBasis;
use crate::domain::validation::FieldError;

/// The three settings that name the seller: all or none.
const SELLER_KEYS: [&str; 3] = [
    "gst_seller_legal_name",
    "gst_seller_gstin",
    "gst_seller_address",
];

#[derive(Debug, Clone)]
pub struct GstSettings {
    pub tax: TaxSettings,
    /// Whether `tax.seller` is the development sample, no seller being configured.
    pub sample_seller: bool,
}

impl GstSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "gst_seller_legal_name",
            default: Some(""),
            secret: false,
            help: "The seller's legal name as registered for GST, printed on tax invoices. The \
                three `BAZAAR_GST_SELLER_*` settings go together, and production requires them; \
                development without them uses a sample seller (Bazaar Demo Traders, \
                `29AABFB1234D1Z2`, Bengaluru).",
        },
        SettingSpec {
            key: "gst_seller_gstin",
            default: Some(""),
            secret: false,
            help: "The seller's GSTIN (15 characters, check character verified). Its first two \
                digits are the seller's state, which decides intra- or inter-state supply.",
        },
        SettingSpec {
            key: "gst_seller_address",
            default: Some(""),
            secret: false,
            help: "The seller's principal place of business as printed, lines separated by `|` \
                (`12 MG Road|Bengaluru, Karnataka 560001`).",
        },
        SettingSpec {
            key: "gst_prices_include_tax",
            default: Some("false"),
            secret: false,
            help: "Whether catalog prices include GST (`true`) or have it added on top \
                (`false`, as order totals are computed today).",
        },
        SettingSpec {
            key: "gst_rates",
            default: Some(""),
            secret: false,
            help: "The rate table as JSON: tax class → list of `{\"from\": \"YYYY-MM-DD\", \
                \"rate_bp\": n, \"label\"?: \"…\"}` (see [invoices.md](invoices.md#rates)). \
                Empty: the built-in illustration (`standard_12_to_5`, `standard_18`, \
                `luxury_40`, `exempt`), which is no advice: configure your own.",
        },
        SettingSpec {
            key: "gst_default_tax_class",
            default: Some("standard_18"),
            secret: false,
            help: "The tax class of a product that names none; must be a class of \
                `BAZAAR_GST_RATES`.",
        },
        SettingSpec {
            key: "gst_default_hsn",
            default: Some("6109"),
            secret: false,
            help: "The HSN (goods, 4, 6 or 8 digits) or SAC (services, 6 digits from `99`) code \
                of a product that names none. The default (T-shirts) is an illustration.",
        },
        SettingSpec {
            key: "gst_hsn_digits",
            default: Some("4"),
            secret: false,
            help: "How many digits of a code invoices show: `4` up to ₹5 crore of aggregate \
                turnover, `6` above.",
        },
        SettingSpec {
            key: "gst_invoice_prefix",
            default: Some("INV"),
            secret: false,
            help: "What invoice numbers start with (`INV/26-27/000123`): 1 to 3 letters, \
                digits, `-` or `/`.",
        },
        SettingSpec {
            key: "gst_credit_note_prefix",
            default: Some("CN"),
            secret: false,
            help: "What credit-note numbers start with; a series of its own, same rules.",
        },
    ];

    pub(super) fn parse(p: &mut Parser, env: Environment) -> Self {
        let sample = TaxSettings::sample();
        let (seller, sample_seller) = match parse_seller(p, env) {
            Some(Some(seller)) => (seller, false),
            Some(None) => (sample.seller.clone(), true),
            None => (sample.seller.clone(), false),
        };
        let basis = if p.parse("gst_prices_include_tax", "`true` or `false`", false) {
            PriceBasis::Inclusive
        } else {
            PriceBasis::Exclusive
        };
        let rates = parse_rates(p).unwrap_or_else(|| sample.rates.clone());
        let default_class = take(p, "gst_default_tax_class", |field, raw| {
            rates.class(field, raw)
        });
        let default_code = take(p, "gst_default_hsn", TaxCode::parse);
        let digits: u8 = p.parse("gst_hsn_digits", "4 or 6", 4);
        let digits = p.field(
            "gst_hsn_digits",
            InvoiceDigits::parse("gst_hsn_digits", digits),
        );
        let invoice_prefix = take(p, "gst_invoice_prefix", InvoicePrefix::parse);
        let credit_note_prefix = take(p, "gst_credit_note_prefix", InvoicePrefix::parse);
        Self {
            tax: TaxSettings {
                seller,
                basis,
                rates,
                default_class: default_class.unwrap_or(sample.default_class),
                default_code: default_code.unwrap_or(sample.default_code),
                digits: digits.unwrap_or(sample.digits),
                invoice_prefix: invoice_prefix.unwrap_or(sample.invoice_prefix),
                credit_note_prefix: credit_note_prefix.unwrap_or(sample.credit_note_prefix),
            },
            sample_seller,
        }
    }
}

/// The seller: `Some(Some(_))` as configured, `Some(None)` when none is configured and the
/// profile allows the sample, `None` after recording what is wrong.
fn parse_seller(p: &mut Parser, env: Environment) -> Option<Option<Seller>> {
    let given: Vec<&str> = SELLER_KEYS
        .into_iter()
        .filter(|k| p.raw(k).is_some())
        .collect();
    if given.is_empty() && env == Environment::Development {
        return Some(None);
    }
    for key in SELLER_KEYS.into_iter().filter(|k| !given.contains(k)) {
        let why = if given.is_empty() {
            "is required in production: tax invoices must name the registered seller".to_owned()
        } else {
            format!("is required with {}", super::spec::env_name(given[0]))
        };
        p.fail(key, why);
    }
    // A missing one is reported above; the given ones are checked all the same.
    let legal_name = take_given(p, "gst_seller_legal_name", legal_name);
    let gstin = take_given(p, "gst_seller_gstin", Gstin::parse);
    let address_lines = take_given(p, "gst_seller_address", address);
    match (legal_name, gstin, address_lines) {
        (Some(legal_name), Some(gstin), Some(address_lines)) => Some(Some(Seller {
            legal_name,
            gstin,
            address_lines,
        })),
        _ => None,
    }
}

fn parse_rates(p: &mut Parser) -> Option<RateTable> {
    let text = p.string("gst_rates");
    if text.is_empty() {
        return Some(RateTable::built_in().clone());
    }
    match RateTable::parse_json("gst_rates", &text) {
        Ok(table) => Some(table),
        Err(errors) => {
            let why: Vec<_> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            p.fail("gst_rates", why.join("; "));
            None
        }
    }
}

/// Parses `key`'s value with `parse`, recording its error under `key`.
fn take<T>(
    p: &mut Parser,
    key: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, FieldError>,
) -> Option<T> {
    let raw = p.string(key);
    let parsed = parse(key, &raw);
    p.field(key, parsed)
}

/// [`take`] of a setting that was given; `None` for one that was not.
fn take_given<T>(
    p: &mut Parser,
    key: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, FieldError>,
) -> Option<T> {
    p.raw(key)?;
    take(p, key, parse)
}

/// Trimmed, not empty, no control characters.
fn legal_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid_name",
            "must be a name without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Lines separated by `|` rather than newlines, so that the setting stays one line in the
/// environment and in TOML.
fn address(field: &str, raw: &str) -> Result<Vec<String>, FieldError> {
    Seller::address_lines(field, raw.split('|'))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::vars;
    use super::super::Settings;
    use super::*;
    use crate::domain::gst::seller::{SAMPLE_SELLER_GSTIN, SAMPLE_SELLER_NAME};

    fn refused(pairs: &[(&str, &str)]) -> String {
        Settings::from_sources(None, vars(pairs))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn development_uses_the_sample_seller_and_the_defaults_match_the_table() {
        let gst = Settings::from_sources(None, vars(&[])).unwrap().gst;
        assert!(gst.sample_seller);
        let tax = gst.tax;
        assert_eq!(tax.seller.legal_name, SAMPLE_SELLER_NAME);
        assert_eq!(tax.seller.state().state_name(), "Karnataka");
        assert_eq!(tax.seller.address_lines.len(), 2);
        assert_eq!(tax.basis, PriceBasis::Exclusive);
        assert_eq!(&tax.rates, RateTable::built_in());
        assert_eq!(tax.default_class.as_str(), "standard_18");
        assert_eq!(tax.default_code.as_str(), "6109");
        assert_eq!(tax.digits, InvoiceDigits::Four);
        assert_eq!(
            (tax.invoice_prefix.as_str(), tax.credit_note_prefix.as_str()),
            ("INV", "CN")
        );
    }

    #[test]
    fn a_configured_seller_and_rates_are_read() {
        let rates = r#"{ "books_5": [ { "from": "2017-07-01", "rate_bp": 500 } ] }"#;
        let s = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_GST_SELLER_LEGAL_NAME", " Kaveri Crafts LLP "),
                ("BAZAAR_GST_SELLER_GSTIN", "27aapfu0939f1zv"),
                (
                    "BAZAAR_GST_SELLER_ADDRESS",
                    "Unit 4, Andheri East| |Mumbai 400069",
                ),
                ("BAZAAR_GST_PRICES_INCLUDE_TAX", "true"),
                ("BAZAAR_GST_RATES", rates),
                ("BAZAAR_GST_DEFAULT_TAX_CLASS", "books_5"),
                ("BAZAAR_GST_DEFAULT_HSN", "490110"),
                ("BAZAAR_GST_HSN_DIGITS", "6"),
                ("BAZAAR_GST_INVOICE_PREFIX", "KC"),
            ]),
        )
        .unwrap();
        assert!(!s.gst.sample_seller);
        let tax = s.gst.tax;
        assert_eq!(tax.seller.legal_name, "Kaveri Crafts LLP");
        assert_eq!(tax.seller.gstin.as_str(), "27AAPFU0939F1ZV");
        assert_eq!(
            tax.seller.address_lines,
            ["Unit 4, Andheri East", "Mumbai 400069"]
        );
        assert_eq!(tax.basis, PriceBasis::Inclusive);
        assert_eq!(tax.rates.classes().count(), 1);
        assert_eq!(tax.default_code.as_str(), "490110");
        assert_eq!(tax.digits, InvoiceDigits::Six);
        assert_eq!(tax.invoice_prefix.as_str(), "KC");
    }

    #[test]
    fn a_bad_gstin_an_unknown_default_class_and_a_bad_table_are_named() {
        let text = refused(&[
            ("BAZAAR_GST_SELLER_LEGAL_NAME", "Kaveri Crafts LLP"),
            ("BAZAAR_GST_SELLER_GSTIN", "27AAPFU0939F1ZA"),
            ("BAZAAR_GST_SELLER_ADDRESS", "Mumbai"),
            ("BAZAAR_GST_DEFAULT_TAX_CLASS", "standard_5"),
            ("BAZAAR_GST_HSN_DIGITS", "8"),
        ]);
        assert!(text.contains("BAZAAR_GST_SELLER_GSTIN"), "{text}");
        assert!(text.contains("check"), "{text}");
        assert!(text.contains("BAZAAR_GST_DEFAULT_TAX_CLASS"), "{text}");
        assert!(
            text.contains("standard_18"),
            "the classes are listed: {text}"
        );
        assert!(text.contains("BAZAAR_GST_HSN_DIGITS"), "{text}");
        // The default class of the built-in table is unknown to a table of one's own.
        let text = refused(&[(
            "BAZAAR_GST_RATES",
            r#"{ "books_5": [ { "from": "2017-07-01", "rate_bp": 500 } ] }"#,
        )]);
        assert!(
            text.starts_with("invalid configuration (1 problems)"),
            "{text}"
        );
        assert!(text.contains("BAZAAR_GST_DEFAULT_TAX_CLASS"), "{text}");
        let text = refused(&[(
            "BAZAAR_GST_RATES",
            r#"{ "books_5": [ { "from": "2017-07-01", "rate_bp": 50000 } ] }"#,
        )]);
        assert!(text.contains("BAZAAR_GST_RATES"), "{text}");
        assert!(text.contains("gst_rates.books_5"), "{text}");
    }

    #[test]
    fn part_of_a_seller_is_refused_and_production_requires_one() {
        let text = refused(&[("BAZAAR_GST_SELLER_GSTIN", SAMPLE_SELLER_GSTIN)]);
        assert!(
            text.contains("BAZAAR_GST_SELLER_LEGAL_NAME (")
                && text.contains("BAZAAR_GST_SELLER_ADDRESS (")
                && text.contains("is required with BAZAAR_GST_SELLER_GSTIN"),
            "{text}"
        );
        let text = refused(&[("BAZAAR_ENV", "production")]);
        for key in SELLER_KEYS {
            let name = super::super::spec::env_name(key);
            assert!(text.contains(&format!("{name} (")), "{name} in:\n{text}");
        }
    }
}
