//! Jemput-scale problems around the 88 real villages of Kabupaten Kulon Progo, so anyone can
//! rerun the planner's scale target: requests scattered around village centroids (with a few
//! dense neighbourhoods), four service kinds needing two skills, priorities, allowed dates and
//! time windows; teams on motorbikes or cars with Monday–Thursday shifts and a longer Friday
//! midday break.

use jemput_planner::{
    Break, Date, Job, Location, Minutes, ObjectiveWeights, Priority, Problem, Shift, Team,
    TimeWindow, TravelSpec, VehicleProfile,
};

const VILLAGES_CSV: &str = include_str!("../../../assets/kulon_progo_villages.csv");

/// The first generated date, a Monday.
pub const FIRST_DATE: &str = "2026-11-23";

struct Village {
    lat: f64,
    lon: f64,
}

fn villages() -> Vec<Village> {
    VILLAGES_CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            Some(Village {
                lat: fields.get(7)?.parse().ok()?,
                lon: fields.get(8)?.parse().ok()?,
            })
        })
        .collect()
}

/// SplitMix64, so a seed gives the same problem everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
}

/// `YYYY-MM-DD` of `FIRST_DATE` + `offset` days (offsets stay inside November–December 2026).
fn date(offset: usize) -> Date {
    let day = 23 + offset;
    let text = if day <= 30 {
        format!("2026-11-{day:02}")
    } else {
        format!("2026-12-{:02}", day - 30)
    };
    match Date::parse(&text) {
        Ok(date) => date,
        Err(_) => unreachable!("generated dates are well formed"),
    }
}

struct Kind {
    code: &'static str,
    minutes: f64,
    skill: &'static str,
}

const KINDS: [Kind; 4] = [
    Kind {
        code: "ktp",
        minutes: 20.0,
        skill: "dukcapil",
    },
    Kind {
        code: "akta",
        minutes: 15.0,
        skill: "dukcapil",
    },
    Kind {
        code: "lansia",
        minutes: 30.0,
        skill: "dukcapil",
    },
    Kind {
        code: "bpjs",
        minutes: 25.0,
        skill: "kesehatan",
    },
];

/// A problem of `requests` visits for `teams` teams over `days` working days (Monday first;
/// weekends are skipped, so `days` up to 5 stays within one week).
pub fn generate(requests: usize, teams: usize, days: usize, seed: u64) -> Problem {
    let villages = villages();
    let mut rng = Rng(seed ^ 0x4A45_4D50_5554);
    let working_days: Vec<usize> = (0..days.max(1)).map(|d| d / 5 * 7 + d % 5).collect();

    let team_list: Vec<Team> = (0..teams)
        .map(|k| {
            let home = &villages[rng.below(villages.len())];
            let skills = match rng.below(20) {
                0..=13 => vec!["dukcapil".to_string(), "kesehatan".to_string()],
                14..=16 => vec!["dukcapil".to_string()],
                _ => vec!["kesehatan".to_string()],
            };
            let vehicle = if rng.below(5) == 0 {
                VehicleProfile {
                    speed_kmh: 35.0,
                    circuity: 1.5,
                }
            } else {
                VehicleProfile {
                    speed_kmh: 30.0,
                    circuity: 1.4,
                }
            };
            let shifts = working_days
                .iter()
                .map(|&offset| {
                    let friday = offset % 7 == 4;
                    Shift {
                        date: date(offset),
                        start: Minutes(8.0 * 60.0),
                        end: Minutes(if friday { 16.0 * 60.0 } else { 15.5 * 60.0 }),
                        breaks: vec![if friday {
                            // Friday prayers: a longer midday break.
                            Break {
                                earliest: Minutes(11.0 * 60.0),
                                latest: Minutes(11.5 * 60.0),
                                minutes: 120.0,
                            }
                        } else {
                            Break {
                                earliest: Minutes(11.5 * 60.0),
                                latest: Minutes(12.5 * 60.0),
                                minutes: 60.0,
                            }
                        }],
                        locked: false,
                    }
                })
                .collect();
            Team {
                id: format!("tim-{:02}", k + 1),
                start: Location::Geo {
                    lat: home.lat,
                    lon: home.lon,
                },
                end: None,
                shifts,
                skills,
                vehicle,
                max_visits: Some(12),
                max_route_minutes: None,
                max_route_distance: None,
                fixed_cost: 0.0,
                capacity: None,
            }
        })
        .collect();

    // A few neighbourhoods with many requests (a care home, a dense hamlet) make hotspots.
    let dense: Vec<usize> = (0..3).map(|_| rng.below(villages.len())).collect();
    let last_day = *working_days.last().unwrap_or(&0);
    let jobs = (0..requests)
        .map(|i| {
            let (village, spread) = if rng.below(100) < 8 {
                (&villages[dense[rng.below(dense.len())]], 0.003)
            } else {
                (&villages[rng.below(villages.len())], 0.02)
            };
            let kind = &KINDS[rng.below(KINDS.len())];
            let priority = match rng.below(100) {
                0..=4 => Priority::Urgent,
                5..=19 => Priority::High,
                20..=84 => Priority::Normal,
                _ => Priority::Low,
            };
            let earliest = working_days[rng.below(working_days.len().min(3))];
            let deadline = (earliest + 2 + rng.below(5)).min(last_day.max(earliest));
            let time_windows = match rng.below(10) {
                0..=5 => Vec::new(),
                6 | 7 => vec![TimeWindow {
                    start: Minutes(480.0),
                    end: Minutes(690.0),
                }],
                8 => vec![TimeWindow {
                    start: Minutes(750.0),
                    end: Minutes(870.0),
                }],
                _ => vec![
                    TimeWindow {
                        start: Minutes(480.0),
                        end: Minutes(600.0),
                    },
                    TimeWindow {
                        start: Minutes(780.0),
                        end: Minutes(870.0),
                    },
                ],
            };
            Job {
                // The service kind shows in the id so a reader of the JSON sees each visit's kind.
                id: format!("req-{:05}-{}", i + 1, kind.code),
                location: Location::Geo {
                    lat: village.lat + (rng.unit() - 0.5) * spread,
                    lon: village.lon + (rng.unit() - 0.5) * spread,
                },
                service_minutes: kind.minutes,
                time_windows,
                dated_windows: Vec::new(),
                promised_window: None,
                earliest_date: Some(date(earliest)),
                deadline: Some(date(deadline)),
                skills: vec![kind.skill.to_string()],
                priority,
                pin: None,
                group: None,
                demand: 0.0,
            }
        })
        .collect();

    Problem {
        jobs,
        teams: team_list,
        travel: TravelSpec::GreatCircle,
        objective: ObjectiveWeights::default(),
        previous: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_problems_are_valid_and_repeatable() {
        let a = generate(300, 6, 5, 7);
        a.validate().unwrap();
        assert_eq!(a.jobs.len(), 300);
        assert_eq!(a.teams.len(), 6);
        assert_eq!(a.teams[0].shifts.len(), 5);
        assert_eq!(a.teams[0].shifts[4].date.as_str(), "2026-11-27");
        assert_eq!(a, generate(300, 6, 5, 7));
        assert_ne!(a, generate(300, 6, 5, 8));
    }

    #[test]
    fn all_villages_are_read() {
        assert_eq!(villages().len(), 88);
    }
}
