//! Plan creation: a coordinator asks for a plan of some dates of a region; a planning job is
//! queued (with its `requested` event) for a runner to take. The dates are checked against
//! today in the region's zone.

use chrono::NaiveDate;

use super::WorkflowResult;
use crate::db::events::Actor;
use crate::db::plans::{self, NewPlan, PlanRow};
use crate::db::{self, catalog, Db, DbError};
use crate::domain::{ErrorCode, Invalid, PlanStatus, RegionClock};

/// A plan to work out.
#[derive(Debug, Clone)]
pub struct PlanOrder {
    pub region_id: i64,
    /// Sorted, distinct, at least one.
    pub dates: Vec<NaiveDate>,
    pub time_limit_ms: i64,
    pub seed: i64,
}

/// What asking for a plan came to.
#[derive(Debug)]
pub enum Enqueued {
    Queued(Box<PlanRow>),
    /// The region already has `plans_at_once` plans queued or running; the oldest of them.
    Busy(i64),
}

/// Queue `order` in one transaction: 422 when the region is unknown or the first date is
/// before today in the region; [`Enqueued::Busy`] while the region already has
/// `plans_at_once` plans queued or running.
pub async fn enqueue(
    db: &Db,
    actor: Actor,
    order: PlanOrder,
    plans_at_once: usize,
) -> WorkflowResult<Enqueued> {
    let Some(&first) = order.dates.first() else {
        return Err(Invalid::new("dates", ErrorCode::Required, "give at least one date").into());
    };
    let dates = serde_json::to_string(&order.dates)
        .map_err(|e| DbError::Corrupt(format!("dates not storable: {e}")))?;
    let outcome = db
        .write(move |conn| {
            // Under the region's lock, so of two at once the second sees the first.
            db::lock_region(conn, order.region_id).or_else(|e| match e {
                DbError::NotFound => Ok(()),
                other => Err(other),
            })?;
            let clock = match catalog::region_find(conn, order.region_id) {
                Ok(region) => RegionClock::of_zone(&region.time_zone).map_err(|e| {
                    DbError::Corrupt(format!("time zone of region {}: {e}", region.id))
                })?,
                Err(DbError::NotFound) => {
                    let unknown =
                        Invalid::new("region_id", ErrorCode::UnknownReference, "no such region");
                    return Ok(Err(unknown));
                }
                Err(e) => return Err(e),
            };
            let today = clock.today();
            if first < today {
                let past = format!("plan today ({today}) or later");
                return Ok(Err(Invalid::new("dates", ErrorCode::DateInPast, past)));
            }
            let active = plans::active_in_region(conn, order.region_id)?;
            if let Some(&oldest) = active.first().filter(|_| active.len() >= plans_at_once) {
                return Ok(Ok(Enqueued::Busy(oldest)));
            }
            let new = NewPlan {
                region_id: order.region_id,
                dates,
                status: PlanStatus::Queued,
                time_limit_ms: order.time_limit_ms,
                seed: order.seed,
                requested_by: actor.account_id,
                created_at: db::now(),
            };
            plans::insert(conn, &actor, new).map(|plan| Ok(Enqueued::Queued(Box::new(plan))))
        })
        .await?;
    Ok(outcome?)
}
