//! Settings: the signed-in user's sessions, and for owners and admins the users. The other
//! settings pages (API keys, webhooks, and for admins jobs and integrity) share [`SettingsNav`].

use crate::api::auth::use_auth;
use crate::api::sessions::{RevokeSession, SessionRow, SignOutEverywhere, list_sessions};
use crate::api::users::{SetUserDisabled, UserRow, list_users};
use crate::components::layout::{Loading, RequireUser};
use crate::components::session_watch::{announce_sign_out, set_leaving};
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};

/// The sub-navigation of every settings page.
#[component]
pub fn SettingsNav() -> impl IntoView {
    let auth = use_auth();
    let is_admin = move || {
        auth.session
            .get()
            .and_then(Result::ok)
            .and_then(|s| s.user)
            .is_some_and(|u| u.role == "owner" || u.role == "admin")
    };
    view! {
        <nav class="settings-nav" aria-label="Settings">
            <A href="/settings/sessions">"Sessions"</A>
            <A href="/settings/api-keys">"API keys"</A>
            <A href="/settings/webhooks">"Webhooks"</A>
            <Show when=is_admin>
                <A href="/settings/users">"Users"</A>
                <A href="/settings/jobs">"Jobs"</A>
                <A href="/settings/integrity">"Integrity"</A>
                <A href="/settings/trust">"Trust"</A>
            </Show>
        </nav>
    }
}

/// `/settings`: the first settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    view! { <Redirect path="/settings/sessions" /> }
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    view! {
        <Title text="Sessions" />
        <RequireUser>
            <section class="page" aria-labelledby="sessions-heading">
                <div class="page__header">
                    <h1 id="sessions-heading">"Settings"</h1>
                </div>
                <SettingsNav />
                <Sessions />
            </section>
        </RequireUser>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let end_all = ServerAction::<SignOutEverywhere>::new();
    let sessions = Resource::new(move || (revoke.version().get(), end_all.version().get()), |_| list_sessions());
    // Signing out everywhere ends this tab's session too: tell this browser's other tabs.
    // Only "everywhere" (keep_this = false) ends this tab's session, and with it the other tabs
    // of this browser (which share it): only then are they told.
    let everywhere = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(keep_this) = end_all.input().with(|i| i.as_ref().map(|i| i.keep_this)) {
            everywhere.set(!keep_this);
            set_leaving(!keep_this);
        }
    });
    Effect::new(move |_| {
        if end_all.input().get().is_none() && everywhere.get_untracked() {
            match end_all.value().get() {
                Some(Ok(_)) => announce_sign_out(),
                Some(Err(_)) => set_leaving(false),
                None => {}
            }
        }
    });
    view! {
        <div class="panel">
            <div class="panel__header">
                <h2>"Signed-in devices"</h2>
            </div>
            <p class="panel__intro">
                "Every browser and device signed in to your account. Signing one out takes effect on its next request, within seconds."
            </p>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(rows) => view! { <SessionList rows revoke /> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            {move || {
                revoke.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
            }}
            <div class="settings-actions">
                <ActionForm action=end_all>
                    <input type="hidden" name="keep_this" value="true" />
                    <button type="submit" class="button button--quiet" data-testid="sign-out-others">
                        "Sign out all other devices"
                    </button>
                </ActionForm>
                <ActionForm action=end_all>
                    <input type="hidden" name="keep_this" value="false" />
                    <button type="submit" class="button button--danger-quiet" data-testid="sign-out-everywhere">
                        "Sign out everywhere"
                    </button>
                </ActionForm>
            </div>
            {move || {
                end_all
                    .value()
                    .get()
                    .map(|r| match r {
                        Ok(n) => {
                            view! {
                                <p class="muted" role="status">
                                    {match n {
                                        0 => "No other session was signed in.".to_owned(),
                                        1 => "1 other session signed out.".to_owned(),
                                        n => format!("{n} other sessions signed out."),
                                    }}
                                </p>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    })
            }}
        </div>
    }
}

#[component]
fn SessionList(rows: Vec<SessionRow>, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    view! {
        <ul class="session-list" data-testid="session-list">
            {rows
                .into_iter()
                .map(|row| {
                    let current = row.current;
                    view! {
                        <li class="session-list__item" data-testid="session-row" data-current=current.to_string()>
                            <div class="session-list__what">
                                <strong>{row.device.clone()}</strong>
                                {current.then(|| view! { <span class="badge badge--completed">"This device"</span> })}
                                <span class="muted small" title=row.user_agent.clone().unwrap_or_default()>
                                    {row.ip.clone().unwrap_or_else(|| "address unknown".to_owned())}
                                </span>
                            </div>
                            <div class="muted small">
                                "Signed in " <format::Time micros=row.signed_in_at /> " · last seen "
                                <format::Time micros=row.last_seen_at />
                            </div>
                            {(!current)
                                .then(|| {
                                    view! {
                                        <ActionForm action=revoke>
                                            <input type="hidden" name="handle" value=row.handle.clone() />
                                            <button
                                                type="submit"
                                                class="button button--quiet button--small"
                                                data-testid="revoke-session"
                                            >
                                                "Sign out"
                                            </button>
                                        </ActionForm>
                                    }
                                })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Title text="Users" />
        <RequireUser>
            <section class="page" aria-labelledby="users-heading">
                <div class="page__header">
                    <h1 id="users-heading">"Settings"</h1>
                </div>
                <SettingsNav />
                <Users />
            </section>
        </RequireUser>
    }
}

#[component]
fn Users() -> impl IntoView {
    let change = ServerAction::<SetUserDisabled>::new();
    let users = Resource::new(move || change.version().get(), |_| list_users());
    view! {
        <div class="panel">
            <div class="panel__header">
                <h2>"Users"</h2>
            </div>
            <p class="panel__intro">
                "Disabling an account signs it out everywhere at once; its documents and their evidence stay."
            </p>
            {move || {
                change.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
            }}
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(rows) => view! { <UserList rows change /> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn UserList(rows: Vec<UserRow>, change: ServerAction<SetUserDisabled>) -> impl IntoView {
    view! {
        <ul class="session-list" data-testid="user-list">
            {rows
                .into_iter()
                .map(|u| {
                    let disabled = u.disabled;
                    view! {
                        <li class="session-list__item" data-testid="user-row" data-email=u.email.clone()>
                            <div class="session-list__what">
                                <strong>{u.name.clone()}</strong>
                                <span class="muted small">{u.email.clone()}</span>
                                <span class="badge badge--draft">{u.role.clone()}</span>
                                {disabled.then(|| view! { <span class="badge badge--voided">"Disabled"</span> })}
                            </div>
                            <div class="muted small">"Since " <format::Time micros=u.created_at date_only=true /></div>
                            {u
                                .can_change
                                .then(|| {
                                    view! {
                                        <ActionForm action=change>
                                            <input type="hidden" name="id" value=u.id.to_string() />
                                            <input type="hidden" name="disabled" value=(!disabled).to_string() />
                                            <button
                                                type="submit"
                                                class=if disabled {
                                                    "button button--quiet button--small"
                                                } else {
                                                    "button button--danger-quiet button--small"
                                                }
                                                data-testid=if disabled { "enable-user" } else { "disable-user" }
                                            >
                                                {if disabled { "Enable" } else { "Disable" }}
                                            </button>
                                        </ActionForm>
                                    }
                                })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
