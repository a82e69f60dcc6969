//! The application layer: one module per use case. Each use case owns ONE transaction
//! (`Db::write`), and inside it the same steps in the same order: take the region's lock first
//! when it writes routes, schedules or team days (the one fixed order every writer uses, so
//! checks stay true until commit; `sign_in` has its own single-statement guards), read again what
//! the caller worked from and check its versions (stale → a 409 with a stable code, never a
//! silent overwrite), then write the rows, their `event` trail and the `outbox` pushes that
//! announce them, all or nothing.
//!
//! Handlers in `api` parse, call one function here, and build the view; the rules live here;
//! `db` keeps typed rows, queries and conditional-write primitives; `push::messages` words the
//! pushes. Data flows `api → workflow → planning/db/push → domain`.

pub mod accounts;
pub mod audit;
pub mod devices;
pub mod field_reports;
pub mod intake;
pub mod kpis;
pub mod live;
mod notify;
pub mod personal_data;
pub mod plans;
pub mod positions;
pub mod publish;
pub mod rebalance;
pub mod requests;
pub mod sign_in;

use crate::db::DbError;
use crate::domain::Invalid;

/// Why a use case did not happen, for the use cases whose input can break a rule only the
/// stored data shows (a 422 naming the field); `api::error` maps it once.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("{0}")]
    Invalid(Invalid),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<Invalid> for WorkflowError {
    fn from(e: Invalid) -> Self {
        WorkflowError::Invalid(e)
    }
}

pub type WorkflowResult<T> = Result<T, WorkflowError>;
