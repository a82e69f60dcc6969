//! Who hears about a change, as outbox rows written in the use case's transaction: a team's
//! members (silent "route changed" data messages) and a citizen (a notification in their
//! language). Each returns how many pushes it wrote.

use chrono::NaiveDate;

use crate::db::outbox::{self, PushMessage};
use crate::db::routes::{language_of, members_of};
use crate::db::{DbConnection, DbResult};
use crate::domain::PushKind;
use crate::push::messages::Notices;

/// Every member of `team_id` hears that its route of `date` is now at `version`.
pub(crate) fn team(
    conn: &mut DbConnection,
    notices: &dyn Notices,
    team_id: i64,
    date: NaiveDate,
    version: i32,
) -> DbResult<usize> {
    let mut pushes = 0;
    for member in members_of(conn, team_id)? {
        pushes += outbox::enqueue_for_account(
            conn,
            PushKind::RouteChanged,
            member,
            &notices.route_changed(team_id, date, version),
        )?;
    }
    Ok(pushes)
}

/// The citizen `citizen_id` hears `message`, worded in their language.
pub(crate) fn citizen(
    conn: &mut DbConnection,
    kind: PushKind,
    citizen_id: i64,
    message: impl FnOnce(&str) -> PushMessage,
) -> DbResult<usize> {
    let language = language_of(conn, citizen_id)?;
    outbox::enqueue_for_account(conn, kind, citizen_id, &message(&language))
}
