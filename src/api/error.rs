//! The ONLY place that maps errors to HTTP. Every error body is `{code, message, field?}` with a
//! stable snake_case `code`; 4xx for the caller's mistakes; a 5xx says nothing of the cause to
//! the client (the cause goes to the log, with the request id).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbError;
use crate::domain::Invalid;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`, `version_conflict`.
    pub code: String,
    /// Human-readable explanation (English).
    pub message: String,
    /// The offending input field, as a path such as `preferred_windows[1].date`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// The methods the path serves, for the `Allow` header of a 405.
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            allow: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role may not do this",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 405 for a known path asked with a method it does not serve; `allow` lists the ones it
    /// does (e.g. `GET, PATCH`).
    pub fn method_not_allowed(method: &str, path: &str, allow: String) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{path} does not accept {method}; it accepts {allow}"),
        );
        e.allow = Some(allow);
        e
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, code, message);
        e.retry_after = Some(retry_after);
        e
    }

    /// A server-side failure: the cause is logged here and never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; please try again",
        )
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        e.retry_after = Some(30);
        e
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(allow) = &self.allow {
            builder.insert_header((header::ALLOW, allow.as_str()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        builder.json(ErrorBody {
            code: self.code.to_string(),
            message: self.message.clone(),
            field: self.field.clone(),
        })
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::unprocessable(e.code, e.message).with_field(e.field)
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::not_found("resource"),
            DbError::VersionConflict { current } => ApiError::conflict(
                "version_conflict",
                format!("this was changed by someone else; the current version is {current}: reload and try again"),
            ),
            DbError::Duplicate(what) => ApiError::conflict("already_exists", format!("a {what} with these details already exists")),
            DbError::Refused { code, message } => ApiError::conflict(code, message),
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection,
                cause,
            )) => {
                tracing::error!(error = %cause.message(), "database connection lost");
                ApiError::unavailable("database_unavailable", "the database is busy or unreachable; please retry")
            }
            DbError::Pool(e) => {
                tracing::error!(error = %e, "database pool exhausted or unreachable");
                ApiError::unavailable("database_unavailable", "the database is busy or unreachable; please retry")
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::planning::dispatch::EditError> for ApiError {
    fn from(e: crate::planning::dispatch::EditError) -> Self {
        use crate::planning::dispatch::EditError;
        match e {
            EditError::NotFound(what) => ApiError::not_found(what),
            EditError::Conflict { code, message } => ApiError::conflict(code, message),
            EditError::Invalid(invalid) => invalid.into(),
            EditError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

/// Every error code the API can return, for the OpenAPI description.
pub const ERROR_CODES: &[(&str, &str)] = &[
    (
        "invalid_json",
        "400: the body is not valid JSON, has an unknown field or a wrong type",
    ),
    (
        "missing_header",
        "400/428: a required header (If-Match, Idempotency-Key format) is missing or malformed",
    ),
    ("invalid_query", "400: a query parameter is malformed"),
    (
        "invalid_request",
        "400: the request cannot be attributed to a client address",
    ),
    (
        "unauthenticated",
        "401: no, an expired or an invalid access token, or wrong credentials",
    ),
    ("invalid_code", "401: the sign-in code is wrong"),
    (
        "code_expired",
        "401: the sign-in code has expired or none was requested",
    ),
    (
        "invalid_refresh_token",
        "401: the refresh token is unknown, expired or revoked",
    ),
    ("forbidden", "403: the role may not do this"),
    (
        "not_found",
        "404: no such resource, or not visible to the caller",
    ),
    (
        "method_not_allowed",
        "405: the path does not accept that method",
    ),
    (
        "version_conflict",
        "409: the resource changed since the caller's copy (If-Match)",
    ),
    ("already_exists", "409: a unique name or code is taken"),
    (
        "plan_outdated",
        "409: routes or requests changed after the plan was made; the message says which: plan again",
    ),
    (
        "plan_already_published",
        "409: the plan was published already (by this or another request)",
    ),
    (
        "invalid_state",
        "409: the resource's status does not allow this change",
    ),
    (
        "stop_visited",
        "409: the team has already been to this stop (started, done or missed): it stays where it is",
    ),
    (
        "route_locked",
        "409: the route is locked by a coordinator: unlock it first",
    ),
    ("team_absent", "409: the team is off that day"),
    ("payload_too_large", "413: the body is over the size limit"),
    (
        "unsupported_media_type",
        "415: the body is not application/json",
    ),
    (
        "validation_failed",
        "422: a field's value is not acceptable; `field` says which",
    ),
    ("required", "422: a required text is empty"),
    ("too_short", "422: a text or password is too short"),
    ("too_long", "422: a text is too long"),
    ("too_many", "422: a list has too many entries"),
    ("invalid_characters", "422: a text holds control characters"),
    (
        "invalid_format",
        "422: a code, skill or username has characters outside its alphabet",
    ),
    ("invalid_phone", "422: not an Indonesian mobile number"),
    (
        "out_of_range",
        "422: a number (coordinate, duration, limit) is out of range",
    ),
    (
        "outside_region",
        "422: the map pin is outside the region's boundary",
    ),
    (
        "unknown_reference",
        "422: a referenced region, service kind or account does not exist (or is not usable here)",
    ),
    ("unknown_time_zone", "422: not an IANA time-zone name"),
    (
        "not_on_route",
        "422: the request is not a stop of the route named",
    ),
    (
        "invalid_order",
        "422: a new order must list every stop of the route exactly once",
    ),
    ("no_shift", "422: the team does not work that day"),
    (
        "invalid_boundary",
        "422: the boundary is not a GeoJSON Polygon or MultiPolygon",
    ),
    (
        "date_in_past",
        "422: a date is before today in the region's time zone",
    ),
    (
        "deadline_before_earliest",
        "422: the deadline is before the earliest date",
    ),
    ("too_far_ahead", "422: a date is more than a year ahead"),
    (
        "outside_allowed_dates",
        "422: a preferred day is outside earliest_date..deadline",
    ),
    ("invalid_range", "422: a window ends before it starts"),
    ("duplicate_window", "422: the same preferred window twice"),
    (
        "duplicate_day",
        "422: a weekday appears twice in a shift pattern",
    ),
    (
        "outside_shift",
        "422: a break window is not inside its shift",
    ),
    ("invalid_duration", "422: a break does not fit its window"),
    (
        "idempotency_key_reused",
        "422: the Idempotency-Key was used before with a different body",
    ),
    (
        "phone_unreachable",
        "422: the SMS gateway refused the number",
    ),
    (
        "precondition_required",
        "428: If-Match with the resource version is required",
    ),
    (
        "too_many_attempts",
        "429: too many wrong codes; request a new one",
    ),
    (
        "too_many_codes",
        "429: too many codes requested for this phone; wait",
    ),
    (
        "rate_limited",
        "429: too many requests from this client; see Retry-After",
    ),
    ("internal_error", "500: a fault on our side"),
    ("database_unavailable", "503: the database is unreachable"),
    ("sms_unavailable", "503: the SMS gateway is unavailable"),
];
