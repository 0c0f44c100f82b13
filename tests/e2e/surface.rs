//! What an unauthenticated client can make the daemon keep or say: metric labels from a closed set.

use crate::harness::Daemon;

#[tokio::test]
async fn invented_http_methods_share_one_metric_label() {
    let d = Daemon::start();
    let client = reqwest::Client::new();
    for i in 0..5 {
        let method =
            reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).expect("method");
        let resp = client
            .request(method, d.url("/graphql"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 405);
    }
    let metrics = reqwest::get(d.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(!metrics.contains("INVENTED"), "{metrics}");
    assert!(
        metrics.contains(r#"method="OTHER""#),
        "unknown methods are counted as OTHER: {metrics}"
    );
}
