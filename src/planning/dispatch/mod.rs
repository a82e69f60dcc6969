//! Coordinator rebalancing, worked out: a change by hand (move a stop to another team or date,
//! reorder a route, swap two stops, pin a stop, lock a route) or a re-plan of one day (a team
//! taken off the day, or the rest of the day planned again) becomes the new content of every
//! route it touches, with what changes for whom: added distance, shifted windows, newly broken
//! rules, visits dropped. Nothing here writes; the caller previews the result or stores it with
//! `workflow::rebalance::apply`, which refuses it when anything it was worked out from changed.
//!
//! One concern a file: `operations` (the changes by hand), `replan` (a day planned again),
//! `timing` (a route's new content timed by the planner), `preview` (the edit to store and
//! the before/after a coordinator reads) and `day_tag`. Local times come from the region's
//! [`RegionClock`].

mod day_tag;
#[cfg(test)]
mod fixtures;
mod operations;
mod preview;
mod replan;
mod timing;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::made_on_route;
use crate::db::catalog::{ServiceKindRow, TeamRow};
use crate::db::dispatch::{LiveStop, RouteEdit, Snapshot};
use crate::db::requests::RequestRow;
use crate::domain::clock::NoSuchLocalTime;
use crate::domain::{ErrorCode, Invalid, RegionClock};

pub use day_tag::day_tag;
pub use operations::propose_route_op;
pub use replan::{propose_replan, replan_problem};

/// Why a change cannot be worked out; `api::error` maps each to HTTP.
#[derive(Debug)]
pub enum EditError {
    NotFound(&'static str),
    /// The state refuses the change (a 409 with a stable code).
    Conflict {
        code: ErrorCode,
        message: String,
    },
    Invalid(Invalid),
    /// Stored data we cannot read back: a fault on our side.
    Internal(String),
}

impl From<Invalid> for EditError {
    fn from(e: Invalid) -> Self {
        EditError::Invalid(e)
    }
}

impl From<NoSuchLocalTime> for EditError {
    fn from(e: NoSuchLocalTime) -> Self {
        internal(e)
    }
}

/// The clock of the snapshot's region.
pub fn region_clock(snapshot: &Snapshot) -> Result<RegionClock, EditError> {
    RegionClock::of_zone(&snapshot.region.time_zone)
        .map_err(|e| internal(format!("stored time zone unreadable: {}", e.message)))
}

fn conflict(code: ErrorCode, message: impl Into<String>) -> EditError {
    EditError::Conflict {
        code,
        message: message.into(),
    }
}

fn internal(message: impl std::fmt::Display) -> EditError {
    EditError::Internal(message.to_string())
}

/// A coordinator's change to one route (the route named in the path).
#[derive(Debug, Clone, PartialEq)]
pub enum RouteOp {
    /// Put the stop on another team's route and/or another date, at `position` (default: last).
    Move {
        request_id: i64,
        to_team_id: i64,
        to_date: NaiveDate,
        position: Option<usize>,
        /// The target route's version as the coordinator saw it (required when it exists).
        target_version: Option<i32>,
    },
    /// The route's stops in a new order (each exactly once).
    Reorder { request_ids: Vec<i64> },
    /// Exchange two stops' places (on one route, or across routes).
    Swap {
        request_id: i64,
        with_request_id: i64,
        /// The other route's version, when the other stop is on another route.
        other_version: Option<i32>,
    },
    /// Keep (or stop keeping) the stop on its team and date when plans are made again.
    Pin { request_id: i64, pinned: bool },
    /// Keep (or stop keeping) the whole route as it is when plans are made again.
    Lock { locked: bool },
}

/// A rule a stop or route breaks after the change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IssueView {
    /// Stable code: time_window, break_window, missing_skill, outside_dates, shift_end,
    /// max_visits, max_route_minutes, max_route_distance.
    pub code: String,
    pub message: String,
    /// Broken by this change (it was not before).
    pub new: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StopDiff {
    pub request_id: i64,
    pub pinned: bool,
    /// The team has been there: it stays where it is.
    pub visited: bool,
    /// Where the stop was, when it was on another route before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<RouteKey>,
    /// Planned start before and after (local `HH:MM`); before is absent for a stop new here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_before: Option<String>,
    pub planned_after: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_before: Option<[String; 2]>,
    pub window_after: [String; 2],
    /// The citizen is told the new day or window.
    pub window_changed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<IssueView>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RouteKey {
    pub team_id: i64,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RouteDiff {
    pub team_id: i64,
    pub team_name: String,
    pub date: NaiveDate,
    /// Absent for a route the change creates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_before: Option<i32>,
    pub locked: bool,
    pub distance_km_before: f64,
    pub distance_km_after: f64,
    pub added_km: f64,
    /// Back at the depot, local `HH:MM`, before and after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back_before: Option<String>,
    pub back_after: String,
    pub stops: Vec<StopDiff>,
    /// Rules the route as a whole breaks (shift end, most visits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<IssueView>,
    /// The team's phones are told (stops, order or times changed).
    pub team_told: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DroppedStop {
    pub request_id: i64,
    pub team_id: i64,
    /// Stable reason code (see the plan draft's unassigned reasons).
    pub reason: String,
    pub detail: String,
}

/// What a change does, route by route.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ChangePreview {
    pub routes: Vec<RouteDiff>,
    /// Visits taken off the day: back in the queue, their citizens told.
    pub dropped: Vec<DroppedStop>,
    /// Stops breaking a rule they did not break before the change.
    pub newly_infeasible: Vec<i64>,
    /// Citizens told of a new day or window.
    pub citizens_told: usize,
}

/// A worked-out change: what to store, and what to show.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub edit: RouteEdit,
    pub preview: ChangePreview,
}

/// A re-plan of one day: which team leaves (if any), and from what time on.
#[derive(Debug, Clone)]
pub struct DayReplan {
    pub date: NaiveDate,
    /// Minutes after local midnight: visits still to make start no earlier.
    pub from: Option<f64>,
    /// A team taken off the day with this re-plan, and why.
    pub absent: Option<(i64, String)>,
}

/// One stop of a route being worked on.
#[derive(Debug, Clone)]
struct Work<'s> {
    stop: &'s LiveStop,
    pinned: bool,
}

fn made(stop: &LiveStop) -> bool {
    made_on_route(stop.request.status)
}

fn team_of(snapshot: &Snapshot, team_id: i64) -> Result<&TeamRow, EditError> {
    snapshot
        .teams
        .iter()
        .find(|t| t.id == team_id)
        .ok_or_else(|| internal(format!("team {team_id} of a route is missing")))
}

fn kind_of<'s>(
    snapshot: &'s Snapshot,
    request: &RequestRow,
) -> Result<&'s ServiceKindRow, EditError> {
    snapshot
        .kinds
        .iter()
        .find(|k| k.id == request.service_kind_id)
        .ok_or_else(|| internal(format!("service kind of request {} is missing", request.id)))
}
