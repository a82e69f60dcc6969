//! Typed settings: built-in defaults, then an optional TOML file, then environment variables
//! (`JEMPUT__SECTION__KEY`). Everything is validated once at start-up so a bad value stops the
//! service with a message naming the setting instead of failing later at run time.

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub sms: SmsSettings,
    pub rate_limit: RateLimitSettings,
    pub log: LogSettings,
    pub push: PushSettings,
    pub planning: PlanningSettings,
    pub limits: LimitSettings,
    pub metrics: MetricsSettings,
    pub privacy: PrivacySettings,
}

/// Prometheus metrics on a listener of their own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// `host:port` serving `GET /metrics`, e.g. `127.0.0.1:9184`; empty (the default): off.
    /// Keep it on loopback or a private network: it names routes and queue sizes.
    pub address: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Largest accepted JSON body, in bytes.
    pub max_body_bytes: usize,
    /// This instance's name among the instances sharing the database, stable across restarts
    /// (claims on pushes and planning jobs record it, so a restarted instance takes its own
    /// back at once). Must differ between instances running at the same time. Empty: the host
    /// name.
    pub instance_id: String,
    /// Allows what only development may use: the logging SMS sender (sign-in codes written to
    /// the log) and a random per-process token secret. `serve` refuses both without it (or
    /// `--demo`).
    pub development: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://…` for PostgreSQL; `sqlite://path` or a plain file path for SQLite.
    pub url: String,
    /// A file holding `url` (it may carry a password), e.g. a mounted secret.
    #[serde(default)]
    pub url_file: String,
    pub pool_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC secret for access tokens. Empty: a random one per process (development only:
    /// tokens die with the process).
    pub jwt_secret: String,
    /// A file holding `jwt_secret`, e.g. a mounted secret.
    #[serde(default)]
    pub jwt_secret_file: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub otp_ttl_secs: i64,
    pub otp_max_attempts: i32,
    pub otp_max_per_phone_per_hour: i64,
    /// Codes a phone may be sent per day (a day's SMS cost per number is bounded).
    pub otp_max_per_phone_per_day: i64,
    /// How long an account's session state (active, session version) read for one request
    /// serves the next ones; a deactivated account's tokens stop working within this. 0: read
    /// on every request.
    pub session_cache_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// `log` (development: the code is written to the log) or `twilio` (Twilio-compatible
    /// Messages API at `base_url`).
    pub provider: String,
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// A file holding `auth_token`, e.g. a mounted secret.
    #[serde(default)]
    pub auth_token_file: String,
    pub from: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Sign-ins (password or code) allowed per client IP per minute (sustained).
    pub auth_per_minute: u64,
    /// Burst allowed on top of the sustained rate.
    pub auth_burst: u32,
    /// Code requests (SMS sent) allowed per client IP per minute, in a bucket of their own.
    pub codes_per_minute: u64,
    pub codes_burst: u32,
    /// Sign-ins and code requests allowed per phone number or username per minute, whatever
    /// the address (an attacker rotating addresses still meets this one).
    pub per_identity_per_minute: u64,
    pub per_identity_burst: u32,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` header names the client: addresses or
    /// CIDR blocks (`10.0.0.0/8`, `fd00::/8`). From any other peer those headers are ignored
    /// and the peer itself is the client. Empty: no proxy is trusted.
    pub trusted_proxies: Vec<String>,
}

/// Caps that keep one caller from starving the others.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Password hashes computed at once (each takes ~19 MiB and a core); 0: one per core.
    pub password_hashes_at_once: usize,
    /// How long a sign-in waits for a free hashing thread before it is answered 429.
    pub password_hash_wait_ms: u64,
    /// Visit requests a citizen may have open (not yet done, cancelled or missed) at once.
    pub open_requests_per_citizen: i64,
    /// Planning jobs a region may have queued or running at once (one coordinator must not
    /// fill the runner and starve the other regions).
    pub plans_per_region: usize,
    /// Day re-plans (previewed or applied) solved at once across the instance; each takes a
    /// core for up to its time limit.
    pub day_replans_at_once: usize,
}

/// Pushes over FCM HTTP v1. Without `fcm_key_file` the service still runs: pushes stay in the
/// outbox as undeliverable and phones fall back to polling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushSettings {
    /// Path of the Firebase service-account JSON key; empty: no FCM.
    pub fcm_key_file: String,
    /// `https://fcm.googleapis.com` in production.
    pub fcm_base_url: String,
    /// Idle time between looks at the outbox, in milliseconds.
    pub poll_interval_ms: u64,
    /// Sends per message before it is given up as failed.
    pub max_attempts: i32,
    pub batch_size: i64,
    /// Phones sent to at once (each phone's pushes still go out in order).
    pub concurrency: usize,
    /// How long a claimed row is reserved; a worker that dies mid-send frees it after this.
    pub lease_secs: i64,
}

/// The background planning runner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanningSettings {
    /// How long a claimed job is reserved; the runner renews it while solving, and another
    /// instance takes over a job whose lease ran out (its owner died).
    pub lease_secs: i64,
    /// Searches one plan runs side by side; absent: one per core of the machine.
    #[serde(default)]
    pub threads: Option<usize>,
}

impl PlanningSettings {
    /// The thread count a plan uses.
    pub fn solver_threads(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }
}

/// Personal data at rest (see `src/privacy.rs` and the README's "Personal data").
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySettings {
    /// The id in `keys` new values are encrypted under.
    pub active_key_id: String,
    /// Key id → base64 of a 32-byte XChaCha20-Poly1305 key. Keep old ids until
    /// `jemput rotate-key` has moved every row off them.
    #[serde(default)]
    pub keys: std::collections::HashMap<String, String>,
    /// Base64 of at least 32 bytes: the HMAC key phone numbers are looked up by. Never rotated
    /// (every stored look-up hash depends on it).
    pub lookup_key: String,
    /// A directory of key files, as secret stores mount them: each file's name is a key id,
    /// its content the base64 key; added to `keys`. Names starting with `.` are skipped.
    pub keys_dir: String,
    /// A file holding `lookup_key` (used when `lookup_key` is empty).
    pub lookup_key_file: String,
    /// How long what is kept only for a while stays, in days.
    pub retention_days: RetentionDays,
    /// Seconds between purges (each instance purges; two at once is harmless).
    pub retention_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionDays {
    /// Used or expired sign-in codes.
    pub sign_in_codes: i64,
    /// Pushes sent, failed, or dropped with their token.
    pub outbox: i64,
    /// Officers' positions.
    pub positions: i64,
    /// The live feed consoles read (route changes, reports, positions).
    pub feed: i64,
}

impl Default for PrivacySettings {
    /// No keys (`serve` refuses to start so), the default retention.
    fn default() -> Self {
        Self {
            active_key_id: String::new(),
            keys: Default::default(),
            lookup_key: String::new(),
            keys_dir: String::new(),
            lookup_key_file: String::new(),
            retention_days: RetentionDays::default(),
            retention_interval_secs: 3600,
        }
    }
}

impl Default for RetentionDays {
    fn default() -> Self {
        Self {
            sign_in_codes: 7,
            outbox: 30,
            positions: 30,
            feed: 30,
        }
    }
}

impl std::fmt::Debug for PrivacySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("PrivacySettings")
            .field("active_key_id", &self.active_key_id)
            .field("key_ids", &ids)
            .field("retention_days", &self.retention_days)
            .field("retention_interval_secs", &self.retention_interval_secs)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` or `json`.
    pub format: String,
    /// A tracing filter such as `info,jemput=debug`.
    pub filter: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid setting `{setting}`: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
}

const DEFAULTS: &str = r#"
[server]
host = "127.0.0.1"
port = 8080
max_body_bytes = 65536
instance_id = ""
development = false

[database]
url = "sqlite://data/jemput.db"
pool_size = 8

[auth]
jwt_secret = ""
access_token_ttl_secs = 900
refresh_token_ttl_days = 30
otp_ttl_secs = 300
otp_max_attempts = 5
otp_max_per_phone_per_hour = 5
otp_max_per_phone_per_day = 10
session_cache_ms = 5000

[sms]
provider = "log"
base_url = ""
account_sid = ""
auth_token = ""
from = ""

[rate_limit]
auth_per_minute = 20
auth_burst = 10
codes_per_minute = 10
codes_burst = 5
per_identity_per_minute = 10
per_identity_burst = 5
trusted_proxies = []

[limits]
password_hashes_at_once = 0
password_hash_wait_ms = 2000
open_requests_per_citizen = 20
plans_per_region = 1
day_replans_at_once = 2

[metrics]
address = ""

[log]
format = "pretty"
filter = "info"

[push]
fcm_key_file = ""
fcm_base_url = "https://fcm.googleapis.com"
poll_interval_ms = 500
max_attempts = 8
batch_size = 50
concurrency = 8
lease_secs = 60

[planning]
lease_secs = 30

[privacy]
active_key_id = ""
lookup_key = ""
keys_dir = ""
lookup_key_file = ""
retention_interval_secs = 3600

[privacy.retention_days]
sign_in_codes = 7
outbox = 30
positions = 30
feed = 30
"#;

/// Reads `value` from `file` when a file is named (trailing newlines dropped, as editors and
/// `echo` add them).
fn read_secret_file(
    setting: &'static str,
    value: &mut String,
    file: &str,
) -> Result<(), ConfigError> {
    if file.is_empty() {
        return Ok(());
    }
    if !value.is_empty() {
        return Err(ConfigError::Invalid {
            setting,
            reason: format!("is set both directly and through {setting}_file: keep one"),
        });
    }
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError::Invalid {
        setting,
        reason: format!("cannot read {setting}_file {file:?}: {e}"),
    })?;
    *value = text.trim_end_matches(['\n', '\r']).to_string();
    Ok(())
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl DatabaseSettings {
    pub fn backend(&self) -> Backend {
        if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// The SQLite file path (without the `sqlite://` prefix).
    pub fn sqlite_path(&self) -> &str {
        self.url.strip_prefix("sqlite://").unwrap_or(&self.url)
    }
}

impl Settings {
    /// Defaults, then `file` (if given, it must exist; otherwise `jemput.toml` if present), then
    /// the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        match file {
            Some(path) => builder = builder.add_source(config::File::from(path).required(true)),
            None => {
                builder = builder.add_source(config::File::with_name("jemput.toml").required(false))
            }
        }
        builder = builder.add_source(
            config::Environment::with_prefix("JEMPUT")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("rate_limit.trusted_proxies"),
        );
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.read_secret_files()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Each secret with a `…_file` twin (`JEMPUT__AUTH__JWT_SECRET_FILE`, …) is read from that
    /// file, so secrets can come from mounted files instead of the environment. Setting both
    /// the value and its file is refused: which one wins would be a guess.
    fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        read_secret_file(
            "auth.jwt_secret",
            &mut self.auth.jwt_secret,
            &self.auth.jwt_secret_file,
        )?;
        read_secret_file(
            "sms.auth_token",
            &mut self.sms.auth_token,
            &self.sms.auth_token_file,
        )?;
        // The default URL is not a secret the operator set, so a file replaces it.
        if !self.database.url_file.is_empty() {
            self.database.url.clear();
        }
        read_secret_file(
            "database.url",
            &mut self.database.url,
            &self.database.url_file,
        )
    }

    /// What `serve` must not run with in production: the logging SMS sender (anyone who reads
    /// the log signs in as any citizen) and a random token secret (a restart signs everyone
    /// out; two instances reject each other's tokens). Allowed with `--demo` or
    /// `server.development = true`.
    pub fn check_production(&self, demo: bool) -> Result<(), ConfigError> {
        if demo || self.server.development {
            return Ok(());
        }
        const ESCAPE: &str = "(for development only: run `serve --demo` or set \
                              JEMPUT__SERVER__DEVELOPMENT=true)";
        if self.sms.provider == "log" {
            return Err(ConfigError::Invalid {
                setting: "sms.provider",
                reason: format!(
                    "is `log`, which writes sign-in codes to the log: set \
                     JEMPUT__SMS__PROVIDER=twilio with JEMPUT__SMS__BASE_URL, \
                     JEMPUT__SMS__ACCOUNT_SID, JEMPUT__SMS__AUTH_TOKEN (or \
                     JEMPUT__SMS__AUTH_TOKEN_FILE) and JEMPUT__SMS__FROM {ESCAPE}"
                ),
            });
        }
        if self.auth.jwt_secret.is_empty() {
            return Err(ConfigError::Invalid {
                setting: "auth.jwt_secret",
                reason: format!(
                    "is empty, so tokens would be signed with a random secret that dies with \
                     the process: set JEMPUT__AUTH__JWT_SECRET (32+ characters) or \
                     JEMPUT__AUTH__JWT_SECRET_FILE {ESCAPE}"
                ),
            });
        }
        Ok(())
    }

    /// Defaults only, for tests and tools that build settings in code.
    pub fn defaults() -> Result<Self, ConfigError> {
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()?
            .try_deserialize()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
            ConfigError::Invalid {
                setting,
                reason: reason.into(),
            }
        }
        if self.server.host.trim().is_empty() {
            return Err(invalid("server.host", "must not be empty"));
        }
        if self.server.max_body_bytes < 1024 || self.server.max_body_bytes > 10 * 1024 * 1024 {
            return Err(invalid(
                "server.max_body_bytes",
                "must be between 1024 and 10485760",
            ));
        }
        let url = self.database.url.trim();
        if url.is_empty() {
            return Err(invalid("database.url", "must not be empty"));
        }
        if url.contains("://")
            && !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite://"))
        {
            return Err(invalid(
                "database.url",
                "must start with postgres://, postgresql:// or sqlite:// (or be a file path)",
            ));
        }
        if self.database.pool_size == 0 || self.database.pool_size > 128 {
            return Err(invalid("database.pool_size", "must be between 1 and 128"));
        }
        if !self.auth.jwt_secret.is_empty() && self.auth.jwt_secret.len() < 32 {
            return Err(invalid("auth.jwt_secret", "must be at least 32 characters"));
        }
        if !(60..=86_400).contains(&self.auth.access_token_ttl_secs) {
            return Err(invalid(
                "auth.access_token_ttl_secs",
                "must be between 60 and 86400",
            ));
        }
        if !(1..=365).contains(&self.auth.refresh_token_ttl_days) {
            return Err(invalid(
                "auth.refresh_token_ttl_days",
                "must be between 1 and 365",
            ));
        }
        if !(60..=3600).contains(&self.auth.otp_ttl_secs) {
            return Err(invalid("auth.otp_ttl_secs", "must be between 60 and 3600"));
        }
        if !(1..=10).contains(&self.auth.otp_max_attempts) {
            return Err(invalid("auth.otp_max_attempts", "must be between 1 and 10"));
        }
        if self.auth.otp_max_per_phone_per_hour < 1 {
            return Err(invalid(
                "auth.otp_max_per_phone_per_hour",
                "must be at least 1",
            ));
        }
        match self.sms.provider.as_str() {
            "log" => {}
            "twilio" => {
                if url::Url::parse(&self.sms.base_url).is_err() {
                    return Err(invalid("sms.base_url", "must be an absolute URL"));
                }
                if self.sms.account_sid.is_empty() {
                    return Err(invalid(
                        "sms.account_sid",
                        "is required with provider twilio",
                    ));
                }
                if self.sms.auth_token.is_empty() {
                    return Err(invalid(
                        "sms.auth_token",
                        "is required with provider twilio",
                    ));
                }
                if self.sms.from.is_empty() {
                    return Err(invalid("sms.from", "is required with provider twilio"));
                }
            }
            other => {
                return Err(invalid(
                    "sms.provider",
                    format!("unknown provider {other:?} (use log or twilio)"),
                ))
            }
        }
        if self.rate_limit.auth_per_minute == 0 {
            return Err(invalid("rate_limit.auth_per_minute", "must be at least 1"));
        }
        if self.rate_limit.auth_burst == 0 {
            return Err(invalid("rate_limit.auth_burst", "must be at least 1"));
        }
        for (setting, value) in [
            (
                "rate_limit.codes_per_minute",
                self.rate_limit.codes_per_minute,
            ),
            (
                "rate_limit.codes_burst",
                u64::from(self.rate_limit.codes_burst),
            ),
            (
                "rate_limit.per_identity_per_minute",
                self.rate_limit.per_identity_per_minute,
            ),
            (
                "rate_limit.per_identity_burst",
                u64::from(self.rate_limit.per_identity_burst),
            ),
        ] {
            if value == 0 {
                return Err(invalid(setting, "must be at least 1"));
            }
        }
        if let Some(bad) = self
            .rate_limit
            .trusted_proxies
            .iter()
            .find(|p| crate::net::IpBlock::parse(p).is_none())
        {
            return Err(invalid(
                "rate_limit.trusted_proxies",
                format!("{bad:?} is not an IP address or CIDR block"),
            ));
        }
        if self.auth.otp_max_per_phone_per_day < self.auth.otp_max_per_phone_per_hour {
            return Err(invalid(
                "auth.otp_max_per_phone_per_day",
                "must be at least auth.otp_max_per_phone_per_hour",
            ));
        }
        if self.auth.session_cache_ms > 60_000 {
            return Err(invalid(
                "auth.session_cache_ms",
                "must be at most 60000 (a deactivated account must stop within a minute)",
            ));
        }
        if self.limits.password_hashes_at_once > 256 {
            return Err(invalid(
                "limits.password_hashes_at_once",
                "must be at most 256",
            ));
        }
        if !self.metrics.address.is_empty()
            && self
                .metrics
                .address
                .parse::<std::net::SocketAddr>()
                .is_err()
        {
            return Err(invalid(
                "metrics.address",
                "must be host:port with an IP address, e.g. 127.0.0.1:9184 (or empty: off)",
            ));
        }
        if self.limits.open_requests_per_citizen < 1 {
            return Err(invalid(
                "limits.open_requests_per_citizen",
                "must be at least 1",
            ));
        }
        if !(1..=100).contains(&self.limits.plans_per_region) {
            return Err(invalid(
                "limits.plans_per_region",
                "must be between 1 and 100",
            ));
        }
        if !(1..=64).contains(&self.limits.day_replans_at_once) {
            return Err(invalid(
                "limits.day_replans_at_once",
                "must be between 1 and 64",
            ));
        }
        if !(1..=60_000).contains(&self.limits.password_hash_wait_ms) {
            return Err(invalid(
                "limits.password_hash_wait_ms",
                "must be between 1 and 60000",
            ));
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            return Err(invalid("log.format", "must be pretty or json"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.filter).is_err() {
            return Err(invalid("log.filter", "is not a valid tracing filter"));
        }
        if !(self.push.fcm_base_url.starts_with("https://")
            || self.push.fcm_base_url.starts_with("http://"))
        {
            return Err(invalid("push.fcm_base_url", "must be an http(s) URL"));
        }
        if !(10..=60_000).contains(&self.push.poll_interval_ms) {
            return Err(invalid(
                "push.poll_interval_ms",
                "must be between 10 and 60000",
            ));
        }
        if !(1..=50).contains(&self.push.max_attempts) {
            return Err(invalid("push.max_attempts", "must be between 1 and 50"));
        }
        if !(1..=500).contains(&self.push.batch_size) {
            return Err(invalid("push.batch_size", "must be between 1 and 500"));
        }
        if !(1..=64).contains(&self.push.concurrency) {
            return Err(invalid("push.concurrency", "must be between 1 and 64"));
        }
        if !(5..=3600).contains(&self.push.lease_secs) {
            return Err(invalid("push.lease_secs", "must be between 5 and 3600"));
        }
        if !(2..=3600).contains(&self.planning.lease_secs) {
            return Err(invalid("planning.lease_secs", "must be between 2 and 3600"));
        }
        if self
            .planning
            .threads
            .is_some_and(|t| !(1..=256).contains(&t))
        {
            return Err(invalid("planning.threads", "must be between 1 and 256"));
        }
        let days = &self.privacy.retention_days;
        for (setting, value) in [
            ("privacy.retention_days.sign_in_codes", days.sign_in_codes),
            ("privacy.retention_days.outbox", days.outbox),
            ("privacy.retention_days.positions", days.positions),
            ("privacy.retention_days.feed", days.feed),
        ] {
            if !(1..=3650).contains(&value) {
                return Err(invalid(setting, "must be between 1 and 3650 days"));
            }
        }
        if !(1..=86_400).contains(&self.privacy.retention_interval_secs) {
            return Err(invalid(
                "privacy.retention_interval_secs",
                "must be between 1 and 86400",
            ));
        }
        let id = &self.server.instance_id;
        if id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(invalid(
                "server.instance_id",
                "must be at most 64 letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(())
    }

    /// `server.instance_id`, or when it is empty the host name.
    pub fn instance_id(&self) -> Result<String, ConfigError> {
        if !self.server.instance_id.is_empty() {
            return Ok(self.server.instance_id.clone());
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty());
        host.ok_or(ConfigError::Invalid {
            setting: "server.instance_id",
            reason: "the host name is unknown: set a name for this instance".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Settings::defaults().unwrap().validate().unwrap();
    }

    #[test]
    fn bad_database_url_names_the_setting() {
        let mut s = Settings::defaults().unwrap();
        s.database.url = "mysql://x".into();
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("database.url"), "{err}");
    }

    #[test]
    fn the_instance_is_named_by_the_setting_or_else_the_host() {
        let mut s = Settings::defaults().unwrap();
        assert!(!s.instance_id().unwrap().is_empty());
        s.server.instance_id = "jemput-2".into();
        assert_eq!(s.instance_id().unwrap(), "jemput-2");
        s.server.instance_id = "two words".into();
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("server.instance_id"), "{err}");
    }

    #[test]
    fn serve_refuses_development_senders_and_secrets_unless_told() {
        let mut s = Settings::defaults().unwrap();
        let err = s.check_production(false).unwrap_err().to_string();
        assert!(err.contains("`sms.provider`"), "{err}");
        s.check_production(true).unwrap();
        s.sms.provider = "twilio".into();
        let err = s.check_production(false).unwrap_err().to_string();
        assert!(err.contains("`auth.jwt_secret`"), "{err}");
        assert!(err.contains("JEMPUT__AUTH__JWT_SECRET_FILE"), "{err}");
        s.server.development = true;
        s.check_production(false).unwrap();
        s.server.development = false;
        s.auth.jwt_secret = "x".repeat(32);
        s.check_production(false).unwrap();
    }

    #[test]
    fn secrets_come_from_files_but_not_from_both() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jwt");
        std::fs::write(&file, "s3cret-from-a-mounted-file-0123456789\n").unwrap();
        let mut s = Settings::defaults().unwrap();
        s.auth.jwt_secret_file = file.display().to_string();
        s.read_secret_files().unwrap();
        assert_eq!(s.auth.jwt_secret, "s3cret-from-a-mounted-file-0123456789");
        let err = s.read_secret_files().unwrap_err().to_string();
        assert!(err.contains("auth.jwt_secret"), "{err}");
        s.sms.auth_token_file = dir.path().join("missing").display().to_string();
        s.auth.jwt_secret_file.clear();
        let err = s.read_secret_files().unwrap_err().to_string();
        assert!(err.contains("sms.auth_token_file"), "{err}");
    }

    #[test]
    fn twilio_needs_credentials() {
        let mut s = Settings::defaults().unwrap();
        s.sms.provider = "twilio".into();
        s.sms.base_url = "http://127.0.0.1:1".into();
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("sms.account_sid"), "{err}");
    }
}
