//! Integration tests through HTTP, each on SQLite and on PostgreSQL, each with its own database.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

mod helpers;

mod access;
mod auth;
mod catalog;
mod concurrency;
mod console;
mod contract;
mod dispatch;
mod http;
mod instances;
mod journey;
mod kpis;
mod live;
mod migrations;
mod plans;
mod push;
mod rebalancing;
mod requests;
mod stored_enums;
mod validation;
mod visit_page;
