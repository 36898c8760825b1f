//! The real binary's life: SIGTERM drains it the way a load balancer needs.

use std::time::{Duration, Instant};

use crate::kit::process::Bazaar;

#[tokio::test]
async fn sigterm_turns_readiness_down_keeps_serving_for_the_delay_then_exits_cleanly() {
    let mut bazaar = Bazaar::start(
        "sigterm",
        &[
            ("BAZAAR_SHUTDOWN_DELAY_MS", "1500"),
            ("BAZAAR_SHUTDOWN_TIMEOUT_MS", "5000"),
        ],
    )
    .await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let began = Instant::now();
    bazaar.terminate();
    // The signal arrives asynchronously: poll until readiness turns.
    loop {
        let ready = client
            .get(bazaar.url("/health/ready"))
            .send()
            .await
            .unwrap();
        if ready.status() == 503 {
            assert_eq!(ready.headers()["retry-after"], "1");
            let body: serde_json::Value = ready.json().await.unwrap();
            assert_eq!(body["code"], "shutting_down");
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "readiness did not turn 503"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let products = client
        .get(bazaar.url("/api/v1/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        products.status(),
        200,
        "requests are still served while draining"
    );

    assert!(
        bazaar.wait_exit(Duration::from_secs(10)).await,
        "exit code 0"
    );
    assert!(
        began.elapsed() >= Duration::from_millis(1500),
        "the listener stayed open for the delay"
    );
}
