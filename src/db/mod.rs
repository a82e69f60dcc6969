//! The database layer: the only code that knows SQL. One code base on two backends through
//! `diesel::MultiConnection`; synchronous diesel runs on actix's blocking pool, never on a worker.

pub mod accounts;
pub mod catalog;
pub mod dispatch;
pub mod events;
pub mod fieldwork;
pub mod outbox;
pub mod plans;
pub mod requests;
pub mod routes;
pub mod schema;

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

/// Opens connections to the configured backend, picked from the URL, with SQLite's pragmas
/// applied per connection (busy_timeout first, one pragma per statement).
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
                    "PRAGMA journal_mode = WAL",
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

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<DbManager>;

/// A handle the API layer clones freely: the pool, plus SQLite's single-writer lock.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// SQLite allows one writer; serialising our own writes here means a transaction that reads
    /// and then writes never meets SQLITE_BUSY from another of our connections.
    write_lock: Arc<Mutex<()>>,
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
                path.to_string()
            }
        };
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size)
            .connection_timeout(Duration::from_secs(10))
            .build(DbManager { url, backend })
            .map_err(|e| anyhow::anyhow!("invalid setting `database.url`: cannot connect: {e}"))?;
        Ok(Self {
            pool,
            backend,
            write_lock: Arc::new(Mutex::new(())),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
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
            conn.transaction(|c| f(c))
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

/// Now, in UTC, as stored.
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
