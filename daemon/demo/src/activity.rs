//! The lazily generated order history: orders hour by hour, each order's whole fate decided when it is
//! placed and its later events queued by time; a merge step releases events in chronological order once no
//! later-generated event can precede them.

use crate::calendar::{DAY, HOUR, LIVE_DAYS, NO_SPIKE, is_live_time, weekday};
use crate::catalog::CATEGORIES;
use crate::util::{Stream, between, bps, chance, mix, pick, stream, uniform};
use crate::{ChannelKind, Demo, timestamp};
use creatorflow_core::ingest::{
    AdSpend, ContentMetrics, CustomerRef, FunnelEvent, IngestEvent, InventoryAdjust,
    InventoryPolicy, OrderLineIn, OrderStatus, OrderStatusChange, OrderUpsert, Payload,
    RefundRecord, ReturnLine, ShipmentRecord,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;

/// How far before its order an event generated for that order may lie (funnel steps precede checkout by
/// at most ~25 minutes). Events older than "next hour to generate − LOOKBACK" are final and can be released.
const LOOKBACK: i64 = HOUR;

/// Sales-tax rates by buyer region, basis points (no-tax states twice, so ~20 % of buyers pay none).
const TAX_BPS: [i64; 10] = [0, 0, 600, 625, 700, 725, 800, 825, 887, 950];

const FIRST_NAMES: &[&str] = &[
    "Ava",
    "Mia",
    "Zoe",
    "Lily",
    "Emma",
    "Chloe",
    "Nora",
    "Ivy",
    "Ruby",
    "Maya",
    "Aria",
    "Luna",
    "Grace",
    "Ella",
    "Hana",
    "Sofia",
    "Leah",
    "Jade",
    "Noah",
    "Liam",
    "Ethan",
    "Mason",
    "Leo",
    "Kai",
    "Omar",
    "Diego",
    "Jamal",
    "Theo",
    "Ezra",
    "Felix",
    "Priya",
    "Aisha",
    "Mei",
    "Yuki",
    "Camila",
    "Valentina",
    "Fatima",
    "Amara",
    "Jonah",
    "Nina",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Garcia", "Nguyen", "Patel", "Kim", "Brown", "Lopez", "Martin", "Lee",
    "Walker", "Hall", "Young", "Allen", "Wright", "Torres", "Rivera", "Chen", "Khan", "Okafor",
    "Silva", "Rossi", "Muller", "Novak", "Cohen", "Haddad", "Sato", "Park", "Reyes", "Bailey",
    "Cooper", "Diaz", "Evans", "Foster", "Gray", "Hughes", "Ito", "Jensen", "Kowalski", "Moreau",
];
const EMAIL_DOMAINS: [&str; 3] = ["example.com", "example.net", "example.org"];

const CARRIERS: [&str; 4] = ["USPS", "UPS", "FedEx", "DHL eCommerce"];
const CARRIER_WEIGHTS: [f64; 4] = [60.0, 22.0, 12.0, 6.0];

/// Return reasons and whether the item comes back sellable.
const SELLABLE_REASONS: [&str; 4] = [
    "size didn't fit",
    "changed mind",
    "ordered wrong colour",
    "arrived too late",
];
const DAMAGED_REASONS: [&str; 3] = ["damaged in transit", "defective", "not as described"];

/// Decay of a video's daily views by age in days.
const VIEW_DECAY: [f64; 14] = [
    1.0, 0.8, 0.45, 0.25, 0.15, 0.1, 0.07, 0.05, 0.04, 0.03, 0.025, 0.02, 0.015, 0.01,
];
/// Extra views of a viral video by age (× its multiplier).
const VIRAL_BOOST: [f64; 4] = [0.6, 0.35, 0.1, 0.03];

/// One ad campaign of a channel: id, name, share of the channel's orders it claims, ROAS range in percent,
/// whether it only runs on LIVE days, daily budget floor (USD-like).
type Campaign = (&'static str, &'static str, f64, (i64, i64), bool, f64);

fn campaigns(kind: ChannelKind) -> &'static [Campaign] {
    match kind {
        ChannelKind::TiktokShop => &[
            (
                "gmv-max",
                "GMV Max – always on",
                0.22,
                (300, 500),
                false,
                15.0,
            ),
            (
                "spark-live",
                "Spark Ads – LIVE boost",
                0.10,
                (180, 320),
                true,
                25.0,
            ),
        ],
        ChannelKind::Shopify => &[
            (
                "meta-asc",
                "Meta Advantage+ shopping",
                0.25,
                (200, 350),
                false,
                20.0,
            ),
            (
                "google-pmax",
                "Google Performance Max",
                0.15,
                (250, 450),
                false,
                10.0,
            ),
        ],
        ChannelKind::Whatnot => &[(
            "show-boost",
            "Whatnot show boost",
            0.08,
            (250, 600),
            true,
            10.0,
        )],
        ChannelKind::Manual => &[],
    }
}

#[derive(Debug)]
struct Scheduled {
    at: i64,
    seq: u64,
    action: Action,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A queued event. Far-future events stay compact (a shared order record plus a step) and are only turned
/// into an [`IngestEvent`] when released; near-term ones are built at once.
#[derive(Debug)]
enum Action {
    Ready(Box<IngestEvent>),
    Status {
        order: Arc<OrderCore>,
        status: OrderStatus,
        updated_at: i64,
    },
    Shipment {
        order: Arc<OrderCore>,
        stage: ShipStage,
    },
    Refund {
        order: Arc<OrderCore>,
    },
    Funnel {
        order: Arc<OrderCore>,
        stage: &'static str,
    },
    Restock {
        sku: u32,
        qty: i64,
        po: u32,
        regular: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShipStage {
    Shipped,
    Delivered,
    ReturnedToSender,
}

/// What later events of one order need; shared by them and dropped after the last one.
#[derive(Debug)]
struct OrderCore {
    n: u64,
    channel: usize,
    external_id: String,
    lines: Vec<(u32, i64)>,
    shipment: Option<ShipmentCore>,
    refund: Option<RefundCore>,
    content: Option<u32>,
}

#[derive(Debug)]
struct ShipmentCore {
    carrier: &'static str,
    tracking: String,
    cost: i64,
    shipped: i64,
    delivered: Option<i64>,
    returned: Option<i64>,
}

#[derive(Debug)]
struct RefundCore {
    kind: &'static str,
    reason: &'static str,
    amount: i64,
    /// SKU index, quantity, sellable.
    lines: Vec<(u32, i64, bool)>,
}

/// A video or LIVE on the creator's TikTok account.
#[derive(Debug)]
struct Content {
    external_id: String,
    live: bool,
    title: String,
    published: i64,
    day: i64,
    base_views: f64,
    viral: Option<i64>,
    orders_today: u32,
}

/// Amounts of the channel rules in workspace minor units, computed once.
#[derive(Debug)]
struct Rules {
    tiktok_free_from: i64,
    tiktok_shipping: i64,
    shopify_free_from: i64,
    shopify_shipping: i64,
    whatnot_shipping: i64,
    card_fixed_fee: i64,
    /// (order net at least, coupon amount), largest first.
    coupons: [(i64, i64); 3],
}

/// The iterator behind [`Demo::activity`].
#[derive(Debug)]
pub struct Activity<'a> {
    demo: &'a Demo,
    rng: ChaCha8Rng,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    hours: usize,
    next_hour: usize,
    next_order: u64,
    /// Free stock per SKU as the shop sees it: on hand minus open orders.
    free: Vec<i64>,
    incoming: Vec<i64>,
    purchase_orders: Vec<u32>,
    /// Home channel of every customer so far (its length is the number of customers).
    home: Vec<u16>,
    /// Buyers of recent orders (a ring); drawing from it makes frequent buyers more likely to buy again.
    recent: Vec<u32>,
    recent_cap: usize,
    recent_pos: usize,
    day: Option<i64>,
    /// Per channel: orders and net revenue of the day being generated, for ad reports.
    day_sales: Vec<(i64, i64)>,
    contents: Vec<Content>,
    content_from: usize,
    spike_content: Vec<Option<u32>>,
    content_channel: Option<usize>,
    viral_channel: Option<usize>,
    weights: Vec<f64>,
    live_weights: Vec<f64>,
    rules: Rules,
    times: Vec<i64>,
    finished: bool,
}

impl<'a> Activity<'a> {
    pub(crate) fn new(demo: &'a Demo) -> Self {
        let cat = &demo.catalog;
        let cal = &demo.calendar;
        let enabled = !demo.channels.is_empty() && !cat.skus.is_empty();
        let hours = if enabled { cal.counts.len() } else { 0 };
        let count_of =
            |k: ChannelKind| demo.channels.iter().filter(|c| c.kind == k).count().max(1) as f64;
        let weights: Vec<f64> = demo
            .channels
            .iter()
            .map(|c| c.kind.weight() / count_of(c.kind))
            .collect();
        let live_weights = demo
            .channels
            .iter()
            .zip(&weights)
            .map(|(c, w)| w * c.kind.live_lift())
            .collect();
        let first_tiktok = demo
            .channels
            .iter()
            .position(|c| c.kind == ChannelKind::TiktokShop);
        let p = &demo.pricing;
        let mut this = Self {
            demo,
            rng: stream(demo.spec.seed, Stream::Activity),
            queue: BinaryHeap::new(),
            seq: 0,
            hours,
            next_hour: 0,
            next_order: 0,
            free: cat.skus.iter().map(|s| s.opening).collect(),
            incoming: vec![0; cat.skus.len()],
            purchase_orders: vec![0; cat.skus.len()],
            home: Vec::new(),
            recent: Vec::new(),
            recent_cap: (demo.spec.orders / 4).clamp(1_000, 250_000),
            recent_pos: 0,
            day: None,
            day_sales: vec![(0, 0); demo.channels.len()],
            contents: Vec::new(),
            content_from: 0,
            spike_content: vec![None; cal.spikes.len()],
            content_channel: first_tiktok,
            viral_channel: first_tiktok,
            weights,
            live_weights,
            rules: Rules {
                tiktok_free_from: p.minor(25.0),
                tiktok_shipping: p.minor(3.99),
                shopify_free_from: p.minor(50.0),
                shopify_shipping: p.minor(5.99),
                whatnot_shipping: p.minor(7.99),
                card_fixed_fee: p.minor(0.30),
                coupons: [
                    (p.minor(150.0), p.minor(20.0)),
                    (p.minor(75.0), p.minor(10.0)),
                    (p.minor(30.0), p.minor(5.0)),
                ],
            },
            times: Vec::new(),
            finished: !enabled,
        };
        if enabled {
            // The seller stocks up the day before a promoted video so its spike shows as sales.
            for (k, s) in cal.spikes.iter().enumerate() {
                let at = (cal.hour_start(s.start_hour) - 20 * HOUR).max(cal.start);
                let qty = (s.expected_orders * 1.6).ceil() as i64 + 6;
                this.push(
                    at,
                    Action::Restock {
                        sku: s.sku,
                        qty,
                        po: k as u32,
                        regular: false,
                    },
                );
            }
        }
        this
    }

    fn push(&mut self, at: i64, action: Action) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            action,
        }));
    }

    fn ready(&mut self, at: i64, event: IngestEvent) {
        self.push(at, Action::Ready(Box::new(event)));
    }

    fn channel_event(
        &self,
        channel: usize,
        source_event_id: String,
        at: i64,
        payload: Payload,
    ) -> IngestEvent {
        let (source, actor) = match self.demo.channels.get(channel) {
            Some(c) => (c.source.clone(), c.actor.clone()),
            None => (creatorflow_core::ingest::Source::Manual, "cli".to_owned()),
        };
        IngestEvent {
            workspace_id: self.demo.spec.workspace_id,
            source,
            source_event_id,
            actor,
            occurred_at: timestamp(at),
            payload,
        }
    }

    fn kind(&self, channel: usize) -> ChannelKind {
        self.demo
            .channels
            .get(channel)
            .map_or(ChannelKind::Manual, |c| c.kind)
    }

    fn sku_code(&self, sku: u32) -> String {
        self.demo
            .catalog
            .skus
            .get(sku as usize)
            .map(|s| s.code.clone())
            .unwrap_or_default()
    }

    fn free_of(&self, sku: usize) -> i64 {
        self.free.get(sku).copied().unwrap_or(0)
    }

    fn draw_channel(&mut self, live: bool) -> usize {
        let weights = if live {
            &self.live_weights
        } else {
            &self.weights
        };
        pick(&mut self.rng, weights)
    }

    /// A SKU by demand; a sold-out pick is replaced by another (the buyer chooses something else). After a
    /// few sold-out picks the last one is sold anyway — a rare oversell, as happens in real shops.
    fn draw_sku(&mut self) -> u32 {
        let mut last = 0;
        for _ in 0..6 {
            last = self.demo.catalog.demand.sample(&mut self.rng);
            if self.free_of(last) >= 1 {
                break;
            }
        }
        last as u32
    }

    /// A second item for the basket: often from the same brand, never a sold-out one.
    fn draw_addon(&mut self, brand: usize) -> Option<u32> {
        let cat = &self.demo.catalog;
        let sku = match cat.brand_skus.get(brand) {
            Some(list) if !list.is_empty() && chance(&mut self.rng, 0.4) => {
                list.get(self.rng.random_range(0..list.len())).copied()
            }
            _ => Some(cat.demand.sample(&mut self.rng) as u32),
        }?;
        (self.free_of(sku as usize) >= 1).then_some(sku)
    }

    fn brand_of(&self, sku: u32) -> usize {
        let cat = &self.demo.catalog;
        cat.skus
            .get(sku as usize)
            .and_then(|s| cat.products.get(s.product as usize))
            .map_or(0, |p| p.brand as usize)
    }

    fn tiktok_fee_bps(&self, sku: u32) -> i64 {
        let cat = &self.demo.catalog;
        cat.skus
            .get(sku as usize)
            .and_then(|s| cat.products.get(s.product as usize))
            .and_then(|p| CATEGORIES.get(p.category as usize))
            .map_or(600, |c| c.tiktok_fee_bps)
    }

    /// Places a purchase order when free stock reaches the reorder point and none is on its way.
    fn maybe_reorder(&mut self, sku: u32, t: i64) {
        let i = sku as usize;
        let Some(s) = self.demo.catalog.skus.get(i) else {
            return;
        };
        let free = self.free_of(i);
        if s.share <= 0.0
            || self.incoming.get(i).copied().unwrap_or(0) > 0
            || free > s.reorder_point
        {
            return;
        }
        let qty = s.reorder_qty + (-free).max(0);
        let lead = s.lead_days;
        if let Some(x) = self.incoming.get_mut(i) {
            *x = qty;
        }
        let po = match self.purchase_orders.get_mut(i) {
            Some(x) => {
                *x += 1;
                *x
            }
            None => 0,
        };
        let seed = self.demo.spec.seed;
        let event = self.demo.seller_event(
            format!("demo:{seed}:restock:{i}:{po}:ordered"),
            timestamp(t + 60),
            Payload::InventoryPolicySet(InventoryPolicy {
                sku: s.code.clone(),
                location: None,
                safety_stock: None,
                reorder_point: None,
                lead_time_days: None,
                incoming: Some(qty),
            }),
        );
        self.ready(t + 60, event);
        // Deliveries arrive during receiving hours on the day the lead time ends.
        let arrival =
            (t + lead * DAY).div_euclid(DAY) * DAY + between(&mut self.rng, 10 * HOUR, 16 * HOUR);
        let arrival = arrival.max(t + HOUR);
        self.push(
            arrival,
            Action::Restock {
                sku,
                qty,
                po,
                regular: true,
            },
        );
    }

    fn remember_buyer(&mut self, customer: u32) {
        if self.recent.len() < self.recent_cap {
            self.recent.push(customer);
        } else if let Some(slot) = self.recent.get_mut(self.recent_pos) {
            *slot = customer;
            self.recent_pos = (self.recent_pos + 1) % self.recent_cap;
        }
    }

    fn customer_ref(&self, customer: u32, channel: usize) -> CustomerRef {
        let h = mix(self.demo.spec.seed ^ u64::from(customer).wrapping_mul(0xA24B_AED4_963E_E407));
        let first = FIRST_NAMES
            .get((h % FIRST_NAMES.len() as u64) as usize)
            .copied()
            .unwrap_or("Alex");
        let last = LAST_NAMES
            .get(((h >> 16) % LAST_NAMES.len() as u64) as usize)
            .copied()
            .unwrap_or("Doe");
        let domain = EMAIL_DOMAINS
            .get(((h >> 32) % 3) as usize)
            .copied()
            .unwrap_or("example.com");
        let kind = self.kind(channel);
        // TikTok and hand-recorded sales often come without an email; that is what makes matching hard.
        let with_email = match kind {
            ChannelKind::TiktokShop => (h >> 40) % 10 < 7,
            ChannelKind::Manual => (h >> 40) % 10 < 6,
            ChannelKind::Shopify | ChannelKind::Whatnot => true,
        };
        let prefix = match kind {
            ChannelKind::TiktokShop => "tt-buyer",
            ChannelKind::Shopify => "shopify-customer",
            ChannelKind::Whatnot => "whatnot-user",
            ChannelKind::Manual => "manual-customer",
        };
        let conn = self.demo.channels.get(channel).map_or(0, |c| c.id.0);
        CustomerRef {
            external_id: format!("{prefix}-{conn}-{customer}"),
            email: with_email.then(|| {
                format!(
                    "{}.{}.{customer}@{domain}",
                    first.to_ascii_lowercase(),
                    last.to_ascii_lowercase()
                )
            }),
            display_name: Some(format!("{first} {}.", last.chars().next().unwrap_or('X'))),
        }
    }

    fn order_external_id(&self, n: u64, channel: usize) -> String {
        let offset = mix(self.demo.spec.seed) % 1_000_000_000;
        match self.kind(channel) {
            ChannelKind::TiktokShop => format!("57{:016}", 3_000_000_000_000 + offset * 1_000 + n),
            ChannelKind::Shopify => format!("6{:012}", 100_000_000_000 + offset + n),
            ChannelKind::Whatnot => format!("WN-{:09}", 10_000_000 + n),
            ChannelKind::Manual => format!("M-{:07}", n + 1),
        }
    }

    /// Next shipping window after payment: same day if paid before the 14:00 cut-off, no Sunday pickups,
    /// and an occasional one-to-three-day delay.
    fn ship_time(&mut self, paid: i64) -> i64 {
        let today = paid.div_euclid(DAY) * DAY;
        let same_day = paid - today < 14 * HOUR && weekday(paid) != 6;
        let mut day = if same_day { today } else { today + DAY };
        if chance(&mut self.rng, 0.08) {
            day += between(&mut self.rng, 1, 3) * DAY;
        }
        while weekday(day) == 6 {
            day += DAY;
        }
        let at = if day == today {
            day + between(&mut self.rng, 15 * HOUR, 19 * HOUR)
        } else {
            day + between(&mut self.rng, 10 * HOUR, 18 * HOUR)
        };
        at.max(paid + 30 * 60 + between(&mut self.rng, 0, HOUR))
    }

    /// Delivery in daytime, 2–6 days after shipping (10 % express, 1–2 days).
    fn delivery_time(&mut self, shipped: i64) -> i64 {
        let transit = if chance(&mut self.rng, 0.1) {
            between(&mut self.rng, 1, 2)
        } else {
            between(&mut self.rng, 2, 6)
        };
        let at =
            (shipped.div_euclid(DAY) + transit) * DAY + between(&mut self.rng, 9 * HOUR, 20 * HOUR);
        at.max(shipped + 12 * HOUR + between(&mut self.rng, 0, 6 * HOUR))
    }

    fn lag(&mut self) -> i64 {
        between(&mut self.rng, 0, 30)
    }

    /// Which video or LIVE (if any) brought this TikTok order.
    fn attribute(&mut self, t: i64, spike: Option<usize>) -> Option<u32> {
        if let Some(c) = spike.and_then(|k| self.spike_content.get(k).copied().flatten()) {
            return Some(c);
        }
        if is_live_time(t) && chance(&mut self.rng, 0.75) {
            let today = t.div_euclid(DAY);
            let live = self
                .contents
                .iter()
                .rposition(|c| c.live && c.day == today && c.published <= t);
            if let Some(i) = live {
                return Some(i as u32);
            }
        }
        if chance(&mut self.rng, 0.35) {
            let mut recent = [0_u32; 6];
            let mut found = 0;
            for (i, c) in self.contents.iter().enumerate().rev() {
                if c.published < t - 8 * DAY || found == recent.len() {
                    break;
                }
                if !c.live && c.published <= t && c.published >= t - 7 * DAY {
                    if let Some(slot) = recent.get_mut(found) {
                        *slot = i as u32;
                    }
                    found += 1;
                }
            }
            if found > 0 {
                return recent.get(self.rng.random_range(0..found)).copied();
            }
        }
        None
    }

    fn generate_hour(&mut self) {
        let h = self.next_hour;
        self.next_hour += 1;
        let demo = self.demo;
        let cal = &demo.calendar;
        let t0 = cal.hour_start(h);
        let day = t0.div_euclid(DAY);
        if self.day != Some(day) {
            if let Some(previous) = self.day {
                self.close_day(previous);
            }
            self.day = Some(day);
            self.open_day(day);
        }
        let count = cal.counts.get(h).copied().unwrap_or(0);
        let mut times = std::mem::take(&mut self.times);
        times.clear();
        for _ in 0..count {
            times.push(t0 + self.rng.random_range(0..HOUR));
        }
        times.sort_unstable();
        for t in &times {
            self.place_order(*t, h);
        }
        self.times = times;
    }

    /// Decides one order's whole story and queues its events.
    fn place_order(&mut self, t: i64, h: usize) {
        let demo = self.demo;
        let cal = &demo.calendar;
        let shape = &demo.shape;
        let seed = demo.spec.seed;
        let n = self.next_order;
        self.next_order += 1;

        let spike = match (cal.spike_share.get(h), cal.spike_of.get(h)) {
            (Some(p), Some(k)) if *k != NO_SPIKE && chance(&mut self.rng, *p) => Some(*k as usize),
            _ => None,
        };
        let live = is_live_time(t);

        // Buyer and channel. Viral buyers are mostly new and buy where the video is.
        let p_returning = if spike.is_some() {
            0.15
        } else {
            shape.returning_customer
        };
        // A young shop has few past buyers to come back; the returning share ramps up with the pool.
        let pool = self.home.len() as f64;
        let p_returning = p_returning * pool / (pool + 200.0);
        let forced = spike.and(self.viral_channel);
        let (customer, channel) = if !self.home.is_empty() && chance(&mut self.rng, p_returning) {
            let c = if self.recent.is_empty() || chance(&mut self.rng, 0.1) {
                // A lapsed buyer coming back.
                self.rng.random_range(0..self.home.len() as u32)
            } else {
                self.recent
                    .get(self.rng.random_range(0..self.recent.len()))
                    .copied()
                    .unwrap_or(0)
            };
            let home = self.home.get(c as usize).map_or(0, |x| *x as usize);
            let channel = match forced {
                Some(v) => v,
                None if chance(&mut self.rng, 0.8) => home,
                None => self.draw_channel(live),
            };
            (c, channel)
        } else {
            let channel = forced.unwrap_or_else(|| self.draw_channel(live));
            self.home.push(channel as u16);
            ((self.home.len() - 1) as u32, channel)
        };
        self.remember_buyer(customer);
        let kind = self.kind(channel);

        // Basket.
        let n_lines = 1 + pick(&mut self.rng, &[77.0, 16.0, 5.0, 2.0]);
        let mut lines: Vec<(u32, i64)> = Vec::with_capacity(n_lines);
        for i in 0..n_lines {
            let sku = if i == 0 {
                match spike.and_then(|k| cal.spikes.get(k)) {
                    Some(s) if self.free_of(s.sku as usize) >= 1 => s.sku,
                    _ => self.draw_sku(),
                }
            } else {
                let brand = lines.first().map_or(0, |l| self.brand_of(l.0));
                match self.draw_addon(brand) {
                    Some(s) => s,
                    None => continue,
                }
            };
            if lines.iter().any(|l| l.0 == sku) {
                continue;
            }
            let resale = demo.catalog.skus.get(sku as usize).is_none_or(|s| s.resale);
            let mut qty = if resale {
                1
            } else {
                1 + pick(&mut self.rng, &[84.0, 12.0, 4.0]) as i64
            };
            let free = self.free_of(sku as usize);
            if free >= 1 && free < qty {
                qty = free;
            }
            lines.push((sku, qty));
        }
        for (sku, qty) in &lines {
            if let Some(f) = self.free.get_mut(*sku as usize) {
                *f -= qty;
            }
            self.maybe_reorder(*sku, t);
        }

        // Money: gross, discounts split over lines, shipping, tax per line, fees.
        let skus = &demo.catalog.skus;
        let gross: Vec<i64> = lines
            .iter()
            .map(|(s, q)| skus.get(*s as usize).map_or(0, |x| x.price) * q)
            .collect();
        let subtotal: i64 = gross.iter().sum();
        let mut line_discount = vec![0_i64; lines.len()];
        let discount_chance = match kind {
            ChannelKind::TiktokShop => 0.35,
            ChannelKind::Shopify => 0.22,
            ChannelKind::Whatnot => 0.10,
            ChannelKind::Manual => 0.05,
        } + if spike.is_some() { 0.2 } else { 0.0 };
        if chance(&mut self.rng, discount_chance) {
            if chance(&mut self.rng, 0.7) {
                let pct = [10, 15, 20, 25, 30][pick(&mut self.rng, &[30.0, 30.0, 20.0, 12.0, 8.0])];
                for (d, g) in line_discount.iter_mut().zip(&gross) {
                    *d = g * pct / 100;
                }
            } else if let Some((_, coupon)) = self
                .rules
                .coupons
                .iter()
                .find(|(from, _)| subtotal >= *from)
            {
                split_proportionally(*coupon, &gross, &mut line_discount);
            }
        }
        let discount: i64 = line_discount.iter().sum();
        let line_net: Vec<i64> = gross
            .iter()
            .zip(&line_discount)
            .map(|(g, d)| g - d)
            .collect();
        let net = subtotal - discount;
        let r = &self.rules;
        let shipping = match kind {
            ChannelKind::TiktokShop if net < r.tiktok_free_from => r.tiktok_shipping,
            ChannelKind::Shopify if net < r.shopify_free_from => r.shopify_shipping,
            ChannelKind::Whatnot => r.whatnot_shipping,
            _ => 0,
        };
        let region = mix(seed ^ 0x7A8 ^ u64::from(customer).wrapping_mul(0x9E37_79B9));
        let tax_rate = if demo.pricing.sales_tax {
            TAX_BPS
                .get((region % TAX_BPS.len() as u64) as usize)
                .copied()
                .unwrap_or(0)
        } else {
            0
        };
        let line_tax: Vec<i64> = line_net.iter().map(|x| bps(*x, tax_rate)).collect();
        let tax: i64 = line_tax.iter().sum();
        let total = net + shipping + tax;
        let fees = match kind {
            ChannelKind::TiktokShop => {
                lines
                    .iter()
                    .zip(&line_net)
                    .map(|((s, _), x)| bps(*x, self.tiktok_fee_bps(*s)))
                    .sum::<i64>()
                    + bps(shipping, 600)
            }
            ChannelKind::Shopify => bps(total, 290) + r.card_fixed_fee,
            ChannelKind::Whatnot => bps(net, 800) + bps(total, 290) + r.card_fixed_fee,
            ChannelKind::Manual => 0,
        };
        if let Some(d) = self.day_sales.get_mut(channel) {
            d.0 += 1;
            d.1 += net;
        }

        // Lifecycle.
        let cancelled = chance(&mut self.rng, shape.cancel_rate);
        let never_paid = cancelled && chance(&mut self.rng, 0.3);
        let pending_share = match kind {
            ChannelKind::TiktokShop => 0.08,
            ChannelKind::Shopify => 0.03,
            ChannelKind::Whatnot => 0.02,
            ChannelKind::Manual => 0.3,
        };
        let pending = never_paid || chance(&mut self.rng, pending_share);
        let paid = if never_paid {
            None
        } else if pending {
            Some(match kind {
                ChannelKind::Manual => t + between(&mut self.rng, 600, 12 * HOUR),
                _ => t + between(&mut self.rng, 60, 1_800),
            })
        } else {
            Some(t + between(&mut self.rng, 2, 40))
        };
        let first_update = if pending { t } else { paid.unwrap_or(t) };

        let content = if Some(channel) == self.content_channel {
            self.attribute(t, spike)
        } else {
            None
        };
        if let Some(c) = content.and_then(|c| self.contents.get_mut(c as usize)) {
            c.orders_today += 1;
        }

        let mut cancel_at = None;
        let mut fulfilled = None;
        let mut shipment = None;
        let mut refund = None;
        let mut refunded_at = None;
        let mut delivered = None;
        if never_paid {
            cancel_at = Some(t + between(&mut self.rng, 30 * 60, DAY));
        } else if let Some(p) = paid {
            let ship = self.ship_time(p);
            if cancelled {
                cancel_at = Some(between(&mut self.rng, p + 120, (ship - 60).max(p + 120)));
            } else {
                fulfilled = Some(ship);
                let grams: i64 = lines
                    .iter()
                    .map(|(s, q)| skus.get(*s as usize).map_or(300, |x| x.grams) * q)
                    .sum();
                let label_usd = match grams {
                    0..=250 => 4.20,
                    251..=500 => 5.10,
                    501..=1_000 => 7.40,
                    1_001..=2_000 => 9.80,
                    _ => 13.50 + (grams - 2_000) as f64 / 1_000.0 * 2.0,
                };
                let cost = demo
                    .pricing
                    .minor(label_usd * uniform(&mut self.rng, 0.92, 1.08));
                let carrier_ix = pick(&mut self.rng, &CARRIER_WEIGHTS);
                let carrier = CARRIERS.get(carrier_ix).copied().unwrap_or("USPS");
                let th = mix(seed ^ 0x5417 ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03));
                let tracking = match carrier_ix {
                    0 => format!("9400{:018}", th % 1_000_000_000_000_000_000),
                    1 => format!("1Z{:06X}03{:08}", th & 0xFF_FFFF, (th >> 24) % 100_000_000),
                    2 => format!("{:012}", th % 1_000_000_000_000),
                    _ => format!("{:010}", th % 10_000_000_000),
                };
                let mut ship_core = ShipmentCore {
                    carrier,
                    tracking,
                    cost,
                    shipped: ship,
                    delivered: None,
                    returned: None,
                };
                if chance(&mut self.rng, 0.005) {
                    // Undeliverable: back to the seller, refunded in full, restocked.
                    let back = ship + between(&mut self.rng, 5 * DAY, 12 * DAY);
                    ship_core.returned = Some(back);
                    let at = back + between(&mut self.rng, DAY, 3 * DAY);
                    refund = Some((
                        at,
                        RefundCore {
                            kind: "return",
                            reason: "undeliverable",
                            amount: total,
                            lines: lines.iter().map(|(s, q)| (*s, *q, true)).collect(),
                        },
                    ));
                    refunded_at = Some(at + between(&mut self.rng, 60, 600));
                } else {
                    let d = self.delivery_time(ship);
                    ship_core.delivered = Some(d);
                    delivered = Some(d);
                    if chance(&mut self.rng, shape.return_rate) {
                        let (core, full) = self.plan_return(
                            &lines,
                            &line_net,
                            &line_tax,
                            shipping,
                            shape.sellable_returns,
                        );
                        let at = d + between(&mut self.rng, 5 * DAY, 25 * DAY);
                        if full {
                            refunded_at = Some(at + between(&mut self.rng, 60, 600));
                        }
                        refund = Some((at, core));
                    } else if chance(&mut self.rng, 0.01) {
                        // Money-only partial refund; the buyer keeps the item.
                        let reason = if chance(&mut self.rng, 0.5) {
                            "arrived late"
                        } else {
                            "minor defect, item kept"
                        };
                        let amount = bps(net, between(&mut self.rng, 1_000, 3_000)).max(1);
                        let at = d + between(&mut self.rng, DAY, 10 * DAY);
                        refund = Some((
                            at,
                            RefundCore {
                                kind: "refund",
                                reason,
                                amount,
                                lines: Vec::new(),
                            },
                        ));
                    }
                }
                shipment = Some(ship_core);
            }
        }

        let external_id = self.order_external_id(n, channel);
        let sampled = chance(&mut self.rng, shape.funnel_sample);
        let (refund_at, refund_core) = match refund {
            Some((at, core)) => (Some(at), Some(core)),
            None => (None, None),
        };
        let order = Arc::new(OrderCore {
            n,
            channel,
            external_id: external_id.clone(),
            lines: lines.clone(),
            shipment,
            refund: refund_core,
            content,
        });

        // The order as first seen: pending, or paid at checkout.
        let upsert = OrderUpsert {
            external_id,
            status: if pending {
                OrderStatus::Pending
            } else {
                OrderStatus::Paid
            },
            currency: demo.currency.clone(),
            placed_at: timestamp(t),
            paid_at: if pending { None } else { paid.map(timestamp) },
            fulfilled_at: None,
            delivered_at: None,
            cancelled_at: None,
            updated_at: timestamp(first_update),
            customer: Some(self.customer_ref(customer, channel)),
            subtotal_minor: subtotal,
            discount_minor: discount,
            shipping_charged_minor: shipping,
            tax_minor: tax,
            total_minor: total,
            fees_minor: fees,
            location: None,
            lines: lines
                .iter()
                .zip(&line_discount)
                .enumerate()
                .map(|(i, ((s, q), d))| {
                    let sku = skus.get(*s as usize);
                    OrderLineIn {
                        external_id: Some(format!("{}-{}", order.external_id, i + 1)),
                        sku: sku.map(|x| x.code.clone()).unwrap_or_default(),
                        title: sku.map(|x| x.line_title.clone()).unwrap_or_default(),
                        quantity: *q,
                        unit_price_minor: sku.map_or(0, |x| x.price),
                        discount_minor: *d,
                    }
                })
                .collect(),
        };
        let event = self.channel_event(
            channel,
            format!("demo:{seed}:order:{n}:placed"),
            first_update,
            Payload::OrderUpserted(upsert),
        );
        self.ready(first_update, event);

        if sampled {
            self.funnel_sessions(&order, t, h);
        }
        if pending && let Some(p) = paid {
            let updated_at = p + self.lag();
            self.push(
                p,
                Action::Status {
                    order: order.clone(),
                    status: OrderStatus::Paid,
                    updated_at,
                },
            );
            if sampled {
                self.push(
                    p,
                    Action::Funnel {
                        order: order.clone(),
                        stage: "paid",
                    },
                );
            }
        } else if sampled && let Some(p) = paid {
            self.push(
                p,
                Action::Funnel {
                    order: order.clone(),
                    stage: "paid",
                },
            );
        }
        if let Some(c) = cancel_at {
            let updated_at = c + self.lag();
            self.push(
                c,
                Action::Status {
                    order: order.clone(),
                    status: OrderStatus::Cancelled,
                    updated_at,
                },
            );
        }
        if let Some(f) = fulfilled {
            let updated_at = f + self.lag();
            self.push(
                f,
                Action::Status {
                    order: order.clone(),
                    status: OrderStatus::Fulfilled,
                    updated_at,
                },
            );
            self.push(
                f,
                Action::Shipment {
                    order: order.clone(),
                    stage: ShipStage::Shipped,
                },
            );
            if sampled {
                self.push(
                    f,
                    Action::Funnel {
                        order: order.clone(),
                        stage: "fulfilled",
                    },
                );
            }
        }
        if let Some(d) = delivered {
            let updated_at = d + self.lag();
            self.push(
                d,
                Action::Status {
                    order: order.clone(),
                    status: OrderStatus::Delivered,
                    updated_at,
                },
            );
            self.push(
                d,
                Action::Shipment {
                    order: order.clone(),
                    stage: ShipStage::Delivered,
                },
            );
        }
        if let Some(back) = order.shipment.as_ref().and_then(|s| s.returned) {
            self.push(
                back,
                Action::Shipment {
                    order: order.clone(),
                    stage: ShipStage::ReturnedToSender,
                },
            );
        }
        if let Some(at) = refund_at {
            self.push(
                at,
                Action::Refund {
                    order: order.clone(),
                },
            );
        }
        if let Some(at) = refunded_at {
            let updated_at = at + self.lag();
            self.push(
                at,
                Action::Status {
                    order,
                    status: OrderStatus::Refunded,
                    updated_at,
                },
            );
        }
    }

    /// Which lines come back and what is refunded: goods and their tax for the returned units, plus the
    /// shipping charge when the seller was at fault and everything came back.
    fn plan_return(
        &mut self,
        lines: &[(u32, i64)],
        line_net: &[i64],
        line_tax: &[i64],
        shipping: i64,
        sellable_share: f64,
    ) -> (RefundCore, bool) {
        let sellable = chance(&mut self.rng, sellable_share);
        let reason = if sellable {
            SELLABLE_REASONS
                .get(self.rng.random_range(0..SELLABLE_REASONS.len()))
                .copied()
        } else {
            DAMAGED_REASONS
                .get(self.rng.random_range(0..DAMAGED_REASONS.len()))
                .copied()
        }
        .unwrap_or("other");
        let all_lines = lines.len() == 1 || chance(&mut self.rng, 0.4);
        let only = self.rng.random_range(0..lines.len().max(1));
        let mut out = Vec::new();
        let mut amount = 0;
        let mut full = true;
        for (i, (sku, qty)) in lines.iter().enumerate() {
            if !all_lines && i != only {
                full = false;
                continue;
            }
            // Multi-unit lines: usually everything, sometimes just one unit.
            let back = if *qty > 1 && chance(&mut self.rng, 0.3) {
                1
            } else {
                *qty
            };
            if back < *qty {
                full = false;
            }
            let value =
                line_net.get(i).copied().unwrap_or(0) + line_tax.get(i).copied().unwrap_or(0);
            amount += value * back / (*qty).max(1);
            out.push((*sku, back, sellable));
        }
        if full && !sellable {
            amount += shipping;
        }
        (
            RefundCore {
                kind: "return",
                reason,
                amount,
                lines: out,
            },
            full,
        )
    }

    /// The sampled order's own session (view → product → cart → checkout, then paid/fulfilled when they
    /// happen) plus the abandoned sessions around it, so funnel drop-offs look real without one event per
    /// view.
    fn funnel_sessions(&mut self, order: &Arc<OrderCore>, t: i64, h: usize) {
        let channel = order.channel;
        let content = order
            .content
            .and_then(|c| self.contents.get(c as usize))
            .map(|c| c.external_id.clone());
        let sku = order.lines.first().map_or(0, |l| l.0);
        let checkout = t - between(&mut self.rng, 5, 60);
        let cart = checkout - between(&mut self.rng, 30, 300);
        let product = cart - between(&mut self.rng, 20, 600);
        let video = product - between(&mut self.rng, 5, 300);
        let mut steps = vec![
            ("product_view", product),
            ("add_to_cart", cart),
            ("checkout", checkout),
        ];
        if content.is_some() {
            steps.insert(0, ("video_view", video));
        }
        for (stage, at) in steps {
            let e = self.funnel_event(channel, order.n, 0, stage, content.clone(), sku, at);
            self.ready(at, e);
        }
        let hour_start = self.demo.calendar.hour_start(h);
        let abandoned = between(&mut self.rng, 10, 30);
        for k in 1..=abandoned {
            let sku = self.draw_sku();
            let mut at = hour_start + self.rng.random_range(0..HOUR);
            let stages: &[&str] = if content.is_some() {
                let depth = 1 + pick(&mut self.rng, &[70.0, 20.0, 7.0, 3.0]);
                FUNNEL_PRE.get(..depth).unwrap_or(&FUNNEL_PRE)
            } else {
                let depth = 1 + pick(&mut self.rng, &[75.0, 17.0, 8.0]);
                FUNNEL_PRE.get(1..1 + depth).unwrap_or(&FUNNEL_PRE)
            };
            for stage in stages {
                let e =
                    self.funnel_event(channel, order.n, k as u64, stage, content.clone(), sku, at);
                self.ready(at, e);
                at += between(&mut self.rng, 10, 300);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn funnel_event(
        &self,
        channel: usize,
        n: u64,
        session: u64,
        stage: &'static str,
        content: Option<String>,
        sku: u32,
        at: i64,
    ) -> IngestEvent {
        let seed = self.demo.spec.seed;
        self.channel_event(
            channel,
            format!("demo:{seed}:funnel:{n}:{session}:{stage}"),
            at,
            Payload::FunnelEventRecorded(FunnelEvent {
                external_id: Some(format!("fn-{n}-{session}-{stage}")),
                stage: stage.to_owned(),
                session_key: Some(format!("sess-{seed}-{n}-{session}")),
                content_external_id: content,
                sku: Some(self.sku_code(sku)),
                occurred_at: timestamp(at),
            }),
        )
    }

    /// New content for the day: one or two videos, a LIVE on show days, and the video behind any spike
    /// starting today.
    fn open_day(&mut self, day: i64) {
        if self.content_channel.is_none() {
            return;
        }
        let day0 = day * DAY;
        let videos = if chance(&mut self.rng, 0.35) { 2 } else { 1 };
        for _ in 0..videos {
            let published = day0 + between(&mut self.rng, 11 * HOUR, 22 * HOUR);
            let sku = self.demo.catalog.demand.sample(&mut self.rng) as u32;
            let u = self.rng.random::<f64>();
            let title = self.video_title(sku);
            self.add_content(false, title, published, 2_000.0 + 38_000.0 * u * u, None);
        }
        if LIVE_DAYS.contains(&weekday(day0)) {
            let views = uniform(&mut self.rng, 3_000.0, 25_000.0);
            let name = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
                .get(weekday(day0) as usize)
                .copied()
                .unwrap_or("Weekly");
            self.add_content(
                true,
                format!("LIVE: {name} night drops"),
                day0 + 19 * HOUR,
                views,
                None,
            );
        }
        let demo = self.demo;
        let cal = &demo.calendar;
        let starting: Vec<(usize, i64, u32, i64)> = cal
            .spikes
            .iter()
            .enumerate()
            .filter(|(_, s)| cal.hour_start(s.start_hour).div_euclid(DAY) == day)
            .map(|(k, s)| (k, cal.hour_start(s.start_hour), s.sku, s.multiplier))
            .collect();
        for (k, start, sku, multiplier) in starting {
            let published = start - between(&mut self.rng, 600, 3_000);
            let views = uniform(&mut self.rng, 30_000.0, 60_000.0);
            let title = self.video_title(sku);
            let index = self.add_content(false, title, published, views, Some(multiplier));
            if let Some(slot) = self.spike_content.get_mut(k) {
                *slot = Some(index);
            }
        }
    }

    fn video_title(&mut self, sku: u32) -> String {
        let cat = &self.demo.catalog;
        let product = cat
            .skus
            .get(sku as usize)
            .and_then(|s| cat.products.get(s.product as usize))
            .map_or("my favourites", |p| p.title.as_str());
        match self.rng.random_range(0..5_u32) {
            0 => format!("GRWM with the {product}"),
            1 => format!("{product}: honest review"),
            2 => format!("3 ways to style the {product}"),
            3 => format!("Restock alert: {product}"),
            _ => format!("Unboxing haul ft. {product}"),
        }
    }

    fn add_content(
        &mut self,
        live: bool,
        title: String,
        published: i64,
        base_views: f64,
        viral: Option<i64>,
    ) -> u32 {
        let index = self.contents.len();
        let id = mix(self.demo.spec.seed ^ 0xC0) % 1_000_000_000_000_000 + index as u64;
        self.contents.push(Content {
            external_id: format!("73{id:017}"),
            live,
            title,
            published,
            day: published.div_euclid(DAY),
            base_views,
            viral,
            orders_today: 0,
        });
        index as u32
    }

    /// End of a day: the platforms' daily reports arrive the next morning.
    fn close_day(&mut self, day: i64) {
        let seed = self.demo.spec.seed;
        let date = timestamp(day * DAY).date_naive();
        let next_morning = (day + 1) * DAY;
        let live_day = LIVE_DAYS.contains(&weekday(day * DAY));
        let sales = std::mem::replace(&mut self.day_sales, vec![(0, 0); self.demo.channels.len()]);
        for (ch, (orders, revenue)) in sales.into_iter().enumerate() {
            let kind = self.kind(ch);
            let conn = self.demo.channels.get(ch).map_or(0, |c| c.id.0);
            for (k, (id, name, share, roas, live_only, floor)) in campaigns(kind).iter().enumerate()
            {
                if *live_only && !live_day {
                    continue;
                }
                let conversions =
                    (orders as f64 * share * uniform(&mut self.rng, 0.8, 1.2)).round() as i64;
                let conversions = conversions.min(orders);
                let attributed = if orders > 0 {
                    revenue * conversions / orders
                } else {
                    0
                };
                let roas_pct = between(&mut self.rng, roas.0, roas.1);
                let spend =
                    (attributed * 100 / roas_pct.max(1)).max(self.demo.pricing.minor(*floor));
                let cvr_permille = between(&mut self.rng, 15, 40);
                let clicks = (conversions * 1_000 / cvr_permille).max(conversions)
                    + between(&mut self.rng, 0, 20);
                let ctr_permille = between(&mut self.rng, 8, 20);
                let impressions = clicks * 1_000 / ctr_permille + between(&mut self.rng, 0, 500);
                let at = next_morning + 3 * HOUR + (ch as i64) * 300 + (k as i64) * 60;
                let event = self.channel_event(
                    ch,
                    format!("demo:{seed}:ads:{conn}:{id}:{date}"),
                    at,
                    Payload::AdSpendRecorded(AdSpend {
                        campaign_external_id: format!("demo-{conn}-{id}"),
                        campaign_name: (*name).to_owned(),
                        day: date,
                        spend_minor: spend,
                        currency: self.demo.currency.clone(),
                        impressions,
                        clicks,
                        conversions,
                        attributed_revenue_minor: attributed,
                    }),
                );
                self.ready(at, event);
            }
        }

        let Some(ch) = self.content_channel else {
            return;
        };
        while self
            .contents
            .get(self.content_from)
            .is_some_and(|c| c.day < day - 13)
        {
            self.content_from += 1;
        }
        let mut emitted = 0;
        for i in self.content_from..self.contents.len() {
            let Some(c) = self.contents.get(i) else { break };
            let age = day - c.day;
            if age < 0 || (c.live && age > 0) {
                continue;
            }
            let orders = i64::from(c.orders_today);
            let mut views = c.base_views
                * VIEW_DECAY.get(age as usize).copied().unwrap_or(0.0)
                * uniform(&mut self.rng, 0.8, 1.2);
            if let Some(m) = c.viral {
                views +=
                    c.base_views * m as f64 * VIRAL_BOOST.get(age as usize).copied().unwrap_or(0.0);
            }
            let clicks = orders * between(&mut self.rng, 6, 12)
                + (views * uniform(&mut self.rng, 0.004, 0.008)).round() as i64;
            let views = (views.round() as i64).max(clicks * 20);
            let likes = (views as f64 * uniform(&mut self.rng, 0.05, 0.11)).round() as i64;
            let comments = (views as f64 * uniform(&mut self.rng, 0.004, 0.012)).round() as i64;
            let shares = (views as f64 * uniform(&mut self.rng, 0.003, 0.015)).round() as i64;
            let kind = if c.live { "live" } else { "video" };
            let at = next_morning + 4 * HOUR + emitted * 5;
            emitted += 1;
            let event = self.channel_event(
                ch,
                format!("demo:{seed}:content:{}:{date}", c.external_id),
                at,
                Payload::ContentMetricsRecorded(ContentMetrics {
                    content_external_id: c.external_id.clone(),
                    kind: kind.to_owned(),
                    title: Some(c.title.clone()),
                    url: Some(format!(
                        "https://example.com/@demo-creator/{kind}/{}",
                        c.external_id
                    )),
                    published_at: Some(timestamp(c.published)),
                    day: date,
                    views,
                    likes,
                    comments,
                    shares,
                    product_clicks: clicks,
                }),
            );
            self.ready(at, event);
        }
        for c in self.contents.iter_mut().skip(self.content_from) {
            c.orders_today = 0;
        }
    }

    /// Turns a released queue entry into its event, applying its effect on stock.
    fn release(&mut self, s: Scheduled) -> IngestEvent {
        let seed = self.demo.spec.seed;
        match s.action {
            Action::Ready(e) => *e,
            Action::Status {
                order,
                status,
                updated_at,
            } => {
                if status == OrderStatus::Cancelled {
                    for (sku, qty) in &order.lines {
                        if let Some(f) = self.free.get_mut(*sku as usize) {
                            *f += qty;
                        }
                    }
                }
                self.channel_event(
                    order.channel,
                    format!("demo:{seed}:order:{}:{}", order.n, status.as_str()),
                    s.at,
                    Payload::OrderStatusChanged(OrderStatusChange {
                        external_id: order.external_id.clone(),
                        status,
                        at: timestamp(s.at),
                        updated_at: timestamp(updated_at),
                    }),
                )
            }
            Action::Shipment { order, stage } => {
                let (status, label) = match stage {
                    ShipStage::Shipped => ("in_transit", "shipped"),
                    ShipStage::Delivered => ("delivered", "delivered"),
                    ShipStage::ReturnedToSender => ("returned_to_sender", "returned"),
                };
                let sh = order.shipment.as_ref();
                self.channel_event(
                    order.channel,
                    format!("demo:{seed}:order:{}:shipment:{label}", order.n),
                    s.at,
                    Payload::ShipmentRecorded(ShipmentRecord {
                        order_external_id: order.external_id.clone(),
                        external_id: Some(format!("{}-S1", order.external_id)),
                        carrier: sh.map(|x| x.carrier.to_owned()),
                        tracking_number: sh.map(|x| x.tracking.clone()),
                        status: status.to_owned(),
                        cost_minor: sh.map_or(0, |x| x.cost),
                        currency: self.demo.currency.clone(),
                        shipped_at: sh.map(|x| timestamp(x.shipped)),
                        delivered_at: if stage == ShipStage::Delivered {
                            sh.and_then(|x| x.delivered).map(timestamp)
                        } else {
                            None
                        },
                    }),
                )
            }
            Action::Refund { order } => {
                let r = order.refund.as_ref();
                let mut lines = Vec::new();
                for (sku, qty, sellable) in r.map_or(&[][..], |r| r.lines.as_slice()) {
                    if *sellable && let Some(f) = self.free.get_mut(*sku as usize) {
                        *f += qty;
                    }
                    lines.push(ReturnLine {
                        sku: self.sku_code(*sku),
                        quantity: *qty,
                        sellable: *sellable,
                    });
                }
                let kind = r.map_or("refund", |r| r.kind);
                self.channel_event(
                    order.channel,
                    format!("demo:{seed}:order:{}:{kind}", order.n),
                    s.at,
                    Payload::RefundRecorded(RefundRecord {
                        order_external_id: order.external_id.clone(),
                        external_id: Some(format!("{}-R1", order.external_id)),
                        kind: kind.to_owned(),
                        amount_minor: r.map_or(0, |r| r.amount),
                        currency: self.demo.currency.clone(),
                        reason: r.map(|r| r.reason.to_owned()),
                        lines,
                    }),
                )
            }
            Action::Funnel { order, stage } => {
                let content = order
                    .content
                    .and_then(|c| self.contents.get(c as usize))
                    .map(|c| c.external_id.clone());
                let sku = order.lines.first().map_or(0, |l| l.0);
                self.funnel_event(order.channel, order.n, 0, stage, content, sku, s.at)
            }
            Action::Restock {
                sku,
                qty,
                po,
                regular,
            } => {
                let i = sku as usize;
                if let Some(f) = self.free.get_mut(i) {
                    *f += qty;
                }
                let code = self.sku_code(sku);
                let (id, reason) = if regular {
                    if let Some(x) = self.incoming.get_mut(i) {
                        *x = 0;
                    }
                    let cleared = self.demo.seller_event(
                        format!("demo:{seed}:restock:{i}:{po}:incoming-cleared"),
                        timestamp(s.at),
                        Payload::InventoryPolicySet(InventoryPolicy {
                            sku: code.clone(),
                            location: None,
                            safety_stock: None,
                            reorder_point: None,
                            lead_time_days: None,
                            incoming: Some(0),
                        }),
                    );
                    self.ready(s.at, cleared);
                    (format!("demo:{seed}:restock:{i}:{po}:received"), "received")
                } else {
                    (
                        format!("demo:{seed}:stockup:{po}:received"),
                        "received: stock-up for a promoted video",
                    )
                };
                self.demo.seller_event(
                    id,
                    timestamp(s.at),
                    Payload::InventoryAdjusted(InventoryAdjust {
                        sku: code,
                        location: None,
                        delta: qty,
                        reason: reason.to_owned(),
                    }),
                )
            }
        }
    }
}

const FUNNEL_PRE: [&str; 4] = ["video_view", "product_view", "add_to_cart", "checkout"];

/// Splits a coupon over lines in proportion to their value, remainder cent by cent to the first lines, so
/// the line discounts add up to the coupon exactly and no line is discounted below zero.
fn split_proportionally(amount: i64, gross: &[i64], out: &mut [i64]) {
    let total: i64 = gross.iter().sum();
    if total <= 0 {
        return;
    }
    let amount = amount.min(total);
    let mut given = 0;
    for (o, g) in out.iter_mut().zip(gross) {
        *o = amount * g / total;
        given += *o;
    }
    let mut left = amount - given;
    for (o, g) in out.iter_mut().zip(gross) {
        if left == 0 {
            break;
        }
        if *o < *g {
            *o += 1;
            left -= 1;
        }
    }
}

impl Iterator for Activity<'_> {
    type Item = IngestEvent;

    fn next(&mut self) -> Option<IngestEvent> {
        loop {
            if self.next_hour >= self.hours && !self.finished {
                // The last day's reports are queued before the tail of the queue is drained.
                self.finished = true;
                if let Some(day) = self.day {
                    self.close_day(day);
                }
            }
            let frontier = if self.next_hour < self.hours {
                self.demo.calendar.hour_start(self.next_hour) - LOOKBACK
            } else {
                i64::MAX
            };
            if self.queue.peek().is_some_and(|Reverse(s)| s.at < frontier)
                && let Some(Reverse(s)) = self.queue.pop()
            {
                return Some(self.release(s));
            }
            if self.next_hour < self.hours {
                self.generate_hour();
                continue;
            }
            return None;
        }
    }
}
