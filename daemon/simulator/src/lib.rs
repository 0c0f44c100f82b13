//! A TikTok Shop Partner API (202309) and Shopify Admin GraphQL API simulator for tests and demos: real HTTP
//! on loopback, deterministic from a seed, checking request signatures and tokens exactly as the real APIs
//! do, with live mode (orders, cancellations, returns and restocks that send signed webhooks), Shopify's
//! cost-based throttling and faults on demand. It knows its own truth (`GET /_sim/truth`), so a sync can be
//! compared with what the shop holds.

mod api;
mod shop;
mod shopify;

pub use api::sign;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use shop::Shop;
pub use shopify::{
    SHOPIFY_API_VERSION, SHOPIFY_APP_SECRET, ShopifyWebhook, shop_domain as shopify_shop_domain,
    token as shopify_token, webhook_hmac as shopify_webhook_hmac,
};
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
    /// Shopify shops (`sim-shopify-1`…), generated with the same SKU, order and day counts. None by default
    /// in library use, so TikTok-only tests see only TikTok changes; the binary serves one.
    pub shopify_shops: u32,
    /// Each Shopify shop's query-cost bucket (`maximumAvailable`) and its restore rate in points per second.
    pub shopify_bucket: u32,
    pub shopify_restore_rate: u32,
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
            shopify_shops: 0,
            shopify_bucket: 1000,
            shopify_restore_rate: 50,
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
    /// Shopify shops: one unit of a shipped order is refunded and restocked.
    pub returns: u32,
    pub restocks: u32,
    /// Shopify shops: an open, paid order is shipped.
    pub fulfillments: u32,
    /// Shopify shops: a product's first variant gets dearer by one unit of currency.
    pub product_updates: u32,
}

/// Exactly what a shop holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Orders as the API returns them, by id.
    pub orders: Vec<serde_json::Value>,
    /// Sellable units per seller SKU.
    pub stock: BTreeMap<String, i64>,
    /// Shopify: products with their variants, as GraphQL nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<serde_json::Value>,
    /// Shopify: physical units per SKU (available plus committed to open orders).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub on_hand: BTreeMap<String, i64>,
    /// Shopify: the global id of the shop's location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
}

pub(crate) struct State {
    pub shops: Vec<Shop>,
    pub rng: StdRng,
    pub faults: Faults,
    pub webhook_target: Option<String>,
    pub notifications: u64,
    /// Webhooks held back to be sent after the next one to the same URL (reordering).
    pub held: Vec<(String, api::Outgoing)>,
    pub shopify: Vec<shopify::shop::ShopifyShop>,
    /// Shopify data and live changes draw from their own generator, so TikTok shops stay what a seed made
    /// them before Shopify existed.
    pub shopify_rng: StdRng,
    pub shopify_webhook_target: Option<String>,
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
    let mut shopify_rng = StdRng::seed_from_u64(config.seed ^ SHOPIFY_SEED);
    let shopify = (1..=config.shopify_shops)
        .map(|n| {
            shopify::shop::ShopifyShop::generate(
                n,
                &mut shopify_rng,
                config.skus.max(1),
                config.orders,
                config.days,
                now,
                &config.currency,
                (config.shopify_bucket, config.shopify_restore_rate),
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
        shopify,
        shopify_rng,
        shopify_webhook_target: None,
    }
}

/// Mixed into the seed of the Shopify generator.
const SHOPIFY_SEED: u64 = 0x5348_4f50_4946_5900;

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

    /// Where Shopify shops' webhooks go (TikTok's go to [`SimHandle::set_webhook_target`]).
    pub fn set_shopify_webhook_target(&self, url: Option<String>) {
        api::lock(&self.state).shopify_webhook_target = url;
    }

    /// A signed webhook of `topic` for a record of a Shopify shop as it is now (an order for `orders/*`, a
    /// refund, a fulfilment, an inventory item for `inventory_levels/update`, a product), by number or
    /// global id; `None` for an unknown shop, topic or record. Nothing is sent.
    pub fn shopify_webhook(&self, shop: &str, topic: &str, id: &str) -> Option<ShopifyWebhook> {
        let mut st = api::lock(&self.state);
        let s = st.shopify_shop(shop)?;
        let payload = shopify::payload(s, topic, id)?;
        let hook = shopify::webhook(s, st.notifications + 1, topic, &payload);
        st.notifications += 1;
        Some(hook)
    }

    /// Sets what a Shopify shop's cost bucket holds now, e.g. 0 to see throttling at once.
    pub fn set_shopify_available(&self, shop: &str, points: u32) -> bool {
        api::lock(&self.state).set_shopify_available(shop, points)
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
        if let Some(s) = self.shopify_shop(shop_id) {
            return Some(Truth {
                orders: s.orders.values().map(|o| s.order_node(o)).collect(),
                stock: s.stock(),
                products: s.products.iter().map(|p| s.product_node(p)).collect(),
                on_hand: s.on_hand(),
                location_id: Some(format!("gid://shopify/Location/{}", s.location_id)),
            });
        }
        let shop = self.shop(shop_id)?;
        Some(Truth {
            orders: shop.orders.values().map(|o| shop.order_json(o)).collect(),
            stock: shop.stock.clone(),
            products: Vec::new(),
            on_hand: BTreeMap::new(),
            location_id: None,
        })
    }

    /// A Shopify shop by name (`sim-shopify-1`) or domain (`sim-shopify-1.myshopify.com`).
    pub fn shopify_shop(&self, name: &str) -> Option<&shopify::shop::ShopifyShop> {
        self.shopify
            .iter()
            .find(|s| s.domain == name || s.domain.strip_suffix(".myshopify.com") == Some(name))
    }

    pub fn set_shopify_available(&mut self, name: &str, points: u32) -> bool {
        match self
            .shopify
            .iter_mut()
            .find(|s| s.domain == name || s.domain.strip_suffix(".myshopify.com") == Some(name))
        {
            Some(s) => {
                s.bucket.refill();
                s.bucket.available = f64::from(points).min(s.bucket.maximum);
                true
            }
            None => false,
        }
    }
}
