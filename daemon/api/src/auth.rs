//! Authorization helpers every resolver goes through. The HTTP layer has already turned the bearer token into
//! a [`Principal`]; resolvers only ask what it may do.

use crate::error::gql_error;
use async_graphql::{Context, Result};
use creatorflow_core::{ErrorCode, Principal, Role, WorkspaceId};
use creatorflow_store::Store;
use creatorflow_store::entity::workspace;

/// What a field needs from the caller, beyond seeing the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Read,
    WriteData,
    Administer,
}

pub fn principal<'a>(ctx: &Context<'a>) -> Result<&'a Principal> {
    ctx.data_opt::<Principal>().ok_or_else(|| {
        gql_error(
            ErrorCode::Unauthenticated,
            "a valid bearer token is required",
        )
    })
}

pub fn check_role(who: &Principal, need: Need) -> Result<()> {
    let ok = match need {
        Need::Read => true,
        Need::WriteData => who.role.can_write_data(),
        Need::Administer => who.role.can_administer(),
    };
    if ok {
        Ok(())
    } else {
        Err(gql_error(
            ErrorCode::Forbidden,
            format!("a token with role {} cannot do this", who.role),
        ))
    }
}

/// Resolves a workspace slug the caller may use. A scoped token gets FORBIDDEN for every slug outside its
/// scope, whether or not it exists, so probing slugs reveals nothing.
pub async fn workspace_for(ctx: &Context<'_>, slug: &str, need: Need) -> Result<workspace::Model> {
    let who = principal(ctx)?;
    let store = ctx.data::<Store>()?;
    let ws = store
        .workspace_by_slug(slug)
        .await
        .map_err(crate::error::from_store)?;
    match ws {
        Some(ws) if who.can_see(WorkspaceId(ws.id)) => {
            check_role(who, need)?;
            Ok(ws)
        }
        None if who.is_global() => Err(gql_error(
            ErrorCode::NotFound,
            format!("workspace `{slug}` not found"),
        )),
        _ => Err(gql_error(
            ErrorCode::Forbidden,
            format!("this token is not allowed to use workspace `{slug}`"),
        )),
    }
}

pub fn require_global_admin(who: &Principal) -> Result<()> {
    if who.role == Role::Admin && who.is_global() {
        Ok(())
    } else {
        Err(gql_error(
            ErrorCode::Forbidden,
            "only a global admin token can do this",
        ))
    }
}
