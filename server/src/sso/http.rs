//! The HTTP client the OpenID Connect library talks to the provider through.
//!
//! hyper (with rustls on aws-lc-rs and the system's roots, as the time-stamp client) rather than
//! the library's reqwest integration: hyper never follows a redirect, so a provider (or anyone
//! between) cannot bounce a request carrying the client secret or a code to another host; and it
//! adds no second TLS stack. Every request has a time limit and a size limit on the answer.

use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use openidconnect::{HttpRequest, HttpResponse};
use std::time::Duration;

/// Largest answer read from the provider (discovery documents and key sets are a few KiB).
const MAX_RESPONSE: usize = 1024 * 1024;

/// Why a request to the provider failed; the message is for the log.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// A client for the provider. Cheap to clone.
#[derive(Clone)]
pub struct ProviderHttp {
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<bytes::Bytes>>,
    timeout: Duration,
}

impl ProviderHttp {
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(crate::seal::tsa::tls_config()?)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self { http: Client::builder(TokioExecutor::new()).build(connector), timeout })
    }

    /// Sends one request; a redirect comes back as the 3xx answer it is (and then fails the
    /// library's status check).
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let target = parts.uri.clone();
        let mut request = http::Request::from_parts(parts, Full::new(bytes::Bytes::from(body)));
        request.headers_mut().insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static(concat!("attesta/", env!("CARGO_PKG_VERSION"))),
        );
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| HttpError(format!("{target}: {e}")))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| HttpError(format!("{target}: the answer could not be read ({e})")))?;
            Ok(http::Response::from_parts(parts, body.to_bytes().to_vec()))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| HttpError(format!("{target}: no answer within {} s", self.timeout.as_secs_f32())))?
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = HttpError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
