//! Errors the planner reports about its input.

use thiserror::Error;

/// A problem the planner cannot take, with a stable code and the field at fault.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{field}: {message}")]
pub struct ProblemError {
    /// `malformed` (not the expected JSON shape) or `invalid` (shape right, value wrong).
    pub code: &'static str,
    /// Path of the offending field, e.g. `jobs[3].time_windows[0]`; empty for the whole document.
    pub field: String,
    pub message: String,
}

impl ProblemError {
    pub fn new(code: &'static str, field: String, message: String) -> ProblemError {
        ProblemError {
            code,
            field,
            message,
        }
    }
}
