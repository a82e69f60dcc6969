//! Timing a route: a hand-made order of stops becomes a one-team planner problem the planner
//! evaluates (never re-orders), so every rule the order breaks is seen, and the issues the
//! routes already have are known before the change.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use jemput_planner as planner;

use super::{internal, kind_of, made, region_clock, team_of, EditError, Work};
use crate::db::catalog::TeamRow;
use crate::db::dispatch::{LiveStop, Snapshot};
use crate::domain::{ErrorCode, Invalid};
use crate::planning::{planner_date, planner_job, planner_team, preferred_windows, shift_on};

/// A one-team problem to time `stops` in order on `date`, with the requests' own dates,
/// windows and skills, so that every rule a hand-made order breaks is seen.
fn timing(
    snapshot: &Snapshot,
    team: &TeamRow,
    date: NaiveDate,
    stops: &[&LiveStop],
) -> Result<planner::Evaluation, EditError> {
    let Some(shift) = shift_on(team, date).map_err(internal)? else {
        return Err(EditError::Invalid(Invalid::new(
            "to_date",
            ErrorCode::NoShift,
            format!("team {} does not work on {date}", team.name),
        )));
    };
    let clock = region_clock(snapshot)?;
    let mut jobs = Vec::with_capacity(stops.len());
    for stop in stops {
        let request = &stop.request;
        let (promised_day, from) = clock.local_minutes(stop.stop.window_start);
        let (_, to) = clock.local_minutes(stop.stop.window_end);
        let windows = if made(stop) {
            Vec::new()
        } else if promised_day == date {
            // The citizen was told this window: the team keeps to it (waits if early).
            vec![planner::TimeWindow {
                start: planner::Minutes(from),
                end: planner::Minutes(to),
            }]
        } else {
            preferred_windows(request).map_err(internal)?
        };
        jobs.push(
            planner_job(
                request,
                kind_of(snapshot, request)?,
                windows,
                (request.earliest_date, request.deadline),
                None,
            )
            .map_err(internal)?,
        );
    }
    let problem = planner::Problem {
        jobs,
        teams: vec![planner_team(team, vec![shift]).map_err(internal)?],
        travel: planner::TravelSpec::GreatCircle,
        objective: planner::ObjectiveWeights::default(),
        previous: Vec::new(),
    };
    let ids: Vec<String> = stops.iter().map(|s| s.request.id.to_string()).collect();
    planner::evaluate(
        &problem,
        &team.id.to_string(),
        &planner_date(date).map_err(internal)?,
        &ids,
    )
    .map_err(|e| internal(format!("timing a route: {e}")))
}

/// A stop's new times, in minutes after local midnight.
#[derive(Debug, Clone, Copy)]
pub(super) struct Times {
    pub(super) start: f64,
    pub(super) end: f64,
}

/// A route's new content, timed.
pub(super) struct Timed<'s> {
    pub(super) key: (i64, NaiveDate),
    pub(super) stops: Vec<(Work<'s>, Option<Times>)>,
    pub(super) leave: f64,
    pub(super) back: f64,
    pub(super) distance_m: f64,
    pub(super) issues: Vec<planner::RouteIssue>,
}

pub(super) fn issue_key(key: (i64, NaiveDate), issue: &planner::RouteIssue) -> (String, String) {
    match &issue.job {
        Some(job) => (job.clone(), issue.code.to_string()),
        None => (format!("route {} {}", key.0, key.1), issue.code.to_string()),
    }
}

/// Issues the current routes already have, so a preview can tell old from new.
pub(super) fn issues_now(
    snapshot: &Snapshot,
    keys: &[(i64, NaiveDate)],
) -> Result<HashSet<(String, String)>, EditError> {
    let mut seen = HashSet::new();
    for &key in keys {
        let Some(route) = snapshot.route(key.0, key.1) else {
            continue;
        };
        if route.stops.is_empty() {
            continue;
        }
        let team = team_of(snapshot, key.0)?;
        let stops: Vec<&LiveStop> = route.stops.iter().collect();
        if let Ok(evaluation) = timing(snapshot, team, key.1, &stops) {
            seen.extend(evaluation.issues.iter().map(|i| issue_key(key, i)));
        }
    }
    Ok(seen)
}

pub(super) fn time_sequence<'s>(
    snapshot: &'s Snapshot,
    key: (i64, NaiveDate),
    work: Vec<Work<'s>>,
) -> Result<Timed<'s>, EditError> {
    let team = team_of(snapshot, key.0)?;
    let stops: Vec<&LiveStop> = work.iter().map(|w| w.stop).collect();
    let evaluation = timing(snapshot, team, key.1, &stops)?;
    let times: HashMap<String, Times> = evaluation
        .route
        .stops
        .iter()
        .filter_map(|s| match s {
            planner::Stop::Visit {
                job, start, end, ..
            } => Some((
                job.clone(),
                Times {
                    start: *start,
                    end: *end,
                },
            )),
            planner::Stop::Break { .. } => None,
        })
        .collect();
    Ok(Timed {
        key,
        stops: work
            .into_iter()
            .map(|w| {
                let t = times.get(&w.stop.request.id.to_string()).copied();
                (w, t)
            })
            .collect(),
        leave: evaluation.route.start,
        back: evaluation.route.end,
        distance_m: evaluation.route.distance,
        issues: evaluation.issues,
    })
}
