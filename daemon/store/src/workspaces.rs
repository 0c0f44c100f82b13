//! Workspaces and connections: the tenancy and the shops linked to it.

use crate::entity::{connection, workspace};
use crate::{CredentialCipher, Store, StoreError, conflict_or};
use chrono::Utc;
use creatorflow_core::{Currency, Principal, Slug, Timezone, WorkspaceId, WorkspaceScope};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};

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
    /// Non-secret settings for the connector (shop cipher, region, base URL…).
    pub config: std::collections::BTreeMap<String, String>,
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
        let now = Utc::now();
        // Inserted first so the credentials can be sealed for this very row, in the same transaction.
        let txn = self.db.begin().await?;
        let row = connection::ActiveModel {
            workspace_id: Set(new.workspace_id.0),
            kind: Set(new.kind.clone()),
            name: Set(new.name.trim().to_owned()),
            external_shop_id: Set(new.external_shop_id.clone()),
            status: Set("active".into()),
            credentials_ciphertext: Set(None),
            config: Set(serde_json::to_string(&new.config)
                .map_err(|e| StoreError::Invalid(format!("connection config: {e}")))?),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!(
                    "this workspace already has a {} connection for shop {:?}",
                    new.kind, new.external_shop_id
                )
            })
        })?;
        let row = match &new.credentials {
            Some(plain) => {
                let sealed = self.cipher.seal(plain, &credentials_binding(&row))?;
                let mut active: connection::ActiveModel = row.into();
                active.credentials_ciphertext = Set(Some(sealed));
                active.update(&txn).await?
            }
            None => row,
        };
        txn.commit().await?;
        Ok(row)
    }

    /// Re-seals credentials stored before they were bound to their row; runs with the migrations.
    pub async fn reseal_legacy_credentials(&self) -> Result<usize, StoreError> {
        let rows = connection::Entity::find()
            .filter(connection::Column::CredentialsCiphertext.is_not_null())
            .all(&self.db)
            .await?;
        let mut resealed = 0;
        for row in rows {
            let Some(sealed) = row.credentials_ciphertext.clone() else {
                continue;
            };
            if !CredentialCipher::is_legacy(&sealed) {
                continue;
            }
            let bound = self
                .cipher
                .reseal_legacy(&sealed, &credentials_binding(&row))?;
            let mut active: connection::ActiveModel = row.into();
            active.credentials_ciphertext = Set(Some(bound));
            active.update(&self.db).await?;
            resealed += 1;
        }
        Ok(resealed)
    }

    /// Decrypts a connection's credentials for the code that calls the marketplace; never for the API.
    pub fn connection_credentials(
        &self,
        c: &connection::Model,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match &c.credentials_ciphertext {
            Some(sealed) => Ok(Some(self.cipher.open(sealed, &credentials_binding(c))?)),
            None => Ok(None),
        }
    }
}

/// What a connection's sealed credentials are bound to: its workspace and its own row.
fn credentials_binding(c: &connection::Model) -> Vec<u8> {
    format!("workspace:{}/connection:{}", c.workspace_id, c.id).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DbOptions;

    async fn store(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        let store = Store::connect(
            &DbOptions::new(url),
            CredentialCipher::from_key_bytes(&[4u8; 32]).expect("key"),
        )
        .await
        .expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    async fn connection(store: &Store, shop: &str, secret: &[u8]) -> connection::Model {
        let ws = store.create_default_workspace().await.ok();
        let workspace_id = match ws {
            Some(w) => WorkspaceId(w.id),
            None => WorkspaceId(
                workspace::Entity::find()
                    .one(&store.db)
                    .await
                    .expect("query")
                    .expect("a workspace")
                    .id,
            ),
        };
        store
            .create_connection(&NewConnection {
                workspace_id,
                kind: "tiktok_shop".into(),
                name: shop.into(),
                external_shop_id: Some(shop.into()),
                credentials: Some(secret.to_vec()),
                config: Default::default(),
            })
            .await
            .expect("connection")
    }

    #[tokio::test]
    async fn sealed_credentials_cannot_be_moved_to_another_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir).await;
        let a = connection(&store, "shop-a", b"token-a").await;
        let b = connection(&store, "shop-b", b"token-b").await;
        assert_eq!(
            store.connection_credentials(&a).expect("open"),
            Some(b"token-a".to_vec())
        );
        // Someone with write access to the database copies A's blob into B's row.
        let mut moved = b.clone();
        moved.credentials_ciphertext = a.credentials_ciphertext.clone();
        assert!(store.connection_credentials(&moved).is_err());
    }

    #[tokio::test]
    async fn credentials_sealed_before_binding_are_resealed_by_migrate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir).await;
        let row = connection(&store, "shop-old", b"ignored").await;
        // A blob as older versions sealed it: nonce + ciphertext under the unbound associated data.
        let legacy = legacy_blob(&store, b"old-token");
        let mut active: connection::ActiveModel = row.clone().into();
        active.credentials_ciphertext = Set(Some(legacy));
        let row = active.update(&store.db).await.expect("update");
        assert!(store.connection_credentials(&row).is_err());
        store.migrate().await.expect("migrate again");
        let row = connection::Entity::find_by_id(row.id)
            .one(&store.db)
            .await
            .expect("query")
            .expect("row");
        assert_eq!(
            store.connection_credentials(&row).expect("open"),
            Some(b"old-token".to_vec())
        );
    }

    fn legacy_blob(store: &Store, plain: &[u8]) -> Vec<u8> {
        crate::crypto::legacy_seal_for_tests(&store.cipher, plain)
    }
}
