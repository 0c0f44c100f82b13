//! WebSocket limits and refusals, with the graphql-transport-ws close codes.

use crate::harness::{Daemon, Opts, Ws, ws_next, ws_send};
use futures_util::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn fast() -> Opts {
    Opts {
        config: Some(
            "[graphql]\nwebsocket_init_timeout_secs = 1\nwebsocket_token_recheck_secs = 1\nmax_operations_per_socket = 2\n"
                .into(),
        ),
        ..Opts::default()
    }
}

async fn open(d: &Daemon) -> Ws {
    let url = d.url("/graphql/ws").replace("http://", "ws://");
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    tokio_tungstenite::connect_async(req)
        .await
        .expect("connect")
        .0
}

/// The close code the server ends the socket with, skipping other messages.
async fn close_code(ws: &mut Ws, wait: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

#[tokio::test]
async fn a_socket_that_never_authenticates_is_closed_with_4408() {
    let d = Daemon::start_with(fast());
    let mut ws = open(&d).await;
    let started = Instant::now();
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(4408)
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn bad_tokens_and_oversized_inits_get_their_close_codes() {
    let d = Daemon::start_with(fast());
    let mut ws = open(&d).await;
    ws_send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": "Bearer cf_not_a_token"}}),
    )
    .await;
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(4401)
    );

    let mut ws = open(&d).await;
    ws_send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"padding": "x".repeat(20 << 10)}}),
    )
    .await;
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(4400)
    );

    // The scheme is case-insensitive, as over HTTP.
    let mut ws = open(&d).await;
    ws_send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": format!("bearer {}", d.admin_token())}}),
    )
    .await;
    let ack = ws_next(&mut ws, Duration::from_secs(5)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack");
}

#[tokio::test]
async fn a_revoked_token_is_cut_off_within_seconds() {
    let d = Daemon::start_with(fast());
    let token = d.token("read_only", &["default"]);
    let mut ws = d
        .ws_subscribe(
            &token,
            r#"subscription { connectionChanged(workspace: "default") { status } }"#,
        )
        .await;
    let id = d.newest_token_id("read_only");
    assert!(d.cli(&["token", "revoke", &id]).status.success());
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(4403)
    );
}

#[tokio::test]
async fn only_subscriptions_run_over_a_socket_and_operations_are_capped() {
    let d = Daemon::start_with(fast());
    let admin = d.admin_token();
    let mut ws = d
        .ws_subscribe(
            &admin,
            r#"subscription { connectionChanged(workspace: "default") { status } }"#,
        )
        .await;
    ws_send(
        &mut ws,
        json!({"id": "m", "type": "subscribe", "payload": {"query": "mutation { createWorkspace(input: {slug: \"over-ws\", name: \"W\"}) { id } }"}}),
    )
    .await;
    let reply = ws_next(&mut ws, Duration::from_secs(5))
        .await
        .expect("reply");
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["id"], "m");
    assert_eq!(reply["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let data = d.ok(&admin, "{ workspaces { slug } }", json!({})).await;
    assert_eq!(
        data["workspaces"],
        json!([{"slug": "default"}]),
        "nothing ran"
    );

    let sub = r#"subscription { connectionChanged(workspace: "default") { status } }"#;
    ws_send(
        &mut ws,
        json!({"id": "2", "type": "subscribe", "payload": {"query": sub}}),
    )
    .await;
    ws_send(
        &mut ws,
        json!({"id": "3", "type": "subscribe", "payload": {"query": sub}}),
    )
    .await;
    let reply = ws_next(&mut ws, Duration::from_secs(5))
        .await
        .expect("reply");
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["id"], "3");
}
