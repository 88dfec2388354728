//! Integration tests: each starts the real server on port 0 with a fresh database (SQLite, or a
//! PostgreSQL schema of its own with ATTESTA_TEST_DATABASE=postgres) and
//! talks to it over HTTP like a browser or a script would.

mod auth;
mod caching;
mod cli;
mod completion;
mod csrf;
mod db_copy;
mod documents;
mod evidence;
mod follow_ups;
mod helpers;
mod instance;
mod instances;
mod integrity;
mod jobs;
mod log_origin;
mod mail;
mod operations;
mod postgres;
mod resealed;
mod rest;
mod retention;
mod risk;
mod roles;
mod s3_store;
mod scheduling;
mod sessions;
mod signing;
mod sso;
mod uploads;
mod webhooks;
