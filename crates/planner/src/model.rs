//! The problem compiled for search: indices instead of ids, travel as matrices, each job (or
//! group of jobs at one address) as one task with merged windows, each team-date as one vehicle.

use std::collections::{BTreeMap, HashMap};

use crate::problem::{Date, Location, Priority, Problem, VehicleProfile};
use crate::solution::UnassignedReason;
use crate::travel::model_for;

/// "No limit" for windows and route limits.
pub(crate) const OPEN: f64 = f64::INFINITY;

/// One stop: a job, or the jobs of a group served back to back.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    /// Member jobs in service order (indices into `Problem::jobs`).
    pub jobs: Vec<usize>,
    /// When each member starts, in minutes after the stop starts.
    pub offsets: Vec<f64>,
    pub loc: u32,
    pub service: f64,
    /// Allowed start intervals of the stop, sorted and disjoint; never empty for a live task.
    pub windows: Vec<(f64, f64)>,
    /// Per day (index among the vehicles' distinct dates), the start intervals there when they depend on the
    /// date (dated windows); empty when `windows` holds every day.
    pub day_windows: Vec<Vec<(f64, f64)>>,
    /// Promised windows' ends as latest stop starts, with the cost per minute past each
    /// (one per member with a promise).
    pub dues: Vec<(f64, f64)>,
    pub demand: f64,
    pub skills: u64,
    pub allowed_dates: (Option<Date>, Option<Date>),
    pub priority: Priority,
    pub unassigned_cost: f64,
    /// Vehicles that may serve it, with the cost it adds there besides travel (delay,
    /// disruption).
    pub candidates: Vec<(u32, f64)>,
    /// The vehicle of a positioned pin, with the position.
    pub fixed_at: Option<(u32, usize)>,
    /// Known before search that it cannot be served.
    pub rejected: Option<(UnassignedReason, String)>,
}

impl Task {
    /// Cost of starting the stop at `start` for the promises it breaks.
    #[inline]
    pub fn lateness_cost(&self, start: f64) -> f64 {
        self.dues
            .iter()
            .map(|&(due, per_minute)| (start - due).max(0.0) * per_minute)
            .sum()
    }

    /// The earliest promised end: a stop on time keeps its start no later than this.
    #[inline]
    pub fn due(&self) -> f64 {
        self.dues.iter().map(|d| d.0).fold(OPEN, f64::min)
    }

    /// Start intervals on day `day`.
    #[inline]
    pub fn windows_on(&self, day: usize) -> &[(f64, f64)] {
        if self.day_windows.is_empty() {
            &self.windows
        } else {
            &self.day_windows[day]
        }
    }

    pub fn latest_start(&self, day: usize) -> f64 {
        self.windows_on(day)
            .last()
            .map_or(f64::NEG_INFINITY, |w| w.1)
    }

    /// Start of service for an arrival on day `day`, or None if every window has closed.
    #[inline]
    pub fn start_for(&self, day: usize, arrival: f64) -> Option<f64> {
        for &(open, close) in self.windows_on(day) {
            if arrival <= close {
                return Some(arrival.max(open));
            }
        }
        None
    }

    /// Latest arrival on day `day` from which service can start no later than `bound`.
    #[inline]
    pub fn latest_arrival_for(&self, day: usize, bound: f64) -> f64 {
        let mut best = f64::NEG_INFINITY;
        for &(open, close) in self.windows_on(day) {
            if open <= bound {
                best = close.min(bound);
            } else {
                break;
            }
        }
        best
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct BreakSpec {
    pub earliest: f64,
    pub latest: f64,
    pub duration: f64,
}

/// One team on one date: one possible route.
#[derive(Debug, Clone)]
pub(crate) struct Vehicle {
    pub team: usize,
    pub date: Date,
    /// Index of `date` among the vehicles' distinct dates, in calendar order.
    pub day: usize,
    pub start_loc: u32,
    pub end_loc: u32,
    pub start_time: f64,
    /// Latest arrival at the end: the shift's end or the route-duration limit, whichever first.
    pub latest_end: f64,
    pub breaks: Vec<BreakSpec>,
    pub capacity: f64,
    pub max_visits: usize,
    pub max_distance: f64,
    pub fixed_cost: f64,
    pub profile: usize,
    pub locked: bool,
}

/// Travel for one vehicle profile between every pair of locations.
#[derive(Debug, Clone)]
pub(crate) struct Matrices {
    pub distance: Vec<f64>,
    pub time: Vec<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub n_locations: usize,
    pub matrices: Vec<Matrices>,
    pub tasks: Vec<Task>,
    pub vehicles: Vec<Vehicle>,
    /// For each task, other tasks by increasing distance (at most `NEIGHBOURS`).
    pub neighbours: Vec<Vec<u32>>,
    pub distance_weight: f64,
    pub time_weight: f64,
    /// Cost per squared working minute of a route (0 with one team).
    pub balance_weight: f64,
    pub team_skills: Vec<u64>,
}

const NEIGHBOURS: usize = 100;

impl Model {
    #[inline]
    pub fn distance(&self, profile: usize, from: u32, to: u32) -> f64 {
        self.matrices[profile].distance[from as usize * self.n_locations + to as usize]
    }

    #[inline]
    pub fn time(&self, profile: usize, from: u32, to: u32) -> f64 {
        self.matrices[profile].time[from as usize * self.n_locations + to as usize]
    }

    /// Cost of driving an arc, as the objective weighs it.
    #[inline]
    pub fn arc_cost(&self, profile: usize, from: u32, to: u32) -> f64 {
        let index = from as usize * self.n_locations + to as usize;
        let m = &self.matrices[profile];
        self.distance_weight * m.distance[index] + self.time_weight * m.time[index]
    }

    /// Compile a validated problem.
    pub fn compile(problem: &Problem) -> Model {
        let mut locations: Vec<Location> = Vec::new();
        let mut location_index: HashMap<[u64; 2], u32> = HashMap::new();
        let mut intern = |location: &Location| -> u32 {
            let key = match location {
                Location::Geo { lat, lon } => [lat.to_bits(), lon.to_bits()],
                Location::Plane { x, y } => [x.to_bits(), y.to_bits() ^ 1],
                Location::Index { index } => [*index as u64, u64::MAX],
            };
            *location_index.entry(key).or_insert_with(|| {
                locations.push(*location);
                (locations.len() - 1) as u32
            })
        };

        let mut skill_bits: BTreeMap<&str, u64> = BTreeMap::new();
        for name in problem
            .teams
            .iter()
            .flat_map(|t| &t.skills)
            .chain(problem.jobs.iter().flat_map(|j| &j.skills))
        {
            let next = skill_bits.len();
            skill_bits.entry(name.as_str()).or_insert(next as u64);
        }
        // Skills beyond 64 share bits: still correct for the checker, merely coarser in search.
        let mask = |names: &[String]| -> u64 {
            names
                .iter()
                .map(|n| 1u64 << (skill_bits.get(n.as_str()).copied().unwrap_or(0) % 64))
                .fold(0, |a, b| a | b)
        };

        let mut profiles: Vec<VehicleProfile> = Vec::new();
        let mut vehicles = Vec::new();
        let mut team_masks = Vec::new();
        for (t, team) in problem.teams.iter().enumerate() {
            let profile = match profiles.iter().position(|p| *p == team.vehicle) {
                Some(p) => p,
                None => {
                    profiles.push(team.vehicle);
                    profiles.len() - 1
                }
            };
            let start_loc = intern(&team.start);
            let end_loc = intern(team.end.as_ref().unwrap_or(&team.start));
            team_masks.push(mask(&team.skills));
            for shift in &team.shifts {
                let mut breaks: Vec<BreakSpec> = shift
                    .breaks
                    .iter()
                    .map(|b| BreakSpec {
                        earliest: b.earliest.0,
                        latest: b.latest.0,
                        duration: b.minutes,
                    })
                    .collect();
                // A break that closes before the shift starts, or opens after it ends, never
                // applies.
                breaks.retain(|b| b.latest >= shift.start.0 && b.earliest < shift.end.0);
                breaks.sort_by(|a, b| a.earliest.total_cmp(&b.earliest));
                vehicles.push(Vehicle {
                    team: t,
                    date: shift.date.clone(),
                    day: 0,
                    start_loc,
                    end_loc,
                    start_time: shift.start.0,
                    latest_end: shift
                        .end
                        .0
                        .min(shift.start.0 + team.max_route_minutes.unwrap_or(OPEN)),
                    breaks,
                    capacity: team.capacity.unwrap_or(OPEN),
                    max_visits: team.max_visits.unwrap_or(usize::MAX),
                    max_distance: team.max_route_distance.unwrap_or(OPEN),
                    fixed_cost: team.fixed_cost,
                    profile,
                    locked: shift.locked,
                });
            }
        }
        let mut days: Vec<Date> = vehicles.iter().map(|v| v.date.clone()).collect();
        days.sort();
        days.dedup();
        for vehicle in &mut vehicles {
            vehicle.day = days.binary_search(&vehicle.date).unwrap_or(0);
        }
        let vehicle_of: HashMap<(&str, &Date), u32> = vehicles
            .iter()
            .enumerate()
            .map(|(v, veh)| ((problem.teams[veh.team].id.as_str(), &veh.date), v as u32))
            .collect();
        let team_index: HashMap<&str, usize> = problem
            .teams
            .iter()
            .enumerate()
            .map(|(t, team)| (team.id.as_str(), t))
            .collect();
        let previous: HashMap<&str, (&str, &Date)> = problem
            .previous
            .iter()
            .map(|p| (p.job.as_str(), (p.team.as_str(), &p.date)))
            .collect();

        // Jobs of one group become one task, in input order.
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut group_task: HashMap<&str, usize> = HashMap::new();
        for (j, job) in problem.jobs.iter().enumerate() {
            match &job.group {
                Some(group) => match group_task.get(group.as_str()) {
                    Some(&task) => members[task].push(j),
                    None => {
                        group_task.insert(group.as_str(), members.len());
                        members.push(vec![j]);
                    }
                },
                None => members.push(vec![j]),
            }
        }

        let weights = &problem.objective;
        let mut tasks = Vec::with_capacity(members.len());
        for jobs in members {
            let first = &problem.jobs[jobs[0]];
            let mut offsets = Vec::with_capacity(jobs.len());
            let mut windows = vec![(f64::NEG_INFINITY, OPEN)];
            let mut service = 0.0;
            let mut demand = 0.0;
            let mut skills = 0;
            let mut priority = Priority::Low;
            let mut earliest: Option<&Date> = None;
            let mut deadline: Option<&Date> = None;
            let mut rejected = None;
            let mut dues = Vec::new();
            for &j in &jobs {
                let job = &problem.jobs[j];
                offsets.push(service);
                if let Some(promise) = &job.promised_window {
                    // Never before the promise opens; after it closes only at a cost.
                    windows = intersect(&windows, &[(promise.start.0 - service, OPEN)]);
                    dues.push((
                        promise.end.0 - service,
                        weights.lateness_per_minute.of(job.priority),
                    ));
                }
                if !job.time_windows.is_empty() {
                    let mut own: Vec<(f64, f64)> = job
                        .time_windows
                        .iter()
                        .map(|w| (w.start.0 - service, w.end.0 - service))
                        .collect();
                    own.sort_by(|a, b| a.0.total_cmp(&b.0));
                    windows = intersect(&windows, &merge(own));
                }
                service += job.service_minutes;
                demand += job.demand;
                skills |= mask(&job.skills);
                priority = priority.max(job.priority);
                if let Some(date) = &job.earliest_date {
                    earliest = Some(earliest.map_or(date, |e| e.max(date)));
                }
                if let Some(date) = &job.deadline {
                    deadline = Some(deadline.map_or(date, |d| d.min(date)));
                }
                if job.pin.as_ref().map(|p| (&p.team, &p.date))
                    != first.pin.as_ref().map(|p| (&p.team, &p.date))
                {
                    rejected = Some((
                        UnassignedReason::GroupConflict,
                        "jobs of the group are pinned to different teams or dates".to_string(),
                    ));
                }
            }
            let day_windows = dated_windows(problem, &jobs, &offsets, &windows, &days);
            if windows.is_empty() && rejected.is_none() {
                rejected = Some((
                    UnassignedReason::GroupConflict,
                    "the time windows of the group's jobs leave no common start".to_string(),
                ));
            }
            if let (Some(e), Some(d)) = (earliest, deadline) {
                if e > d && rejected.is_none() {
                    rejected = Some((
                        UnassignedReason::GroupConflict,
                        "the allowed dates of the group's jobs do not overlap".to_string(),
                    ));
                }
            }
            let earliest_day = earliest.map(day_number);
            let pin = first.pin.as_ref();
            let previous_vehicle = previous
                .get(first.id.as_str())
                .and_then(|(team, date)| vehicle_of.get(&(*team, *date)).copied());
            let mut candidates = Vec::new();
            let mut fixed_at = None;
            if rejected.is_none() {
                for (v, vehicle) in vehicles.iter().enumerate() {
                    if let Some(pin) = pin {
                        if team_index.get(pin.team.as_str()) != Some(&vehicle.team)
                            || pin.date != vehicle.date
                        {
                            continue;
                        }
                        if let Some(position) = pin.position {
                            fixed_at = Some((v as u32, position));
                        }
                    } else if vehicle.locked {
                        continue;
                    }
                    if day_windows
                        .get(vehicle.day)
                        .is_some_and(|w: &Vec<(f64, f64)>| w.is_empty())
                    {
                        continue;
                    }
                    if skills & !team_masks[vehicle.team] != 0
                        || earliest.is_some_and(|e| vehicle.date < *e)
                        || deadline.is_some_and(|d| vehicle.date > *d)
                        || demand > vehicle.capacity
                    {
                        continue;
                    }
                    let delay_days =
                        earliest_day.map_or(0, |e| (day_number(&vehicle.date) - e).max(0)) as f64;
                    let mut extra = delay_days * weights.delay_per_day.of(priority);
                    if previous_vehicle.is_some_and(|p| p != v as u32) {
                        extra += weights.disruption * jobs.len() as f64;
                    }
                    candidates.push((v as u32, extra));
                }
            }
            let unassigned_cost = jobs
                .iter()
                .map(|&j| weights.unassigned.of(problem.jobs[j].priority))
                .sum();
            tasks.push(Task {
                loc: intern(&first.location),
                jobs,
                offsets,
                service,
                windows,
                day_windows,
                dues,
                demand,
                skills,
                allowed_dates: (earliest.cloned(), deadline.cloned()),
                priority,
                unassigned_cost,
                candidates,
                fixed_at,
                rejected,
            });
        }

        let n = locations.len();
        let model = model_for(&problem.travel);
        let matrices = profiles
            .iter()
            .map(|profile| {
                let mut distance = vec![0.0; n * n];
                let mut time = vec![0.0; n * n];
                for (a, from) in locations.iter().enumerate() {
                    for (b, to) in locations.iter().enumerate() {
                        if a != b {
                            let (d, t) = model.distance_and_duration(from, to, profile);
                            distance[a * n + b] = d;
                            time[a * n + b] = t;
                        }
                    }
                }
                Matrices { distance, time }
            })
            .collect();

        let mut compiled = Model {
            n_locations: n,
            matrices,
            tasks,
            vehicles,
            neighbours: Vec::new(),
            distance_weight: weights.distance,
            time_weight: weights.travel_minute,
            balance_weight: if problem.teams.len() > 1 {
                weights.workload_balance
            } else {
                0.0
            },
            team_skills: team_masks,
        };
        compiled.neighbours = compiled.nearest_tasks();
        compiled
    }

    fn nearest_tasks(&self) -> Vec<Vec<u32>> {
        if self.matrices.is_empty() {
            return vec![Vec::new(); self.tasks.len()];
        }
        let count = self.tasks.len();
        let mut order: Vec<(f64, u32)> = Vec::with_capacity(count);
        (0..count)
            .map(|a| {
                order.clear();
                let from = self.tasks[a].loc;
                order.extend((0..count).filter(|&b| b != a).map(|b| {
                    let to = self.tasks[b].loc;
                    (
                        self.distance(0, from, to) + self.distance(0, to, from),
                        b as u32,
                    )
                }));
                let keep = NEIGHBOURS.min(order.len());
                if keep > 0 && keep < order.len() {
                    order.select_nth_unstable_by(keep - 1, |x, y| x.0.total_cmp(&y.0));
                    order.truncate(keep);
                }
                order.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                order.iter().map(|&(_, b)| b).collect()
            })
            .collect()
    }
}

/// A task's start intervals per day when a member has dated windows (empty otherwise):
/// the date-free `windows` cut by each member's windows on that day, shifted by when the
/// member starts within the stop; nothing on a day a member may not be served.
fn dated_windows(
    problem: &Problem,
    jobs: &[usize],
    offsets: &[f64],
    windows: &[(f64, f64)],
    days: &[Date],
) -> Vec<Vec<(f64, f64)>> {
    if jobs
        .iter()
        .all(|&j| problem.jobs[j].dated_windows.is_empty())
    {
        return Vec::new();
    }
    days.iter()
        .map(|date| {
            let mut on_day = windows.to_vec();
            for (&j, &offset) in jobs.iter().zip(offsets) {
                match problem.jobs[j].windows_on(date) {
                    None => return Vec::new(),
                    Some([]) => {}
                    Some(own) => {
                        let own = own
                            .iter()
                            .map(|w| (w.start.0 - offset, w.end.0 - offset))
                            .collect();
                        on_day = intersect(&on_day, &merge(own));
                    }
                }
            }
            on_day
        })
        .collect()
}

/// Sort and join overlapping intervals.
fn merge(mut intervals: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(intervals.len());
    for (open, close) in intervals {
        match merged.last_mut() {
            Some(last) if open <= last.1 => last.1 = last.1.max(close),
            _ => merged.push((open, close)),
        }
    }
    merged
}

/// Intersection of two sorted disjoint interval lists.
fn intersect(a: &[(f64, f64)], b: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let (mut i, mut k) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && k < b.len() {
        let open = a[i].0.max(b[k].0);
        let close = a[i].1.min(b[k].1);
        if open <= close {
            out.push((open, close));
        }
        if a[i].1 < b[k].1 {
            i += 1;
        } else {
            k += 1;
        }
    }
    out
}

/// Days since 1970-01-01 of a validated date (Howard Hinnant's civil-from-days inverse).
pub(crate) fn day_number(date: &Date) -> i64 {
    let text = date.as_str();
    let year: i64 = text[0..4].parse().unwrap_or(1970);
    let month: i64 = text[5..7].parse().unwrap_or(1);
    let day: i64 = text[8..10].parse().unwrap_or(1);
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_count_calendar_days() {
        let d = |s: &str| day_number(&Date::parse(s).unwrap());
        assert_eq!(d("1970-01-01"), 0);
        assert_eq!(d("2026-03-01") - d("2026-02-28"), 1);
        assert_eq!(d("2028-03-01") - d("2028-02-28"), 2);
        assert_eq!(d("2027-01-01") - d("2026-12-31"), 1);
    }

    #[test]
    fn windows_intersect_and_merge() {
        let a = merge(vec![(10.0, 20.0), (0.0, 5.0), (4.0, 8.0)]);
        assert_eq!(a, vec![(0.0, 8.0), (10.0, 20.0)]);
        let b = intersect(&a, &[(6.0, 12.0)]);
        assert_eq!(b, vec![(6.0, 8.0), (10.0, 12.0)]);
    }

    #[test]
    fn latest_arrival_respects_gaps_between_windows() {
        let task = Task {
            jobs: vec![0],
            offsets: vec![0.0],
            loc: 0,
            service: 10.0,
            windows: vec![(0.0, 10.0), (20.0, 30.0)],
            day_windows: Vec::new(),
            dues: Vec::new(),
            demand: 0.0,
            skills: 0,
            allowed_dates: (None, None),
            priority: Priority::Normal,
            unassigned_cost: 1.0,
            candidates: Vec::new(),
            fixed_at: None,
            rejected: None,
        };
        assert_eq!(task.latest_arrival_for(0, 15.0), 10.0);
        assert_eq!(task.latest_arrival_for(0, 25.0), 25.0);
        assert_eq!(task.latest_arrival_for(0, -1.0), f64::NEG_INFINITY);
        assert_eq!(task.start_for(0, 12.0), Some(20.0));
        assert_eq!(task.start_for(0, 31.0), None);
    }
}
