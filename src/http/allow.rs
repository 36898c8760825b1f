//! The `Allow` header of a 405: RFC 9110 (§15.5.6) requires it to list the methods the
//! target resource supports. poem's router answers 405 without saying which those are,
//! so [`AllowedMethods`] knows them from the routes: every path of the contract with its
//! operations' methods, plus the few routes outside it. Only a 405 consults it.

use poem::http::Method;

/// One route: its path template split into segments (`None` for a `{parameter}`,
/// or for the rest of the path after a `*` wildcard) and its `Allow` value.
#[derive(Debug, Clone)]
struct RouteMethods {
    segments: Vec<Option<String>>,
    /// Whether the last segment is a wildcard that takes the rest of the path.
    wildcard: bool,
    allow: String,
}

/// Methods per route, to answer `Allow` on a 405.
#[derive(Debug, Clone, Default)]
pub struct AllowedMethods {
    routes: Vec<RouteMethods>,
}

/// The order `Allow` lists methods in.
const ORDER: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

impl AllowedMethods {
    /// Every path of an OpenAPI document (`paths.<template>.<method>`).
    pub fn from_contract(spec: &serde_json::Value) -> Self {
        let mut allowed = Self::default();
        for (path, item) in spec["paths"].as_object().into_iter().flatten() {
            let methods: Vec<Method> = item
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(method, _)| method.to_ascii_uppercase().parse().ok())
                .collect();
            allowed.add(path, &methods);
        }
        allowed
    }

    /// Adds a route: `template` with `{name}` parameters, or ending in `/*` for
    /// everything below it. A `GET` route answers `HEAD` too (poem's router does).
    pub fn add(&mut self, template: &str, methods: &[Method]) {
        let (template, wildcard) = match template.strip_suffix("/*") {
            Some(prefix) => (prefix, true),
            None => (template, false),
        };
        let segments = template
            .split('/')
            .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
            .collect();
        let allow = ORDER
            .iter()
            .filter(|m| {
                methods.contains(m) || (**m == Method::HEAD && methods.contains(&Method::GET))
            })
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        self.routes.push(RouteMethods {
            segments,
            wildcard,
            allow,
        });
    }

    /// The `Allow` value for a request path: that of the route the router picks,
    /// which prefers a literal segment to a parameter (`/products/batch` over
    /// `/products/{id}`). `None` when no route has the path.
    pub fn for_path(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = path.split('/').collect();
        self.routes
            .iter()
            .filter_map(|route| {
                let fits = if route.wildcard {
                    parts.len() > route.segments.len()
                } else {
                    parts.len() == route.segments.len()
                };
                let literal: Vec<bool> = route
                    .segments
                    .iter()
                    .zip(&parts)
                    .map(|(segment, part)| match segment {
                        Some(literal) => (literal == part).then_some(true),
                        None => Some(false),
                    })
                    .collect::<Option<_>>()?;
                fits.then_some((literal, !route.wildcard, route.allow.as_str()))
            })
            .max_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)))
            .map(|(_, _, allow)| allow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> AllowedMethods {
        let mut allowed = AllowedMethods::default();
        allowed.add("/api/v1/products", &[Method::GET, Method::POST]);
        allowed.add(
            "/api/v1/products/{id}",
            &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
        );
        allowed.add(
            "/api/v1/products/batch",
            &[Method::POST, Method::PATCH, Method::DELETE],
        );
        allowed.add("/dev/uploads/*", &[Method::PUT, Method::GET]);
        allowed
    }

    #[test]
    fn a_path_gets_the_methods_of_its_route_with_head_beside_get() {
        let allowed = table();
        assert_eq!(
            allowed.for_path("/api/v1/products"),
            Some("GET, HEAD, POST")
        );
        assert_eq!(
            allowed.for_path("/api/v1/products/6b15bb2e6fdc15df06cab413"),
            Some("GET, HEAD, PUT, PATCH, DELETE")
        );
        assert_eq!(
            allowed.for_path("/dev/uploads/a/b.png"),
            Some("GET, HEAD, PUT")
        );
    }

    #[test]
    fn a_literal_segment_wins_over_a_parameter_as_in_the_router() {
        assert_eq!(
            table().for_path("/api/v1/products/batch"),
            Some("POST, PATCH, DELETE")
        );
    }

    #[test]
    fn a_path_no_route_has_gets_nothing() {
        let allowed = table();
        assert_eq!(allowed.for_path("/api/v1/orders"), None);
        assert_eq!(allowed.for_path("/api/v1/products/1/2"), None);
        assert_eq!(allowed.for_path("/dev/uploads"), None);
    }
}
