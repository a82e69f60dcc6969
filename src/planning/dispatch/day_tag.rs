//! The day's tag: the `ETag` a day-wide change (a re-plan, a team taken off) takes as
//! `If-Match`, so it is refused when the day changed since the coordinator read it.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::db::dispatch::Snapshot;

/// The ETag of a region's day: changes whenever any route of that day, or the day's team
/// absences, change. Re-plans of a day take it as `If-Match`.
pub fn day_tag(snapshot: &Snapshot, date: NaiveDate) -> String {
    let mut hash = Sha256::new();
    hash.update(date.to_string());
    for route in snapshot.routes.iter().filter(|r| r.route.date == date) {
        hash.update(format!(
            "|r{}:{}:{}",
            route.route.id, route.route.version, route.route.locked
        ));
    }
    for absence in snapshot.absences.iter().filter(|a| a.date == date) {
        hash.update(format!("|a{}", absence.team_id));
    }
    format!("day-{}", &hex::encode(hash.finalize())[..16])
}
