//! The ONLY place that maps errors to HTTP. Every error body is `{code, message, field?}` with a
//! stable snake_case `code`; 4xx for the caller's mistakes; a 5xx says nothing of the cause to
//! the client (the cause goes to the log, with the request id).

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbError;
use crate::domain::{ErrorCode, Invalid};

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

/// What the log sees of an error is its status, code and field ([`fmt::Debug`] and
/// [`fmt::Display`], which the request logger prints): never the message, which may quote what
/// the caller sent (a phone number in the wrong type, a name that was too long).
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// The methods the path serves, for the `Allow` header of a 405.
    pub allow: Option<String>,
    /// What the error is about, for a `Location` header (the plan still running).
    pub location: Option<String>,
}

/// The HTTP status of each error code: the one place that decides it. Written with the short
/// alias `C` so that the dead-code check in `tests/api/contract.rs`, which looks for
/// `ErrorCode::X` in the code that answers with it, does not count this table.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::InvalidJson | C::MissingHeader | C::InvalidQuery | C::InvalidRequest => {
            StatusCode::BAD_REQUEST
        }
        C::Unauthenticated | C::InvalidCode | C::CodeExpired | C::InvalidRefreshToken => {
            StatusCode::UNAUTHORIZED
        }
        C::Forbidden | C::AccountDeactivated => StatusCode::FORBIDDEN,
        C::NotFound => StatusCode::NOT_FOUND,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::VersionConflict
        | C::AlreadyExists
        | C::PlanOutdated
        | C::PlanAlreadyPublished
        | C::PlanInProgress
        | C::InvalidState
        | C::StopVisited
        | C::RouteLocked
        | C::TeamAbsent
        | C::VisitInProgress => StatusCode::CONFLICT,
        C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::ValidationFailed
        | C::Required
        | C::TooShort
        | C::TooLong
        | C::TooMany
        | C::InvalidCharacters
        | C::InvalidFormat
        | C::InvalidPhone
        | C::OutOfRange
        | C::OutsideRegion
        | C::UnknownReference
        | C::UnknownTimeZone
        | C::NotOnRoute
        | C::InvalidOrder
        | C::NoShift
        | C::InvalidBoundary
        | C::DateInPast
        | C::DeadlineBeforeEarliest
        | C::TooFarAhead
        | C::OutsideAllowedDates
        | C::InvalidRange
        | C::DuplicateWindow
        | C::DuplicateDay
        | C::OutsideShift
        | C::InvalidDuration
        | C::IdempotencyKeyReused
        | C::PhoneUnreachable
        | C::WrongPassword => StatusCode::UNPROCESSABLE_ENTITY,
        C::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
        C::TooManyAttempts
        | C::TooManyCodes
        | C::RateLimited
        | C::TooManyRequests
        | C::TooManyOpenRequests => StatusCode::TOO_MANY_REQUESTS,
        C::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        C::DatabaseUnavailable | C::SmsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Every error code with its meaning as the OpenAPI `x-error-codes` extension lists it:
/// `"<status>: <description>"`.
pub fn documented_codes() -> impl Iterator<Item = (&'static str, String)> {
    ErrorCode::ALL.iter().map(|&code| {
        (
            code.as_str(),
            format!("{}: {}", status_of(code).as_u16(), code.description()),
        )
    })
}

impl ApiError {
    /// An error answered with `code`'s status; a 503 asks the client to retry in 30 s.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let retry_after = (status_of(code) == StatusCode::SERVICE_UNAVAILABLE).then_some(30);
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after,
            allow: None,
            location: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.code)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "your role may not do this")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// 405 for a known path asked with a method it does not serve; `allow` lists the ones it
    /// does (e.g. `GET, PATCH`).
    pub fn method_not_allowed(method: &str, path: &str, allow: String) -> Self {
        let mut e = Self::new(
            ErrorCode::MethodNotAllowed,
            format!("{path} does not accept {method}; it accepts {allow}"),
        );
        e.allow = Some(allow);
        e
    }

    /// A server-side failure: the cause is logged here and never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            ErrorCode::InternalError,
            "something went wrong on our side; please try again",
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.code)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status().as_u16())
            .field("code", &self.code.as_str())
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status();
        let mut builder = HttpResponse::build(status);
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(allow) = &self.allow {
            builder.insert_header((header::ALLOW, allow.as_str()));
        }
        if let Some(location) = &self.location {
            builder.insert_header((header::LOCATION, location.as_str()));
        }
        if status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        builder.json(ErrorBody {
            code: self.code.as_str().to_string(),
            message: self.message.clone(),
            field: self.field.clone(),
        })
    }
}

impl From<crate::auth::hashing::HashingError> for ApiError {
    fn from(e: crate::auth::hashing::HashingError) -> Self {
        use crate::auth::hashing::HashingError;
        match e {
            HashingError::Busy => ApiError::new(
                ErrorCode::TooManyRequests,
                "too many sign-ins at once; retry in a moment",
            )
            .with_retry_after(2),
            HashingError::Failed(cause) => ApiError::internal(cause),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::new(e.code, e.message).with_field(e.field)
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::not_found("resource"),
            DbError::VersionConflict { current } => ApiError::new(
                ErrorCode::VersionConflict,
                format!("this was changed by someone else; the current version is {current}: reload and try again"),
            ),
            DbError::Duplicate(what) => ApiError::new(ErrorCode::AlreadyExists, format!("a {what} with these details already exists")),
            DbError::Refused { code, message } => ApiError::new(code, message),
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection,
                cause,
            )) => {
                tracing::error!(error = %cause.message(), "database connection lost");
                ApiError::new(ErrorCode::DatabaseUnavailable, "the database is busy or unreachable; please retry")
            }
            DbError::Pool(e) => {
                tracing::error!(error = %e, "database pool exhausted or unreachable");
                ApiError::new(ErrorCode::DatabaseUnavailable, "the database is busy or unreachable; please retry")
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::workflow::WorkflowError> for ApiError {
    fn from(e: crate::workflow::WorkflowError) -> Self {
        use crate::workflow::WorkflowError;
        match e {
            WorkflowError::Invalid(invalid) => invalid.into(),
            WorkflowError::Db(e) => e.into(),
        }
    }
}

impl From<crate::planning::dispatch::EditError> for ApiError {
    fn from(e: crate::planning::dispatch::EditError) -> Self {
        use crate::planning::dispatch::EditError;
        match e {
            EditError::NotFound(what) => ApiError::not_found(what),
            EditError::Conflict { code, message } => ApiError::new(code, message),
            EditError::Invalid(invalid) => invalid.into(),
            EditError::Internal(cause) => ApiError::internal(cause),
        }
    }
}
