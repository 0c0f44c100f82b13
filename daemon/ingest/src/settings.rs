//! Per-workspace behaviour of the write path, with defaults when a workspace never changed them.

use crate::IngestError;
use chrono::Utc;
use creatorflow_store::entity::workspace_setting;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

/// When an order starts holding stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveOn {
    Placed,
    Paid,
}

impl ReserveOn {
    pub fn as_str(self) -> &'static str {
        match self {
            ReserveOn::Placed => "placed",
            ReserveOn::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "placed" => Some(ReserveOn::Placed),
            "paid" => Some(ReserveOn::Paid),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub reserve_on: ReserveOn,
    pub forbid_negative_manual: bool,
    /// Conditions a sellable return may be restocked as; empty means any.
    pub restock_conditions: Vec<String>,
    pub velocity_spike_factor: i64,
    pub velocity_min_units: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            reserve_on: ReserveOn::Placed,
            forbid_negative_manual: false,
            restock_conditions: Vec::new(),
            velocity_spike_factor: 5,
            velocity_min_units: 5,
        }
    }
}

impl Settings {
    pub fn restockable(&self, condition: Option<&str>) -> bool {
        self.restock_conditions.is_empty()
            || condition.is_some_and(|c| {
                self.restock_conditions
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(c))
            })
    }
}

pub async fn load(db: &impl ConnectionTrait, ws: i64) -> Result<Settings, IngestError> {
    let Some(row) = workspace_setting::Entity::find_by_id(ws).one(db).await? else {
        return Ok(Settings::default());
    };
    Ok(Settings {
        reserve_on: ReserveOn::parse(&row.reserve_on).unwrap_or(ReserveOn::Placed),
        forbid_negative_manual: row.forbid_negative_manual,
        restock_conditions: row
            .restock_conditions
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        velocity_spike_factor: row.velocity_spike_factor,
        velocity_min_units: row.velocity_min_units,
    })
}

/// Stores a workspace's settings (used by the API and CLI).
pub async fn save(db: &impl ConnectionTrait, ws: i64, s: &Settings) -> Result<(), IngestError> {
    if s.velocity_spike_factor < 1 {
        return Err(IngestError::invalid(
            "velocitySpikeFactor",
            "must be at least 1",
        ));
    }
    if s.velocity_min_units < 1 {
        return Err(IngestError::invalid(
            "velocityMinUnits",
            "must be at least 1",
        ));
    }
    let row = workspace_setting::ActiveModel {
        workspace_id: Set(ws),
        reserve_on: Set(s.reserve_on.as_str().into()),
        forbid_negative_manual: Set(s.forbid_negative_manual),
        restock_conditions: Set(Some(s.restock_conditions.join(","))),
        velocity_spike_factor: Set(s.velocity_spike_factor),
        velocity_min_units: Set(s.velocity_min_units),
        updated_at: Set(Utc::now()),
    };
    workspace_setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(workspace_setting::Column::WorkspaceId)
                .update_columns([
                    workspace_setting::Column::ReserveOn,
                    workspace_setting::Column::ForbidNegativeManual,
                    workspace_setting::Column::RestockConditions,
                    workspace_setting::Column::VelocitySpikeFactor,
                    workspace_setting::Column::VelocityMinUnits,
                    workspace_setting::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
