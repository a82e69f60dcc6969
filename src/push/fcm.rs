//! A thin FCM HTTP v1 client. Authentication is a Google service account: a signed RS256 JWT is
//! exchanged at the key file's `token_uri` for an access token, cached until a minute before it
//! expires and dropped on a 401. Messages go one per request to
//! `POST {base}/v1/projects/{project}/messages:send`. Each outcome is classified for the outbox
//! worker: sent, retry later (honouring Retry-After), drop the token (UNREGISTERED / invalid),
//! our configuration is broken (keep the token, retry later), or give up (the message itself is
//! wrong).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// FCM refuses messages over 4096 bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// The fields of a service-account key file that we use (the file has more).
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    pub private_key: String,
    pub token_uri: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FcmSetupError {
    #[error("service-account key file unreadable: {0}")]
    KeyFile(String),
    #[error("service-account private key unusable: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Android delivery priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AndroidPriority {
    Normal,
    High,
}

/// One message to one registration token.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub token: String,
    /// Data payload: string values only (the FCM rule).
    pub data: BTreeMap<String, String>,
    /// Title and body shown by the phone (citizens); none for silent data messages (teams).
    pub notification: Option<(String, String)>,
    /// An offline phone keeps only the latest message with the same key.
    pub collapse_key: Option<String>,
    pub priority: AndroidPriority,
    pub ttl: Duration,
}

impl Message {
    /// The JSON body FCM expects.
    pub fn to_body(&self) -> serde_json::Value {
        let mut message = serde_json::json!({
            "token": self.token,
            "android": {
                "priority": self.priority,
                "ttl": format!("{}s", self.ttl.as_secs()),
            },
        });
        if !self.data.is_empty() {
            message["data"] = serde_json::to_value(&self.data).unwrap_or_default();
        }
        if let Some((title, body)) = &self.notification {
            message["notification"] = serde_json::json!({"title": title, "body": body});
        }
        if let Some(key) = &self.collapse_key {
            message["android"]["collapse_key"] = serde_json::Value::String(key.clone());
            message["apns"] = serde_json::json!({"headers": {"apns-collapse-id": key}});
        }
        serde_json::json!({ "message": message })
    }
}

/// What happened to one send.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted; FCM's message name.
    Sent(String),
    /// Try again later; `after` from Retry-After when FCM gave one.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// The token is dead (UNREGISTERED: app uninstalled, token rotated; or INVALID_ARGUMENT
    /// naming the token): delete it.
    DropToken(String),
    /// Our FCM configuration is wrong (403, 404 other than UNREGISTERED, SENDER_ID_MISMATCH:
    /// a wrong `project_id` or key file). The token is not to blame and is kept; the push is
    /// tried again later.
    ConfigBroken(String),
    /// The message itself is unacceptable; retrying will not help.
    Rejected(String),
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct ErrorEnvelope {
    error: Option<ErrorBody>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    message: Option<String>,
    status: Option<String>,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
}

pub struct FcmClient {
    http: reqwest::Client,
    send_url: String,
    account: ServiceAccount,
    key: EncodingKey,
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

impl FcmClient {
    /// `base_url` is `https://fcm.googleapis.com` in production; tests point it at a fake.
    pub fn new(account: ServiceAccount, base_url: &str) -> Result<Self, FcmSetupError> {
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes())?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let send_url = format!(
            "{}/v1/projects/{}/messages:send",
            base_url.trim_end_matches('/'),
            account.project_id
        );
        Ok(Self {
            http,
            send_url,
            account,
            key,
            token: tokio::sync::Mutex::new(None),
        })
    }

    pub fn from_key_file(json: &str, base_url: &str) -> Result<Self, FcmSetupError> {
        let account: ServiceAccount =
            serde_json::from_str(json).map_err(|e| FcmSetupError::KeyFile(e.to_string()))?;
        Self::new(account, base_url)
    }

    async fn access_token(&self) -> Result<String, String> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        let iat = chrono::Utc::now().timestamp();
        let claims = Assertion {
            iss: &self.account.client_email,
            scope: SCOPE,
            aud: &self.account.token_uri,
            iat,
            exp: iat + 3600,
        };
        let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| format!("signing the OAuth assertion: {e}"))?;
        let response = self
            .http
            .post(&self.account.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| format!("token endpoint unreachable: {}", e.without_url()))?;
        if !response.status().is_success() {
            return Err(format!("token endpoint answered {}", response.status()));
        }
        let token: TokenResponse = response
            .json()
            .await
            .map_err(|e| format!("token response unreadable: {e}"))?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
        *cached = Some(CachedToken {
            value: token.access_token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(Duration::from_secs(60)),
        });
        Ok(token.access_token)
    }

    pub async fn send(&self, message: &Message) -> Outcome {
        let body = message.to_body();
        let size = body.to_string().len();
        if size > MAX_MESSAGE_BYTES {
            return Outcome::Rejected(format!(
                "message is {size} bytes; FCM allows {MAX_MESSAGE_BYTES}"
            ));
        }
        let token = match self.access_token().await {
            Ok(t) => t,
            Err(reason) => {
                return Outcome::Retry {
                    after: None,
                    reason,
                }
            }
        };
        let response = match self
            .http
            .post(&self.send_url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    after: None,
                    reason: format!("FCM unreachable: {}", e.without_url()),
                }
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        if status.is_success() {
            #[derive(Deserialize)]
            struct Sent {
                name: String,
            }
            return match response.json::<Sent>().await {
                Ok(sent) => Outcome::Sent(sent.name),
                Err(_) => Outcome::Sent(String::new()),
            };
        }
        let envelope: ErrorEnvelope = response.json().await.unwrap_or_default();
        let error = envelope.error.unwrap_or_default();
        let code = error
            .details
            .iter()
            .find_map(|d| d.error_code.clone())
            .or(error.status.clone())
            .unwrap_or_default();
        let text = format!(
            "HTTP {} {code}: {}",
            status.as_u16(),
            error.message.unwrap_or_default()
        );
        match (status.as_u16(), code.as_str()) {
            (_, "UNREGISTERED") => Outcome::DropToken(text),
            (400, _) if text.contains("registration token") => Outcome::DropToken(text),
            // One wrong project id or key file must not erase every registered phone.
            (_, "SENDER_ID_MISMATCH") | (403, _) | (404, _) => Outcome::ConfigBroken(text),
            (401, _) => {
                // Our access token was refused: forget it and fetch a new one next time.
                *self.token.lock().await = None;
                Outcome::Retry {
                    after: retry_after,
                    reason: text,
                }
            }
            (429, _) | (500, _) | (502, _) | (503, _) | (504, _) => Outcome::Retry {
                after: retry_after,
                reason: text,
            },
            _ => Outcome::Rejected(text),
        }
    }
}

/// The delay before retry `attempt` (1-based): about 0.5 s × 2ⁿ⁻¹, capped at 5 minutes, with
/// ±50 % jitter so phones of one route don't retry in lockstep; Retry-After wins when longer.
pub fn backoff(attempt: u32, retry_after: Option<Duration>, jitter_unit: f64) -> Duration {
    let base = 0.5 * 2f64.powi(attempt.saturating_sub(1).min(20) as i32);
    let capped = base.min(300.0);
    let jittered = capped * (0.5 + jitter_unit.clamp(0.0, 1.0));
    let computed = Duration::from_secs_f64(jittered);
    match retry_after {
        Some(after) if after > computed => after,
        _ => computed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    const PRIVATE: &str = include_str!("../../tests/fixtures/fake-fcm-test-key.pem");
    const PUBLIC: &str = include_str!("../../tests/fixtures/fake-fcm-test-key.pub.pem");

    /// The fake token endpoint: accepts only a well-formed, correctly signed assertion.
    struct TokenEndpoint {
        audience: String,
    }

    impl Respond for TokenEndpoint {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
            if form.get("grant_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
            {
                return ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({"error": "unsupported_grant_type"}));
            }
            let mut validation = Validation::new(Algorithm::RS256);
            validation.set_audience(&[&self.audience]);
            validation.set_issuer(&["jemput@test-project.iam.gserviceaccount.com"]);
            let key = DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap();
            match jsonwebtoken::decode::<serde_json::Value>(form.get("assertion").map(String::as_str).unwrap_or(""), &key, &validation) {
                Ok(data) if data.claims["scope"] == SCOPE => {
                    ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": "ya29.fake", "expires_in": 3599, "token_type": "Bearer"}))
                }
                _ => ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})),
            }
        }
    }

    async fn fake() -> (MockServer, FcmClient) {
        let server = MockServer::start().await;
        let audience = format!("{}/token", server.uri());
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(TokenEndpoint {
                audience: audience.clone(),
            })
            .mount(&server)
            .await;
        let account = ServiceAccount {
            project_id: "test-project".into(),
            client_email: "jemput@test-project.iam.gserviceaccount.com".into(),
            private_key: PRIVATE.into(),
            token_uri: audience,
        };
        let client = FcmClient::new(account, &server.uri()).unwrap();
        (server, client)
    }

    fn message() -> Message {
        Message {
            token: "device-token-1".into(),
            data: BTreeMap::from([
                ("type".into(), "route_updated".into()),
                ("version".into(), "7".into()),
            ]),
            notification: None,
            collapse_key: Some("route-2026-11-23".into()),
            priority: AndroidPriority::High,
            ttl: Duration::from_secs(3600),
        }
    }

    fn fcm_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(serde_json::json!({"error": {
            "code": status, "message": message, "status": "X",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]
        }}))
    }

    #[tokio::test]
    async fn sends_with_an_exchanged_token_and_caches_it() {
        let (server, client) = fake().await;
        Mock::given(method("POST"))
            .and(path("/v1/projects/test-project/messages:send"))
            .and(header("authorization", "Bearer ya29.fake"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"name": "projects/test-project/messages/1"})),
            )
            .expect(2)
            .mount(&server)
            .await;
        assert_eq!(
            client.send(&message()).await,
            Outcome::Sent("projects/test-project/messages/1".into())
        );
        assert!(matches!(client.send(&message()).await, Outcome::Sent(_)));
        let token_calls = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/token")
            .count();
        assert_eq!(token_calls, 1, "the access token is cached");
        let sent = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.url.path().ends_with(":send"))
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(body["message"]["token"], "device-token-1");
        assert_eq!(body["message"]["data"]["version"], "7");
        assert_eq!(
            body["message"]["android"]["collapse_key"],
            "route-2026-11-23"
        );
        assert_eq!(body["message"]["android"]["ttl"], "3600s");
    }

    #[tokio::test]
    async fn classifies_errors() {
        type Expectation = fn(&Outcome) -> bool;
        let cases: Vec<(ResponseTemplate, Expectation)> = vec![
            (
                fcm_error(404, "UNREGISTERED", "Requested entity was not found."),
                |o| matches!(o, Outcome::DropToken(_)),
            ),
            (
                fcm_error(403, "SENDER_ID_MISMATCH", "SenderId mismatch"),
                |o| matches!(o, Outcome::ConfigBroken(_)),
            ),
            (
                fcm_error(403, "PERMISSION_DENIED", "Permission denied"),
                |o| matches!(o, Outcome::ConfigBroken(_)),
            ),
            (
                fcm_error(404, "NOT_FOUND", "Requested entity was not found."),
                |o| matches!(o, Outcome::ConfigBroken(_)),
            ),
            (
                fcm_error(
                    400,
                    "INVALID_ARGUMENT",
                    "The registration token is not a valid FCM registration token",
                ),
                |o| matches!(o, Outcome::DropToken(_)),
            ),
            (
                fcm_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."),
                |o| matches!(o, Outcome::Rejected(_)),
            ),
            (
                fcm_error(429, "QUOTA_EXCEEDED", "Quota exceeded")
                    .insert_header("Retry-After", "30"),
                |o| matches!(o, Outcome::Retry { after: Some(d), .. } if *d == Duration::from_secs(30)),
            ),
            (
                fcm_error(503, "UNAVAILABLE", "The service is currently unavailable."),
                |o| matches!(o, Outcome::Retry { .. }),
            ),
            (fcm_error(500, "INTERNAL", "Internal error"), |o| {
                matches!(o, Outcome::Retry { .. })
            }),
        ];
        for (response, expected) in cases {
            let (server, client) = fake().await;
            Mock::given(method("POST"))
                .and(path("/v1/projects/test-project/messages:send"))
                .respond_with(response)
                .mount(&server)
                .await;
            let outcome = client.send(&message()).await;
            assert!(expected(&outcome), "{outcome:?}");
        }
    }

    #[tokio::test]
    async fn a_refused_access_token_is_fetched_again() {
        let (server, client) = fake().await;
        Mock::given(method("POST"))
            .and(path("/v1/projects/test-project/messages:send"))
            .respond_with(fcm_error(
                401,
                "THIRD_PARTY_AUTH_ERROR",
                "Request had invalid authentication credentials.",
            ))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/projects/test-project/messages:send"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"name": "m/2"})),
            )
            .mount(&server)
            .await;
        assert!(matches!(
            client.send(&message()).await,
            Outcome::Retry { .. }
        ));
        assert_eq!(client.send(&message()).await, Outcome::Sent("m/2".into()));
        let token_calls = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/token")
            .count();
        assert_eq!(token_calls, 2);
    }

    #[tokio::test]
    async fn a_bad_signing_key_never_gets_a_token() {
        let (server, _) = fake().await;
        let other_key = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
        let account = ServiceAccount {
            project_id: "p".into(),
            client_email: "x@y".into(),
            private_key: other_key.into(),
            token_uri: format!("{}/token", server.uri()),
        };
        assert!(FcmClient::new(account, &server.uri()).is_err());
    }

    #[tokio::test]
    async fn oversized_messages_are_rejected_before_sending() {
        let (server, client) = fake().await;
        let mut big = message();
        big.data.insert("blob".into(), "x".repeat(5000));
        assert!(matches!(client.send(&big).await, Outcome::Rejected(_)));
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        assert_eq!(backoff(1, None, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(3, None, 0.5), Duration::from_secs(2));
        assert_eq!(backoff(30, None, 0.5), Duration::from_secs(300));
        assert_eq!(
            backoff(1, Some(Duration::from_secs(30)), 0.5),
            Duration::from_secs(30)
        );
        assert!(backoff(2, None, 0.0) < backoff(2, None, 1.0));
    }
}
