//! Push notifications over FCM HTTP v1 (the legacy API is gone).

pub mod fcm;
pub mod health;
pub mod messages;
pub mod worker;
