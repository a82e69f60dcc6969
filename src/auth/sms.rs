//! Sending sign-in codes by SMS. [`SmsSender`] has two implementations: [`LogSms`] for
//! development (writes the code to the log, with the phone number masked) and [`TwilioSms`],
//! a client for the Twilio Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`, form
//! body, HTTP basic auth), which many SMS gateways also speak. Its base URL is configurable.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::config::SmsSettings;
use crate::domain::PhoneNumber;

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The gateway refused this message (e.g. an unreachable number); retrying won't help.
    #[error("gateway rejected the message: {code} {message}")]
    Rejected { code: i64, message: String },
    /// The gateway is down, slow or throttling us; try again later.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SmsError>;
}

/// Development sender: the message goes to the log.
pub struct LogSms;

#[async_trait]
impl SmsSender for LogSms {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SmsError> {
        tracing::warn!(to = %to.masked(), %text, "SMS not sent (development sender): message follows");
        Ok(())
    }
}

/// The body of the sign-in SMS: Bahasa Indonesia first, English second.
pub fn otp_message(code: &str, ttl_minutes: i64) -> String {
    format!(
        "Kode masuk Jemput: {code}. Berlaku {ttl_minutes} menit. Jangan berikan kode ini kepada siapa pun.\n\
         Jemput sign-in code: {code} (valid {ttl_minutes} min). Do not share it."
    )
}

pub struct TwilioSms {
    client: reqwest::Client,
    endpoint: String,
    account_sid: String,
    auth_token: String,
    from: String,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

impl TwilioSms {
    pub fn new(settings: &SmsSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            client,
            endpoint: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                settings.base_url.trim_end_matches('/'),
                settings.account_sid
            ),
            account_sid: settings.account_sid.clone(),
            auth_token: settings.auth_token.clone(),
            from: settings.from.clone(),
        })
    }
}

#[async_trait]
impl SmsSender for TwilioSms {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SmsError> {
        let response = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&[
                ("To", to.as_str()),
                ("From", self.from.as_str()),
                ("Body", text),
            ])
            .send()
            .await
            .map_err(|e| SmsError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: Option<TwilioError> = response.json().await.ok();
        let (code, message) = body
            .map(|b| (b.code.unwrap_or(0), b.message.unwrap_or_default()))
            .unwrap_or((0, String::new()));
        if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 401 {
            // 401 means our credentials are wrong: the operator must fix it, the citizen can't.
            Err(SmsError::Unavailable(format!(
                "HTTP {status}: {code} {message}"
            )))
        } else {
            Err(SmsError::Rejected { code, message })
        }
    }
}

pub fn from_settings(settings: &SmsSettings) -> anyhow::Result<Box<dyn SmsSender>> {
    Ok(match settings.provider.as_str() {
        "twilio" => Box::new(TwilioSms::new(settings)?),
        _ => Box::new(LogSms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{basic_auth, body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn settings(base: &str) -> SmsSettings {
        SmsSettings {
            provider: "twilio".into(),
            base_url: base.into(),
            account_sid: "AC123".into(),
            auth_token: "secret".into(),
            auth_token_file: String::new(),
            from: "JEMPUT".into(),
        }
    }

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("081234567890").unwrap()
    }

    #[tokio::test]
    async fn sends_a_form_with_basic_auth() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
            .and(basic_auth("AC123", "secret"))
            .and(body_string_contains("To=%2B6281234567890"))
            .and(body_string_contains("From=JEMPUT"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(serde_json::json!({"sid": "SM1", "status": "queued"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        TwilioSms::new(&settings(&server.uri()))
            .unwrap()
            .send(&phone(), "hi")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_rejected_number_is_a_rejection() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400
            })))
            .mount(&server)
            .await;
        let err = TwilioSms::new(&settings(&server.uri()))
            .unwrap()
            .send(&phone(), "hi")
            .await
            .unwrap_err();
        assert!(
            matches!(err, SmsError::Rejected { code: 21211, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn server_errors_and_throttling_are_unavailable() {
        for status in [429u16, 500, 503] {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(status))
                .mount(&server)
                .await;
            let err = TwilioSms::new(&settings(&server.uri()))
                .unwrap()
                .send(&phone(), "hi")
                .await
                .unwrap_err();
            assert!(matches!(err, SmsError::Unavailable(_)), "{status}: {err}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_gateway_is_unavailable() {
        let err = TwilioSms::new(&settings("http://127.0.0.1:9"))
            .unwrap()
            .send(&phone(), "hi")
            .await
            .unwrap_err();
        assert!(matches!(err, SmsError::Unavailable(_)));
    }
}
