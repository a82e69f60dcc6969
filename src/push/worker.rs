//! The outbox worker: claims due rows with a lease, sends each through FCM, and records the
//! outcome. A crash between claiming and recording leaves the row `sending` with a lease; once
//! the lease runs out the row is claimed again, so a push is never lost (it may, rarely, arrive
//! twice; the data carries the route version, so a phone ignores a repeat).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::fcm::{self, AndroidPriority, FcmClient, Message, Outcome};
use crate::config::PushSettings;
use crate::db::outbox::{self, OutboxRow, PushMessage};
use crate::db::{now, Db};

/// Why a row could not be sent at all.
pub const NO_FCM: &str = "no FCM configured";

pub struct OutboxWorker {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl OutboxWorker {
    /// Start sending; `client` is None when no FCM credentials are configured.
    pub fn spawn(db: Db, client: Option<Arc<FcmClient>>, settings: PushSettings) -> OutboxWorker {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = tokio::spawn(run(db, client, settings, stop.clone()));
        OutboxWorker { stop, handle }
    }

    /// Finish the batch in hand and stop.
    pub async fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "outbox worker ended abnormally");
        }
    }
}

/// The FCM client the settings ask for, or None (the service then runs without pushes).
pub fn client_from_settings(settings: &PushSettings) -> anyhow::Result<Option<Arc<FcmClient>>> {
    if settings.fcm_key_file.trim().is_empty() {
        tracing::warn!("push.fcm_key_file is not set: pushes stay in the outbox as undeliverable");
        return Ok(None);
    }
    let json = std::fs::read_to_string(&settings.fcm_key_file).map_err(|e| {
        anyhow::anyhow!(
            "invalid setting `push.fcm_key_file`: cannot read {}: {e}",
            settings.fcm_key_file
        )
    })?;
    let client = FcmClient::from_key_file(&json, &settings.fcm_base_url)
        .map_err(|e| anyhow::anyhow!("invalid setting `push.fcm_key_file`: {e}"))?;
    Ok(Some(Arc::new(client)))
}

async fn run(
    db: Db,
    client: Option<Arc<FcmClient>>,
    settings: PushSettings,
    stop: Arc<AtomicBool>,
) {
    let idle = Duration::from_millis(settings.poll_interval_ms);
    let (batch, lease) = (settings.batch_size, settings.lease_secs);
    while !stop.load(Ordering::Relaxed) {
        let rows = match db
            .write(move |conn| outbox::claim(conn, batch, lease))
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "could not claim outbox rows");
                tokio::time::sleep(idle * 10).await;
                continue;
            }
        };
        if rows.is_empty() {
            tokio::time::sleep(idle).await;
            continue;
        }
        // Several phones at once, but each phone's pushes in the order they were written, so
        // an older message never lands after a newer one.
        let mut by_phone: Vec<Vec<OutboxRow>> = Vec::new();
        for row in rows {
            match by_phone
                .iter_mut()
                .find(|g| g[0].fcm_token == row.fcm_token)
            {
                Some(group) => group.push(row),
                None => by_phone.push(vec![row]),
            }
        }
        let (db, client, settings) = (&db, client.as_deref(), &settings);
        futures_util::stream::iter(by_phone)
            .for_each_concurrent(settings.concurrency, |group| async move {
                for row in group {
                    deliver(db, client, settings, row).await;
                }
            })
            .await;
    }
}

fn to_fcm(token: &str, message: PushMessage) -> Message {
    Message {
        token: token.to_string(),
        data: message.data,
        notification: message.notification,
        collapse_key: message.collapse_key,
        priority: if message.high_priority {
            AndroidPriority::High
        } else {
            AndroidPriority::Normal
        },
        ttl: Duration::from_secs(message.ttl_secs),
    }
}

async fn deliver(db: &Db, client: Option<&FcmClient>, settings: &PushSettings, row: OutboxRow) {
    let id = row.id;
    let Some(client) = client else {
        record(db, move |conn| {
            outbox::mark_final(conn, id, outbox::UNDELIVERABLE, NO_FCM)
        })
        .await;
        return;
    };
    let message = match serde_json::from_str::<PushMessage>(&row.message_json) {
        Ok(message) => to_fcm(&row.fcm_token, message),
        Err(e) => {
            let error = format!("stored message unreadable: {e}");
            record(db, move |conn| {
                outbox::mark_final(conn, id, outbox::FAILED, &error)
            })
            .await;
            return;
        }
    };
    match client.send(&message).await {
        Outcome::Sent(name) => {
            record(db, move |conn| outbox::mark_sent(conn, id, &name)).await;
        }
        Outcome::Retry { after, reason } => {
            let attempt = u32::try_from(row.attempts).unwrap_or(1);
            if row.attempts >= settings.max_attempts {
                let error = format!("gave up after {attempt} attempts: {reason}");
                record(db, move |conn| {
                    outbox::mark_final(conn, id, outbox::FAILED, &error)
                })
                .await;
            } else {
                let delay = fcm::backoff(attempt, after, rand::random::<f64>());
                let at = now()
                    + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(300));
                record(db, move |conn| outbox::mark_retry(conn, id, at, &reason)).await;
            }
        }
        Outcome::DropToken(reason) => {
            let token = row.fcm_token.clone();
            tracing::info!(outbox = id, "FCM says the token is dead; device forgotten");
            record(db, move |conn| outbox::drop_token(conn, &token, &reason)).await;
        }
        Outcome::Rejected(reason) => {
            tracing::warn!(outbox = id, %reason, "FCM rejected a message");
            record(db, move |conn| {
                outbox::mark_final(conn, id, outbox::FAILED, &reason)
            })
            .await;
        }
    }
}

async fn record<F>(db: &Db, write: F)
where
    F: FnOnce(&mut crate::db::DbConnection) -> crate::db::DbResult<()> + Send + 'static,
{
    if let Err(e) = db.write(write).await {
        // The lease runs out and the row is sent again: late rather than lost.
        tracing::error!(error = %e, "could not record a push outcome");
    }
}
