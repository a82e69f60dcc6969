//! What the region's KPIs are computed from, read in one snapshot: the visits on routes of some
//! days (with when each request was made and where it is), the routes' distances, the requests
//! whose deadline falls on those days, and the unassigned requests of the newest finished plan
//! of those days. The arithmetic is in `workflow::kpis`.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{plans, route_stops, routes, visit_requests};
use super::{DbConnection, DbResult};
use crate::domain::{PlanStatus, RequestStatus};

/// A visit on a route of one of the days.
#[derive(Debug, Clone)]
pub struct VisitRow {
    pub date: NaiveDate,
    pub request_id: i64,
    pub status: RequestStatus,
    pub created_at: NaiveDateTime,
    pub deadline: NaiveDate,
    pub lat: f64,
    pub lon: f64,
}

/// A request due on one of the days.
#[derive(Debug, Clone, Queryable)]
pub struct DueRow {
    pub request_id: i64,
    pub status: RequestStatus,
    pub deadline: NaiveDate,
    pub lat: f64,
    pub lon: f64,
}

pub fn visits_between(
    conn: &mut DbConnection,
    region_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> DbResult<Vec<VisitRow>> {
    let stops: Vec<(NaiveDate, i64)> = route_stops::table
        .inner_join(routes::table)
        .filter(routes::region_id.eq(region_id))
        .filter(routes::date.between(from, to))
        .select((routes::date, route_stops::request_id))
        .load(conn)?;
    let ids: Vec<i64> = stops.iter().map(|s| s.1).collect();
    let requests: HashMap<i64, RequestFacts> = visit_requests::table
        .filter(visit_requests::id.eq_any(&ids))
        .select((
            visit_requests::id,
            (
                visit_requests::status,
                visit_requests::created_at,
                visit_requests::deadline,
                visit_requests::lat,
                visit_requests::lon,
            ),
        ))
        .load::<(i64, RequestFacts)>(conn)?
        .into_iter()
        .collect();
    Ok(stops
        .into_iter()
        .filter_map(|(date, request_id)| {
            let (status, created_at, deadline, lat, lon) = *requests.get(&request_id)?;
            Some(VisitRow {
                date,
                request_id,
                status,
                created_at,
                deadline,
                lat,
                lon,
            })
        })
        .collect())
}

type RequestFacts = (RequestStatus, NaiveDateTime, NaiveDate, f64, f64);

/// `(date, metres)` of each route of the days.
pub fn route_distances(
    conn: &mut DbConnection,
    region_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> DbResult<Vec<(NaiveDate, f64)>> {
    Ok(routes::table
        .filter(routes::region_id.eq(region_id))
        .filter(routes::date.between(from, to))
        .select((routes::date, routes::distance_m))
        .load(conn)?)
}

/// Requests (not cancelled) whose deadline is one of the days.
pub fn due_between(
    conn: &mut DbConnection,
    region_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> DbResult<Vec<DueRow>> {
    Ok(visit_requests::table
        .filter(visit_requests::region_id.eq(region_id))
        .filter(visit_requests::deadline.between(from, to))
        .filter(visit_requests::status.ne(RequestStatus::Cancelled))
        .select((
            visit_requests::id,
            visit_requests::status,
            visit_requests::deadline,
            visit_requests::lat,
            visit_requests::lon,
        ))
        .load(conn)?)
}

/// The newest finished plans of the region, newest first: `(id, dates JSON, draft JSON)`.
pub fn recent_drafts(
    conn: &mut DbConnection,
    region_id: i64,
    limit: i64,
) -> DbResult<Vec<(i64, String, Option<String>)>> {
    Ok(plans::table
        .filter(plans::region_id.eq(region_id))
        .filter(plans::status.eq(PlanStatus::Done))
        .order(plans::id.desc())
        .limit(limit)
        .select((plans::id, plans::dates, plans::draft_json))
        .load(conn)?)
}

/// Where the requests are: `(id, lat, lon)`.
pub fn locations(conn: &mut DbConnection, ids: &[i64]) -> DbResult<Vec<(i64, f64, f64)>> {
    Ok(visit_requests::table
        .filter(visit_requests::id.eq_any(ids))
        .select((visit_requests::id, visit_requests::lat, visit_requests::lon))
        .load(conn)?)
}
