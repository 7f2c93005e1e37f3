//! `/outbox` (owners): the notifications this service sent, newest first.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxMessage {
    /// When what it tells happened.
    #[serde(with = "crate::timestamp")]
    pub at: OffsetDateTime,
    /// Its addresses.
    pub to: Vec<String>,
    /// Its subject line.
    pub subject: String,
    /// Its text.
    pub body: String,
}

/// Body answering `/outbox`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxResponse {
    /// Newest first.
    pub messages: Vec<OutboxMessage>,
}
