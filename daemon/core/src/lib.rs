//! Domain vocabulary shared by every part of the daemon: typed identifiers, roles, money and the one table
//! of stable error codes. Nothing here knows about storage, HTTP or plugins.

pub mod auth;
pub mod bounds;
pub mod bus;
pub mod error;
pub mod id;
pub mod ingest;
pub mod money;
pub mod tz;

pub use auth::{Principal, Role, WorkspaceScope};
pub use bus::{DomainEvent, EventBus};
pub use error::ErrorCode;
pub use id::{ConnectionId, CustomerId, OrderId, ProductId, Slug, TokenId, VariantId, WorkspaceId};
pub use money::{Currency, Money};
pub use tz::Timezone;
