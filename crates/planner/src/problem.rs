//! The problem as callers write it: plain serde types, readable from JSON.
//!
//! Times are minutes after midnight of the route's date (local time of the region), written
//! either as a number or as `"HH:MM"`; dates are `YYYY-MM-DD` strings. Distances are metres for
//! the great-circle and matrix models and plain units for the Euclidean (benchmark) model.
//! [`Problem::validate`] checks everything the types cannot say and names the offending field.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ProblemError;

/// Everything the planner needs: what to visit, who can visit, how travel works, what matters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub jobs: Vec<Job>,
    pub teams: Vec<Team>,
    #[serde(default)]
    pub travel: TravelSpec,
    #[serde(default)]
    pub objective: ObjectiveWeights,
    /// The published plan being re-planned: the solver prefers to keep each job where it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<PreviousAssignment>,
}

/// A visit request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub id: String,
    pub location: Location,
    /// Minutes on site.
    pub service_minutes: f64,
    /// Service must start inside one of these (empty: any time within the shift).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_windows: Vec<TimeWindow>,
    /// Windows for particular dates ("Tuesday morning or Thursday afternoon"). When given, the
    /// job is served only on these dates, starting inside that date's windows (any time of
    /// the shift when a date lists none) and inside `time_windows`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dated_windows: Vec<DatedWindows>,
    /// The window the citizen was told (re-plans). Service never starts before it opens and,
    /// whenever the plan can at all, not after it closes; a visit that cannot be kept is
    /// served as little after it as can be, at `objective.lateness_per_minute`, instead of
    /// being left out. Applies on top of `time_windows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_window: Option<TimeWindow>,
    /// First date the visit may happen (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_date: Option<Date>,
    /// Last date the visit may happen (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Date>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Pin>,
    /// Jobs sharing a group id are at one address and are served in one stop, back to back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Load the job takes (benchmarks' vehicle capacity); 0 for ordinary visits.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub demand: f64,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// A job's windows on one date.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatedWindows {
    pub date: Date,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<TimeWindow>,
}

impl Job {
    /// The windows the job's start must fall in on `date` besides `time_windows`: None when
    /// the job may not be served that date at all, Some(empty) when any time will do.
    pub fn windows_on(&self, date: &Date) -> Option<&[TimeWindow]> {
        if self.dated_windows.is_empty() {
            return Some(&[]);
        }
        self.dated_windows
            .iter()
            .find(|d| d.date == *date)
            .map(|d| d.windows.as_slice())
    }
}

/// Keep a job on one team and date; with a position, it is part of the route's fixed start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    pub team: String,
    pub date: Date,
    /// 0-based index among the route's stops. Positioned pins of one route must be 0, 1, 2, …:
    /// they form the route's fixed beginning (visits already made, or locked by a coordinator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

#[derive(
    Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// A team and its vehicle; each shift makes one possible route.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub id: String,
    pub start: Location,
    /// Where the route ends; the start location when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Location>,
    pub shifts: Vec<Shift>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    #[serde(default)]
    pub vehicle: VehicleProfile,
    /// Most stops in one shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_visits: Option<usize>,
    /// Longest route, from leaving the start to arriving at the end, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_route_minutes: Option<f64>,
    /// Longest route distance (metres, or units for Euclidean problems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_route_distance: Option<f64>,
    /// Cost of using this team on one date at all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fixed_cost: f64,
    /// Load limit (benchmarks); unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<f64>,
}

/// One working day of a team.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub date: Date,
    pub start: Minutes,
    pub end: Minutes,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<Break>,
    /// A locked route takes no jobs but its pinned ones (coordinator locked it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locked: bool,
}

/// A break taken wherever the team is; it must start between `earliest` and `latest`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Break {
    pub earliest: Minutes,
    pub latest: Minutes,
    pub minutes: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    pub start: Minutes,
    pub end: Minutes,
}

/// How a team moves: speed over the ground and how much longer roads are than the straight line.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VehicleProfile {
    pub speed_kmh: f64,
    /// Road distance ÷ great-circle distance (1.3 to 1.5 in rural Java).
    pub circuity: f64,
}

impl Default for VehicleProfile {
    /// A motorbike on village roads.
    fn default() -> Self {
        VehicleProfile {
            speed_kmh: 30.0,
            circuity: 1.4,
        }
    }
}

/// Which travel model to use; see [`crate::travel`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum TravelSpec {
    /// Great-circle distance × the vehicle's circuity, at the vehicle's speed. Locations are
    /// `{lat, lon}`.
    #[default]
    GreatCircle,
    /// Straight-line distance on a plane, time = distance (the routing benchmarks' convention).
    /// Locations are `{x, y}`.
    Euclidean,
    /// Given matrices (from a road router): metres and minutes. Locations are `{index}`.
    Matrix {
        distances: Vec<Vec<f64>>,
        durations: Vec<Vec<f64>>,
    },
}

/// A place, in the form the travel model reads.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Location {
    Geo { lat: f64, lon: f64 },
    Plane { x: f64, y: f64 },
    Index { index: usize },
}

/// What the solver minimises, in cost units (by default 1 = one metre driven).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectiveWeights {
    /// Cost of one unit of distance.
    pub distance: f64,
    /// Cost of one minute travelling.
    pub travel_minute: f64,
    /// Cost of leaving one job unassigned, by priority.
    pub unassigned: PriorityCosts,
    /// Cost of each day a job waits after its earliest date, by priority.
    pub delay_per_day: PriorityCosts,
    /// Cost of moving a job away from its team and date in `previous`.
    pub disruption: f64,
    /// Cost of each minute a visit starts after its promised window closes, by priority.
    /// Far above any detour, so a promise that can be kept is kept.
    pub lateness_per_minute: PriorityCosts,
    /// Evens out the teams' days: each route costs this times the square of its working
    /// minutes (travel and service), so two 4-hour days cost less than a 7-hour and a 1-hour
    /// one. Applies only when there are several teams.
    pub workload_balance: f64,
}

impl Default for ObjectiveWeights {
    fn default() -> Self {
        ObjectiveWeights {
            distance: 1.0,
            travel_minute: 0.0,
            unassigned: PriorityCosts {
                urgent: 1e10,
                high: 1e9,
                normal: 1e8,
                low: 1e7,
            },
            delay_per_day: PriorityCosts {
                urgent: 50_000.0,
                high: 10_000.0,
                normal: 1_000.0,
                low: 0.0,
            },
            disruption: 5_000.0,
            lateness_per_minute: PriorityCosts {
                urgent: 1e6,
                high: 3e5,
                normal: 1e5,
                low: 3e4,
            },
            // A 7-hour and a 1-hour day cost 7,200 more than two 4-hour days: worth 7 km of
            // driving, not a team-day more.
            workload_balance: 0.1,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriorityCosts {
    pub urgent: f64,
    pub high: f64,
    pub normal: f64,
    pub low: f64,
}

impl PriorityCosts {
    pub fn of(&self, priority: Priority) -> f64 {
        match priority {
            Priority::Urgent => self.urgent,
            Priority::High => self.high,
            Priority::Normal => self.normal,
            Priority::Low => self.low,
        }
    }
}

/// Where a job was in the plan being re-planned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PreviousAssignment {
    pub job: String,
    pub team: String,
    pub date: Date,
}

/// A calendar date, `YYYY-MM-DD`; orders like the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(String);

impl Date {
    pub fn parse(text: &str) -> Result<Date, String> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return Err(format!("{text:?} is not a date in the form YYYY-MM-DD"));
        }
        let month: u32 = text[5..7].parse().map_err(|_| "bad month".to_string())?;
        let day: u32 = text[8..10].parse().map_err(|_| "bad day".to_string())?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(format!("{text:?} is not a calendar date"));
        }
        Ok(Date(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Minutes after midnight; reads a number or `"HH:MM"`, writes a number.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Minutes(pub f64);

impl Minutes {
    pub fn parse_clock(text: &str) -> Result<Minutes, String> {
        let (hours, minutes) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not a time in the form HH:MM"))?;
        let hours: u32 = hours
            .parse()
            .map_err(|_| format!("{text:?} is not a time in the form HH:MM"))?;
        let minutes: u32 = minutes
            .parse()
            .map_err(|_| format!("{text:?} is not a time in the form HH:MM"))?;
        if hours > 24 || minutes > 59 || (hours == 24 && minutes > 0) {
            return Err(format!("{text:?} is not a time of day"));
        }
        Ok(Minutes(f64::from(hours * 60 + minutes)))
    }
}

impl Serialize for Minutes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Minutes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer) {
            Ok(Raw::Number(value)) => Ok(Minutes(value)),
            Ok(Raw::Text(text)) => Minutes::parse_clock(&text).map_err(serde::de::Error::custom),
            Err(_) => Err(serde::de::Error::custom(
                "expected minutes after midnight as a number or a time as \"HH:MM\"",
            )),
        }
    }
}

impl Problem {
    /// Parse problem JSON; errors name the field (`jobs[3].time_windows[0].end`).
    pub fn from_json(text: &str) -> Result<Problem, ProblemError> {
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let problem: Problem = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            ProblemError::new(
                "malformed",
                if path == "." { String::new() } else { path },
                e.into_inner().to_string(),
            )
        })?;
        problem.validate()?;
        Ok(problem)
    }

    /// Check what serde cannot: finite numbers, ordered windows, known references, one form of
    /// location for the travel model.
    pub fn validate(&self) -> Result<(), ProblemError> {
        let invalid =
            |field: String, message: String| Err(ProblemError::new("invalid", field, message));
        let matrix_size = match &self.travel {
            TravelSpec::Matrix {
                distances,
                durations,
            } => {
                let n = distances.len();
                if durations.len() != n
                    || distances.iter().chain(durations).any(|row| row.len() != n)
                {
                    return invalid(
                        "travel".into(),
                        "distances and durations must be square matrices of one size".into(),
                    );
                }
                if distances
                    .iter()
                    .chain(durations)
                    .flatten()
                    .any(|v| !v.is_finite() || *v < 0.0)
                {
                    return invalid(
                        "travel".into(),
                        "matrix entries must be finite and not negative".into(),
                    );
                }
                Some(n)
            }
            _ => None,
        };
        let check_location = |field: String, location: &Location| -> Result<(), ProblemError> {
            match (&self.travel, location) {
                (TravelSpec::GreatCircle, Location::Geo { lat, lon }) => {
                    if !(lat.is_finite()
                        && (-90.0..=90.0).contains(lat)
                        && lon.is_finite()
                        && (-180.0..=180.0).contains(lon))
                    {
                        return invalid(
                            field,
                            "lat must be in -90..90 and lon in -180..180".into(),
                        );
                    }
                    Ok(())
                }
                (TravelSpec::Euclidean, Location::Plane { x, y }) => {
                    if !x.is_finite() || !y.is_finite() {
                        return invalid(field, "x and y must be finite".into());
                    }
                    Ok(())
                }
                (TravelSpec::Matrix { .. }, Location::Index { index }) => {
                    if Some(*index) >= matrix_size {
                        return invalid(field, format!("index {index} is outside the matrices"));
                    }
                    Ok(())
                }
                (TravelSpec::GreatCircle, _) => {
                    invalid(field, "the great_circle model needs {lat, lon}".into())
                }
                (TravelSpec::Euclidean, _) => {
                    invalid(field, "the euclidean model needs {x, y}".into())
                }
                (TravelSpec::Matrix { .. }, _) => {
                    invalid(field, "the matrix model needs {index}".into())
                }
            }
        };
        let check_window = |field: String, start: f64, end: f64| -> Result<(), ProblemError> {
            if !start.is_finite() || !end.is_finite() {
                return invalid(field, "times must be finite".into());
            }
            if start > end {
                return invalid(field, "start is after end".into());
            }
            Ok(())
        };

        let mut team_ids = HashMap::new();
        for (t, team) in self.teams.iter().enumerate() {
            let at = |field: &str| format!("teams[{t}].{field}");
            if team.id.is_empty() {
                return invalid(at("id"), "must not be empty".into());
            }
            if team_ids.insert(team.id.as_str(), t).is_some() {
                return invalid(at("id"), format!("team id {:?} appears twice", team.id));
            }
            check_location(at("start"), &team.start)?;
            if let Some(end) = &team.end {
                check_location(at("end"), end)?;
            }
            let profile = team.vehicle;
            if !(profile.speed_kmh.is_finite() && profile.speed_kmh > 0.0) {
                return invalid(at("vehicle.speed_kmh"), "must be above 0".into());
            }
            if !(profile.circuity.is_finite() && profile.circuity >= 1.0) {
                return invalid(at("vehicle.circuity"), "must be at least 1".into());
            }
            for (name, value) in [
                ("max_route_minutes", team.max_route_minutes),
                ("max_route_distance", team.max_route_distance),
                ("capacity", team.capacity),
                ("fixed_cost", Some(team.fixed_cost)),
            ] {
                if let Some(value) = value {
                    if !value.is_finite() || value < 0.0 {
                        return invalid(at(name), "must be a number of at least 0".into());
                    }
                }
            }
            let mut dates = HashSet::new();
            for (s, shift) in team.shifts.iter().enumerate() {
                let at = |field: &str| format!("teams[{t}].shifts[{s}].{field}");
                if !dates.insert(&shift.date) {
                    return invalid(at("date"), format!("two shifts on {}", shift.date));
                }
                check_window(at("end"), shift.start.0, shift.end.0)?;
                for (b, rest) in shift.breaks.iter().enumerate() {
                    check_window(
                        format!("teams[{t}].shifts[{s}].breaks[{b}].latest"),
                        rest.earliest.0,
                        rest.latest.0,
                    )?;
                    if !(rest.minutes.is_finite() && rest.minutes >= 0.0) {
                        return invalid(
                            format!("teams[{t}].shifts[{s}].breaks[{b}].minutes"),
                            "must be at least 0".into(),
                        );
                    }
                }
            }
        }

        let mut job_ids = HashSet::new();
        let mut positions: HashMap<(&str, &Date), Vec<(usize, usize)>> = HashMap::new();
        for (j, job) in self.jobs.iter().enumerate() {
            let at = |field: &str| format!("jobs[{j}].{field}");
            if job.id.is_empty() {
                return invalid(at("id"), "must not be empty".into());
            }
            if !job_ids.insert(job.id.as_str()) {
                return invalid(at("id"), format!("job id {:?} appears twice", job.id));
            }
            check_location(at("location"), &job.location)?;
            if !(job.service_minutes.is_finite() && job.service_minutes >= 0.0) {
                return invalid(at("service_minutes"), "must be at least 0".into());
            }
            if !(job.demand.is_finite() && job.demand >= 0.0) {
                return invalid(at("demand"), "must be at least 0".into());
            }
            for (w, window) in job.time_windows.iter().enumerate() {
                check_window(
                    format!("jobs[{j}].time_windows[{w}]"),
                    window.start.0,
                    window.end.0,
                )?;
            }
            let mut dated = HashSet::new();
            for (d, on) in job.dated_windows.iter().enumerate() {
                if !dated.insert(&on.date) {
                    return invalid(
                        format!("jobs[{j}].dated_windows[{d}].date"),
                        format!("{} appears twice", on.date),
                    );
                }
                for (w, window) in on.windows.iter().enumerate() {
                    check_window(
                        format!("jobs[{j}].dated_windows[{d}].windows[{w}]"),
                        window.start.0,
                        window.end.0,
                    )?;
                }
            }
            if let Some(window) = &job.promised_window {
                check_window(at("promised_window"), window.start.0, window.end.0)?;
            }
            if let (Some(earliest), Some(deadline)) = (&job.earliest_date, &job.deadline) {
                if earliest > deadline {
                    return invalid(at("deadline"), "is before earliest_date".into());
                }
            }
            if let Some(pin) = &job.pin {
                if !team_ids.contains_key(pin.team.as_str()) {
                    return invalid(at("pin.team"), format!("no team {:?}", pin.team));
                }
                if let Some(position) = pin.position {
                    positions
                        .entry((pin.team.as_str(), &pin.date))
                        .or_default()
                        .push((position, j));
                }
            }
        }
        for ((team, date), mut entries) in positions {
            entries.sort_unstable();
            for (expected, (position, j)) in entries.into_iter().enumerate() {
                if position != expected {
                    return invalid(
                        format!("jobs[{j}].pin.position"),
                        format!(
                            "positioned pins of team {team:?} on {date} must be numbered 0, 1, 2, … \
                             without gaps or repeats"
                        ),
                    );
                }
            }
        }
        for (p, previous) in self.previous.iter().enumerate() {
            if !team_ids.contains_key(previous.team.as_str()) {
                return invalid(
                    format!("previous[{p}].team"),
                    format!("no team {:?}", previous.team),
                );
            }
        }
        let weights = &self.objective;
        let all_weights = [
            weights.distance,
            weights.travel_minute,
            weights.disruption,
            weights.unassigned.urgent,
            weights.unassigned.high,
            weights.unassigned.normal,
            weights.unassigned.low,
            weights.delay_per_day.urgent,
            weights.delay_per_day.high,
            weights.delay_per_day.normal,
            weights.delay_per_day.low,
            weights.lateness_per_minute.urgent,
            weights.lateness_per_minute.high,
            weights.lateness_per_minute.normal,
            weights.lateness_per_minute.low,
            weights.workload_balance,
        ];
        if all_weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return invalid(
                "objective".into(),
                "weights must be finite and at least 0".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_and_numbers_both_read_as_minutes() {
        let window: TimeWindow = serde_json::from_str(r#"{"start": "08:30", "end": 600}"#).unwrap();
        assert_eq!(window.start, Minutes(510.0));
        assert_eq!(window.end, Minutes(600.0));
        assert!(serde_json::from_str::<TimeWindow>(r#"{"start": "8h", "end": 600}"#).is_err());
    }

    #[test]
    fn dates_are_checked() {
        assert!(Date::parse("2026-11-23").is_ok());
        assert!(Date::parse("2026-13-01").is_err());
        assert!(Date::parse("23-11-2026").is_err());
    }

    #[test]
    fn bad_json_names_the_field() {
        let text = r#"{"jobs": [{"id": "a", "location": {"lat": -7.8, "lon": 110.1},
            "service_minutes": "ten"}], "teams": []}"#;
        let error = Problem::from_json(text).unwrap_err();
        assert_eq!(error.field, "jobs[0].service_minutes");

        let text = r#"{"jobs": [{"id": "a", "location": {"lat": -7.8, "lon": 110.1},
            "service_minutes": 10, "time_windows": [{"start": "10:00", "end": "09:00"}]}],
            "teams": []}"#;
        let error = Problem::from_json(text).unwrap_err();
        assert_eq!(error.field, "jobs[0].time_windows[0]");
        assert_eq!(error.code, "invalid");
    }

    #[test]
    fn location_form_must_match_the_travel_model() {
        let text = r#"{"jobs": [{"id": "a", "location": {"x": 1, "y": 2}, "service_minutes": 10}],
            "teams": []}"#;
        let error = Problem::from_json(text).unwrap_err();
        assert_eq!(error.field, "jobs[0].location");
    }

    #[test]
    fn positioned_pins_must_be_contiguous() {
        let text = r#"{"jobs": [{"id": "a", "location": {"lat": -7.8, "lon": 110.1},
            "service_minutes": 10, "pin": {"team": "t", "date": "2026-11-23", "position": 1}}],
            "teams": [{"id": "t", "start": {"lat": -7.8, "lon": 110.1}, "shifts": []}]}"#;
        let error = Problem::from_json(text).unwrap_err();
        assert_eq!(error.field, "jobs[0].pin.position");
    }
}
