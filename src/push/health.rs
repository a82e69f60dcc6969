//! Whether pushes can go out, as the readiness check reports it. FCM answering 403, 404 (other
//! than UNREGISTERED) or SENDER_ID_MISMATCH means our project id or key file is wrong: every
//! push will fail the same way until an operator fixes it, so it is logged as an error and
//! shown on `/health/ready` (which stays 200: the HTTP service itself is fine). The next
//! accepted push clears it.

use std::sync::Mutex;

use serde::Serialize;
use utoipa::ToSchema;

/// What the readiness check says of pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    Ok,
    /// No `push.fcm_key_file`: pushes wait in the outbox as undeliverable.
    NotConfigured,
    /// FCM refuses our credentials or project; see the error log.
    Misconfigured,
}

/// Shared between the outbox worker (which learns it) and the readiness check (which tells).
pub struct PushHealth {
    configured: bool,
    broken: Mutex<Option<String>>,
}

impl PushHealth {
    pub fn new(configured: bool) -> Self {
        Self {
            configured,
            broken: Mutex::new(None),
        }
    }

    pub fn state(&self) -> (PushState, Option<String>) {
        if !self.configured {
            return (PushState::NotConfigured, None);
        }
        let broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
        match broken.as_ref() {
            Some(reason) => (PushState::Misconfigured, Some(reason.clone())),
            None => (PushState::Ok, None),
        }
    }

    /// FCM refused our configuration; logged as an error the first time it is seen.
    pub fn mark_broken(&self, reason: &str) {
        let mut broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
        if broken.is_none() {
            tracing::error!(
                %reason,
                "FCM refuses our configuration (check push.fcm_key_file and its project_id); \
                 device tokens are kept and pushes retried"
            );
        }
        *broken = Some(reason.to_string());
    }

    pub fn mark_working(&self) {
        let mut broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
        if broken.take().is_some() {
            tracing::info!("FCM accepts pushes again");
        }
    }
}
