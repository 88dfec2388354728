//! Rate limits for the public, account-less surface: the signer's pages and endpoints.
//!
//! Keyed by the client address as resolved by `client_address` (so a trusted proxy's
//! `X-Forwarded-For` counts, never a client's own claim). A GCRA limit ([`super::limiter`],
//! shared by every instance on PostgreSQL) allows `per_minute` on average with a burst; above it
//! the answer is 429 with `Retry-After`.

use attesta_app::ssr::ClientAddress;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http::{HeaderValue, StatusCode, header};
use std::net::{IpAddr, Ipv4Addr};

/// The paths the limit applies to.
const PUBLIC_PREFIXES: [&str; 4] = ["/sign/", "/approvals/", "/documents/acknowledge/", "/api/sign/"];

#[derive(Clone)]
pub struct PublicLimit(super::limiter::Limiter);

impl PublicLimit {
    pub fn new(limiter: super::limiter::Limiter) -> Self {
        Self(limiter)
    }
}

/// The key an address counts under: IPv4 as is, IPv6 by its /64 (one customer's network hands
/// out a whole /64, so single addresses would be free to rotate through).
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
    }
}

pub async fn limit(State(limit): State<PublicLimit>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return next.run(request).await;
    }
    let ip = request.extensions().get::<ClientAddress>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| bucket(c.0));
    match limit.0.check(&format!("public:{ip}")).await {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let secs = super::limiter::retry_after_secs(wait);
            tracing::warn!(%ip, path, "public rate limit reached");
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Too many requests from your address. Please wait a moment and try again.",
            )
                .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bucket;
    use std::net::IpAddr;

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket(c));
        let v4: IpAddr = "192.0.2.7".parse().expect("ip");
        assert_eq!(bucket(v4), v4);
    }
}
