//! Building and running the HTTP service. A library, with shutdown as a parameter, so tests
//! start it on port 0 and `main` only wires.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{web, App, HttpMessage, HttpServer};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::throttle::SignInLimits;
use crate::api::{self, AppState};
use crate::auth::hashing::PasswordHashing;
use crate::auth::sessions::SessionCache;
use crate::auth::{sms, TokenKeys};
use crate::config::{PlanningSettings, PrivacySettings, PushSettings, Settings};
use crate::db::{personal, Claimant, Db};
use crate::planning::runner::PlanRunner;
use crate::privacy;
use crate::push::fcm::FcmClient;
use crate::push::health::PushHealth;
use crate::push::worker::{self, OutboxWorker};
use crate::retention::RetentionJob;

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    fcm: Option<Arc<FcmClient>>,
    push: PushSettings,
    planning: PlanningSettings,
    privacy: PrivacySettings,
    me: Claimant,
    push_health: Arc<PushHealth>,
    metrics_server: Option<Server>,
    metrics_port: Option<u16>,
}

/// `GET /metrics` on a listener of its own at `address` (none when empty).
fn metrics_server(address: &str, db: Db) -> anyhow::Result<(Option<Server>, Option<u16>)> {
    if address.is_empty() {
        return Ok((None, None));
    }
    let listener = TcpListener::bind(address).map_err(|e| {
        anyhow::anyhow!("invalid setting `metrics.address`: cannot listen on {address}: {e}")
    })?;
    let port = listener.local_addr()?.port();
    let db = web::Data::new(db);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(db.clone())
            .route("/metrics", web::get().to(api::observe::metrics))
    })
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(1)
    .run();
    tracing::info!(address, "metrics served at /metrics");
    Ok((Some(server), Some(port)))
}

impl Application {
    /// Connects and migrates the database, then binds (port 0 picks a free port).
    /// Refuses to start without the personal-data keys (`privacy.*`), and seals personal
    /// values stored before encryption existed.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let ring = privacy::KeyRing::from_settings(&settings.privacy)?;
        privacy::install(&ring)?;
        let db = Db::connect(&settings.database)?;
        let migrate_db = db.clone();
        web::block(move || -> anyhow::Result<()> {
            migrate_db.migrate()?;
            let mut conn = migrate_db.get()?;
            let sealed =
                personal::reseal(&mut conn, &ring, personal::Scope::Plaintext, 500, |_| {})?;
            if sealed != personal::Resealed::default() {
                tracing::info!(
                    accounts = sealed.accounts,
                    requests = sealed.requests,
                    "personal data stored before encryption is now sealed"
                );
            }
            Ok(())
        })
        .await??;
        let sms: Arc<dyn sms::SmsSender> = Arc::from(sms::from_settings(&settings.sms)?);
        Self::build_with(settings, db, sms)
    }

    pub fn build_with(
        settings: Settings,
        db: Db,
        sms: Arc<dyn sms::SmsSender>,
    ) -> anyhow::Result<Self> {
        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address).map_err(|e| {
            anyhow::anyhow!("invalid setting `server.port`: cannot listen on {address}: {e}")
        })?;
        let port = listener.local_addr()?.port();
        let me = Claimant::new(&settings.instance_id()?);
        tracing::info!(instance = %me.instance_id, boot = %me.boot_id, "this instance");
        if settings.auth.jwt_secret.is_empty() {
            tracing::warn!(
                "auth.jwt_secret is not set: using a random one; tokens will not survive a restart"
            );
        }
        let keys = TokenKeys::new(
            &settings.auth.jwt_secret,
            settings.auth.access_token_ttl_secs,
        );
        let sessions = SessionCache::new(Duration::from_millis(settings.auth.session_cache_ms));
        let hashing = PasswordHashing::new(
            settings.limits.password_hashes_at_once,
            Duration::from_millis(settings.limits.password_hash_wait_ms),
        )?;
        let sign_in_limits = SignInLimits::from_settings(&settings.rate_limit);
        let replan_slots = tokio::sync::Semaphore::new(settings.limits.day_replans_at_once);
        let max_body = settings.server.max_body_bytes;
        let metrics_address = settings.metrics.address.clone();
        let fcm = worker::client_from_settings(&settings.push)?;
        let push_health = Arc::new(PushHealth::new(fcm.is_some()));
        let push = settings.push.clone();
        let planning = settings.planning.clone();
        let privacy = settings.privacy.clone();
        let state = web::Data::new(AppState {
            db: db.clone(),
            keys,
            sms,
            settings: Arc::new(settings),
            boundaries: Default::default(),
            sessions,
            hashing,
            sign_in_limits,
            push_health: push_health.clone(),
            replan_slots,
        });
        let server = HttpServer::new(move || {
            let (app, openapi) = App::new()
                .app_data(state.clone())
                .configure(|cfg| api::configure_extractors(cfg, max_body))
                .wrap_fn(|req, srv| {
                    use actix_web::dev::Service;
                    let request_id = req
                        .extensions()
                        .get::<tracing_actix_web::RequestId>()
                        .map(|id| id.to_string());
                    let fut = srv.call(req);
                    async move {
                        let mut res = fut.await?;
                        if let Some(id) =
                            request_id.and_then(|id| header::HeaderValue::from_str(&id).ok())
                        {
                            res.headers_mut()
                                .insert(header::HeaderName::from_static("x-request-id"), id);
                        }
                        Ok(res)
                    }
                })
                .wrap(actix_web::middleware::from_fn(
                    api::hygiene::security_headers,
                ))
                .wrap(actix_web::middleware::from_fn(api::observe::record_request))
                .wrap(TracingLogger::<api::hygiene::PathOnlySpan>::new())
                // Team phones are often on 2G: answers shrink several times when the client
                // accepts gzip (or brotli, zstd).
                .wrap(actix_web::middleware::Compress::default())
                .into_utoipa_app()
                .openapi(api::openapi_base())
                .configure(api::routes())
                .split_for_parts();
            let known = web::Data::new(api::RouteTable::from_openapi(&openapi));
            app.app_data(known)
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi))
                .configure(crate::console::routes)
                .default_service(web::to(api::unmatched))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        let (metrics_server, metrics_port) = metrics_server(&metrics_address, db.clone())?;
        Ok(Self {
            port,
            server,
            db,
            fcm,
            push,
            planning,
            privacy,
            me,
            push_health,
            metrics_server,
            metrics_port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `/metrics`, when `metrics.address` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Who this process's claims name: the instance and this start's boot id.
    pub fn claimant(&self) -> &Claimant {
        &self.me
    }

    /// Serves until `shutdown` completes (or a signal arrives), then drains gracefully.
    /// The planning runner, the outbox worker and the retention purge work alongside and stop
    /// with the server.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let planner = PlanRunner::spawn(self.db.clone(), self.planning.clone(), self.me.clone());
        let pusher = OutboxWorker::spawn(
            self.db.clone(),
            self.fcm.clone(),
            self.push.clone(),
            self.me.clone(),
            self.push_health.clone(),
        );
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        let retention = RetentionJob::spawn(self.db.clone(), self.privacy.clone());
        let handle = self.server.handle();
        let server = self.server;
        tokio::pin!(server);
        let result = tokio::select! {
            result = &mut server => result,
            () = shutdown => {
                // The server's own future carries out the stop: ask, then drive it to the end
                // (awaiting the stop before polling the server again never finishes).
                let (_, result) = tokio::join!(handle.stop(true), &mut server);
                result
            }
        };
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        planner.shutdown().await;
        pusher.shutdown().await;
        retention.shutdown().await;
        result
    }
}
