//! Version 1 of the API.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod devices;
pub mod dispatch;
pub mod kpis;
pub mod live;
pub mod me;
pub mod plans;
pub mod requests;
pub mod routes;
pub mod views;
pub mod visit_link;
