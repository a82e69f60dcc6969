//! Several searches side by side on std threads (the planner stays free of async runtimes).
//!
//! Each thread walks from the same first plan with its own seed. Every [`EXCHANGE_EVERY`]
//! iterations all threads meet at a barrier, post their best plan, and the ones behind carry
//! on from the best of all (ties go to the lowest thread), so the work of one is not lost to
//! the others. Every decision after the barrier reads only what all threads posted, so they
//! agree on it; under an iteration limit the meetings fall on the same iterations whatever the
//! machine does, which makes the result depend only on the seed and the thread count.

use std::sync::{Barrier, Mutex, PoisonError};

use crate::model::Model;
use crate::rng::Rng;
use crate::solution::StopReason;
use crate::solver::{
    stalled, Budget, Progress, Search, Silent, SolveOptions, State, EXCHANGE_EVERY,
};

/// What one thread posts at a meeting.
struct Post {
    best: State,
    stopped: Option<StopReason>,
}

/// The best posted plan (lowest cost, then lowest thread), and why the threads stop, if any
/// did.
fn read_posts(posts: &[Option<Post>]) -> (usize, Option<StopReason>) {
    let mut winner = 0;
    let mut stopped = None;
    for (k, post) in posts.iter().enumerate() {
        let Some(post) = post else { continue };
        let best_cost = posts[winner]
            .as_ref()
            .map_or(f64::INFINITY, |p| p.best.cost);
        if post.best.cost < best_cost - 1e-9 {
            winner = k;
        }
        // The budget outranks the iteration limit: both are reported as the caller's limits.
        stopped = match (stopped, post.stopped) {
            (Some(StopReason::TimeLimit), _) | (_, Some(StopReason::TimeLimit)) => {
                Some(StopReason::TimeLimit)
            }
            (Some(reason), _) | (None, Some(reason)) => Some(reason),
            (None, None) => None,
        };
    }
    (winner, stopped)
}

/// A thread's seed: the caller's seed for thread 0, distinct well-mixed seeds for the others.
fn thread_seed(seed: u64, thread: usize) -> u64 {
    if thread == 0 {
        seed
    } else {
        Rng::new(seed ^ (thread as u64).wrapping_mul(0xA24B_AED4_963E_E407)).next_u64()
    }
}

/// Improve `initial` on `options.threads` threads (seeded from `options.seed`, stopping when
/// stalled if `options.stop_when_stalled`); returns the best plan, the iterations over all
/// threads and why the search ended.
pub(crate) fn improve(
    model: &Model,
    initial: &State,
    options: &SolveOptions,
    iteration_limit: u64,
    budget: &dyn Budget,
    progress: &dyn Progress,
) -> (State, u64, StopReason) {
    let (seed, threads) = (options.seed, options.threads.max(1));
    let stop_when_stalled = options.stop_when_stalled;
    let posts: Mutex<Vec<Option<Post>>> = Mutex::new((0..threads).map(|_| None).collect());
    let barrier = Barrier::new(threads);
    let ends: Vec<(u64, Option<StopReason>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|k| {
                let (posts, barrier) = (&posts, &barrier);
                scope.spawn(move || {
                    let mut search = Search::new(model, thread_seed(seed, k));
                    let Some(mut walk) = search.start_walk(initial) else {
                        return (0, None);
                    };
                    let mut shared_cost = initial.cost;
                    let mut shared_improved_at = 0;
                    let mut pause = 0;
                    loop {
                        pause += EXCHANGE_EVERY;
                        let stopped =
                            search.walk(&mut walk, pause, iteration_limit, false, budget, &Silent);
                        {
                            let mut posts = posts.lock().unwrap_or_else(PoisonError::into_inner);
                            posts[k] = Some(Post {
                                best: walk.best.clone(),
                                stopped,
                            });
                        }
                        barrier.wait();
                        let stop = {
                            let posts = posts.lock().unwrap_or_else(PoisonError::into_inner);
                            let (winner, stopped) = read_posts(&posts);
                            if let Some(best) = posts[winner].as_ref().map(|p| &p.best) {
                                if best.cost < shared_cost - 1e-9 {
                                    shared_cost = best.cost;
                                    shared_improved_at = pause;
                                    // Every thread saw the same improvement: one tells it.
                                    if k == 0 {
                                        let done = pause * threads as u64;
                                        progress.improved(&best.improvement(model, done));
                                    }
                                }
                                if best.cost < walk.best.cost - 1e-9 {
                                    walk.adopt(best);
                                }
                            }
                            stopped.or_else(|| {
                                (stop_when_stalled && stalled(pause, shared_improved_at))
                                    .then_some(StopReason::Stalled)
                            })
                        };
                        // Nobody posts again before everyone has read this meeting's posts.
                        barrier.wait();
                        if stop.is_some() {
                            return (walk.iteration, stop);
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or((0, None)))
            .collect()
    });
    let mut posts = posts.into_inner().unwrap_or_else(PoisonError::into_inner);
    let (winner, _) = read_posts(&posts);
    let total = ends.iter().map(|e| e.0).sum();
    let stopped = ends
        .iter()
        .find_map(|e| e.1)
        .unwrap_or(StopReason::NothingToSearch);
    match posts.get_mut(winner).and_then(Option::take) {
        Some(post) => (post.best, total, stopped),
        None => (initial.clone(), total, StopReason::NothingToSearch),
    }
}
