//! Documents that would cost far more than they weigh are refused before the engine expands them.

use crate::harness::{Daemon, code};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_fragment_bomb_is_refused_in_milliseconds_and_the_daemon_stays_free() {
    let d = Daemon::start();
    let reader = d.token("read_only", &["default"]);
    let mut q = String::from("fragment F0 on Query { viewer { role } }\n");
    for i in 1..=8 {
        let spreads: Vec<String> = (0..10).map(|_| format!("...F{}", i - 1)).collect();
        q.push_str(&format!(
            "fragment F{i} on Query {{ {} }}\n",
            spreads.join(" ")
        ));
    }
    q.push_str("query { ...F8 }");
    assert!(q.len() < 1000, "{} bytes", q.len());
    let started = Instant::now();
    let (status, body) = d.gql(Some(&reader), &q, json!({})).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(took < Duration::from_millis(500), "refused after {took:?}");
    // The daemon is not busy expanding it behind the answer.
    let started = Instant::now();
    let data = d.ok(&reader, "{ viewer { role } }", json!({})).await;
    assert_eq!(data["viewer"]["role"], "read_only");
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn a_thousand_aliased_mutations_are_refused_before_any_runs() {
    let d = Daemon::start();
    let admin = d.admin_token();
    let fields: String = (0..1000)
        .map(|i| {
            format!(
                "w{i}: createWorkspace(input: {{slug: \"alias-{i}\", name: \"A\", timezone: \"UTC\", currency: \"USD\"}}) {{ id }}\n"
            )
        })
        .collect();
    let (status, body) = d
        .gql(Some(&admin), &format!("mutation {{ {fields} }}"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    let data = d.ok(&admin, "{ workspaces { slug } }", json!({})).await;
    assert_eq!(
        data["workspaces"].as_array().map(Vec::len),
        Some(1),
        "{data}"
    );
}

#[tokio::test]
async fn a_list_without_first_costs_the_default_page_size() {
    let d = crate::harness::Daemon::start_with(crate::harness::Opts {
        config: Some("[graphql]\ndefault_page_size = 2\nmax_complexity = 40\n".into()),
        ..crate::harness::Opts::default()
    });
    let admin = d.admin_token();
    // Two rows are fetched, so two rows are counted: 2 × (edges, node, id, title, cursor…) fits in 40,
    // where counting 50 rows would refuse it.
    let data = d
        .ok(
            &admin,
            r#"{ workspace(slug: "default") { products { edges { cursor node { id title } } } } }"#,
            json!({}),
        )
        .await;
    assert!(data["workspace"]["products"]["edges"].is_array(), "{data}");
}
