//! Who hears about a change, as outbox rows written in the use case's transaction: a team's
//! members (silent "route changed" data messages) and a citizen (a notification in their
//! language), including a visit scheduled or taken off a route together with its citizen's
//! push. Each returns how many pushes it wrote.

use chrono::{NaiveDate, NaiveDateTime};

use crate::db::events::Actor;
use crate::db::outbox::{self, PushMessage};
use crate::db::requests::RequestRow;
use crate::db::routes::{language_of, members_of, set_status};
use crate::db::{DbConnection, DbResult};
use crate::domain::{EventAction, Language, PushKind, RegionClock, RequestStatus};
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
    message: impl FnOnce(Language) -> PushMessage,
) -> DbResult<usize> {
    let language = language_of(conn, citizen_id)?;
    outbox::enqueue_for_account(conn, kind, citizen_id, &message(language))
}

/// Where a visit is planned: a team's route of a day, and the window promised (UTC).
pub(crate) struct Slot {
    pub team_id: i64,
    pub date: NaiveDate,
    pub window: (NaiveDateTime, NaiveDateTime),
}

/// `request` is on the route and in the window of `slot` (read by the region's `clock`): it
/// moves to scheduled (recorded as `action`, only from the version read) and its citizen
/// hears when.
pub(crate) fn scheduled(
    conn: &mut DbConnection,
    actor: &Actor,
    notices: &dyn Notices,
    request: &RequestRow,
    action: EventAction,
    slot: Slot,
    clock: &RegionClock,
) -> DbResult<usize> {
    let Slot {
        team_id,
        date,
        window: (window_start, window_end),
    } = slot;
    let window = (clock.local(window_start), clock.local(window_end));
    set_status(
        conn,
        actor,
        request,
        RequestStatus::Scheduled,
        action,
        serde_json::json!({"schedule": {
            "team_id": team_id, "date": date,
            "window": [window.0, window.1],
        }}),
    )?;
    citizen(
        conn,
        PushKind::VisitScheduled,
        request.citizen_id,
        |language| notices.visit_scheduled(language, request.id, date, &window),
    )
}

/// `request` is off its route and waiting to be planned again (only from the version read,
/// with `detail`'s fields in its event), and its citizen hears so.
pub(crate) fn unscheduled(
    conn: &mut DbConnection,
    actor: &Actor,
    notices: &dyn Notices,
    request: &RequestRow,
    detail: serde_json::Value,
) -> DbResult<usize> {
    set_status(
        conn,
        actor,
        request,
        RequestStatus::Submitted,
        EventAction::Unscheduled,
        detail,
    )?;
    citizen(
        conn,
        PushKind::VisitUnscheduled,
        request.citizen_id,
        |language| notices.visit_unscheduled(language, request.id),
    )
}
