//! Starts the real `creatorflow` binary on an ephemeral port with its own data directory (and, when
//! `CREATORFLOW_TEST_PG_URL` is set, its own throw-away PostgreSQL database) and talks to it over HTTP.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The daemon binary next to this test binary (`target/<profile>/creatorflow`).
pub fn daemon_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile> directory");
    let bin = dir.join("creatorflow");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p creatorflow` (scripts/test does this)",
        bin.display()
    );
    bin
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

/// A PostgreSQL database created for one daemon and dropped afterwards.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create(admin_url: &str) -> Self {
        let name = format!("cf_e2e_{}", uuid::Uuid::new_v4().simple());
        psql(admin_url, &format!("CREATE DATABASE {name}"));
        record_pg_run(&name);
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .expect("postgres URL with a database");
        PgDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Names the PostgreSQL server to test against. The daemon refuses unknown `CREATORFLOW_*` variables, so
/// the harness never passes this one on.
pub const PG_ENV: &str = "CREATORFLOW_TEST_PG_URL";

pub fn pg_admin_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|s| !s.is_empty())
}

/// Options for one daemon.
#[derive(Default, Clone)]
pub struct Opts {
    /// TOML written to `<data-dir>/../config.toml` and passed with `--config`.
    pub config: Option<String>,
    pub env: Vec<(String, String)>,
}

pub struct Daemon {
    child: Option<Child>,
    _dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub base: String,
    pub logs: Arc<Mutex<Vec<String>>>,
    config_path: Option<PathBuf>,
    env: Vec<(String, String)>,
    pub db_url: String,
    _pg: Option<PgDatabase>,
    pub http: reqwest::Client,
}

impl Daemon {
    pub fn start() -> Self {
        Self::start_with(Opts::default())
    }

    pub fn start_with(opts: Opts) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let mut env = opts.env.clone();
        let pg = pg_admin_url().map(|u| PgDatabase::create(&u));
        let db_url = match &pg {
            Some(pg) => {
                env.push(("CREATORFLOW_DATABASE__URL".into(), pg.url.clone()));
                pg.url.clone()
            }
            None => format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("creatorflow.db").display()
            ),
        };
        let config_path = opts.config.as_ref().map(|text| {
            let p = dir.path().join("config.toml");
            std::fs::write(&p, text).expect("write config");
            p
        });
        let mut d = Daemon {
            child: None,
            _dir: dir,
            data_dir,
            base: String::new(),
            logs: Arc::new(Mutex::new(Vec::new())),
            config_path,
            env,
            db_url,
            _pg: pg,
            http: reqwest::Client::new(),
        };
        d.spawn();
        d
    }

    /// Starts (or restarts) the process and waits for its "Listening" log line.
    pub fn spawn(&mut self) {
        let mut cmd = Command::new(daemon_bin());
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir);
        if let Some(p) = &self.config_path {
            cmd.arg("--config").arg(p);
        }
        cmd.env_remove(PG_ENV)
            .env("CREATORFLOW_LOG__FORMAT", "json")
            .envs(self.env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn creatorflow");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["message"] == "Listening"
                    && let Some(addr) = v["addr"].as_str()
                {
                    let _ = tx.send(addr.to_owned());
                }
                logs.lock().expect("logs").push(line);
            }
        });
        self.child = Some(child);
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => self.base = format!("http://{addr}"),
            Err(_) => panic!("daemon did not start; log:\n{}", self.log_text()),
        }
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().expect("logs").join("\n")
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("admin.token"))
            .expect("admin.token")
            .trim()
            .to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs a GraphQL request as JSON; returns the status and body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A GraphQL request that must succeed without errors; returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(Some(token), query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs a CLI command against this daemon's data directory and database.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(daemon_bin());
        cmd.args(args).arg("--data-dir").arg(&self.data_dir);
        if let Some(p) = &self.config_path {
            cmd.arg("--config").arg(p);
        }
        cmd.env_remove(PG_ENV)
            .env("CREATORFLOW_LOG__FILTER", "warn")
            .envs(self.env.iter().cloned())
            .output()
            .expect("run creatorflow")
    }

    /// Creates a token through the CLI and returns its secret.
    pub fn token(&self, role: &str, workspaces: &[&str]) -> String {
        let mut args = vec!["token", "create", "--role", role];
        for w in workspaces {
            args.push("--workspace");
            args.push(w);
        }
        let out = self.cli(&args);
        assert!(
            out.status.success(),
            "token create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf8")
            .trim()
            .to_owned()
    }

    /// The id of the newest token with `role`, from `creatorflow token list`.
    pub fn newest_token_id(&self, role: &str) -> String {
        let listing = String::from_utf8(self.cli(&["token", "list"]).stdout).expect("utf8");
        listing
            .lines()
            .filter(|l| l.contains(role))
            .filter_map(|l| l.split('\t').next())
            .next_back()
            .expect("token row")
            .to_owned()
    }

    /// A store handle on the daemon's own database, for seeding rows the write path does not cover yet.
    pub async fn store(&self) -> creatorflow_store::Store {
        let key = std::fs::read_to_string(self.data_dir.join("credentials.key")).expect("key file");
        let cipher = creatorflow_store::CredentialCipher::from_base64(&key).expect("key");
        creatorflow_store::Store::connect(
            &creatorflow_store::DbOptions::new(self.db_url.clone()),
            cipher,
        )
        .await
        .expect("connect to the daemon's database")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("daemon ignored SIGTERM; log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Daemon {
    /// Kills the process with SIGKILL (no chance to clean up) and reaps it. `spawn` starts it again on the
    /// same data directory and database.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -KILL failed");
        let exit = child.wait().expect("wait");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(exit.signal(), Some(9), "daemon was not killed: {exit:?}");
        }
        #[cfg(not(unix))]
        assert!(!exit.success());
    }

    /// Opens a `graphql-transport-ws` connection authenticated with `token`, waits for its
    /// `connection_ack`, subscribes to `query` under the id `"1"` and gives the server a moment to
    /// register the subscription before returning.
    pub async fn ws_subscribe(&self, token: &str, query: &str) -> Ws {
        let url = self.url("/graphql/ws").replace("http://", "ws://");
        let mut req = url.into_client_request().expect("request");
        req.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("connect");
        ws_send(
            &mut ws,
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
        )
        .await;
        let ack = ws_next(&mut ws, Duration::from_secs(5)).await;
        assert_eq!(
            ack.as_ref().map(|m| m["type"].clone()),
            Some(json!("connection_ack")),
            "{ack:?}"
        );
        ws_send(
            &mut ws,
            json!({"id": "1", "type": "subscribe", "payload": {"query": query}}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        ws
    }
}

/// A client WebSocket connection to the daemon.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

/// The next JSON message within `wait`, skipping keep-alives; `None` on timeout or when the server closed
/// the socket.
pub async fn ws_next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .ok()??
            .ok()?;
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

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// Appends one line to the file named by `TEST_PG_RUNS_FILE` (set by CI) for every PostgreSQL database a test
/// creates, so CI can prove the PostgreSQL suite really ran on PostgreSQL.
pub fn record_pg_run(what: &str) {
    use std::io::Write;
    if let Ok(path) = std::env::var("TEST_PG_RUNS_FILE")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(f, "{what}");
    }
}
