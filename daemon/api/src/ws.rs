//! GraphQL over WebSocket with the limits a public endpoint needs. async-graphql speaks the protocols; this
//! driver stands between it and the socket so that:
//! - a socket must authenticate (`connection_init`) within a deadline, with a small message-size limit until
//!   it has; refusals close with the graphql-transport-ws codes (4401 bad token, 4403 forbidden or revoked,
//!   4408 init timeout, 4400 bad message, 4429 too many operations);
//! - the token is checked again every few seconds, so a revoked token is cut off with 4403;
//! - only subscriptions run over a socket: queries and mutations belong on `POST /graphql`, where the request
//!   timeout and body limit apply;
//! - open sockets and operations per socket are capped.

use crate::http::{ApiState, authenticate};
use async_graphql::http::{WebSocketProtocols as Protocols, WsMessage};
use async_graphql::parser::types::OperationType;
use creatorflow_core::ErrorCode;
use futures_util::{SinkExt, StreamExt};
use poem::web::websocket::{CloseCode, Message, WebSocketStream};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// Largest message accepted before the socket has authenticated.
pub const PRE_AUTH_MESSAGE_BYTES: usize = 16 << 10;

/// WebSocket limits, from `[graphql]`.
#[derive(Debug, Clone)]
pub struct WsLimits {
    pub sockets: Arc<tokio::sync::Semaphore>,
    pub max_operations: usize,
    pub init_timeout: Duration,
    pub token_recheck: Duration,
    pub max_message_bytes: usize,
}

/// What `connection_init` decided, kept for the driver: the token to re-check, or the code to close with.
#[derive(Default)]
struct InitOutcome {
    token: Option<String>,
    refused: Option<ErrorCode>,
}

fn close_code(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::Unauthenticated => 4401,
        ErrorCode::Forbidden => 4403,
        _ => 4400,
    }
}

/// Serves one upgraded socket until either side closes it.
pub(crate) async fn drive(
    state: Arc<ApiState>,
    socket: WebSocketStream,
    protocol: Protocols,
    _slot: OwnedSemaphorePermit,
) {
    let limits = state.ws.clone();
    let (mut sink, mut incoming) = socket.split();
    let (to_engine, engine_input) = tokio::sync::mpsc::channel::<String>(16);
    let outcome = Arc::new(Mutex::new(InitOutcome::default()));
    let engine = {
        let store = state.store.clone();
        let outcome = outcome.clone();
        async_graphql::http::WebSocket::new(
            state.schema.clone(),
            tokio_stream_of(engine_input),
            protocol,
        )
        .on_connection_init(move |payload| async move {
            let token = payload_token(&payload);
            match authenticate(&store, token.as_deref()).await {
                Ok(p) => {
                    lock(&outcome).token = token;
                    let mut data = async_graphql::Data::default();
                    data.insert(p);
                    data.insert(crate::schema_catalog_loader(store));
                    Ok(data)
                }
                Err((_, code, msg)) => {
                    lock(&outcome).refused = Some(code);
                    Err(crate::error::gql_error(code, msg))
                }
            }
        })
    };
    let mut engine = Box::pin(engine);
    let init_deadline = tokio::time::sleep(limits.init_timeout);
    tokio::pin!(init_deadline);
    let mut recheck = tokio::time::interval(limits.token_recheck);
    recheck.tick().await;
    let mut acked = false;
    let mut operations: HashSet<String> = HashSet::new();
    let close =
        |code: u16, reason: &str| Message::Close(Some((CloseCode::from(code), reason.to_owned())));
    loop {
        tokio::select! {
            () = &mut init_deadline, if !acked => {
                let _ = sink.send(close(4408, "connection initialisation timeout")).await;
                break;
            }
            _ = recheck.tick(), if acked => {
                let token = lock(&outcome).token.clone();
                if let Err((_, code, _)) = authenticate(&state.store, token.as_deref()).await
                    && matches!(code, ErrorCode::Unauthenticated | ErrorCode::Forbidden)
                {
                    let _ = sink.send(close(4403, "the token is no longer valid")).await;
                    break;
                }
            }
            message = incoming.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        let _ = sink.send(close(4400, "binary messages are not supported")).await;
                        break;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                };
                let limit = if acked { limits.max_message_bytes } else { PRE_AUTH_MESSAGE_BYTES };
                if text.len() > limit {
                    let _ = sink.send(close(4400, &format!("message larger than {limit} bytes"))).await;
                    break;
                }
                match screen(&text, acked, &mut operations, limits.max_operations, protocol) {
                    Screen::Forward => {
                        if to_engine.send(text).await.is_err() {
                            break;
                        }
                    }
                    Screen::Reply(reply) => {
                        if sink.send(Message::Text(reply)).await.is_err() {
                            break;
                        }
                    }
                    Screen::Close(code, reason) => {
                        let _ = sink.send(close(code, &reason)).await;
                        break;
                    }
                }
            }
            out = engine.next() => match out {
                Some(WsMessage::Text(text)) => {
                    if let Ok(v) = serde_json::from_str::<Value>(&text) {
                        match v["type"].as_str() {
                            Some("connection_ack") => acked = true,
                            Some("complete") => {
                                if let Some(id) = v["id"].as_str() {
                                    operations.remove(id);
                                }
                            }
                            _ => {}
                        }
                    }
                    if sink.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    // The engine closes a refused `connection_init` with 1002; say why, in the protocol's codes.
                    let code = match lock(&outcome).refused {
                        Some(refused) => close_code(refused),
                        None => code,
                    };
                    let _ = sink.send(close(code, &reason)).await;
                    break;
                }
                None => break,
            },
        }
    }
    let _ = sink.close().await;
}

enum Screen {
    Forward,
    Reply(String),
    Close(u16, String),
}

/// Looks at a client message before the engine does: operations must be subscriptions, within the cap.
fn screen(
    text: &str,
    acked: bool,
    operations: &mut HashSet<String>,
    max_operations: usize,
    protocol: Protocols,
) -> Screen {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Screen::Close(4400, "the message is not JSON".into());
    };
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    match v["type"].as_str() {
        Some("subscribe" | "start") => {
            if !acked {
                return Screen::Close(4401, "Unauthorized".into());
            }
            let query = v["payload"]["query"].as_str().unwrap_or_default();
            let op_name = v["payload"]["operationName"].as_str();
            let kind = async_graphql::parser::parse_query(query)
                .ok()
                .and_then(|doc| crate::http::selected_operation(&doc.operations, op_name));
            if let Some(kind) = kind
                && kind != OperationType::Subscription
            {
                return Screen::Reply(error_message(
                    protocol,
                    &id,
                    ErrorCode::BadUserInput,
                    "only subscriptions run over WebSocket; send queries and mutations with POST /graphql",
                ));
            }
            if operations.contains(&id) {
                return Screen::Close(4409, format!("Subscriber for {id} already exists"));
            }
            if operations.len() >= max_operations {
                return Screen::Reply(error_message(
                    protocol,
                    &id,
                    ErrorCode::BadUserInput,
                    &format!(
                        "at most {max_operations} operations may run on one socket (graphql.max_operations_per_socket)"
                    ),
                ));
            }
            operations.insert(id);
            Screen::Forward
        }
        Some("complete" | "stop") => {
            operations.remove(&id);
            Screen::Forward
        }
        _ => Screen::Forward,
    }
}

fn error_message(protocol: Protocols, id: &str, code: ErrorCode, message: &str) -> String {
    let error =
        json!({"message": message, "extensions": {"code": code.as_str(), "hint": code.hint()}});
    match protocol {
        Protocols::GraphQLWS => json!({"id": id, "type": "error", "payload": [error]}),
        Protocols::SubscriptionsTransportWS => json!({"id": id, "type": "error", "payload": error}),
    }
    .to_string()
}

/// The token of a `connection_init` payload: `{"Authorization": "Bearer …"}` (scheme in any case) or
/// `{"token": "…"}`.
pub(crate) fn payload_token(payload: &Value) -> Option<String> {
    let obj = payload.as_object()?;
    for key in ["Authorization", "authorization"] {
        if let Some(v) = obj.get(key).and_then(Value::as_str) {
            let v = v.trim();
            return Some(match v.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    token.trim().to_owned()
                }
                _ => v.to_owned(),
            });
        }
    }
    obj.get("token").and_then(Value::as_str).map(str::to_owned)
}

fn lock(m: &Mutex<InitOutcome>) -> std::sync::MutexGuard<'_, InitOutcome> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<String>,
) -> impl futures_util::Stream<Item = String> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Used by tests of the payload parsing.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in ["Bearer abc", "bearer abc", "BEARER  abc ", "abc"] {
            assert_eq!(
                payload_token(&json!({"Authorization": header})).as_deref(),
                Some("abc"),
                "{header}"
            );
        }
        assert_eq!(
            payload_token(&json!({"token": "abc"})).as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn queries_and_mutations_are_refused_and_operations_capped() {
        let mut ops = HashSet::new();
        let sub = |id: &str, q: &str| {
            json!({"id": id, "type": "subscribe", "payload": {"query": q}}).to_string()
        };
        assert!(matches!(
            screen(
                &sub("1", "subscription { x }"),
                false,
                &mut ops,
                2,
                Protocols::GraphQLWS
            ),
            Screen::Close(4401, _)
        ));
        assert!(matches!(
            screen(
                &sub("1", "mutation { x }"),
                true,
                &mut ops,
                2,
                Protocols::GraphQLWS
            ),
            Screen::Reply(_)
        ));
        assert!(matches!(
            screen(
                &sub("1", "subscription { x }"),
                true,
                &mut ops,
                2,
                Protocols::GraphQLWS
            ),
            Screen::Forward
        ));
        assert!(matches!(
            screen(
                &sub("2", "subscription { x }"),
                true,
                &mut ops,
                2,
                Protocols::GraphQLWS
            ),
            Screen::Forward
        ));
        assert!(matches!(
            screen(
                &sub("3", "subscription { x }"),
                true,
                &mut ops,
                2,
                Protocols::GraphQLWS
            ),
            Screen::Reply(_)
        ));
    }
}
