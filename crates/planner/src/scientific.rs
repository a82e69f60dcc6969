//! Readers for the routing benchmarks' file formats.

use crate::error::ProblemError;
use crate::problem::{
    Date, Job, Location, Minutes, ObjectiveWeights, Priority, PriorityCosts, Problem, Shift, Team,
    TimeWindow, TravelSpec, VehicleProfile,
};

/// The single date every benchmark route runs on.
pub const BENCHMARK_DATE: &str = "2000-01-01";

/// Read a Solomon / Gehring & Homberger instance (VRPTW): the fleet's size and capacity, then
/// one row per customer `number x y demand ready due service`, the first row being the depot.
/// Follows the benchmarks' convention: Euclidean distances at full precision, travel time equal
/// to distance, total distance the only cost, every vehicle free to use.
pub fn read_solomon(text: &str) -> Result<Problem, ProblemError> {
    let malformed = |line: usize, message: &str| {
        ProblemError::new("malformed", format!("line {line}"), message.to_string())
    };
    let mut fleet: Option<(usize, f64)> = None;
    let mut rows: Vec<[f64; 7]> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || fields.iter().any(|f| f.parse::<f64>().is_err()) {
            continue;
        }
        let numbers: Vec<f64> = fields.iter().filter_map(|f| f.parse().ok()).collect();
        match (numbers.len(), fleet) {
            (2, None) => fleet = Some((numbers[0] as usize, numbers[1])),
            (7, Some(_)) => {
                let mut row = [0.0; 7];
                row.copy_from_slice(&numbers);
                rows.push(row);
            }
            _ => {
                return Err(malformed(
                    n + 1,
                    "expected 2 numbers (fleet) or 7 (customer)",
                ))
            }
        }
    }
    let (vehicles, capacity) = fleet.ok_or_else(|| malformed(0, "no VEHICLE section"))?;
    let (depot, customers) = rows
        .split_first()
        .ok_or_else(|| malformed(0, "no CUSTOMER rows"))?;
    let date = Date::parse(BENCHMARK_DATE).map_err(|m| malformed(0, &m))?;
    let place = |row: &[f64; 7]| Location::Plane {
        x: row[1],
        y: row[2],
    };
    let jobs = customers
        .iter()
        .map(|row| Job {
            id: format!("{}", row[0] as u64),
            location: place(row),
            service_minutes: row[6],
            time_windows: vec![TimeWindow {
                start: Minutes(row[4]),
                end: Minutes(row[5]),
            }],
            dated_windows: Vec::new(),
            promised_window: None,
            earliest_date: None,
            deadline: None,
            skills: Vec::new(),
            priority: Priority::Normal,
            pin: None,
            group: None,
            demand: row[3],
        })
        .collect();
    let teams = (1..=vehicles)
        .map(|k| Team {
            id: format!("v{k}"),
            start: place(depot),
            end: None,
            shifts: vec![Shift {
                date: date.clone(),
                start: Minutes(depot[4]),
                end: Minutes(depot[5]),
                breaks: Vec::new(),
                locked: false,
            }],
            skills: Vec::new(),
            vehicle: VehicleProfile {
                speed_kmh: 1.0,
                circuity: 1.0,
            },
            max_visits: None,
            max_route_minutes: None,
            max_route_distance: None,
            fixed_cost: 0.0,
            capacity: Some(capacity),
        })
        .collect();
    let no_cost = PriorityCosts {
        urgent: 0.0,
        high: 0.0,
        normal: 0.0,
        low: 0.0,
    };
    let objective = ObjectiveWeights {
        delay_per_day: no_cost,
        disruption: 0.0,
        workload_balance: 0.0,
        ..ObjectiveWeights::default()
    };
    let problem = Problem {
        jobs,
        teams,
        travel: TravelSpec::Euclidean,
        objective,
        previous: Vec::new(),
    };
    problem.validate()?;
    Ok(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = "TINY\n\nVEHICLE\nNUMBER     CAPACITY\n  2         10\n\nCUSTOMER\n\
        CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n \n\
        0 0 0 0 0 100 0\n1 3 4 5 0 50 1\n2 6 8 5 10 60 1\n";

    #[test]
    fn reads_fleet_depot_and_customers() {
        let problem = read_solomon(TINY).unwrap();
        assert_eq!(problem.teams.len(), 2);
        assert_eq!(problem.teams[0].capacity, Some(10.0));
        assert_eq!(problem.jobs.len(), 2);
        assert_eq!(problem.jobs[1].time_windows[0].start, Minutes(10.0));
        assert_eq!(problem.jobs[1].demand, 5.0);
    }

    #[test]
    fn rejects_a_file_without_a_fleet() {
        assert!(read_solomon("0 0 0 0 0 100 0\n").is_err());
    }
}
