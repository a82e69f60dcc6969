//! One vehicle's route with the schedule data that makes insertion checks O(1).
//!
//! Positions run from 0 (leaving the start) through the nodes to `len + 1` (arriving at the
//! end). Forward we keep each position's departure time; backward, the latest arrival from which
//! the rest of the route still keeps every window, break and the shift end. A break is a node
//! without a place of its own: it is taken where the team is, so it carries the location of
//! the node before it, and a job inserted right before a break moves the break with it.
//! Breaks after the last visit are skipped when the team is back before the break opens: a
//! team that finishes at ten goes home, it does not wait for lunch out in the field.

use crate::model::{Model, Vehicle};
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    Task(u32),
    Break(u32),
}

#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub vehicle: u32,
    pub nodes: Vec<Node>,
    /// Leading nodes that must not change (positioned pins and breaks among them).
    pub fixed_prefix: usize,
    loc: Vec<u32>,
    departure: Vec<f64>,
    latest_arrival: Vec<f64>,
    pub arrival_at_end: f64,
    pub distance: f64,
    pub travel_time: f64,
    /// Minutes of service on the route.
    pub service: f64,
    pub load: f64,
    pub visits: usize,
    pub tasks: usize,
    /// The delay and disruption costs of the tasks on board.
    pub extra: f64,
    /// The cost of the promises the route breaks (visits after their promised window).
    pub lateness: f64,
    pub feasible: bool,
    /// Node index of the last task (None when the route has none): breaks after it are
    /// trailing.
    last_task: Option<usize>,
    /// Per node: a trailing break that is not needed.
    skipped: Vec<bool>,
}

/// What workload balance adds for `task` between `from` and `to` on `route`.
#[inline]
fn balance(model: &Model, route: &Route, task: &crate::model::Task, from: u32, to: u32) -> f64 {
    if model.balance_weight == 0.0 {
        return 0.0;
    }
    let profile = model.vehicles[route.vehicle as usize].profile;
    let added = model.time(profile, from, task.loc) + model.time(profile, task.loc, to)
        - model.time(profile, from, to)
        + task.service;
    let work = route.working_minutes();
    model.balance_weight * ((work + added).powi(2) - work.powi(2))
}

/// Where and at what added cost a task fits best in a route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Insertion {
    pub cost: f64,
    pub position: usize,
}

impl Route {
    pub fn new(model: &Model, vehicle: u32) -> Route {
        let breaks = model.vehicles[vehicle as usize].breaks.len() as u32;
        let mut route = Route {
            vehicle,
            nodes: (0..breaks).map(Node::Break).collect(),
            fixed_prefix: 0,
            loc: Vec::new(),
            departure: Vec::new(),
            latest_arrival: Vec::new(),
            arrival_at_end: 0.0,
            distance: 0.0,
            travel_time: 0.0,
            service: 0.0,
            load: 0.0,
            visits: 0,
            tasks: 0,
            extra: 0.0,
            lateness: 0.0,
            feasible: true,
            last_task: None,
            skipped: Vec::new(),
        };
        route.update(model);
        route
    }

    #[inline]
    fn vehicle<'m>(&self, model: &'m Model) -> &'m Vehicle {
        &model.vehicles[self.vehicle as usize]
    }

    /// The route's share of the objective.
    pub fn cost(&self, model: &Model) -> f64 {
        if self.tasks == 0 {
            return 0.0;
        }
        self.vehicle(model).fixed_cost
            + model.distance_weight * self.distance
            + model.time_weight * self.travel_time
            + self.extra
            + self.lateness
            + model.balance_weight * self.working_minutes().powi(2)
    }

    /// Travel and service: what workload balance evens out.
    #[inline]
    pub fn working_minutes(&self) -> f64 {
        self.travel_time + self.service
    }

    /// Recompute the schedule after the nodes changed.
    pub fn update(&mut self, model: &Model) {
        let vehicle = &model.vehicles[self.vehicle as usize];
        let profile = vehicle.profile;
        let len = self.nodes.len();
        self.loc.clear();
        self.departure.clear();
        self.latest_arrival.clear();
        self.loc.push(vehicle.start_loc);
        self.departure.push(vehicle.start_time);
        self.distance = 0.0;
        self.travel_time = 0.0;
        self.service = 0.0;
        self.load = 0.0;
        self.visits = 0;
        self.tasks = 0;
        self.extra = 0.0;
        self.lateness = 0.0;
        self.feasible = true;
        self.last_task = self.nodes.iter().rposition(|n| matches!(n, Node::Task(_)));
        self.skipped.clear();
        self.skipped.resize(len, false);
        let mut time = vehicle.start_time;
        let mut here = vehicle.start_loc;
        for (index, node) in self.nodes.iter().enumerate() {
            match *node {
                Node::Task(t) => {
                    let task = &model.tasks[t as usize];
                    let travel = model.time(profile, here, task.loc);
                    self.distance += model.distance(profile, here, task.loc);
                    self.travel_time += travel;
                    match task.start_for(vehicle.day, time + travel) {
                        Some(start) => {
                            self.lateness += task.lateness_cost(start);
                            time = start + task.service;
                        }
                        None => {
                            self.feasible = false;
                            time += travel + task.service;
                        }
                    }
                    here = task.loc;
                    self.service += task.service;
                    self.load += task.demand;
                    self.visits += task.jobs.len();
                    self.tasks += 1;
                    self.extra += task
                        .candidates
                        .iter()
                        .find(|c| c.0 == self.vehicle)
                        .map_or(0.0, |c| c.1);
                }
                Node::Break(b) => {
                    let rest = vehicle.breaks[b as usize];
                    let trailing = self.last_task.is_none_or(|last| index > last);
                    if trailing
                        && time + model.time(profile, here, vehicle.end_loc) <= rest.earliest
                    {
                        self.skipped[index] = true;
                    } else {
                        let start = time.max(rest.earliest);
                        if start > rest.latest {
                            self.feasible = false;
                        }
                        time = start + rest.duration;
                    }
                }
            }
            self.loc.push(here);
            self.departure.push(time);
        }
        let travel = model.time(profile, here, vehicle.end_loc);
        self.distance += model.distance(profile, here, vehicle.end_loc);
        self.travel_time += travel;
        self.arrival_at_end = time + travel;
        self.loc.push(vehicle.end_loc);
        if self.arrival_at_end > vehicle.latest_end
            || self.load > vehicle.capacity
            || self.visits > vehicle.max_visits
            || self.distance > vehicle.max_distance
        {
            self.feasible = false;
        }

        self.latest_arrival.resize(len + 2, 0.0);
        self.latest_arrival[len + 1] = vehicle.latest_end;
        for position in (1..=len).rev() {
            let next = position + 1;
            let travel = model.time(profile, self.loc[position], self.loc[next]);
            let bound = self.latest_arrival[next] - travel;
            self.latest_arrival[position] = match self.nodes[position - 1] {
                Node::Task(t) => {
                    let task = &model.tasks[t as usize];
                    let mut latest_start = bound - task.service;
                    // A promise kept stays kept: what is inserted before it may not make it
                    // late. One already broken only costs more.
                    let due = task.due();
                    if self.departure[position] - task.service <= due + 1e-9 {
                        latest_start = latest_start.min(due);
                    }
                    task.latest_arrival_for(vehicle.day, latest_start)
                }
                Node::Break(b) => {
                    let rest = vehicle.breaks[b as usize];
                    let bound = bound - rest.duration;
                    let taken = if rest.earliest > bound {
                        f64::NEG_INFINITY
                    } else {
                        rest.latest.min(bound)
                    };
                    if self.last_task.is_none_or(|last| position - 1 > last) {
                        // Or skip it: back at the end before it opens.
                        let home = model.time(profile, self.loc[position], vehicle.end_loc);
                        taken.max(rest.earliest.min(vehicle.latest_end) - home)
                    } else {
                        taken
                    }
                }
            };
        }
        self.latest_arrival[0] = f64::NEG_INFINITY;
    }

    /// Cheapest feasible place for a task (route arcs and limits only; the caller adds the
    /// task's own extra cost and the vehicle's fixed cost). `blink` skips a position at random,
    /// as SISR does, so that equal choices vary.
    pub fn best_insertion(
        &self,
        model: &Model,
        task_index: u32,
        blink: f64,
        rng: &mut Rng,
    ) -> Option<Insertion> {
        let vehicle = self.vehicle(model);
        let task = &model.tasks[task_index as usize];
        if self.load + task.demand > vehicle.capacity
            || self.visits + task.jobs.len() > vehicle.max_visits
        {
            return None;
        }
        let profile = vehicle.profile;
        let latest_start = task.latest_start(vehicle.day);
        let len = self.nodes.len();
        let mut best: Option<Insertion> = None;
        for position in (self.fixed_prefix + 1)..=(len + 1) {
            let before = position - 1;
            let from = self.loc[before];
            let departure = match self.last_task {
                // After trailing breaks, which the new task makes necessary again.
                Some(last) if before > last + 1 => {
                    match self.take_breaks(vehicle, last + 1, before) {
                        Some(time) => time,
                        None => break,
                    }
                }
                None if before > 0 => match self.take_breaks(vehicle, 0, before) {
                    Some(time) => time,
                    None => break,
                },
                _ => self.departure[before],
            };
            let travel_in = model.time(profile, from, task.loc);
            let arrival = departure + travel_in;
            if arrival > latest_start {
                // Departures only grow along the route: no later position can work either.
                break;
            }
            if blink > 0.0 && rng.chance(blink) {
                continue;
            }
            let Some(task_start) = task.start_for(vehicle.day, arrival) else {
                continue;
            };
            let task_time = task_start + task.service;
            // Breaks right after the insertion point are taken here, after the task.
            let mut next = position;
            while next <= len && matches!(self.nodes[next - 1], Node::Break(_)) {
                next += 1;
            }
            let time = if next == len + 1 {
                // They are trailing and may still be skipped.
                self.trailing_from(model, vehicle, task.loc, task_time, position)
            } else {
                match self.take_breaks_after(vehicle, task_time, position - 1, next - 1) {
                    Some(time) => time,
                    None => continue,
                }
            };
            let to = self.loc[next];
            if time + model.time(profile, task.loc, to) > self.latest_arrival[next] {
                continue;
            }
            let added_distance = model.distance(profile, from, task.loc)
                + model.distance(profile, task.loc, to)
                - model.distance(profile, from, to);
            if self.distance + added_distance > vehicle.max_distance + 1e-9 {
                continue;
            }
            let cost = model.arc_cost(profile, from, task.loc)
                + model.arc_cost(profile, task.loc, to)
                - model.arc_cost(profile, from, to)
                + task.lateness_cost(task_start)
                + balance(model, self, task, from, to);
            if best.is_none_or(|b| cost < b.cost) {
                best = Some(Insertion { cost, position });
            }
        }
        best
    }

    /// Departure after taking every break among nodes `first..last` (0-based node indices,
    /// `last` exclusive), starting from the departure before node `first`; None if one is
    /// missed.
    fn take_breaks(&self, vehicle: &Vehicle, first: usize, last: usize) -> Option<f64> {
        self.take_breaks_after(vehicle, self.departure[first], first, last)
    }

    /// Departure after taking the breaks among nodes `first..last` from `time` on.
    fn take_breaks_after(
        &self,
        vehicle: &Vehicle,
        mut time: f64,
        first: usize,
        last: usize,
    ) -> Option<f64> {
        for node in &self.nodes[first..last] {
            if let Node::Break(b) = node {
                let rest = vehicle.breaks[*b as usize];
                let start = time.max(rest.earliest);
                if start > rest.latest {
                    return None;
                }
                time = start + rest.duration;
            }
        }
        Some(time)
    }

    /// Time leaving the last trailing break after a task ending at `time` at `from`, skipping
    /// breaks the team need not take; infinite if a needed one is missed.
    fn trailing_from(
        &self,
        model: &Model,
        vehicle: &Vehicle,
        from: u32,
        mut time: f64,
        first: usize,
    ) -> f64 {
        let home = model.time(vehicle.profile, from, vehicle.end_loc);
        for node in &self.nodes[first - 1..] {
            if let Node::Break(b) = node {
                let rest = vehicle.breaks[*b as usize];
                if time + home <= rest.earliest {
                    continue;
                }
                let start = time.max(rest.earliest);
                if start > rest.latest {
                    return f64::INFINITY;
                }
                time = start + rest.duration;
            }
        }
        time
    }

    /// Whether node `index` is a trailing break the team skips.
    pub fn is_skipped(&self, index: usize) -> bool {
        self.skipped.get(index).copied().unwrap_or(false)
    }

    /// Put a task before node `position - 1` (position as in [`Insertion`]).
    pub fn insert(&mut self, model: &Model, task_index: u32, position: usize) {
        self.nodes.insert(position - 1, Node::Task(task_index));
        self.update(model);
    }

    /// Task indices on the route after the fixed prefix, with their node index.
    pub fn movable_tasks(&self, out: &mut Vec<(usize, u32)>) {
        out.clear();
        out.extend(
            self.nodes
                .iter()
                .enumerate()
                .skip(self.fixed_prefix)
                .filter_map(|(i, node)| match node {
                    Node::Task(t) => Some((i, *t)),
                    Node::Break(_) => None,
                }),
        );
    }

    /// Departure from each node and arrival at the end, for reporting.
    pub fn schedule(&self) -> (&[u32], &[f64]) {
        (&self.loc, &self.departure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Problem;

    fn model(json: &str) -> Model {
        Model::compile(&Problem::from_json(json).unwrap())
    }

    const LINE: &str = r#"{
        "travel": {"model": "euclidean"},
        "teams": [{"id": "t", "start": {"x": 0, "y": 0},
                   "shifts": [{"date": "2026-11-23", "start": 0, "end": 100,
                               "breaks": [{"earliest": 30, "latest": 40, "minutes": 10}]}]}],
        "jobs": [
            {"id": "a", "location": {"x": 10, "y": 0}, "service_minutes": 5},
            {"id": "b", "location": {"x": 20, "y": 0}, "service_minutes": 5,
             "time_windows": [{"start": 22, "end": 25}]}
        ]}"#;

    #[test]
    fn insertion_respects_windows_and_the_break() {
        let model = model(LINE);
        let mut rng = Rng::new(1);
        let mut route = Route::new(&model, 0);
        let a = route.best_insertion(&model, 0, 0.0, &mut rng).unwrap();
        assert_eq!(a.cost, 20.0);
        route.insert(&model, 0, a.position);
        assert!(route.feasible);
        // b must start in 22..25: first, a would end too late for the break; after a it fits,
        // but only before the break.
        let b = route.best_insertion(&model, 1, 0.0, &mut rng).unwrap();
        route.insert(&model, 1, b.position);
        assert!(route.feasible, "{:?}", route.nodes);
        assert_eq!(
            route.nodes,
            vec![Node::Task(0), Node::Task(1), Node::Break(0)]
        );
        assert_eq!(route.distance, 40.0);
        assert_eq!(route.arrival_at_end, 30.0 + 10.0 + 20.0);
    }

    #[test]
    fn a_closed_window_rejects_every_position() {
        let json = LINE.replace(r#""start": 22, "end": 25"#, r#""start": 0, "end": 5"#);
        let model = model(&json);
        let mut rng = Rng::new(1);
        let route = Route::new(&model, 0);
        assert!(route.best_insertion(&model, 1, 0.0, &mut rng).is_none());
    }
}
