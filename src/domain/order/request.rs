//! What a customer asks for: lines and an address as they arrived, and
//! [`OrderRequest`], the same checked field by field.

use super::Address;
use crate::domain::address::AddressDetails;
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::user::Phone;
use crate::domain::validation::{char_len, Collector, FieldError};

/// Most distinct products in one order.
pub const MAX_ITEMS: usize = 50;
/// Most units of one product in one order that the setting
/// (`BAZAAR_ORDER_PRODUCT_UNITS_MAX`) may allow.
pub const MAX_QUANTITY: u32 = 1000;
const MAX_NOTES: usize = 500;
const MAX_ADDRESS_LINE: usize = 200;

/// One requested line, before the catalog was asked about it.
#[derive(Debug, Clone)]
pub struct RawLine {
    pub product_id: String,
    /// Absent: the product's only variant.
    pub variant_id: Option<String>,
    pub quantity: i64,
}

/// One line, checked: a product, the variant if the customer named one, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    pub product_id: ProductId,
    /// `None` until the catalog resolves it: the product's only variant.
    pub variant_id: Option<VariantId>,
    pub quantity: u32,
}

#[derive(Debug, Clone, Default)]
pub struct RawAddress {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub phone: Option<String>,
    pub landmark: Option<String>,
}

/// What a customer asked for, checked field by field.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Each product variant once, with its quantity (repeats are added up).
    pub lines: Vec<RequestLine>,
    pub address: Option<Address>,
    pub notes: Option<String>,
}

impl OrderRequest {
    /// `max_units` is the most units of one product an order may hold (at
    /// most [`MAX_QUANTITY`]).
    pub fn parse(
        lines: &[RawLine],
        address: Option<&RawAddress>,
        notes: Option<&str>,
        max_units: u32,
    ) -> Result<Self, Vec<FieldError>> {
        let max_units = max_units.clamp(1, MAX_QUANTITY);
        let mut errors = Collector::default();
        if lines.is_empty() {
            errors.push(FieldError::new(
                "items",
                "empty",
                "must list at least one item",
            ));
        }
        if lines.len() > MAX_ITEMS {
            errors.push(FieldError::new(
                "items",
                "too_many",
                format!("must list at most {MAX_ITEMS} items"),
            ));
        }
        let mut parsed: Vec<RequestLine> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let id = errors.take(
                ProductId::parse(&line.product_id)
                    .map_err(|m| FieldError::new(format!("items[{i}].product_id"), "invalid", m)),
            );
            let variant = match &line.variant_id {
                None => Some(None),
                Some(raw) => errors
                    .take(VariantId::parse(raw).map_err(|m| {
                        FieldError::new(format!("items[{i}].variant_id"), "invalid", m)
                    }))
                    .map(Some),
            };
            let quantity = match u32::try_from(line.quantity) {
                Ok(q) if (1..=max_units).contains(&q) => Some(q),
                _ => {
                    errors.push(FieldError::new(
                        format!("items[{i}].quantity"),
                        "out_of_range",
                        format!("must be between 1 and {max_units}"),
                    ));
                    None
                }
            };
            if let (Some(id), Some(variant), Some(quantity)) = (id, variant, quantity) {
                let same = |l: &&mut RequestLine| l.product_id == id && l.variant_id == variant;
                match parsed.iter_mut().find(same).map(|l| &mut l.quantity) {
                    Some(q) if *q + quantity > max_units => {
                        errors.push(FieldError::new(
                            format!("items[{i}].quantity"),
                            "out_of_range",
                            format!("with the product's earlier lines, more than {max_units}"),
                        ));
                    }
                    Some(q) => *q += quantity,
                    None => parsed.push(RequestLine {
                        product_id: id,
                        variant_id: variant,
                        quantity,
                    }),
                }
            }
        }
        let address = address.and_then(|a| errors.take(parse_address(a)));
        let notes = errors.take(parse_notes(notes)).flatten();
        if !errors.is_empty() {
            return Err(errors.into_errors());
        }
        Ok(Self {
            lines: parsed,
            address,
            notes,
        })
    }
}

/// The customer's note for the order, trimmed; `None` if blank.
pub fn parse_notes(notes: Option<&str>) -> Result<Option<String>, FieldError> {
    let notes = notes.map(str::trim).filter(|n| !n.is_empty());
    if notes.is_some_and(|n| char_len(n) > MAX_NOTES) {
        return Err(FieldError::new(
            "notes",
            "too_long",
            format!("must be at most {MAX_NOTES} characters"),
        ));
    }
    Ok(notes.map(str::to_owned))
}

/// Where an order from the address book ships: the saved address as it is now, with
/// the state and its GST code from India Post's directory.
pub fn ship_to(saved: &AddressDetails) -> Address {
    Address {
        name: saved.name.clone(),
        line1: saved.line1.clone(),
        line2: saved.line2.clone(),
        city: saved.city.clone(),
        state: saved.locality.state.to_owned(),
        postal_code: saved.pincode.to_string(),
        phone: Some(saved.phone.as_str().to_owned()),
        landmark: saved.landmark.clone(),
        state_code: Some(saved.locality.state_code.to_string()),
    }
}

fn parse_address(raw: &RawAddress) -> Result<Address, FieldError> {
    let line = |field: &str, value: &str| -> Result<String, FieldError> {
        let value = value.trim();
        if value.is_empty() {
            Err(FieldError::new(
                format!("address.{field}"),
                "required",
                "must not be empty",
            ))
        } else if char_len(value) > MAX_ADDRESS_LINE {
            Err(FieldError::new(
                format!("address.{field}"),
                "too_long",
                format!("must be at most {MAX_ADDRESS_LINE} characters"),
            ))
        } else {
            Ok(value.to_owned())
        }
    };
    let postal_code = raw.postal_code.trim();
    if postal_code.len() != 6 || !postal_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            "address.postal_code",
            "invalid",
            "must be a six-digit PIN code",
        ));
    }
    Ok(Address {
        name: line("name", &raw.name)?,
        line1: line("line1", &raw.line1)?,
        line2: raw
            .line2
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| line("line2", l))
            .transpose()?,
        city: line("city", &raw.city)?,
        state: line("state", &raw.state)?,
        postal_code: postal_code.to_owned(),
        phone: raw
            .phone
            .as_deref()
            .map(|p| Phone::parse("address.phone", p).map(|p| p.as_str().to_owned()))
            .transpose()?,
        landmark: raw
            .landmark
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| line("landmark", l))
            .transpose()?,
        state_code: None,
    })
}
