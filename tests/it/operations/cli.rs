//! The `bazaar` binary: its commands, configuration errors, logs and signals.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bazaar");

/// A `Command` for the binary with no `BAZAAR_*` variables from the test environment.
fn bazaar() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("BAZAAR_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

#[test]
fn openapi_prints_the_contract_without_starting_anything() {
    let yaml = bazaar().arg("openapi").output().unwrap();
    assert!(yaml.status.success());
    assert_eq!(
        String::from_utf8(yaml.stdout).unwrap(),
        bazaar::startup::contract(true)
    );
    let json = bazaar()
        .args(["openapi", "--format", "json"])
        .output()
        .unwrap();
    let value: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["info"]["title"], "Bazaar API");
}

#[test]
fn serve_reports_every_bad_setting_at_once_and_exits_non_zero() {
    let out = bazaar()
        .env("BAZAAR_ADDR", "not-an-address")
        .env("BAZAAR_LOG_FORMAT", "xml")
        .env("BAZAAR_REDIS_URL", "http://user:topsecret@cache")
        .env("BAZAAR_REQUEST_TIMEOUT_MS", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in [
        "BAZAAR_ADDR",
        "BAZAAR_LOG_FORMAT",
        "BAZAAR_REDIS_URL",
        "BAZAAR_REQUEST_TIMEOUT_MS",
    ] {
        assert!(stderr.contains(name), "{name} missing from:\n{stderr}");
    }
    assert!(!stderr.contains("topsecret"), "a secret leaked:\n{stderr}");
}

#[test]
fn production_refuses_in_memory_backends() {
    let out = bazaar()
        .env("BAZAAR_ENV", "production")
        .env("BAZAAR_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("BAZAAR_MONGODB_URL") && stderr.contains("BAZAAR_REDIS_URL"),
        "{stderr}"
    );
}

#[test]
fn json_logs_carry_the_request_id_and_sigterm_stops_cleanly() {
    let mut child = bazaar()
        .env("BAZAAR_ADDR", "127.0.0.1:0")
        .env("BAZAAR_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let value: Value =
                serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
            if tx.send(value).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = Vec::new();
    let api = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the server logs that it listens");
        lines.push(line.clone());
        if line["fields"]["message"] == "Bazaar is listening" {
            break line["fields"]["api"].as_str().unwrap().to_owned();
        }
    };
    let in_memory = lines.iter().any(|l| {
        l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("in-memory backends"))
    });
    assert!(
        in_memory,
        "one clear line says the backends are in memory: {lines:?}"
    );

    let status = blocking_get(&format!("{api}/products?sort=bogus"), "trace-me-7");
    assert_eq!(status, 400);

    send_sigterm(child.id());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful exit after SIGTERM: {exit:?}");
    reader.join().unwrap();
    let rest: Vec<Value> = rx.try_iter().collect();
    let request_lines: Vec<&Value> = rest
        .iter()
        .filter(|l| l["span"]["request_id"] == "trace-me-7")
        .collect();
    assert!(
        request_lines
            .iter()
            .any(|l| l["fields"]["message"] == "request finished" && l["fields"]["status"] == 400),
        "the access log line carries the request id: {rest:?}"
    );
}

fn send_sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A blocking GET with a request id, on a throwaway runtime.
fn blocking_get(url: &str, request_id: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .header("x-request-id", request_id)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}
