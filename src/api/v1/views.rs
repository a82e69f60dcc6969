//! Response bodies, built from stored rows. Stored JSON columns were written by us from valid
//! domain values, so failing to read one back is corruption (a 500), never the caller's fault.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::error::ApiError;
use crate::db::accounts::DeviceRow;
use crate::db::catalog::{MemberRow, RegionRow, ServiceKindRow, TeamRow};
use crate::db::events::EventRow;
use crate::db::requests::RequestRow;
use crate::domain::{
    AccessibilityNeed, Coordinates, Platform, PreferredWindow, Priority, RegionClock,
    RequestStatus, Role, VehicleProfile, WeeklyShiftPattern,
};

pub fn utc(t: chrono::NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

fn stored<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, ApiError> {
    serde_json::from_str(json)
        .map_err(|e| ApiError::internal(format!("stored {what} unreadable: {e}")))
}

/// The clock of a region's stored zone name.
pub(crate) fn region_clock(time_zone: &str) -> Result<RegionClock, ApiError> {
    RegionClock::of_zone(time_zone).map_err(|e| {
        ApiError::internal(format!(
            "stored time zone {time_zone} unreadable: {}",
            e.message
        ))
    })
}

fn stored_enum<T: std::str::FromStr<Err = String>>(what: &str, text: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|e| ApiError::internal(format!("stored {what} unreadable: {e}")))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct VisitRequestView {
    pub id: i64,
    pub region_id: i64,
    pub service_kind_id: i64,
    pub location: Coordinates,
    pub address: String,
    /// Shown to the citizen who wrote them and to staff of the region.
    pub notes: Option<String>,
    pub accessibility_needs: Vec<AccessibilityNeed>,
    pub priority: Priority,
    pub earliest_date: NaiveDate,
    pub deadline: NaiveDate,
    pub preferred_windows: Vec<PreferredWindow>,
    pub status: RequestStatus,
    /// Send as `If-Match` when changing this request.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<RequestRow> for VisitRequestView {
    type Error = ApiError;
    fn try_from(r: RequestRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: r.id,
            region_id: r.region_id,
            service_kind_id: r.service_kind_id,
            location: Coordinates {
                lat: r.lat,
                lon: r.lon,
            },
            address: r.address,
            notes: r.notes,
            accessibility_needs: stored("accessibility_needs", &r.accessibility_needs)?,
            priority: r.priority,
            earliest_date: r.earliest_date,
            deadline: r.deadline,
            preferred_windows: stored("preferred_windows", &r.preferred_windows)?,
            status: r.status,
            version: r.version,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        })
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct VisitRequestPage {
    pub items: Vec<VisitRequestView>,
    /// How many match the filters in all.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl VisitRequestPage {
    pub fn from_rows(
        rows: Vec<RequestRow>,
        total: i64,
        limit: i64,
        offset: i64,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            items: rows
                .into_iter()
                .map(VisitRequestView::try_from)
                .collect::<Result<_, _>>()?,
            total,
            limit,
            offset,
        })
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    pub action: String,
    /// The account that made the change; none for the system.
    pub actor_id: Option<i64>,
    #[schema(value_type = Object)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub after: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

impl From<EventRow> for EventView {
    fn from(e: EventRow) -> Self {
        Self {
            id: e.id,
            action: e.action.to_string(),
            actor_id: e.actor_id,
            before: e.before_json.and_then(|s| serde_json::from_str(&s).ok()),
            after: e.after_json.and_then(|s| serde_json::from_str(&s).ok()),
            at: utc(e.created_at),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RegionView {
    pub id: i64,
    pub name: String,
    /// IANA zone in which dates and times of day are meant.
    pub time_zone: String,
    pub has_boundary: bool,
}

impl From<RegionRow> for RegionView {
    fn from(r: RegionRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            time_zone: r.time_zone,
            has_boundary: r.boundary_geojson.is_some(),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ServiceKindView {
    pub id: i64,
    pub region_id: i64,
    pub code: String,
    /// Name in Bahasa Indonesia.
    pub name_id: String,
    /// Name in English.
    pub name_en: String,
    pub default_duration_minutes: i32,
    pub required_skill: Option<String>,
    pub active: bool,
    pub version: i32,
}

impl From<ServiceKindRow> for ServiceKindView {
    fn from(k: ServiceKindRow) -> Self {
        Self {
            id: k.id,
            region_id: k.region_id,
            code: k.code,
            name_id: k.name_id,
            name_en: k.name_en,
            default_duration_minutes: k.default_duration_minutes,
            required_skill: k.required_skill,
            active: k.active,
            version: k.version,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub account_id: i64,
    pub username: Option<String>,
    pub display_name: String,
    pub role: Role,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TeamView {
    pub id: i64,
    pub region_id: i64,
    pub name: String,
    pub depot: Coordinates,
    pub vehicle_profile: VehicleProfile,
    pub skills: Vec<String>,
    pub shifts: WeeklyShiftPattern,
    pub max_visits_per_day: i32,
    pub active: bool,
    pub version: i32,
    /// Present when reading one team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MemberView>>,
}

impl TeamView {
    pub fn from_row(t: TeamRow, members: Option<Vec<MemberRow>>) -> Result<Self, ApiError> {
        Ok(Self {
            id: t.id,
            region_id: t.region_id,
            name: t.name,
            depot: Coordinates {
                lat: t.depot_lat,
                lon: t.depot_lon,
            },
            vehicle_profile: stored_enum("vehicle_profile", &t.vehicle_profile)?,
            skills: stored("skills", &t.skills)?,
            shifts: stored("shift_pattern", &t.shift_pattern)?,
            max_visits_per_day: t.max_visits_per_day,
            active: t.active,
            version: t.version,
            members: members
                .map(|ms| {
                    ms.into_iter()
                        .map(|m| {
                            Ok(MemberView {
                                account_id: m.account_id,
                                username: m.username,
                                display_name: m.display_name,
                                role: m.role,
                            })
                        })
                        .collect::<Result<Vec<_>, ApiError>>()
                })
                .transpose()?,
        })
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DeviceView {
    pub id: i64,
    pub platform: Platform,
    pub last_seen_at: DateTime<Utc>,
}

impl TryFrom<DeviceRow> for DeviceView {
    type Error = ApiError;
    fn try_from(d: DeviceRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: d.id,
            platform: stored_enum("platform", &d.platform)?,
            last_seen_at: utc(d.last_seen_at),
        })
    }
}

/// `ETag` value for a version.
pub fn etag(version: i32) -> (actix_web::http::header::HeaderName, String) {
    (actix_web::http::header::ETAG, format!("\"{version}\""))
}
