//! Persistence adapters over `sqlx::Any`: one SQL text for SQLite (the embedded default) and
//! PostgreSQL, chosen by `database.url` ([`db`]). The ports they implement live in the core
//! crate (`attesta_core::ports`).

pub mod accounts;
pub mod copy;
pub mod db;
pub mod sessions;
pub mod web_sessions;
