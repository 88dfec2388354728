//! Sign-in with email and password.

use crate::api::auth::use_auth;
use crate::components::form::{Field, FormError};
use crate::components::layout::Loading;
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
    view! {
        <Title text="Sign in" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match auth.session.await {
                    Ok(info) if info.user.is_some() => view! { <Redirect path="/" /> }.into_any(),
                    Ok(info) if info.needs_setup => view! { <Redirect path="/setup" /> }.into_any(),
                    _ => {
                        view! {
                            <section class="auth-card" aria-labelledby="login-heading">
                                <h1 id="login-heading">"Sign in to Attesta"</h1>
                                <Show when=signed_out>
                                    <p class="callout callout--info" role="status" data-testid="signed-out">
                                        "You were signed out. Sign in again to continue."
                                    </p>
                                </Show>
                                <ActionForm action=action attr:class="form" attr:novalidate=true>
                                    <FormError error=error />
                                    <Field name="email" label="Email" kind="email" autocomplete="username" error=error />
                                    <Field
                                        name="password"
                                        label="Password"
                                        kind="password"
                                        autocomplete="current-password"
                                        error=error
                                    />
                                    <button type="submit" class="button button--primary button--wide" disabled=pending>
                                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                                    </button>
                                </ActionForm>
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
