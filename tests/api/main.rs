//! Integration tests through HTTP, each on SQLite and on PostgreSQL, each with its own database.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

mod helpers;

mod access;
mod accounts;
mod auth;
mod catalog;
mod concurrency;
mod console;
mod contract;
mod dispatch;
mod http;
mod hygiene;
mod instances;
mod journey;
mod kpis;
mod limits;
mod live;
mod metrics;
mod migrations;
mod plans;
mod privacy;
mod production;
mod promises;
mod push;
mod rebalancing;
mod requests;
mod stored_enums;
mod validation;
mod visit_page;
