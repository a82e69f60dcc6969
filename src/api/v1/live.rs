//! Live tracking: officers' phones send positions in batches; coordinators' consoles watch
//! their region's feed (route changes, field reports, team positions) as server-sent events.
//!
//! The stream polls the region's feed table (`db::feed`) every [`POLL`] rather than holding
//! events in this process's memory or listening with PostgreSQL `LISTEN/NOTIFY`: the same code
//! serves both backends, an event written by any instance reaches a console connected to any
//! other, and a reconnect resumes from `Last-Event-ID` because every event keeps its number in
//! the database. The cost is one indexed query per connected console per poll when nothing
//! happens.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{Principal, ValidJson};
use crate::api::AppState;
use crate::db::feed::{self, FeedRow};
use crate::db::positions::NewPosition;
use crate::db::{catalog, DbError};
use crate::domain::{Coordinates, ErrorCode, Invalid, Role};
use crate::workflow::positions::{self, PositionResult};

/// How often a stream looks for new events when it has none to send.
const POLL: Duration = Duration::from_millis(500);
/// A comment line at least this often, so proxies and browsers keep an idle stream open.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Events read per query.
const PAGE: i64 = 200;
/// Positions per batch: an hour offline at one fix every ten seconds is 360.
const MAX_POSITIONS: usize = 500;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionIn {
    /// The phone's own id for this position, 1–64 visible ASCII characters; without it the
    /// time `at` identifies the position (a replay with the same time stores nothing).
    pub client_position_id: Option<String>,
    /// When the phone was there (RFC 3339).
    pub at: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    /// The fix's accuracy in metres, as the phone reports it.
    pub accuracy_m: Option<f64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionBatch {
    /// 1–500 positions, in any order.
    pub positions: Vec<PositionIn>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PositionOutcome {
    Stored,
    /// Stored before: a replay.
    Duplicate,
    /// Outside the region's boundary: not stored (the rest of the batch is).
    OutsideRegion,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PositionResultView {
    /// The position's id: `client_position_id`, or `at:<time>` when none was given.
    pub id: String,
    pub result: PositionOutcome,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PositionBatchResult {
    /// One per position, in the order sent.
    pub results: Vec<PositionResultView>,
}

fn parse_position(i: usize, p: PositionIn, latest: DateTime<Utc>) -> Result<NewPosition, ApiError> {
    let field = |name: &str| format!("positions[{i}].{name}");
    let id = match p.client_position_id {
        Some(id) => {
            let id = id.trim().to_string();
            if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_graphic()) {
                return Err(Invalid::new(
                    field("client_position_id"),
                    ErrorCode::InvalidFormat,
                    "1 to 64 visible ASCII characters",
                )
                .into());
            }
            id
        }
        None => format!(
            "at:{}",
            p.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    };
    let location =
        Coordinates::parse(p.lat, p.lon).map_err(|e| e.within(&format!("positions[{i}]")))?;
    if p.at > latest {
        return Err(Invalid::new(
            field("at"),
            ErrorCode::OutOfRange,
            "more than a day in the future",
        )
        .into());
    }
    if let Some(accuracy) = p.accuracy_m {
        if !accuracy.is_finite() || !(0.0..=100_000.0).contains(&accuracy) {
            return Err(Invalid::new(
                field("accuracy_m"),
                ErrorCode::OutOfRange,
                "accuracy must be between 0 and 100000 metres",
            )
            .into());
        }
    }
    Ok(NewPosition {
        client_position_id: id,
        at: p.at.naive_utc(),
        location,
        accuracy_m: p.accuracy_m,
    })
}

/// A batch of the officer's positions, often recorded offline. Replaying a batch stores nothing
/// twice (`duplicate`); a position outside the region's boundary is answered `outside_region`
/// and not stored, the rest of the batch is. A malformed position refuses the whole batch (422,
/// `field` names it). The region's consoles see the newest position move the team's marker.
#[utoipa::path(
    tag = "team",
    request_body = PositionBatch,
    responses((status = 200, body = PositionBatchResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/me/positions")]
pub async fn record_positions(
    state: web::Data<AppState>,
    who: Principal,
    body: ValidJson<PositionBatch>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Officer])?;
    let region_id = who.region_id.ok_or_else(ApiError::forbidden)?;
    let batch = body.0.positions;
    if batch.is_empty() {
        return Err(Invalid::new(
            "positions",
            ErrorCode::Required,
            "give at least one position",
        )
        .into());
    }
    if batch.len() > MAX_POSITIONS {
        return Err(Invalid::new(
            "positions",
            ErrorCode::TooMany,
            format!("at most {MAX_POSITIONS} positions"),
        )
        .into());
    }
    let latest = Utc::now() + chrono::Duration::days(1);
    let batch: Vec<NewPosition> = batch
        .into_iter()
        .enumerate()
        .map(|(i, p)| parse_position(i, p, latest))
        .collect::<Result<_, _>>()?;
    let ids: Vec<String> = batch.iter().map(|p| p.client_position_id.clone()).collect();
    let region = state
        .db
        .read(move |conn| catalog::region_find(conn, region_id))
        .await?;
    let boundary = match &region.boundary_geojson {
        Some(text) => Some(
            state
                .boundaries
                .get(region.id, text)
                .map_err(|e| ApiError::internal(format!("stored boundary: {e}")))?,
        ),
        None => None,
    };
    let results = positions::record(&state.db, who.account_id, region_id, boundary, batch).await?;
    Ok(HttpResponse::Ok().json(PositionBatchResult {
        results: ids
            .into_iter()
            .zip(results)
            .map(|(id, result)| PositionResultView {
                id,
                result: match result {
                    PositionResult::Stored => PositionOutcome::Stored,
                    PositionResult::Duplicate => PositionOutcome::Duplicate,
                    PositionResult::OutsideRegion => PositionOutcome::OutsideRegion,
                },
            })
            .collect(),
    }))
}

/// The region's live feed as server-sent events (coordinators of the region, admins):
/// `route_changed` (`{action, dates, routes: [{team_id, date, version}]}`: reload those days),
/// `field_report` (`{team_id, request_id, report, status, at}`), `on_the_way` (`{team_id,
/// request_id, eta}`), `position` (`{account_id, team_ids, at, lat, lon, accuracy_m}`) and,
/// at most twice a second while a plan runs, `plan_progress` (`{plan_id, elapsed_ms,
/// best_cost, assigned, requests}`: the search's best plan so far), and after an officer's
/// newest position `eta_update` (`{team_id, date, at, stops: [{request_id, eta, late}]}`: the
/// arrivals at the team's remaining stops of the day, estimated again from that position).
/// Each event has an `id:`; reconnect with `Last-Event-ID` to get every event after it (the
/// stream ends when the access token expires: reconnect with a fresh one). The
/// first event, `ready` (`{region_id, last_event_id}`), carries the id to resume from when
/// nothing else arrives; a comment line every 15 s keeps idle connections open. Send the
/// bearer token in the `Authorization` header (read the stream with `fetch`).
#[utoipa::path(
    tag = "dispatch",
    params(
        ("id" = i64, Path, description = "the region"),
        ("Last-Event-ID" = Option<String>, Header, description = "the id of the last event received: the stream resumes after it"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`, open until the client leaves", content_type = "text/event-stream", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/regions/{id}/stream")]
pub async fn region_stream(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let region_id = path.into_inner();
    // Other regions answer as if they did not exist, as everywhere else.
    if !who.sees_region(region_id) {
        return Err(ApiError::not_found("region"));
    }
    let resume = match request.headers().get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|id| *id >= 0)
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::MissingHeader,
                        "Last-Event-ID must be the id of an event (a number)",
                    )
                    .with_field("Last-Event-ID")
                })?,
        ),
    };
    let head = state
        .db
        .read(move |conn| {
            catalog::region_find(conn, region_id)?;
            feed::head(conn, region_id)
        })
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("region"),
            other => other.into(),
        })?;
    // A number past the head comes from another database's feed: start from now.
    let after = resume.map_or(head, |id| id.min(head));
    let first = format!(
        "retry: 3000\nid: {after}\nevent: ready\ndata: {}\n\n",
        serde_json::json!({"region_id": region_id, "last_event_id": after})
    );
    let cursor = Cursor {
        state,
        region_id,
        after,
        expires_at: who.expires_at,
        pending: VecDeque::from([Bytes::from(first)]),
        last_sent: Instant::now(),
    };
    let body = futures_util::stream::unfold(cursor, Cursor::next);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Compressing would hold events back in the encoder's buffer.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// Where one console's stream stands.
struct Cursor {
    state: web::Data<AppState>,
    region_id: i64,
    /// The number of the last event queued for this console.
    after: i64,
    /// The access token's expiry (Unix seconds): the stream ends then, and the console
    /// reconnects with a fresh token and `Last-Event-ID`, losing nothing.
    expires_at: i64,
    pending: VecDeque<Bytes>,
    last_sent: Instant,
}

impl Cursor {
    /// The next chunk to send; None ends the stream (the client reconnects and resumes).
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        loop {
            if Utc::now().timestamp() >= self.expires_at {
                return None;
            }
            if let Some(chunk) = self.pending.pop_front() {
                self.last_sent = Instant::now();
                return Some((Ok(chunk), self));
            }
            if self.last_sent.elapsed() >= HEARTBEAT {
                self.last_sent = Instant::now();
                return Some((Ok(Bytes::from_static(b": heartbeat\n\n")), self));
            }
            let (region_id, after) = (self.region_id, self.after);
            match self
                .state
                .db
                .read(move |conn| feed::after(conn, region_id, after, PAGE))
                .await
            {
                Ok(rows) if rows.is_empty() => tokio::time::sleep(POLL).await,
                Ok(rows) => {
                    for row in rows {
                        self.after = row.seq;
                        self.pending.push_back(sse_event(&row));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, region_id, "live stream ends: the feed is unreadable");
                    return None;
                }
            }
        }
    }
}

/// One feed row as a server-sent event. The payload is JSON on one line, as `data:` needs.
fn sse_event(row: &FeedRow) -> Bytes {
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        row.seq,
        row.kind.as_str(),
        row.payload
    ))
}
