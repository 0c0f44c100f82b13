//! Host bindings for plugin API 1.0.x (`creatorflow:plugin@1.0.0`, frozen in `plugin-sdk/wit/v1.0.0`).
//!
//! Everything version-specific lives here: the generated bindings, the host-import implementations' glue,
//! and the conversion of the generated types to the host-neutral [`crate::model`], which is also where
//! plugin output is validated. A future API version gets its own module beside this one.

use crate::error::ErrorKind;
use crate::job::JobState;
use crate::model;
use chrono::{DateTime, Utc};
use creatorflow_core::{Currency, Money};
use wasmtime::component::{HasSelf, Linker};

pub(crate) mod connector_world {
    wasmtime::component::bindgen!({
        world: "connector",
        path: "../../plugin-sdk/wit/v1.0.0",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

pub(crate) mod metric_world {
    wasmtime::component::bindgen!({
        world: "metric",
        path: "../../plugin-sdk/wit/v1.0.0",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "creatorflow:plugin/types@1.0.0": super::connector_world::creatorflow::plugin::types,
            "creatorflow:plugin/host@1.0.0": super::connector_world::creatorflow::plugin::host,
        },
    });
}

pub(crate) use connector_world::creatorflow::plugin::host as wit_host;
use connector_world::creatorflow::plugin::records as wr;
use connector_world::creatorflow::plugin::types as wt;
use metric_world::creatorflow::plugin::metric_types as wm;

pub(crate) type ConnectorPre = connector_world::ConnectorPre<JobState>;
pub(crate) type MetricPre = metric_world::MetricPre<JobState>;
pub(crate) type ConnectorInstance = connector_world::Connector;
pub(crate) type MetricInstance = metric_world::Metric;

pub(crate) fn connector_linker(linker: &mut Linker<JobState>) -> wasmtime::Result<()> {
    connector_world::Connector::add_to_linker::<JobState, HasSelf<JobState>>(linker, |s| s)
}

pub(crate) fn metric_linker(linker: &mut Linker<JobState>) -> wasmtime::Result<()> {
    metric_world::Metric::add_to_linker::<JobState, HasSelf<JobState>>(linker, |s| s)
}

impl wt::Host for JobState {}
impl wr::Host for JobState {}
impl wm::Host for JobState {}

impl wit_host::Host for JobState {
    async fn log(&mut self, level: wt::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            wt::LogLevel::Trace => tracing::Level::TRACE,
            wt::LogLevel::Debug => tracing::Level::DEBUG,
            wt::LogLevel::Info => tracing::Level::INFO,
            wt::LogLevel::Warn => tracing::Level::WARN,
            wt::LogLevel::Error => tracing::Level::ERROR,
        };
        self.log(level, &message);
        Ok(())
    }

    async fn now(&mut self) -> wasmtime::Result<i64> {
        Ok(Utc::now().timestamp_millis())
    }

    async fn fetch(
        &mut self,
        request: wit_host::HttpRequest,
    ) -> wasmtime::Result<Result<wit_host::HttpResponse, wit_host::FetchError>> {
        use crate::http::{FetchFailure, Method, OutboundRequest, SecretPlacement};
        let request = OutboundRequest {
            method: match request.method {
                wit_host::HttpMethod::Get => Method::Get,
                wit_host::HttpMethod::Head => Method::Head,
                wit_host::HttpMethod::Post => Method::Post,
                wit_host::HttpMethod::Put => Method::Put,
                wit_host::HttpMethod::Patch => Method::Patch,
                wit_host::HttpMethod::Delete => Method::Delete,
            },
            url: request.url,
            headers: request
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: request.body,
            secrets: request
                .secrets
                .into_iter()
                .map(|s| {
                    let placement = match s.placement {
                        wit_host::SecretPlacement::Bearer => SecretPlacement::Bearer,
                        wit_host::SecretPlacement::Header(h) => SecretPlacement::Header(h),
                        wit_host::SecretPlacement::Query(q) => SecretPlacement::Query(q),
                    };
                    (s.secret, placement)
                })
                .collect(),
        };
        match self.fetch(request).await? {
            Ok(resp) => Ok(Ok(wit_host::HttpResponse {
                status: resp.status,
                headers: resp
                    .headers
                    .into_iter()
                    .map(|(name, value)| wt::Header { name, value })
                    .collect(),
                body: resp.body,
            })),
            Err(FetchFailure::Timeout(m)) => Ok(Err(wit_host::FetchError::Timeout(m))),
            Err(FetchFailure::Connection(m)) => Ok(Err(wit_host::FetchError::Connection(m))),
            Err(FetchFailure::InvalidRequest(m)) => {
                Ok(Err(wit_host::FetchError::InvalidRequest(m)))
            }
        }
    }

    async fn hmac_sha256(
        &mut self,
        key: String,
        message: Vec<wit_host::MessagePart>,
    ) -> wasmtime::Result<Vec<u8>> {
        let parts = message
            .into_iter()
            .map(|p| match p {
                wit_host::MessagePart::Bytes(b) => crate::http::MessagePart::Bytes(b),
                wit_host::MessagePart::Secret(s) => crate::http::MessagePart::Secret(s),
            })
            .collect::<Vec<_>>();
        self.hmac(&key, &parts)
    }
}

// ---- inputs: model → v1 -------------------------------------------------------------------------------

pub(crate) fn entity_to_wit(e: model::Entity) -> wr::Entity {
    match e {
        model::Entity::Orders => wr::Entity::Orders,
        model::Entity::Products => wr::Entity::Products,
        model::Entity::Variants => wr::Entity::Variants,
        model::Entity::Stock => wr::Entity::Stock,
        model::Entity::Customers => wr::Entity::Customers,
        model::Entity::Shipments => wr::Entity::Shipments,
        model::Entity::Refunds => wr::Entity::Refunds,
        model::Entity::AdSpend => wr::Entity::AdSpend,
        model::Entity::ContentMetrics => wr::Entity::ContentMetrics,
    }
}

fn entity_from_wit(e: wr::Entity) -> model::Entity {
    match e {
        wr::Entity::Orders => model::Entity::Orders,
        wr::Entity::Products => model::Entity::Products,
        wr::Entity::Variants => model::Entity::Variants,
        wr::Entity::Stock => model::Entity::Stock,
        wr::Entity::Customers => model::Entity::Customers,
        wr::Entity::Shipments => model::Entity::Shipments,
        wr::Entity::Refunds => model::Entity::Refunds,
        wr::Entity::AdSpend => model::Entity::AdSpend,
        wr::Entity::ContentMetrics => model::Entity::ContentMetrics,
    }
}

pub(crate) fn config_to_wit(config: &[(String, String)]) -> Vec<wt::ConfigEntry> {
    config
        .iter()
        .map(|(key, value)| wt::ConfigEntry {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

pub(crate) fn webhook_to_wit(r: &model::WebhookRequest) -> wr::WebhookRequest {
    wr::WebhookRequest {
        headers: r
            .headers
            .iter()
            .map(|(name, value)| wt::Header {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        body: r.body.clone(),
        received_at: r.received_at.timestamp_millis(),
    }
}

pub(crate) fn updates_to_wit(updates: &[model::InventoryUpdate]) -> Vec<wr::InventoryUpdate> {
    updates
        .iter()
        .map(|u| wr::InventoryUpdate {
            sku: u.sku.clone(),
            location: u.location.clone(),
            quantity: u.quantity,
            expected_previous: u.expected_previous,
        })
        .collect()
}

/// Converts a batch after checking what the plugin is promised: every column has `rows` values, names are
/// unique and floats are finite (NaN would poison any aggregate silently).
pub(crate) fn batch_to_wit(batch: &model::Batch) -> Result<wm::Batch, ErrorKind> {
    let rows = batch.rows as usize;
    let mut columns = Vec::with_capacity(batch.columns.len());
    for (i, column) in batch.columns.iter().enumerate() {
        if batch.columns[..i].iter().any(|c| c.name == column.name) {
            return Err(invalid_input(format!(
                "column `{}` appears twice",
                column.name
            )));
        }
        if column.data.len() != rows {
            return Err(invalid_input(format!(
                "column `{}` has {} values but the batch has {rows} rows",
                column.name,
                column.data.len()
            )));
        }
        let data = match &column.data {
            model::ColumnData::Int64(v) => wm::ColumnData::Int64(v.clone()),
            model::ColumnData::Float64(v) => {
                if let Some(row) = v.iter().position(|x| !x.is_finite()) {
                    return Err(invalid_input(format!(
                        "column `{}` row {row} is {} (floats must be finite)",
                        column.name, v[row]
                    )));
                }
                wm::ColumnData::Float64(v.clone())
            }
            model::ColumnData::Text(v) => wm::ColumnData::Text(v.clone()),
            model::ColumnData::Boolean(v) => wm::ColumnData::Boolean(v.clone()),
        };
        columns.push(wm::Column {
            name: column.name.clone(),
            data,
        });
    }
    Ok(wm::Batch {
        rows: batch.rows,
        columns,
    })
}

fn invalid_input(detail: String) -> ErrorKind {
    ErrorKind::InvalidInput { detail }
}

// ---- outputs: v1 → model, validated -------------------------------------------------------------------

pub(crate) fn reported(e: wt::PluginError) -> model::ReportedError {
    match e {
        wt::PluginError::InvalidConfig(m) => model::ReportedError::InvalidConfig(m),
        wt::PluginError::InvalidInput(m) => model::ReportedError::InvalidInput(m),
        wt::PluginError::Unauthorized(m) => model::ReportedError::Unauthorized(m),
        wt::PluginError::RateLimited(ms) => model::ReportedError::RateLimited(ms),
        wt::PluginError::Upstream(m) => model::ReportedError::Upstream(m),
        wt::PluginError::Unsupported(m) => model::ReportedError::Unsupported(m),
        wt::PluginError::Internal(m) => model::ReportedError::Internal(m),
    }
}

/// Output limits a conversion enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutputLimits {
    pub max_records: u32,
    pub max_bytes: u64,
}

/// Walks plugin output, building model values and refusing invalid ones with the path of the bad field.
struct Conv {
    bytes: u64,
}

const MAX_TEXT: usize = 64 << 10;

impl Conv {
    fn new() -> Self {
        Self { bytes: 0 }
    }

    fn text(&mut self, path: impl Fn() -> String, s: String) -> Result<String, ErrorKind> {
        if s.len() > MAX_TEXT {
            return Err(bad(
                &path(),
                format!("text of {} bytes exceeds {MAX_TEXT}", s.len()),
            ));
        }
        self.bytes += s.len() as u64;
        Ok(s)
    }

    fn opt_text(
        &mut self,
        path: impl Fn() -> String,
        s: Option<String>,
    ) -> Result<Option<String>, ErrorKind> {
        s.map(|s| self.text(&path, s)).transpose()
    }

    fn id(&mut self, path: impl Fn() -> String, s: String) -> Result<String, ErrorKind> {
        if s.trim().is_empty() {
            return Err(bad(&path(), "missing id (empty string)".into()));
        }
        if s.len() > 512 {
            return Err(bad(&path(), format!("id of {} bytes exceeds 512", s.len())));
        }
        self.text(&path, s)
    }

    fn currency(&self, path: impl Fn() -> String, code: &str) -> Result<Currency, ErrorKind> {
        Currency::parse(code).map_err(|e| bad(&path(), e.to_string()))
    }

    fn money(
        &mut self,
        path: impl Fn() -> String,
        m: wt::Money,
        expected: Option<Currency>,
    ) -> Result<Money, ErrorKind> {
        let currency = self.currency(|| format!("{}.currency", path()), &m.currency)?;
        if let Some(expected) = expected
            && expected != currency
        {
            return Err(bad(
                &format!("{}.currency", path()),
                format!("{currency} differs from the record's currency {expected}"),
            ));
        }
        self.bytes += 16;
        Ok(Money::new(m.minor, currency))
    }

    fn opt_money(
        &mut self,
        path: impl Fn() -> String,
        m: Option<wt::Money>,
        expected: Option<Currency>,
    ) -> Result<Option<Money>, ErrorKind> {
        m.map(|m| self.money(&path, m, expected)).transpose()
    }

    fn quantity(&mut self, path: impl Fn() -> String, q: i64) -> Result<i64, ErrorKind> {
        if q < 0 {
            return Err(bad(&path(), format!("negative quantity {q}")));
        }
        self.bytes += 8;
        Ok(q)
    }

    fn time(&mut self, path: impl Fn() -> String, ms: i64) -> Result<DateTime<Utc>, ErrorKind> {
        self.bytes += 8;
        DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| bad(&path(), format!("timestamp {ms} ms is out of range")))
    }

    fn opt_time(
        &mut self,
        path: impl Fn() -> String,
        ms: Option<i64>,
    ) -> Result<Option<DateTime<Utc>>, ErrorKind> {
        ms.map(|ms| self.time(&path, ms)).transpose()
    }

    fn finite(&mut self, path: impl Fn() -> String, f: f64) -> Result<f64, ErrorKind> {
        if !f.is_finite() {
            return Err(bad(&path(), format!("{f} is not a finite number")));
        }
        self.bytes += 8;
        Ok(f)
    }

    fn record(&mut self, path: &str, r: wr::SyncRecord) -> Result<model::Record, ErrorKind> {
        self.bytes += 64;
        Ok(match r {
            wr::SyncRecord::Order(o) => {
                model::Record::Order(self.order(&format!("{path}.order"), o)?)
            }
            wr::SyncRecord::Product(p) => {
                let path = format!("{path}.product");
                model::Record::Product(model::Product {
                    external_id: self.id(|| format!("{path}.external_id"), p.external_id)?,
                    title: self.text(|| format!("{path}.title"), p.title)?,
                    status: self.text(|| format!("{path}.status"), p.status)?,
                    vendor: self.opt_text(|| format!("{path}.vendor"), p.vendor)?,
                    created_at: self.opt_time(|| format!("{path}.created_at"), p.created_at)?,
                    updated_at: self.time(|| format!("{path}.updated_at"), p.updated_at)?,
                })
            }
            wr::SyncRecord::ProductVariant(v) => {
                let path = format!("{path}.product_variant");
                model::Record::ProductVariant(model::ProductVariant {
                    external_id: self.id(|| format!("{path}.external_id"), v.external_id)?,
                    product_id: self.id(|| format!("{path}.product_id"), v.product_id)?,
                    sku: self.id(|| format!("{path}.sku"), v.sku)?,
                    title: self.text(|| format!("{path}.title"), v.title)?,
                    price: self.money(|| format!("{path}.price"), v.price, None)?,
                    cost: self.opt_money(|| format!("{path}.cost"), v.cost, None)?,
                    condition: self.opt_text(|| format!("{path}.condition"), v.condition)?,
                    barcode: self.opt_text(|| format!("{path}.barcode"), v.barcode)?,
                    updated_at: self.time(|| format!("{path}.updated_at"), v.updated_at)?,
                })
            }
            wr::SyncRecord::Stock(s) => {
                let path = format!("{path}.stock");
                model::Record::Stock(model::StockLevel {
                    sku: self.id(|| format!("{path}.sku"), s.sku)?,
                    location: self.opt_text(|| format!("{path}.location"), s.location)?,
                    available: s.available,
                    on_hand: s
                        .on_hand
                        .map(|q| self.quantity(|| format!("{path}.on_hand"), q))
                        .transpose()?,
                    observed_at: self.time(|| format!("{path}.observed_at"), s.observed_at)?,
                })
            }
            wr::SyncRecord::Customer(c) => {
                let path = format!("{path}.customer");
                model::Record::Customer(model::Customer {
                    external_id: self.id(|| format!("{path}.external_id"), c.external_id)?,
                    email: self.opt_text(|| format!("{path}.email"), c.email)?,
                    name: self.opt_text(|| format!("{path}.name"), c.name)?,
                    country: self.opt_text(|| format!("{path}.country"), c.country)?,
                    created_at: self.opt_time(|| format!("{path}.created_at"), c.created_at)?,
                    updated_at: self.time(|| format!("{path}.updated_at"), c.updated_at)?,
                })
            }
            wr::SyncRecord::Shipment(s) => {
                let path = format!("{path}.shipment");
                let mut lines = Vec::with_capacity(s.lines.len());
                for (i, l) in s.lines.into_iter().enumerate() {
                    lines.push(model::ShipmentLine {
                        sku: self.id(|| format!("{path}.lines[{i}].sku"), l.sku)?,
                        quantity: self
                            .quantity(|| format!("{path}.lines[{i}].quantity"), l.quantity)?,
                    });
                }
                model::Record::Shipment(model::Shipment {
                    external_id: self.id(|| format!("{path}.external_id"), s.external_id)?,
                    order_id: self.id(|| format!("{path}.order_id"), s.order_id)?,
                    carrier: self.opt_text(|| format!("{path}.carrier"), s.carrier)?,
                    tracking_number: self
                        .opt_text(|| format!("{path}.tracking_number"), s.tracking_number)?,
                    status: self.text(|| format!("{path}.status"), s.status)?,
                    shipped_at: self.opt_time(|| format!("{path}.shipped_at"), s.shipped_at)?,
                    delivered_at: self
                        .opt_time(|| format!("{path}.delivered_at"), s.delivered_at)?,
                    cost: self.opt_money(|| format!("{path}.cost"), s.cost, None)?,
                    lines,
                })
            }
            wr::SyncRecord::Refund(r) => {
                let path = format!("{path}.refund");
                let amount = self.money(|| format!("{path}.amount"), r.amount, None)?;
                let mut lines = Vec::with_capacity(r.lines.len());
                for (i, l) in r.lines.into_iter().enumerate() {
                    lines.push(model::RefundLine {
                        sku: self.id(|| format!("{path}.lines[{i}].sku"), l.sku)?,
                        quantity: self
                            .quantity(|| format!("{path}.lines[{i}].quantity"), l.quantity)?,
                        amount: self.money(
                            || format!("{path}.lines[{i}].amount"),
                            l.amount,
                            Some(amount.currency),
                        )?,
                    });
                }
                model::Record::Refund(model::Refund {
                    external_id: self.id(|| format!("{path}.external_id"), r.external_id)?,
                    order_id: self.id(|| format!("{path}.order_id"), r.order_id)?,
                    created_at: self.time(|| format!("{path}.created_at"), r.created_at)?,
                    amount,
                    reason: self.opt_text(|| format!("{path}.reason"), r.reason)?,
                    restock: r.restock,
                    lines,
                })
            }
            wr::SyncRecord::AdSpend(a) => {
                let path = format!("{path}.ad_spend");
                let spend = self.money(|| format!("{path}.spend"), a.spend, None)?;
                model::Record::AdSpend(model::AdSpend {
                    external_id: self.id(|| format!("{path}.external_id"), a.external_id)?,
                    campaign_id: self.id(|| format!("{path}.campaign_id"), a.campaign_id)?,
                    campaign_name: self
                        .opt_text(|| format!("{path}.campaign_name"), a.campaign_name)?,
                    day: self.time(|| format!("{path}.day"), a.day)?,
                    spend,
                    impressions: a.impressions,
                    clicks: a.clicks,
                    conversions: a.conversions,
                    attributed_revenue: self.opt_money(
                        || format!("{path}.attributed_revenue"),
                        a.attributed_revenue,
                        None,
                    )?,
                })
            }
            wr::SyncRecord::ContentMetric(c) => {
                let path = format!("{path}.content_metric");
                model::Record::ContentMetric(model::ContentMetric {
                    external_id: self.id(|| format!("{path}.external_id"), c.external_id)?,
                    content_id: self.id(|| format!("{path}.content_id"), c.content_id)?,
                    kind: match c.kind {
                        wr::ContentKind::Video => model::ContentKind::Video,
                        wr::ContentKind::Live => model::ContentKind::Live,
                        wr::ContentKind::Post => model::ContentKind::Post,
                        wr::ContentKind::Story => model::ContentKind::Story,
                        wr::ContentKind::Other => model::ContentKind::Other,
                    },
                    observed_at: self.time(|| format!("{path}.observed_at"), c.observed_at)?,
                    views: c.views,
                    likes: c.likes,
                    comments: c.comments,
                    shares: c.shares,
                    avg_watch_seconds: c
                        .avg_watch_seconds
                        .map(|f| self.finite(|| format!("{path}.avg_watch_seconds"), f))
                        .transpose()?,
                    orders: c.orders,
                    gmv: self.opt_money(|| format!("{path}.gmv"), c.gmv, None)?,
                })
            }
        })
    }

    fn order(&mut self, path: &str, o: wr::Order) -> Result<model::Order, ErrorKind> {
        let external_id = self.id(|| format!("{path}.external_id"), o.external_id)?;
        let currency = Some(self.currency(|| format!("{path}.currency"), &o.currency)?);
        let mut lines = Vec::with_capacity(o.lines.len());
        for (i, l) in o.lines.into_iter().enumerate() {
            let p = format!("{path}.lines[{i}]");
            lines.push(model::OrderLine {
                external_id: self.id(|| format!("{p}.external_id"), l.external_id)?,
                sku: self.id(|| format!("{p}.sku"), l.sku)?,
                product_id: self.opt_text(|| format!("{p}.product_id"), l.product_id)?,
                variant_id: self.opt_text(|| format!("{p}.variant_id"), l.variant_id)?,
                title: self.text(|| format!("{p}.title"), l.title)?,
                quantity: self.quantity(|| format!("{p}.quantity"), l.quantity)?,
                unit_price: self.money(|| format!("{p}.unit_price"), l.unit_price, currency)?,
                discount: self.money(|| format!("{p}.discount"), l.discount, currency)?,
                tax: self.money(|| format!("{p}.tax"), l.tax, currency)?,
                condition: self.opt_text(|| format!("{p}.condition"), l.condition)?,
            });
        }
        Ok(model::Order {
            external_id,
            status: match o.status {
                wr::OrderStatus::Unpaid => model::OrderStatus::Unpaid,
                wr::OrderStatus::OnHold => model::OrderStatus::OnHold,
                wr::OrderStatus::AwaitingShipment => model::OrderStatus::AwaitingShipment,
                wr::OrderStatus::PartiallyShipped => model::OrderStatus::PartiallyShipped,
                wr::OrderStatus::AwaitingCollection => model::OrderStatus::AwaitingCollection,
                wr::OrderStatus::InTransit => model::OrderStatus::InTransit,
                wr::OrderStatus::Delivered => model::OrderStatus::Delivered,
                wr::OrderStatus::Completed => model::OrderStatus::Completed,
                wr::OrderStatus::Cancelled => model::OrderStatus::Cancelled,
                wr::OrderStatus::Other => model::OrderStatus::Other,
            },
            raw_status: self.text(|| format!("{path}.raw_status"), o.raw_status)?,
            customer_id: self.opt_text(|| format!("{path}.customer_id"), o.customer_id)?,
            created_at: self.time(|| format!("{path}.created_at"), o.created_at)?,
            updated_at: self.time(|| format!("{path}.updated_at"), o.updated_at)?,
            lines,
            subtotal: self.money(|| format!("{path}.subtotal"), o.subtotal, currency)?,
            discount: self.money(|| format!("{path}.discount"), o.discount, currency)?,
            shipping: self.money(|| format!("{path}.shipping"), o.shipping, currency)?,
            tax: self.money(|| format!("{path}.tax"), o.tax, currency)?,
            fees: self.money(|| format!("{path}.fees"), o.fees, currency)?,
            total: self.money(|| format!("{path}.total"), o.total, currency)?,
        })
    }

    fn check_size(&self, what: &str, limits: OutputLimits) -> Result<(), ErrorKind> {
        if self.bytes > limits.max_bytes {
            return Err(ErrorKind::OutputLimit {
                detail: format!(
                    "{what} holds about {} bytes; the limit is {} (limits.max_output_bytes)",
                    self.bytes, limits.max_bytes
                ),
            });
        }
        Ok(())
    }
}

fn bad(path: &str, why: String) -> ErrorKind {
    ErrorKind::InvalidOutput {
        detail: format!("{path}: {why}"),
    }
}

fn check_count(what: &str, count: usize, limits: OutputLimits) -> Result<(), ErrorKind> {
    if count > limits.max_records as usize {
        return Err(ErrorKind::OutputLimit {
            detail: format!(
                "{what} has {count} records; the limit is {} (limits.max_output_records)",
                limits.max_records
            ),
        });
    }
    Ok(())
}

pub(crate) fn page_from_wit(
    page: wr::Page,
    limits: OutputLimits,
) -> Result<model::Page, ErrorKind> {
    check_count("the page", page.records.len(), limits)?;
    let mut conv = Conv::new();
    let mut records = Vec::with_capacity(page.records.len());
    for (i, r) in page.records.into_iter().enumerate() {
        records.push(conv.record(&format!("records[{i}]"), r)?);
    }
    let next_cursor = conv.opt_text(|| "next_cursor".into(), page.next_cursor)?;
    if page.has_more && next_cursor.is_none() {
        return Err(bad(
            "next_cursor",
            "has_more is true but there is no cursor".into(),
        ));
    }
    if next_cursor.as_ref().is_some_and(|c| c.len() > 4096) {
        return Err(bad("next_cursor", "longer than 4096 bytes".into()));
    }
    conv.check_size("the page", limits)?;
    Ok(model::Page {
        records,
        next_cursor,
        has_more: page.has_more,
    })
}

pub(crate) fn verdict_from_wit(v: wr::WebhookVerdict) -> model::WebhookVerdict {
    match v {
        wr::WebhookVerdict::Accepted => model::WebhookVerdict::Accepted,
        wr::WebhookVerdict::Rejected(reason) => model::WebhookVerdict::Rejected(reason),
    }
}

pub(crate) fn event_from_wit(
    e: wr::WebhookEvent,
    limits: OutputLimits,
) -> Result<model::WebhookEvent, ErrorKind> {
    check_count("the webhook event", e.changes.len(), limits)?;
    let mut conv = Conv::new();
    let delivery_id = conv.id(|| "delivery_id".into(), e.delivery_id)?;
    let topic = conv.text(|| "topic".into(), e.topic)?;
    let mut changes = Vec::with_capacity(e.changes.len());
    for (i, c) in e.changes.into_iter().enumerate() {
        let path = format!("changes[{i}]");
        changes.push(match c {
            wr::DomainChange::Upsert(r) => model::DomainChange::Upsert(conv.record(&path, r)?),
            wr::DomainChange::Deleted(r) => model::DomainChange::Deleted(model::EntityRef {
                entity: entity_from_wit(r.entity),
                external_id: conv.id(|| format!("{path}.external_id"), r.external_id)?,
            }),
            wr::DomainChange::Refetch(r) => model::DomainChange::Refetch(model::EntityRef {
                entity: entity_from_wit(r.entity),
                external_id: conv.id(|| format!("{path}.external_id"), r.external_id)?,
            }),
        });
    }
    conv.check_size("the webhook event", limits)?;
    Ok(model::WebhookEvent {
        delivery_id,
        topic,
        changes,
    })
}

pub(crate) fn push_results_from_wit(
    results: Vec<wr::PushResult>,
    updates: &[model::InventoryUpdate],
) -> Result<Vec<model::PushResult>, ErrorKind> {
    if results.len() != updates.len() {
        return Err(bad(
            "results",
            format!("{} results for {} updates", results.len(), updates.len()),
        ));
    }
    results
        .into_iter()
        .zip(updates)
        .enumerate()
        .map(|(i, (r, u))| {
            if r.sku != u.sku {
                return Err(bad(
                    &format!("results[{i}].sku"),
                    format!("{:?} does not match the update's {:?}", r.sku, u.sku),
                ));
            }
            Ok(model::PushResult {
                sku: r.sku,
                outcome: match r.outcome {
                    wr::PushOutcome::Applied(q) => model::PushOutcome::Applied(q),
                    wr::PushOutcome::Conflict(q) => model::PushOutcome::Conflict(q),
                    wr::PushOutcome::NotFound => model::PushOutcome::NotFound,
                    wr::PushOutcome::Rejected(m) => model::PushOutcome::Rejected(m),
                },
            })
        })
        .collect()
}

pub(crate) fn connector_info_from_wit(i: wr::ConnectorInfo) -> model::ConnectorInfo {
    model::ConnectorInfo {
        id: i.id,
        version: i.version,
        entities: i.entities.into_iter().map(entity_from_wit).collect(),
        webhook_topics: i.webhook_topics,
        hosts: i.hosts,
        secrets: i.secrets,
    }
}

pub(crate) fn metric_info_from_wit(i: wm::MetricInfo) -> model::MetricInfo {
    model::MetricInfo {
        id: i.id,
        version: i.version,
        name: i.name,
        description: i.description,
        unit: match i.unit {
            wm::Unit::Count => model::Unit::Count,
            wm::Unit::Ratio => model::Unit::Ratio,
            wm::Unit::Percent => model::Unit::Percent,
            wm::Unit::Money => model::Unit::Money,
            wm::Unit::Seconds => model::Unit::Seconds,
            wm::Unit::Other => model::Unit::Other,
        },
        inputs: i
            .inputs
            .into_iter()
            .map(|s| model::InputSpec {
                name: s.name,
                kind: match s.kind {
                    wm::ColumnType::Int64 => model::ColumnType::Int64,
                    wm::ColumnType::Float64 => model::ColumnType::Float64,
                    wm::ColumnType::Text => model::ColumnType::Text,
                    wm::ColumnType::Boolean => model::ColumnType::Boolean,
                },
                required: s.required,
                description: s.description,
            })
            .collect(),
    }
}

pub(crate) fn metric_value_from_wit(v: wm::MetricValue) -> Result<model::MetricValue, ErrorKind> {
    let mut conv = Conv::new();
    let value = scalar_from_wit(&mut conv, "value", v.value)?;
    let mut breakdown = Vec::with_capacity(v.breakdown.len());
    for (i, l) in v.breakdown.into_iter().enumerate() {
        let label = conv.text(|| format!("breakdown[{i}].label"), l.label)?;
        breakdown.push((
            label,
            scalar_from_wit(&mut conv, &format!("breakdown[{i}].value"), l.value)?,
        ));
    }
    Ok(model::MetricValue { value, breakdown })
}

fn scalar_from_wit(conv: &mut Conv, path: &str, s: wm::Scalar) -> Result<model::Scalar, ErrorKind> {
    Ok(match s {
        wm::Scalar::Empty => model::Scalar::Empty,
        wm::Scalar::Int64(v) => model::Scalar::Int64(v),
        wm::Scalar::Float64(f) => model::Scalar::Float64(conv.finite(|| path.to_owned(), f)?),
        wm::Scalar::Money(m) => model::Scalar::Money(conv.money(|| path.to_owned(), m, None)?),
    })
}
