//! What the citizen's visit page reads about one request, in one snapshot: the request, its
//! service, the region's zone, the citizen's language, the stop it is on now, and the latest
//! "on the way" estimate the region's feed holds for it (re-estimated from the team's
//! positions since, when there are any).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::catalog::{self, ServiceKindRow};
use super::requests::{self, RequestRow};
use super::schema::{region_feed, route_stops, routes};
use super::{accounts, DbConnection, DbResult};
use crate::domain::{Language, LiveEventKind};

/// How many of the region's latest "on the way" and re-estimate events are searched.
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
    // Newest first: an arrival re-estimated from the team's position after it set out
    // (`eta_update`) replaces the one it gave when it set out (`on_the_way`).
    let recent: Vec<(LiveEventKind, String)> = region_feed::table
        .filter(region_feed::region_id.eq(request.region_id))
        .filter(region_feed::kind.eq_any([LiveEventKind::OnTheWay, LiveEventKind::EtaUpdate]))
        .order(region_feed::seq.desc())
        .limit(RECENT_ON_THE_WAY)
        .select((region_feed::kind, region_feed::payload))
        .load(conn)?;
    let mut re_estimated = None;
    let mut eta = None;
    for (kind, payload) in &recent {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(payload) else {
            continue;
        };
        match kind {
            LiveEventKind::OnTheWay if event["request_id"].as_i64() == Some(request_id) => {
                eta = re_estimated.or_else(|| instant(&event["eta"]));
                break;
            }
            LiveEventKind::EtaUpdate if re_estimated.is_none() => {
                re_estimated = event["stops"].as_array().and_then(|stops| {
                    stops
                        .iter()
                        .find(|s| s["request_id"].as_i64() == Some(request_id))
                        .and_then(|s| instant(&s["eta"]))
                });
            }
            _ => {}
        }
    }
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

fn instant(value: &serde_json::Value) -> Option<NaiveDateTime> {
    value
        .as_str()?
        .parse::<chrono::DateTime<chrono::Utc>>()
        .ok()
        .map(|at| at.naive_utc())
}
