//! Roles grant `resource:action` permissions; `*` matches any resource or action.

use crate::domain::user::Role;

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
        Role::CatalogManager => &[
            "products:*",
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

/// Whether any of `roles` grants `required` (`resource:action`).
pub fn allows(roles: &[Role], required: &str) -> bool {
    roles
        .iter()
        .flat_map(|r| grants(*r).iter())
        .any(|g| matches(g, required))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_grant_what_they_name() {
        assert!(allows(&[Role::Admin], "users:write"));
        assert!(allows(&[Role::CatalogManager], "products:write"));
        assert!(!allows(&[Role::CatalogManager], "users:read"));
        assert!(!allows(&[Role::Customer], "products:write"));
        assert!(allows(
            &[Role::Customer, Role::CatalogManager],
            "products:delete"
        ));
        assert!(!allows(&[], "products:read"));
        assert!(allows(&[Role::Customer], "files:write"));
        assert!(!allows(&[Role::CatalogManager], "files:manage"));
        assert!(allows(&[Role::Admin], "files:manage"));
        assert!(allows(&[Role::Admin], "outbox:read") && allows(&[Role::Admin], "outbox:write"));
        assert!(!allows(
            &[Role::CatalogManager, Role::Customer],
            "outbox:read"
        ));
    }
}
