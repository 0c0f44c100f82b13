//! The GraphQL-over-HTTP compliance audit from the `graphql-http` reference implementation, run with
//! node against the real daemon. `scripts/test` installs it into tests/audit/node_modules.

use crate::harness::{Daemon, repo_root};
use serde_json::Value;

#[tokio::test]
async fn graphql_over_http_audit_has_no_must_failure() {
    let d = Daemon::start();
    let dir = repo_root().join("tests/audit");
    assert!(
        dir.join("node_modules/graphql-http").exists(),
        "the audit is not installed: run `npm ci --prefix tests/audit` (scripts/test does this)"
    );
    let out = tokio::process::Command::new("node")
        .arg(dir.join("audit.mjs"))
        .arg(d.url("/graphql"))
        .arg(d.admin_token())
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("audit json");
    assert!(
        results.len() >= 40,
        "the audit ran only {} checks",
        results.len()
    );
    let must_failures: Vec<&Value> = results
        .iter()
        .filter(|r| {
            r["name"].as_str().is_some_and(|n| n.starts_with("MUST")) && r["status"] != "ok"
        })
        .collect();
    assert!(
        must_failures.is_empty(),
        "MUST failures: {must_failures:#?}"
    );
    let others: Vec<&Value> = results.iter().filter(|r| r["status"] != "ok").collect();
    assert!(
        others.is_empty(),
        "SHOULD/MAY audits not passing: {others:#?}"
    );
}
