//! Runs the real `creatorflow` binary (built next to this one) on a data directory.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Daemon {
    child: Child,
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Daemon {
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let bin = exe.with_file_name("creatorflow");
        if !bin.exists() {
            bail!(
                "{} is missing; build it with the same profile (`cargo build --release -p creatorflow`)",
                bin.display()
            );
        }
        let mut child = Command::new(&bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("CREATORFLOW_LOG__FORMAT", "json")
            .env("CREATORFLOW_LOG__FILTER", "warn,creatorflow=info")
            // Benchmarks read whole result sets in one page.
            .env("CREATORFLOW_GRAPHQL__MAX_COMPLEXITY", "1000000")
            .env("CREATORFLOW_GRAPHQL__MAX_PAGE_SIZE", "10000")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawn creatorflow")?;
        let stderr = child.stderr.take().context("stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["message"] == "Listening"
                    && let Some(addr) = v["addr"].as_str()
                {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .context("daemon did not start")?;
        let token = std::fs::read_to_string(data_dir.join("admin.token"))?
            .trim()
            .to_owned();
        Ok(Daemon {
            child,
            base: format!("http://{addr}"),
            token,
            http: reqwest::Client::new(),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        Some(self.child.id())
    }

    pub async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await?
            .json()
            .await?;
        if body.get("errors").is_some() {
            bail!("GraphQL errors: {body}");
        }
        Ok(body["data"].clone())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
