//! The background planning runner: claims queued jobs one at a time, solves each on a blocking
//! thread (never on an HTTP worker), and stores the draft. Several instances may share one
//! database: a job is claimed by one runner (`FOR UPDATE SKIP LOCKED` on PostgreSQL) under a
//! lease renewed while solving, so a job whose owner died is taken by another instance when the
//! lease runs out, and its result is stored only while the runner still holds it. At start a
//! runner puts back in the queue the jobs a previous process of its own instance left running;
//! on shutdown it cancels the running solve and queues that job again for any instance.
//!
//! Nothing another instance needs lives in this process's memory: the stop flag only ends this
//! process's own solve (there is no API to cancel a plan).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{build_problem, Draft, PlanInput};
use crate::config::PlanningSettings;
use crate::db::plans::{self, PlanBasis, PlanRow, Solved};
use crate::db::{catalog, feed, lock_region, Claimant, Db, DbError};
use crate::domain::{LiveEventKind, RegionClock};

/// How often an idle runner looks for queued jobs.
const POLL: Duration = Duration::from_millis(300);
/// How often a solving runner looks at the stop flag.
const TICK: Duration = Duration::from_millis(100);
/// Fewest milliseconds between two `plan_progress` events of one solve: the search may improve
/// hundreds of times a second, a console needs to see it twice.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

pub struct PlanRunner {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl PlanRunner {
    /// Start taking jobs as `me`; first, jobs an earlier process of the same instance left
    /// running are queued again.
    pub fn spawn(db: Db, settings: PlanningSettings, me: Claimant) -> PlanRunner {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = tokio::spawn(run(db, settings, me, stop.clone()));
        PlanRunner { stop, handle }
    }

    /// Cancel the running solve (its job goes back to the queue for any instance) and wait.
    pub async fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "planning runner ended abnormally");
        }
    }
}

async fn run(db: Db, settings: PlanningSettings, me: Claimant, stop: Arc<AtomicBool>) {
    let mine = me.clone();
    match db
        .write(move |conn| plans::release(conn, None, &mine))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            jobs = n,
            "planning jobs a previous process of this instance left running were queued again"
        ),
        Err(e) => tracing::error!(error = %e, "could not re-queue planning jobs"),
    }
    let lease = settings.lease_secs;
    let threads = settings.solver_threads();
    while !stop.load(Ordering::Relaxed) {
        let by = me.clone();
        match db
            .write(move |conn| plans::claim_next(conn, &by, lease))
            .await
        {
            Ok(Some(plan)) => run_one(&db, plan, lease, threads, &me, &stop).await,
            Ok(None) => tokio::time::sleep(POLL).await,
            Err(e) => {
                tracing::error!(error = %e, "could not claim a planning job");
                tokio::time::sleep(POLL * 10).await;
            }
        }
    }
}

async fn run_one(
    db: &Db,
    plan: PlanRow,
    lease: i64,
    threads: usize,
    me: &Claimant,
    stop: &Arc<AtomicBool>,
) {
    let id = plan.id;
    tracing::info!(
        plan = id,
        region = plan.region_id,
        attempt = plan.attempts,
        "planning started"
    );
    // Set when the process stops or the job is lost to another instance: the solve ends early.
    let cancel = Arc::new(AtomicBool::new(false));
    let outcome = tokio::select! {
        outcome = solve(db, plan, threads, &cancel) => outcome,
        () = keep_lease(db, id, lease, me, stop, &cancel) => return,
    };
    if stop.load(Ordering::Relaxed) {
        let by = me.clone();
        match db
            .write(move |conn| plans::release(conn, Some(id), &by))
            .await
        {
            Ok(_) => tracing::info!(
                plan = id,
                "planning interrupted by shutdown; the job is queued again"
            ),
            Err(e) => tracing::error!(
                plan = id,
                error = %e,
                "planning interrupted by shutdown; the job waits for its lease to run out"
            ),
        }
        return;
    }
    match &outcome {
        Ok(_) => tracing::info!(plan = id, "planning done"),
        Err(error) => tracing::warn!(plan = id, %error, "planning failed"),
    }
    let by = me.clone();
    match db
        .write(move |conn| plans::finish(conn, id, &by, outcome))
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            plan = id,
            "planning outcome dropped: the job was taken over by another runner"
        ),
        Err(e) => tracing::error!(plan = id, error = %e, "could not store the planning outcome"),
    }
}

/// Renews the job's lease while it is solved, and sets `cancel` when the process stops (the
/// solve then ends) or the job is no longer ours (then this returns: the result is not ours to
/// store). Runs until dropped otherwise.
async fn keep_lease(
    db: &Db,
    id: i64,
    lease: i64,
    me: &Claimant,
    stop: &Arc<AtomicBool>,
    cancel: &Arc<AtomicBool>,
) {
    // Renewed three times per lease, so one slow write does not lose the job.
    let every = Duration::from_millis(u64::try_from(lease).unwrap_or(1) * 1000 / 3);
    let mut next = tokio::time::Instant::now() + every;
    loop {
        tokio::time::sleep(TICK).await;
        if stop.load(Ordering::Relaxed) {
            cancel.store(true, Ordering::Relaxed);
        }
        if tokio::time::Instant::now() < next {
            continue;
        }
        next += every;
        let by = me.clone();
        match db
            .write(move |conn| plans::renew(conn, id, &by, lease))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    plan = id,
                    "the planning job was taken over by another runner; this solve stops"
                );
                cancel.store(true, Ordering::Relaxed);
                return;
            }
            Err(e) => tracing::error!(plan = id, error = %e, "could not renew a planning lease"),
        }
    }
}

async fn solve(
    db: &Db,
    plan: PlanRow,
    threads: usize,
    cancel: &Arc<AtomicBool>,
) -> Result<Solved, String> {
    // The limit counts from here: reading a large region takes its share, not more.
    let started = std::time::Instant::now();
    let dates: Vec<NaiveDate> =
        serde_json::from_str(&plan.dates).map_err(|e| format!("stored dates unreadable: {e}"))?;
    let (Some(&first), Some(&last)) = (dates.first(), dates.last()) else {
        return Err("no dates to plan".to_string());
    };
    let region_id = plan.region_id;
    let (input, routes) = db
        .read_consistent(move |conn| {
            let input = PlanInput {
                region: catalog::region_find(conn, region_id)?,
                kinds: catalog::service_kinds_of_region(conn, region_id)?,
                teams: catalog::teams_of_region(conn, region_id)?,
                requests: plans::plannable_requests(conn, region_id, first, last)?,
                absences: plans::absences_between(conn, region_id, first, last)?,
            };
            let routes = plans::route_versions(conn, region_id, first, last)?;
            Ok((input, routes))
        })
        .await
        .map_err(|e: DbError| format!("could not load the region: {e}"))?;
    let basis = PlanBasis {
        requests: input
            .requests
            .iter()
            .map(|(request, _)| (request.id, request.version))
            .collect(),
        routes,
        absences: input.absences.clone(),
    };
    let problem = build_problem(&input, &dates, None)?;
    let limit = Duration::from_millis(u64::try_from(plan.time_limit_ms).unwrap_or(1000))
        .saturating_sub(started.elapsed());
    let options = jemput_planner::SolveOptions {
        seed: u64::try_from(plan.seed).unwrap_or(1),
        time_limit_ms: Some(limit.as_millis() as u64),
        threads,
        ..Default::default()
    };
    let cancel = cancel.clone();
    let requests = problem.jobs.len();
    let (improved, seen) = watch::channel(None);
    let solving = tokio::task::spawn_blocking(move || {
        let budget = crate::planning::budget::Deadline::new(limit, Some(&cancel));
        let started = Instant::now();
        // Only the newest improvement is kept; `report_progress` sends it at its own pace.
        let listener = |better: &jemput_planner::Improvement| {
            improved.send_replace(Some(SearchProgress {
                elapsed: started.elapsed(),
                cost: better.cost,
                assigned: better.assigned,
            }));
        };
        let solution = jemput_planner::solve_with_progress(&problem, &options, &budget, &listener);
        crate::metrics::global().observe_solve(started.elapsed());
        solution
    });
    let (solution, ()) = tokio::join!(
        solving,
        report_progress(db, plan.id, region_id, requests, seen)
    );
    let solution = solution
        .map_err(|e| format!("the planner stopped abnormally: {e}"))?
        .map_err(|e| format!("the planner refused the problem: {e}"))?;
    let clock = RegionClock::of_zone(&input.region.time_zone)
        .map_err(|e| format!("stored time zone unreadable: {}", e.message))?;
    let draft = Draft::of_solution(&input, &clock, &solution).map_err(|e| e.to_string())?;
    Ok(Solved {
        draft_json: serde_json::to_string(&draft).map_err(|e| e.to_string())?,
        basis_json: serde_json::to_string(&basis).map_err(|e| e.to_string())?,
    })
}

/// The best plan a running search has found so far.
#[derive(Debug, Clone, Copy)]
struct SearchProgress {
    elapsed: Duration,
    cost: f64,
    assigned: usize,
}

/// Appends the search's newest progress to the region's feed as `plan_progress`, at most once
/// per [`PROGRESS_EVERY`], until the search ends (its sender is dropped). The feed is how a
/// console on any instance hears it; the event is written under the region's lock like every
/// feed row, in a transaction of its own, so it never waits for the plan's result.
async fn report_progress(
    db: &Db,
    plan_id: i64,
    region_id: i64,
    requests: usize,
    mut seen: watch::Receiver<Option<SearchProgress>>,
) {
    while seen.changed().await.is_ok() {
        let Some(progress) = *seen.borrow_and_update() else {
            continue;
        };
        let payload = json!({
            "plan_id": plan_id,
            "elapsed_ms": u64::try_from(progress.elapsed.as_millis()).unwrap_or(u64::MAX),
            "best_cost": progress.cost,
            "assigned": progress.assigned,
            "requests": requests,
        });
        let written = db
            .write(move |conn| {
                lock_region(conn, region_id)?;
                feed::append(conn, region_id, LiveEventKind::PlanProgress, &payload)
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(plan = plan_id, error = %e, "could not report planning progress");
        }
        tokio::time::sleep(PROGRESS_EVERY).await;
    }
}
