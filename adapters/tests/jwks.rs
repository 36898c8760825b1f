//! Holds `JwksClient` to what `shared/contracts/google-oidc.md` says of a provider's key set
//! (a `{"keys":[…]}` document at the `jwks_uri`, cacheable for its `Cache-Control: max-age`),
//! with a wiremock server standing in for Google, and checks what `FakeJwks` promises.

use std::time::Duration;

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::jwks::{FakeJwks, JwksClient, JwksSettings, JwksSource};
use bazaar_adapters::retry::RetryPolicy;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

#[macro_use]
mod common;

fn client(server: &MockServer) -> JwksClient {
    JwksClient::new(JwksSettings {
        jwks_url: format!("{}/oauth2/v3/certs", server.uri()),
        timeout: Duration::from_millis(200),
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(2),
        },
    })
    .expect("test settings are valid")
}

fn google_key(kid: &str) -> serde_json::Value {
    json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "e": "AQAB",
        "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"
    })
}

fn certs() -> MockBuilder {
    Mock::given(method("GET")).and(path("/oauth2/v3/certs"))
}

fn key_set() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("Content-Type", "application/json; charset=UTF-8")
        .insert_header(
            "Cache-Control",
            "public, max-age=19302, must-revalidate, no-transform",
        )
        .set_body_json(json!({"keys": [google_key("k1"), google_key("k2")]}))
}

#[tokio::test]
async fn fetch_gets_the_keys_and_how_long_google_lets_them_be_cached() {
    let server = MockServer::start().await;
    certs()
        .and(header("accept", "application/json"))
        .respond_with(key_set())
        .expect(1)
        .mount(&server)
        .await;

    let set = client(&server).fetch().await.expect("the key set");

    assert_eq!(set.keys, vec![google_key("k1"), google_key("k2")]);
    assert_eq!(set.max_age, Some(Duration::from_secs(19302)));
}

#[tokio::test]
async fn a_key_set_without_cache_control_has_no_lifetime_and_no_store_has_zero() {
    let server = MockServer::start().await;
    certs()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": []})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    certs()
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Cache-Control", "no-store")
                .set_body_json(json!({"keys": [google_key("k1")]})),
        )
        .mount(&server)
        .await;

    let first = client(&server).fetch().await.expect("the key set");
    let second = client(&server).fetch().await.expect("the key set");

    assert_eq!(first.max_age, None);
    assert!(first.keys.is_empty());
    assert_eq!(second.max_age, Some(Duration::ZERO));
}

#[tokio::test]
async fn a_body_that_is_not_a_key_set_is_rejected() {
    let server = MockServer::start().await;
    certs()
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>sign in</html>"))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).fetch().await;

    match result {
        Err(AdapterError::Rejected {
            provider, message, ..
        }) => {
            assert_eq!(provider, "jwks");
            assert!(message.contains("not a JSON Web Key Set"), "{message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_404_is_rejected_with_its_status_and_not_retried() {
    let server = MockServer::start().await;
    certs()
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).fetch().await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Rejected {
                provider: "jwks",
                status: 404,
                ..
            })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let server = MockServer::start().await;
    certs()
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", "https://evil.example/keys"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).fetch().await;

    assert!(
        matches!(result, Err(AdapterError::Rejected { status: 302, .. })),
        "got {result:?}"
    );
}

#[test]
fn a_url_that_is_not_http_is_refused_at_construction() {
    let result = JwksClient::new(JwksSettings {
        jwks_url: "file:///etc/keys.json".into(),
        timeout: Duration::from_secs(1),
        retry: RetryPolicy::default(),
    });

    assert!(
        matches!(result, Err(AdapterError::Unavailable { .. })),
        "got {result:?}"
    );
}

#[tokio::test]
async fn the_fake_serves_what_it_was_given_counts_fetches_and_fails_when_told() {
    let fake = FakeJwks::new();
    fake.serve(vec![google_key("k1")], Some(Duration::from_secs(60)));
    fake.fail_next(AdapterError::Unavailable {
        provider: "jwks",
        message: "down".into(),
    });

    let failed = fake.fetch().await;
    let served = fake.fetch().await.expect("the key set");

    assert!(matches!(failed, Err(AdapterError::Unavailable { .. })));
    assert_eq!(served.keys, vec![google_key("k1")]);
    assert_eq!(served.max_age, Some(Duration::from_secs(60)));
    assert_eq!(fake.fetches(), 2);
}

transport_contract! {
    provider: "jwks",
    stub: certs(),
    success: key_set(),
    refused_credentials: ResponseTemplate::new(403),
    call: |server| client(&server).fetch().await,
}
