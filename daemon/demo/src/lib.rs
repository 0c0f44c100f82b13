//! Deterministic, realistic demo data for CreatorFlow, produced as the same [`IngestEvent`]s a real shop's
//! connectors would send — so demos, benchmarks and load tests exercise the real ingest pipeline, ledger and
//! analytics rather than a shortcut into the database.
//!
//! ```text
//! let demo = Demo::new(spec);
//! demo.catalog()        // ProductUpserted: brands, categories, variants, resale grades, prices, unit costs
//! demo.opening_stock()  // InventorySet + InventoryPolicySet per SKU
//! demo.activity()       // orders and their lifecycle, shipments, returns, restocks, ads, content, funnel
//! ```
//!
//! # Determinism
//! The same [`DemoSpec`] (and [`Shape`]) always yields byte-identical events: every random choice comes from
//! ChaCha8 streams seeded from `seed` (ChaCha's output is fixed by the algorithm, unlike `StdRng`), the
//! iteration order never depends on hashing, and the model avoids libm functions (`ln`, `exp`, `powf`) whose
//! last bit may differ between platforms. `source_event_id`s are stable, e.g. `demo:42:order:17:paid`, so
//! seeding the same demo twice is a no-op for the deduplicating pipeline.
//!
//! # Streaming
//! [`Demo::activity`] generates lazily, one hour of orders at a time, and keeps only what is still in
//! flight: a time-ordered queue of future lifecycle events (orders not yet delivered, returns not yet
//! received), per-SKU stock counters and a bounded window of recent buyers. A million orders never sit in
//! memory at once: a release build emits 1M orders (≈5.5M events) in about 10 s on two cores, in ~35 MB.
//!
//! # The model
//! * **Channels.** Orders are split across the spec's connections: TikTok Shop ≈ 55 %, Shopify ≈ 30 %,
//!   Whatnot ≈ 15 %, manual ≈ 6 % (relative weights, shared by connections of the same kind). During LIVE
//!   shows TikTok and Whatnot take a larger share.
//! * **Catalog.** 20–200 invented brands (about one per 50 SKUs) with skewed size and popularity; 14
//!   categories with their own price ranges, unit costs (25–60 % of price), weights and variant axes (colour
//!   × size, shade, volume…). About 15 % of brands sell pre-owned luxury items in grades S/A/B/C priced at
//!   100/82/66/50 % of an S-grade item.
//! * **Demand.** Zipf–Mandelbrot by SKU (share ∝ 1/(rank+3)): a few best sellers, a long tail, and the last
//!   8 % of the catalog is dead stock that never sells. Popular brands win top ranks more often.
//! * **Timing.** Order volume follows trend (+40 % over the span) × month (Q4 lift) × weekday (weekends ≈ +40 %)
//!   × hour of day (evening peak ~15× the 3–5 am trough) × LIVE shows (Tue/Thu/Sun 19–21 h, +60 %) × noise.
//!   Each hour gets an exact order count, so `orders` is met precisely.
//! * **Viral spikes.** About one a month (1–8): a video makes one SKU sell 20–50× its usual rate for ~12
//!   hours, mostly to new buyers on TikTok, with matching content metrics; the seller tops up stock the day
//!   before so the spike shows as sales rather than a stockout.
//! * **Baskets.** 1 line (77 %), 2 (16 %), 3 (5 %), 4 (2 %); quantity 1 (84 %), 2 (12 %), 3 (4 %), resale
//!   always 1; add-ons often from the same brand. Out-of-stock picks are replaced by another item.
//! * **Money.** Integer minor units only. Discounts on 5–35 % of orders by channel (up to 55 % during viral flash deals) (percent codes or fixed coupons,
//!   split across lines so line discounts sum to the order discount); shipping charged by channel rules
//!   (free over a threshold on TikTok/Shopify, flat on Whatnot); US/Canadian sales tax by buyer region
//!   (VAT-inclusive prices elsewhere, tax 0); `total = subtotal − discount + shipping + tax` exactly.
//!   Marketplace fees: TikTok 5–8 % referral by category, Shopify 2.9 % + 30¢, Whatnot 8 % + 2.9 % + 30¢,
//!   manual none. Label costs by parcel weight.
//! * **Lifecycle.** Most orders are paid at checkout; some stay pending for minutes (hours for manual
//!   invoices). 3–8 % are cancelled before fulfilment (some never paid). Paid orders ship on the next
//!   shipping window (14:00 cut-off, no Sunday pickups, occasional delays) and arrive 1–6 days later at
//!   daytime; ~0.5 % are undeliverable and come back. 5–12 % of delivered orders are returned (mostly
//!   sellable, restocked), ~1 % get a money-only partial refund. Every status change is strictly later than
//!   the previous one.
//! * **Customers.** A pool with power-law repeat purchases (a buyer of a recent order is picked again, so
//!   frequent buyers keep buying; some long-lapsed buyers come back), each with a home channel, a stable
//!   `example.com` email used to match the same person across channels, and a sales-tax region.
//! * **Stock.** Opening stock covers the reorder point plus part of a purchase order; when free stock falls to
//!   the reorder point a purchase order is placed (`InventoryPolicySet.incoming`) and received after the
//!   brand's lead time (`InventoryAdjusted`, reason `received`).
//! * **Marketing.** Daily ad spend per channel campaign, reported the next morning, with conversions and
//!   attributed revenue taken from that day's actual orders and ROAS 1.8–6×. Daily metrics for each TikTok
//!   video (two weeks of decaying views) and LIVE, with product clicks tied to the orders attributed to them.
//!   Conversion-funnel events for a sample of orders (1 % by default), with the abandoned sessions around
//!   them, not one event per view.

mod activity;
mod calendar;
mod catalog;
mod util;

use calendar::Calendar;
use catalog::{CATEGORIES, Catalog};
use chrono::{DateTime, TimeZone, Utc};
use creatorflow_core::ingest::{IngestEvent, Payload, Source};
use creatorflow_core::ingest::{InventoryPolicy, InventorySet, ProductUpsert, VariantUpsert};
use creatorflow_core::{ConnectionId, Currency, WorkspaceId};
use util::Pricing;

/// The kind of shop a demo connection stands for; it decides fees, shipping rules, payment habits and order
/// id formats. The names match the daemon's connection kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    TiktokShop,
    Shopify,
    /// Live-auction resale marketplace.
    Whatnot,
    /// Sales recorded by hand: DMs, markets, in-person pickups.
    Manual,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::TiktokShop,
        ChannelKind::Shopify,
        ChannelKind::Whatnot,
        ChannelKind::Manual,
    ];

    /// The connection kind stored for such a connection.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::TiktokShop => "tiktok_shop",
            ChannelKind::Shopify => "shopify",
            ChannelKind::Whatnot => "whatnot",
            ChannelKind::Manual => "manual",
        }
    }

    /// Reads a connection kind; `csv` counts as manual (spreadsheet sales are hand-recorded too).
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "csv" => Some(ChannelKind::Manual),
            _ => Self::ALL.into_iter().find(|k| k.as_str() == kind),
        }
    }

    /// Relative share of orders outside LIVE hours.
    fn weight(self) -> f64 {
        match self {
            ChannelKind::TiktokShop => 0.55,
            ChannelKind::Shopify => 0.30,
            ChannelKind::Whatnot => 0.15,
            ChannelKind::Manual => 0.06,
        }
    }

    /// Multiplier on `weight` while a LIVE show runs: LIVE shopping happens on TikTok and Whatnot.
    fn live_lift(self) -> f64 {
        match self {
            ChannelKind::TiktokShop => 2.5,
            ChannelKind::Whatnot => 2.0,
            ChannelKind::Shopify | ChannelKind::Manual => 1.0,
        }
    }
}

/// What to generate. Same spec, same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSpec {
    pub workspace_id: WorkspaceId,
    /// The shop's connections; orders, ads and content are spread over them. With none, only the catalog
    /// and opening stock are produced.
    pub channels: Vec<(ConnectionId, ChannelKind)>,
    /// Number of SKUs (variants), exactly.
    pub skus: usize,
    /// Number of orders, exactly.
    pub orders: usize,
    pub seed: u64,
    /// First instant of the order history; catalog and opening stock are dated two and one days before.
    pub start: DateTime<Utc>,
    /// Span of order history in days (e.g. 180).
    pub days: u32,
    pub currency: Currency,
}

impl DemoSpec {
    /// A 180-day demo from 2025-01-01 with 1,000 SKUs and 50,000 orders, seed 42; adjust the fields.
    pub fn new(
        workspace_id: WorkspaceId,
        channels: Vec<(ConnectionId, ChannelKind)>,
        currency: Currency,
    ) -> Self {
        Self {
            workspace_id,
            channels,
            skus: 1_000,
            orders: 50_000,
            seed: 42,
            start: Utc
                .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            days: 180,
            currency,
        }
    }
}

/// Cancellation rate limits: marketplaces penalise sellers above ~8 %, and below 3 % is unrealistically clean.
pub const CANCEL_RATE_BOUNDS: (f64, f64) = (0.03, 0.08);
/// Return rate limits, as a share of delivered orders (apparel-heavy shops sit at the top).
pub const RETURN_RATE_BOUNDS: (f64, f64) = (0.05, 0.12);

/// Tunable rates of the model; the defaults describe a typical creator shop. Out-of-range values are clamped
/// into their documented bounds rather than rejected, so a demo can always be generated.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// Share of orders cancelled before fulfilment, within [`CANCEL_RATE_BOUNDS`].
    pub cancel_rate: f64,
    /// Share of delivered orders returned, within [`RETURN_RATE_BOUNDS`].
    pub return_rate: f64,
    /// Share of returns that can be sold again (the rest is written off).
    pub sellable_returns: f64,
    /// Probability that an order comes from an existing customer (0.2–0.7).
    pub returning_customer: f64,
    /// Share of brands selling pre-owned goods in grades S/A/B/C.
    pub resale_share: f64,
    /// Share of the catalog that never sells.
    pub dead_stock_share: f64,
    /// Share of orders whose conversion funnel is emitted (with its abandoned sessions).
    pub funnel_sample: f64,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            cancel_rate: 0.05,
            return_rate: 0.08,
            sellable_returns: 0.8,
            returning_customer: 0.42,
            resale_share: 0.15,
            dead_stock_share: 0.08,
            funnel_sample: 0.01,
        }
    }
}

impl Shape {
    fn sanitized(&self) -> Self {
        let d = Shape::default();
        let fit = |x: f64, lo: f64, hi: f64, default: f64| {
            if x.is_nan() { default } else { x.clamp(lo, hi) }
        };
        Self {
            cancel_rate: fit(
                self.cancel_rate,
                CANCEL_RATE_BOUNDS.0,
                CANCEL_RATE_BOUNDS.1,
                d.cancel_rate,
            ),
            return_rate: fit(
                self.return_rate,
                RETURN_RATE_BOUNDS.0,
                RETURN_RATE_BOUNDS.1,
                d.return_rate,
            ),
            sellable_returns: fit(self.sellable_returns, 0.0, 1.0, d.sellable_returns),
            returning_customer: fit(self.returning_customer, 0.2, 0.7, d.returning_customer),
            resale_share: fit(self.resale_share, 0.0, 1.0, d.resale_share),
            dead_stock_share: fit(self.dead_stock_share, 0.0, 0.5, d.dead_stock_share),
            funnel_sample: fit(self.funnel_sample, 0.0, 1.0, d.funnel_sample),
        }
    }
}

/// A planned viral moment, for benchmarks and alert tests that want to know where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViralSpike {
    pub sku: String,
    pub starts_at: DateTime<Utc>,
    pub hours: u32,
    /// Peak sales rate relative to the SKU's usual rate.
    pub multiplier: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub(crate) kind: ChannelKind,
    pub(crate) source: Source,
    pub(crate) actor: String,
    pub(crate) id: ConnectionId,
}

/// A generated demo shop. Building it lays out the catalog and calendar (cheap: memory is O(SKUs + hours));
/// the order history is produced on demand by [`Demo::activity`].
#[derive(Debug, Clone)]
pub struct Demo {
    pub(crate) spec: DemoSpec,
    pub(crate) shape: Shape,
    pub(crate) pricing: Pricing,
    pub(crate) catalog: Catalog,
    pub(crate) calendar: Calendar,
    pub(crate) channels: Vec<Channel>,
    pub(crate) currency: String,
    spikes: Vec<ViralSpike>,
}

/// Who the seller's own records (catalog, counts, receipts) are attributed to.
const SELLER_ACTOR: &str = "cli";

impl Demo {
    pub fn new(spec: DemoSpec) -> Self {
        Self::with_shape(spec, Shape::default())
    }

    /// Like [`Demo::new`] with non-default rates.
    pub fn with_shape(spec: DemoSpec, shape: Shape) -> Self {
        let shape = shape.sanitized();
        let pricing = Pricing::new(spec.currency);
        let catalog = Catalog::generate(&spec, &shape, &pricing);
        let calendar = Calendar::build(&spec, &catalog);
        let channels = spec
            .channels
            .iter()
            .map(|(id, kind)| Channel {
                kind: *kind,
                source: Source::Connection(*id),
                actor: format!("connection:{id}"),
                id: *id,
            })
            .collect();
        let spikes = calendar
            .spikes
            .iter()
            .map(|s| ViralSpike {
                sku: catalog
                    .skus
                    .get(s.sku as usize)
                    .map(|x| x.code.clone())
                    .unwrap_or_default(),
                starts_at: timestamp(calendar.hour_start(s.start_hour)),
                hours: s.hours as u32,
                multiplier: s.multiplier as u32,
            })
            .collect();
        Self {
            currency: spec.currency.code().to_owned(),
            spec,
            shape,
            pricing,
            catalog,
            calendar,
            channels,
            spikes,
        }
    }

    pub fn spec(&self) -> &DemoSpec {
        &self.spec
    }

    /// The rates actually used (after clamping into their bounds).
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The viral moments planned for this spec, in time order.
    pub fn viral_spikes(&self) -> &[ViralSpike] {
        &self.spikes
    }

    /// One `ProductUpserted` per product (with all its variants), dated two days before `start`.
    pub fn catalog(&self) -> impl Iterator<Item = IngestEvent> + '_ {
        let at = timestamp(self.calendar.start - 2 * calendar::DAY);
        self.catalog
            .products
            .iter()
            .enumerate()
            .map(move |(p, product)| {
                let first = product.first_sku as usize;
                let variants = self
                    .catalog
                    .skus
                    .iter()
                    .skip(first)
                    .take(product.variants as usize)
                    .map(|s| VariantUpsert {
                        sku: s.code.clone(),
                        external_id: None,
                        title: s.variant_title.clone(),
                        condition: Some(s.condition.to_owned()),
                        barcode: s.barcode.clone(),
                        currency: self.currency.clone(),
                        price_minor: s.price,
                        unit_cost_minor: Some(s.cost),
                    })
                    .collect();
                let brand = self
                    .catalog
                    .brands
                    .get(product.brand as usize)
                    .map(|b| b.name.clone());
                let category = CATEGORIES
                    .get(product.category as usize)
                    .map(|c| c.name.to_owned());
                self.seller_event(
                    format!("demo:{}:product:{p}", self.spec.seed),
                    at,
                    Payload::ProductUpserted(ProductUpsert {
                        external_id: None,
                        title: product.title.clone(),
                        brand,
                        category,
                        status: "active".to_owned(),
                        variants,
                    }),
                )
            })
    }

    /// Per SKU: a stock count (`InventorySet`) and its reorder settings (`InventoryPolicySet`), dated one day
    /// before `start`, at the workspace's default location.
    pub fn opening_stock(&self) -> impl Iterator<Item = IngestEvent> + '_ {
        let at = timestamp(self.calendar.start - calendar::DAY);
        let seed = self.spec.seed;
        self.catalog
            .skus
            .iter()
            .enumerate()
            .flat_map(move |(i, s)| {
                [
                    self.seller_event(
                        format!("demo:{seed}:stock:{i}:opening"),
                        at,
                        Payload::InventorySet(InventorySet {
                            sku: s.code.clone(),
                            location: None,
                            on_hand: s.opening,
                            reason: Some("opening count".to_owned()),
                        }),
                    ),
                    self.seller_event(
                        format!("demo:{seed}:policy:{i}:opening"),
                        at,
                        Payload::InventoryPolicySet(InventoryPolicy {
                            sku: s.code.clone(),
                            location: None,
                            safety_stock: Some(s.safety_stock),
                            reorder_point: Some(s.reorder_point),
                            lead_time_days: Some(s.lead_days as i32),
                            incoming: Some(0),
                        }),
                    ),
                ]
            })
    }

    /// Everything that happens after opening, in chronological order of `occurred_at` (ties in a fixed
    /// order): orders and their lifecycle, shipments, refunds, restocks, daily ad spend and content metrics,
    /// sampled funnel events. Generated lazily.
    pub fn activity(&self) -> impl Iterator<Item = IngestEvent> + '_ {
        activity::Activity::new(self)
    }

    /// Catalog, then opening stock, then activity: the whole demo in the order it must be ingested.
    pub fn events(&self) -> impl Iterator<Item = IngestEvent> + '_ {
        self.catalog()
            .chain(self.opening_stock())
            .chain(self.activity())
    }

    pub(crate) fn seller_event(
        &self,
        source_event_id: String,
        at: DateTime<Utc>,
        payload: Payload,
    ) -> IngestEvent {
        IngestEvent {
            workspace_id: self.spec.workspace_id,
            source: Source::Manual,
            source_event_id,
            actor: SELLER_ACTOR.to_owned(),
            occurred_at: at,
            payload,
        }
    }
}

/// Unix seconds to a timestamp; out-of-range values (far beyond any demo span) saturate.
pub(crate) fn timestamp(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(if secs < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

#[cfg(test)]
mod tests;
