//! The database layer: the only code that knows SQL. One code base on two backends through
//! `diesel::MultiConnection`; synchronous diesel runs on actix's blocking pool, never on a worker.

pub mod accounts;
pub mod audit;
pub mod catalog;
pub mod dispatch;
pub mod events;
pub mod feed;
pub mod fieldwork;
pub mod kpis;
pub mod outbox;
pub mod personal;
pub mod plans;
pub mod positions;
pub mod requests;
pub mod retention;
pub mod routes;
pub mod schema;
pub mod visit_page;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::{Backend, DatabaseSettings};
use crate::domain::{ErrorCode, UnknownStoredValue};

pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Errors of the storage layer. The API layer maps these to HTTP.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    /// A write from a stale copy: the row is now at `current`.
    #[error("version conflict: current version is {current}")]
    VersionConflict { current: i32 },
    /// A unique constraint refused the write; the name says which.
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// The current state refuses the change; `code` is the API's error code (a 409).
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    #[error("database error: {0}")]
    Query(diesel::result::Error),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("blocking task failed: {0}")]
    Blocking(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type DbResult<T> = Result<T, DbError>;

/// The version a versioned write stores after `expected`. No stored version is past
/// `i32::MAX`, so an `expected` that has no successor is a copy that never existed: a conflict
/// with `current`, never an overflow.
pub fn next_version(expected: i32, current: i32) -> DbResult<i32> {
    expected
        .checked_add(1)
        .ok_or(DbError::VersionConflict { current })
}

impl From<diesel::result::Error> for DbError {
    /// A stored enum holding text no variant spells is corrupt data, not a query failure.
    fn from(e: diesel::result::Error) -> Self {
        if let diesel::result::Error::DeserializationError(cause) = &e {
            // diesel wraps the column's error (in a `DeserializeFieldError` naming the field).
            let mut current: Option<&(dyn std::error::Error + 'static)> = Some(cause.as_ref());
            while let Some(err) = current {
                if let Some(unknown) = err.downcast_ref::<UnknownStoredValue>() {
                    return DbError::Corrupt(format!("{e}: {unknown}"));
                }
                current = err.source();
            }
        }
        DbError::Query(e)
    }
}

/// True when `err` is a unique-constraint violation.
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// `f` in one write transaction. On SQLite it begins `IMMEDIATE`: the file's write lock is
/// taken before anything is read (waiting up to `busy_timeout` for another process's writer),
/// so a transaction that reads and then writes never fails to upgrade its lock halfway, and
/// what it read stays true until it commits. The in-process lock in [`Db::write`] only spares
/// this process's own writers that wait.
fn write_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> DbResult<T>,
) -> DbResult<T> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match conn {
        DbConnection::Postgresql(_) => return conn.transaction(f),
        DbConnection::Sqlite(lite) => {
            AnsiTransactionManager::begin_transaction_sql(lite, "BEGIN IMMEDIATE")?;
        }
    }
    let outcome = f(conn);
    let DbConnection::Sqlite(lite) = conn else {
        return outcome;
    };
    match outcome {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(lite)?;
            Ok(value)
        }
        Err(e) => {
            // The cause is `e`; a failed rollback leaves the manager broken, and the pool
            // then drops the connection.
            let _ = AnsiTransactionManager::rollback_transaction(lite);
            Err(e)
        }
    }
}

/// A unique key that refused a write is a `Duplicate` of `what`; any other error stays itself.
pub fn duplicate_of(what: &'static str) -> impl FnOnce(diesel::result::Error) -> DbError {
    move |e| {
        if is_unique_violation(&e) {
            DbError::Duplicate(what)
        } else {
            e.into()
        }
    }
}

/// Opens connections to the configured backend, picked from the URL, with SQLite's
/// per-connection pragmas applied (busy_timeout first, one pragma per statement). The journal
/// mode is not among them: it belongs to the file and is set once before the pool opens
/// ([`Db::connect`]).
#[derive(Debug)]
pub struct DbManager {
    url: String,
    backend: Backend,
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.url)
                .map(DbConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(&self.url)
                    .map_err(r2d2::Error::ConnectionError)?;
                for pragma in [
                    "PRAGMA busy_timeout = 5000",
                    "PRAGMA synchronous = NORMAL",
                    "PRAGMA foreign_keys = ON",
                ] {
                    conn.batch_execute(pragma)
                        .map_err(r2d2::Error::QueryError)?;
                }
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// Broken when diesel's transaction manager is in error or a transaction was left open.
    /// On PostgreSQL that includes a server gone away: after any query libpq reports the
    /// transaction status of a bad connection as unknown, and diesel marks the manager in
    /// error. A cheap check with no round trip, which is what lets the pool skip testing each
    /// connection on check-out (a `SELECT 1` transaction per request).
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Counts the pool's failed connection attempts, and logs each.
#[derive(Debug)]
struct ConnectErrors(Arc<AtomicU64>);

impl r2d2::HandleError<r2d2::Error> for ConnectErrors {
    fn handle_error(&self, error: r2d2::Error) {
        self.0.fetch_add(1, Ordering::Relaxed);
        tracing::error!(%error, "database connection failed");
    }
}

pub type Pool = r2d2::Pool<DbManager>;

/// A handle the API layer clones freely: the pool, plus SQLite's single-writer lock.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// SQLite allows one writer; our own writers queue here rather than in SQLite's busy
    /// handler. Other processes on the file are kept out by `BEGIN IMMEDIATE`.
    write_lock: Arc<Mutex<()>>,
    connect_errors: Arc<AtomicU64>,
}

impl Db {
    pub fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let backend = settings.backend();
        let url = match backend {
            Backend::Postgres => settings.url.clone(),
            Backend::Sqlite => {
                let path = settings.sqlite_path();
                if let Some(parent) = std::path::Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(|e| {
                            anyhow::anyhow!(
                                "invalid setting `database.url`: cannot create {}: {e}",
                                parent.display()
                            )
                        })?;
                    }
                }
                // WAL is a property of the file. Switching takes an exclusive lock, so it is done
                // here once, before the pool opens its connections all at once.
                let mut first = diesel::SqliteConnection::establish(path).map_err(|e| {
                    anyhow::anyhow!("invalid setting `database.url`: cannot open: {e}")
                })?;
                first
                    .batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL")
                    .map_err(|e| anyhow::anyhow!("cannot switch {path} to WAL: {e}"))?;
                path.to_string()
            }
        };
        let connect_errors = Arc::new(AtomicU64::new(0));
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size)
            .connection_timeout(Duration::from_secs(10))
            .test_on_check_out(false)
            .error_handler(Box::new(ConnectErrors(connect_errors.clone())))
            .build(DbManager { url, backend })
            .map_err(|e| anyhow::anyhow!("invalid setting `database.url`: cannot connect: {e}"))?;
        Ok(Self {
            pool,
            backend,
            write_lock: Arc::new(Mutex::new(())),
            connect_errors,
        })
    }

    /// How many times the pool failed to open a connection since start.
    pub fn connect_errors(&self) -> u64 {
        self.connect_errors.load(Ordering::Relaxed)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many connections the pool holds now, and how many of them are idle.
    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// The pool's maximum number of connections.
    pub fn pool_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// A connection for synchronous code (start-up, CLI, tests). Handlers use [`Db::read`] and
    /// [`Db::write`].
    pub fn get(&self) -> DbResult<r2d2::PooledConnection<DbManager>> {
        Ok(self.pool.get()?)
    }

    pub fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.get()?;
        run_migrations(&mut conn)
    }

    /// Runs `f` on a blocking thread with a pooled connection.
    pub async fn read<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> DbResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| DbError::Blocking(e.to_string()))?
    }

    /// Runs `f` on a blocking thread in a read-only transaction that sees one consistent
    /// snapshot (PostgreSQL: REPEATABLE READ; SQLite: a read transaction in WAL mode), for
    /// readers whose several queries must agree with each other, such as what a plan reads.
    pub async fn read_consistent<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> DbResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut pooled = pool.get()?;
            let conn: &mut DbConnection = &mut pooled;
            conn.transaction(|c| {
                if let DbConnection::Postgresql(pg) = c {
                    pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
                }
                f(c)
            })
        })
        .await
        .map_err(|e| DbError::Blocking(e.to_string()))?
    }

    /// Runs `f` in one transaction on a blocking thread: all of it is stored, or none.
    pub async fn write<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> DbResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let lock = (self.backend == Backend::Sqlite).then(|| self.write_lock.clone());
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            let _guard = lock
                .as_ref()
                .map(|lock| lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            write_transaction(&mut conn, f)
        })
        .await
        .map_err(|e| DbError::Blocking(e.to_string()))?
    }

    /// Readiness: can we run a query right now?
    pub async fn ping(&self) -> DbResult<()> {
        self.read(|c| c.batch_execute("SELECT 1").map_err(DbError::from))
            .await
    }
}

pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    match conn {
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))
}

/// Reverts every migration (for `jemput migrate --down-all` and the up → down → up test).
pub fn revert_all_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    match conn {
        DbConnection::Postgresql(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| anyhow::anyhow!("migration revert failed: {e}"))
}

/// Takes the row lock of `$table`'s row `$id` until the transaction ends (PostgreSQL `SELECT …
/// FOR NO KEY UPDATE`; NotFound when there is no such row). A macro, as diesel's tables are
/// distinct types. SQLite needs nothing: [`Db::write`] already lets one writer in at a time.
macro_rules! lock_row {
    ($conn:expr, $table:ident, $id:expr) => {
        match $conn {
            DbConnection::Postgresql(pg) => schema::$table::table
                .find($id)
                .select(schema::$table::id)
                .for_no_key_update()
                .first::<i64>(pg)
                .optional()?
                .map(|_| ())
                .ok_or(DbError::NotFound),
            DbConnection::Sqlite(_) => Ok(()),
        }
    };
}

/// Serialises every write that touches a region's routes, request schedules or team days: the
/// caller holds the region's row lock until its transaction ends, so checks it makes after this
/// call (versions, staleness, "already published") stay true until it commits. Call it FIRST in
/// the transaction, before any other row is written, and for at most one region (or several in
/// ascending id order): one fixed order means no deadlocks.
///
/// `FOR NO KEY UPDATE` does not block inserts that merely reference the region (their
/// foreign-key checks take `FOR KEY SHARE`).
pub fn lock_region(conn: &mut DbConnection, region_id: i64) -> DbResult<()> {
    lock_row!(conn, regions, region_id)
}

/// Serialises the writes made on behalf of one account that must see each other (a phone's
/// batches of reports, replayed at once on a flaky network). Taken after any region lock.
pub fn lock_account(conn: &mut DbConnection, account_id: i64) -> DbResult<()> {
    lock_row!(conn, accounts, account_id)
}

/// The class of PostgreSQL advisory locks that stand for phone numbers.
const PHONE_LOCKS: i32 = 1;

/// Serialises the sign-in code requests of one phone number, so the per-hour count read
/// after it stays true until the transaction ends. There may be no account row to lock yet:
/// PostgreSQL takes a transaction-scoped advisory lock keyed by the number's hash (a hash
/// collision only makes two numbers take turns). Taken alone, never with a region's or an
/// account's lock. SQLite needs nothing: [`Db::write`] lets one writer in at a time.
pub fn lock_phone(conn: &mut DbConnection, phone: &str) -> DbResult<()> {
    match conn {
        DbConnection::Postgresql(pg) => {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind::<diesel::sql_types::Integer, _>(PHONE_LOCKS)
                .bind::<diesel::sql_types::Text, _>(phone)
                .execute(pg)?;
            Ok(())
        }
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Who holds a claim (an outbox row being sent, a planning job being solved): the service
/// instance, a stable name from the settings, and this process's boot id, new at every start.
/// The instance lets a restarted process take back its own claims at once (those with another
/// boot id were left by a process of the same instance that died); the boot id tells them from
/// the claims of the process running now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    pub instance_id: String,
    pub boot_id: String,
}

impl Claimant {
    /// This process, as `instance_id`, with a fresh boot id.
    pub fn new(instance_id: &str) -> Claimant {
        Claimant {
            instance_id: instance_id.to_string(),
            boot_id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

/// Now, in UTC, as stored.
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
