//! The outbox worker: claims due rows with a lease, sends each through FCM, and records the
//! outcome. Delivery is at least once. A crash between claiming and recording leaves the row
//! `sending` with a lease; once the lease runs out the row is claimed again (by any instance),
//! and a restart of the same instance takes its rows back at once, so a push is never lost. Only
//! the rows actually in flight at the crash can arrive twice; their collapse key and the route
//! version in the data make a repeat harmless. A row is sent only while its lease lasts and the
//! claim is still ours, and its outcome is written only under that claim.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::fcm::{self, AndroidPriority, FcmClient, Message, Outcome};
use super::health::PushHealth;
use crate::config::PushSettings;
use crate::db::outbox::{self, OutboxRow, PushMessage};
use crate::db::{now, Claimant, Db};
use crate::domain::OutboxStatus;

/// Why a row could not be sent at all.
pub const NO_FCM: &str = "no FCM configured";

pub struct OutboxWorker {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl OutboxWorker {
    /// Start sending; `client` is None when no FCM credentials are configured. Claims are made
    /// as `me`; at start, rows an earlier process of the same instance claimed are due again.
    pub fn spawn(
        db: Db,
        client: Option<Arc<FcmClient>>,
        settings: PushSettings,
        me: Claimant,
        health: Arc<PushHealth>,
    ) -> OutboxWorker {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = tokio::spawn(run(db, client, settings, me, health, stop.clone()));
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
    me: Claimant,
    health: Arc<PushHealth>,
    stop: Arc<AtomicBool>,
) {
    let mine = me.clone();
    match db.write(move |conn| outbox::release_own(conn, &mine)).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            rows = n,
            "pushes a previous process of this instance had claimed are due again"
        ),
        Err(e) => tracing::error!(error = %e, "could not take back this instance's pushes"),
    }
    let idle = Duration::from_millis(settings.poll_interval_ms);
    let (batch, lease) = (settings.batch_size, settings.lease_secs);
    while !stop.load(Ordering::Relaxed) {
        let by = me.clone();
        let rows = match db
            .write(move |conn| outbox::claim(conn, &by, batch, lease))
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
        let (db, client, settings, health) = (&db, client.as_deref(), &settings, &*health);
        futures_util::stream::iter(by_phone)
            .for_each_concurrent(settings.concurrency, |group| async move {
                for row in group {
                    if deliver(db, client, settings, health, row).await == Next::StopPhone {
                        // The rest was settled with the row that stopped us, or its lease ran
                        // out too: it is claimed again and goes out in order.
                        break;
                    }
                }
            })
            .await;
    }
}

/// A send that starts with less of the lease left than this could still be in flight when the
/// lease runs out and another worker claims the row; such a row is left to be claimed again.
const SEND_MARGIN_MS: i64 = 2_000;

/// Whether the rest of a phone's pushes in the batch may follow.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Continue,
    StopPhone,
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

async fn deliver(
    db: &Db,
    client: Option<&FcmClient>,
    settings: &PushSettings,
    health: &PushHealth,
    row: OutboxRow,
) -> Next {
    let id = row.id;
    let Some(claim) = row.claim_token.clone() else {
        tracing::error!(outbox = id, "a claimed row without a claim token; not sent");
        return Next::StopPhone;
    };
    let lease_left = row.locked_until.map(|until| until - now());
    if lease_left.is_none_or(|left| left < chrono::Duration::milliseconds(SEND_MARGIN_MS)) {
        tracing::info!(
            outbox = id,
            "the lease ran out before sending; the row is left to be claimed again"
        );
        return Next::StopPhone;
    }
    let Some(client) = client else {
        record(db, id, move |conn| {
            outbox::mark_final(conn, id, &claim, OutboxStatus::Undeliverable, NO_FCM)
        })
        .await;
        return Next::Continue;
    };
    let message = match serde_json::from_str::<PushMessage>(&row.message_json) {
        Ok(message) => to_fcm(&row.fcm_token, message),
        Err(e) => {
            let error = format!("stored message unreadable: {e}");
            record(db, id, move |conn| {
                outbox::mark_final(conn, id, &claim, OutboxStatus::Failed, &error)
            })
            .await;
            return Next::Continue;
        }
    };
    // Another instance may have learnt that the token is dead, or (after a long pause here)
    // taken the row over: then it is not ours to send.
    let held = claim.clone();
    match db
        .read(move |conn| outbox::still_held(conn, id, &held))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(
                outbox = id,
                "the row was settled or claimed again elsewhere; not sent"
            );
            return Next::StopPhone;
        }
        Err(e) => {
            tracing::error!(outbox = id, error = %e, "could not check the claim; not sent");
            return Next::StopPhone;
        }
    }
    match client.send(&message).await {
        Outcome::Sent(name) => {
            health.mark_working();
            record(db, id, move |conn| {
                outbox::mark_sent(conn, id, &claim, &name)
            })
            .await;
            Next::Continue
        }
        Outcome::Retry { after, reason } => {
            retry_later(db, settings, &row, claim, after, reason).await
        }
        Outcome::ConfigBroken(reason) => {
            // The token is not to blame: it is kept, and the push waits for a fixed setup.
            health.mark_broken(&reason);
            retry_later(db, settings, &row, claim, None, reason).await
        }
        Outcome::DropToken(reason) => {
            let token = row.fcm_token.clone();
            tracing::info!(outbox = id, "FCM says the token is dead; device forgotten");
            record(db, id, move |conn| {
                outbox::drop_token(conn, &token, &reason).map(|()| true)
            })
            .await;
            // Nothing more goes to a dead token: the phone's other rows were settled with it.
            Next::StopPhone
        }
        Outcome::Rejected(reason) => {
            tracing::warn!(outbox = id, %reason, "FCM rejected a message");
            record(db, id, move |conn| {
                outbox::mark_final(conn, id, &claim, OutboxStatus::Failed, &reason)
            })
            .await;
            Next::Continue
        }
    }
}

/// Tries the row again after a backoff, or gives it up as failed after `push.max_attempts`.
async fn retry_later(
    db: &Db,
    settings: &PushSettings,
    row: &OutboxRow,
    claim: String,
    after: Option<Duration>,
    reason: String,
) -> Next {
    let id = row.id;
    let attempt = u32::try_from(row.attempts).unwrap_or(1);
    if row.attempts >= settings.max_attempts {
        let error = format!("gave up after {attempt} attempts: {reason}");
        record(db, id, move |conn| {
            outbox::mark_final(conn, id, &claim, OutboxStatus::Failed, &error)
        })
        .await;
    } else {
        let delay = fcm::backoff(attempt, after, rand::random::<f64>());
        let at =
            now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(300));
        record(db, id, move |conn| {
            outbox::mark_retry(conn, id, &claim, at, &reason)
        })
        .await;
    }
    Next::Continue
}

/// Writes an outcome under the row's claim. A claim no longer held (the lease ran out and
/// another worker claimed the row, or a dropped token settled it) keeps what is there: the
/// outcome is dropped and logged, never written over the new owner's.
async fn record<F>(db: &Db, id: i64, write: F)
where
    F: FnOnce(&mut crate::db::DbConnection) -> crate::db::DbResult<bool> + Send + 'static,
{
    match db.write(write).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            outbox = id,
            "push outcome dropped: the row's claim is no longer held by this worker"
        ),
        // The lease runs out and the row is sent again: late rather than lost.
        Err(e) => tracing::error!(outbox = id, error = %e, "could not record a push outcome"),
    }
}
