//! Refusal of cross-site state-changing requests.
//!
//! Every request whose method may change state (anything but GET, HEAD, OPTIONS, TRACE) must
//! come from this site. Browsers say where a request comes from in `Sec-Fetch-Site` and `Origin`,
//! and send `Origin` on every cross-site POST, so:
//! - `Sec-Fetch-Site: cross-site` or `same-site` (a sibling subdomain) is refused;
//! - an `Origin` must equal this instance's public origin or the origin the request was addressed
//!   to (`Host`);
//! - without `Origin`, a `Referer` must have such an origin;
//! - with neither, the request is refused if it carries a cookie (a browser would have sent
//!   `Origin`, so this is not one we can vouch for) and allowed otherwise (a script with no ambient
//!   credentials cannot ride on anyone's session).
//!
//! This is the approach of Go's `http.CrossOriginProtection` and of the OWASP cheat sheet's
//! "verifying origin with standard headers", without tokens to keep in forms.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use std::sync::Arc;

#[derive(Clone)]
pub struct CsrfPolicy {
    pub public_origin: Arc<str>,
}

pub async fn refuse_cross_site(State(policy): State<CsrfPolicy>, request: Request, next: Next) -> Response {
    if is_safe(request.method()) || is_same_site(&policy, request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), path = %request.uri().path(), "refused a cross-site request");
    (StatusCode::FORBIDDEN, "cross-site request refused: this action must come from a page of this site")
        .into_response()
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

fn is_same_site(policy: &CsrfPolicy, headers: &HeaderMap) -> bool {
    if let Some(site) = header_str(headers, "sec-fetch-site")
        && matches!(site, "cross-site" | "same-site")
    {
        return false;
    }
    if let Some(origin) = header_str(headers, header::ORIGIN.as_str()) {
        return is_this_site(policy, headers, origin);
    }
    if let Some(referer) = header_str(headers, header::REFERER.as_str()) {
        return referer_is_this_site(policy, headers, referer);
    }
    !headers.contains_key(header::COOKIE)
}

/// Whether `origin` is this instance's public origin or the origin the request was addressed to
/// (`Host`).
fn is_this_site(policy: &CsrfPolicy, headers: &HeaderMap, origin: &str) -> bool {
    let host = header_str(headers, header::HOST.as_str());
    origin == &*policy.public_origin
        || host.is_some_and(|h| origin.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(h)))
}

/// [`is_this_site`] for the origin of a `Referer` URL; an unparsable one is not.
fn referer_is_this_site(policy: &CsrfPolicy, headers: &HeaderMap, referer: &str) -> bool {
    url::Url::parse(referer).is_ok_and(|u| is_this_site(policy, headers, &u.origin().ascii_serialization()))
}

/// Whether a GET that records evidence (a view or a download, in the signed-in person's name)
/// may record it: the request must come from a page of this site or from the person
/// themselves, never from another site's link, image or form riding on the `Lax` cookie.
///
/// - `Sec-Fetch-Site: same-origin`: a link or fetch on one of our pages;
/// - `Sec-Fetch-Site: none`: a URL the person typed, bookmarked or opened from another
///   application (a mail client): the browser sends `none` only when no site started the
///   request, so no other site can produce it;
/// - any other value (`cross-site`, `same-site`: a sibling subdomain we do not control) is refused;
/// - without `Sec-Fetch-Site` (browsers send it only to secure origins, and old browsers not at
///   all) a `Referer`, when present, must be of this site; with neither, a non-browser client
///   or a typed URL is assumed, as a cross-site browser request would have carried one of them.
pub fn may_record_on_get(policy: &CsrfPolicy, headers: &HeaderMap) -> bool {
    match header_str(headers, "sec-fetch-site") {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => header_str(headers, header::REFERER.as_str())
            .is_none_or(|referer| referer_is_this_site(policy, headers, referer)),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn policy() -> CsrfPolicy {
        CsrfPolicy { public_origin: Arc::from("https://sign.example.com") }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_public_origin_is_allowed() {
        assert!(is_same_site(&policy(), &headers(&[("origin", "https://sign.example.com")])));
    }

    #[test]
    fn the_origin_the_request_was_addressed_to_is_allowed() {
        assert!(is_same_site(&policy(), &headers(&[("origin", "http://127.0.0.1:4000"), ("host", "127.0.0.1:4000")])));
    }

    #[test]
    fn another_origin_is_refused() {
        assert!(!is_same_site(
            &policy(),
            &headers(&[("origin", "https://evil.example"), ("host", "sign.example.com")])
        ));
        assert!(!is_same_site(&policy(), &headers(&[("origin", "null"), ("host", "sign.example.com")])));
    }

    #[test]
    fn a_lookalike_origin_is_refused() {
        let h = headers(&[("origin", "https://sign.example.com.evil.example"), ("host", "sign.example.com")]);
        assert!(!is_same_site(&policy(), &h));
    }

    #[test]
    fn cross_site_fetch_metadata_is_refused_even_with_a_matching_origin() {
        let h = headers(&[("origin", "https://sign.example.com"), ("sec-fetch-site", "cross-site")]);
        assert!(!is_same_site(&policy(), &h));
    }

    #[test]
    fn the_referer_decides_when_origin_is_absent() {
        assert!(is_same_site(&policy(), &headers(&[("referer", "https://sign.example.com/login"), ("cookie", "a=b")])));
        assert!(!is_same_site(&policy(), &headers(&[("referer", "https://evil.example/x"), ("cookie", "a=b")])));
    }

    #[test]
    fn a_recording_get_must_come_from_this_site_or_the_person() {
        for ok in [&[("sec-fetch-site", "same-origin")][..], &[("sec-fetch-site", "none")], &[]] {
            assert!(may_record_on_get(&policy(), &headers(ok)), "{ok:?}");
        }
        let from_here = [("referer", "https://sign.example.com/documents/d1"), ("host", "sign.example.com")];
        assert!(may_record_on_get(&policy(), &headers(&from_here)));
        for refused in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "same-site")],
            &[("sec-fetch-site", "cross-site"), ("referer", "https://sign.example.com/")],
            &[("referer", "https://evil.example/page"), ("host", "sign.example.com")],
        ] {
            assert!(!may_record_on_get(&policy(), &headers(refused)), "{refused:?}");
        }
    }

    #[test]
    fn a_cookie_without_origin_or_referer_is_refused_but_a_bare_client_is_not() {
        assert!(!is_same_site(&policy(), &headers(&[("cookie", "attesta_session=x")])));
        assert!(is_same_site(&policy(), &headers(&[])));
    }
}
