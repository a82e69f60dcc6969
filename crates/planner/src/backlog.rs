//! A backlog far beyond what the routes can hold (a national rollout, a catch-up after a long
//! pause) is not planned whole: the travel matrices alone grow with the square of the jobs
//! (100,000 jobs would need 80 GB). The search considers the jobs that matter most, a few
//! times what the routes can take; the rest wait for a later plan and are reported as such.
//!
//! Order of consideration: jobs the plan must keep (pinned, or in the plan being re-planned),
//! then by priority, the earlier deadline, the earlier first date, the shorter way from the
//! nearest team that can serve it, and the order given (callers list older requests first).
//! Jobs that no team could serve at all are explained here, as the solver would.

use std::collections::{HashMap, HashSet};

use crate::problem::{Date, Problem, Team};
use crate::solution::{UnassignedJob, UnassignedReason};
use crate::travel::model_for;

/// The search considers at least this many jobs when there are that many.
pub const CONSIDER_AT_LEAST: usize = 1_000;
/// ... and this many times what the routes can hold, at a rough count ...
const CONSIDER_PER_PLACE: usize = 3;
/// ... and never more than this many (the matrices then stay near 100 MB per vehicle kind).
pub const CONSIDER_AT_MOST: usize = 3_000;

/// The jobs to plan, as a problem of their own, and the ones left for later.
pub(crate) struct Selection {
    pub problem: Problem,
    pub left_out: Vec<UnassignedJob>,
}

/// How many visits the routes can hold at most: per shift, its minutes over the mean
/// service time (travel only lowers it), capped by the team's visit limit.
fn places(problem: &Problem) -> usize {
    let jobs = problem.jobs.len().max(1) as f64;
    let mean_service =
        (problem.jobs.iter().map(|j| j.service_minutes).sum::<f64>() / jobs).max(1.0);
    problem
        .teams
        .iter()
        .flat_map(|team| team.shifts.iter().map(move |shift| (team, shift)))
        .map(|(team, shift)| {
            let minutes = (shift.end.0 - shift.start.0).max(0.0);
            let by_time = (minutes / mean_service).ceil() as usize;
            team.max_visits.map_or(by_time, |m| m.min(by_time))
        })
        .sum()
}

/// None when the problem is small enough to plan whole.
pub(crate) fn select(problem: &Problem) -> Option<Selection> {
    let limit = (CONSIDER_PER_PLACE * places(problem)).clamp(CONSIDER_AT_LEAST, CONSIDER_AT_MOST);
    if problem.jobs.len() <= limit {
        return None;
    }
    let travel = model_for(&problem.travel);
    let team_skills: Vec<HashSet<&str>> = problem
        .teams
        .iter()
        .map(|t| t.skills.iter().map(String::as_str).collect())
        .collect();
    let kept: HashSet<&str> = problem.previous.iter().map(|p| p.job.as_str()).collect();

    let mut left_out = Vec::new();
    let mut explained = vec![false; problem.jobs.len()];
    let mut ranked: Vec<(Rank<'_>, usize)> = Vec::with_capacity(problem.jobs.len());
    for (j, job) in problem.jobs.iter().enumerate() {
        let capable: Vec<&Team> = problem
            .teams
            .iter()
            .zip(&team_skills)
            .filter(|(_, skills)| job.skills.iter().all(|k| skills.contains(k.as_str())))
            .map(|(team, _)| team)
            .collect();
        let works_in_dates = |date: &Date| {
            job.earliest_date.as_ref().is_none_or(|e| date >= e)
                && job.deadline.as_ref().is_none_or(|d| date <= d)
                && job.windows_on(date).is_some()
        };
        let reach = capable
            .iter()
            .filter(|team| team.shifts.iter().any(|s| works_in_dates(&s.date)))
            .map(|team| travel.distance(&team.start, &job.location, &team.vehicle))
            .fold(f64::INFINITY, f64::min);
        let must = job.pin.is_some() || kept.contains(job.id.as_str());
        if !must && capable.is_empty() {
            explained[j] = true;
            left_out.push(UnassignedJob {
                job: job.id.clone(),
                reason: UnassignedReason::NoSkilledTeam,
                detail: "no team has every skill the visit needs".to_string(),
            });
        } else if !must && !reach.is_finite() {
            explained[j] = true;
            left_out.push(UnassignedJob {
                job: job.id.clone(),
                reason: UnassignedReason::NoShiftOnAllowedDates,
                detail: "no team with the skills works between the earliest date and the \
                         deadline"
                    .to_string(),
            });
        } else {
            let rank = Rank {
                must,
                priority: job.priority,
                deadline: job.deadline.as_ref(),
                earliest: job.earliest_date.as_ref(),
                reach,
            };
            ranked.push((rank, j));
        }
    }
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));

    // Whole groups, or none of a group.
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, job) in problem.jobs.iter().enumerate() {
        if let Some(group) = &job.group {
            members.entry(group.as_str()).or_default().push(j);
        }
    }
    let mut chosen = vec![false; problem.jobs.len()];
    let mut count = 0;
    for &(ref rank, j) in &ranked {
        if chosen[j] {
            continue;
        }
        if count >= limit && !rank.must {
            break;
        }
        let group = problem.jobs[j].group.as_deref();
        for &member in group
            .and_then(|g| members.get(g))
            .map_or(&[j][..], Vec::as_slice)
        {
            if !chosen[member] {
                chosen[member] = true;
                count += 1;
            }
        }
    }
    for (j, job) in problem.jobs.iter().enumerate() {
        if !chosen[j] && !explained[j] {
            left_out.push(UnassignedJob {
                job: job.id.clone(),
                reason: UnassignedReason::RoutesFull,
                detail: format!("waits for a later plan: {count} requests came first"),
            });
        }
    }
    let selected: HashSet<&str> = problem
        .jobs
        .iter()
        .zip(&chosen)
        .filter(|(_, &c)| c)
        .map(|(job, _)| job.id.as_str())
        .collect();
    Some(Selection {
        problem: Problem {
            jobs: problem
                .jobs
                .iter()
                .zip(&chosen)
                .filter(|(_, &c)| c)
                .map(|(job, _)| job.clone())
                .collect(),
            teams: problem.teams.clone(),
            travel: problem.travel.clone(),
            objective: problem.objective.clone(),
            previous: problem
                .previous
                .iter()
                .filter(|p| selected.contains(p.job.as_str()))
                .cloned()
                .collect(),
        },
        left_out,
    })
}

/// What comes first: smaller is considered sooner.
#[derive(Debug, PartialEq)]
struct Rank<'a> {
    must: bool,
    priority: crate::problem::Priority,
    deadline: Option<&'a Date>,
    earliest: Option<&'a Date>,
    reach: f64,
}

impl Eq for Rank<'_> {}

impl PartialOrd for Rank<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rank<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // No deadline comes after every deadline; no first date before every first date.
        let deadline = |r: &Self| (r.deadline.is_none(), r.deadline);
        other
            .must
            .cmp(&self.must)
            .then(other.priority.cmp(&self.priority))
            .then(deadline(self).cmp(&deadline(other)))
            .then(self.earliest.cmp(&other.earliest))
            .then(self.reach.total_cmp(&other.reach))
    }
}
