//! The HTTP edge: routes, and the middleware every request passes through.
//!
//! Order, outermost first: request id → trace span → metrics → timeout → security headers →
//! client address → cross-site request refusal → session → routes.

pub mod cache_control;
pub mod client_address;
pub mod csrf;
pub mod health;
pub mod limiter;
pub mod log;
pub mod metrics;
pub mod rate_limit;
pub mod request_id;
pub mod security_headers;
pub mod session_check;
