//! The test services `make test` provides (MongoDB-wire, Redis, a Redis Cluster, S3),
//! and stores on them under names no other test uses, for the conformance suites and
//! for tests that build their own backends.

use bazaar::kv::redis::RedisKv;
use bazaar::store::mongo::{self, MongoProducts};
use bazaar_adapters::retry::RetryPolicy;
use bazaar_adapters::s3::{S3Client, S3Settings};
use secrecy::SecretString;

pub fn env_url(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with `make test`, which starts a MongoDB-wire server and Redis")
    })
}

pub fn mongodb_url() -> String {
    env_url("BAZAAR_TEST_MONGODB_URL")
}

pub fn redis_url() -> String {
    env_url("BAZAAR_TEST_REDIS_URL")
}

/// The seeds of the three-node Redis Cluster `make test` starts, comma-separated.
pub fn redis_cluster_url() -> String {
    env_url("BAZAAR_TEST_REDIS_CLUSTER_URL")
}

/// A name no other test uses, so tests can share one server.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A fresh database on the test MongoDB-wire server.
pub async fn test_database() -> mongodb::Database {
    mongo::connect(
        &mongodb_url(),
        &unique("bazaar_test"),
        std::time::Duration::from_secs(5),
    )
    .await
    .expect("MongoDB URL parses")
}

pub async fn mongo_products() -> MongoProducts {
    MongoProducts::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_users() -> bazaar::store::mongo::MongoUsers {
    bazaar::store::mongo::MongoUsers::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_audit() -> bazaar::store::mongo::MongoAudit {
    bazaar::store::mongo::MongoAudit::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_addresses() -> bazaar::store::mongo::MongoAddresses {
    bazaar::store::mongo::MongoAddresses::new(&test_database().await)
}

pub async fn mongo_files() -> bazaar::store::mongo::MongoFiles {
    bazaar::store::mongo::MongoFiles::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_outbox() -> bazaar::store::mongo::MongoOutbox {
    bazaar::store::mongo::MongoOutbox::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_orders() -> bazaar::store::mongo::MongoOrders {
    bazaar::store::mongo::MongoOrders::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_webhook_events() -> bazaar::store::mongo::MongoWebhookEvents {
    bazaar::store::mongo::MongoWebhookEvents::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn redis_kv() -> RedisKv {
    redis_kv_at(&redis_url()).await
}

pub async fn redis_cluster_kv() -> RedisKv {
    redis_kv_at(&redis_cluster_url()).await
}

/// A store at `url` under a key prefix of its own.
pub async fn redis_kv_at(url: &str) -> RedisKv {
    RedisKv::connect(
        url,
        &format!("{}:", unique("test")),
        std::time::Duration::from_secs(2),
    )
    .await
    .expect("Redis answers")
}

/// The settings that point the app at the test servers: the MongoDB-wire server (database
/// `database`), Redis (keys under `key_prefix`) and the S3 bucket. The real set and the
/// production process are configured with them.
pub fn test_servers_env(database: &str, key_prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("BAZAAR_MONGODB_URL", mongodb_url()),
        ("BAZAAR_MONGODB_DATABASE", database.to_owned()),
        ("BAZAAR_REDIS_URL", redis_url()),
        ("BAZAAR_REDIS_KEY_PREFIX", key_prefix.to_owned()),
        ("BAZAAR_S3_ENDPOINT", env_url("BAZAAR_TEST_S3_URL")),
        ("BAZAAR_S3_REGION", s3_region()),
        ("BAZAAR_S3_BUCKET", env_url("BAZAAR_TEST_S3_BUCKET")),
        (
            "BAZAAR_S3_ACCESS_KEY_ID",
            env_url("BAZAAR_TEST_S3_ACCESS_KEY"),
        ),
        (
            "BAZAAR_S3_SECRET_ACCESS_KEY",
            env_url("BAZAAR_TEST_S3_SECRET_KEY"),
        ),
        ("BAZAAR_S3_PATH_STYLE", "true".to_owned()),
    ]
}

/// The test S3 server's region (`BAZAAR_TEST_S3_REGION`, `us-east-1` if unset).
fn s3_region() -> String {
    std::env::var("BAZAAR_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into())
}

/// A client of the S3 server `make test` provides (SeaweedFS), configured as the real set
/// and the production process are, for tests that look into the bucket.
pub fn test_bucket() -> S3Client {
    S3Client::new(S3Settings {
        endpoint: env_url("BAZAAR_TEST_S3_URL"),
        region: s3_region(),
        bucket: env_url("BAZAAR_TEST_S3_BUCKET"),
        access_key_id: env_url("BAZAAR_TEST_S3_ACCESS_KEY"),
        secret_access_key: SecretString::from(env_url("BAZAAR_TEST_S3_SECRET_KEY")),
        path_style: true,
        timeout: std::time::Duration::from_secs(5),
        retry: RetryPolicy::default(),
    })
    .expect("the BAZAAR_TEST_S3_* settings are valid")
}

pub async fn mongo_shipping_zones() -> bazaar::store::mongo::MongoShippingZones {
    bazaar::store::mongo::MongoShippingZones::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_coupons() -> bazaar::store::mongo::MongoCoupons {
    bazaar::store::mongo::MongoCoupons::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}
