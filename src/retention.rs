//! The background purge of what is kept only for a while (`privacy.retention_days`), run by
//! every instance every `privacy.retention_interval_secs` (see `db::retention`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::config::PrivacySettings;
use crate::db::retention::{self, Cutoffs};
use crate::db::{now, Db};

/// Rows per delete statement.
const BATCH: i64 = 1000;

pub struct RetentionJob {
    stop: Arc<Notify>,
    handle: JoinHandle<()>,
}

impl RetentionJob {
    /// Purges at once, then every interval.
    pub fn spawn(db: Db, settings: PrivacySettings) -> RetentionJob {
        let stop = Arc::new(Notify::new());
        let handle = tokio::spawn(run(db, settings, stop.clone()));
        RetentionJob { stop, handle }
    }

    pub async fn shutdown(self) {
        // A stored permit: a purge under way ends its pass, then the loop sees it.
        self.stop.notify_one();
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "retention job ended abnormally");
        }
    }
}

fn cutoffs(settings: &PrivacySettings) -> Cutoffs {
    let days = &settings.retention_days;
    let at = now();
    let ago = |n: i64| at - chrono::Duration::days(n);
    Cutoffs {
        sign_in_codes: ago(days.sign_in_codes),
        outbox: ago(days.outbox),
        positions: ago(days.positions),
        feed: ago(days.feed),
    }
}

async fn run(db: Db, settings: PrivacySettings, stop: Arc<Notify>) {
    let every = Duration::from_secs(settings.retention_interval_secs);
    loop {
        let cut = cutoffs(&settings);
        match db
            .read(move |conn| retention::purge(conn, &cut, BATCH))
            .await
        {
            Ok(p) if p == retention::Purged::default() => {}
            Ok(p) => tracing::info!(
                sign_in_codes = p.sign_in_codes,
                outbox = p.outbox,
                positions = p.positions,
                feed = p.feed,
                "rows past their retention purged"
            ),
            Err(e) => tracing::warn!(error = %e, "retention purge failed; trying again later"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.notified() => break,
        }
    }
}
