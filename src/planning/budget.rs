//! How long the planner may search, as the service gives it: a wall-clock limit, and a flag
//! that ends the search early (a shutdown, a job taken over by another instance). The planner
//! itself has no clock; it asks its [`Budget`] how much is used.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jemput_planner::Budget;

pub struct Deadline<'a> {
    started: Instant,
    limit: Duration,
    cancel: Option<&'a AtomicBool>,
}

impl<'a> Deadline<'a> {
    /// From now, for `limit`; a set `cancel` uses the whole budget at once.
    pub fn new(limit: Duration, cancel: Option<&'a AtomicBool>) -> Deadline<'a> {
        Deadline {
            started: Instant::now(),
            limit,
            cancel,
        }
    }
}

impl Budget for Deadline<'_> {
    fn used(&self) -> f64 {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return 1.0;
        }
        self.started.elapsed().as_secs_f64() / self.limit.as_secs_f64().max(1e-9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_spends_the_budget_at_once() {
        let cancel = AtomicBool::new(false);
        let deadline = Deadline::new(Duration::from_secs(3600), Some(&cancel));
        assert!(deadline.used() < 0.5);
        cancel.store(true, Ordering::Relaxed);
        assert!((deadline.used() - 1.0).abs() < f64::EPSILON);
    }
}
