//! Inputs tests build from, and what they read back outside the API.

use serde_json::Value;

/// A valid product body with this SKU.
pub fn product_json(sku: &str) -> Value {
    serde_json::json!({
        "sku": sku,
        "name": format!("Product {sku}"),
        "description": "A fine thing",
        "price": 49900,
        "currency": "INR",
        "category": "books",
        "tags": ["paperback"],
    })
}

/// Every regular file under `dir`, at any depth (what the development object store holds).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .flat_map(|entry| {
                    let path = entry.path();
                    if path.is_dir() {
                        files_under(&path)
                    } else {
                        vec![path]
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What order fixtures are taxed on: tax added on top, delivered to another state (IGST).
pub const ADDED_INTER: bazaar::domain::pricing::TaxTerms = bazaar::domain::pricing::TaxTerms {
    basis: bazaar::domain::gst::tax::PriceBasis::Exclusive,
    supply: bazaar::domain::gst::tax::SupplyType::Inter,
};

/// Every product at 18% under HSN 6912 (tableware), for order fixtures.
pub fn at_18_percent(_: &bazaar::domain::product::Product) -> bazaar::domain::order::tax::ItemRate {
    bazaar::domain::order::tax::ItemRate {
        rate_bp: 1800,
        code: "6912".into(),
    }
}

/// Tax added on top, to another state, every product at 18%: how order fixtures are taxed.
pub fn taxing_at_18_percent() -> bazaar::domain::order::tax::ItemTaxing<'static> {
    bazaar::domain::order::tax::ItemTaxing {
        terms: ADDED_INTER,
        rate_of: &at_18_percent,
    }
}
