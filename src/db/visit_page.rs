//! What the citizen's visit page reads about one request, in one snapshot: the request, its
//! service, the region's zone, the citizen's language, the stop it is on now, and the latest
//! "on the way" estimate the region's feed holds for it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::catalog::{self, ServiceKindRow};
use super::requests::{self, RequestRow};
use super::schema::{region_feed, route_stops, routes};
use super::{accounts, DbConnection, DbResult};
use crate::domain::{Language, LiveEventKind};

/// How many of the region's latest "on the way" events are searched for the request's.
const RECENT_ON_THE_WAY: i64 = 500;

#[derive(Debug, Clone)]
pub struct VisitPage {
    pub request: RequestRow,
    pub kind: ServiceKindRow,
    pub time_zone: String,
    pub language: Language,
    /// The stop the visit is on now (the latest day that holds it).
    pub stop: Option<PlannedVisit>,
    /// When the team said it would arrive, once it is on its way (UTC).
    pub eta: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Copy)]
pub struct PlannedVisit {
    pub date: NaiveDate,
    pub window_start: NaiveDateTime,
    pub window_end: NaiveDateTime,
}

pub fn read(conn: &mut DbConnection, request_id: i64) -> DbResult<VisitPage> {
    let request = requests::find(conn, request_id)?;
    let kind = catalog::service_kind_find(conn, request.service_kind_id)?;
    let region = catalog::region_find(conn, request.region_id)?;
    let language = accounts::find(conn, request.citizen_id)?.language;
    let stop: Option<(NaiveDate, NaiveDateTime, NaiveDateTime)> = route_stops::table
        .inner_join(routes::table)
        .filter(route_stops::request_id.eq(request_id))
        .order((routes::date.desc(), routes::id.desc()))
        .select((
            routes::date,
            route_stops::window_start,
            route_stops::window_end,
        ))
        .first(conn)
        .optional()?;
    let recent: Vec<String> = region_feed::table
        .filter(region_feed::region_id.eq(request.region_id))
        .filter(region_feed::kind.eq(LiveEventKind::OnTheWay))
        .order(region_feed::seq.desc())
        .limit(RECENT_ON_THE_WAY)
        .select(region_feed::payload)
        .load(conn)?;
    let eta = recent.iter().find_map(|payload| {
        let event: serde_json::Value = serde_json::from_str(payload).ok()?;
        (event["request_id"].as_i64() == Some(request_id))
            .then(|| {
                event["eta"]
                    .as_str()?
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .ok()
            })
            .flatten()
            .map(|at| at.naive_utc())
    });
    Ok(VisitPage {
        stop: stop.map(|(date, window_start, window_end)| PlannedVisit {
            date,
            window_start,
            window_end,
        }),
        request,
        kind,
        time_zone: region.time_zone,
        language,
        eta,
    })
}
