//! API tokens over GraphQL, for global admins: list, create (the secret is shown once) and revoke, so an
//! admin frontend needs no shell access.

use crate::auth::{principal, require_global_admin};
use crate::error::{from_store, gql_error};
use async_graphql::{Context, ErrorExtensions, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use creatorflow_core::{ErrorCode, Role, Slug, TokenId};
use creatorflow_store::{Store, TokenInfo, TokenScope};

/// An API token; the secret is never shown again after creation.
#[derive(SimpleObject)]
pub struct ApiToken {
    pub id: ID,
    pub name: String,
    /// admin, analyst, ingest or read_only.
    pub role: String,
    /// True when the token reaches every workspace.
    pub global: bool,
    /// Slugs of the workspaces a scoped token reaches.
    pub workspaces: Vec<String>,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenInfo> for ApiToken {
    fn from(t: TokenInfo) -> Self {
        Self {
            id: ID(t.id.to_string()),
            name: t.name,
            role: t.role.to_string(),
            global: t.is_global,
            workspaces: t.workspaces,
            prefix: t.prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A token just created, with its secret: store it now, it cannot be read again.
#[derive(SimpleObject)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// Every API token, revoked ones included (global admin).
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        require_global_admin(principal(ctx)?)?;
        let store = ctx.data::<Store>()?;
        Ok(store
            .list_tokens()
            .await
            .map_err(from_store)?
            .into_iter()
            .map(ApiToken::from)
            .collect())
    }
}

#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Creates a token (global admin). Without `workspaces` it is global, which only admin tokens may be.
    async fn create_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        role: String,
        workspaces: Option<Vec<String>>,
    ) -> Result<CreatedToken> {
        require_global_admin(principal(ctx)?)?;
        let bad = |field: &'static str, message: String| {
            gql_error(ErrorCode::BadUserInput, format!("`{field}`: {message}"))
                .extend_with(move |_, e| e.set("field", field))
        };
        creatorflow_core::bounds::text("name", &name, 200).map_err(|e| bad("name", e.message))?;
        if name.trim().is_empty() {
            return Err(bad("name", "must not be empty".into()));
        }
        let role: Role = role.parse().map_err(|_| {
            bad(
                "role",
                format!("unknown role `{role}`; expected admin, analyst, ingest or read_only"),
            )
        })?;
        let scope = match workspaces {
            None => TokenScope::Global,
            Some(slugs) if slugs.is_empty() => {
                return Err(bad(
                    "workspaces",
                    "name at least one workspace, or leave it out for a global admin token".into(),
                ));
            }
            Some(slugs) => TokenScope::Workspaces(
                slugs
                    .iter()
                    .map(|s| Slug::parse(s).map_err(|e| bad("workspaces", e.to_string())))
                    .collect::<Result<_>>()?,
            ),
        };
        let store = ctx.data::<Store>()?;
        let created = store
            .create_token(name.trim(), role, &scope)
            .await
            .map_err(from_store)?;
        let token = store
            .list_tokens()
            .await
            .map_err(from_store)?
            .into_iter()
            .find(|t| t.id == created.id)
            .ok_or_else(|| gql_error(ErrorCode::Internal, "the new token vanished"))?;
        Ok(CreatedToken {
            token: token.into(),
            secret: created.secret,
        })
    }

    /// Revokes a token (global admin); it stops working at once, open subscriptions included. Returns
    /// false when it was already revoked.
    async fn revoke_token(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        require_global_admin(principal(ctx)?)?;
        let id = id
            .parse::<i64>()
            .map_err(|_| gql_error(ErrorCode::BadUserInput, "`id`: not a token id"))?;
        let store = ctx.data::<Store>()?;
        store.revoke_token(TokenId(id)).await.map_err(from_store)
    }
}
