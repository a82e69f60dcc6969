//! Sign-in limits, in separate buckets: sign-ins (password or code) per client address, code
//! requests (each one an SMS we pay for) per client address, and both per phone number or
//! username whatever the address, so neither a shared carrier NAT (many users, one address)
//! nor an attacker rotating addresses (one target, many addresses) defeats them. Refreshing a
//! token and signing out are in none of them. The client address is the one `net::client_ip`
//! trusts.

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::error::ApiError;
use crate::config::RateLimitSettings;
use crate::domain::ErrorCode;
use crate::net::{self, IpBlock};

/// Above this many keys a bucket forgets those back at their starting state.
const RETAIN_ABOVE: usize = 100_000;

pub struct SignInLimits {
    sign_ins_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    codes_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_identity: DefaultKeyedRateLimiter<String>,
    trusted_proxies: Vec<IpBlock>,
}

/// What is being attempted, for the bucket and the message.
#[derive(Debug, Clone, Copy)]
pub enum Attempt {
    SignIn,
    CodeRequest,
}

fn quota(per_minute: u64, burst: u32) -> Quota {
    let per_minute = u32::try_from(per_minute).unwrap_or(u32::MAX);
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

impl SignInLimits {
    pub fn from_settings(settings: &RateLimitSettings) -> Self {
        Self {
            sign_ins_by_ip: DefaultKeyedRateLimiter::keyed(quota(
                settings.auth_per_minute,
                settings.auth_burst,
            )),
            codes_by_ip: DefaultKeyedRateLimiter::keyed(quota(
                settings.codes_per_minute,
                settings.codes_burst,
            )),
            by_identity: DefaultKeyedRateLimiter::keyed(quota(
                settings.per_identity_per_minute,
                settings.per_identity_burst,
            )),
            // Validated at start-up; an unreadable entry would trust nothing more.
            trusted_proxies: settings
                .trusted_proxies
                .iter()
                .filter_map(|p| IpBlock::parse(p))
                .collect(),
        }
    }

    /// The client's address as the limits count it.
    pub fn client_ip(&self, req: &HttpRequest) -> Result<IpAddr, ApiError> {
        let peer = req.peer_addr().map(|a| a.ip()).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                "could not tell the client's address",
            )
        })?;
        Ok(net::client_ip(peer, req.headers(), &self.trusted_proxies))
    }

    /// Counts an attempt from the request's client address; 429 `rate_limited` over the limit.
    pub fn by_address(&self, req: &HttpRequest, attempt: Attempt) -> Result<(), ApiError> {
        let ip = self.client_ip(req)?;
        let bucket = match attempt {
            Attempt::SignIn => &self.sign_ins_by_ip,
            Attempt::CodeRequest => &self.codes_by_ip,
        };
        check(bucket, &ip, "from this address")
    }

    /// Counts an attempt for a phone number (E.164) or username; 429 over the limit.
    pub fn by_identity(&self, attempt: Attempt, identity: &str) -> Result<(), ApiError> {
        let prefix = match attempt {
            Attempt::SignIn => "sign-in",
            Attempt::CodeRequest => "code",
        };
        let key = format!("{prefix}:{}", identity.trim().to_lowercase());
        check(&self.by_identity, &key, "for this account")
    }
}

fn check<K>(bucket: &DefaultKeyedRateLimiter<K>, key: &K, whose: &str) -> Result<(), ApiError>
where
    K: std::hash::Hash + Eq + Clone,
{
    if bucket.len() > RETAIN_ABOVE {
        bucket.retain_recent();
    }
    bucket.check_key(key).map_err(|not_until| {
        let wait = not_until
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            .max(1);
        ApiError::new(
            ErrorCode::RateLimited,
            format!("too many sign-in attempts {whose}; retry in {wait}s"),
        )
        .with_retry_after(wait)
    })
}
