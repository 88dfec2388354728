//! Server functions, one module per resource. Each is a public HTTP endpoint under `/api`:
//! it finds the user, checks permission, calls one core service and returns a DTO.

pub mod api_keys;
pub mod auth;
pub mod documents;
pub mod integrity;
pub mod jobs;
pub mod risk;
pub mod sessions;
pub mod signing;
pub mod trust;
pub mod users;
pub mod verify;
pub mod webhooks;
