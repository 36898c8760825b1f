//! What the catalog allows: the product categories.

use super::parser::Parser;
use super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct CatalogSettings {
    /// The categories a product may have.
    pub product_categories: Vec<String>,
}

impl CatalogSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[SettingSpec {
        key: "product_categories",
        default: Some("electronics,fashion,home,grocery,beauty,books,sports,toys"),
        secret: false,
        help: "The categories a product may have. Products keep a category that is later removed \
            from the list.",
    }];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let product_categories = p.list("product_categories");
        if product_categories.is_empty() {
            p.fail(
                "product_categories",
                "must name at least one category".into(),
            );
        }
        Self { product_categories }
    }
}
