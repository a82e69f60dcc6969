//! A finished plan as it is stored: what the planner worked out, with every time an instant
//! (UTC), built once from the planner's minutes by the region's clock. Publishing stores these
//! instants as they are; only the API renders them as the region's local `HH:MM`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use jemput_planner as planner;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::PlanInput;
use crate::db::routes::{Publication, PublishRoute, PublishStop};
use crate::domain::clock::NoSuchLocalTime;
use crate::domain::RegionClock;

/// The stored format of [`Draft`]. Drafts stored before it (format 1: local `HH:MM` text)
/// are not read back: they are refused as outdated, and the coordinator plans again.
pub const DRAFT_FORMAT: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Draft {
    /// Always [`DRAFT_FORMAT`].
    pub format: u32,
    /// The region's IANA zone when the plan was made: the views' local times.
    pub time_zone: String,
    pub routes: Vec<DraftRoute>,
    pub unassigned: Vec<DraftUnassigned>,
    /// Places where many requests sit close together: candidates for a pop-up service.
    pub hotspots: Vec<DraftHotspot>,
    pub kpis: DraftKpis,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DraftRoute {
    pub team_id: i64,
    pub team_name: String,
    pub date: NaiveDate,
    pub leave: DateTime<Utc>,
    pub back: DateTime<Utc>,
    pub distance_km: f64,
    pub travel_minutes: f64,
    pub stops: Vec<DraftStop>,
}

/// From when to when, both instants.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DraftStop {
    Visit {
        request_id: i64,
        arrival: DateTime<Utc>,
        visit: Span,
        /// The window promised to the citizen (see [`promised_minutes`]).
        promised: Span,
    },
    Break(Span),
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DraftUnassigned {
    pub request_id: i64,
    /// Stable reason code: no_skilled_team, no_shift_on_allowed_dates, time_window_unreachable,
    /// exceeds_capacity, pin_infeasible, group_conflict, routes_full.
    pub reason: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DraftHotspot {
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
    pub request_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DraftKpis {
    pub requests: usize,
    pub visits: usize,
    pub unassigned: usize,
    pub routes: usize,
    pub distance_km: f64,
    pub travel_hours: f64,
    pub service_hours: f64,
    /// Working hours (travel and service) of the busiest team less those of the least busy:
    /// what the planner's workload balance evens out.
    #[serde(default)]
    pub working_hours_spread: f64,
    pub teams: Vec<DraftTeamKpi>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DraftTeamKpi {
    pub team_id: i64,
    pub visits: usize,
    pub distance_km: f64,
    /// Travel and service minutes over shift minutes (breaks excluded), 0..1.
    pub utilisation: f64,
}

/// Why a stored draft cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredDraftError {
    /// Stored in an earlier format (`found`): plan again.
    Outdated { found: u32 },
    /// Not a draft at all.
    Corrupt(String),
}

/// The promise to a citizen for a visit starting `start` minutes after local midnight: from
/// the start rounded down to the half hour, for an hour and a half.
pub(crate) fn promised_minutes(start: f64) -> (f64, f64) {
    let from = (start / 30.0).floor() * 30.0;
    (from, from + 90.0)
}

fn id_of(text: &str) -> i64 {
    text.parse().unwrap_or_default()
}

impl Draft {
    /// The draft of the planner's solution for `input`: minutes after local midnight become
    /// instants (to the minute) by the region's clock.
    pub fn of_solution(
        input: &PlanInput,
        clock: &RegionClock,
        solution: &planner::Solution,
    ) -> Result<Draft, NoSuchLocalTime> {
        let names: HashMap<String, &str> = input
            .teams
            .iter()
            .map(|t| (t.id.to_string(), t.name.as_str()))
            .collect();
        let mut routes = Vec::with_capacity(solution.routes.len());
        for route in &solution.routes {
            let date =
                NaiveDate::parse_from_str(route.date.as_str(), "%Y-%m-%d").unwrap_or_default();
            let at = |minutes: f64| clock.instant(date, minutes.round());
            let span = |start: f64, end: f64| -> Result<Span, NoSuchLocalTime> {
                Ok(Span {
                    start: at(start)?,
                    end: at(end)?,
                })
            };
            let mut stops = Vec::with_capacity(route.stops.len());
            for stop in &route.stops {
                stops.push(match stop {
                    planner::Stop::Visit {
                        job,
                        arrival,
                        start,
                        end,
                        ..
                    } => {
                        let (from, to) = promised_minutes(*start);
                        DraftStop::Visit {
                            request_id: id_of(job),
                            arrival: at(*arrival)?,
                            visit: span(*start, *end)?,
                            promised: span(from, to)?,
                        }
                    }
                    planner::Stop::Break { start, end } => DraftStop::Break(span(*start, *end)?),
                });
            }
            routes.push(DraftRoute {
                team_id: id_of(&route.team),
                team_name: names
                    .get(&route.team)
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
                date,
                leave: at(route.start)?,
                back: at(route.end)?,
                distance_km: route.distance / 1000.0,
                travel_minutes: route.travel_minutes,
                stops,
            });
        }
        let kpis = &solution.kpis;
        Ok(Draft {
            format: DRAFT_FORMAT,
            time_zone: clock.zone().name().to_string(),
            routes,
            unassigned: solution
                .unassigned
                .iter()
                .map(|u| DraftUnassigned {
                    request_id: id_of(&u.job),
                    reason: u.reason.as_str().to_string(),
                    detail: u.detail.clone(),
                })
                .collect(),
            hotspots: solution
                .hotspots
                .iter()
                .filter_map(|h| match h.centre {
                    planner::Location::Geo { lat, lon } => Some(DraftHotspot {
                        lat,
                        lon,
                        radius_m: h.radius,
                        request_ids: h.jobs.iter().map(|j| id_of(j)).collect(),
                    }),
                    _ => None,
                })
                .collect(),
            kpis: DraftKpis {
                requests: kpis.jobs,
                visits: kpis.assigned,
                unassigned: kpis.unassigned,
                routes: kpis.routes,
                distance_km: kpis.distance / 1000.0,
                travel_hours: kpis.travel_minutes / 60.0,
                service_hours: kpis.service_minutes / 60.0,
                working_hours_spread: kpis.working_minutes_spread / 60.0,
                teams: kpis
                    .teams
                    .iter()
                    .map(|t| DraftTeamKpi {
                        team_id: id_of(&t.team),
                        visits: t.visits,
                        distance_km: t.distance / 1000.0,
                        utilisation: t.utilisation,
                    })
                    .collect(),
            },
        })
    }

    /// A draft as stored. One of an earlier format is [`StoredDraftError::Outdated`]: its
    /// local times are not re-interpreted.
    pub fn from_stored(json: &str) -> Result<Draft, StoredDraftError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| StoredDraftError::Corrupt(e.to_string()))?;
        // Format 1 had no `format` field.
        let found = value
            .get("format")
            .map_or(Some(1), serde_json::Value::as_u64)
            .and_then(|f| u32::try_from(f).ok())
            .ok_or_else(|| StoredDraftError::Corrupt("unreadable format".to_string()))?;
        if found != DRAFT_FORMAT {
            return Err(StoredDraftError::Outdated { found });
        }
        serde_json::from_value(value).map_err(|e| StoredDraftError::Corrupt(e.to_string()))
    }

    /// What publishing the draft writes: its instants as they are.
    pub fn publication(&self, plan_id: i64, dates: Vec<NaiveDate>) -> Publication {
        let routes = self
            .routes
            .iter()
            .map(|route| PublishRoute {
                team_id: route.team_id,
                date: route.date,
                distance_m: route.distance_km * 1000.0,
                leave_at: route.leave.naive_utc(),
                back_at: route.back.naive_utc(),
                stops: route
                    .stops
                    .iter()
                    .filter_map(|stop| match stop {
                        DraftStop::Visit {
                            request_id,
                            visit,
                            promised,
                            ..
                        } => Some(PublishStop {
                            request_id: *request_id,
                            planned_start: visit.start.naive_utc(),
                            planned_end: visit.end.naive_utc(),
                            window_start: promised.start.naive_utc(),
                            window_end: promised.end.naive_utc(),
                            pinned: false,
                        }),
                        DraftStop::Break(_) => None,
                    })
                    .collect(),
            })
            .collect();
        Publication {
            plan_id,
            dates,
            routes,
            unassigned: self.unassigned.iter().map(|u| u.request_id).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_promise_starts_at_the_half_hour_before_and_lasts_ninety_minutes() {
        assert_eq!(promised_minutes(9.0 * 60.0 + 47.0), (570.0, 660.0));
        assert_eq!(promised_minutes(9.0 * 60.0), (540.0, 630.0));
    }

    #[test]
    fn a_draft_of_the_first_format_is_outdated_not_reread() {
        let old = r#"{"time_zone":"Asia/Jakarta","routes":[],"unassigned":[],"hotspots":[],
            "kpis":{"requests":0,"visits":0,"unassigned":0,"routes":0,"distance_km":0.0,
            "travel_hours":0.0,"service_hours":0.0,"teams":[]}}"#;
        assert_eq!(
            Draft::from_stored(old),
            Err(StoredDraftError::Outdated { found: 1 })
        );
        assert!(matches!(
            Draft::from_stored("not json"),
            Err(StoredDraftError::Corrupt(_))
        ));
    }

    #[test]
    fn a_stored_draft_reads_back_the_same() {
        let at = |h: u32| {
            NaiveDate::from_ymd_opt(2026, 11, 23)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
                .and_utc()
        };
        let draft = Draft {
            format: DRAFT_FORMAT,
            time_zone: "Asia/Makassar".into(),
            routes: vec![DraftRoute {
                team_id: 1,
                team_name: "Tim A".into(),
                date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                leave: at(0),
                back: at(8),
                distance_km: 12.5,
                travel_minutes: 40.0,
                stops: vec![DraftStop::Visit {
                    request_id: 7,
                    arrival: at(1),
                    visit: Span {
                        start: at(1),
                        end: at(2),
                    },
                    promised: Span {
                        start: at(1),
                        end: at(3),
                    },
                }],
            }],
            unassigned: Vec::new(),
            hotspots: Vec::new(),
            kpis: DraftKpis {
                requests: 1,
                visits: 1,
                unassigned: 0,
                routes: 1,
                distance_km: 12.5,
                travel_hours: 0.5,
                service_hours: 1.0,
                working_hours_spread: 0.0,
                teams: Vec::new(),
            },
        };
        let stored = serde_json::to_string(&draft).unwrap();
        assert_eq!(Draft::from_stored(&stored), Ok(draft.clone()));
        let publication = draft.publication(3, vec![draft.routes[0].date]);
        assert_eq!(publication.routes[0].stops[0].window_end, at(3).naive_utc());
    }
}
