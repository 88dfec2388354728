//! Decides the client's address: the TCP peer, or, when the peer is a configured trusted proxy,
//! the right-most address in `X-Forwarded-For` that is not itself a trusted proxy.

use attesta_app::ssr::ClientAddress;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

#[derive(Clone)]
pub struct TrustedProxies(pub Arc<[IpNet]>);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address for a request from `peer` with the given `X-Forwarded-For` values.
    pub fn client_address(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for.iter().flat_map(|v| v.split(',')).map(str::trim).rev();
        let mut client = peer;
        for hop in hops {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                // A garbled entry ends what can be believed.
                Err(_) => break,
            }
        }
        client
    }
}

pub async fn resolve(State(proxies): State<TrustedProxies>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(peer) = peer {
        let xff: Vec<&str> =
            request.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let ip = proxies.client_address(peer, &xff);
        request.extensions_mut().insert(ClientAddress(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies(nets.iter().map(|n| n.parse().expect("net")).collect())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let p = proxies(&[]);
        assert_eq!(p.client_address(ip("192.0.2.9"), &["203.0.113.5"]), ip("192.0.2.9"));
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_client() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(p.client_address(ip("10.0.0.2"), &["203.0.113.5"]), ip("203.0.113.5"));
    }

    #[test]
    fn spoofed_entries_left_of_the_first_untrusted_hop_are_ignored() {
        let p = proxies(&["10.0.0.0/8"]);
        let xff = ["198.51.100.66, 203.0.113.5, 10.0.0.7"];
        assert_eq!(p.client_address(ip("10.0.0.2"), &xff), ip("203.0.113.5"));
    }

    #[test]
    fn garbage_stops_the_walk() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(p.client_address(ip("10.0.0.2"), &["not-an-ip"]), ip("10.0.0.2"));
    }
}
