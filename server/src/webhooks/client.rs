//! The HTTP client webhooks are posted with: rustls (system roots), HTTP/1.1, redirects never
//! followed (a redirect could lead anywhere, including inside), a time limit on the whole
//! exchange, and no internal addresses unless `webhooks.allow_private_targets` is set.
//!
//! The address check happens in the resolver the connector uses, so the address connected to is
//! always one that was checked: a name that resolves to an internal address (including a DNS
//! rebinding answer that changed since the endpoint was saved) is refused at connection time.
//! URLs with an address literal skip resolution and are checked before the request. hyper, not
//! reqwest, for the reason `seal::tsa` gives (one rustls provider, no process-wide default).

use attesta_core::webhooks::target::is_public;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The answer's first bytes kept in the delivery log.
const RESPONSE_HEAD: usize = 1024;

pub const USER_AGENT: &str = concat!("Attesta-Webhooks/", env!("CARGO_PKG_VERSION"));

/// Resolves names and refuses those with any internal address (unless allowed).
#[derive(Clone)]
struct GuardedResolver {
    allow_private: bool,
}

impl tower::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{} resolves to the internal address {}", name.as_str(), bad.ip()),
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>;

/// What one delivery attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The answer's first bytes, as text (lossy).
    pub head: Option<String>,
    pub duration: Duration,
}

impl Outcome {
    /// 2xx: delivered. Anything else (another status, no answer) is retried.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Clone)]
pub struct DeliveryClient {
    http: Client<Connector, Full<bytes::Bytes>>,
    timeout: Duration,
    allow_private: bool,
}

/// Whether the URL's host may be posted to before resolution: a public address literal or a
/// name (names are checked when resolved).
pub fn host_allowed(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_public(ip.into()),
        Some(url::Host::Ipv6(ip)) => is_public(ip.into()),
        Some(url::Host::Domain(_)) => true,
        None => false,
    }
}

impl DeliveryClient {
    pub fn new(timeout: Duration, allow_private: bool) -> anyhow::Result<Self> {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { allow_private });
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self { http, timeout, allow_private })
    }

    /// POSTs `body` to `url` with the Standard Webhooks headers.
    pub async fn post(&self, url: &str, id: &str, timestamp: i64, signature: &str, body: String) -> Outcome {
        let started = Instant::now();
        let failed =
            |error: String| Outcome { status: None, error: Some(error), head: None, duration: started.elapsed() };
        let parsed = match url::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return failed(format!("the URL is not valid ({e})")),
        };
        if !self.allow_private && !host_allowed(&parsed) {
            return failed("refused: the URL names an internal address".to_owned());
        }
        let request = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, USER_AGENT)
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(Full::new(bytes::Bytes::from(body)));
        let request = match request {
            Ok(r) => r,
            Err(e) => return failed(format!("the request could not be built ({e})")),
        };
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            let mut body = response.into_body();
            let mut head = Vec::new();
            while head.len() < RESPONSE_HEAD {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            head.extend_from_slice(&data[..data.len().min(RESPONSE_HEAD - head.len())]);
                        }
                    }
                    _ => break,
                }
            }
            Ok::<_, String>((status, String::from_utf8_lossy(&head).into_owned()))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok((status, head))) => {
                Outcome { status: Some(status), error: None, head: Some(head), duration: started.elapsed() }
            }
            Ok(Err(e)) => failed(e),
            Err(_) => failed(format!("no answer within {} s", self.timeout.as_secs_f32())),
        }
    }
}

/// The error and its causes in one line (hyper's own message is only "client error").
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn tls_config() -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        tracing::warn!("no system root certificates found: https:// webhook endpoints will not connect");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
