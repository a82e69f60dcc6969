//! Credentials: staff passwords (argon2), citizens' one-time codes, short-lived access tokens
//! (signed JWT) and long-lived, revocable refresh tokens (random, stored only as a hash).

pub mod hashing;
pub mod sessions;
pub mod sms;

use std::cell::RefCell;

use argon2::{Argon2, PasswordHasher};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Role;

/// Claims inside an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Account id.
    pub sub: i64,
    pub role: Role,
    /// The staff member's region; none for citizens and admins.
    pub region: Option<i64>,
    pub iat: i64,
    pub exp: i64,
    /// The account's session version when the token was issued: a token from before the
    /// account was deactivated or its password set no longer works.
    pub sv: i32,
}

/// Claims inside a citizen's visit-page link: the request, and when the link expires.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitLinkClaims {
    visit: i64,
    exp: i64,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Also peppers stored code hashes, so a leaked table alone cannot be brute-forced offline.
    secret: Vec<u8>,
    pub access_ttl_secs: i64,
}

impl TokenKeys {
    /// With an empty `secret`, a random one is made: tokens then die with the process.
    pub fn new(secret: &str, access_ttl_secs: i64) -> Self {
        let secret: Vec<u8> = if secret.is_empty() {
            let mut bytes = [0u8; 32];
            rand::rng().fill(&mut bytes);
            bytes.to_vec()
        } else {
            secret.as_bytes().to_vec()
        };
        Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            secret,
            access_ttl_secs,
        }
    }

    pub fn issue(
        &self,
        account_id: i64,
        role: Role,
        region: Option<i64>,
        session_version: i32,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let iat = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: account_id,
            role,
            region,
            iat,
            exp: iat + self.access_ttl_secs,
            sv: session_version,
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
    }

    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }

    /// A link token for the citizen's visit page of `request_id`, valid until `expires_at`.
    /// Signed with the access tokens' key but with other claims, so neither passes for the
    /// other.
    pub fn issue_visit_link(
        &self,
        request_id: i64,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = VisitLinkClaims {
            visit: request_id,
            exp: expires_at.timestamp(),
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
    }

    /// The request a visit-page link names, while it has not expired.
    pub fn verify_visit_link(&self, token: &str) -> Option<i64> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        jsonwebtoken::decode::<VisitLinkClaims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims.visit)
    }

    /// The stored form of a one-time code: a peppered hash bound to the phone number.
    pub fn code_hash(&self, phone: &str, code: &str) -> String {
        let mut h = Sha256::new();
        h.update(&self.secret);
        h.update(phone.as_bytes());
        h.update(b":");
        h.update(code.as_bytes());
        hex::encode(h.finalize())
    }
}

/// A six-digit code, uniformly random.
pub fn new_otp_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// A new refresh token (what the client keeps) and its hash (what we store).
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    let token = hex::encode(bytes);
    let hash = refresh_token_hash(&token);
    (token, hash)
}

pub fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality for hex digests.
pub fn digests_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let hash: argon2::PasswordHash = Argon2::default().hash_password(password.as_bytes())?;
    Ok(hash.to_string())
}

/// Checks a password against a stored hash. With no stored hash (unknown user), a dummy hash is
/// checked anyway, so response time does not reveal which usernames exist.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2xp9cHpWyX1fbdnEHWdPsW1RIrB2k4pcNSagn0Cxuj4";
    let candidate = stored.unwrap_or(DUMMY);
    let ok = ARGON2_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        matches_stored_hash(password.as_bytes(), candidate, &mut memory)
    });
    ok && stored.is_some()
}

thread_local! {
    /// The ~19 MiB argon2 works in, kept by each thread that checks passwords and reused from
    /// one check to the next. Allocated afresh per check, the allocator kept a new block per
    /// check: 30 wrong logins one after another took the process from 55 to 135 MB.
    static ARGON2_MEMORY: RefCell<Vec<argon2::Block>> = const { RefCell::new(Vec::new()) };
}

/// Recomputes the PHC-string `stored` hash for `password` in `memory` and compares in
/// constant time. An unreadable stored hash matches nothing.
fn matches_stored_hash(password: &[u8], stored: &str, memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(hash) = argon2::PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(params) = argon2::Params::try_from(&hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(&*hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(argon2::Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let expected = expected.as_bytes();
    let mut computed = vec![0u8; expected.len()];
    argon2::Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password,
            salt.as_ref(),
            &mut computed,
            &mut memory[..blocks],
        )
        .is_ok()
        && computed.len() == expected.len()
        && computed
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_round_trip_and_reject_tampering() {
        let keys = TokenKeys::new("a-test-secret-that-is-long-enough-000", 900);
        let token = keys.issue(7, Role::Coordinator, Some(3), 2).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(
            (claims.sub, claims.role, claims.region, claims.sv),
            (7, Role::Coordinator, Some(3), 2)
        );
        let other = TokenKeys::new("another-secret-that-is-long-enough-00", 900);
        assert!(other.verify(&token).is_none());
    }

    #[test]
    fn passwords_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("wrong", Some(&hash)));
        assert!(!verify_password("anything", None));
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = new_otp_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|ch| ch.is_ascii_digit()));
        }
    }
}
