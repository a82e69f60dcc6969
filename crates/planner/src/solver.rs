//! Search: regret insertion builds a first plan, then slack-induced string removal (SISR,
//! Christiaens & Vanden Berghe 2020) ruins and recreates it under simulated annealing, keeping
//! the best plan seen. The budget is checked every iteration, so the search is anytime.

use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::rng::Rng;
use crate::route::{Node, Route};
use crate::solution::StopReason;

/// Search settings that are not part of the problem.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SolveOptions {
    pub seed: u64,
    /// Stop after this many ruin-and-recreate iterations.
    pub iteration_limit: Option<u64>,
    /// Wall-clock limit in milliseconds. The planner never reads a clock: callers turn this
    /// into a [`Budget`] (the CLI, the bench harness and the service do).
    pub time_limit_ms: Option<u64>,
    /// Searches run side by side on this many threads, sharing the best plan every
    /// [`EXCHANGE_EVERY`] iterations; the same seed and thread count give the same plan under
    /// an iteration limit.
    pub threads: usize,
    /// Stop before the limits once the search has stopped improving (see
    /// [`STALL_MIN_ITERATIONS`]).
    pub stop_when_stalled: bool,
    /// Hotspots: members at most this many metres apart chain into one place.
    pub hotspot_radius_m: f64,
    /// Hotspots: fewest requests that make a place worth a pop-up service.
    pub hotspot_min_jobs: usize,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            seed: 1,
            iteration_limit: None,
            time_limit_ms: None,
            threads: 1,
            stop_when_stalled: true,
            hotspot_radius_m: 400.0,
            hotspot_min_jobs: 6,
        }
    }
}

/// With several threads, how many iterations each runs between looks at the others' best.
pub const EXCHANGE_EVERY: u64 = 1_000;

/// Iterations when neither an iteration limit nor a budget ends the search.
pub const DEFAULT_ITERATIONS: u64 = 20_000;

/// How much of the search's allowance is spent, from the caller: a deadline, a cancel flag.
pub trait Budget: Sync {
    /// 0 at the start; 1 or more means stop now.
    fn used(&self) -> f64;
}

/// No outside limit: the iteration limit alone ends the search.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl Budget for Unlimited {
    fn used(&self) -> f64 {
        0.0
    }
}

impl<F: Fn() -> f64 + Sync> Budget for F {
    fn used(&self) -> f64 {
        self()
    }
}

/// The search found a better plan than any before: what a caller may show while it waits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Improvement {
    /// Ruin-and-recreate iterations done so far (0: the first plan, before any).
    pub iteration: u64,
    pub cost: f64,
    /// Visits on routes.
    pub assigned: usize,
}

/// Told each time the search improves on its best plan. It only listens: nothing it does can
/// change the search, so a solve gives the same plan with or without one.
pub trait Progress: Sync {
    fn improved(&self, improvement: &Improvement);
}

/// Nobody listening.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn improved(&self, _: &Improvement) {}
}

impl<F: Fn(&Improvement) + Sync> Progress for F {
    fn improved(&self, improvement: &Improvement) {
        self(improvement);
    }
}

const NONE: u32 = u32::MAX;
/// SISR: average number of removed tasks, longest string, split-string chance.
const AVERAGE_REMOVED: f64 = 10.0;
const MAX_STRING: f64 = 10.0;
const SPLIT_RATE: f64 = 0.5;
const SPLIT_DEPTH: f64 = 0.01;
const BLINK_RATE: f64 = 0.01;
/// Recreate looks only near a task once it has more candidate routes than this.
const NEAR_ROUTES_ABOVE: usize = 60;
/// How many of a task's nearest neighbours name the routes worth trying.
const NEAR_NEIGHBOURS: usize = 40;

#[derive(Debug)]
pub(crate) struct State {
    pub routes: Vec<Route>,
    pub route_of: Vec<u32>,
    pub unassigned: Vec<u32>,
    pub cost: f64,
}

impl Clone for State {
    fn clone(&self) -> Self {
        State {
            routes: self.routes.clone(),
            route_of: self.route_of.clone(),
            unassigned: self.unassigned.clone(),
            cost: self.cost,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        for (route, from) in self.routes.iter_mut().zip(&source.routes) {
            route.clone_from(from);
        }
        self.route_of.clone_from(&source.route_of);
        self.unassigned.clone_from(&source.unassigned);
        self.cost = source.cost;
    }
}

impl State {
    fn total_cost(&self, model: &Model) -> f64 {
        self.routes.iter().map(|r| r.cost(model)).sum::<f64>()
            + self
                .unassigned
                .iter()
                .map(|&t| model.tasks[t as usize].unassigned_cost)
                .sum::<f64>()
    }

    pub(crate) fn improvement(&self, model: &Model, iteration: u64) -> Improvement {
        let assigned = self
            .routes
            .iter()
            .flat_map(|r| &r.nodes)
            .map(|node| match node {
                Node::Task(t) => model.tasks[*t as usize].jobs.len(),
                Node::Break(_) => 0,
            })
            .sum();
        Improvement {
            iteration,
            cost: self.cost,
            assigned,
        }
    }

    /// Copy the routes named in `dirty` (and everything small) from `source`.
    fn sync_from(&mut self, source: &State, dirty: &[u32]) {
        for &v in dirty {
            self.routes[v as usize].clone_from(&source.routes[v as usize]);
            for node in &source.routes[v as usize].nodes {
                if let Node::Task(t) = node {
                    self.route_of[*t as usize] = v;
                }
            }
        }
        for &t in &source.unassigned {
            self.route_of[t as usize] = NONE;
        }
        self.unassigned.clone_from(&source.unassigned);
        self.cost = source.cost;
    }
}

/// Iterations without a better plan after which a search stops on its own, at the least.
pub const STALL_MIN_ITERATIONS: u64 = 20_000;
/// A search stops once it has gone this many times as long without a better plan as it took
/// to find the best one.
pub const STALL_FACTOR: u64 = 2;

/// The stall rule for a search at `iteration` whose best last got better after `improved_at`.
pub(crate) fn stalled(iteration: u64, improved_at: u64) -> bool {
    iteration - improved_at >= (STALL_FACTOR * improved_at).max(STALL_MIN_ITERATIONS)
}

/// One simulated-annealing walk: the best plan seen, the accepted one, the one being tried.
pub(crate) struct Walk {
    pub best: State,
    current: State,
    work: State,
    pub iteration: u64,
    /// The iteration after which `best` last got better.
    pub improved_at: u64,
    t_start: f64,
    t_end: f64,
    dirty: Vec<u32>,
}

impl Walk {
    /// The stall rule: [`STALL_FACTOR`] times as many iterations without a better plan as it
    /// took to find the best one, and at least [`STALL_MIN_ITERATIONS`]. Measured on Solomon, Gehring & Homberger
    /// and the generated Kulon Progo problem (README, "Stopping early").
    pub fn stalled(&self) -> bool {
        stalled(self.iteration, self.improved_at)
    }

    /// Continue from a better plan found elsewhere (another thread).
    pub fn adopt(&mut self, better: &State) {
        self.best.clone_from(better);
        self.current.clone_from(better);
        self.work.clone_from(better);
        self.improved_at = self.iteration;
    }
}

/// Whether search may place the task at all.
fn searchable(model: &Model, task: u32) -> bool {
    let task = &model.tasks[task as usize];
    task.rejected.is_none() && task.fixed_at.is_none() && !task.candidates.is_empty()
}

/// Best vehicle and position for a task over all its candidates; cost includes the task's
/// extra cost there and the vehicle's fixed cost if the route is empty.
fn best_placement(
    model: &Model,
    state: &State,
    task: u32,
    blink: f64,
    rng: &mut Rng,
) -> Option<(f64, u32, usize)> {
    let mut best: Option<(f64, u32, usize)> = None;
    for &(v, extra) in &model.tasks[task as usize].candidates {
        let route = &state.routes[v as usize];
        if let Some(insertion) = route.best_insertion(model, task, blink, rng) {
            let fixed = if route.tasks == 0 {
                model.vehicles[v as usize].fixed_cost
            } else {
                0.0
            };
            let cost = insertion.cost + extra + fixed;
            if best.is_none_or(|b| cost < b.0) {
                best = Some((cost, v, insertion.position));
            }
        }
    }
    best
}

pub(crate) struct Search<'m> {
    model: &'m Model,
    rng: Rng,
    removed: Vec<u32>,
    ruined: Vec<u32>,
    scratch: Vec<(usize, u32)>,
    keyed: Vec<(u8, f64, u32)>,
    is_removed: Vec<bool>,
    /// Per vehicle, the last `mark` that visited it (near_placement's seen-set).
    marked: Vec<u32>,
    mark: u32,
}

impl<'m> Search<'m> {
    pub fn new(model: &'m Model, seed: u64) -> Search<'m> {
        Search {
            model,
            rng: Rng::new(seed),
            removed: Vec::new(),
            ruined: Vec::new(),
            scratch: Vec::new(),
            keyed: Vec::new(),
            is_removed: vec![false; model.tasks.len()],
            marked: vec![0; model.vehicles.len()],
            mark: 0,
        }
    }

    /// Empty routes, positioned pins in place, then regret-2 insertion of everything else.
    pub fn construct(&mut self) -> State {
        let model = self.model;
        let mut state = State {
            routes: (0..model.vehicles.len() as u32)
                .map(|v| Route::new(model, v))
                .collect(),
            route_of: vec![NONE; model.tasks.len()],
            unassigned: Vec::new(),
            cost: 0.0,
        };
        self.place_fixed(&mut state);
        self.regret_insert(&mut state);
        state.cost = state.total_cost(model);
        state
    }

    fn place_fixed(&mut self, state: &mut State) {
        let model = self.model;
        let mut fixed: Vec<(u32, usize, u32)> = model
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.rejected.is_none() && !t.candidates.is_empty())
            .filter_map(|(i, t)| t.fixed_at.map(|(v, p)| (v, p, i as u32)))
            .collect();
        fixed.sort_unstable();
        let mut start = 0;
        while start < fixed.len() {
            let v = fixed[start].0;
            let end = start + fixed[start..].iter().take_while(|f| f.0 == v).count();
            let tasks: Vec<u32> = fixed[start..end].iter().map(|f| f.2).collect();
            start = end;
            let route = &mut state.routes[v as usize];
            let breaks: Vec<Node> = route.nodes.clone();
            // Keep as many leading pins as can be kept, with the breaks wherever they fit.
            let mut kept = tasks.len();
            loop {
                let mut placed = false;
                for break_at in (0..=kept).rev() {
                    let mut nodes: Vec<Node> =
                        tasks[..kept].iter().map(|&t| Node::Task(t)).collect();
                    for (k, node) in breaks.iter().enumerate() {
                        nodes.insert((break_at + k).min(nodes.len()), *node);
                    }
                    route.nodes = nodes;
                    route.update(model);
                    if route.feasible {
                        route.fixed_prefix = if break_at == kept {
                            kept
                        } else {
                            kept + breaks.len()
                        };
                        placed = true;
                        break;
                    }
                }
                if placed || kept == 0 {
                    break;
                }
                kept -= 1;
            }
            if !route.feasible {
                route.nodes = breaks;
                route.fixed_prefix = 0;
                route.update(model);
            }
            for (k, &t) in tasks.iter().enumerate() {
                if k < kept && route.feasible {
                    state.route_of[t as usize] = v;
                } else {
                    state.unassigned.push(t);
                }
            }
        }
    }

    fn regret_insert(&mut self, state: &mut State) {
        let model = self.model;
        let pending: Vec<u32> = (0..model.tasks.len() as u32)
            .filter(|&t| searchable(model, t))
            .collect();
        // Per pending task and candidate vehicle: the cheapest insertion cost there.
        let mut costs: Vec<Vec<f64>> = Vec::with_capacity(pending.len());
        let mut watchers: Vec<Vec<(u32, u32)>> = vec![Vec::new(); model.vehicles.len()];
        for (p, &t) in pending.iter().enumerate() {
            let task = &model.tasks[t as usize];
            let mut row = Vec::with_capacity(task.candidates.len());
            for (c, &(v, _)) in task.candidates.iter().enumerate() {
                row.push(self.placement_cost(state, t, c));
                watchers[v as usize].push((p as u32, c as u32));
            }
            costs.push(row);
        }
        let mut alive = vec![true; pending.len()];
        let mut remaining = pending.len();
        while remaining > 0 {
            let mut chosen: Option<(usize, (u8, f64, f64))> = None;
            for (p, row) in costs.iter().enumerate() {
                if !alive[p] {
                    continue;
                }
                let (mut first, mut second) = (f64::INFINITY, f64::INFINITY);
                for &cost in row {
                    if cost < first {
                        second = first;
                        first = cost;
                    } else if cost < second {
                        second = cost;
                    }
                }
                let rank = model.tasks[pending[p] as usize].priority as u8;
                let regret = if first.is_finite() {
                    second.min(1e15) - first
                } else {
                    f64::NEG_INFINITY
                };
                let key = (rank, regret, -first);
                let better = match &chosen {
                    None => true,
                    Some((_, best)) => {
                        key.0 > best.0
                            || (key.0 == best.0
                                && (key.1 > best.1 || (key.1 == best.1 && key.2 > best.2)))
                    }
                };
                if better {
                    chosen = Some((p, key));
                }
            }
            let Some((p, _)) = chosen else { break };
            alive[p] = false;
            remaining -= 1;
            let t = pending[p];
            match best_placement(model, state, t, 0.0, &mut self.rng) {
                Some((_, v, position)) => {
                    state.routes[v as usize].insert(model, t, position);
                    state.route_of[t as usize] = v;
                    for &(q, c) in &watchers[v as usize] {
                        if alive[q as usize] {
                            costs[q as usize][c as usize] =
                                self.placement_cost(state, pending[q as usize], c as usize);
                        }
                    }
                }
                None => state.unassigned.push(t),
            }
        }
    }

    fn placement_cost(&mut self, state: &State, task: u32, candidate: usize) -> f64 {
        let model = self.model;
        let (v, extra) = model.tasks[task as usize].candidates[candidate];
        let route = &state.routes[v as usize];
        match route.best_insertion(model, task, 0.0, &mut self.rng) {
            Some(insertion) => {
                let fixed = if route.tasks == 0 {
                    model.vehicles[v as usize].fixed_cost
                } else {
                    0.0
                };
                insertion.cost + extra + fixed
            }
            None => f64::INFINITY,
        }
    }

    /// A walk from `initial`, or None when no task can be moved at all.
    pub fn start_walk(&self, initial: &State) -> Option<Walk> {
        let model = self.model;
        let searchable_tasks = (0..model.tasks.len() as u32)
            .filter(|&t| searchable(model, t))
            .count();
        if searchable_tasks == 0 {
            return None;
        }
        let used = || initial.routes.iter().filter(|r| r.tasks > 0);
        let arcs: usize = used().map(|r| r.tasks + 1).sum();
        let travel_cost: f64 = used()
            .map(|r| model.distance_weight * r.distance + model.time_weight * r.travel_time)
            .sum();
        let scale = if arcs > 0 && travel_cost > 0.0 {
            travel_cost / arcs as f64
        } else {
            1.0
        };
        // Temperatures relative to the average arc: tuned on the Solomon and Gehring &
        // Homberger sets (SISR's own 100 → 1 on Solomon's scale is about 10 → 0.1 arcs; runs
        // of a few seconds do better starting cooler).
        Some(Walk {
            best: initial.clone(),
            current: initial.clone(),
            work: initial.clone(),
            iteration: 0,
            improved_at: 0,
            t_start: 2.0 * scale,
            t_end: 0.005 * scale,
            dirty: Vec::new(),
        })
    }

    /// Ruin-and-recreate under simulated annealing until `pause` iterations are done, or the
    /// budget, the iteration limit or (with `stop_stalled`) the stall rule ends the walk.
    pub fn walk(
        &mut self,
        walk: &mut Walk,
        pause: u64,
        iteration_limit: u64,
        stop_stalled: bool,
        budget: &dyn Budget,
        listener: &dyn Progress,
    ) -> Option<StopReason> {
        let model = self.model;
        while walk.iteration < pause {
            if walk.iteration >= iteration_limit {
                return Some(StopReason::IterationLimit);
            }
            let used = budget.used();
            if used >= 1.0 {
                return Some(StopReason::TimeLimit);
            }
            if stop_stalled && walk.stalled() {
                return Some(StopReason::Stalled);
            }
            let progress = (walk.iteration as f64 / iteration_limit as f64).max(used);
            walk.dirty.clear();
            self.ruin(&mut walk.work, &mut walk.dirty);
            self.recreate(&mut walk.work, &mut walk.dirty);
            walk.work.cost = walk.work.total_cost(model);
            let temperature = walk.t_start * (walk.t_end / walk.t_start).powf(progress);
            let threshold = walk.current.cost - temperature * self.rng.unit().max(1e-300).ln();
            if walk.work.cost < threshold {
                walk.current.sync_from(&walk.work, &walk.dirty);
                if walk.current.cost < walk.best.cost - 1e-9 {
                    walk.best.clone_from(&walk.current);
                    walk.improved_at = walk.iteration + 1;
                    listener.improved(&walk.best.improvement(model, walk.improved_at));
                }
            } else {
                walk.work.sync_from(&walk.current, &walk.dirty);
            }
            walk.iteration += 1;
        }
        None
    }

    fn ruin(&mut self, state: &mut State, dirty: &mut Vec<u32>) {
        let model = self.model;
        self.removed.clear();
        self.ruined.clear();
        let (mut used, mut assigned) = (0usize, 0usize);
        for route in state.routes.iter().filter(|r| r.tasks > 0) {
            used += 1;
            assigned += route.tasks;
        }
        if used == 0 {
            return;
        }
        let average_len = assigned as f64 / used as f64;
        let string_max = MAX_STRING.min(average_len);
        let strings_max = 4.0 * AVERAGE_REMOVED / (1.0 + string_max) - 1.0;
        let strings = (self.rng.unit() * strings_max).floor() as usize + 1;
        // A random assigned, movable task seeds the ruin.
        let mut seed = None;
        for _ in 0..32 {
            let t = self.rng.below(model.tasks.len()) as u32;
            if state.route_of[t as usize] != NONE && model.tasks[t as usize].fixed_at.is_none() {
                seed = Some(t);
                break;
            }
        }
        let Some(seed) = seed else { return };
        let neighbours = &model.neighbours[seed as usize];
        for &c in std::iter::once(&seed).chain(neighbours.iter()) {
            if self.ruined.len() >= strings {
                break;
            }
            let v = state.route_of[c as usize];
            if v == NONE || self.ruined.contains(&v) || self.is_removed[c as usize] {
                continue;
            }
            let route = &state.routes[v as usize];
            route.movable_tasks(&mut self.scratch);
            let Some(at) = self.scratch.iter().position(|&(_, t)| t == c) else {
                continue;
            };
            let cardinality = self.scratch.len();
            let length_max = string_max.min(cardinality as f64);
            let length = ((self.rng.unit() * length_max).floor() as usize + 1).min(cardinality);
            if self.rng.chance(SPLIT_RATE) && length > 1 && length < cardinality {
                // Split string: remove a string but keep a substring of it in place.
                let mut kept = 1;
                while length + kept < cardinality && !self.rng.chance(SPLIT_DEPTH) {
                    kept += 1;
                }
                let span = length + kept;
                let first = self.string_start(at, span, cardinality);
                let keep_from = first + self.rng.below(length + 1);
                for k in first..first + span {
                    if k < keep_from || k >= keep_from + kept {
                        self.mark_removed(self.scratch[k].1);
                    }
                }
            } else {
                let first = self.string_start(at, length, cardinality);
                for k in first..first + length {
                    self.mark_removed(self.scratch[k].1);
                }
            }
            self.ruined.push(v);
        }
        for &v in &self.ruined {
            let route = &mut state.routes[v as usize];
            let is_removed = &self.is_removed;
            route.nodes.retain(|node| match node {
                Node::Task(t) => !is_removed[*t as usize],
                Node::Break(_) => true,
            });
            route.update(model);
            if !route.feasible {
                // Only a travel matrix without the triangle inequality gets here: empty it.
                let prefix = route.fixed_prefix;
                let mut k = 0;
                route.nodes.retain(|node| {
                    k += 1;
                    match node {
                        Node::Task(t) if k > prefix => {
                            self.removed.push(*t);
                            false
                        }
                        _ => true,
                    }
                });
                route.update(model);
            }
            dirty.push(v);
        }
        for &t in &self.removed {
            self.is_removed[t as usize] = false;
            state.route_of[t as usize] = NONE;
        }
    }

    /// Best placement among the routes that hold one of the task's nearest neighbours, and
    /// empty routes; all candidates when there are few, or when none of those can take it.
    /// On large problems this is most of the speed: a visit rarely belongs in a route that
    /// passes nowhere near it.
    fn near_placement(&mut self, state: &State, task: u32) -> Option<(f64, u32, usize)> {
        let model = self.model;
        let candidates = &model.tasks[task as usize].candidates;
        if candidates.len() <= NEAR_ROUTES_ABOVE {
            return best_placement(model, state, task, BLINK_RATE, &mut self.rng);
        }
        self.mark = self.mark.wrapping_add(1);
        let mark = self.mark;
        let mut best: Option<(f64, u32, usize)> = None;
        let mut consider = |search: &mut Self, v: u32, extra: f64| {
            let route = &state.routes[v as usize];
            if let Some(insertion) = route.best_insertion(model, task, BLINK_RATE, &mut search.rng)
            {
                let fixed = if route.tasks == 0 {
                    model.vehicles[v as usize].fixed_cost
                } else {
                    0.0
                };
                let cost = insertion.cost + extra + fixed;
                if best.is_none_or(|b| cost < b.0) {
                    best = Some((cost, v, insertion.position));
                }
            }
        };
        for &n in model.neighbours[task as usize].iter().take(NEAR_NEIGHBOURS) {
            let v = state.route_of[n as usize];
            if v == NONE || self.marked[v as usize] == mark {
                continue;
            }
            self.marked[v as usize] = mark;
            if let Ok(k) = candidates.binary_search_by_key(&v, |c| c.0) {
                consider(self, v, candidates[k].1);
            }
        }
        for &(v, extra) in candidates {
            if state.routes[v as usize].tasks == 0 && self.marked[v as usize] != mark {
                consider(self, v, extra);
            }
        }
        best.or_else(|| best_placement(model, state, task, BLINK_RATE, &mut self.rng))
    }

    fn string_start(&mut self, at: usize, length: usize, cardinality: usize) -> usize {
        let lowest = (at + 1).saturating_sub(length);
        let highest = at.min(cardinality - length);
        lowest + self.rng.below(highest - lowest + 1)
    }

    fn mark_removed(&mut self, task: u32) {
        if !self.is_removed[task as usize] {
            self.is_removed[task as usize] = true;
            self.removed.push(task);
        }
    }

    fn recreate(&mut self, state: &mut State, dirty: &mut Vec<u32>) {
        let model = self.model;
        self.removed.append(&mut state.unassigned);
        let order = self.rng.below(11);
        let depot = |t: u32| {
            let task = &model.tasks[t as usize];
            task.candidates.first().map_or(0.0, |&(v, _)| {
                model.distance(0, model.vehicles[v as usize].start_loc, task.loc)
            })
        };
        // SISR's orders (random 4, demand 4, far 2, close 1), urgent work always first.
        let mut keyed = std::mem::take(&mut self.keyed);
        keyed.clear();
        keyed.extend(self.removed.iter().map(|&t| {
            let task = &model.tasks[t as usize];
            let key = match order {
                0..=3 => self.rng.unit(),
                4..=7 => -task.demand - task.service * 1e-6,
                8..=9 => -depot(t),
                _ => depot(t),
            };
            (task.priority as u8, key, t)
        }));
        keyed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
        for &(_, _, t) in &keyed {
            match self.near_placement(state, t) {
                Some((_, v, position)) => {
                    state.routes[v as usize].insert(model, t, position);
                    state.route_of[t as usize] = v;
                    if !dirty.contains(&v) {
                        dirty.push(v);
                    }
                }
                None => state.unassigned.push(t),
            }
        }
        self.removed.clear();
        self.keyed = keyed;
    }
}
