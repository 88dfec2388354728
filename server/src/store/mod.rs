//! Persistence adapters. Today: SQLite, the embedded default. The ports they implement live in
//! the core crate (`attesta_core::ports`), so a PostgreSQL adapter can follow without touching
//! the domain or the app.

pub mod sessions;
pub mod sqlite;
