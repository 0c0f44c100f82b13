//! Ad spend per day and campaign, and content metrics per day and video or live: one row per day each. A day
//! imported again replaces what was stored for it, as a marketplace report does.

use crate::cell::{self, Dates, q};
use crate::event_id::EventId;
use crate::row::RowCells;
use crate::stream::{Finished, Key, Layout};
use crate::{ImportKind, ImportOptions};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use creatorflow_core::ingest::{AdSpend, ContentMetrics, IngestEvent, Payload};
use creatorflow_core::{Currency, Timezone};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

const MAX_ID: usize = 256;
const MAX_NAME: usize = 255;
const MAX_URL: usize = 1024;

/// First row of each (id, day) of the file, by a 64-bit hash of the pair: the same day of the same campaign
/// twice in one file is a mistake (which of the two is right?), found without keeping the rows.
#[derive(Default)]
struct Seen {
    rows: HashMap<u64, usize>,
    hasher: std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>,
}

impl Seen {
    /// The earlier row of the same pair, if any; records this one otherwise.
    fn check(&mut self, id: &str, day: NaiveDate, row: usize) -> Option<usize> {
        let mut h = self.hasher.build_hasher();
        h.write(id.as_bytes());
        h.write_u8(0xff);
        h.write_i32(day.num_days_from_ce());
        match self.rows.entry(h.finish()) {
            std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(row);
                None
            }
        }
    }
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn currency_or(cells: &mut RowCells<'_>, default: Currency) -> Option<Currency> {
    cells
        .optional("currency", |v| {
            Currency::parse(v).map_err(|_| {
                format!(
                    "{} is not a known currency; use an ISO code such as USD, EUR, GBP or JPY",
                    q(v)
                )
            })
        })
        .map(|c| c.unwrap_or(default))
}

fn event(opts: &ImportOptions, id: String, at: DateTime<Utc>, payload: Payload) -> IngestEvent {
    IngestEvent {
        workspace_id: opts.workspace_id,
        source: opts.source.clone(),
        source_event_id: id,
        actor: opts.actor.clone(),
        occurred_at: at,
        payload,
    }
}

const AD_ORDER: &[&str] = &[
    "day",
    "campaign_id",
    "campaign_name",
    "spend",
    "currency",
    "impressions",
    "clicks",
    "conversions",
    "attributed_revenue",
];

pub(crate) struct AdSpendRows {
    default_currency: Currency,
    seen: Seen,
}

impl AdSpendRows {
    pub(crate) fn new(opts: &ImportOptions) -> Self {
        Self {
            default_currency: opts.default_currency,
            seen: Seen::default(),
        }
    }
}

impl Layout for AdSpendRows {
    type Group = Option<AdSpend>;

    fn key(&mut self, _: &mut RowCells<'_>) -> Key {
        Key::Alone
    }

    fn start(&mut self, _: Option<&str>, _: usize) -> Option<AdSpend> {
        None
    }

    fn add(&mut self, g: &mut Option<AdSpend>, cells: &mut RowCells<'_>) {
        let day = cells.required("day", "the day is empty; every row is one day", cell::day);
        let campaign = cells.required(
            "campaign_id",
            "the campaign id is empty; every row names its campaign",
            |v| cell::ident(v, MAX_ID),
        );
        if let (Some(d), Some(c)) = (day, &campaign)
            && let Some(first) = self.seen.check(c, d, cells.row())
        {
            let raw = cells.get("campaign_id");
            cells.fail(
                "campaign_id",
                raw,
                format!("{d} of campaign {c} is already on row {first}; each campaign's day can be listed once"),
            );
        }
        let name = cells.optional("campaign_name", |v| cell::text(v, MAX_NAME));
        let currency = currency_or(cells, self.default_currency);
        let (spend, revenue) = match currency {
            Some(cur) => (
                cells.required(
                    "spend",
                    "the spend is empty; write 0 for a day without spend",
                    |v| cell::money(v, cur),
                ),
                cells.optional("attributed_revenue", |v| cell::money(v, cur)),
            ),
            None => (None, None),
        };
        let impressions = cells.optional("impressions", cell::quantity);
        let clicks = cells.optional("clicks", cell::quantity);
        let conversions = cells.optional("conversions", cell::quantity);
        let (Some(day), Some(campaign), Some(name), Some(currency), Some(spend), Some(revenue)) =
            (day, campaign, name, currency, spend, revenue)
        else {
            return;
        };
        let (Some(impressions), Some(clicks), Some(conversions)) =
            (impressions, clicks, conversions)
        else {
            return;
        };
        *g = Some(AdSpend {
            campaign_name: name.unwrap_or_else(|| campaign.clone()),
            campaign_external_id: campaign,
            day,
            spend_minor: spend,
            currency: currency.code().to_owned(),
            impressions: impressions.unwrap_or(0),
            clicks: clicks.unwrap_or(0),
            conversions: conversions.unwrap_or(0),
            attributed_revenue_minor: revenue.unwrap_or(0),
        });
    }

    fn finish(&mut self, g: Option<AdSpend>, opts: &ImportOptions) -> Finished {
        let mut out = Finished::default();
        let Some(a) = g else {
            return out;
        };
        let mut id = EventId::new(ImportKind::AdSpend, "ad_spend_recorded");
        id.str(&a.campaign_external_id)
            .str(&a.campaign_name)
            .str(&a.day.to_string())
            .int(a.spend_minor)
            .str(&a.currency)
            .int(a.impressions)
            .int(a.clicks)
            .int(a.conversions)
            .int(a.attributed_revenue_minor);
        let label = format!("campaign {} on {}", a.campaign_external_id, a.day);
        out.events.push((
            event(
                opts,
                id.finish(),
                day_start(a.day),
                Payload::AdSpendRecorded(a),
            ),
            label,
        ));
        out
    }

    fn describe(&self, key: &str) -> String {
        key.to_owned()
    }

    fn columns(&self) -> &'static [&'static str] {
        AD_ORDER
    }
}

const CONTENT_ORDER: &[&str] = &[
    "day",
    "content_id",
    "kind",
    "title",
    "url",
    "published_at",
    "views",
    "likes",
    "comments",
    "shares",
    "product_clicks",
];

pub(crate) struct ContentRows {
    tz: Timezone,
    seen: Seen,
}

impl ContentRows {
    pub(crate) fn new(opts: &ImportOptions) -> Self {
        Self {
            tz: opts.timezone,
            seen: Seen::default(),
        }
    }
}

fn content_kind(v: &str) -> Result<String, String> {
    match v.to_lowercase().as_str() {
        k @ ("video" | "live") => Ok(k.to_owned()),
        _ => Err(format!(
            "{} is not a kind of content; use video or live (empty means video)",
            q(v)
        )),
    }
}

impl Layout for ContentRows {
    type Group = Option<ContentMetrics>;

    fn key(&mut self, _: &mut RowCells<'_>) -> Key {
        Key::Alone
    }

    fn start(&mut self, _: Option<&str>, _: usize) -> Option<ContentMetrics> {
        None
    }

    fn add(&mut self, g: &mut Option<ContentMetrics>, cells: &mut RowCells<'_>) {
        let day = cells.required("day", "the day is empty; every row is one day", cell::day);
        let content = cells.required(
            "content_id",
            "the content id is empty; every row names its video or live",
            |v| cell::ident(v, MAX_ID),
        );
        if let (Some(d), Some(c)) = (day, &content)
            && let Some(first) = self.seen.check(c, d, cells.row())
        {
            let raw = cells.get("content_id");
            cells.fail(
                "content_id",
                raw,
                format!(
                    "{d} of {c} is already on row {first}; each video's day can be listed once"
                ),
            );
        }
        let kind = cells.optional("kind", content_kind);
        let title = cells.optional("title", |v| cell::text(v, MAX_NAME));
        let url = cells.optional("url", |v| cell::text(v, MAX_URL));
        let tz = self.tz;
        let published = cells.optional("published_at", |v| cell::datetime(v, tz, Dates::Iso));
        let views = cells.optional("views", cell::quantity);
        let likes = cells.optional("likes", cell::quantity);
        let comments = cells.optional("comments", cell::quantity);
        let shares = cells.optional("shares", cell::quantity);
        let clicks = cells.optional("product_clicks", cell::quantity);
        let (Some(day), Some(content), Some(kind), Some(title), Some(url), Some(published)) =
            (day, content, kind, title, url, published)
        else {
            return;
        };
        let (Some(views), Some(likes), Some(comments), Some(shares), Some(clicks)) =
            (views, likes, comments, shares, clicks)
        else {
            return;
        };
        *g = Some(ContentMetrics {
            content_external_id: content,
            kind: kind.unwrap_or_else(|| "video".to_owned()),
            title,
            url,
            published_at: published,
            day,
            views: views.unwrap_or(0),
            likes: likes.unwrap_or(0),
            comments: comments.unwrap_or(0),
            shares: shares.unwrap_or(0),
            product_clicks: clicks.unwrap_or(0),
        });
    }

    fn finish(&mut self, g: Option<ContentMetrics>, opts: &ImportOptions) -> Finished {
        let mut out = Finished::default();
        let Some(c) = g else {
            return out;
        };
        let mut id = EventId::new(ImportKind::Content, "content_metrics_recorded");
        id.str(&c.content_external_id)
            .str(&c.kind)
            .opt_str(c.title.as_deref())
            .opt_str(c.url.as_deref())
            .opt_int(c.published_at.map(|t| t.timestamp_micros()))
            .str(&c.day.to_string())
            .int(c.views)
            .int(c.likes)
            .int(c.comments)
            .int(c.shares)
            .int(c.product_clicks);
        let label = format!("{} on {}", c.content_external_id, c.day);
        out.events.push((
            event(
                opts,
                id.finish(),
                day_start(c.day),
                Payload::ContentMetricsRecorded(c),
            ),
            label,
        ));
        out
    }

    fn describe(&self, key: &str) -> String {
        key.to_owned()
    }

    fn columns(&self) -> &'static [&'static str] {
        CONTENT_ORDER
    }
}
