//! Password hashing, bounded. Each argon2 check takes about 19 MiB and a core for a moment;
//! run unbounded on the blocking pool, a flood of wrong passwords took the process from 33 MB
//! to over 500 MB that the allocator never gave back (every blocking thread kept its own
//! arena's worth). So hashes run on a few threads of their own (`limits.password_hashes_at_once`,
//! by default one per core), whose memory is reused from one hash to the next, and a caller
//! waits at most `limits.password_hash_wait_ms` for one before it is told to come back later.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Semaphore};

/// Why a hash was not computed.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// Every hashing thread stayed busy for the whole wait.
    #[error("every password-hashing thread is busy")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

type Job = Box<dyn FnOnce() + Send>;

/// A few threads that do nothing but hash passwords.
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
    wait: Duration,
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl PasswordHashing {
    /// `threads` hashing threads (0: one per core); callers wait up to `wait` for one.
    pub fn new(threads: usize, wait: Duration) -> std::io::Result<Self> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || loop {
                    let job = {
                        let jobs = receiver.lock().unwrap_or_else(|p| p.into_inner());
                        jobs.recv()
                    };
                    match job {
                        Ok(job) => job(),
                        // The service is gone: so is this thread.
                        Err(_) => break,
                    }
                })?;
        }
        Ok(Self {
            permits: Arc::new(Semaphore::new(threads)),
            wait,
            jobs: Mutex::new(sender),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| HashingError::Busy)?
            .map_err(|e| HashingError::Failed(e.to_string()))?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let _ = done.send(work());
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|e| HashingError::Failed(e.to_string()))?;
        result
            .await
            .map_err(|e| HashingError::Failed(e.to_string()))
    }

    /// [`super::verify_password`] on a hashing thread.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashingError> {
        self.run(move || super::verify_password(&password, stored.as_deref()))
            .await
    }

    /// [`super::hash_password`] on a hashing thread.
    pub async fn hash(&self, password: String) -> Result<String, HashingError> {
        self.run(move || super::hash_password(&password))
            .await?
            .map_err(|e| HashingError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_caller_that_finds_every_thread_busy_is_refused_after_the_wait() {
        let hashing = Arc::new(PasswordHashing::new(1, Duration::from_millis(50)).unwrap());
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let busy = hashing.clone();
        let holder = tokio::spawn(async move { busy.run(move || hold.recv().is_ok()).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(matches!(
            hashing.verify("x".into(), None).await,
            Err(HashingError::Busy)
        ));
        release.send(()).unwrap();
        assert!(holder.await.unwrap().unwrap());
        let hash = hashing.hash("correct horse battery".into()).await.unwrap();
        assert!(hashing
            .verify("correct horse battery".into(), Some(hash))
            .await
            .unwrap());
    }
}
