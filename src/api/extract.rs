//! Request extractors: who is calling ([`Principal`]), a strict JSON body ([`ValidJson`]) whose
//! errors name the offending field, the `If-Match` version, and the `Idempotency-Key`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::AppState;
use crate::auth::sessions::SessionState;
use crate::db::accounts;
use crate::db::events::Actor;
use crate::domain::ErrorCode;
use crate::domain::Role;

/// The signed-in caller, from `Authorization: Bearer <access token>`.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: i64,
    pub role: Role,
    /// The staff member's region (officers, coordinators).
    pub region_id: Option<i64>,
    pub request_id: Option<String>,
    /// When the access token expires (Unix seconds): a long-lived answer such as the live
    /// stream ends then, so a signed-out session does not keep watching.
    pub expires_at: i64,
}

impl Principal {
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// May the caller see things in `region_id`? Admins see all; staff their own region.
    pub fn sees_region(&self, region_id: i64) -> bool {
        self.role == Role::Admin
            || (self.role != Role::Citizen && self.region_id == Some(region_id))
    }

    /// The region a coordinator works on: their own; an admin must name one.
    pub fn managed_region(&self, requested: Option<i64>) -> Result<i64, ApiError> {
        match self.role {
            Role::Coordinator => match (self.region_id, requested) {
                (Some(own), Some(r)) if r != own => Err(ApiError::forbidden()),
                (Some(own), _) => Ok(own),
                (None, _) => Err(ApiError::forbidden()),
            },
            Role::Admin => requested.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    "admins must name the region with region_id",
                )
                .with_field("region_id")
            }),
            _ => Err(ApiError::forbidden()),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            account_id: Some(self.account_id),
            request_id: self.request_id.clone(),
        }
    }
}

pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { principal(&req).await })
    }
}

async fn principal(req: &HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("AppState missing"))?;
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthenticated("sign in first: send Authorization: Bearer <access token>")
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::unauthenticated("the Authorization header must be Bearer <access token>")
        })?;
    let claims = state.keys.verify(token.trim()).ok_or_else(|| {
        ApiError::unauthenticated("the access token is invalid or expired; refresh it")
    })?;
    if !session_holds(state, claims.sub, claims.sv).await? {
        return Err(ApiError::unauthenticated(
            "this session has ended (account deactivated or password changed); sign in again",
        ));
    }
    Ok(Principal {
        account_id: claims.sub,
        role: claims.role,
        region_id: claims.region,
        request_id: request_id(req),
        expires_at: claims.exp,
    })
}

/// Is the account still active, on the session version the token carries? Read from the
/// database at most once per `auth.session_cache_ms` per account.
async fn session_holds(
    state: &AppState,
    account_id: i64,
    token_version: i32,
) -> Result<bool, ApiError> {
    if let Some(known) = state.sessions.get(account_id) {
        return Ok(known.admits(token_version));
    }
    let read = state
        .db
        .read(move |conn| accounts::session_state(conn, account_id))
        .await?;
    let Some((active, version)) = read else {
        return Ok(false);
    };
    let known = SessionState { active, version };
    state.sessions.put(account_id, known);
    Ok(known.admits(token_version))
}

/// A JSON body, strictly parsed: unknown fields, wrong types and malformed JSON are 400
/// `invalid_json` with the path of the offending field.
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            })
            .unwrap_or(false);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "send the body as application/json",
                ));
            }
            let bytes = bytes.await.map_err(|e| {
                if e.as_response_error().status_code()
                    == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                {
                    ApiError::new(ErrorCode::PayloadTooLarge, "the body is too large")
                } else {
                    ApiError::new(ErrorCode::InvalidJson, "the body could not be read")
                }
            })?;
            parse_json(&bytes).map(ValidJson)
        })
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let err = ApiError::new(
            ErrorCode::InvalidJson,
            format!("invalid JSON body: {inner}"),
        );
        if path.is_empty() || path == "." {
            err
        } else {
            err.with_field(path)
        }
    })
}

/// The entity tag in `If-Match` (`"3"`, `W/"3"`, `3`), unquoted; 428 when absent.
fn if_match(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req.headers().get(header::IF_MATCH).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PreconditionRequired,
            "send If-Match with the version you are changing (the ETag you read)",
        )
    })?;
    value
        .to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::MissingHeader,
                "If-Match must hold an ETag you read",
            )
            .with_field("If-Match")
        })
}

/// The resource version from `If-Match` (`"3"`, `W/"3"` or `3`). Required for every change to
/// a versioned resource, so two writers from the same copy can't both win.
pub struct IfMatch(pub i32);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(if_match(req).and_then(version_tag).map(IfMatch))
    }
}

/// A version tag: a positive decimal number. One past what a version can hold was never
/// handed out, so it is a stale copy (409), not a malformed header.
fn version_tag(tag: &str) -> Result<i32, ApiError> {
    let malformed = || {
        ApiError::new(
            ErrorCode::MissingHeader,
            "If-Match must hold a version such as \"3\"",
        )
        .with_field("If-Match")
    };
    if !tag.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    match tag.parse::<i32>() {
        Ok(version) if version >= 1 => Ok(version),
        Ok(_) => Err(malformed()),
        Err(_) => Err(ApiError::new(
            ErrorCode::VersionConflict,
            format!("no copy ever had version {tag}: reload and try again"),
        )),
    }
}

/// An `If-Match` holding an opaque entity tag (such as a day's tag), required.
pub struct IfMatchTag(pub String);

impl FromRequest for IfMatchTag {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(if_match(req).map(|tag| IfMatchTag(tag.to_string())))
    }
}

/// `If-None-Match` (RFC 9110 §13.1.2): `*` or a list of entity tags, compared weakly, so
/// `W/"8"` and `"7", W/"8"` both hold the current `"8"`. Absent or unreadable: holds nothing.
pub struct IfNoneMatch(Option<String>);

impl IfNoneMatch {
    /// Does the caller's copy have the entity tag `etag` (as sent in `ETag`, e.g. `"8"`)?
    pub fn matches(&self, etag: &str) -> bool {
        self.0
            .as_deref()
            .is_some_and(|held| weak_match(held, opaque_tag(etag)))
    }
}

impl FromRequest for IfNoneMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Several header lines are one list (RFC 9110 §5.3).
        let lines: Vec<&str> = req
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .filter_map(|v| v.to_str().ok())
            .collect();
        std::future::ready(Ok(IfNoneMatch(
            (!lines.is_empty()).then(|| lines.join(", ")),
        )))
    }
}

/// An entity tag without its weakness prefix and quotes: `W/"8"` → `8`.
fn opaque_tag(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag)
}

/// Weak comparison of `current` (an opaque tag) against an `If-None-Match` value: `*`, or any
/// listed tag with the same opaque part, weak or strong. Bare tokens (`8`) are read as tags, as
/// `If-Match` reads them; a list that breaks off unquoted matches no further.
fn weak_match(header: &str, current: &str) -> bool {
    if header.trim() == "*" {
        return true;
    }
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return false;
        }
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let (opaque, after) = match tag.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => return false,
            },
            None => {
                let end = tag.find(',').unwrap_or(tag.len());
                (tag[..end].trim(), &tag[end..])
            }
        };
        if opaque == current {
            return true;
        }
        rest = after;
    }
}

/// An optional `Idempotency-Key` (1-100 visible ASCII characters, e.g. a UUID).
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.headers().get("Idempotency-Key") {
            None => Ok(IdempotencyKey(None)),
            Some(v) => v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|s| {
                    !s.is_empty() && s.len() <= 100 && s.chars().all(|c| c.is_ascii_graphic())
                })
                .map(|s| IdempotencyKey(Some(s.to_string())))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::MissingHeader,
                        "Idempotency-Key must be 1-100 visible ASCII characters",
                    )
                    .with_field("Idempotency-Key")
                }),
        };
        std::future::ready(result)
    }
}

/// `?limit=&offset=` with bounds.
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// 1..=200, default 50.
    pub limit: Option<i64>,
    /// 0.., default 0.
    pub offset: Option<i64>,
}

impl Page {
    pub fn bounds(self) -> Result<(i64, i64), ApiError> {
        let limit = self.limit.unwrap_or(50);
        let offset = self.offset.unwrap_or(0);
        if !(1..=200).contains(&limit) {
            return Err(
                ApiError::new(ErrorCode::InvalidQuery, "limit must be between 1 and 200")
                    .with_field("limit"),
            );
        }
        if !(0..=1_000_000).contains(&offset) {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                "offset must be between 0 and 1000000",
            )
            .with_field("offset"));
        }
        Ok((limit, offset))
    }
}

/// For PATCH bodies: absent → `None` (leave as is), `null` → `Some(None)` (clear), value →
/// `Some(Some(v))`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::weak_match;

    #[test]
    fn if_none_match_compares_weakly() {
        for held in [
            "\"8\"",
            "W/\"8\"",
            "*",
            " * ",
            "\"7\", W/\"8\"",
            "\"7\",\"8\"",
            "W/\"7\" , \"8\"",
            "8",
            "7, 8",
        ] {
            assert!(weak_match(held, "8"), "{held} should hold 8");
        }
        for held in [
            "",
            "\"7\"",
            "W/\"80\"",
            "\"7\", W/\"9\"",
            "\"8",
            "\"a,8\"",
            "\"7\", *",
        ] {
            assert!(!weak_match(held, "8"), "{held} should not hold 8");
        }
        assert!(weak_match("W/\"3-phones\"", "3-phones"));
        assert!(!weak_match("\"3\"", "3-phones"));
    }
}
