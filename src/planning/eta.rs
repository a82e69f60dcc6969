//! Arrival times re-estimated from where a team is now. The plan's times assume the team left
//! its depot on time; once positions arrive, the rest of the day is worked out again from the
//! newest one: travel to each remaining stop in route order with the same travel model the
//! planner used (great-circle distance × the profile's circuity at its speed, `planning::vehicle`),
//! waiting for a window to open, staying as long as planned. Breaks are not modelled: an
//! estimate made over a break is early by the break's length.
//!
//! Why not re-run the planner's `evaluate`: it needs the whole problem (shifts, breaks, every
//! team of the region), read and built on every position batch of every officer; this needs
//! only the team's remaining stops, and uses the same travel times.

use chrono::{Duration, NaiveDateTime};
use jemput_planner::{GreatCircle, Location, TravelModel};

use super::vehicle;
use crate::db::fieldwork::RemainingStop;
use crate::domain::Coordinates;

/// A remaining stop's re-estimated arrival (UTC) and whether it falls after its promised
/// window (`late`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopEta {
    pub request_id: i64,
    pub arrival: NaiveDateTime,
    pub late: bool,
}

/// Arrivals at `stops` (in route order) for a team of `profile` that was at `from` at `at`.
pub fn from_position(
    from: Coordinates,
    at: NaiveDateTime,
    profile: &str,
    stops: &[RemainingStop],
) -> Vec<StopEta> {
    let profile = vehicle(profile);
    let mut here = Location::Geo {
        lat: from.lat,
        lon: from.lon,
    };
    let mut clock = at;
    stops
        .iter()
        .map(|stop| {
            let there = Location::Geo {
                lat: stop.lat,
                lon: stop.lon,
            };
            let minutes = GreatCircle.duration(&here, &there, &profile);
            let arrival = clock + Duration::seconds((minutes * 60.0).round() as i64);
            let start = arrival.max(stop.window_start);
            clock = start + (stop.planned_end - stop.planned_start);
            here = there;
            StopEta {
                request_id: stop.request_id,
                arrival,
                late: arrival > stop.window_end,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn stop(request_id: i64, lat: f64, window: (NaiveDateTime, NaiveDateTime)) -> RemainingStop {
        RemainingStop {
            request_id,
            lat,
            lon: 110.0,
            planned_start: window.0,
            planned_end: window.0 + Duration::minutes(30),
            window_start: window.0,
            window_end: window.1,
        }
    }

    #[test]
    fn arrivals_follow_travel_waits_and_stays_and_flag_late_stops() {
        // 0.1° of latitude is 11.1 km; by motorbike ×1.4 at 30 km/h: 31 minutes.
        let stops = [
            stop(1, -7.8, (at(2, 0), at(4, 0))),
            stop(2, -7.7, (at(2, 0), at(2, 50))),
        ];
        let from = Coordinates {
            lat: -7.9,
            lon: 110.0,
        };
        let etas = from_position(from, at(1, 0), "motorbike", &stops);
        // Arrives 01:31, waits for 02:00, stays 30 min, leaves 02:30, arrives 03:01: late.
        assert_eq!(etas[0].request_id, 1);
        assert_eq!(etas[0].arrival.format("%H:%M").to_string(), "01:31");
        assert!(!etas[0].late);
        assert_eq!(etas[1].arrival.format("%H:%M").to_string(), "03:01");
        assert!(etas[1].late);
    }
}
