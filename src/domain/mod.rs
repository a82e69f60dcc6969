//! Domain types: parsed once from wire input, valid thereafter. Each `parse`/`TryFrom` returns a
//! [`Invalid`] naming the field and the reason, which the API layer turns into a 422.

mod area;
pub mod clock;
mod error_code;
mod phone;
mod schedule;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use area::{Boundary, BoundaryCache, Districts, DEMO_DISTRICTS};
pub use clock::RegionClock;
pub use error_code::ErrorCode;
pub use phone::PhoneNumber;
pub use schedule::{BreakRule, DayShift, PreferredWindow, TimeOfDay, Weekday, WeeklyShiftPattern};

/// A rejected input value: which field, and why (a stable `code` plus an English message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub code: ErrorCode,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// Prefix the field with its parent, e.g. `windows[2]` + `start` → `windows[2].start`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Text in the database that no variant of an enum stored as text spells: the row was written
/// by something else, or by a version that knew more values. The db layer reports it as
/// corrupt data (a 500 with the cause in the log), never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStoredValue {
    pub type_name: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownStoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.type_name, self.value)
    }
}

impl std::error::Error for UnknownStoredValue {}

/// A closed set of values spelled in snake_case on the wire and stored as `Text` in the
/// database (on both backends: the impls are generic over any backend that stores `str` as
/// `Text`, which includes the `MultiConnection` backend).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[serde(rename_all = "snake_case")]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $($variant),+ }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text =
                    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(
                        bytes,
                    )?;
                text.parse().map_err(|_| {
                    UnknownStoredValue {
                        type_name: stringify!($name),
                        value: text,
                    }
                    .into()
                })
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown value {other:?}; expected one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What an account may do.
    Role { Citizen => "citizen", Officer => "officer", Coordinator => "coordinator", Admin => "admin" }
);

string_enum!(
    /// Where a visit request is in its life.
    RequestStatus {
        Submitted => "submitted",
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Completed => "completed",
        Missed => "missed",
        Cancelled => "cancelled",
    }
);

impl RequestStatus {
    /// A citizen may cancel until the team has started the visit.
    pub fn is_cancellable(self) -> bool {
        matches!(
            self,
            RequestStatus::Submitted | RequestStatus::Scheduled | RequestStatus::Missed
        )
    }

    /// The team has been there: the visit started or is done. Plans keep such a stop where it
    /// is, and nobody may move it.
    pub fn is_visited(self) -> bool {
        matches!(self, RequestStatus::InProgress | RequestStatus::Completed)
    }

    /// Preferred days still matter only before the visit is planned for good.
    pub fn accepts_preference_changes(self) -> bool {
        matches!(
            self,
            RequestStatus::Submitted | RequestStatus::Scheduled | RequestStatus::Missed
        )
    }
}

string_enum!(
    /// How urgently a visit is needed; the planner serves urgent work first.
    Priority { Urgent => "urgent", High => "high", Normal => "normal", Low => "low" }
);

string_enum!(
    /// How a team travels; sets speed and road circuity for the planner.
    VehicleProfile { Motorbike => "motorbike", Car => "car", Boat => "boat", OnFoot => "on_foot" }
);

string_enum!(
    /// The phone platform a push token belongs to.
    Platform { Android => "android", Ios => "ios", Web => "web" }
);

string_enum!(
    /// What a field team reports from a stop (or, for `position`, from the road).
    FieldEventKind {
        Arrived => "arrived",
        Started => "started",
        Completed => "completed",
        CitizenAbsent => "citizen_absent",
        CouldNotComplete => "could_not_complete",
        Position => "position",
    }
);

string_enum!(
    /// What a region's live feed reports to the coordinators' consoles (`region_feed.kind`,
    /// the `event:` name on the stream).
    LiveEventKind {
        RouteChanged => "route_changed",
        FieldReport => "field_report",
        OnTheWay => "on_the_way",
        Position => "position",
        PlanProgress => "plan_progress",
        EtaUpdate => "eta_update",
    }
);

string_enum!(
    /// What a queued push announces: the outbox row's `kind`. A field report's push keeps the
    /// report's name (`completed`, `citizen_absent`, `could_not_complete`).
    PushKind {
        RouteChanged => "route_changed",
        VisitScheduled => "visit_scheduled",
        VisitUnscheduled => "visit_unscheduled",
        VisitOnTheWay => "visit_on_the_way",
        Completed => "completed",
        CitizenAbsent => "citizen_absent",
        CouldNotComplete => "could_not_complete",
    }
);

string_enum!(
    /// What happened, as the event trail records it (`event.action`).
    EventAction {
        Created => "created",
        Updated => "updated",
        MemberAdded => "member_added",
        MemberRemoved => "member_removed",
        // Accounts.
        Deactivated => "deactivated",
        Reactivated => "reactivated",
        PasswordSet => "password_set",
        // Planning jobs.
        Requested => "requested",
        PlanningStarted => "planning_started",
        Planned => "planned",
        PlanningFailed => "planning_failed",
        PlanningRequeued => "planning_requeued",
        Published => "published",
        // A request's life.
        Cancelled => "cancelled",
        PreferredWindowsChanged => "preferred_windows_changed",
        PriorityChanged => "priority_changed",
        Scheduled => "scheduled",
        Rescheduled => "rescheduled",
        Unscheduled => "unscheduled",
        StopCancelled => "stop_cancelled",
        // A citizen's personal data removed at their request (UU 27/2022).
        Erased => "erased",
        // Field reports (as `FieldEventKind` spells them).
        Arrived => "arrived",
        Started => "started",
        Completed => "completed",
        CitizenAbsent => "citizen_absent",
        CouldNotComplete => "could_not_complete",
        Position => "position",
        // Coordinators' changes to routes and days.
        StopMoved => "stop_moved",
        StopsReordered => "stops_reordered",
        StopsSwapped => "stops_swapped",
        StopPinned => "stop_pinned",
        StopUnpinned => "stop_unpinned",
        RouteLocked => "route_locked",
        RouteUnlocked => "route_unlocked",
        TeamAbsent => "team_absent",
        Absent => "absent",
        AbsenceRemoved => "absence_removed",
        DayReplanned => "day_replanned",
    }
);

impl From<FieldEventKind> for EventAction {
    fn from(kind: FieldEventKind) -> Self {
        match kind {
            FieldEventKind::Arrived => EventAction::Arrived,
            FieldEventKind::Position => EventAction::Position,
            FieldEventKind::Started => EventAction::Started,
            FieldEventKind::Completed => EventAction::Completed,
            FieldEventKind::CitizenAbsent => EventAction::CitizenAbsent,
            FieldEventKind::CouldNotComplete => EventAction::CouldNotComplete,
        }
    }
}

string_enum!(
    /// Where a planning job is: waiting for a runner, being solved, finished with a draft, or
    /// failed with the reason.
    PlanStatus { Queued => "queued", Running => "running", Done => "done", Failed => "failed" }
);

string_enum!(
    /// Where a queued push is: waiting (or waiting to be retried), claimed by a worker, sent,
    /// failed for good, dropped because FCM no longer knows the token, or undeliverable (no FCM
    /// configured).
    // `device_removed`: the phone was removed from the account, or its token moved to another
    // account, before the push went out; it is not sent to whoever holds the phone now.
    OutboxStatus {
        Pending => "pending",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
        TokenDropped => "token_dropped",
        Undeliverable => "undeliverable",
        DeviceRemoved => "device_removed",
    }
);

string_enum!(
    /// Language of messages shown to people. Bahasa Indonesia first.
    Language { Id => "id", En => "en" }
);

string_enum!(
    /// Needs the team should know before it arrives.
    AccessibilityNeed {
        Bedridden => "bedridden",
        Wheelchair => "wheelchair",
        HearingImpaired => "hearing_impaired",
        VisuallyImpaired => "visually_impaired",
        NeedsInterpreter => "needs_interpreter",
        NeedsCompanion => "needs_companion",
    }
);

/// A point on earth (WGS84), range-checked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    /// Latitude in degrees, −90..90.
    pub lat: f64,
    /// Longitude in degrees, −180..180.
    pub lon: f64,
}

impl Coordinates {
    pub fn parse(lat: f64, lon: f64) -> Result<Self, Invalid> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(Invalid::new(
                "lat",
                ErrorCode::OutOfRange,
                "latitude must be between -90 and 90",
            ));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(Invalid::new(
                "lon",
                ErrorCode::OutOfRange,
                "longitude must be between -180 and 180",
            ));
        }
        Ok(Self { lat, lon })
    }
}

/// Trimmed text with a length bound (in characters); `min` 0 allows empty.
pub fn bounded_text(field: &str, value: &str, min: usize, max: usize) -> Result<String, Invalid> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(Invalid::new(
            field,
            if min == 1 {
                ErrorCode::Required
            } else {
                ErrorCode::TooShort
            },
            format!("must be at least {min} characters"),
        ));
    }
    if len > max {
        return Err(Invalid::new(
            field,
            ErrorCode::TooLong,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Invalid::new(
            field,
            ErrorCode::InvalidCharacters,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_string())
}

/// A lowercase identifier such as a skill or a service-kind code: `[a-z0-9_-]{1,40}`.
pub fn slug(field: &str, value: &str) -> Result<String, Invalid> {
    let ok = !value.is_empty()
        && value.len() <= 40
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(value.to_string())
    } else {
        Err(Invalid::new(
            field,
            ErrorCode::InvalidFormat,
            "must be 1-40 characters of a-z, 0-9, _ or -",
        ))
    }
}

/// A list of distinct skills, at most 20.
pub fn skill_set(field: &str, values: &[String]) -> Result<Vec<String>, Invalid> {
    if values.len() > 20 {
        return Err(Invalid::new(field, ErrorCode::TooMany, "at most 20 skills"));
    }
    let mut skills = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let skill = slug(&format!("{field}[{i}]"), value)?;
        if !skills.contains(&skill) {
            skills.push(skill);
        }
    }
    skills.sort();
    Ok(skills)
}

/// A staff username: 3-40 characters of a-z, 0-9, `.`, `_`, `-`.
pub fn username(value: &str) -> Result<String, Invalid> {
    let ok = (3..=40).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(value.to_string())
    } else {
        Err(Invalid::new(
            "username",
            ErrorCode::InvalidFormat,
            "must be 3-40 characters of a-z, 0-9, '.', '_' or '-'",
        ))
    }
}

/// A new staff password: 10-128 characters.
pub fn new_password(value: &str) -> Result<String, Invalid> {
    let len = value.chars().count();
    if len < 10 {
        return Err(Invalid::new(
            "password",
            ErrorCode::TooShort,
            "must be at least 10 characters",
        ));
    }
    if len > 128 {
        return Err(Invalid::new(
            "password",
            ErrorCode::TooLong,
            "must be at most 128 characters",
        ));
    }
    Ok(value.to_string())
}

/// A phone's FCM registration token: about 150–250 URL-safe characters (bounded generously).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushToken(String);

impl PushToken {
    pub fn parse(value: &str) -> Result<PushToken, Invalid> {
        let token = value.trim();
        if token.len() < 20 || token.len() > 4096 || !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Invalid::new(
                "token",
                ErrorCode::InvalidFormat,
                "not an FCM registration token",
            ));
        }
        Ok(PushToken(token.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time-zone name that chrono-tz knows, e.g. `Asia/Jakarta`.
pub fn time_zone(value: &str) -> Result<chrono_tz::Tz, Invalid> {
    value.parse::<chrono_tz::Tz>().map_err(|_| {
        Invalid::new(
            "time_zone",
            ErrorCode::UnknownTimeZone,
            "must be an IANA time-zone name such as Asia/Jakarta",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_range_checked() {
        assert!(Coordinates::parse(-7.8, 110.1).is_ok());
        assert_eq!(Coordinates::parse(91.0, 0.0).unwrap_err().field, "lat");
        assert_eq!(Coordinates::parse(0.0, -181.0).unwrap_err().field, "lon");
        assert_eq!(
            Coordinates::parse(f64::NAN, 0.0).unwrap_err().code,
            ErrorCode::OutOfRange
        );
    }

    #[test]
    fn bounded_text_trims_and_bounds() {
        assert_eq!(bounded_text("a", "  x ", 1, 5).unwrap(), "x");
        assert_eq!(
            bounded_text("a", "   ", 1, 5).unwrap_err().code,
            ErrorCode::Required
        );
        assert_eq!(
            bounded_text("a", "abcdef", 1, 5).unwrap_err().code,
            ErrorCode::TooLong
        );
        assert_eq!(
            bounded_text("a", "a\u{0}b", 1, 5).unwrap_err().code,
            ErrorCode::InvalidCharacters
        );
    }

    #[test]
    fn enums_round_trip() {
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>().unwrap(), *p);
        }
        assert!("sometimes".parse::<Priority>().is_err());
    }

    #[test]
    fn skills_are_slugs_and_deduplicated() {
        let s = skill_set("skills", &["b".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(s, vec!["a", "b"]);
        assert_eq!(
            skill_set("skills", &["Bad Skill".into()])
                .unwrap_err()
                .field,
            "skills[0]"
        );
    }

    #[test]
    fn time_zones_are_iana() {
        assert!(time_zone("Asia/Jakarta").is_ok());
        assert!(time_zone("Mars/Olympus").is_err());
    }
}
