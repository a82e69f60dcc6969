//! What the planner returns: routes per team and date, every unassigned job with its reason,
//! hotspots and KPIs. Times are minutes after midnight of the route's date.

use serde::{Deserialize, Serialize};

use crate::problem::{Date, Location};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Solution {
    pub routes: Vec<RoutePlan>,
    pub unassigned: Vec<UnassignedJob>,
    #[serde(default)]
    pub hotspots: Vec<Hotspot>,
    pub kpis: Kpis,
    #[serde(default)]
    pub search: SearchStats,
    /// Visits that start after their promised window: the promises no plan could keep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub late: Vec<LateVisit>,
}

/// A promise broken because it could not be kept: service starts `minutes` after the promised
/// window closed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LateVisit {
    pub job: String,
    pub promised_end: f64,
    pub start: f64,
    pub minutes: f64,
}

/// One team's day.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoutePlan {
    pub team: String,
    pub date: Date,
    /// Leaving the start location.
    pub start: f64,
    /// Arriving at the end location.
    pub end: f64,
    pub stops: Vec<Stop>,
    pub distance: f64,
    pub travel_minutes: f64,
    pub duration_minutes: f64,
    pub visits: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Stop {
    Visit {
        job: String,
        arrival: f64,
        wait: f64,
        start: f64,
        end: f64,
    },
    Break {
        start: f64,
        end: f64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnassignedJob {
    pub job: String,
    pub reason: UnassignedReason,
    pub detail: String,
}

/// Why a job is not in any route; stable codes the service shows coordinators.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedReason {
    /// No team has every skill the job needs.
    NoSkilledTeam,
    /// Teams with the skills have no shift between the job's earliest date and deadline.
    NoShiftOnAllowedDates,
    /// Even alone in an empty route, no capable team reaches it inside its windows and shift.
    TimeWindowUnreachable,
    /// The job's load exceeds every capable vehicle.
    ExceedsCapacity,
    /// The pinned team and date cannot take it.
    PinInfeasible,
    /// Jobs of its group have no common window, dates or pin.
    GroupConflict,
    /// It could be served, but every capable route is full.
    RoutesFull,
}

impl UnassignedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UnassignedReason::NoSkilledTeam => "no_skilled_team",
            UnassignedReason::NoShiftOnAllowedDates => "no_shift_on_allowed_dates",
            UnassignedReason::TimeWindowUnreachable => "time_window_unreachable",
            UnassignedReason::ExceedsCapacity => "exceeds_capacity",
            UnassignedReason::PinInfeasible => "pin_infeasible",
            UnassignedReason::GroupConflict => "group_conflict",
            UnassignedReason::RoutesFull => "routes_full",
        }
    }
}

/// Many requests close together: a candidate for a pop-up service at a village hall.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hotspot {
    pub centre: Location,
    /// Metres from the centre to the farthest member.
    pub radius: f64,
    pub jobs: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Kpis {
    pub jobs: usize,
    pub assigned: usize,
    pub unassigned: usize,
    pub routes: usize,
    pub distance: f64,
    pub travel_minutes: f64,
    pub service_minutes: f64,
    pub cost: f64,
    pub teams: Vec<TeamKpi>,
    /// Visits starting after their promised window, and by how many minutes in all.
    #[serde(default)]
    pub late_visits: usize,
    #[serde(default)]
    pub late_minutes: f64,
    /// Working minutes (travel and service) of the busiest team less those of the least busy,
    /// over the teams with a shift.
    #[serde(default)]
    pub working_minutes_spread: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TeamKpi {
    pub team: String,
    pub routes: usize,
    pub visits: usize,
    pub distance: f64,
    /// Minutes out (leaving the start to arriving at the end) over the routes used.
    pub working_minutes: f64,
    /// Minutes of shift on offer over all dates.
    pub shift_minutes: f64,
    /// working ÷ shift minutes.
    pub utilisation: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SearchStats {
    pub seed: u64,
    /// Over all threads.
    pub iterations: u64,
    pub initial_cost: f64,
    pub final_cost: f64,
    #[serde(default = "one_thread")]
    pub threads: usize,
    /// Why the search ended.
    #[serde(default)]
    pub stopped: StopReason,
    /// Jobs the search considered: all of them, unless a backlog far beyond what the routes
    /// hold was cut to the ones that come first (the rest are `routes_full`).
    #[serde(default)]
    pub considered: usize,
}

fn one_thread() -> usize {
    1
}

/// What ended a search.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The iteration limit (or the default number of iterations).
    #[default]
    IterationLimit,
    /// The caller's budget: the time limit or a cancel.
    TimeLimit,
    /// No better plan for as long as it took to find the best one (the stall rule).
    Stalled,
    /// Nothing could be moved: every job is fixed, rejected or has no route.
    NothingToSearch,
}
