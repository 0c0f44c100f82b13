//! Products, variants, brands and locations.

use crate::apply::Ctx;
use crate::{IngestError, Outcome};
use creatorflow_core::ingest::ProductUpsert;
use creatorflow_store::entity::{brand, location, product, variant};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

pub(crate) async fn upsert_product(
    ctx: &mut Ctx<'_>,
    p: &ProductUpsert,
) -> Result<Outcome, IngestError> {
    let ws = ctx.workspace_id;
    let brand_id = match &p.brand {
        Some(name) if !name.trim().is_empty() => Some(brand_id(ctx.txn, ws, name.trim()).await?),
        _ => None,
    };
    // A product is found by its source id, or — for sources without one — through any of its SKUs.
    let mut existing = match &p.external_id {
        Some(ext) => {
            product::Entity::find()
                .filter(product::Column::ConnectionId.eq(ctx.connection_id))
                .filter(product::Column::ExternalId.eq(ext.as_str()))
                .one(ctx.txn)
                .await?
        }
        None => None,
    };
    if existing.is_none() {
        let skus: Vec<&str> = p.variants.iter().map(|v| v.sku.as_str()).collect();
        if let Some(v) = variant::Entity::find()
            .filter(variant::Column::WorkspaceId.eq(ws))
            .filter(variant::Column::Sku.is_in(skus))
            .one(ctx.txn)
            .await?
        {
            existing = product::Entity::find_by_id(v.product_id)
                .one(ctx.txn)
                .await?;
        }
    }
    let product = match existing {
        Some(row) => {
            let mut am: product::ActiveModel = row.into();
            am.title = Set(p.title.clone());
            am.brand_id = Set(brand_id);
            am.category = Set(p.category.clone());
            am.status = Set(p.status.clone());
            am.updated_at = Set(ctx.now);
            am.update(ctx.txn).await?
        }
        None => {
            product::ActiveModel {
                workspace_id: Set(ws),
                connection_id: Set(Some(ctx.connection_id)),
                external_id: Set(p.external_id.clone()),
                title: Set(p.title.clone()),
                brand_id: Set(brand_id),
                category: Set(p.category.clone()),
                status: Set(p.status.clone()),
                created_at: Set(ctx.now),
                updated_at: Set(ctx.now),
                ..Default::default()
            }
            .insert(ctx.txn)
            .await?
        }
    };
    for v in &p.variants {
        let found = variant::Entity::find()
            .filter(variant::Column::WorkspaceId.eq(ws))
            .filter(variant::Column::Sku.eq(v.sku.as_str()))
            .one(ctx.txn)
            .await?;
        match found {
            Some(row) => {
                let mut am: variant::ActiveModel = row.into();
                am.product_id = Set(product.id);
                am.title = Set(v.title.clone());
                am.condition = Set(v.condition.clone());
                am.barcode = Set(v.barcode.clone());
                am.currency = Set(v.currency.to_ascii_uppercase());
                am.price_minor = Set(v.price_minor);
                am.unit_cost_minor = Set(v.unit_cost_minor);
                if v.external_id.is_some() {
                    am.external_id = Set(v.external_id.clone());
                    am.connection_id = Set(Some(ctx.connection_id));
                }
                am.updated_at = Set(ctx.now);
                am.update(ctx.txn).await?;
            }
            None => {
                variant::ActiveModel {
                    workspace_id: Set(ws),
                    product_id: Set(product.id),
                    connection_id: Set(Some(ctx.connection_id)),
                    external_id: Set(v.external_id.clone()),
                    sku: Set(v.sku.clone()),
                    title: Set(v.title.clone()),
                    condition: Set(v.condition.clone()),
                    barcode: Set(v.barcode.clone()),
                    currency: Set(v.currency.to_ascii_uppercase()),
                    price_minor: Set(v.price_minor),
                    unit_cost_minor: Set(v.unit_cost_minor),
                    created_at: Set(ctx.now),
                    updated_at: Set(ctx.now),
                    ..Default::default()
                }
                .insert(ctx.txn)
                .await?;
            }
        }
    }
    ctx.cache.forget_variants();
    Ok(Outcome::Applied)
}

async fn brand_id(db: &impl ConnectionTrait, ws: i64, name: &str) -> Result<i64, IngestError> {
    let find = || {
        brand::Entity::find()
            .filter(brand::Column::WorkspaceId.eq(ws))
            .filter(brand::Column::Name.eq(name))
            .one(db)
    };
    if let Some(b) = find().await? {
        return Ok(b.id);
    }
    brand::Entity::insert(brand::ActiveModel {
        workspace_id: Set(ws),
        name: Set(name.to_owned()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([brand::Column::WorkspaceId, brand::Column::Name])
    .exec_without_returning(db)
    .await?;
    find()
        .await?
        .map(|b| b.id)
        .ok_or_else(|| IngestError::Rejected(format!("could not create brand {name:?}")))
}

pub(crate) async fn variant_by_sku(
    db: &impl ConnectionTrait,
    ws: i64,
    sku: &str,
) -> Result<Option<variant::Model>, IngestError> {
    Ok(variant::Entity::find()
        .filter(variant::Column::WorkspaceId.eq(ws))
        .filter(variant::Column::Sku.eq(sku))
        .one(db)
        .await?)
}

/// The workspace's stock location by name (created on first use); `None` means the default location.
pub(crate) async fn location(
    db: &impl ConnectionTrait,
    ws: i64,
    name: Option<&str>,
) -> Result<location::Model, IngestError> {
    let name = location_name(name);
    let find = || {
        location::Entity::find()
            .filter(location::Column::WorkspaceId.eq(ws))
            .filter(location::Column::Name.eq(name))
            .one(db)
    };
    if let Some(l) = find().await? {
        return Ok(l);
    }
    location::Entity::insert(location::ActiveModel {
        workspace_id: Set(ws),
        connection_id: Set(None),
        external_id: Set(None),
        name: Set(name.to_owned()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([location::Column::WorkspaceId, location::Column::Name])
    .exec_without_returning(db)
    .await?;
    find()
        .await?
        .ok_or_else(|| IngestError::Rejected(format!("could not create location {name:?}")))
}

pub const DEFAULT_LOCATION: &str = "Default";

/// A location as named in an event: trimmed, and the default location when absent or blank.
pub(crate) fn location_name(name: Option<&str>) -> &str {
    name.map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_LOCATION)
}
