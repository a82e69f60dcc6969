//! From routes worked out to a proposal: the edit to store (new route contents, who is told)
//! and the before/after a coordinator reads (km, back at the depot, windows, issues new).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};

use super::timing::{issue_key, Timed};
use super::{
    internal, made, region_clock, team_of, ChangePreview, DroppedStop, EditError, IssueView,
    Proposal, RouteDiff, RouteKey, StopDiff,
};
use crate::db::dispatch::{LiveStop, RouteChange, RouteEdit, Snapshot};
use crate::db::routes::{PublishRoute, PublishStop};
use crate::domain::EventAction;
use crate::domain::RequestStatus;
use crate::planning::draft::promised_minutes;

/// Everything a change worked out needs to become a [`Proposal`].
pub(super) struct Outcome<'s> {
    pub(super) timed: Vec<Timed<'s>>,
    pub(super) locked: HashMap<(i64, NaiveDate), bool>,
    /// Issues per (request, code) and per (team, date, code) before the change.
    pub(super) issues_before: HashSet<(String, String)>,
    pub(super) dropped: Vec<DroppedStop>,
    pub(super) action: EventAction,
    pub(super) detail: serde_json::Value,
    pub(super) absence: Option<(i64, NaiveDate, String)>,
}

/// Build the edit and its preview from routes worked out.
pub(super) fn proposal(snapshot: &Snapshot, outcome: Outcome<'_>) -> Result<Proposal, EditError> {
    let clock_of = region_clock(snapshot)?;
    // Where each request was before: (team, date) and its stored stop.
    let mut before: HashMap<i64, ((i64, NaiveDate), &LiveStop)> = HashMap::new();
    for route in &snapshot.routes {
        for stop in &route.stops {
            before.insert(
                stop.request.id,
                ((route.route.team_id, route.route.date), stop),
            );
        }
    }
    let mut changes = Vec::new();
    let mut diffs = Vec::new();
    let mut request_versions: BTreeMap<i64, i32> = BTreeMap::new();
    let mut newly_infeasible: Vec<i64> = Vec::new();
    let mut citizens_told = 0;
    for timed in &outcome.timed {
        let key = timed.key;
        let existing = snapshot.route(key.0, key.1);
        let team = team_of(snapshot, key.0)?;
        for stop in existing.map(|r| r.stops.as_slice()).unwrap_or_default() {
            request_versions.insert(stop.request.id, stop.request.version);
        }
        let mut stops = Vec::with_capacity(timed.stops.len());
        let mut stop_diffs = Vec::with_capacity(timed.stops.len());
        let mut tell_citizens = Vec::new();
        for (work, times) in &timed.stops {
            let live = work.stop;
            request_versions.insert(live.request.id, live.request.version);
            let was = before.get(&live.request.id);
            let same_route = was.is_some_and(|(k, _)| *k == key);
            let (planned_start, planned_end) = match times {
                Some(t) => (clock_of.utc(key.1, t.start)?, clock_of.utc(key.1, t.end)?),
                None => (live.stop.planned_start, live.stop.planned_end),
            };
            // The promise holds while the visit still starts inside it on the same day (and
            // always when the change gave it no new time).
            let keeps_window = times.is_none()
                || made(live)
                || was.is_some_and(|(k, s)| {
                    k.1 == key.1
                        && planned_start >= s.stop.window_start
                        && planned_start <= s.stop.window_end
                });
            let (window_start, window_end) = if keeps_window {
                (live.stop.window_start, live.stop.window_end)
            } else if let Some(t) = times {
                let (from, to) = promised_minutes(t.start);
                (clock_of.utc(key.1, from)?, clock_of.utc(key.1, to)?)
            } else {
                return Err(internal("a stop without times and without a window"));
            };
            let window_changed = !keeps_window;
            if window_changed && live.request.status == RequestStatus::Scheduled {
                tell_citizens.push(live.request.id);
            }
            let issues: Vec<IssueView> = timed
                .issues
                .iter()
                .filter(|i| i.job.as_deref() == Some(live.request.id.to_string().as_str()))
                .map(|i| {
                    let new = !outcome.issues_before.contains(&issue_key(key, i));
                    IssueView {
                        code: i.code.to_string(),
                        message: i.message.clone(),
                        new,
                    }
                })
                .collect();
            if issues.iter().any(|i| i.new) {
                newly_infeasible.push(live.request.id);
            }
            stop_diffs.push(StopDiff {
                request_id: live.request.id,
                pinned: work.pinned,
                visited: made(live),
                moved_from: was.filter(|(k, _)| *k != key).map(|(k, _)| RouteKey {
                    team_id: k.0,
                    date: k.1,
                }),
                planned_before: was
                    .filter(|_| same_route)
                    .map(|(_, s)| clock_of.local(s.stop.planned_start)),
                planned_after: clock_of.local(planned_start),
                window_before: was.map(|(_, s)| {
                    [
                        clock_of.local(s.stop.window_start),
                        clock_of.local(s.stop.window_end),
                    ]
                }),
                window_after: [clock_of.local(window_start), clock_of.local(window_end)],
                window_changed,
                issues,
            });
            stops.push(PublishStop {
                request_id: live.request.id,
                planned_start,
                planned_end,
                window_start,
                window_end,
                pinned: work.pinned,
            });
        }
        let (leave_at, back_at) = if timed.leave.is_finite() {
            (
                clock_of.utc(key.1, timed.leave)?,
                clock_of.utc(key.1, timed.back)?,
            )
        } else {
            match existing {
                Some(r) if !stops.is_empty() => (r.route.leave_at, r.route.back_at),
                Some(r) => (r.route.leave_at, r.route.leave_at),
                None => return Err(internal("a new route without times")),
            }
        };
        let old_sequence: Vec<(i64, NaiveDateTime)> = existing
            .map(|r| {
                r.stops
                    .iter()
                    .map(|s| (s.request.id, s.stop.planned_start))
                    .collect()
            })
            .unwrap_or_default();
        let new_sequence: Vec<(i64, NaiveDateTime)> = stops
            .iter()
            .map(|s| (s.request_id, s.planned_start))
            .collect();
        let tell_team = old_sequence != new_sequence;
        let route_issues: Vec<IssueView> = timed
            .issues
            .iter()
            .filter(|i| i.job.is_none())
            .map(|i| IssueView {
                code: i.code.to_string(),
                message: i.message.clone(),
                new: !outcome.issues_before.contains(&issue_key(key, i)),
            })
            .collect();
        let locked = outcome.locked.get(&key).copied().unwrap_or(false);
        let distance_before = existing.map_or(0.0, |r| r.route.distance_m) / 1000.0;
        let distance_after = timed.distance_m / 1000.0;
        citizens_told += tell_citizens.len();
        diffs.push(RouteDiff {
            team_id: key.0,
            team_name: team.name.clone(),
            date: key.1,
            route_id: existing.map(|r| r.route.id),
            version_before: existing.map(|r| r.route.version),
            locked,
            distance_km_before: round2(distance_before),
            distance_km_after: round2(distance_after),
            added_km: round2(distance_after - distance_before),
            back_before: existing.map(|r| clock_of.local(r.route.back_at)),
            back_after: clock_of.local(back_at),
            stops: stop_diffs,
            issues: route_issues,
            team_told: tell_team,
        });
        changes.push(RouteChange {
            team_id: key.0,
            date: key.1,
            expected_version: existing.map(|r| r.route.version),
            locked,
            content: PublishRoute {
                team_id: key.0,
                date: key.1,
                distance_m: timed.distance_m,
                leave_at,
                back_at,
                stops,
            },
            tell_team,
            tell_citizens,
        });
    }
    for dropped in &outcome.dropped {
        if let Some((_, stop)) = before.get(&dropped.request_id) {
            request_versions.insert(stop.request.id, stop.request.version);
        }
    }
    newly_infeasible.sort_unstable();
    newly_infeasible.dedup();
    Ok(Proposal {
        edit: RouteEdit {
            region_id: snapshot.region.id,
            action: outcome.action,
            detail: outcome.detail,
            routes: changes,
            request_versions: request_versions.into_iter().collect(),
            unscheduled: outcome.dropped.iter().map(|d| d.request_id).collect(),
            absence: outcome.absence,
            day: None,
        },
        preview: ChangePreview {
            routes: diffs,
            dropped: outcome.dropped,
            newly_infeasible,
            citizens_told,
        },
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use crate::planning::dispatch::fixtures::{monday, Day, TEAM_A, TEAM_B};
    use crate::planning::dispatch::{propose_route_op, Proposal, RouteOp};

    fn day() -> Day {
        Day::new()
            .route(1, TEAM_A, &[(101, "09:00"), (102, "10:00")])
            .route(2, TEAM_B, &[(201, "09:00")])
    }

    fn propose(op: RouteOp) -> Proposal {
        propose_route_op(&day().build(), 1, 1, &op, monday()).unwrap()
    }

    #[test]
    fn added_km_is_after_minus_before() {
        let proposal = propose(RouteOp::Move {
            request_id: 102,
            to_team_id: TEAM_B,
            to_date: monday(),
            position: None,
            target_version: Some(1),
        });
        assert_eq!(proposal.preview.routes.len(), 2);
        // The fixture stores 1 km a stop.
        let before: Vec<f64> = proposal
            .preview
            .routes
            .iter()
            .map(|r| r.distance_km_before)
            .collect();
        assert_eq!(before, vec![2.0, 1.0]);
        for route in &proposal.preview.routes {
            assert!(route.distance_km_after > 0.0);
            let expected = ((route.distance_km_after - route.distance_km_before) * 100.0).round();
            assert_eq!(route.added_km * 100.0, expected, "{route:?}");
        }
    }

    #[test]
    fn times_before_and_after_are_local() {
        let proposal = propose(RouteOp::Reorder {
            request_ids: vec![101, 102],
        });
        let route = &proposal.preview.routes[0];
        let first = &route.stops[0];
        assert_eq!(first.planned_before.as_deref(), Some("09:00"));
        assert_eq!(
            first.window_before,
            Some(["08:30".to_string(), "10:00".to_string()])
        );
        // Timed again from the shift's start, the visit waits for its window to open.
        assert_eq!(first.planned_after, "08:30");
        assert!(!first.window_changed);
    }

    #[test]
    fn a_window_broken_by_the_change_is_new_and_counted() {
        // 102 cannot start before 09:30, so 101 (window until 10:00) comes too late.
        let proposal = propose(RouteOp::Reorder {
            request_ids: vec![102, 101],
        });
        assert_eq!(proposal.preview.newly_infeasible, vec![101]);
        let late = &proposal.preview.routes[0].stops[1];
        assert_eq!(late.request_id, 101);
        assert!(late.issues.iter().any(|i| i.code == "time_window" && i.new));
        // Its start left the promised window: the citizen hears the new one.
        assert!(late.window_changed);
        assert_eq!(proposal.preview.citizens_told, 1);
    }
}
