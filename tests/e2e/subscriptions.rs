//! WebSocket subscriptions over both protocols, authenticated in `connection_init`.

use crate::harness::Daemon;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(d: &Daemon, protocol: &str) -> Ws {
    let url = d.url("/graphql/ws").replace("http://", "ws://");
    let mut req = url.into_client_request().expect("request");
    req.headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().expect("header"));
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some(protocol)
    );
    ws
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

/// The next JSON message, skipping keep-alives; `None` when the server closed the socket.
async fn next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(wait, ws.next()).await.ok()??.ok()?;
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).expect("json");
                if v["type"] == "ka" || v["type"] == "ping" || v["type"] == "pong" {
                    continue;
                }
                return Some(v);
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

const SUB: &str =
    r#"subscription { connectionChanged(workspace: "default") { workspace connectionId status } }"#;

async fn create_connection(d: &Daemon, name: &str) -> String {
    let v = d
        .ok(
            &d.admin_token(),
            "mutation($n: String!) { createConnection(input: {workspace: \"default\", kind: \"manual\", name: $n}) { id } }",
            json!({"n": name}),
        )
        .await;
    v["createConnection"]["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn graphql_transport_ws_delivers_committed_changes() {
    let d = Daemon::start();
    let mut ws = connect(&d, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", d.admin_token())}})).await;
    assert_eq!(
        next(&mut ws, Duration::from_secs(5)).await.expect("ack")["type"],
        "connection_ack"
    );
    send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query": SUB}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = create_connection(&d, "first").await;
    let msg = next(&mut ws, Duration::from_secs(5)).await.expect("next");
    assert_eq!(msg["type"], "next");
    assert_eq!(msg["id"], "1");
    assert_eq!(
        msg["payload"]["data"]["connectionChanged"],
        json!({"workspace": "default", "connectionId": id, "status": "active"})
    );
    // A rejected mutation publishes nothing.
    let (_, dup) = d
        .gql(
            Some(&d.admin_token()),
            r#"mutation { createConnection(input: {workspace: "default", kind: "bogus", name: "x"}) { id } }"#,
            json!({}),
        )
        .await;
    assert!(dup["errors"].is_array());
    assert!(next(&mut ws, Duration::from_millis(500)).await.is_none());
}

#[tokio::test]
async fn legacy_graphql_ws_protocol_works_too() {
    let d = Daemon::start();
    let mut ws = connect(&d, "graphql-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"token": d.admin_token()}}),
    )
    .await;
    assert_eq!(
        next(&mut ws, Duration::from_secs(5)).await.expect("ack")["type"],
        "connection_ack"
    );
    send(
        &mut ws,
        json!({"id": "7", "type": "start", "payload": {"query": SUB}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = create_connection(&d, "legacy").await;
    let msg = next(&mut ws, Duration::from_secs(5)).await.expect("data");
    assert_eq!(msg["type"], "data");
    assert_eq!(
        msg["payload"]["data"]["connectionChanged"]["connectionId"],
        id
    );
}

#[tokio::test]
async fn subscriptions_need_a_token_and_stay_inside_its_workspaces() {
    let d = Daemon::start();
    let mut ws = connect(&d, "graphql-transport-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": "Bearer cf_wrong"}}),
    )
    .await;
    // Refused with the protocol's 4401, not acknowledged and not left silent.
    let refused = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("an answer in time");
    match refused {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4401),
        other => panic!("a bad token must close the socket with 4401: {other:?}"),
    }

    d.ok(
        &d.admin_token(),
        r#"mutation { createWorkspace(input: {slug: "other", name: "Other"}) { id } }"#,
        json!({}),
    )
    .await;
    let other = d.token("read_only", &["other"]);
    let mut ws = connect(&d, "graphql-transport-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {other}")}}),
    )
    .await;
    assert_eq!(
        next(&mut ws, Duration::from_secs(5)).await.expect("ack")["type"],
        "connection_ack"
    );
    send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query": SUB}}),
    )
    .await;
    let msg = next(&mut ws, Duration::from_secs(5)).await.expect("error");
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{msg}"
    );
    assert!(msg["payload"]["data"].is_null(), "{msg}");
    create_connection(&d, "hidden").await;
    while let Some(m) = next(&mut ws, Duration::from_millis(500)).await {
        assert_eq!(
            m["type"], "complete",
            "nothing of another workspace may arrive: {m}"
        );
    }
}
