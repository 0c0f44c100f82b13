//! Workspaces and connections: the tenancy and the shops linked to it.

use crate::entity::{connection, workspace};
use crate::{Store, StoreError, conflict_or};
use chrono::Utc;
use creatorflow_core::{Currency, Principal, Slug, Timezone, WorkspaceId, WorkspaceScope};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub slug: Slug,
    pub name: String,
    pub timezone: Timezone,
    pub currency: Currency,
}

/// Connection kinds the daemon knows; connectors may add more later through plugins.
pub const CONNECTION_KINDS: &[&str] = &[
    "tiktok_shop",
    "shopify",
    "csv",
    "manual",
    "whatnot",
    "etsy",
    "amazon",
];

#[derive(Debug, Clone)]
pub struct NewConnection {
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub name: String,
    pub external_shop_id: Option<String>,
    /// Plain credentials (e.g. a JSON object of tokens); sealed before storage and never returned.
    pub credentials: Option<Vec<u8>>,
}

impl Store {
    pub async fn create_workspace(
        &self,
        new: &NewWorkspace,
    ) -> Result<workspace::Model, StoreError> {
        if new.name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a workspace name cannot be empty".into(),
            ));
        }
        let now = Utc::now();
        workspace::ActiveModel {
            slug: Set(new.slug.to_string()),
            name: Set(new.name.trim().to_owned()),
            timezone: Set(new.timezone.to_string()),
            currency: Set(new.currency.to_string()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!("a workspace with slug `{}` already exists", new.slug)
            })
        })
    }

    pub async fn list_workspace_count(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(workspace::Entity::find().count(&self.db).await?)
    }

    pub async fn all_workspaces(&self) -> Result<Vec<workspace::Model>, StoreError> {
        Ok(workspace::Entity::find()
            .order_by_asc(workspace::Column::Slug)
            .all(&self.db)
            .await?)
    }

    /// The workspace a fresh install starts with, so the daemon is usable before any setup.
    pub async fn create_default_workspace(&self) -> Result<workspace::Model, StoreError> {
        let new = NewWorkspace {
            slug: Slug::parse("default").map_err(|e| StoreError::Invalid(e.to_string()))?,
            name: "Default".into(),
            timezone: Timezone::parse("UTC").map_err(|e| StoreError::Invalid(e.to_string()))?,
            currency: Currency::parse("USD").map_err(|e| StoreError::Invalid(e.to_string()))?,
        };
        self.create_workspace(&new).await
    }

    pub async fn workspace_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<workspace::Model>, StoreError> {
        Ok(workspace::Entity::find()
            .filter(workspace::Column::Slug.eq(slug))
            .one(&self.db)
            .await?)
    }

    pub async fn workspace_by_id(
        &self,
        id: WorkspaceId,
    ) -> Result<Option<workspace::Model>, StoreError> {
        Ok(workspace::Entity::find_by_id(id.0).one(&self.db).await?)
    }

    /// The workspaces a principal can see, ordered by slug.
    pub async fn visible_workspaces(
        &self,
        who: &Principal,
    ) -> Result<Vec<workspace::Model>, StoreError> {
        let mut q = workspace::Entity::find().order_by_asc(workspace::Column::Slug);
        if let WorkspaceScope::Only(ids) = &who.scope {
            q = q.filter(workspace::Column::Id.is_in(ids.iter().map(|i| i.0)));
        }
        Ok(q.all(&self.db).await?)
    }

    pub async fn create_connection(
        &self,
        new: &NewConnection,
    ) -> Result<connection::Model, StoreError> {
        if !CONNECTION_KINDS.contains(&new.kind.as_str()) {
            return Err(StoreError::Invalid(format!(
                "unknown connection kind `{}`; expected one of {}",
                new.kind,
                CONNECTION_KINDS.join(", ")
            )));
        }
        if new.name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a connection name cannot be empty".into(),
            ));
        }
        let sealed = match &new.credentials {
            Some(plain) => Some(self.cipher.seal(plain)?),
            None => None,
        };
        let now = Utc::now();
        connection::ActiveModel {
            workspace_id: Set(new.workspace_id.0),
            kind: Set(new.kind.clone()),
            name: Set(new.name.trim().to_owned()),
            external_shop_id: Set(new.external_shop_id.clone()),
            status: Set("active".into()),
            credentials_ciphertext: Set(sealed),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!(
                    "this workspace already has a {} connection for shop {:?}",
                    new.kind, new.external_shop_id
                )
            })
        })
    }

    /// Decrypts a connection's credentials for the code that calls the marketplace; never for the API.
    pub fn connection_credentials(
        &self,
        c: &connection::Model,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match &c.credentials_ciphertext {
            Some(sealed) => Ok(Some(self.cipher.open(sealed)?)),
            None => Ok(None),
        }
    }
}
