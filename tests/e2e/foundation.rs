//! Start-up, health, authentication, CSRF, limits, content negotiation and shutdown.

use crate::harness::{Daemon, Opts, code};
use serde_json::{Value, json};

#[tokio::test]
async fn fresh_start_is_healthy_ready_and_locked() {
    let d = Daemon::start();
    let health = reqwest::get(d.url("/healthz")).await.expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(d.url("/readyz")).await.expect("readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.expect("json")["status"],
        "ready"
    );

    let token_file = d.data_dir.join("admin.token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file)
            .expect("admin.token")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "admin.token must be private");
    }
    assert!(
        !d.log_text().contains(&d.admin_token()),
        "the admin secret must never be logged"
    );
    let data = d
        .ok(
            &d.admin_token(),
            "{ viewer { role global } workspaces { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(data["viewer"], json!({"role": "admin", "global": true}));
    assert_eq!(data["workspaces"], json!([{"slug": "default"}]));

    let (status, body) = d.gql(None, "{ workspaces { slug } }", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert!(
        body["errors"][0]["extensions"]["hint"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
    let (status, body) = d
        .gql(
            Some("cf_not-a-real-token"),
            "{ workspaces { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "UNAUTHENTICATED");

    let metrics = reqwest::get(d.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("creatorflow_build_info"), "{metrics}");
    assert!(metrics.contains(
        "creatorflow_http_requests_total{route=\"/graphql\",method=\"POST\",status=\"401\"}"
    ));
    assert!(metrics.contains("creatorflow_db_pool_connections"));
    assert!(metrics.contains("creatorflow_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn restart_keeps_data_and_does_not_mint_a_second_admin_token() {
    let mut d = Daemon::start();
    let token = d.admin_token();
    d.ok(
        &token,
        r#"mutation { createWorkspace(input: {slug: "keep", name: "Keep"}) { id } }"#,
        json!({}),
    )
    .await;
    assert!(d.stop().success());
    d.spawn();
    assert_eq!(
        d.admin_token(),
        token,
        "a second start must reuse the first token"
    );
    let data = d.ok(&token, "{ workspaces { slug } }", json!({})).await;
    assert_eq!(
        data["workspaces"],
        json!([{"slug": "default"}, {"slug": "keep"}])
    );
    let listing = d.cli(&["token", "list"]);
    let text = String::from_utf8_lossy(&listing.stdout);
    assert_eq!(text.lines().count(), 2, "header plus one token: {text}");
    assert!(
        !text.contains(&token),
        "token list must never print secrets"
    );
}

async fn workspace_count(d: &Daemon) -> usize {
    let data = d
        .ok(&d.admin_token(), "{ workspaces { slug } }", json!({}))
        .await;
    data["workspaces"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn csrf_mutations_by_get_or_simple_posts_are_refused_and_change_nothing() {
    let d = Daemon::start();
    let token = d.admin_token();
    let mutation = r#"mutation { createWorkspace(input: {slug: "evil", name: "Evil"}) { id } }"#;
    let before = workspace_count(&d).await;

    let get = d
        .http
        .get(d.url("/graphql"))
        .query(&[("query", mutation)])
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    assert_eq!(
        code(&get.json::<Value>().await.expect("json")),
        "CSRF_REFUSED"
    );

    let body = json!({"query": mutation}).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut req = d
            .http
            .post(d.url("/graphql"))
            .bearer_auth(&token)
            .body(body.clone());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.expect("post");
        assert_eq!(
            resp.status(),
            415,
            "content type {content_type:?} must be refused"
        );
        assert_eq!(
            code(&resp.json::<Value>().await.expect("json")),
            "CSRF_REFUSED"
        );
    }
    assert_eq!(
        workspace_count(&d).await,
        before,
        "a refused mutation changed state"
    );

    // Queries by GET stay allowed, and the JSON POST mutation works.
    let q = d
        .http
        .get(d.url("/graphql"))
        .query(&[("query", "{ viewer { role } }")])
        .bearer_auth(&token)
        .send()
        .await
        .expect("get query");
    assert_eq!(q.status(), 200);
    d.ok(&token, mutation, json!({})).await;
    assert_eq!(workspace_count(&d).await, before + 1);
}

#[tokio::test]
async fn limits_depth_complexity_page_size_and_introspection_switches() {
    let d = Daemon::start_with(Opts {
        config: Some(
            "[graphql]\nmax_depth = 4\nmax_complexity = 60\ndefault_page_size = 10\nmax_page_size = 20\nintrospection = false\nsuggestions = false\nmax_body_bytes = 2048\n"
                .into(),
        ),
        ..Opts::default()
    });
    let token = d.admin_token();
    let (_, deep) = d
        .gql(
            Some(&token),
            "{ workspaces { orders(first: 1) { edges { node { lines { sku } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&deep), "QUERY_TOO_DEEP", "{deep}");
    let (_, complex) = d
        .gql(Some(&token), r#"{ workspace(slug: "default") { products(first: 20) { edges { cursor node { id title } } } } }"#, json!({}))
        .await;
    assert_eq!(code(&complex), "QUERY_TOO_COMPLEX", "{complex}");
    let (_, big_page) = d
        .gql(
            Some(&token),
            r#"{ workspace(slug: "default") { customers(first: 21) { edges { cursor } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&big_page), "BAD_USER_INPUT", "{big_page}");
    let (_, intro) = d
        .gql(Some(&token), "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(
        intro["data"]["__schema"].is_null(),
        "introspection must be off: {intro}"
    );
    let (_, typo) = d
        .gql(Some(&token), "{ workspacez { slug } }", json!({}))
        .await;
    let msg = typo["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        !msg.contains("Did you mean"),
        "suggestions must be off: {msg}"
    );
    assert_eq!(code(&typo), "GRAPHQL_VALIDATION_FAILED");
    // A body over `max_body_bytes` is refused before it is read whole, and changes nothing.
    let padding = "x".repeat(4096);
    let (status, body) = d
        .gql(
            Some(&token),
            r#"mutation($name: String!) { createWorkspace(input: {slug: "too-big", name: $name}) { slug } }"#,
            json!({"name": padding}),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let data = d.ok(&token, "{ workspaces { slug } }", json!({})).await;
    assert_eq!(data["workspaces"], json!([{"slug": "default"}]));
}

#[tokio::test]
async fn default_limits_let_graphiql_introspect() {
    let d = Daemon::start();
    let query = include_str!("introspection.graphql");
    let data = d.ok(&d.admin_token(), query, json!({})).await;
    assert!(
        data["__schema"]["types"]
            .as_array()
            .is_some_and(|t| t.len() > 20)
    );
    let page = reqwest::get(d.url("/graphiql")).await.expect("graphiql");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("graphiql"));
}

#[tokio::test]
async fn graphql_response_json_is_negotiated_with_proper_status_codes() {
    let d = Daemon::start();
    let token = d.admin_token();
    let send = |body: String| {
        d.http
            .post(d.url("/graphql"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(body)
            .send()
    };
    let ok = send(json!({"query": "{ viewer { role } }"}).to_string())
        .await
        .expect("send");
    assert_eq!(ok.status(), 200);
    assert!(
        ok.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/graphql-response+json")
    );
    let parse = send(json!({"query": "{ viewer { role "}).to_string())
        .await
        .expect("send");
    assert_eq!(parse.status(), 400);
    let body: Value = parse.json().await.expect("json");
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
    assert!(body.get("data").is_none());
    let invalid = send(json!({"query": "{ nope }"}).to_string())
        .await
        .expect("send");
    assert_eq!(invalid.status(), 400);
    let bad_json = send("{not json".into()).await.expect("send");
    assert_eq!(bad_json.status(), 400);
    let bad_vars = send(json!({"query": "{ viewer { role } }", "variables": "x"}).to_string())
        .await
        .expect("send");
    assert_eq!(bad_vars.status(), 400);
}

#[tokio::test]
async fn sigterm_finishes_cleanly_with_exit_zero() {
    let mut d = Daemon::start();
    let status = d.stop();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        d.log_text().contains("Shut down cleanly"),
        "{}",
        d.log_text()
    );
}

#[tokio::test]
async fn connection_credentials_are_encrypted_at_rest_and_never_returned() {
    let d = Daemon::start();
    let token = d.admin_token();
    let data = d
        .ok(
            &token,
            r#"mutation($c: JSON) { createConnection(input: {workspace: "default", kind: "shopify", name: "Main store", externalShopId: "shop-1", credentials: $c}) { id kind hasCredentials } }"#,
            json!({"c": {"access_token": "shpat_supersecret_123"}}),
        )
        .await;
    assert_eq!(data["createConnection"]["hasCredentials"], true);
    let store = d.store().await;
    use sea_orm::EntityTrait;
    let rows = creatorflow_store::entity::connection::Entity::find()
        .all(store.db())
        .await
        .expect("rows");
    let sealed = rows[0].credentials_ciphertext.clone().expect("sealed");
    assert!(!String::from_utf8_lossy(&sealed).contains("supersecret"));
    let plain = store
        .connection_credentials(&rows[0])
        .expect("open")
        .expect("some");
    assert!(String::from_utf8_lossy(&plain).contains("shpat_supersecret_123"));
    if d.db_url.starts_with("sqlite") {
        let file = std::fs::read(d.data_dir.join("creatorflow.db")).expect("db file");
        let wal = std::fs::read(d.data_dir.join("creatorflow.db-wal")).unwrap_or_default();
        for bytes in [file, wal] {
            assert!(
                !bytes.windows(11).any(|w| w == b"supersecret"),
                "plaintext credential on disk"
            );
        }
    }
    let (_, dup) = d
        .gql(
            Some(&token),
            r#"mutation { createConnection(input: {workspace: "default", kind: "shopify", name: "Again", externalShopId: "shop-1"}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&dup), "CONFLICT", "{dup}");
    let (_, bad_kind) = d
        .gql(
            Some(&token),
            r#"mutation { createConnection(input: {workspace: "default", kind: "myspace", name: "x"}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&bad_kind), "BAD_USER_INPUT", "{bad_kind}");
}

#[tokio::test]
async fn invalid_workspace_input_is_rejected_with_the_field_named() {
    let d = Daemon::start();
    let token = d.admin_token();
    for (input, field) in [
        (r#"{slug: "Bad Slug", name: "x"}"#, "slug"),
        (
            r#"{slug: "ok", name: "x", timezone: "Mars/Olympus"}"#,
            "timezone",
        ),
        (r#"{slug: "ok", name: "x", currency: "DOGE"}"#, "currency"),
    ] {
        let (_, body) = d
            .gql(
                Some(&token),
                &format!("mutation {{ createWorkspace(input: {input}) {{ id }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains(field),
            "{body}"
        );
    }
    assert_eq!(workspace_count(&d).await, 1);
}

#[tokio::test]
async fn admins_manage_tokens_over_graphql_and_the_secret_is_shown_once() {
    let d = Daemon::start();
    let admin = d.admin_token();
    let data = d
        .ok(
            &admin,
            r#"mutation { createToken(name: "dashboard", role: "analyst", workspaces: ["default"]) {
                 secret token { id name role global workspaces prefix revokedAt } } }"#,
            json!({}),
        )
        .await;
    let created = &data["createToken"];
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let id = created["token"]["id"].as_str().expect("id").to_owned();
    assert!(secret.starts_with("cf_"), "{created}");
    assert_eq!(created["token"]["role"], "analyst");
    assert_eq!(created["token"]["global"], false);
    assert_eq!(created["token"]["workspaces"], json!(["default"]));
    assert!(secret.starts_with(created["token"]["prefix"].as_str().expect("prefix")));

    // The new secret works, inside its scope and role.
    let data = d.ok(&secret, "{ viewer { role global } }", json!({})).await;
    assert_eq!(data["viewer"], json!({"role": "analyst", "global": false}));
    let (_, body) = d
        .gql(
            Some(&secret),
            r#"mutation { createToken(name: "x", role: "admin") { secret } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");

    // Listed without its secret.
    let (_, body) = d
        .gql(
            Some(&admin),
            "{ tokens { id name role revokedAt } }",
            json!({}),
        )
        .await;
    assert!(!body.to_string().contains(&secret));
    assert!(
        body["data"]["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .any(|t| t["id"] == id.as_str())
    );

    // Bad input is refused and creates nothing.
    let before = d.ok(&admin, "{ tokens { id } }", json!({})).await["tokens"]
        .as_array()
        .expect("tokens")
        .len();
    for (query, field) in [
        (
            r#"mutation { createToken(name: "x", role: "owner", workspaces: ["default"]) { secret } }"#,
            "role",
        ),
        (
            r#"mutation { createToken(name: "x", role: "analyst") { secret } }"#,
            "",
        ),
        (
            r#"mutation { createToken(name: " ", role: "admin") { secret } }"#,
            "name",
        ),
        (
            r#"mutation { createToken(name: "x", role: "admin", workspaces: []) { secret } }"#,
            "workspaces",
        ),
    ] {
        let (_, body) = d.gql(Some(&admin), query, json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
        if !field.is_empty() {
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
        }
    }
    let after = d.ok(&admin, "{ tokens { id } }", json!({})).await["tokens"]
        .as_array()
        .expect("tokens")
        .len();
    assert_eq!(before, after);

    // Revoked: the secret stops working at once; revoking again reports false.
    let data = d
        .ok(
            &admin,
            r#"mutation($id: ID!) { revokeToken(id: $id) }"#,
            json!({"id": id}),
        )
        .await;
    assert_eq!(data["revokeToken"], true);
    let (status, body) = d.gql(Some(&secret), "{ viewer { role } }", json!({})).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    let data = d
        .ok(
            &admin,
            r#"mutation($id: ID!) { revokeToken(id: $id) }"#,
            json!({"id": id}),
        )
        .await;
    assert_eq!(data["revokeToken"], false);
}
