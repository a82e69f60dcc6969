//! Prometheus metrics (text exposition through `prometheus-client`), served on a port of their
//! own (`metrics.address`, off by default) so they are never reachable where the API is
//! published. What happens as it happens (request latencies by route pattern, answers by
//! status, planning solve times) is counted where it happens, in one process-wide registry;
//! what the database knows (planning queue depth, outbox rows by status) and the connection
//! pool's use are read when Prometheus scrapes.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::db::{Db, DbResult};
use crate::domain::PlanStatus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    /// The route pattern (`/v1/requests/{id}`), never the path itself: ids would make a
    /// series per request.
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    method: String,
    route: String,
    /// `2xx`, `3xx`, `4xx`, `5xx`.
    class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    request_seconds: HistogramFamily<RouteLabels>,
    responses: Family<ResponseLabels, Counter>,
    solve_seconds: Histogram,
    plans: Family<StatusLabels, Gauge>,
    outbox: Family<StatusLabels, Gauge>,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_size: Gauge,
}

fn request_buckets() -> Histogram {
    // 2 ms … ~4 s.
    Histogram::new(exponential_buckets(0.002, 2.0, 12))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("jemput");
        let request_seconds: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(request_buckets);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route pattern",
            request_seconds.clone(),
        );
        let responses = Family::<ResponseLabels, Counter>::default();
        registry.register(
            "http_responses",
            "HTTP answers by method, route pattern and status class (4xx, 5xx, ...)",
            responses.clone(),
        );
        // 50 ms … ~205 s: plans run up to two minutes.
        let solve_seconds = Histogram::new(exponential_buckets(0.05, 2.0, 13));
        registry.register(
            "planning_solve_duration_seconds",
            "Wall time of each planning job's solve",
            solve_seconds.clone(),
        );
        let plans = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "planning_jobs",
            "Planning jobs queued or running (all instances, from the database)",
            plans.clone(),
        );
        let outbox = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "outbox_rows",
            "Push outbox rows by status (pending, sending, sent, failed, ...; from the database)",
            outbox.clone(),
        );
        let pool_connections = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Database connections open in this instance's pool",
            pool_connections.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Of those, idle",
            pool_idle.clone(),
        );
        let pool_size = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "The pool's size (database.pool_size)",
            pool_size.clone(),
        );
        Self {
            registry,
            request_seconds,
            responses,
            solve_seconds,
            plans,
            outbox,
            pool_connections,
            pool_idle,
            pool_size,
        }
    }

    /// One answered request; `route` is the matched pattern, or `unmatched`.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.request_seconds
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
        self.responses
            .get_or_create(&ResponseLabels {
                method: method.to_string(),
                route: route.to_string(),
                class: format!("{}xx", status / 100),
            })
            .inc();
    }

    pub fn observe_solve(&self, took: Duration) {
        self.solve_seconds.observe(took.as_secs_f64());
    }

    /// The text exposition, after reading what the database and the pool hold now.
    pub async fn render(&self, db: &Db) -> DbResult<String> {
        let (plans, outbox) = db
            .read(|conn| {
                Ok((
                    crate::db::plans::count_by_status(conn)?,
                    crate::db::outbox::count_by_status(conn)?,
                ))
            })
            .await?;
        for status in [PlanStatus::Queued, PlanStatus::Running] {
            let n = plans
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            self.plans
                .get_or_create(&StatusLabels {
                    status: status.to_string(),
                })
                .set(n);
        }
        for (status, n) in outbox {
            self.outbox.get_or_create(&StatusLabels { status }).set(n);
        }
        let pool = db.pool_state();
        self.pool_connections.set(i64::from(pool.connections));
        self.pool_idle.set(i64::from(pool.idle_connections));
        self.pool_size.set(i64::from(db.pool_size()));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        Ok(text)
    }
}

/// The process's metrics (one registry, however many services a test process starts).
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}
