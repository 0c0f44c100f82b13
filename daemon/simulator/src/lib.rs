//! A TikTok Shop Partner API (202309) simulator for tests and demos: real HTTP on loopback, deterministic
//! from a seed, checking request signatures exactly as the real API does, with live mode (orders,
//! cancellations, returns and restocks that send signed webhooks) and faults on demand. It knows its own
//! truth (`GET /_sim/truth`), so a sync can be compared with what the shop holds.

mod api;
mod shop;

pub use api::sign;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use shop::Shop;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const APP_KEY: &str = "sim-app-key";
pub const APP_SECRET: &str = "sim-app-secret";

/// What to generate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub shops: u32,
    pub skus: u32,
    pub orders: u32,
    pub days: u32,
    pub currency: String,
    /// Unix seconds the generated history ends at; `None` = the clock.
    pub now: Option<i64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            shops: 1,
            skus: 50,
            orders: 500,
            days: 90,
            currency: "USD".into(),
            now: None,
        }
    }
}

/// Fault rates (0..=1) applied to API calls and webhooks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    pub rate_429: f64,
    pub rate_500: f64,
    pub rate_timeout: f64,
    pub rate_truncated: f64,
    pub webhook_drop: f64,
    pub webhook_duplicate: f64,
    pub webhook_delay_ms: u64,
    pub webhook_reorder: f64,
}

/// Changes live mode makes at once.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tick {
    pub orders: u32,
    pub cancellations: u32,
    pub returns: u32,
    pub restocks: u32,
}

/// Exactly what a shop holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Orders as the API returns them, by id.
    pub orders: Vec<serde_json::Value>,
    /// Sellable units per seller SKU.
    pub stock: BTreeMap<String, i64>,
}

pub(crate) struct State {
    pub shops: Vec<Shop>,
    pub rng: StdRng,
    pub faults: Faults,
    pub webhook_target: Option<String>,
    pub notifications: u64,
    /// Webhooks held back to be sent after the next one (reordering).
    pub held: Vec<(String, Vec<u8>)>,
}

/// Builds and serves simulators.
pub struct Simulator;

impl Simulator {
    /// Generates the shops and serves them on `listen` (port 0 picks a free one).
    pub async fn start(config: SimConfig, listen: SocketAddr) -> std::io::Result<SimHandle> {
        let state = Arc::new(Mutex::new(generate(&config)));
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let app = api::routes(api::Ctx {
            state: state.clone(),
            client: client.clone(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let acceptor = poem::listener::TcpAcceptor::from_tokio(listener)?;
            poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    app,
                    async move {
                        let _ = stopped.await;
                    },
                    Some(std::time::Duration::from_secs(1)),
                )
                .await
        });
        Ok(SimHandle {
            base_url: format!("http://{addr}"),
            state,
            client,
            stop: Some(stop),
            server: Some(server),
        })
    }
}

/// The generated state, the same for the same configuration.
pub(crate) fn generate(config: &SimConfig) -> State {
    let now = config.now.unwrap_or_else(api::clock);
    let mut rng = StdRng::seed_from_u64(config.seed);
    let shops = (1..=config.shops.max(1))
        .map(|n| {
            Shop::generate(
                n,
                &mut rng,
                config.skus.max(1),
                config.orders,
                config.days,
                now,
                &config.currency,
            )
        })
        .collect();
    State {
        shops,
        rng,
        faults: Faults::default(),
        webhook_target: None,
        notifications: 0,
        held: Vec::new(),
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl SimHandle {
    pub fn truth(&self, shop_id: &str) -> Option<Truth> {
        api::lock(&self.state).truth(shop_id)
    }

    pub fn set_faults(&self, faults: Faults) {
        api::lock(&self.state).faults = faults;
    }

    pub fn set_webhook_target(&self, url: Option<String>) {
        api::lock(&self.state).webhook_target = url;
    }

    /// Makes live changes now and sends their webhooks; returns the ids of the orders changed.
    pub async fn tick(&self, tick: Tick) -> Vec<String> {
        api::tick(&self.state, &self.client, tick).await
    }

    pub fn shutdown(mut self) {
        self.stop_server();
    }

    fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop_server();
    }
}

impl State {
    pub fn shop(&self, shop_id: &str) -> Option<&Shop> {
        self.shops.iter().find(|s| s.shop_id == shop_id)
    }

    pub fn truth(&self, shop_id: &str) -> Option<Truth> {
        let shop = self.shop(shop_id)?;
        Some(Truth {
            orders: shop.orders.values().map(|o| shop.order_json(o)).collect(),
            stock: shop.stock.clone(),
        })
    }
}
