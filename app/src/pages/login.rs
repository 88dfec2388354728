//! Sign-in with email and password, or with the configured single sign-on provider.
//!
//! The SSO button is a plain link to `/auth/sso/start` (it works before the WASM has loaded);
//! `rel="external"` keeps the client-side router from handling it. When SSO is the only way in,
//! the password form is not shown (and its server function refuses anyway). A refused SSO
//! sign-in comes back as `?sso_error=<code>`, shown with the core's message for that code;
//! unknown codes show nothing.

use crate::api::auth::{SsoInfo, use_auth};
use crate::components::form::{Field, FormError};
use crate::components::layout::Loading;
use attesta_core::sso::SsoRefusal;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let action = auth.log_in;
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let pending = action.pending();
    // Set when a tab was sent here because its session ended (elsewhere, or revoked).
    let query = use_query_map();
    let signed_out = move || query.with(|q| q.get("signed_out").is_some());
    let sso_error =
        move || query.read().get("sso_error").and_then(|code| SsoRefusal::from_code(&code)).map(SsoRefusal::message);
    view! {
        <Title text="Sign in" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match auth.session.await {
                    Ok(info) if info.user.is_some() => view! { <Redirect path="/" /> }.into_any(),
                    Ok(info) if info.needs_setup => view! { <Redirect path="/setup" /> }.into_any(),
                    result => {
                        let sso = result.ok().and_then(|info| info.sso);
                        let password_form = !sso.as_ref().is_some_and(|s| s.only);
                        view! {
                            <section class="auth-card" aria-labelledby="login-heading">
                                <h1 id="login-heading">"Sign in to Attesta"</h1>
                                <Show when=signed_out>
                                    <p class="callout callout--info" role="status" data-testid="signed-out">
                                        "You were signed out. Sign in again to continue."
                                    </p>
                                </Show>
                                {move || {
                                    sso_error()
                                        .map(|message| {
                                            view! {
                                                <p class="form-error" role="alert" data-testid="sso-error">
                                                    {message}
                                                </p>
                                            }
                                        })
                                }}
                                {sso.map(|sso| view! { <SsoButton sso=sso /> })}
                                <Show when=move || password_form>
                                    <ActionForm action=action attr:class="form" attr:novalidate=true>
                                        <FormError error=error />
                                        <Field
                                            name="email"
                                            label="Email"
                                            kind="email"
                                            autocomplete="username"
                                            error=error
                                        />
                                        <Field
                                            name="password"
                                            label="Password"
                                            kind="password"
                                            autocomplete="current-password"
                                            error=error
                                        />
                                        <button
                                            type="submit"
                                            class="button button--primary button--wide"
                                            disabled=pending
                                        >
                                            {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                                        </button>
                                    </ActionForm>
                                </Show>
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// "Sign in with …": a link, so it works without WASM and is a top-level navigation.
#[component]
fn SsoButton(sso: SsoInfo) -> impl IntoView {
    let class = if sso.only { "button button--primary button--wide" } else { "button button--quiet button--wide" };
    view! {
        <a class=class href="/auth/sso/start" rel="external" data-testid="sso-login">
            {format!("Sign in with {}", sso.display_name)}
        </a>
    }
}
