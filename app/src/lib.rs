//! Attesta's user interface: pages, components and the server functions they call.
//!
//! Compiled twice: with `ssr` into the server (where server functions run) and with `hydrate`
//! into the WASM client (where they become HTTP calls). The two features are exclusive.

// Leptos views are deeply nested types; the document page's, built for wasm in release, passes
// the default limit of 128.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod format;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use components::layout::Layout;
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};
use pages::{
    document::DocumentPage, home::HomePage, login::LoginPage, not_found::NotFound, prepare::PreparePage,
    setup::SetupPage, sign::SignPage, upload::UploadPage,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                // The stylesheet and the client by their content-hashed names when the build
                // hashed them (cargo-leptos `hash-files`), so browsers may keep them for good.
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    api::auth::provide_auth_context();
    // Effects run only in the browser: this marks the moment the WASM client has taken over,
    // which the browser tests wait for.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Attesta".to_owned() } else { format!("{page} · Attesta") }
        } />
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    // Async: the server renders these whole before answering, so the redirect
                    // they may decide on (to setup or sign-in) is a real 302, never a page that
                    // streams out and then moves.
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async />
                    <Route path=path!("/documents/upload") view=UploadPage ssr=SsrMode::Async />
                    <Route path=path!("/documents/:id") view=DocumentPage ssr=SsrMode::Async />
                    <Route path=path!("/documents/:id/prepare") view=PreparePage ssr=SsrMode::Async />
                    // No account: the link is the credential.
                    <Route path=path!("/sign/:token") view=SignPage ssr=SsrMode::Async />
                    // An approver's link: the same page, asking for an approval.
                    <Route path=path!("/approvals/:token") view=SignPage ssr=SsrMode::Async />
                    // An acknowledger's: the same page, asking them to confirm they read it.
                    <Route path=path!("/documents/acknowledge/:token") view=SignPage ssr=SsrMode::Async />
                    <Route path=path!("/verify") view=pages::verify::VerifyPage ssr=SsrMode::Async />
                    <Route path=path!("/risk") view=pages::risk::RiskPage ssr=SsrMode::Async />
                    <Route path=path!("/settings") view=pages::settings::SettingsPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/settings/sessions")
                        view=pages::settings::SessionsPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/settings/users") view=pages::settings::UsersPage ssr=SsrMode::Async />
                    <Route path=path!("/settings/jobs") view=pages::jobs::JobsPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/settings/integrity")
                        view=pages::integrity::IntegrityPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/settings/trust") view=pages::trust::TrustPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/settings/webhooks")
                        view=pages::webhooks::WebhooksPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/settings/api-keys")
                        view=pages::api_keys::ApiKeysPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </Layout>
        </Router>
    }
}
