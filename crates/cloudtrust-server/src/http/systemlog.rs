//! `GET /systemlog/records`: Citrix Cloud's SystemLog API over cloudtrust's audit records,
//! newest first.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use cloudtrust_proto::systemlog::{SystemLogRecord, SystemLogRecords};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::bearer::Caller;
use super::errors::ApiErrorResponse;
use super::json::{JsonAccepted, Query, rfc3339};
use crate::clock::Clock;
use crate::domain::Directory;
use crate::domain::audit::AuditEvent;
use std::sync::Arc;

/// Largest `Limit`.
pub const MAX_LIMIT: usize = 200;
/// `Limit` when not given.
pub const DEFAULT_LIMIT: usize = 50;

/// Reads a time as clients send it: RFC 3339, or a UTC date and time without offset (with or
/// without fractions), or a date alone.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    // Fractions may go, and a `Z`; anything else after them (an offset whose `+` turned into
    // a space in the query) makes the time ambiguous, so it is refused rather than misread.
    let whole_seconds = match text.split_once('.') {
        Some((head, fraction)) => {
            let rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
            if !(rest.is_empty() || rest == "Z") {
                return None;
            }
            head
        }
        None => text.trim_end_matches('Z'),
    };
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(t) = PrimitiveDateTime::parse(whole_seconds, format) {
        return Some(t.assume_utc().unix_timestamp());
    }
    let format = format_description!("[year]-[month]-[day]");
    Date::parse(text, format)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

fn time_parameter(query: &Query, name: &str, default: i64) -> Result<i64, ApiErrorResponse> {
    match query.get(name) {
        None => Ok(default),
        Some(text) => parse_time(text).ok_or_else(|| {
            ApiErrorResponse::bad_request(
                "invalidString",
                format!("Invalid value provided for {name}; use yyyy-MM-ddTHH:mm:ssZ"),
                name,
            )
        }),
    }
}

/// A JSON object's members as strings, the shape Citrix's records use.
fn flatten(value: Option<&serde_json::Value>) -> Option<BTreeMap<String, String>> {
    let object = value?.as_object()?;
    Some(
        object
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect(),
    )
}

fn record(event: &AuditEvent) -> SystemLogRecord {
    SystemLogRecord {
        record_id: event.id.clone(),
        utc_timestamp: rfc3339(event.at),
        customer_id: event.customer_id.clone().unwrap_or_default(),
        event_type: event.event_type.clone(),
        target_id: event.target_id.clone(),
        target_display_name: event.target_display_name.clone(),
        target_type: event.target_type.clone(),
        before_changes: flatten(event.before_changes.as_ref()),
        after_changes: flatten(event.after_changes.as_ref()),
        actor_id: event.actor.id.clone(),
        actor_display_name: event.actor.display_name.clone(),
        actor_type: event.actor.actor_type.as_str().to_owned(),
        message: BTreeMap::from([("en-US".to_owned(), event.message.clone())]),
    }
}

/// `GET /systemlog/records`: who changed what, newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/systemlog/records",
    operation_id = "getSystemLogRecords",
    tag = "System log",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"),
        ("StartDateTime" = Option<String>, Query, description = "From, `yyyy-MM-ddTHH:mm:ssZ` (names in any case)"),
        ("EndDateTime" = Option<String>, Query, description = "To, `yyyy-MM-ddTHH:mm:ssZ` (default now)"),
        ("Limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
        ("ContinuationToken" = Option<String>, Query, description = "`continuationToken` of the previous page")),
    responses((status = 200, description = "One page of records, newest first", body = SystemLogRecords), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn records(
    State(clock): State<Arc<dyn Clock>>,
    State(directory): State<Directory>,
    _: JsonAccepted,
    caller: Caller,
    query: Query,
) -> Result<Json<SystemLogRecords>, ApiErrorResponse> {
    let start = time_parameter(&query, "StartDateTime", 0)?;
    let end = time_parameter(&query, "EndDateTime", clock.now())?;
    if start > end {
        return Err(ApiErrorResponse::bad_request(
            "outOfRange",
            "Start DateTime cannot be after the end DateTime.",
            "StartDateTime",
        ));
    }
    let page = query.page("Limit", "ContinuationToken", DEFAULT_LIMIT, MAX_LIMIT)?;
    let (page, total) = directory
        .read_system_log(
            &caller.actor(),
            &caller.claims.customer,
            (start, end),
            &page,
        )
        .await?;
    Ok(Json(SystemLogRecords {
        count: page.items.len(),
        items: page.items.iter().map(record).collect(),
        estimated_total_items: total,
        continuation_token: page.continuation,
    }))
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_are_read_in_the_forms_clients_send() {
        let expected = Some(1_577_836_800); // 2020-01-01T00:00:00Z
        for text in [
            "2020-01-01T00:00:00Z",
            "2020-01-01T00:00:00.000Z",
            "2020-01-01T00:00:00",
            "2020-01-01T01:00:00+01:00",
            "2020-01-01",
        ] {
            assert_eq!(parse_time(text), expected, "{text}");
        }
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(
            parse_time("2020-01-01T02:00:00.000 02:00"),
            None,
            "a lost `+`"
        );
    }
}
