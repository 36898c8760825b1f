//! Sign-in with OpenID Connect providers (`BAZAAR_OIDC_*`): Google as a preset, any other
//! provider by its issuer, key-set URL and client ids, and how their keys are cached.
//! A provider without client ids is off.

use std::time::Duration;

use super::parser::Parser;
use super::spec::SettingSpec;

/// Google's issuer, as its ID tokens name it (they also use the bare host).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Google's key set (its discovery document's `jwks_uri`).
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";

/// One OpenID Connect provider whose ID tokens sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProviderConfig {
    /// The name in the route: `POST /api/v1/auth/oidc/{name}`.
    pub name: String,
    /// The `iss` its tokens carry; stored on linked accounts.
    pub issuer: String,
    /// Other spellings of the issuer its tokens may carry (Google's `accounts.google.com`).
    pub issuer_aliases: Vec<String>,
    pub jwks_url: String,
    /// The accepted `aud` values: the app's OAuth client ids (web, Android, iOS).
    pub client_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// Google first (when it has client ids), then the others, in configured order.
    pub providers: Vec<OidcProviderConfig>,
    /// Clock skew allowed on `exp` and `iat`.
    pub leeway: Duration,
    /// An unknown `kid` refetches a provider's keys at most this often.
    pub min_refetch_interval: Duration,
    /// How long a key set is kept when its answer set no `max-age`.
    pub default_cache_ttl: Duration,
}

impl OidcSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "oidc_google_client_ids",
            default: Some(""),
            secret: false,
            help: "Sign in with Google: the app's OAuth client ids (web, Android, iOS), \
                separated by commas; an ID token's `aud` must be one of them. Empty turns \
                Google off (`POST /api/v1/auth/oidc/google` answers 404 \
                `provider_not_configured`). See [auth.md](auth.md#sign-in-with-google).",
        },
        SettingSpec {
            key: "oidc_google_issuer",
            default: Some(GOOGLE_ISSUER),
            secret: false,
            help: "The `iss` Google's ID tokens carry (the same without `https://` is accepted \
                too). Changed only to point tests at a local issuer.",
        },
        SettingSpec {
            key: "oidc_google_jwks_url",
            default: Some(GOOGLE_JWKS_URL),
            secret: false,
            help: "Google's key set (`jwks_uri` of its discovery document).",
        },
        SettingSpec {
            key: "oidc_providers",
            default: Some(""),
            secret: false,
            help: "Other OpenID Connect providers, separated by `;`, each `name issuer jwks_url \
                client_id[,client_id…]` (separated by spaces), e.g. `microsoft \
                https://login.microsoftonline.com/<tenant>/v2.0 \
                https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys 00000000-…`. \
                The name (lower-case letters, digits, `-`) is the route's \
                `/api/v1/auth/oidc/{name}`; the issuer and `jwks_url` are in the provider's \
                `<issuer>/.well-known/openid-configuration`.",
        },
        SettingSpec {
            key: "oidc_leeway_secs",
            default: Some("60"),
            secret: false,
            help: "Clock skew allowed on an ID token's `exp` and `iat` (0–300).",
        },
        SettingSpec {
            key: "oidc_jwks_min_refetch_secs",
            default: Some("60"),
            secret: false,
            help: "A token naming a `kid` the cached key set lacks refetches the provider's \
                keys at most once per this many seconds (0–3600), so a flood of made-up \
                `kid`s cannot make Bazaar hammer the provider.",
        },
        SettingSpec {
            key: "oidc_jwks_default_ttl_secs",
            default: Some("3600"),
            secret: false,
            help: "How long a key set is kept when the provider's answer has no \
                `Cache-Control: max-age` (which is otherwise honoured, up to a day).",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let mut providers = Vec::new();
        let google_ids = p.list("oidc_google_client_ids");
        let google_issuer = p.string("oidc_google_issuer");
        let google_jwks = p.string("oidc_google_jwks_url");
        check_url(p, "oidc_google_issuer", &google_issuer);
        check_url(p, "oidc_google_jwks_url", &google_jwks);
        if !google_ids.is_empty() {
            let bare = google_issuer
                .strip_prefix("https://")
                .map(str::to_owned)
                .into_iter()
                .collect();
            providers.push(OidcProviderConfig {
                name: "google".into(),
                issuer: google_issuer,
                issuer_aliases: bare,
                jwks_url: google_jwks,
                client_ids: google_ids,
            });
        }
        for entry in p
            .string("oidc_providers")
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            match provider(entry) {
                Ok(provider) if providers.iter().any(|q| q.name == provider.name) => {
                    p.fail("oidc_providers", format!("names `{}` twice", provider.name))
                }
                Ok(provider) => providers.push(provider),
                Err(why) => p.fail("oidc_providers", why),
            }
        }
        let secs = |p: &mut Parser, key: &str, max: u64, fallback: u64| {
            let value: u64 = p.parse(key, "a whole number of seconds", fallback);
            if value > max {
                p.fail(key, format!("must be between 0 and {max}"));
            }
            Duration::from_secs(value.min(max))
        };
        Self {
            providers,
            leeway: secs(p, "oidc_leeway_secs", 300, 60),
            min_refetch_interval: secs(p, "oidc_jwks_min_refetch_secs", 3600, 60),
            default_cache_ttl: secs(p, "oidc_jwks_default_ttl_secs", 86_400, 3600),
        }
    }
}

fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn check_url(p: &mut Parser, key: &str, raw: &str) {
    if !is_http_url(raw) {
        p.fail(key, "must be an http(s) URL".into());
    }
}

/// One `name issuer jwks_url client_ids` entry of `oidc_providers`.
fn provider(entry: &str) -> Result<OidcProviderConfig, String> {
    let fields: Vec<&str> = entry.split_whitespace().collect();
    let [name, issuer, jwks_url, client_ids] = fields[..] else {
        return Err(format!(
            "entry `{entry}` must be `name issuer jwks_url client_id[,client_id…]`"
        ));
    };
    let name_ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        return Err(format!(
            "provider name `{name}` must be 1–32 lower-case letters, digits or `-`"
        ));
    }
    if name == "google" {
        return Err("`google` is configured by BAZAAR_OIDC_GOOGLE_*".into());
    }
    if !is_http_url(issuer) || !is_http_url(jwks_url) {
        return Err(format!(
            "provider `{name}`: the issuer and jwks_url must be http(s) URLs"
        ));
    }
    let client_ids: Vec<String> = client_ids
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if client_ids.is_empty() {
        return Err(format!("provider `{name}` needs at least one client id"));
    }
    Ok(OidcProviderConfig {
        name: name.to_owned(),
        issuer: issuer.to_owned(),
        issuer_aliases: Vec::new(),
        jwks_url: jwks_url.to_owned(),
        client_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::vars;
    use super::super::Settings;

    #[test]
    fn google_is_off_without_client_ids_and_accepts_both_issuer_spellings_with_them() {
        let off = Settings::from_sources(None, vars(&[])).unwrap();
        assert!(off.oidc.providers.is_empty());

        let on = Settings::from_sources(
            None,
            vars(&[("BAZAAR_OIDC_GOOGLE_CLIENT_IDS", "web.apps, android.apps")]),
        )
        .unwrap();
        let google = &on.oidc.providers[0];
        assert_eq!(google.name, "google");
        assert_eq!(google.issuer, "https://accounts.google.com");
        assert_eq!(google.issuer_aliases, vec!["accounts.google.com"]);
        assert_eq!(google.client_ids, vec!["web.apps", "android.apps"]);
    }

    #[test]
    fn other_providers_are_read_from_one_setting_and_bad_entries_are_refused() {
        let s = Settings::from_sources(
            None,
            vars(&[(
                "BAZAAR_OIDC_PROVIDERS",
                "acme https://id.acme.in https://id.acme.in/keys a,b; x-2 http://127.0.0.1:9 http://127.0.0.1:9/jwks c",
            )]),
        )
        .unwrap();
        let names: Vec<_> = s.oidc.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["acme", "x-2"]);
        assert_eq!(s.oidc.providers[0].client_ids, ["a", "b"]);

        for bad in [
            "acme https://id.acme.in https://id.acme.in/keys",
            "Acme https://id.acme.in https://id.acme.in/keys a",
            "acme ftp://id.acme.in https://id.acme.in/keys a",
            "google https://a.in https://a.in/k a",
            "a https://a.in https://a.in/k x; a https://a.in https://a.in/k y",
        ] {
            let e = Settings::from_sources(None, vars(&[("BAZAAR_OIDC_PROVIDERS", bad)]))
                .expect_err(bad);
            assert!(
                e.0.iter().any(|m| m.contains("BAZAAR_OIDC_PROVIDERS")),
                "{bad}: {e}"
            );
        }
    }
}
