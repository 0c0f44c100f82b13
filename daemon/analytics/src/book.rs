//! The customer book: one compact fact per order that counts and has a known customer, per currency,
//! sorted by customer and time. Customer analyses (new vs returning, repeat rate, RFM, cohorts, Pareto,
//! lifetime value) run over it instead of over raw rows; it is cached per workspace by data version.

use crate::AnalyticsError;
use crate::period::bucket_start;
use crate::totals::{Breakdown, Scope};
use chrono::{DateTime, Utc};
use creatorflow_store::entity::order;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::{BTreeMap, HashMap};

/// One order of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact {
    pub customer: i64,
    pub connection: i64,
    pub at: DateTime<Utc>,
    /// Net sales of the order: subtotal − discount − refunded, minor units.
    pub net: i64,
}

#[derive(Debug, Default)]
pub struct CustomerBook {
    /// Per currency, sorted by (customer, at).
    pub facts: BTreeMap<String, Vec<Fact>>,
}

#[derive(FromQueryResult)]
struct Row {
    id: i64,
    customer_id: Option<i64>,
    connection_id: i64,
    placed_at: DateTime<Utc>,
    currency: String,
    subtotal_minor: i64,
    discount_minor: i64,
    refunded_minor: i64,
}

const PAGE: u64 = 50_000;

impl CustomerBook {
    /// Reads the workspace's orders that count and have a customer, a page at a time.
    pub async fn load(
        db: &impl ConnectionTrait,
        workspace_id: i64,
    ) -> Result<Self, AnalyticsError> {
        use order::Column as O;
        let mut facts: BTreeMap<String, Vec<Fact>> = BTreeMap::new();
        let mut after = 0i64;
        loop {
            let rows = order::Entity::find()
                .select_only()
                .columns([
                    O::Id,
                    O::CustomerId,
                    O::ConnectionId,
                    O::PlacedAt,
                    O::Currency,
                    O::SubtotalMinor,
                    O::DiscountMinor,
                    O::RefundedMinor,
                ])
                .filter(O::WorkspaceId.eq(workspace_id))
                .filter(O::Status.ne("cancelled"))
                .filter(O::CustomerId.is_not_null())
                .filter(O::Id.gt(after))
                .order_by_asc(O::Id)
                .limit(PAGE)
                .into_model::<Row>()
                .all(db)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for r in rows {
                let Some(customer) = r.customer_id else {
                    continue;
                };
                facts.entry(r.currency).or_default().push(Fact {
                    customer,
                    connection: r.connection_id,
                    at: r.placed_at,
                    net: r.subtotal_minor - r.discount_minor - r.refunded_minor,
                });
            }
        }
        for v in facts.values_mut() {
            v.sort_unstable_by_key(|f| (f.customer, f.at));
        }
        Ok(CustomerBook { facts })
    }

    /// Each customer's orders (sorted by time) in `currency`, keeping only the given connections (all when
    /// empty).
    pub fn customers<'a>(
        &'a self,
        currency: &str,
        connections: &'a [i64],
    ) -> impl Iterator<Item = Vec<Fact>> + 'a {
        let facts = self.facts.get(currency).map(Vec::as_slice).unwrap_or(&[]);
        facts
            .chunk_by(|a, b| a.customer == b.customer)
            .map(move |c| {
                c.iter()
                    .filter(|f| connections.is_empty() || connections.contains(&f.connection))
                    .copied()
                    .collect::<Vec<_>>()
            })
            .filter(|c| !c.is_empty())
    }

    /// Fills the customer metrics of a breakdown, for the whole period and for each bucket. A customer is
    /// new in a span when their first order falls in it, and a repeat customer when, by their last order in
    /// the span, they have ordered at least twice.
    pub fn fill(&self, scope: &Scope<'_>, out: &mut Breakdown) {
        let (from, to) = scope.range;
        let currencies: Vec<String> = self.facts.keys().cloned().collect();
        for currency in currencies {
            for orders in self.customers(&currency, &scope.filters.connections) {
                let first = orders[0].at;
                let in_range: Vec<(usize, &Fact)> = orders
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.at >= from && f.at < to)
                    .collect();
                let Some(&(last_index, _)) = in_range.last() else {
                    continue;
                };
                let whole = out.whole.entry(currency.clone()).or_default();
                let is_new = first >= from && first < to;
                whole.customers += 1;
                whole.new_customers += i64::from(is_new);
                whole.repeat_customers += i64::from(last_index >= 1);
                let net: i64 = in_range.iter().map(|(_, f)| f.net).sum();
                if is_new {
                    whole.new_customer_revenue += net;
                } else {
                    whole.returning_customer_revenue += net;
                }
                let first_bucket = bucket_start(first, scope.tz, scope.granularity);
                let mut per_bucket: HashMap<DateTime<Utc>, (usize, i64)> = HashMap::new();
                for (i, f) in &in_range {
                    let e = per_bucket
                        .entry(scope_bucket(scope, f.at))
                        .or_insert((*i, 0));
                    e.0 = *i;
                    e.1 += f.net;
                }
                let buckets = out.buckets.entry(currency.clone()).or_default();
                for (b, (last_i, net)) in per_bucket {
                    let t = buckets.entry(b).or_default();
                    let new_here = b == first_bucket;
                    t.customers += 1;
                    t.new_customers += i64::from(new_here);
                    t.repeat_customers += i64::from(last_i >= 1);
                    if new_here {
                        t.new_customer_revenue += net;
                    } else {
                        t.returning_customer_revenue += net;
                    }
                }
            }
        }
    }
}

fn scope_bucket(scope: &Scope<'_>, t: DateTime<Utc>) -> DateTime<Utc> {
    bucket_start(t, scope.tz, scope.granularity)
}
