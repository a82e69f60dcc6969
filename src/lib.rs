//! Jemput: schedules jemput bola field service. Citizens request visits, coordinators plan them,
//! field teams work them. See `DESIGN.md` in the shared folder for the architecture.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod domain;
pub mod metrics;
pub mod net;
pub mod planning;
pub mod privacy;
pub mod push;
pub mod retention;
pub mod startup;
pub mod telemetry;
pub mod workflow;
