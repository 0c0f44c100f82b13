//! Marketing and content: spend and returns per campaign and channel, the conversion funnel with its
//! drop-offs, multi-touch attribution of conversions to content, and the lift a video or LIVE brought.

use crate::{AnalyticsError, Query};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use creatorflow_store::entity::{
    ad_campaign, ad_spend_daily, content_item, content_metrics_daily, funnel_event,
};
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};
use std::collections::{BTreeMap, HashMap};

/// The funnel's stages, in order.
pub const STAGES: [&str; 6] = [
    "video_view",
    "product_view",
    "add_to_cart",
    "checkout",
    "paid",
    "fulfilled",
];

/// How far before the period a touch may lie and still earn credit for a conversion in it.
pub const LOOKBACK_DAYS: i64 = 30;
/// Half-life of a touch's weight in the time-decay model.
pub const HALF_LIFE_DAYS: f64 = 7.0;

/// One campaign's spend and results over the period.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct CampaignStats {
    pub campaign_id: i64,
    pub connection_id: i64,
    pub name: String,
    pub currency: String,
    pub spend: Option<i64>,
    pub impressions: Option<i64>,
    pub clicks: Option<i64>,
    pub conversions: Option<i64>,
    pub attributed_revenue: Option<i64>,
}

fn sum(col: impl sea_orm::sea_query::IntoColumnRef) -> Expr {
    Func::cast_as(Func::sum(Expr::col(col)), Alias::new("BIGINT")).into()
}

fn days(q: &Query) -> (NaiveDate, NaiveDate) {
    (q.period.from, q.period.to)
}

pub async fn campaigns(
    db: &impl ConnectionTrait,
    q: &Query,
) -> Result<Vec<CampaignStats>, AnalyticsError> {
    use ad_spend_daily::Column as A;
    let (from, to) = days(q);
    let mut s = ad_spend_daily::Entity::find()
        .select_only()
        .column_as(
            Expr::col((ad_campaign::Entity, ad_campaign::Column::Id)),
            "campaign_id",
        )
        .column_as(
            Expr::col((ad_campaign::Entity, ad_campaign::Column::ConnectionId)),
            "connection_id",
        )
        .column_as(
            Expr::col((ad_campaign::Entity, ad_campaign::Column::Name)),
            "name",
        )
        .column_as(Expr::col((ad_spend_daily::Entity, A::Currency)), "currency")
        .column_as(sum((ad_spend_daily::Entity, A::SpendMinor)), "spend")
        .column_as(sum((ad_spend_daily::Entity, A::Impressions)), "impressions")
        .column_as(sum((ad_spend_daily::Entity, A::Clicks)), "clicks")
        .column_as(sum((ad_spend_daily::Entity, A::Conversions)), "conversions")
        .column_as(
            sum((ad_spend_daily::Entity, A::AttributedRevenueMinor)),
            "attributed_revenue",
        )
        .join(
            JoinType::InnerJoin,
            ad_spend_daily::Relation::AdCampaign.def(),
        )
        .filter(Expr::col((ad_spend_daily::Entity, A::WorkspaceId)).eq(q.workspace_id))
        .filter(Expr::col((ad_spend_daily::Entity, A::Day)).gte(from))
        .filter(Expr::col((ad_spend_daily::Entity, A::Day)).lte(to));
    if !q.filters.campaigns.is_empty() {
        s = s.filter(
            Expr::col((ad_campaign::Entity, ad_campaign::Column::Id))
                .is_in(q.filters.campaigns.clone()),
        );
    }
    if !q.filters.connections.is_empty() {
        s = s.filter(
            Expr::col((ad_campaign::Entity, ad_campaign::Column::ConnectionId))
                .is_in(q.filters.connections.clone()),
        );
    }
    Ok(
        s.group_by(Expr::col((ad_campaign::Entity, ad_campaign::Column::Id)))
            .group_by(Expr::col((
                ad_campaign::Entity,
                ad_campaign::Column::ConnectionId,
            )))
            .group_by(Expr::col((ad_campaign::Entity, ad_campaign::Column::Name)))
            .group_by(Expr::col((ad_spend_daily::Entity, A::Currency)))
            .order_by_asc(Expr::col((ad_campaign::Entity, ad_campaign::Column::Id)))
            .into_model::<CampaignStats>()
            .all(db)
            .await?,
    )
}

/// One funnel event as the analyses need it.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Touch {
    pub id: i64,
    pub stage: String,
    pub session_key: Option<String>,
    pub content_item_id: Option<i64>,
    pub occurred_at: DateTime<Utc>,
}

async fn touches(
    db: &impl ConnectionTrait,
    q: &Query,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Touch>, AnalyticsError> {
    use funnel_event::Column as F;
    let mut s = funnel_event::Entity::find()
        .select_only()
        .columns([
            F::Id,
            F::Stage,
            F::SessionKey,
            F::ContentItemId,
            F::OccurredAt,
        ])
        .filter(F::WorkspaceId.eq(q.workspace_id))
        .filter(F::OccurredAt.gte(from))
        .filter(F::OccurredAt.lt(to));
    if !q.filters.connections.is_empty() {
        s = s.filter(F::ConnectionId.is_in(q.filters.connections.clone()));
    }
    Ok(s.order_by_asc(F::OccurredAt)
        .order_by_asc(F::Id)
        .into_model::<Touch>()
        .all(db)
        .await?)
}

/// One step of the funnel: sessions that reached it, and the share of the previous step's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub stage: &'static str,
    pub sessions: i64,
    /// Sessions here ÷ sessions at the previous step × 100 (two decimals); `None` for the first step or
    /// when the previous had none.
    pub conversion_percent: Option<Decimal>,
    /// 100 − conversion.
    pub drop_off_percent: Option<Decimal>,
}

fn pct(num: i64, den: i64) -> Option<Decimal> {
    (den > 0).then(|| {
        (Decimal::from(num) * Decimal::ONE_HUNDRED / Decimal::from(den))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    })
}

/// The session of an event: its session key, or the event alone when it has none.
fn session(t: &Touch) -> String {
    t.session_key
        .clone()
        .unwrap_or_else(|| format!("#{}", t.id))
}

/// Distinct sessions reaching each stage in the period (filtered by content item when asked: sessions
/// that touched one of them).
pub async fn funnel(db: &impl ConnectionTrait, q: &Query) -> Result<Vec<Step>, AnalyticsError> {
    let (from, to) = q.period.bounds(q.tz);
    let events = touches(db, q, from, to).await?;
    Ok(steps(&events, &q.filters.content_items))
}

pub fn steps(events: &[Touch], content: &[i64]) -> Vec<Step> {
    let keep: Option<std::collections::HashSet<String>> = (!content.is_empty()).then(|| {
        events
            .iter()
            .filter(|e| e.content_item_id.is_some_and(|c| content.contains(&c)))
            .map(session)
            .collect()
    });
    let mut per: HashMap<&str, std::collections::HashSet<String>> = HashMap::new();
    for e in events {
        let s = session(e);
        if keep.as_ref().is_some_and(|k| !k.contains(&s)) {
            continue;
        }
        if let Some(stage) = STAGES.iter().find(|st| **st == e.stage) {
            per.entry(stage).or_default().insert(s);
        }
    }
    let mut out: Vec<Step> = Vec::new();
    for stage in STAGES {
        let n = per.get(stage).map_or(0, |s| s.len() as i64);
        let conv = out.last().and_then(|p| pct(n, p.sessions));
        out.push(Step {
            stage,
            sessions: n,
            conversion_percent: conv,
            drop_off_percent: conv.map(|c| Decimal::ONE_HUNDRED - c),
        });
    }
    out
}

/// Conversions credited to one content item under each model (four decimals).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credit {
    pub first_touch: Decimal,
    pub last_touch: Decimal,
    pub linear: Decimal,
    pub time_decay: Decimal,
}

/// Credits every `paid` event of the period to the content its session touched before it (within
/// [`LOOKBACK_DAYS`]): first touch, last touch, linear (equal shares) and time decay (weights halving every
/// [`HALF_LIFE_DAYS`] before the conversion). Conversions without a content touch stay unattributed.
pub async fn attribution(
    db: &impl ConnectionTrait,
    q: &Query,
) -> Result<(BTreeMap<i64, Credit>, i64), AnalyticsError> {
    let (from, to) = q.period.bounds(q.tz);
    let events = touches(db, q, from - Duration::days(LOOKBACK_DAYS), to).await?;
    Ok(attribute(&events, from, to))
}

pub fn attribute(
    events: &[Touch],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (BTreeMap<i64, Credit>, i64) {
    let mut by_session: HashMap<String, Vec<&Touch>> = HashMap::new();
    for e in events {
        by_session.entry(session(e)).or_default().push(e);
    }
    let mut credit: BTreeMap<i64, Credit> = BTreeMap::new();
    let mut unattributed = 0;
    let round = |d: Decimal| d.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    for list in by_session.values() {
        for paid in list
            .iter()
            .filter(|e| e.stage == "paid" && e.occurred_at >= from && e.occurred_at < to)
        {
            let window = paid.occurred_at - Duration::days(LOOKBACK_DAYS);
            let touched: Vec<(&Touch, i64)> = list
                .iter()
                .filter(|e| e.occurred_at <= paid.occurred_at && e.occurred_at >= window)
                .filter_map(|e| e.content_item_id.map(|c| (*e, c)))
                .collect();
            let (Some(first), Some(last)) = (touched.first(), touched.last()) else {
                unattributed += 1;
                continue;
            };
            credit.entry(first.1).or_default().first_touch += Decimal::ONE;
            credit.entry(last.1).or_default().last_touch += Decimal::ONE;
            let share = Decimal::ONE / Decimal::from(touched.len() as i64);
            let weights: Vec<f64> = touched
                .iter()
                .map(|(e, _)| {
                    let age = (paid.occurred_at - e.occurred_at).num_seconds() as f64 / 86_400.0;
                    (-age / HALF_LIFE_DAYS * std::f64::consts::LN_2).exp()
                })
                .collect();
            let total: f64 = weights.iter().sum();
            for ((_, c), w) in touched.iter().zip(weights) {
                let entry = credit.entry(*c).or_default();
                entry.linear += share;
                entry.time_decay += Decimal::from_f64_retain(w / total).unwrap_or_default();
            }
        }
    }
    for c in credit.values_mut() {
        c.linear = round(c.linear);
        c.time_decay = round(c.time_decay);
    }
    (credit, unattributed)
}

/// A content item's reach in the period and the lift in net sales it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentImpact {
    pub content_item_id: i64,
    pub kind: String,
    pub title: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub product_clicks: i64,
    /// Product clicks ÷ views × 100.
    pub click_through_percent: Option<Decimal>,
}

#[derive(FromQueryResult)]
struct MetricsRow {
    content_item_id: i64,
    views: Option<i64>,
    likes: Option<i64>,
    comments: Option<i64>,
    shares: Option<i64>,
    product_clicks: Option<i64>,
}

pub async fn content(
    db: &impl ConnectionTrait,
    q: &Query,
) -> Result<Vec<ContentImpact>, AnalyticsError> {
    use content_metrics_daily::Column as M;
    let (from, to) = days(q);
    let mut s = content_metrics_daily::Entity::find()
        .select_only()
        .column(M::ContentItemId)
        .column_as(sum(M::Views), "views")
        .column_as(sum(M::Likes), "likes")
        .column_as(sum(M::Comments), "comments")
        .column_as(sum(M::Shares), "shares")
        .column_as(sum(M::ProductClicks), "product_clicks")
        .filter(M::WorkspaceId.eq(q.workspace_id))
        .filter(M::Day.gte(from))
        .filter(M::Day.lte(to));
    if !q.filters.content_items.is_empty() {
        s = s.filter(M::ContentItemId.is_in(q.filters.content_items.clone()));
    }
    let rows = s
        .group_by(M::ContentItemId)
        .into_model::<MetricsRow>()
        .all(db)
        .await?;
    let items: HashMap<i64, content_item::Model> = content_item::Entity::find()
        .filter(content_item::Column::WorkspaceId.eq(q.workspace_id))
        .all(db)
        .await?
        .into_iter()
        .filter(|c| {
            q.filters.connections.is_empty() || q.filters.connections.contains(&c.connection_id)
        })
        .map(|c| (c.id, c))
        .collect();
    let mut out: Vec<ContentImpact> = rows
        .into_iter()
        .filter_map(|r| {
            let item = items.get(&r.content_item_id)?;
            let views = r.views.unwrap_or(0);
            let clicks = r.product_clicks.unwrap_or(0);
            Some(ContentImpact {
                content_item_id: r.content_item_id,
                kind: item.kind.clone(),
                title: item.title.clone(),
                published_at: item.published_at,
                views,
                likes: r.likes.unwrap_or(0),
                comments: r.comments.unwrap_or(0),
                shares: r.shares.unwrap_or(0),
                product_clicks: clicks,
                click_through_percent: pct(clicks, views),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.views
            .cmp(&a.views)
            .then(a.content_item_id.cmp(&b.content_item_id))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-10T00:00:00Z")
            .expect("instant")
            .with_timezone(&Utc)
            + Duration::hours(h)
    }

    fn e(id: i64, stage: &str, s: &str, content: Option<i64>, h: i64) -> Touch {
        Touch {
            id,
            stage: stage.into(),
            session_key: Some(s.into()),
            content_item_id: content,
            occurred_at: t(h),
        }
    }

    #[test]
    fn attribution_of_a_hand_computed_case() {
        // Session a: video 1 (7 days before), video 2 (at the conversion), paid. Session b: video 2, paid.
        // Session c: paid without any content touch.
        let events = vec![
            e(1, "video_view", "a", Some(1), -168),
            e(2, "video_view", "a", Some(2), 0),
            e(3, "paid", "a", None, 0),
            e(4, "video_view", "b", Some(2), -1),
            e(5, "paid", "b", None, 0),
            e(6, "paid", "c", None, 0),
        ];
        let (credit, unattributed) = attribute(&events, t(-1), t(1));
        assert_eq!(unattributed, 1);
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(credit[&1].first_touch, d("1"));
        assert_eq!(credit[&1].last_touch, d("0"));
        assert_eq!(credit[&2].first_touch, d("1"));
        assert_eq!(credit[&2].last_touch, d("2"));
        assert_eq!(credit[&1].linear, d("0.5"));
        assert_eq!(credit[&2].linear, d("1.5"));
        // Session a: weights 0.5 (one half-life) and 1 → 1/3 and 2/3; session b: all to video 2.
        assert_eq!(credit[&1].time_decay, d("0.3333"));
        assert_eq!(credit[&2].time_decay, d("1.6667"));
    }

    #[test]
    fn funnel_of_a_hand_computed_case() {
        let events = vec![
            e(1, "video_view", "a", Some(1), 0),
            e(2, "video_view", "b", Some(2), 0),
            e(3, "video_view", "c", None, 0),
            e(4, "video_view", "d", None, 0),
            e(5, "product_view", "a", None, 1),
            e(6, "product_view", "b", None, 1),
            e(7, "add_to_cart", "a", None, 2),
            e(8, "checkout", "a", None, 3),
            e(9, "paid", "a", None, 4),
            e(10, "video_view", "a", Some(1), 5),
        ];
        let s = steps(&events, &[]);
        let sessions: Vec<i64> = s.iter().map(|x| x.sessions).collect();
        assert_eq!(sessions, vec![4, 2, 1, 1, 1, 0]);
        assert_eq!(s[0].conversion_percent, None);
        assert_eq!(s[1].conversion_percent, Some(Decimal::new(5000, 2)));
        assert_eq!(s[1].drop_off_percent, Some(Decimal::new(5000, 2)));
        assert_eq!(s[5].conversion_percent, Some(Decimal::ZERO));
        // Only sessions that touched content 2.
        let only = steps(&events, &[2]);
        assert_eq!(
            only.iter().map(|x| x.sessions).collect::<Vec<_>>(),
            vec![1, 1, 0, 0, 0, 0]
        );
    }
}
