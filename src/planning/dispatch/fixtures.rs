//! Small hand-built snapshots for the unit tests: one region on Jakarta time, one kind of
//! visit (30 minutes, no skill), two teams working weekdays 08:00–16:00 from the same depot,
//! and whatever routes a test lays out on Monday 23 November 2026.

use chrono::{NaiveDate, NaiveDateTime};

use super::EditError;
use crate::db::catalog::{RegionRow, ServiceKindRow, TeamRow};
use crate::db::dispatch::{AbsenceRow, LiveRoute, LiveStop, Snapshot};
use crate::db::requests::RequestRow;
use crate::db::routes::{RouteRow, StopRow};
use crate::domain::RegionClock;
use crate::domain::{ErrorCode, Priority, RequestStatus};

pub const TEAM_A: i64 = 10;
pub const TEAM_B: i64 = 20;
const DEPOT: (f64, f64) = (-7.80, 110.37);
const SERVICE_MINUTES: i64 = 30;

/// Monday 23 November 2026: both teams work.
pub fn monday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

pub fn jakarta() -> RegionClock {
    RegionClock::of_zone("Asia/Jakarta").unwrap()
}

/// `HH:MM` local on `date`, as stored (UTC).
pub fn at(date: NaiveDate, hhmm: &str) -> NaiveDateTime {
    let minutes = crate::domain::TimeOfDay::try_from(hhmm.to_string())
        .unwrap()
        .minutes();
    jakarta().utc(date, f64::from(minutes)).unwrap()
}

fn epoch() -> NaiveDateTime {
    at(monday(), "00:00")
}

/// Builds a [`Snapshot`]: `Day::new().route(1, TEAM_A, &[(101, "09:00")]).build()`.
pub struct Day {
    snapshot: Snapshot,
}

impl Day {
    pub fn new() -> Day {
        let team = |id: i64, name: &str| TeamRow {
            id,
            region_id: 1,
            name: name.to_string(),
            depot_lat: DEPOT.0,
            depot_lon: DEPOT.1,
            vehicle_profile: "motorbike".to_string(),
            skills: "[]".to_string(),
            shift_pattern: format!(
                "[{}]",
                ["mon", "tue", "wed", "thu", "fri"]
                    .map(|d| format!(r#"{{"day":"{d}","start":"08:00","end":"16:00"}}"#))
                    .join(",")
            ),
            max_visits_per_day: 12,
            active: true,
            version: 1,
            created_at: epoch(),
            updated_at: epoch(),
        };
        Day {
            snapshot: Snapshot {
                region: RegionRow {
                    id: 1,
                    name: "Sleman".to_string(),
                    time_zone: "Asia/Jakarta".to_string(),
                    boundary_geojson: None,
                    created_at: epoch(),
                },
                kinds: vec![ServiceKindRow {
                    id: 1,
                    region_id: 1,
                    code: "lansia".to_string(),
                    name_id: "Kunjungan lansia".to_string(),
                    name_en: "Elderly visit".to_string(),
                    default_duration_minutes: SERVICE_MINUTES as i32,
                    required_skill: None,
                    active: true,
                    version: 1,
                    created_at: epoch(),
                    updated_at: epoch(),
                }],
                teams: vec![team(TEAM_A, "Tim A"), team(TEAM_B, "Tim B")],
                absences: Vec::new(),
                routes: Vec::new(),
            },
        }
    }

    /// A published route (version 1) of `team_id` on Monday: each stop a scheduled request
    /// starting at the local time given, its promised window from the half hour before it
    /// for 90 minutes. Request ids place the visits a little apart around the depot.
    pub fn route(mut self, route_id: i64, team_id: i64, stops: &[(i64, &str)]) -> Day {
        let date = monday();
        let live: Vec<LiveStop> = stops
            .iter()
            .enumerate()
            .map(|(position, &(request_id, start))| {
                let planned_start = at(date, start);
                let window_start = planned_start - chrono::Duration::minutes(30);
                LiveStop {
                    stop: StopRow {
                        id: request_id * 10,
                        route_id,
                        position: position as i32,
                        request_id,
                        planned_start,
                        planned_end: planned_start + chrono::Duration::minutes(SERVICE_MINUTES),
                        window_start,
                        window_end: window_start + chrono::Duration::minutes(90),
                        pinned: false,
                    },
                    request: request(request_id, date),
                }
            })
            .collect();
        let leave_at = live
            .first()
            .map_or(at(date, "08:00"), |s| s.stop.planned_start);
        let back_at = live.last().map_or(leave_at, |s| s.stop.planned_end);
        self.snapshot.routes.push(LiveRoute {
            route: RouteRow {
                id: route_id,
                region_id: 1,
                team_id,
                date,
                version: 1,
                plan_id: None,
                distance_m: 1000.0 * live.len() as f64,
                leave_at,
                back_at,
                updated_at: epoch(),
                locked: false,
            },
            stops: live,
        });
        self
    }

    /// The team has been to this request (the visit is done).
    pub fn visited(self, request_id: i64) -> Day {
        self.with_stop(request_id, |s| s.request.status = RequestStatus::Completed)
    }

    pub fn pinned(self, request_id: i64) -> Day {
        self.with_stop(request_id, |s| s.stop.pinned = true)
    }

    pub fn locked(mut self, route_id: i64) -> Day {
        for route in &mut self.snapshot.routes {
            if route.route.id == route_id {
                route.route.locked = true;
            }
        }
        self
    }

    pub fn absent(mut self, team_id: i64) -> Day {
        self.snapshot.absences.push(AbsenceRow {
            id: team_id,
            team_id,
            date: monday(),
            reason: "sakit".to_string(),
            created_by: None,
            created_at: epoch(),
        });
        self
    }

    pub fn build(self) -> Snapshot {
        self.snapshot
    }

    fn with_stop(mut self, request_id: i64, change: impl Fn(&mut LiveStop)) -> Day {
        for route in &mut self.snapshot.routes {
            for stop in &mut route.stops {
                if stop.request.id == request_id {
                    change(stop);
                }
            }
        }
        self
    }
}

fn request(id: i64, date: NaiveDate) -> RequestRow {
    let step = (id % 10) as f64;
    RequestRow {
        id,
        citizen_id: id,
        region_id: 1,
        service_kind_id: 1,
        lat: DEPOT.0 + 0.01 * step,
        lon: DEPOT.1 + 0.005 * step,
        address: format!("Jalan {id}"),
        notes: None,
        accessibility_needs: "[]".to_string(),
        priority: Priority::Normal,
        earliest_date: date - chrono::Duration::days(7),
        deadline: date + chrono::Duration::days(7),
        preferred_windows: "[]".to_string(),
        status: RequestStatus::Scheduled,
        version: 1,
        idempotency_key: None,
        idempotency_fingerprint: None,
        created_at: epoch(),
        updated_at: epoch(),
    }
}

/// The stable code a refusal carries, if any.
pub fn code(error: &EditError) -> Option<ErrorCode> {
    match error {
        EditError::Conflict { code, .. } => Some(*code),
        EditError::Invalid(invalid) => Some(invalid.code),
        EditError::NotFound(_) | EditError::Internal(_) => None,
    }
}
