//! Roles grant `resource:action` permissions; `*` matches any resource or action.
//! What an operation needs is a [`Permission`], never free text, so a typo cannot
//! make a permission nobody holds.

use crate::domain::user::Role;

macro_rules! permissions {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// Something an operation may need the caller to be allowed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Permission {
            $($(#[$doc])* $variant,)*
        }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// `resource:action`, as roles grant it and a 403 names it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $text,)*
                }
            }
        }
    };
}

permissions! {
    ProductsWrite = "products:write",
    /// One's own files; [`Permission::FilesManage`] reaches everyone's.
    FilesRead = "files:read",
    FilesWrite = "files:write",
    FilesManage = "files:manage",
    /// One's own orders; [`Permission::OrdersManage`] reaches everyone's.
    OrdersRead = "orders:read",
    OrdersWrite = "orders:write",
    OrdersManage = "orders:manage",
    PaymentsRefund = "payments:refund",
    WebhooksManage = "webhooks:manage",
    AnalyticsRead = "analytics:read",
    AuditRead = "audit:read",
    UsersRead = "users:read",
    UsersWrite = "users:write",
    /// The outbox holds customers' addresses.
    OutboxRead = "outbox:read",
    OutboxWrite = "outbox:write",
    /// Shipping zones: read and change them.
    ShippingManage = "shipping:manage",
    /// Coupons: read and change them, and see their uses.
    CouponsManage = "coupons:manage",
}

/// What each role may do. Customers act on their own resources only, which
/// ownership checks in the use cases enforce; the grants here are for
/// everything else.
pub fn grants(role: Role) -> &'static [&'static str] {
    match role {
        // `files:read`/`files:write` reach one's own files only; `files:manage` (admins,
        // through `*:*`) reaches everyone's.
        // `orders:read`/`orders:write` reach one's own orders only; `orders:manage`
        // (admins) reaches everyone's.
        Role::Customer => &[
            "products:read",
            "files:read",
            "files:write",
            "orders:read",
            "orders:write",
        ],
        // Catalog managers run the storefront: its shipping zones and coupons too.
        Role::CatalogManager => &[
            "products:*",
            "shipping:manage",
            "coupons:manage",
            "files:read",
            "files:write",
            "orders:read",
            "orders:write",
        ],
        // Among them `outbox:read` and `outbox:write`: the outbox holds customers' addresses.
        Role::Admin => &["*:*"],
    }
}

fn matches(grant: &str, required: &str) -> bool {
    let (g_res, g_act) = grant.split_once(':').unwrap_or((grant, ""));
    let (r_res, r_act) = required.split_once(':').unwrap_or((required, ""));
    (g_res == "*" || g_res == r_res) && (g_act == "*" || g_act == r_act)
}

/// Whether any of `roles` grants `required`.
pub fn allows(roles: &[Role], required: Permission) -> bool {
    roles
        .iter()
        .flat_map(|r| grants(*r).iter())
        .any(|g| matches(g, required.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_grant_what_they_name() {
        use Permission::*;
        assert!(allows(&[Role::Admin], UsersWrite));
        assert!(allows(&[Role::CatalogManager], ProductsWrite));
        assert!(!allows(&[Role::CatalogManager], UsersRead));
        assert!(!allows(&[Role::Customer], ProductsWrite));
        assert!(allows(
            &[Role::Customer, Role::CatalogManager],
            ProductsWrite
        ));
        assert!(!allows(&[], OrdersRead));
        assert!(allows(&[Role::Customer], FilesWrite));
        assert!(!allows(&[Role::CatalogManager], FilesManage));
        assert!(allows(&[Role::Admin], FilesManage));
        assert!(allows(&[Role::Admin], OutboxRead) && allows(&[Role::Admin], OutboxWrite));
        assert!(!allows(&[Role::CatalogManager, Role::Customer], OutboxRead));
    }

    #[test]
    fn the_admin_holds_every_permission_and_every_permission_is_resource_colon_action() {
        for &p in Permission::ALL {
            assert!(allows(&[Role::Admin], p), "{p:?}");
            let (resource, action) = p.as_str().split_once(':').expect("resource:action");
            assert!(!resource.is_empty() && !action.is_empty() && !action.contains(':'));
        }
    }
}
