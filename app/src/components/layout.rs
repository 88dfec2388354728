//! The frame around every page: a skip link, the header with navigation and the signed-in
//! user, and the main landmark.

use crate::api::auth::use_auth;
use crate::components::session_watch::{SessionWatch, announce_sign_out, set_leaving};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main" rel="external">
            "Skip to content"
        </a>
        <header class="site-header">
            <div class="site-header__inner">
                <a class="brand" href="/">
                    <span class="brand__mark" aria-hidden="true">
                        "A"
                    </span>
                    <span class="brand__name">"Attesta"</span>
                </a>
                <Transition fallback=|| ()>
                    <UserNav />
                </Transition>
            </div>
        </header>
        <main id="main" class="site-main" tabindex="-1">
            {children()}
        </main>
    }
}

#[component]
fn UserNav() -> impl IntoView {
    let auth = use_auth();
    // A sign-out here ends the session in every tab of this browser, and they hear it at once.
    Effect::new(move |_| {
        if auth.log_out.pending().get() {
            set_leaving(true);
        }
    });
    Effect::new(move |_| match auth.log_out.value().get() {
        Some(Ok(())) => announce_sign_out(),
        Some(Err(_)) => set_leaving(false),
        None => {}
    });
    move || {
        Suspend::new(async move {
            let user = auth.session.await.ok().and_then(|s| s.user);
            user.map(|user| {
                view! {
                    <nav class="site-nav" aria-label="Main">
                        <A href="/" exact=true>
                            "Documents"
                        </A>
                        {(user.role == "owner" || user.role == "admin")
                            .then(|| view! { <A href="/risk">"Risk"</A> })}
                        <a href="/verify" rel="external">
                            "Verify"
                        </a>
                        <A href="/settings">"Settings"</A>
                    </nav>
                    <SessionWatch />
                    <div class="user-menu">
                        <span class="user-menu__who" data-testid="signed-in-user">
                            <span class="user-menu__name">{user.name.clone()}</span>
                            <span class="user-menu__email">{user.email.clone()}</span>
                        </span>
                        <ActionForm action=auth.log_out attr:class="user-menu__logout">
                            <button type="submit" class="button button--quiet">
                                "Sign out"
                            </button>
                        </ActionForm>
                    </div>
                }
            })
        })
    }
}

/// Shown while a page's data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <p class="loading" role="status">
            "Loading…"
        </p>
    }
}

/// Ensures only the signed-in see `children`; others are sent to setup or sign-in.
#[component]
pub fn RequireUser(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match auth.session.await {
                    Ok(info) if info.user.is_some() => children.read_value()().into_any(),
                    Ok(info) if info.needs_setup => {
                        view! { <leptos_router::components::Redirect path="/setup" /> }.into_any()
                    }
                    Ok(_) => view! { <leptos_router::components::Redirect path="/login" /> }.into_any(),
                    Err(e) => {
                        view! {
                            <p class="alert alert--error" role="alert">
                                {e.to_string()}
                            </p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
