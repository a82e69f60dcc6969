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

#[cfg(test)]
mod tests {
    use super::day_tag;
    use crate::planning::dispatch::fixtures::{monday, Day, TEAM_A, TEAM_B};

    fn day() -> Day {
        Day::new()
            .route(1, TEAM_A, &[(101, "09:00")])
            .route(2, TEAM_B, &[(201, "09:00")])
    }

    #[test]
    fn the_same_day_read_twice_has_the_same_tag() {
        assert_eq!(
            day_tag(&day().build(), monday()),
            day_tag(&day().build(), monday())
        );
    }

    #[test]
    fn a_new_route_version_changes_the_tag() {
        let before = day().build();
        let mut after = before.clone();
        after.routes[1].route.version += 1;
        assert_ne!(day_tag(&before, monday()), day_tag(&after, monday()));
    }

    #[test]
    fn a_lock_changes_the_tag() {
        let unlocked = day_tag(&day().build(), monday());
        assert_ne!(unlocked, day_tag(&day().locked(2).build(), monday()));
    }

    #[test]
    fn a_team_off_changes_the_tag() {
        let everyone = day_tag(&day().build(), monday());
        assert_ne!(everyone, day_tag(&day().absent(TEAM_B).build(), monday()));
    }

    #[test]
    fn another_days_routes_do_not_change_the_tag() {
        let tuesday = monday().succ_opt().unwrap();
        let before = day().build();
        let mut after = before.clone();
        for route in &mut after.routes {
            route.route.version += 1;
        }
        assert_eq!(day_tag(&before, tuesday), day_tag(&after, tuesday));
    }
}
