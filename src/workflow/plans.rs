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

/// Queue `order` in one transaction: 422 when the region is unknown or the first date is
/// before today in the region.
pub async fn enqueue(db: &Db, actor: Actor, order: PlanOrder) -> WorkflowResult<PlanRow> {
    let Some(&first) = order.dates.first() else {
        return Err(Invalid::new("dates", ErrorCode::Required, "give at least one date").into());
    };
    let dates = serde_json::to_string(&order.dates)
        .map_err(|e| DbError::Corrupt(format!("dates not storable: {e}")))?;
    let outcome = db
        .write(move |conn| {
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
            let new = NewPlan {
                region_id: order.region_id,
                dates,
                status: PlanStatus::Queued,
                time_limit_ms: order.time_limit_ms,
                seed: order.seed,
                requested_by: actor.account_id,
                created_at: db::now(),
            };
            plans::insert(conn, &actor, new).map(Ok)
        })
        .await?;
    Ok(outcome?)
}
