//! Attesta's domain: the rules that hold whatever runs them.
//!
//! This crate has no web framework, database or async runtime in it, and it compiles to
//! `wasm32-unknown-unknown` so the browser can run the same code as the server. The outside
//! world reaches it only through the ports in [`ports`] (storage, clock, randomness, password hashing),
//! which the `server` crate implements.

#![forbid(unsafe_code)]

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod ceremony;
pub mod documents;
pub mod entropy;
pub mod evidence;
pub mod integrity;
pub mod jobs;
pub mod ports;
pub mod retention;
pub mod risk;
#[cfg(feature = "pdf")]
pub mod seal;
pub mod sessions;
pub mod signing;
pub mod sso;
pub mod storage;
pub mod text;
pub mod throttle;
pub mod time;
pub mod webhooks;

pub use accounts::{AccountError, AccountService, DisplayName, EmailAddress, NewPassword, Role, User, UserId};
pub use throttle::{ThrottleDecision, ThrottlePolicy};
pub use time::Timestamp;
