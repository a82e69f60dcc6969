//! A region's KPIs over some days, for the console's KPI tab: per day, visits served, days
//! waited from request to visit (mean and 90th percentile), deadlines missed and km per visit;
//! the same in total and per district; the unassigned requests of the newest plan of those
//! days, by reason. Read in one snapshot; nothing is written.
//!
//! Definitions, so that a number can be checked by hand:
//! - a visit *served* on day D is a request now `completed` whose stop is on a route of D;
//! - *days waited* is D minus the local day the request was made;
//! - a *deadline missed* on day D is a request (not cancelled) due on D, D before today, not
//!   served on or before D;
//! - *km per visit* is the km of D's routes over the visits on them (served or not); a route
//!   crosses districts, so districts have no km.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::WorkflowResult;
use crate::db::kpis::{self, DueRow, VisitRow};
use crate::db::{catalog, Db};
use crate::domain::{Coordinates, Districts, RegionClock, RequestStatus, DEMO_DISTRICTS};
use crate::planning::Draft;

/// How many of the newest finished plans are searched for one of the days.
const PLANS_SEARCHED: i64 = 20;

#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct KpiFigures {
    /// Visits served (requests completed on a route of the day).
    pub served: usize,
    /// Visits on the routes, served or not.
    pub visits: usize,
    /// km of the routes; null per district (a route crosses districts).
    pub km: Option<f64>,
    /// km of the routes over the visits on them; null without visits, and per district.
    pub km_per_visit: Option<f64>,
    /// Days from the request to its served visit, mean; null when none was served.
    pub wait_days_mean: Option<f64>,
    /// …90th percentile (nearest rank).
    pub wait_days_p90: Option<i64>,
    pub deadlines_missed: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct DayKpis {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: KpiFigures,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct DistrictKpis {
    /// The district (kecamatan); null for places outside every district the service knows.
    pub district: Option<String>,
    #[serde(flatten)]
    pub figures: KpiFigures,
    /// Unassigned requests of the plan named in the report.
    pub unassigned: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ReasonCount {
    pub reason: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct KpiReport {
    pub region_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    pub total: KpiFigures,
    /// Every day from `from` to `to`, in order.
    pub days: Vec<DayKpis>,
    /// Districts with anything to count, by name (null last).
    pub districts: Vec<DistrictKpis>,
    /// The newest finished plan of any of the days, whose unassigned requests are counted.
    pub plan_id: Option<i64>,
    pub unassigned_by_reason: Vec<ReasonCount>,
}

/// The region's KPIs from `from` to `to` (the region's days, both included).
pub async fn region_kpis(
    db: &Db,
    region_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> WorkflowResult<KpiReport> {
    let (region, visits, routes, due, plan) = db
        .read_consistent(move |conn| {
            let region = catalog::region_find(conn, region_id)?;
            let visits = kpis::visits_between(conn, region_id, from, to)?;
            let routes = kpis::route_distances(conn, region_id, from, to)?;
            let due = kpis::due_between(conn, region_id, from, to)?;
            let plan = kpis::recent_drafts(conn, region_id, PLANS_SEARCHED)?
                .into_iter()
                .find_map(|(id, dates, draft)| {
                    let dates: Vec<NaiveDate> = serde_json::from_str(&dates).ok()?;
                    let draft = Draft::from_stored(draft.as_deref()?).ok()?;
                    dates
                        .iter()
                        .any(|d| (from..=to).contains(d))
                        .then_some((id, draft))
                });
            let located = match &plan {
                Some((_, draft)) => {
                    let ids: Vec<i64> = draft.unassigned.iter().map(|u| u.request_id).collect();
                    kpis::locations(conn, &ids)?
                }
                None => Vec::new(),
            };
            Ok((region, visits, routes, due, plan.map(|p| (p, located))))
        })
        .await?;
    let clock = RegionClock::of_zone(&region.time_zone)?;
    let districts = Districts::parse(DEMO_DISTRICTS)?;
    let today = clock.today();
    let district_of = |lat: f64, lon: f64| {
        districts
            .name_at(Coordinates { lat, lon })
            .map(String::from)
    };

    let served_on: HashMap<i64, NaiveDate> = visits
        .iter()
        .filter(|v| v.status == RequestStatus::Completed)
        .map(|v| (v.request_id, v.date))
        .collect();
    let missed: Vec<&DueRow> = due
        .iter()
        .filter(|d| d.deadline < today)
        .filter(|d| {
            served_on
                .get(&d.request_id)
                .is_none_or(|on| *on > d.deadline)
        })
        .collect();

    let mut by_day: BTreeMap<NaiveDate, Tally> = BTreeMap::new();
    let mut by_district: BTreeMap<Option<String>, (Tally, usize)> = BTreeMap::new();
    let mut total = Tally::with_km();
    for (date, metres) in &routes {
        *by_day
            .entry(*date)
            .or_insert_with(Tally::with_km)
            .km
            .get_or_insert(0.0) += metres / 1000.0;
        *total.km.get_or_insert(0.0) += metres / 1000.0;
    }
    for visit in &visits {
        let district = district_of(visit.lat, visit.lon);
        for tally in [
            by_day.entry(visit.date).or_insert_with(Tally::with_km),
            &mut by_district.entry(district).or_default().0,
            &mut total,
        ] {
            tally.visit(visit, &clock);
        }
    }
    for due in &missed {
        let district = district_of(due.lat, due.lon);
        by_day
            .entry(due.deadline)
            .or_insert_with(Tally::with_km)
            .missed += 1;
        by_district.entry(district).or_default().0.missed += 1;
        total.missed += 1;
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let plan_id = plan.map(|((id, draft), located)| {
        let located: HashMap<i64, (f64, f64)> = located
            .into_iter()
            .map(|(id, lat, lon)| (id, (lat, lon)))
            .collect();
        for unassigned in &draft.unassigned {
            *reasons.entry(unassigned.reason.clone()).or_default() += 1;
            let district = located
                .get(&unassigned.request_id)
                .and_then(|(lat, lon)| district_of(*lat, *lon));
            by_district.entry(district).or_default().1 += 1;
        }
        id
    });

    let days = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|date| DayKpis {
            date,
            figures: by_day
                .remove(&date)
                .unwrap_or_else(Tally::with_km)
                .figures(),
        })
        .collect();
    let mut districts: Vec<DistrictKpis> = by_district
        .into_iter()
        .map(|(district, (tally, unassigned))| DistrictKpis {
            district,
            figures: tally.figures(),
            unassigned,
        })
        .collect();
    // Named districts first (by name), the places outside them last.
    districts.sort_by(|a, b| {
        (a.district.is_none(), &a.district).cmp(&(b.district.is_none(), &b.district))
    });
    Ok(KpiReport {
        region_id,
        from,
        to,
        time_zone: region.time_zone,
        total: total.figures(),
        days,
        districts,
        plan_id,
        unassigned_by_reason: reasons
            .into_iter()
            .map(|(reason, count)| ReasonCount { reason, count })
            .collect(),
    })
}

/// Counts for one day, one district or the whole range.
#[derive(Debug, Default)]
struct Tally {
    visits: usize,
    /// None where km are not counted (districts).
    km: Option<f64>,
    waits: Vec<i64>,
    missed: usize,
}

impl Tally {
    fn with_km() -> Tally {
        Tally {
            km: Some(0.0),
            ..Tally::default()
        }
    }

    fn visit(&mut self, visit: &VisitRow, clock: &RegionClock) {
        self.visits += 1;
        if visit.status == RequestStatus::Completed {
            let (asked, _) = clock.local_minutes(visit.created_at);
            self.waits.push((visit.date - asked).num_days());
        }
    }

    fn figures(mut self) -> KpiFigures {
        self.waits.sort_unstable();
        let served = self.waits.len();
        KpiFigures {
            served,
            visits: self.visits,
            km: self.km,
            km_per_visit: self
                .km
                .filter(|_| self.visits > 0)
                .map(|km| km / self.visits as f64),
            wait_days_mean: (served > 0)
                .then(|| self.waits.iter().sum::<i64>() as f64 / served as f64),
            wait_days_p90: nearest_rank(&self.waits, 0.9),
            deadlines_missed: self.missed,
        }
    }
}

/// The `p` quantile of sorted `values` by the nearest-rank method.
fn nearest_rank(values: &[i64], p: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let rank = (p * values.len() as f64).ceil() as usize;
    values.get(rank.clamp(1, values.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::nearest_rank;

    #[test]
    fn the_90th_percentile_is_the_nearest_rank() {
        assert_eq!(nearest_rank(&[], 0.9), None);
        assert_eq!(nearest_rank(&[4], 0.9), Some(4));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 0.9), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(nearest_rank(&eleven, 0.9), Some(10));
    }
}
