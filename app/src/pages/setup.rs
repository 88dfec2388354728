//! First run: create the owner account. Only reachable while no user exists.

use crate::api::auth::use_auth;
use crate::components::form::{Field, FormError};
use crate::components::layout::Loading;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn SetupPage() -> impl IntoView {
    let auth = use_auth();
    let action = auth.set_up;
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let pending = action.pending();
    view! {
        <Title text="Set up" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match auth.session.await {
                    Ok(info) if info.user.is_some() => view! { <Redirect path="/" /> }.into_any(),
                    Ok(info) if !info.needs_setup => view! { <Redirect path="/login" /> }.into_any(),
                    _ => {
                        view! {
                            <section class="auth-card" aria-labelledby="setup-heading">
                                <h1 id="setup-heading">"Welcome to Attesta"</h1>
                                <p class="lead">
                                    "Create the owner account of this instance. The owner manages users and settings."
                                </p>
                                <ActionForm action=action attr:class="form" attr:novalidate=true>
                                    <FormError error=error />
                                    <Field name="name" label="Your name" autocomplete="name" error=error />
                                    <Field name="email" label="Email" kind="email" autocomplete="username" error=error />
                                    <Field
                                        name="password"
                                        label="Password"
                                        kind="password"
                                        autocomplete="new-password"
                                        hint="At least 12 characters. A passphrase of a few words is easy to remember."
                                        minlength=12
                                        error=error
                                    />
                                    <Field
                                        name="password_confirm"
                                        label="Repeat the password"
                                        kind="password"
                                        autocomplete="new-password"
                                        error=error
                                    />
                                    <button type="submit" class="button button--primary button--wide" disabled=pending>
                                        {move || if pending.get() { "Creating…" } else { "Create owner account" }}
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
