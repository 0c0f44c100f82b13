//! Ad spend, content metrics and funnel events: facts that are replaced (per day) or appended, never summed
//! twice, so a redelivered day overwrites itself.

use crate::apply::Ctx;
use crate::{IngestError, Outcome};
use creatorflow_core::ingest::{AdSpend, ContentMetrics, FunnelEvent};
use creatorflow_store::entity::{
    ad_campaign, ad_spend_daily, content_item, content_metrics_daily, funnel_event,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

pub(crate) async fn ad_spend(ctx: &mut Ctx<'_>, a: &AdSpend) -> Result<Outcome, IngestError> {
    let campaign = match ad_campaign::Entity::find()
        .filter(ad_campaign::Column::ConnectionId.eq(ctx.connection_id))
        .filter(ad_campaign::Column::ExternalId.eq(a.campaign_external_id.as_str()))
        .one(ctx.txn)
        .await?
    {
        Some(c) if c.name == a.campaign_name => c,
        Some(c) => {
            let mut am: ad_campaign::ActiveModel = c.into();
            am.name = Set(a.campaign_name.clone());
            am.update(ctx.txn).await?
        }
        None => {
            ad_campaign::ActiveModel {
                workspace_id: Set(ctx.workspace_id),
                connection_id: Set(ctx.connection_id),
                external_id: Set(a.campaign_external_id.clone()),
                name: Set(a.campaign_name.clone()),
                status: Set("active".into()),
                ..Default::default()
            }
            .insert(ctx.txn)
            .await?
        }
    };
    use ad_spend_daily::Column as C;
    ad_spend_daily::Entity::insert(ad_spend_daily::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        campaign_id: Set(campaign.id),
        day: Set(a.day),
        spend_minor: Set(a.spend_minor),
        currency: Set(a.currency.to_ascii_uppercase()),
        impressions: Set(a.impressions),
        clicks: Set(a.clicks),
        conversions: Set(a.conversions),
        attributed_revenue_minor: Set(a.attributed_revenue_minor),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([C::CampaignId, C::Day])
            .update_columns([
                C::SpendMinor,
                C::Currency,
                C::Impressions,
                C::Clicks,
                C::Conversions,
                C::AttributedRevenueMinor,
            ])
            .to_owned(),
    )
    .exec_without_returning(ctx.txn)
    .await?;
    Ok(Outcome::Applied)
}

async fn content_item_id(ctx: &Ctx<'_>, c: &ContentMetrics) -> Result<i64, IngestError> {
    if let Some(item) = content_item::Entity::find()
        .filter(content_item::Column::ConnectionId.eq(ctx.connection_id))
        .filter(content_item::Column::ExternalId.eq(c.content_external_id.as_str()))
        .one(ctx.txn)
        .await?
    {
        let mut am: content_item::ActiveModel = item.into();
        if c.title.is_some() {
            am.title = Set(c.title.clone());
        }
        if c.url.is_some() {
            am.url = Set(c.url.clone());
        }
        if c.published_at.is_some() {
            am.published_at = Set(c.published_at);
        }
        return Ok(am.update(ctx.txn).await?.id);
    }
    Ok(content_item::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        connection_id: Set(ctx.connection_id),
        external_id: Set(c.content_external_id.clone()),
        kind: Set(c.kind.clone()),
        title: Set(c.title.clone()),
        url: Set(c.url.clone()),
        published_at: Set(c.published_at),
        ..Default::default()
    }
    .insert(ctx.txn)
    .await?
    .id)
}

pub(crate) async fn content(ctx: &mut Ctx<'_>, c: &ContentMetrics) -> Result<Outcome, IngestError> {
    let item_id = content_item_id(ctx, c).await?;
    use content_metrics_daily::Column as C;
    content_metrics_daily::Entity::insert(content_metrics_daily::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        content_item_id: Set(item_id),
        day: Set(c.day),
        views: Set(c.views),
        likes: Set(c.likes),
        comments: Set(c.comments),
        shares: Set(c.shares),
        product_clicks: Set(c.product_clicks),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([C::ContentItemId, C::Day])
            .update_columns([C::Views, C::Likes, C::Comments, C::Shares, C::ProductClicks])
            .to_owned(),
    )
    .exec_without_returning(ctx.txn)
    .await?;
    Ok(Outcome::Applied)
}

pub(crate) async fn funnel(ctx: &mut Ctx<'_>, f: &FunnelEvent) -> Result<Outcome, IngestError> {
    let variant_id = match &f.sku {
        Some(s) => ctx.variant_by_sku(s).await?.map(|v| v.id),
        None => None,
    };
    let content_item_id = match &f.content_external_id {
        Some(ext) => content_item::Entity::find()
            .filter(content_item::Column::ConnectionId.eq(ctx.connection_id))
            .filter(content_item::Column::ExternalId.eq(ext.as_str()))
            .one(ctx.txn)
            .await?
            .map(|c| c.id),
        None => None,
    };
    funnel_event::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        connection_id: Set(Some(ctx.connection_id)),
        external_id: Set(f.external_id.clone()),
        stage: Set(f.stage.clone()),
        session_key: Set(f.session_key.clone()),
        content_item_id: Set(content_item_id),
        variant_id: Set(variant_id),
        occurred_at: Set(f.occurred_at),
        ..Default::default()
    }
    .insert(ctx.txn)
    .await?;
    Ok(Outcome::Applied)
}
