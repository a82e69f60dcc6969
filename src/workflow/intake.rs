//! Request intake: a citizen's new visit request, checked against its region and service kind
//! and stored with its `created` event in one transaction. With an `Idempotency-Key` a retry
//! with the same body answers the first result; the same key with another body is refused;
//! two creates racing with one key both answer the one row stored.

use std::sync::Arc;

use chrono::NaiveDate;

use super::{WorkflowError, WorkflowResult};
use crate::db::catalog::{self, RegionRow, ServiceKindRow};
use crate::db::events::Actor;
use crate::db::requests::{self, Created, NewRequest, RequestRow};
use crate::db::{self, Db, DbConnection, DbError, DbResult};
use crate::domain::{
    AccessibilityNeed, BoundaryCache, Coordinates, ErrorCode, Invalid, PreferredWindow, Priority,
    RegionClock, RequestStatus,
};

/// A new request as the citizen sent it, parsed, before the checks that need its region and
/// service kind.
#[derive(Debug, Clone)]
pub struct Admission {
    pub citizen_id: i64,
    pub region_id: i64,
    pub service_kind_id: i64,
    pub location: Coordinates,
    pub address: String,
    pub notes: Option<String>,
    /// Each at most once.
    pub needs: Vec<AccessibilityNeed>,
    pub earliest_date: NaiveDate,
    pub deadline: NaiveDate,
    pub preferred_windows: Vec<PreferredWindow>,
    /// The `Idempotency-Key`, and a hash of the body it was sent with.
    pub idempotency: Option<(String, String)>,
}

/// A request stored by this call, or (a retry) the one stored first under its key.
#[derive(Debug)]
pub enum Intake {
    New(RequestRow),
    Replayed(RequestRow),
}

/// Store `admission` in one transaction; 422 when the region or service kind is unknown, the
/// pin outside the region or the dates unsuitable, 422 `idempotency_key_reused` when its key
/// was used for another body, 409 `too_many_open_requests` when the citizen already has
/// `open_cap` open requests (a replay of a stored key still answers the first result).
pub async fn submit(
    db: &Db,
    boundaries: Arc<BoundaryCache>,
    actor: Actor,
    admission: Admission,
    open_cap: i64,
) -> WorkflowResult<Intake> {
    let idempotency = admission.idempotency.clone();
    let citizen_id = admission.citizen_id;
    let outcome = db
        .write(move |conn| {
            check_open_cap(conn, citizen_id, admission.idempotency.as_ref(), open_cap)?;
            let (region, kind) =
                catalog::region_with_kind(conn, admission.region_id, admission.service_kind_id)?;
            match admit(admission, &boundaries, region, kind) {
                Ok(new) => requests::insert(conn, &actor, new).map(Ok),
                // A request that fails a check commits nothing.
                Err(refused) => Ok(Err(refused)),
            }
        })
        .await;
    let created = match outcome {
        Ok(Ok(created)) => created,
        Ok(Err(refused)) => return Err(refused),
        // Two concurrent creates with one key: the loser answers with the winner's row.
        Err(DbError::Duplicate(_)) if idempotency.is_some() => {
            let (key, fingerprint) = idempotency.unwrap_or_default();
            db.read(move |conn| {
                requests::resolve_key_race(conn, citizen_id, &key, Some(&fingerprint))
            })
            .await?
        }
        Err(DbError::NotFound) => {
            return Err(
                Invalid::new("region_id", ErrorCode::UnknownReference, "no such region").into(),
            )
        }
        Err(e) => return Err(e.into()),
    };
    match created {
        Created::New(row) => Ok(Intake::New(row)),
        Created::Replayed(row) => Ok(Intake::Replayed(row)),
        Created::KeyReused => Err(Invalid::new(
            "Idempotency-Key",
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was already used for a different request",
        )
        .into()),
    }
}

/// Refuses a new request once the citizen has `cap` open ones. The citizen's account lock is
/// taken first, so creates at once count each other; a replay of a key already used passes
/// (the insert answers it with the first).
fn check_open_cap(
    conn: &mut DbConnection,
    citizen_id: i64,
    idempotency: Option<&(String, String)>,
    cap: i64,
) -> DbResult<()> {
    db::lock_account(conn, citizen_id)?;
    let open = requests::open_count(conn, citizen_id)?;
    if open < cap {
        return Ok(());
    }
    if let Some((key, _)) = idempotency {
        if requests::find_by_key(conn, citizen_id, key)?.is_some() {
            return Ok(());
        }
    }
    Err(DbError::Refused {
        code: ErrorCode::TooManyOpenRequests,
        message: format!(
            "you have {open} open visit requests, as many as allowed: cancel one or wait for a visit"
        ),
    })
}

/// The row to store, once the service kind belongs to the region and is active, the pin is
/// inside the region's boundary, and the dates suit the region's calendar.
fn admit(
    admission: Admission,
    boundaries: &BoundaryCache,
    region: RegionRow,
    kind: Option<ServiceKindRow>,
) -> WorkflowResult<NewRequest> {
    let kind = kind.filter(|k| k.active).ok_or_else(|| {
        Invalid::new(
            "service_kind_id",
            ErrorCode::UnknownReference,
            "no such service in this region",
        )
    })?;
    if let Some(geojson) = &region.boundary_geojson {
        let boundary = boundaries
            .get(region.id, geojson)
            .map_err(|e| DbError::Corrupt(format!("boundary of region {}: {e}", region.id)))?;
        if !boundary.contains(admission.location) {
            return Err(Invalid::new(
                "location",
                ErrorCode::OutsideRegion,
                "the pin is outside the region's boundary",
            )
            .into());
        }
    }
    let clock = RegionClock::of_zone(&region.time_zone)
        .map_err(|e| DbError::Corrupt(format!("time zone of region {}: {e}", region.id)))?;
    check_dates(admission.earliest_date, admission.deadline, clock.today())?;
    let windows = PreferredWindow::validate_all(
        "preferred_windows",
        admission.preferred_windows,
        admission.earliest_date,
        admission.deadline,
    )?;
    // Bedridden citizens cannot wait long: they start one step up.
    let priority = if admission.needs.contains(&AccessibilityNeed::Bedridden) {
        Priority::High
    } else {
        Priority::Normal
    };
    let stored = |what: &str, e: serde_json::Error| {
        WorkflowError::Db(DbError::Corrupt(format!("{what} not storable: {e}")))
    };
    let now = db::now();
    let (idempotency_key, idempotency_fingerprint) = admission.idempotency.unzip();
    Ok(NewRequest {
        citizen_id: admission.citizen_id,
        region_id: region.id,
        service_kind_id: kind.id,
        lat: admission.location.lat,
        lon: admission.location.lon,
        address: admission.address,
        notes: admission.notes,
        accessibility_needs: serde_json::to_string(&admission.needs)
            .map_err(|e| stored("needs", e))?,
        priority,
        earliest_date: admission.earliest_date,
        deadline: admission.deadline,
        preferred_windows: serde_json::to_string(&windows).map_err(|e| stored("windows", e))?,
        status: RequestStatus::Submitted,
        version: 1,
        idempotency_fingerprint,
        idempotency_key,
        created_at: now,
        updated_at: now,
    })
}

/// The dates against today in the region's zone: no past days, deadline after start, at most
/// a year ahead.
fn check_dates(earliest: NaiveDate, deadline: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    if earliest < today {
        return Err(Invalid::new(
            "earliest_date",
            ErrorCode::DateInPast,
            "must be today or later (in the region's time zone)",
        ));
    }
    if deadline < earliest {
        return Err(Invalid::new(
            "deadline",
            ErrorCode::DeadlineBeforeEarliest,
            "must not be before earliest_date",
        ));
    }
    if deadline > today + chrono::Duration::days(365) {
        return Err(Invalid::new(
            "deadline",
            ErrorCode::TooFarAhead,
            "must be within a year",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_against_today() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let today = d("2026-11-22");
        assert!(check_dates(d("2026-11-22"), d("2026-11-30"), today).is_ok());
        assert_eq!(
            check_dates(d("2026-11-21"), d("2026-11-30"), today)
                .unwrap_err()
                .code,
            ErrorCode::DateInPast
        );
        assert_eq!(
            check_dates(d("2026-11-25"), d("2026-11-24"), today)
                .unwrap_err()
                .code,
            ErrorCode::DeadlineBeforeEarliest
        );
        assert_eq!(
            check_dates(d("2026-11-25"), d("2027-12-24"), today)
                .unwrap_err()
                .code,
            ErrorCode::TooFarAhead
        );
    }
}
