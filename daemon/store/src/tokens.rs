//! API tokens. The secret is shown once at creation; only its SHA-256 is stored. A slow password hash is not
//! needed here: the secret is 256 random bits, so a fast hash cannot be brute-forced and lookups stay O(1).

use crate::entity::{api_token, api_token_workspace, workspace};
use crate::{Store, StoreError};
use base64::Engine;
use chrono::{DateTime, Utc};
use creatorflow_core::{Principal, Role, Slug, TokenId, WorkspaceId, WorkspaceScope};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Every secret starts with this, so leaked tokens are recognisable by secret scanners.
const TOKEN_PREFIX: &str = "cf_";

/// Which workspaces a new token reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    Global,
    Workspaces(Vec<Slug>),
}

/// A freshly created token; `secret` exists only here.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: TokenId,
    pub secret: String,
}

/// What `token list` shows: never the secret.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    pub is_global: bool,
    pub workspaces: Vec<String>,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Store {
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        scope: &TokenScope,
    ) -> Result<NewToken, StoreError> {
        if matches!(scope, TokenScope::Global) && role != Role::Admin {
            return Err(StoreError::Invalid(format!(
                "only admin tokens may be global; give the {role} token one or more workspaces"
            )));
        }
        if matches!(scope, TokenScope::Workspaces(w) if w.is_empty()) {
            return Err(StoreError::Invalid(
                "a token needs at least one workspace, or must be a global admin token".into(),
            ));
        }
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
        );
        let txn = self.db.begin().await?;
        let mut ws_ids = Vec::new();
        if let TokenScope::Workspaces(slugs) = scope {
            for slug in slugs {
                let ws = workspace::Entity::find()
                    .filter(workspace::Column::Slug.eq(slug.as_str()))
                    .one(&txn)
                    .await?
                    .ok_or_else(|| StoreError::not_found(format!("workspace `{slug}`")))?;
                ws_ids.push(ws.id);
            }
        }
        let now = Utc::now();
        let row = api_token::ActiveModel {
            name: Set(name.to_owned()),
            role: Set(role.as_str().to_owned()),
            is_global: Set(matches!(scope, TokenScope::Global)),
            token_hash: Set(hash_secret(&secret)),
            token_prefix: Set(secret.chars().take(TOKEN_PREFIX.len() + 6).collect()),
            created_at: Set(now),
            last_used_at: Set(None),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        for ws_id in ws_ids {
            api_token_workspace::ActiveModel {
                token_id: Set(row.id),
                workspace_id: Set(ws_id),
            }
            .insert(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(NewToken {
            id: TokenId(row.id),
            secret,
        })
    }

    /// Resolves a bearer secret into a principal; `None` for unknown or revoked tokens.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Principal>, StoreError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let Some(tok) = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash_secret(secret)))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let Ok(role) = tok.role.parse::<Role>() else {
            tracing::warn!(token_id = tok.id, role = %tok.role, "Token with an unknown role refused");
            return Ok(None);
        };
        let scope = if tok.is_global {
            WorkspaceScope::Global
        } else {
            let links = api_token_workspace::Entity::find()
                .filter(api_token_workspace::Column::TokenId.eq(tok.id))
                .all(&self.db)
                .await?;
            WorkspaceScope::Only(links.iter().map(|l| WorkspaceId(l.workspace_id)).collect())
        };
        let stale = tok
            .last_used_at
            .is_none_or(|t| Utc::now().signed_duration_since(t).num_seconds() > 60);
        if stale {
            // Coarse on purpose: one write per token per minute, not per request.
            let mut am: api_token::ActiveModel = tok.clone().into();
            am.last_used_at = Set(Some(Utc::now()));
            if let Err(e) = am.update(&self.db).await {
                tracing::debug!(error = %e, "Could not record token use");
            }
        }
        Ok(Some(Principal {
            token_id: TokenId(tok.id),
            role,
            scope,
        }))
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let tokens = api_token::Entity::find()
            .order_by_asc(api_token::Column::Id)
            .all(&self.db)
            .await?;
        let links = api_token_workspace::Entity::find().all(&self.db).await?;
        let slugs: BTreeMap<i64, String> = workspace::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|w| (w.id, w.slug))
            .collect();
        let mut by_token: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        for l in links {
            if let Some(s) = slugs.get(&l.workspace_id) {
                by_token.entry(l.token_id).or_default().insert(s.clone());
            }
        }
        Ok(tokens
            .into_iter()
            .map(|t| TokenInfo {
                id: TokenId(t.id),
                role: t.role.parse().unwrap_or(Role::ReadOnly),
                workspaces: by_token
                    .remove(&t.id)
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                name: t.name,
                is_global: t.is_global,
                prefix: t.token_prefix,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    /// Revokes a token; revoking twice is not an error but reports `false`.
    pub async fn revoke_token(&self, id: TokenId) -> Result<bool, StoreError> {
        let tok = api_token::Entity::find_by_id(id.0)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("token {id}")))?;
        if tok.revoked_at.is_some() {
            return Ok(false);
        }
        let mut am: api_token::ActiveModel = tok.into();
        am.revoked_at = Set(Some(Utc::now()));
        am.update(&self.db).await?;
        Ok(true)
    }

    pub async fn count_active_tokens(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(api_token::Entity::find()
            .filter(api_token::Column::RevokedAt.is_null())
            .count(&self.db)
            .await?)
    }
}
