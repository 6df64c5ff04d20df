//! The system log (Citrix's SystemLog API): who changed what, newest first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SystemLogRecord {
    /// Record id.
    pub record_id: String,
    /// When, RFC 3339 UTC.
    pub utc_timestamp: String,
    /// The customer.
    pub customer_id: String,
    /// E.g. `platform/administrator/create`.
    pub event_type: String,
    /// Id of what changed.
    pub target_id: Option<String>,
    /// Name of what changed.
    pub target_display_name: Option<String>,
    /// Kind of what changed, e.g. `administrator`, `secureclient`.
    pub target_type: Option<String>,
    /// The target's properties before the change (values as strings), if it existed.
    pub before_changes: Option<BTreeMap<String, String>>,
    /// The target's properties after the change (values as strings), if it still exists.
    pub after_changes: Option<BTreeMap<String, String>>,
    /// Who: an administrator's id, an API client's id, or none for the system.
    pub actor_id: Option<String>,
    /// Who, for people.
    pub actor_display_name: String,
    /// `administrator`, `service` or `system`.
    pub actor_type: String,
    /// What happened, by locale (`en-US`).
    pub message: BTreeMap<String, String>,
}

/// A page of records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SystemLogRecords {
    /// The records, newest first.
    pub items: Vec<SystemLogRecord>,
    /// How many records this page holds.
    pub count: usize,
    /// How many records the requested time range holds.
    pub estimated_total_items: i64,
    /// Pass as `ContinuationToken` for the next page; `null` on the last page.
    pub continuation_token: Option<String>,
}
