//! The background planning runner: claims queued jobs one at a time, solves each on a blocking
//! thread (never on an HTTP worker), and stores the draft. At start it puts back in the queue
//! any job a previous process left running; on shutdown it cancels the running solve and leaves
//! that job to be picked up again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use tokio::task::JoinHandle;

use super::{build_problem, draft, PlanInput};
use crate::db::plans::{self, PlanBasis, PlanRow, Solved};
use crate::db::{catalog, Db, DbError};

/// How often an idle runner looks for queued jobs.
const POLL: Duration = Duration::from_millis(300);

pub struct PlanRunner {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl PlanRunner {
    pub fn spawn(db: Db) -> PlanRunner {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = tokio::spawn(run(db, stop.clone()));
        PlanRunner { stop, handle }
    }

    /// Cancel the running solve (its job is queued again at the next start) and wait.
    pub async fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "planning runner ended abnormally");
        }
    }
}

async fn run(db: Db, stop: Arc<AtomicBool>) {
    match db.write(plans::requeue_running).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(jobs = n, "planning jobs left running were queued again"),
        Err(e) => tracing::error!(error = %e, "could not re-queue planning jobs"),
    }
    while !stop.load(Ordering::Relaxed) {
        match db.write(plans::claim_next).await {
            Ok(Some(plan)) => run_one(&db, plan, &stop).await,
            Ok(None) => tokio::time::sleep(POLL).await,
            Err(e) => {
                tracing::error!(error = %e, "could not claim a planning job");
                tokio::time::sleep(POLL * 10).await;
            }
        }
    }
}

async fn run_one(db: &Db, plan: PlanRow, stop: &Arc<AtomicBool>) {
    let id = plan.id;
    tracing::info!(plan = id, region = plan.region_id, "planning started");
    let outcome = solve(db, plan, stop).await;
    if stop.load(Ordering::Relaxed) {
        tracing::info!(
            plan = id,
            "planning interrupted by shutdown; it runs again at start"
        );
        return;
    }
    let outcome = match outcome {
        Ok(draft) => {
            tracing::info!(plan = id, "planning done");
            Ok(draft)
        }
        Err(error) => {
            tracing::warn!(plan = id, %error, "planning failed");
            Err(error)
        }
    };
    if let Err(e) = db.write(move |conn| plans::finish(conn, id, outcome)).await {
        tracing::error!(plan = id, error = %e, "could not store the planning outcome");
    }
}

async fn solve(db: &Db, plan: PlanRow, stop: &Arc<AtomicBool>) -> Result<Solved, String> {
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
    let limit = Duration::from_millis(u64::try_from(plan.time_limit_ms).unwrap_or(1000));
    let options = jemput_planner::SolveOptions {
        seed: u64::try_from(plan.seed).unwrap_or(1),
        time_limit_ms: Some(limit.as_millis() as u64),
        ..Default::default()
    };
    let cancel = stop.clone();
    let solution = tokio::task::spawn_blocking(move || {
        let budget = jemput_bench::Deadline::new(limit, Some(&cancel));
        jemput_planner::solve(&problem, &options, &budget)
    })
    .await
    .map_err(|e| format!("the planner stopped abnormally: {e}"))?
    .map_err(|e| format!("the planner refused the problem: {e}"))?;
    Ok(Solved {
        draft_json: serde_json::to_string(&draft(&input, &solution)).map_err(|e| e.to_string())?,
        basis_json: serde_json::to_string(&basis).map_err(|e| e.to_string())?,
    })
}
