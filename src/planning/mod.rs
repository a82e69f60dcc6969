//! Planning inside the service: database rows become a planner problem, the planner's solution
//! becomes a draft coordinators read, and a background runner works through queued jobs without
//! ever blocking an HTTP worker.

pub mod budget;
pub mod dispatch;
pub mod draft;
pub mod eta;
pub mod runner;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use jemput_planner as planner;

use crate::db::catalog::{RegionRow, ServiceKindRow, TeamRow};
use crate::db::plans::{Placed, Placement};
use crate::db::requests::RequestRow;
use crate::domain::{
    PreferredWindow, Priority, RegionClock, RequestStatus, VehicleProfile, Weekday,
    WeeklyShiftPattern,
};

pub use draft::Draft;

/// Everything a plan reads, loaded in one go.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub region: RegionRow,
    pub kinds: Vec<ServiceKindRow>,
    pub teams: Vec<TeamRow>,
    /// With the route stop of those already on a published route.
    pub requests: Vec<(RequestRow, Placed)>,
    /// Teams taken off a day: (team, date).
    pub absences: Vec<(i64, NaiveDate)>,
}

/// Speed and road circuity of each way of travelling, for the great-circle travel model.
pub fn vehicle(profile: &str) -> planner::VehicleProfile {
    let (speed_kmh, circuity) = match profile.parse::<VehicleProfile>() {
        Ok(VehicleProfile::Car) => (35.0, 1.5),
        Ok(VehicleProfile::Boat) => (15.0, 1.2),
        Ok(VehicleProfile::OnFoot) => (4.5, 1.3),
        Ok(VehicleProfile::Motorbike) | Err(_) => (30.0, 1.4),
    };
    planner::VehicleProfile {
        speed_kmh,
        circuity,
    }
}

pub(crate) fn planner_date(date: NaiveDate) -> Result<planner::Date, String> {
    planner::Date::parse(&date.format("%Y-%m-%d").to_string())
}

/// A stop the team has been to: started, finished, or tried and missed (a missed visit waits
/// for a new plan, but its attempt stays on the day's route as history).
fn already_made(request: &RequestRow, placed: &Placed) -> bool {
    placed.is_some() && made_on_route(request.status)
}

/// Of a stop on a route: the team has been there (the visit started, is done, or was tried
/// and missed).
pub(crate) fn made_on_route(status: RequestStatus) -> bool {
    status.is_visited() || status == RequestStatus::Missed
}

/// The planner's problem for `dates` (sorted, distinct). What coordinators and teams fixed
/// stays fixed: stops the team has started or finished, and whole locked routes, become the
/// routes' fixed beginnings; pinned stops stay on their team and date; an absent team gets no
/// work that day. With `from` (minutes after midnight, for re-planning the rest of a day) no
/// visit still to make starts earlier.
pub fn build_problem(
    input: &PlanInput,
    dates: &[NaiveDate],
    from: Option<f64>,
) -> Result<planner::Problem, String> {
    let (Some(first), Some(last)) = (dates.first(), dates.last()) else {
        return Err("no dates to plan".to_string());
    };
    let clock = RegionClock::of_zone(&input.region.time_zone)
        .map_err(|e| format!("stored time zone unreadable: {}", e.message))?;
    let kinds: HashMap<i64, &ServiceKindRow> = input.kinds.iter().map(|k| (k.id, k)).collect();
    let absent: HashSet<(i64, NaiveDate)> = input.absences.iter().copied().collect();
    // The fixed beginning of each route: visits made, then (locked routes) the rest in order;
    // each stop as (still to make, position, request).
    type FixedStop = (bool, i32, i64);
    let mut fixed: HashMap<(i64, NaiveDate), Vec<FixedStop>> = HashMap::new();
    for (request, placed) in &input.requests {
        let Some(at) = placed else { continue };
        let key = (at.team_id, at.date);
        let visited = already_made(request, placed);
        if visited || (at.locked && !absent.contains(&key)) {
            fixed
                .entry(key)
                .or_default()
                .push((!visited, at.position, request.id));
        }
    }
    let mut fixed_position: HashMap<i64, usize> = HashMap::new();
    for stops in fixed.values_mut() {
        stops.sort_unstable();
        for (rank, &(_, _, request)) in stops.iter().enumerate() {
            fixed_position.insert(request, rank);
        }
    }
    let locked: HashSet<(i64, NaiveDate)> = input
        .requests
        .iter()
        .filter_map(|(_, placed)| placed.filter(|p| p.locked).map(|p| (p.team_id, p.date)))
        .chain(absent.iter().copied())
        .collect();

    let mut teams = Vec::new();
    let mut shifts_of: HashSet<(i64, NaiveDate)> = HashSet::new();
    for team in input.teams.iter().filter(|t| t.active) {
        let mut shifts = Vec::new();
        for &date in dates {
            let key = (team.id, date);
            // An absent team keeps its shift only to hold the visits it already made.
            if absent.contains(&key) && !fixed.contains_key(&key) {
                continue;
            }
            let Some(mut shift) = shift_on(team, date)? else {
                continue;
            };
            shift.locked = locked.contains(&key);
            shifts_of.insert(key);
            shifts.push(shift);
        }
        teams.push(planner_team(team, shifts)?);
    }
    let mut jobs = Vec::new();
    let mut previous = Vec::new();
    for (request, placed) in &input.requests {
        let at = placed.filter(|p| shifts_of.contains(&(p.team_id, p.date)));
        let visited = already_made(request, placed);
        if visited && at.is_none() {
            // Made on a route no longer planned (the team left): history, not work.
            continue;
        }
        let kind = kinds.get(&request.service_kind_id).ok_or_else(|| {
            format!(
                "request {}: service kind {} is missing",
                request.id, request.service_kind_id
            )
        })?;
        let mut earliest = request.earliest_date.max(*first);
        let mut deadline = request.deadline.min(*last).max(*first);
        let mut time_windows = preferred_windows(request)?;
        let mut pin = None;
        if let Some(at) = at {
            let key = (at.team_id, at.date);
            let position = fixed_position.get(&request.id).copied();
            if position.is_some() || (at.pinned && !absent.contains(&key)) {
                pin = Some(planner::Pin {
                    team: at.team_id.to_string(),
                    date: planner_date(at.date)?,
                    position,
                });
                // Where it is pinned is allowed, whatever the dates asked for.
                earliest = earliest.min(at.date);
                deadline = deadline.max(at.date);
            }
            if visited {
                // Its time has passed; only its place in the route matters now.
                time_windows.clear();
            } else if position.is_some() {
                // A locked route stays as it is: its citizens keep the windows they were told.
                time_windows = vec![promised_window_minutes(&clock, &at)];
            }
            if !absent.contains(&key) {
                previous.push(planner::PreviousAssignment {
                    job: request.id.to_string(),
                    team: at.team_id.to_string(),
                    date: planner_date(at.date)?,
                });
            }
        }
        if let (Some(from), false) = (from, visited) {
            time_windows = not_before(time_windows, from);
        }
        let dated = if at.is_none() && from.is_none() {
            preferred_days(request, dates)?
        } else {
            Vec::new()
        };
        let mut job = planner_job(request, kind, time_windows, (earliest, deadline), pin)?;
        job.dated_windows = dated;
        jobs.push(job);
    }
    Ok(planner::Problem {
        jobs,
        teams,
        travel: planner::TravelSpec::GreatCircle,
        objective: planner::ObjectiveWeights::default(),
        previous,
    })
}

/// The team's shift on `date` from its weekly pattern, if it works that weekday.
pub(crate) fn shift_on(team: &TeamRow, date: NaiveDate) -> Result<Option<planner::Shift>, String> {
    let pattern: WeeklyShiftPattern = serde_json::from_str(&team.shift_pattern)
        .map_err(|e| format!("team {}: stored shift pattern is unreadable: {e}", team.id))?;
    let Some(day) = pattern.for_weekday(Weekday::from(date.weekday())) else {
        return Ok(None);
    };
    Ok(Some(planner::Shift {
        date: planner_date(date)?,
        start: planner::Minutes(f64::from(day.start.minutes())),
        end: planner::Minutes(f64::from(day.end.minutes())),
        breaks: day
            .breaks
            .iter()
            .map(|b| planner::Break {
                earliest: planner::Minutes(f64::from(b.window_start.minutes())),
                latest: planner::Minutes(f64::from(b.window_end.minutes() - b.duration_minutes)),
                minutes: f64::from(b.duration_minutes),
            })
            .collect(),
        locked: false,
    }))
}

pub(crate) fn planner_team(
    team: &TeamRow,
    shifts: Vec<planner::Shift>,
) -> Result<planner::Team, String> {
    let skills: Vec<String> = serde_json::from_str(&team.skills)
        .map_err(|e| format!("team {}: stored skills are unreadable: {e}", team.id))?;
    Ok(planner::Team {
        id: team.id.to_string(),
        start: planner::Location::Geo {
            lat: team.depot_lat,
            lon: team.depot_lon,
        },
        end: None,
        shifts,
        skills,
        vehicle: vehicle(&team.vehicle_profile),
        max_visits: usize::try_from(team.max_visits_per_day).ok(),
        max_route_minutes: None,
        max_route_distance: None,
        fixed_cost: 0.0,
        capacity: None,
    })
}

/// The request's preferred hours as the planner's windows (see [`common_time_window`]).
pub(crate) fn preferred_windows(request: &RequestRow) -> Result<Vec<planner::TimeWindow>, String> {
    let preferred: Vec<PreferredWindow> = serde_json::from_str(&request.preferred_windows)
        .map_err(|e| format!("request {}: stored windows are unreadable: {e}", request.id))?;
    Ok(common_time_window(&preferred))
}

pub(crate) fn planner_job(
    request: &RequestRow,
    kind: &ServiceKindRow,
    time_windows: Vec<planner::TimeWindow>,
    (earliest, deadline): (NaiveDate, NaiveDate),
    pin: Option<planner::Pin>,
) -> Result<planner::Job, String> {
    Ok(planner::Job {
        id: request.id.to_string(),
        location: planner::Location::Geo {
            lat: request.lat,
            lon: request.lon,
        },
        service_minutes: f64::from(kind.default_duration_minutes),
        time_windows,
        dated_windows: Vec::new(),
        promised_window: None,
        earliest_date: Some(planner_date(earliest)?),
        deadline: Some(planner_date(deadline)?),
        skills: kind.required_skill.iter().cloned().collect(),
        priority: match request.priority {
            Priority::Urgent => planner::Priority::Urgent,
            Priority::High => planner::Priority::High,
            Priority::Normal => planner::Priority::Normal,
            Priority::Low => planner::Priority::Low,
        },
        pin,
        group: None,
        demand: 0.0,
    })
}

/// The window promised for a stop, in minutes after local midnight of its day.
pub(crate) fn promised_window_minutes(clock: &RegionClock, at: &Placement) -> planner::TimeWindow {
    let minutes = |utc: chrono::NaiveDateTime| {
        let (day, minutes) = clock.local_minutes(utc);
        (day - at.date).num_days() as f64 * 24.0 * 60.0 + minutes
    };
    planner::TimeWindow {
        start: planner::Minutes(minutes(at.window.0)),
        end: planner::Minutes(minutes(at.window.1)),
    }
}

/// The windows cut to start at `from`. A visit whose preferred hours are already over can
/// still be made later that day rather than not at all.
fn not_before(windows: Vec<planner::TimeWindow>, from: f64) -> Vec<planner::TimeWindow> {
    let cut: Vec<planner::TimeWindow> = windows
        .iter()
        .filter(|w| w.end.0 >= from)
        .map(|w| planner::TimeWindow {
            start: planner::Minutes(w.start.0.max(from)),
            end: w.end,
        })
        .collect();
    if cut.is_empty() {
        vec![planner::TimeWindow {
            start: planner::Minutes(from),
            end: planner::Minutes(24.0 * 60.0),
        }]
    } else {
        cut
    }
}

/// Preferred days whose hours differ ("Tuesday morning or Thursday afternoon") as the
/// planner's per-date windows: the visit is then made on one of them. Only those among
/// `dates` count; when none is, or every day names the same hours (then
/// [`common_time_window`] says it for every date), the visit keeps its date range.
fn preferred_days(
    request: &RequestRow,
    dates: &[NaiveDate],
) -> Result<Vec<planner::DatedWindows>, String> {
    let preferred: Vec<PreferredWindow> = serde_json::from_str(&request.preferred_windows)
        .map_err(|e| format!("request {}: stored windows are unreadable: {e}", request.id))?;
    dated_windows(&preferred, dates)
}

fn dated_windows(
    preferred: &[PreferredWindow],
    dates: &[NaiveDate],
) -> Result<Vec<planner::DatedWindows>, String> {
    if !common_time_window(preferred).is_empty() {
        return Ok(Vec::new());
    }
    let minutes = |t: Option<crate::domain::TimeOfDay>, default: f64| {
        planner::Minutes(t.map_or(default, |t| f64::from(t.minutes())))
    };
    preferred
        .iter()
        .filter(|p| dates.contains(&p.date))
        .map(|p| {
            let windows = if p.start.is_none() && p.end.is_none() {
                Vec::new()
            } else {
                vec![planner::TimeWindow {
                    start: minutes(p.start, 0.0),
                    end: minutes(p.end, 24.0 * 60.0),
                }]
            };
            Ok(planner::DatedWindows {
                date: planner_date(p.date)?,
                windows,
            })
        })
        .collect()
}

/// When every preferred day names the same hours, those hours become the job's window for
/// every date; otherwise it has none here (see [`preferred_days`]).
fn common_time_window(preferred: &[PreferredWindow]) -> Vec<planner::TimeWindow> {
    let mut hours = preferred.iter().map(|w| (w.start, w.end));
    let Some(first) = hours.next() else {
        return Vec::new();
    };
    if hours.any(|h| h != first) {
        return Vec::new();
    }
    match first {
        (Some(start), Some(end)) => vec![planner::TimeWindow {
            start: planner::Minutes(f64::from(start.minutes())),
            end: planner::Minutes(f64::from(end.minutes())),
        }],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TimeOfDay;

    #[test]
    fn rest_of_day_windows_start_no_earlier_than_from() {
        let w = |a: f64, b: f64| planner::TimeWindow {
            start: planner::Minutes(a),
            end: planner::Minutes(b),
        };
        let cut = not_before(vec![w(480.0, 660.0), w(780.0, 840.0)], 600.0);
        assert_eq!(cut, vec![w(600.0, 660.0), w(780.0, 840.0)]);
        // Preferred hours already over: later that day rather than not at all.
        assert_eq!(
            not_before(vec![w(480.0, 540.0)], 600.0),
            vec![w(600.0, 1440.0)]
        );
        assert_eq!(not_before(Vec::new(), 600.0), vec![w(600.0, 1440.0)]);
    }

    #[test]
    fn one_shared_preferred_hour_becomes_the_window() {
        let t = |m: u16| TimeOfDay::from_minutes(m);
        let day = |d: u32, s: Option<TimeOfDay>, e: Option<TimeOfDay>| PreferredWindow {
            date: NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default(),
            start: s,
            end: e,
        };
        let same = [day(23, t(540), t(660)), day(24, t(540), t(660))];
        assert_eq!(common_time_window(&same).len(), 1);
        let differ = [day(23, t(540), t(660)), day(24, t(600), t(660))];
        assert!(common_time_window(&differ).is_empty());
        assert!(common_time_window(&[]).is_empty());
    }

    #[test]
    fn preferred_days_with_their_own_hours_become_dated_windows() {
        let t = |m: u16| TimeOfDay::from_minutes(m);
        let day = |d: u32, start, end| PreferredWindow {
            date: NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default(),
            start,
            end,
        };
        let week: Vec<NaiveDate> = (23..=27)
            .map(|d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default())
            .collect();
        let preferred = [
            day(24, t(480), t(720)),
            day(26, t(780), None),
            day(30, None, None),
        ];
        let dated = dated_windows(&preferred, &week).unwrap_or_default();
        assert_eq!(
            serde_json::to_value(&dated).unwrap_or_default(),
            serde_json::json!([
                {"date": "2026-11-24", "windows": [{"start": 480.0, "end": 720.0}]},
                {"date": "2026-11-26", "windows": [{"start": 780.0, "end": 1440.0}]}
            ])
        );
        // The same hours every day: one window for every date, no day restriction.
        let same = [day(24, t(480), t(720)), day(26, t(480), t(720))];
        assert!(dated_windows(&same, &week).unwrap_or_default().is_empty());
    }
}
