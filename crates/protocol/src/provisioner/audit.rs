//! `/audit` (owners): the provisioner's audit log, newest first, a page at a time.

use serde::{Deserialize, Serialize};

/// Body of `/audit`: `{"before"?: id, "limit"?: n}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRequest {
    /// Only entries older than this id (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// Entries per page (1 to 1000; 100 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// 200 of `/audit`: entries newest first, and the `before` of the next page (if any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    /// The entries of this page.
    pub entries: Vec<AuditEntryView>,
    /// The `before` of the next page; `null` on the last one.
    pub next: Option<i64>,
}

/// One state change: who, what, when, with which parameters, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntryView {
    /// Increasing id.
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    /// The login that acted (or `reaper`).
    pub actor: String,
    /// What was done (`deploy`, `destroy`, …).
    pub action: String,
    /// The cluster it was done to.
    pub cluster: String,
    /// The request's parameters.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub parameters: serde_json::Value,
    /// `ok`, or what went wrong.
    pub outcome: String,
}
