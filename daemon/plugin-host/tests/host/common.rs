//! Shared harness: builds the plugins workspace for wasm32-wasip2 once per test run, creates hosts with a
//! shared compiled-component cache, packages plugins with test tweaks, and runs a loopback marketplace.

use creatorflow_plugin_host::model::{Batch, Column, ColumnData, Scalar};
use creatorflow_plugin_host::{
    CallContext, Grant, HostConfig, LoadReport, LoadSpec, Manifest, PluginHost, SecretValue,
    Secrets,
};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Where the plugins workspace builds; apart from the main target dir so the two builds never wait on
/// each other's lock.
pub fn wasm_target_dir() -> PathBuf {
    repo_root().join("target/wasm")
}

/// Builds every plugin and fixture once per test process (cargo's own lock serialises concurrent runs)
/// and returns the directory holding the `.wasm` files.
pub fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let installed = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-wasip2"))
            .unwrap_or(false);
        if !installed {
            let status = Command::new("rustup")
                .args(["target", "add", "wasm32-wasip2"])
                .status()
                .expect("run rustup");
            assert!(status.success(), "rustup target add wasm32-wasip2 failed");
        }
        let started = Instant::now();
        let output = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(repo_root().join("plugins/Cargo.toml"))
            .env("CARGO_TARGET_DIR", wasm_target_dir())
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .output()
            .expect("run cargo build for the plugins workspace");
        assert!(
            output.status.success(),
            "building plugins failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("plugins built in {:?}", started.elapsed());
        wasm_target_dir().join("wasm32-wasip2/release")
    })
}

pub fn wasm(crate_name: &str) -> PathBuf {
    built().join(format!("{}.wasm", crate_name.replace('-', "_")))
}

/// A compiled-component cache shared by the tests of one run (and the next), so each plugin compiles once.
pub fn shared_cache_dir() -> PathBuf {
    wasm_target_dir().join("test-component-cache")
}

pub struct TestHost {
    pub host: PluginHost,
    _dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for TestHost {
    type Target = PluginHost;
    fn deref(&self) -> &PluginHost {
        &self.host
    }
}

/// A host for tests: dev mode (loopback upstreams), the shared cache, and small limits so hostile
/// fixtures fail fast.
pub fn test_config() -> HostConfig {
    let mut config = HostConfig {
        cache_dir: shared_cache_dir(),
        dev_mode: true,
        max_instances: 16,
        ..HostConfig::default()
    };
    config.defaults.cpu_ms = 1_000;
    config.defaults.wall_ms = 5_000;
    config.defaults.memory_mib = 32;
    config
}

pub fn host_with(tweak: impl FnOnce(&mut HostConfig)) -> TestHost {
    built();
    let mut config = test_config();
    tweak(&mut config);
    TestHost {
        host: PluginHost::new(config).expect("host"),
        _dir: None,
    }
}

pub fn host() -> TestHost {
    host_with(|_| {})
}

/// A host with its own empty cache directory (for cache tests).
pub fn host_in(dir: tempfile::TempDir) -> TestHost {
    built();
    let config = HostConfig {
        cache_dir: dir.path().to_path_buf(),
        ..test_config()
    };
    TestHost {
        host: PluginHost::new(config).expect("host"),
        _dir: Some(dir),
    }
}

/// The manifest of `plugins/<dir>`, with its sha256 set to the built component's, after `tweak`.
pub fn spec(
    dir: &str,
    crate_name: &str,
    grants: Vec<Grant>,
    tweak: impl FnOnce(&mut Manifest),
) -> LoadSpec {
    let mut manifest =
        Manifest::from_file(&repo_root().join("plugins").join(dir).join("plugin.toml"))
            .expect("manifest");
    let wasm_path = wasm(crate_name);
    let bytes = std::fs::read(&wasm_path).expect("built wasm");
    manifest.sha256 = Some(hex::encode(Sha256::digest(&bytes)));
    tweak(&mut manifest);
    LoadSpec {
        manifest,
        wasm_path,
        grants,
    }
}

pub fn load(
    host: &PluginHost,
    dir: &str,
    crate_name: &str,
    tweak: impl FnOnce(&mut Manifest),
) -> LoadReport {
    host.load_blocking(&spec(dir, crate_name, vec![], tweak))
        .unwrap_or_else(|e| panic!("loading {dir}: {e}"))
}

/// Loads a hostile connector fixture from `plugins/fixtures/<name>`.
pub fn load_fixture(host: &PluginHost, name: &str, tweak: impl FnOnce(&mut Manifest)) {
    load(
        host,
        &format!("fixtures/{name}"),
        &format!("fixture-{name}"),
        tweak,
    );
}

/// Loads the template metric and checks it answers: the proof, after each hostile call, that the host
/// still serves other plugins.
pub async fn assert_healthy(host: &PluginHost) {
    if host.status("template-metric").is_none() {
        load(host, "template-metric", "template-metric", |_| {});
    }
    let batch = Batch::new(vec![
        Column::new("revenue_minor", ColumnData::Int64(vec![1_000, 3_000])),
        Column::new(
            "currency",
            ColumnData::Text(vec!["USD".into(), "USD".into()]),
        ),
    ]);
    let value = host
        .metric("template-metric")
        .expect("loaded")
        .evaluate("w1", &[], &[batch])
        .await
        .expect("the healthy plugin still works");
    match value.value {
        Scalar::Money(m) => assert_eq!(m.minor, 2_000),
        other => panic!("unexpected value {other:?}"),
    }
}

pub fn ctx(connection: &str, config: &[(&str, &str)], secrets: &[(&str, &str)]) -> CallContext {
    CallContext {
        connection: connection.to_owned(),
        config: config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        secrets: Secrets::new(
            secrets
                .iter()
                .map(|(k, v)| ((*k).to_owned(), SecretValue::new(v))),
        ),
    }
}

// ---- a loopback marketplace -----------------------------------------------------------------------------

pub const ACCESS_TOKEN: &str = "test-access-token-7f3a";
pub const APP_SECRET: &str = "test-app-secret-91c2";

/// A request the marketplace received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: String,
    pub at: Instant,
    pub authorization: Option<String>,
    pub signature_ok: bool,
}

pub struct Marketplace {
    pub origin: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Marketplace {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    pub fn base(&self, prefix: &str) -> String {
        format!("{}{prefix}", self.origin)
    }
}

fn orders_page(cursor: Option<&str>, prefix: &str) -> serde_json::Value {
    // Three pages of two orders: "" → "p2" → "p3" → end.
    let (page, next) = match cursor {
        None => (1, Some("p2")),
        Some("p2") => (2, Some("p3")),
        _ => (3, None),
    };
    let orders: Vec<_> = (1..=2)
        .map(|i| {
            serde_json::json!({
                "id": format!("{prefix}o{page}-{i}"),
                "status": "paid",
                "created_at": 1_700_000_000_000i64,
                "updated_at": 1_700_000_000_000i64,
                "currency": "USD",
                "customer_id": "c-1",
                "lines": [{"id": "l1", "sku": "TEE-M", "title": "Tee", "quantity": 1, "unit_price": 2500, "condition": "A"}],
                "shipping": 400,
                "fees": 250
            })
        })
        .collect();
    serde_json::json!({"orders": orders, "next_cursor": next})
}

/// Starts the marketplace on an ephemeral loopback port. It checks the bearer token and the request
/// signature (HMAC-SHA256 of `path?query` with the app secret), as a real marketplace would.
pub async fn marketplace() -> Marketplace {
    use poem::http::StatusCode;
    use poem::listener::{Acceptor, Listener, TcpListener};
    use poem::{EndpointExt, Request, Response, Route, handler};

    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let throttled_once: Arc<Mutex<bool>> = Arc::default();

    #[handler]
    async fn any(req: &Request, data: poem::web::Data<&State>) -> Response {
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or_default().to_owned();
        let authorization = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let signed = if query.is_empty() {
            // The template signs the path relative to its base URL.
            path.clone()
        } else {
            format!("{path}?{query}")
        };
        let relative = signed
            .split_once("/orders")
            .map(|(_, rest)| format!("/orders{rest}"))
            .unwrap_or(signed.clone());
        let signature_ok = req
            .headers()
            .get("x-signature")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|sig| sig == hmac_hex(APP_SECRET, relative.as_bytes()));
        data.0.seen.lock().expect("lock").push(Seen {
            path: path.clone(),
            query: query.clone(),
            at: Instant::now(),
            authorization: authorization.clone(),
            signature_ok,
        });
        if path == "/slow" {
            tokio::time::sleep(Duration::from_secs(5)).await;
            return Response::builder().body("late");
        }
        if path == "/moved/orders" {
            // A redirect to a path of the same allowed origin: the host must hand it back, not follow it.
            return Response::builder()
                .status(StatusCode::FOUND)
                .header("location", "/orders")
                .body("moved");
        }
        if path == "/big/orders" {
            return Response::builder().body(vec![b'x'; 4096]);
        }
        if path == "/throttle/orders" {
            let mut once = data.0.throttled_once.lock().expect("lock");
            if !*once {
                *once = true;
                return Response::builder()
                    .status(StatusCode::TOO_MANY_REQUESTS)
                    .header("retry-after", "1")
                    .body("slow down");
            }
        }
        if path.ends_with("/orders") {
            if authorization.as_deref() != Some(&format!("Bearer {ACCESS_TOKEN}")) || !signature_ok
            {
                return Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .body("bad credentials");
            }
            let cursor = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("cursor="))
                .map(str::to_owned);
            let prefix = path
                .trim_end_matches("/orders")
                .trim_start_matches('/')
                .to_owned();
            return Response::builder()
                .content_type("application/json")
                .body(orders_page(cursor.as_deref(), &prefix).to_string());
        }
        Response::builder().body("ok")
    }

    #[derive(Clone)]
    struct State {
        seen: Arc<Mutex<Vec<Seen>>>,
        throttled_once: Arc<Mutex<bool>>,
    }

    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind loopback");
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().map(|s| s.port()))
        .expect("port");
    let app = Route::new().at("/*path", any).data(State {
        seen: seen.clone(),
        throttled_once: throttled_once.clone(),
    });
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    Marketplace {
        origin: format!("http://127.0.0.1:{port}"),
        seen,
    }
}

pub fn hmac_hex(key: &str, message: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Grants for the template connector against `origin`, with its three secrets.
pub fn template_grants(origin: &str) -> Vec<Grant> {
    vec![
        Grant::host(origin).expect("origin"),
        Grant::secret("access_token").expect("name"),
        Grant::secret("app_secret").expect("name"),
    ]
}

/// Loads the template connector allowed to reach `origin`.
pub fn load_template(host: &PluginHost, origin: &str, tweak: impl FnOnce(&mut Manifest)) {
    let origin = origin.to_owned();
    let spec = spec(
        "template-connector",
        "template-connector",
        template_grants(&origin),
        |m| {
            m.capabilities.hosts = vec![origin.clone()];
            tweak(m);
        },
    );
    host.load_blocking(&spec).expect("template connector loads");
}

pub fn template_ctx(base_url: &str, connection: &str) -> CallContext {
    ctx(
        connection,
        &[("base_url", base_url), ("page_size", "2")],
        &[("access_token", ACCESS_TOKEN), ("app_secret", APP_SECRET)],
    )
}
