//! The region's KPIs through HTTP, from data set up to known values.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use jemput::db::schema::visit_requests;
use jemput::domain::RequestStatus;
use serde_json::json;

use crate::both_backends;
use crate::dispatch::done;
use crate::helpers::{spawn, Backend};
use crate::rebalancing::{crew, day_routes};

fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive()
}

async fn kpis_report_served_waits_misses_km_and_reasons(backend: Backend) {
    let app = spawn(backend).await;
    // Four visits published on team A's route of `day`, all in Wates.
    let crew = crew(&app, 4).await;
    let day: NaiveDate = crew.day.parse().unwrap();
    let region = &crew.region;
    let routes = day_routes(&app, &crew, &crew.day).await;
    let km = routes["routes"][0]["distance_km"].as_f64().unwrap();

    // A request no team can serve, then a plan of `day`: it is unassigned, for want of skill.
    let r = app
        .post(
            "/v1/service-kinds",
            Some(&region.coordinator),
            json!({"code": "bpjs", "name_id": "Pendaftaran BPJS", "name_en": "Health insurance",
                   "default_duration_minutes": 20, "required_skill": "bpjs"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut body = app.request_body(region);
    body["service_kind_id"] = json!(r.id());
    let r = app.post("/v1/requests", Some(&crew.citizen), body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .post(
            "/v1/plans",
            Some(&region.coordinator),
            json!({"dates": [crew.day], "time_limit_seconds": 1}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let plan_id = r.id();
    let draft = done(&app, &region.coordinator, plan_id).await["draft"].clone();
    assert_eq!(draft["unassigned"].as_array().unwrap().len(), 1, "{draft}");

    // Two of the four visits served, asked 5 and 1 days before; a request due two days ago
    // never served.
    let late = app.create_request(&crew.citizen, region).await.id();
    let (served_a, served_b) = (crew.requests[0], crew.requests[1]);
    let asked = |days: i64| (day - Duration::days(days)).and_hms_opt(3, 0, 0).unwrap();
    let (asked_a, asked_b) = (asked(5), asked(1));
    let due = today() - Duration::days(2);
    app.db
        .write(move |conn| {
            for (id, at) in [(served_a, asked_a), (served_b, asked_b)] {
                diesel::update(visit_requests::table.find(id))
                    .set((
                        visit_requests::status.eq(RequestStatus::Completed),
                        visit_requests::created_at.eq(at),
                    ))
                    .execute(conn)?;
            }
            diesel::update(visit_requests::table.find(late))
                .set((
                    visit_requests::earliest_date.eq(due - Duration::days(3)),
                    visit_requests::deadline.eq(due),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();

    let from = due - Duration::days(1);
    let r = app
        .get(
            &format!("/v1/regions/{}/kpis?from={from}&to={day}", region.id),
            &region.coordinator,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let report = &r.body;
    let total = &report["total"];
    assert_eq!(total["served"], 2, "{report}");
    assert_eq!(total["visits"], 4, "{report}");
    assert_eq!(total["wait_days_mean"], 3.0, "{report}");
    assert_eq!(total["wait_days_p90"], 5, "{report}");
    assert_eq!(total["deadlines_missed"], 1, "{report}");
    assert!(
        (total["km"].as_f64().unwrap() - km).abs() < 1e-6,
        "{report}"
    );
    assert!((total["km_per_visit"].as_f64().unwrap() - km / 4.0).abs() < 1e-6);

    let days = report["days"].as_array().unwrap();
    assert_eq!(days.len() as i64, (day - from).num_days() + 1);
    let on = |date: NaiveDate| {
        days.iter()
            .find(|d| d["date"] == date.to_string())
            .unwrap()
            .clone()
    };
    assert_eq!(on(day)["served"], 2);
    assert_eq!(on(day)["visits"], 4);
    assert_eq!(on(due)["deadlines_missed"], 1);
    assert_eq!(on(due)["served"], 0);
    assert_eq!(on(due)["km"], 0.0);
    assert_eq!(on(due)["km_per_visit"], json!(null));
    assert_eq!(on(from)["wait_days_mean"], json!(null));

    assert_eq!(
        report["districts"],
        json!([{"district": "Wates", "served": 2, "visits": 4, "km": null,
                "km_per_visit": null, "wait_days_mean": 3.0, "wait_days_p90": 5,
                "deadlines_missed": 1, "unassigned": 1}]),
    );
    assert_eq!(report["plan_id"], plan_id);
    assert_eq!(
        report["unassigned_by_reason"],
        json!([{"reason": "no_skilled_team", "count": 1}])
    );

    let r = app
        .get(
            &format!("/v1/regions/{}/kpis?from={day}&to={from}", region.id),
            &region.coordinator,
        )
        .await;
    r.assert_error(422, "out_of_range", Some("to"));
    let r = app
        .get(
            &format!("/v1/regions/{}/kpis?from={from}&to={day}", region.id),
            &crew.citizen,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}

both_backends!(kpis_report_served_waits_misses_km_and_reasons);
