//! HTTP surface: GraphQL over HTTP (GET and POST, JSON and graphql-response+json), WebSocket subscriptions,
//! health, readiness and Prometheus metrics. The GraphQL endpoint is written by hand rather than taken from
//! async-graphql-poem because the stock one executes mutations sent by GET or as `text/plain` (a CSRF hole)
//! and cannot answer 401 before parsing.

use crate::error::classify_engine_error;
use crate::schema::AppSchema;
use crate::schema_catalog_loader;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{ServerError, Variables};
use async_graphql_poem::GraphQLProtocol;
use creatorflow_core::{ErrorCode, Principal};
use creatorflow_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use poem::http::{Method, StatusCode, header};
use poem::web::websocket::WebSocket;
use poem::{Endpoint, EndpointExt, FromRequest, IntoResponse, Request, Response, Route, get};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const JSON: &str = "application/json; charset=utf-8";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";

/// Everything the routes need, shared by all requests.
pub struct ApiState {
    pub schema: AppSchema,
    pub store: Store,
    pub metrics: PrometheusHandle,
    pub graphiql: bool,
    pub request_timeout: Duration,
    /// Largest request body read (`graphql.max_body_bytes`).
    pub max_body_bytes: usize,
    /// Checked on the parsed document before the engine validates it.
    pub document_limits: crate::limits::DocumentLimits,
    pub ws: crate::ws::WsLimits,
    /// Takes webhook deliveries.
    pub sync: creatorflow_sync::SyncEngine,
    /// Largest webhook body read (`sync.webhook_max_body_bytes`).
    pub max_webhook_bytes: usize,
}

pub fn routes(state: Arc<ApiState>) -> impl Endpoint<Output = Response> {
    let gql = {
        let state = state.clone();
        poem::endpoint::make(move |req: Request| {
            let state = state.clone();
            async move { Ok::<_, poem::Error>(graphql(&state, req).await) }
        })
    };
    let ws = {
        let state = state.clone();
        poem::endpoint::make(move |req: Request| {
            let state = state.clone();
            async move { subscriptions(state, req).await }
        })
    };
    let ready = {
        let state = state.clone();
        poem::endpoint::make(move |_req: Request| {
            let state = state.clone();
            async move { Ok::<_, poem::Error>(readyz(&state).await) }
        })
    };
    let metrics = {
        let state = state.clone();
        poem::endpoint::make_sync(move |_req: Request| render_metrics(&state))
    };
    let webhook = {
        let state = state.clone();
        poem::endpoint::make(move |req: Request| {
            let state = state.clone();
            async move { Ok::<_, poem::Error>(webhook(&state, req).await) }
        })
    };
    let enabled = state.graphiql;
    let graphiql = move || poem::endpoint::make_sync(move |_req: Request| graphiql_page(enabled));
    Route::new()
        .at("/", get(graphiql()))
        .at("/graphiql", get(graphiql()))
        .at("/graphql", gql)
        .at("/graphql/ws", get(ws))
        .at("/healthz", get(poem::endpoint::make_sync(|_| healthz())))
        .at("/readyz", get(ready))
        .at("/metrics", get(metrics))
        .at("/webhooks/:connection", poem::post(webhook))
        .around(observe)
}

/// Request id, a span per request and request metrics.
async fn observe<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    // Labels must come from a closed set: an invented method would add a metric series forever.
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    };
    let path = req.uri().path().to_owned();
    let route = match path.as_str() {
        "/" | "/graphiql" | "/graphql" | "/graphql/ws" | "/healthz" | "/readyz" | "/metrics" => {
            path.clone()
        }
        _ => "other".to_owned(),
    };
    let span = tracing::info_span!("http.request", request_id = %request_id, method = %method, path = %path);
    let result = tracing::Instrument::instrument(ep.call(req), span.clone()).await;
    let mut resp = match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    if let Ok(v) = header::HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    metrics::counter!("creatorflow_http_requests_total", "route" => route.clone(), "method" => method, "status" => status.to_string()).increment(1);
    metrics::histogram!("creatorflow_http_request_duration_seconds", "route" => route)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::debug!(
            status,
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            "Request finished"
        )
    });
    Ok(resp)
}

fn healthz() -> Response {
    json_response(StatusCode::OK, JSON, &json!({"status": "ok"}))
}

/// Readiness for load balancers; unauthenticated, so the answer never carries error text (which can name
/// hosts, users or paths): the detail goes to the log.
async fn readyz(state: &ApiState) -> Response {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "Readiness check: the database is unreachable");
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            JSON,
            &json!({"status": "unavailable", "reason": "database unreachable"}),
        );
    }
    match state.store.pending_migrations().await {
        Ok(0) => json_response(StatusCode::OK, JSON, &json!({"status": "ready"})),
        Ok(n) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            JSON,
            &json!({"status": "unavailable", "reason": format!("{n} migration(s) pending; run `creatorflow migrate`")}),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "Readiness check: cannot read the migration state");
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                JSON,
                &json!({"status": "unavailable", "reason": "cannot read the migration state"}),
            )
        }
    }
}

fn render_metrics(state: &ApiState) -> Response {
    let (size, idle) = state.store.pool_stats();
    metrics::gauge!("creatorflow_db_pool_connections").set(f64::from(size));
    metrics::gauge!("creatorflow_db_pool_idle_connections").set(idle as f64);
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

fn graphiql_page(enabled: bool) -> Response {
    if !enabled {
        return StatusCode::NOT_FOUND.into_response();
    }
    let html = async_graphql::http::GraphiQLSource::build()
        .endpoint("/graphql")
        .subscription_endpoint("/graphql/ws")
        .header(
            "Authorization",
            "Bearer <paste the token from <data-dir>/admin.token>",
        )
        .title("CreatorFlow GraphQL")
        .finish();
    Response::builder()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

fn json_response(status: StatusCode, content_type: &str, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .content_type(content_type)
        .body(body.to_string())
}

fn error_body(code: ErrorCode, message: &str) -> Value {
    json!({"errors": [{"message": message, "extensions": {"code": code.as_str(), "hint": code.hint()}}]})
}

fn error_response(
    status: StatusCode,
    content_type: &str,
    code: ErrorCode,
    message: &str,
) -> Response {
    json_response(status, content_type, &error_body(code, message))
}

/// The media type to answer with, from the Accept header; `None` when we can produce none of them.
fn negotiate(req: &Request) -> Option<&'static str> {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Some(JSON);
    };
    let accept = accept.to_ascii_lowercase();
    if accept.contains("application/graphql-response+json") {
        Some(GRAPHQL_RESPONSE)
    } else if accept.contains("application/json")
        || accept.contains("*/*")
        || accept.contains("application/*")
    {
        Some(JSON)
    } else {
        None
    }
}

fn bearer(req: &Request) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

pub(crate) async fn authenticate(
    store: &Store,
    token: Option<&str>,
) -> Result<Principal, (StatusCode, ErrorCode, String)> {
    let Some(token) = token else {
        return Err((
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "missing bearer token".into(),
        ));
    };
    match store.authenticate(token).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err((
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "invalid or revoked token".into(),
        )),
        Err(e) => {
            tracing::error!(error = %e, "Token lookup failed");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "cannot check the token right now".into(),
            ))
        }
    }
}

/// The GraphQL-over-HTTP parameters, checked for shape before anything runs.
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Option<Value>,
}

fn params_from_json(v: Value) -> Result<Params, String> {
    let Value::Object(mut m) = v else {
        return Err("the request body must be a JSON object".into());
    };
    let query = match m.remove("query") {
        Some(Value::String(q)) => q,
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("`query` is required".into()),
    };
    let operation_name = match m.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("`operationName` must be a string or null".into()),
    };
    let variables = match m.remove("variables") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v),
        Some(_) => return Err("`variables` must be an object or null".into()),
    };
    match m.remove("extensions") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Err("`extensions` must be an object or null".into()),
    }
    Ok(Params {
        query,
        operation_name,
        variables,
    })
}

fn params_from_query_string(qs: &str) -> Result<Params, String> {
    let pairs: HashMap<String, String> =
        serde_urlencoded::from_str(qs).map_err(|e| format!("malformed query string: {e}"))?;
    let mut obj = serde_json::Map::new();
    for (k, v) in pairs {
        let value = match k.as_str() {
            "variables" | "extensions" => {
                serde_json::from_str(&v).map_err(|e| format!("`{k}` is not valid JSON: {e}"))?
            }
            _ => Value::String(v),
        };
        obj.insert(k, value);
    }
    params_from_json(Value::Object(obj))
}

fn is_json_content_type(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

async fn graphql(state: &ApiState, mut req: Request) -> Response {
    let Some(media) = negotiate(&req) else {
        return error_response(
            StatusCode::NOT_ACCEPTABLE,
            JSON,
            ErrorCode::BadUserInput,
            "accept application/graphql-response+json or application/json",
        );
    };
    let strict = media == GRAPHQL_RESPONSE;
    let is_get = req.method() == Method::GET;
    if !is_get && req.method() != Method::POST {
        return Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET, POST")
            .content_type(media)
            .body(error_body(ErrorCode::BadUserInput, "use GET or POST").to_string());
    }
    let principal = match authenticate(&state.store, bearer(&req).as_deref()).await {
        Ok(p) => p,
        Err((status, code, msg)) => {
            let mut resp = error_response(status, media, code, &msg);
            if status == StatusCode::UNAUTHORIZED {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            return resp;
        }
    };
    if !is_get && !is_json_content_type(&req) {
        // Browsers send form and text/plain POSTs cross-site without a preflight: never run them.
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            ErrorCode::CsrfRefused,
            "POST requests must have `Content-Type: application/json`",
        );
    }
    let params = if is_get {
        params_from_query_string(req.uri().query().unwrap_or(""))
    } else {
        let bytes = match req.take_body().into_bytes_limit(state.max_body_bytes).await {
            Ok(b) => b,
            Err(poem::error::ReadBodyError::PayloadTooLarge) => {
                return error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    media,
                    ErrorCode::BadUserInput,
                    &format!(
                        "the request body is larger than {} bytes (graphql.max_body_bytes)",
                        state.max_body_bytes
                    ),
                );
            }
            Err(e) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    media,
                    ErrorCode::BadUserInput,
                    &e.to_string(),
                );
            }
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => params_from_json(v),
            Err(e) => Err(format!("the request body is not valid JSON: {e}")),
        }
    };
    let params = match params {
        Ok(p) => p,
        Err(msg) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                media,
                ErrorCode::BadUserInput,
                &msg,
            );
        }
    };

    let mut gql = async_graphql::Request::new(params.query);
    if let Some(name) = params.operation_name {
        gql = gql.operation_name(name);
    }
    if let Some(vars) = params.variables {
        gql = gql.variables(Variables::from_json(vars));
    }
    let op_name = gql.operation_name.clone();
    let op_type = match gql.parsed_query() {
        Ok(doc) => {
            if let Err((code, msg)) = crate::limits::check(doc, &state.document_limits) {
                let status = if strict {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::OK
                };
                return error_response(status, media, code, &msg);
            }
            selected_operation(&doc.operations, op_name.as_deref())
        }
        Err(e) => {
            let status = if strict {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            return error_response(status, media, ErrorCode::GraphqlParseFailed, &e.message);
        }
    };
    if is_get && op_type != Some(OperationType::Query) {
        return Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "POST")
            .content_type(media)
            .body(
                error_body(
                    ErrorCode::CsrfRefused,
                    "only queries may be sent with GET; send mutations with POST and a JSON body",
                )
                .to_string(),
            );
    }
    let gql = gql
        .data(principal)
        .data(schema_catalog_loader(state.store.clone()));
    let op_label = match op_type {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        _ => "query",
    };
    let resp = match tokio::time::timeout(state.request_timeout, state.schema.execute(gql)).await {
        Ok(r) => r,
        Err(_) => {
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                media,
                ErrorCode::Unavailable,
                "the request took longer than server.request_timeout_secs",
            );
        }
    };
    metrics::counter!("creatorflow_graphql_operations_total", "type" => op_label, "outcome" => if resp.errors.is_empty() { "ok" } else { "error" }).increment(1);
    let rejected_before_execution =
        resp.data == async_graphql::Value::Null && !resp.errors.is_empty();
    let mut errors = resp.errors;
    for e in &mut errors {
        add_code(e);
    }
    let mut body = serde_json::Map::new();
    if !(strict && rejected_before_execution) {
        body.insert(
            "data".into(),
            serde_json::to_value(&resp.data).unwrap_or(Value::Null),
        );
    }
    if !errors.is_empty() {
        body.insert(
            "errors".into(),
            serde_json::to_value(&errors).unwrap_or(Value::Null),
        );
    }
    if !resp.extensions.is_empty() {
        body.insert(
            "extensions".into(),
            serde_json::to_value(&resp.extensions).unwrap_or(Value::Null),
        );
    }
    let status = if strict && rejected_before_execution {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response(status, media, &Value::Object(body))
}

pub(crate) fn selected_operation(
    ops: &DocumentOperations,
    name: Option<&str>,
) -> Option<OperationType> {
    match (ops, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(map), Some(name)) => map
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op.node.ty),
        (DocumentOperations::Multiple(map), None) if map.len() == 1 => {
            map.values().next().map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Engine errors (validation, limits) carry no code; give them one from the table.
fn add_code(e: &mut ServerError) {
    let has_code = e
        .extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some());
    if !has_code {
        let code = classify_engine_error(&e.message);
        let ext = e.extensions.get_or_insert_with(Default::default);
        ext.set("code", code.as_str());
        ext.set("hint", code.hint());
    }
}

/// WebSocket subscriptions (graphql-transport-ws and the legacy graphql-ws), served by [`crate::ws::drive`]
/// with its limits. The token comes in the `connection_init` payload as `{"Authorization": "Bearer …"}` or
/// `{"token": "…"}`.
async fn subscriptions(state: Arc<ApiState>, req: Request) -> poem::Result<Response> {
    let Ok(slot) = state.ws.sockets.clone().try_acquire_owned() else {
        return Ok(error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            JSON,
            ErrorCode::Unavailable,
            "too many open WebSockets (graphql.max_websockets); retry later",
        ));
    };
    let (req, mut body) = req.split();
    let max = state.ws.max_message_bytes;
    let websocket = WebSocket::from_request(&req, &mut body).await?.config(
        poem::web::websocket::WebSocketConfig::default()
            .max_message_size(Some(max))
            .max_frame_size(Some(max)),
    );
    let protocol = GraphQLProtocol::from_request(&req, &mut body).await?;
    Ok(websocket
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| crate::ws::drive(state, stream, protocol.0, slot))
        .into_response())
}

/// `POST /webhooks/{connection}`: the connection's connector verifies and parses the delivery; the answer is
/// 2xx only after its changes are committed. The body is read whole (signatures cover the raw bytes) up to
/// `sync.webhook_max_body_bytes`.
async fn webhook(state: &ApiState, mut req: Request) -> Response {
    let received_at = chrono::Utc::now();
    let reply = |status: StatusCode, outcome: &str, message: &str| {
        Response::builder()
            .status(status)
            .content_type(JSON)
            .body(json!({"outcome": outcome, "message": message}).to_string())
    };
    let id = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|id| *id > 0);
    let Some(id) = id else {
        return reply(
            StatusCode::NOT_FOUND,
            "unknown_connection",
            "no such connection",
        );
    };
    let headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let body = match req
        .take_body()
        .into_bytes_limit(state.max_webhook_bytes)
        .await
    {
        Ok(b) => b.to_vec(),
        Err(poem::error::ReadBodyError::PayloadTooLarge) => {
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                &format!(
                    "the body is larger than {} bytes (sync.webhook_max_body_bytes)",
                    state.max_webhook_bytes
                ),
            );
        }
        Err(e) => return reply(StatusCode::BAD_REQUEST, "malformed", &e.to_string()),
    };
    let answer = state
        .sync
        .webhook(creatorflow_sync::Delivery {
            connection_id: creatorflow_core::ConnectionId(id),
            headers,
            body,
            received_at,
        })
        .await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    reply(status, answer.outcome, &answer.message)
}
