//! The collector over HTTPS with a certificate the client trusts, and a
//! client that does not trust it is refused at the handshake.

use std::time::Duration;

use nightjar_collector::{CollectorConfig, start, tokens};

#[tokio::test]
async fn heartbeat_over_https_and_untrusted_clients_fail_the_handshake() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("collector.crt"), dir.path().join("collector.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let state = dir.path().join("state");
    let token = tokens::add_sensor(&state, "s1").unwrap();
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"), state);
    config.tls_cert = Some(cert);
    config.tls_key = Some(key);
    config.check().unwrap();
    let collector = start(config).await.unwrap();
    let url = format!("https://localhost:{}/v1/heartbeat", collector.addr.port());

    let trusted = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap()])
        .resolve("localhost", collector.addr)
        .build()
        .unwrap();
    let response =
        trusted.post(&url).bearer_auth(&token).json(&serde_json::json!({"sensor": "s1"})).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);

    let untrusted = reqwest::Client::builder().resolve("localhost", collector.addr).build().unwrap();
    let error = untrusted.post(&url).bearer_auth(&token).send().await.unwrap_err();
    assert!(error.is_connect(), "an unknown certificate fails the connection: {error}");
    collector.shutdown(Duration::from_secs(5)).await.unwrap();
}
