//! Jemput's route planner: a pure library (no I/O, no clock, no unseeded randomness).
//!
//! Problem in ([`Problem`], plain serde), routes out ([`Solution`]): visits with several time
//! windows, skills, shifts with breaks, allowed dates, priorities, pins and groups, for teams
//! with route limits. The service, the `jemput plan` / `jemput bench` commands and the tests all
//! call [`solve`]; [`checker::check`] verifies any solution independently of the solver.

mod backlog;
pub mod checker;
pub mod cluster;
mod error;
pub mod evaluate;
mod model;
mod parallel;
pub mod problem;
mod rng;
mod route;
pub mod scientific;
pub mod solution;
mod solver;
pub mod travel;

pub use backlog::{CONSIDER_AT_LEAST, CONSIDER_AT_MOST};
pub use error::ProblemError;
pub use evaluate::{evaluate, Evaluation, RouteIssue};
pub use problem::{
    Break, Date, DatedWindows, Job, Location, Minutes, ObjectiveWeights, Pin, PreviousAssignment,
    Priority, PriorityCosts, Problem, Shift, Team, TimeWindow, TravelSpec, VehicleProfile,
};
pub use solution::{
    Hotspot, Kpis, LateVisit, RoutePlan, SearchStats, Solution, Stop, StopReason, TeamKpi,
    UnassignedJob, UnassignedReason,
};
pub use solver::{
    Budget, Improvement, Progress, Silent, SolveOptions, Unlimited, DEFAULT_ITERATIONS,
    EXCHANGE_EVERY, STALL_MIN_ITERATIONS,
};
pub use travel::{Euclidean, GreatCircle, MatrixTravel, TravelModel};

use model::Model;
use route::{Node, Route};
use solver::{Search, State};

/// Minutes past a promised window below which a visit counts as on time (floating-point
/// noise); the checker and [`evaluate`] use the same.
pub const LATE_BY_MORE_THAN: f64 = 1e-6;

/// Plan routes for a problem. Stops at the iteration limit (or [`DEFAULT_ITERATIONS`] when
/// the budget never runs out), when `budget.used()` reaches 1, or (unless turned off) when
/// the search has stopped improving, and returns the best plan seen. The same problem,
/// options, seed and thread count give the same plan unless the budget ends the search.
///
/// A backlog of more than [`CONSIDER_AT_LEAST`] jobs and a few times what the routes hold is
/// cut first to the jobs that come first (priority, deadline, date, distance; at most
/// [`CONSIDER_AT_MOST`]); the others are reported `routes_full`, and hotspots are those of the
/// jobs considered.
pub fn solve(
    problem: &Problem,
    options: &SolveOptions,
    budget: &dyn Budget,
) -> Result<Solution, ProblemError> {
    solve_with_progress(problem, options, budget, &Silent)
}

/// [`solve`], telling `progress` each time the best plan improves (the first plan included).
/// The plan is the same as [`solve`]'s: the listener cannot steer the search.
pub fn solve_with_progress(
    problem: &Problem,
    options: &SolveOptions,
    budget: &dyn Budget,
    progress: &dyn Progress,
) -> Result<Solution, ProblemError> {
    problem.validate()?;
    let Some(selection) = backlog::select(problem) else {
        return solve_whole(problem, options, budget, progress);
    };
    let mut solution = solve_whole(&selection.problem, options, budget, progress)?;
    solution.unassigned.extend(selection.left_out);
    solution.kpis.jobs = problem.jobs.len();
    solution.kpis.unassigned = solution.unassigned.len();
    Ok(solution)
}

/// Plan every job of the problem.
fn solve_whole(
    problem: &Problem,
    options: &SolveOptions,
    budget: &dyn Budget,
    progress: &dyn Progress,
) -> Result<Solution, ProblemError> {
    let model = Model::compile(problem);
    let mut search = Search::new(&model, options.seed);
    let initial = search.construct();
    progress.improved(&initial.improvement(&model, 0));
    let initial_cost = initial.cost;
    let iteration_limit = options
        .iteration_limit
        .unwrap_or(if options.time_limit_ms.is_some() {
            u64::MAX
        } else {
            DEFAULT_ITERATIONS
        });
    let threads = options.threads.max(1);
    let (best, iterations, stopped) = match search.start_walk(&initial) {
        None => (initial, 0, StopReason::NothingToSearch),
        Some(mut walk) if threads == 1 => {
            let stopped = search.walk(
                &mut walk,
                u64::MAX,
                iteration_limit,
                options.stop_when_stalled,
                budget,
                progress,
            );
            let iterations = walk.iteration;
            (
                walk.best,
                iterations,
                stopped.unwrap_or(StopReason::IterationLimit),
            )
        }
        Some(_) => parallel::improve(&model, &initial, options, iteration_limit, budget, progress),
    };
    let mut solution = report(problem, &model, &best);
    solution.hotspots = cluster::hotspots(
        &problem.jobs,
        options.hotspot_radius_m,
        options.hotspot_min_jobs,
    );
    solution.search = SearchStats {
        seed: options.seed,
        iterations,
        initial_cost,
        final_cost: best.cost,
        threads,
        stopped,
        considered: problem.jobs.len(),
    };
    Ok(solution)
}

fn report(problem: &Problem, model: &Model, state: &State) -> Solution {
    let mut routes = Vec::new();
    let mut kpis = Kpis {
        jobs: problem.jobs.len(),
        cost: state.cost,
        ..Kpis::default()
    };
    let mut team_kpis: Vec<TeamKpi> = problem
        .teams
        .iter()
        .map(|team| TeamKpi {
            team: team.id.clone(),
            routes: 0,
            visits: 0,
            distance: 0.0,
            working_minutes: 0.0,
            shift_minutes: team
                .shifts
                .iter()
                .map(|s| {
                    (s.end.0 - s.start.0 - s.breaks.iter().map(|b| b.minutes).sum::<f64>()).max(0.0)
                })
                .sum(),
            utilisation: 0.0,
        })
        .collect();
    let mut late = Vec::new();
    for route in state.routes.iter().filter(|r| r.tasks > 0) {
        let vehicle = &model.vehicles[route.vehicle as usize];
        let plan = route_plan(problem, model, route, &mut late);
        let team = &mut team_kpis[vehicle.team];
        team.routes += 1;
        team.visits += plan.visits;
        team.distance += plan.distance;
        let service: f64 = route
            .nodes
            .iter()
            .map(|n| match n {
                Node::Task(t) => model.tasks[*t as usize].service,
                Node::Break(_) => 0.0,
            })
            .sum();
        team.working_minutes += service + plan.travel_minutes;
        kpis.service_minutes += service;
        kpis.assigned += plan.visits;
        kpis.routes += 1;
        kpis.distance += plan.distance;
        kpis.travel_minutes += plan.travel_minutes;
        routes.push(plan);
    }
    for team in &mut team_kpis {
        if team.shift_minutes > 0.0 {
            team.utilisation = team.working_minutes / team.shift_minutes;
        }
    }
    let worked: Vec<f64> = team_kpis
        .iter()
        .filter(|t| t.shift_minutes > 0.0)
        .map(|t| t.working_minutes)
        .collect();
    if let (Some(most), Some(least)) = (
        worked.iter().copied().reduce(f64::max),
        worked.iter().copied().reduce(f64::min),
    ) {
        kpis.working_minutes_spread = most - least;
    }
    kpis.teams = team_kpis;

    let mut unassigned = Vec::new();
    let mut explained = vec![false; model.tasks.len()];
    for (t, task) in model.tasks.iter().enumerate() {
        let placed = state
            .routes
            .iter()
            .any(|r| r.nodes.contains(&Node::Task(t as u32)));
        if placed || explained[t] {
            continue;
        }
        explained[t] = true;
        let (reason, detail) = explain(problem, model, t);
        for &j in &task.jobs {
            unassigned.push(UnassignedJob {
                job: problem.jobs[j].id.clone(),
                reason,
                detail: detail.clone(),
            });
        }
    }
    kpis.unassigned = unassigned.len();
    kpis.late_visits = late.len();
    kpis.late_minutes = late.iter().map(|l| l.minutes).sum();
    Solution {
        routes,
        unassigned,
        hotspots: Vec::new(),
        kpis,
        search: SearchStats::default(),
        late,
    }
}

/// The route as reported; visits after their promised window are added to `late`.
fn route_plan(
    problem: &Problem,
    model: &Model,
    route: &Route,
    late: &mut Vec<LateVisit>,
) -> RoutePlan {
    let vehicle = &model.vehicles[route.vehicle as usize];
    let (loc, departure) = route.schedule();
    let mut stops = Vec::new();
    let mut visits = 0;
    for (i, node) in route.nodes.iter().enumerate() {
        let position = i + 1;
        let leave = departure[position - 1];
        match *node {
            Node::Break(_) if route.is_skipped(i) => {}
            Node::Task(t) => {
                let task = &model.tasks[t as usize];
                let arrival = leave + model.time(vehicle.profile, loc[position - 1], task.loc);
                let start = task.start_for(vehicle.day, arrival).unwrap_or(arrival);
                let mut here = arrival;
                for (k, &j) in task.jobs.iter().enumerate() {
                    let job = &problem.jobs[j];
                    let begin = start + task.offsets[k];
                    if let Some(promise) = &job.promised_window {
                        if begin > promise.end.0 + LATE_BY_MORE_THAN {
                            late.push(LateVisit {
                                job: job.id.clone(),
                                promised_end: promise.end.0,
                                start: begin,
                                minutes: begin - promise.end.0,
                            });
                        }
                    }
                    stops.push(Stop::Visit {
                        job: job.id.clone(),
                        arrival: here,
                        wait: begin - here,
                        start: begin,
                        end: begin + job.service_minutes,
                    });
                    here = begin + job.service_minutes;
                    visits += 1;
                }
            }
            Node::Break(b) => {
                let rest = vehicle.breaks[b as usize];
                let start = leave.max(rest.earliest);
                stops.push(Stop::Break {
                    start,
                    end: start + rest.duration,
                });
            }
        }
    }
    RoutePlan {
        team: problem.teams[vehicle.team].id.clone(),
        date: vehicle.date.clone(),
        start: vehicle.start_time,
        end: route.arrival_at_end,
        stops,
        distance: route.distance,
        travel_minutes: route.travel_time,
        duration_minutes: route.arrival_at_end - vehicle.start_time,
        visits,
    }
}

/// Why a task is left out: the first reason that applies, from the most basic.
fn explain(problem: &Problem, model: &Model, t: usize) -> (UnassignedReason, String) {
    let task = &model.tasks[t];
    if let Some((reason, detail)) = &task.rejected {
        return (*reason, detail.clone());
    }
    let first = &problem.jobs[task.jobs[0]];
    if let Some(pin) = &first.pin {
        let why = if task.candidates.is_empty() {
            format!(
                "team {} has no shift on {}, lacks a skill, or the date is outside the job's dates",
                pin.team, pin.date
            )
        } else {
            format!("team {}'s route on {} cannot take it", pin.team, pin.date)
        };
        return (UnassignedReason::PinInfeasible, why);
    }
    let skilled: Vec<usize> = (0..problem.teams.len())
        .filter(|&k| task.skills & !model.team_skills[k] == 0)
        .collect();
    if skilled.is_empty() {
        return (
            UnassignedReason::NoSkilledTeam,
            "no team has every skill the visit needs".to_string(),
        );
    }
    let (earliest, deadline) = &task.allowed_dates;
    let in_dates = |v: &model::Vehicle| {
        skilled.contains(&v.team)
            && !task.windows_on(v.day).is_empty()
            && earliest.as_ref().is_none_or(|e| v.date >= *e)
            && deadline.as_ref().is_none_or(|d| v.date <= *d)
    };
    let dated: Vec<&model::Vehicle> = model.vehicles.iter().filter(|v| in_dates(v)).collect();
    if dated.is_empty() {
        return (
            UnassignedReason::NoShiftOnAllowedDates,
            "no team with the skills works between the earliest date and the deadline".to_string(),
        );
    }
    if dated.iter().all(|v| task.demand > v.capacity) {
        return (
            UnassignedReason::ExceedsCapacity,
            "the load exceeds every capable vehicle".to_string(),
        );
    }
    let mut rng = rng::Rng::new(0);
    let reachable = task.candidates.iter().any(|&(v, _)| {
        let empty = Route::new(model, v);
        empty.feasible
            && empty
                .best_insertion(model, t as u32, 0.0, &mut rng)
                .is_some()
    });
    if !reachable {
        return (
            UnassignedReason::TimeWindowUnreachable,
            "no capable team can reach it inside its time windows and shift, even with no other \
             visits"
                .to_string(),
        );
    }
    (
        UnassignedReason::RoutesFull,
        "every route that could take it is full".to_string(),
    )
}
