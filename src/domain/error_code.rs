//! Every error code the service can answer with, once. The api layer maps each to its HTTP status
//! (`api/error.rs`, the only place that knows HTTP); the db and workflow layers name the code
//! of a refusal with a variant, never with a string. The text (`as_str`) is the stable `code` of
//! the JSON error body; the description is what the OpenAPI `x-error-codes` extension says of it.

use std::fmt;

macro_rules! error_codes {
    ($($variant:ident => $text:literal, $description:literal;)+) => {
        /// A stable, machine-readable error code (snake_case on the wire).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(#[doc = $description] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order the documentation lists them.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The code as the JSON body carries it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)+
                }
            }

            /// What the code means, for the API documentation (without the HTTP status).
            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $description,)+
                }
            }
        }
    };
}

error_codes! {
    InvalidJson => "invalid_json", "the body is not valid JSON, has an unknown field or a wrong type";
    MissingHeader => "missing_header", "a header (If-Match, Idempotency-Key) is malformed";
    InvalidQuery => "invalid_query", "a query parameter is malformed";
    InvalidRequest => "invalid_request", "the request cannot be attributed to a client address";
    Unauthenticated => "unauthenticated", "no, an expired or an invalid access token, or wrong credentials";
    InvalidCode => "invalid_code", "the sign-in code is wrong";
    CodeExpired => "code_expired", "the sign-in code has expired or none was requested";
    InvalidRefreshToken => "invalid_refresh_token", "the refresh token is unknown, expired or revoked";
    Forbidden => "forbidden", "the role may not do this";
    AccountDeactivated => "account_deactivated", "the account is deactivated; an administrator can reactivate it";
    WrongPassword => "wrong_password", "the current password given is not right";
    NotFound => "not_found", "no such resource, or not visible to the caller";
    MethodNotAllowed => "method_not_allowed", "the path does not accept that method; `Allow` lists those it does";
    VersionConflict => "version_conflict", "the resource changed since the caller's copy (If-Match)";
    AlreadyExists => "already_exists", "a unique name or code is taken";
    PlanOutdated => "plan_outdated", "routes or requests the plan was made from changed since; the message says which: plan again";
    PlanAlreadyPublished => "plan_already_published", "the plan was published already (by this or another request)";
    PlanInProgress => "plan_in_progress", "a plan of this region is still queued or running; `Location` names it";
    InvalidState => "invalid_state", "the resource's status does not allow this change";
    StopVisited => "stop_visited", "the team has already been to this stop (started, done or missed): it stays where it is";
    RouteLocked => "route_locked", "the route is locked by a coordinator: unlock it first";
    TeamAbsent => "team_absent", "the team is off that day";
    VisitInProgress => "visit_in_progress", "a team is at one of the citizen's visits now: ask again when it is over";
    PayloadTooLarge => "payload_too_large", "the body is over the size limit";
    UnsupportedMediaType => "unsupported_media_type", "the body is not application/json";
    ValidationFailed => "validation_failed", "a field's value is not acceptable; `field` says which";
    Required => "required", "a required text is empty";
    TooShort => "too_short", "a text or password is too short";
    TooLong => "too_long", "a text is too long";
    TooMany => "too_many", "a list has too many entries";
    InvalidCharacters => "invalid_characters", "a text holds control characters";
    InvalidFormat => "invalid_format", "a code, skill or username has characters outside its alphabet";
    InvalidPhone => "invalid_phone", "not an Indonesian mobile number";
    OutOfRange => "out_of_range", "a number (coordinate, duration, limit) is out of range";
    OutsideRegion => "outside_region", "the map pin is outside the region's boundary";
    UnknownReference => "unknown_reference", "a referenced region, service kind or account does not exist (or is not usable here)";
    UnknownTimeZone => "unknown_time_zone", "not an IANA time-zone name";
    NotOnRoute => "not_on_route", "the request is not a stop of the route named";
    InvalidOrder => "invalid_order", "a new order must list every stop of the route exactly once";
    NoShift => "no_shift", "the team does not work that day";
    InvalidBoundary => "invalid_boundary", "the boundary is not a GeoJSON Polygon or MultiPolygon";
    DateInPast => "date_in_past", "a date is before today in the region's time zone";
    DeadlineBeforeEarliest => "deadline_before_earliest", "the deadline is before the earliest date";
    TooFarAhead => "too_far_ahead", "a date is more than a year ahead";
    OutsideAllowedDates => "outside_allowed_dates", "a preferred day is outside earliest_date..deadline";
    InvalidRange => "invalid_range", "a window ends before it starts";
    DuplicateWindow => "duplicate_window", "the same preferred window twice";
    DuplicateDay => "duplicate_day", "a weekday appears twice in a shift pattern";
    OutsideShift => "outside_shift", "a break window is not inside its shift";
    InvalidDuration => "invalid_duration", "a break does not fit its window";
    IdempotencyKeyReused => "idempotency_key_reused", "the Idempotency-Key was used before with a different body";
    PhoneUnreachable => "phone_unreachable", "the SMS gateway refused the number";
    PreconditionRequired => "precondition_required", "If-Match with the resource version is required";
    TooManyAttempts => "too_many_attempts", "too many wrong codes; request a new one";
    TooManyCodes => "too_many_codes", "too many codes requested for this phone; wait";
    RateLimited => "rate_limited", "too many requests from this client, phone number or username; see Retry-After";
    TooManyRequests => "too_many_requests", "the server is busy with other sign-ins or day re-plans; retry after Retry-After";
    TooManyOpenRequests => "too_many_open_requests", "the citizen has as many open visit requests as allowed; cancel one or wait for a visit";
    InternalError => "internal_error", "a fault on our side";
    DatabaseUnavailable => "database_unavailable", "the database is unreachable";
    SmsUnavailable => "sms_unavailable", "the SMS gateway is unavailable";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_described() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} is used by two variants");
            let snake = !text.is_empty()
                && text.starts_with(|c: char| c.is_ascii_lowercase())
                && !text.ends_with('_')
                && !text.contains("__")
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            assert!(snake, "{text} is not snake_case");
            assert!(
                !code.description().trim().is_empty(),
                "{text} has no description"
            );
        }
    }

    #[test]
    fn the_text_is_the_variant_name_in_snake_case() {
        for code in ErrorCode::ALL {
            let mut snake = String::new();
            for (i, c) in format!("{code:?}").chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            assert_eq!(code.as_str(), snake);
        }
    }
}
