//! Settings → API keys: create a key (name and scope), see its secret exactly once with a copy
//! button, list the user's keys (prefix, scopes, created, last used, revoked) and revoke one
//! after confirming.

use crate::api::api_keys::{ApiKeyRow, CreateApiKey, RevokeApiKey, list_api_keys};
use crate::components::form::{Field, FormError};
use crate::components::layout::{Loading, RequireUser};
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_api_keys());
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <Title text="API keys" />
        <RequireUser>
            <section class="page" aria-labelledby="api-keys-heading">
                <div class="page__header">
                    <h1 id="api-keys-heading">"API keys"</h1>
                </div>
                <crate::pages::settings::SettingsNav />
                <p>
                    "Keys let a program use the REST API (" <a href="/api/v1/openapi.json">"/api/v1"</a>
                    ") as you, with at most your rights. What a key does is recorded as done by you via that key."
                </p>
                <section class="panel" aria-labelledby="new-key-heading">
                    <div class="panel__header">
                        <h2 id="new-key-heading">"New key"</h2>
                    </div>
                    <ActionForm action=create attr:class="form" attr:novalidate=true>
                        <FormError error=error />
                        <Field name="name" label="Name" kind="text" autocomplete="off" error=error />
                        <fieldset class="form__choices">
                            <legend>"Scope"</legend>
                            <label>
                                <input type="radio" name="scope" value="read" checked=true />
                                " read: list and download documents"
                            </label>
                            <label>
                                <input type="radio" name="scope" value="send" />
                                " send: also create, send and void documents"
                            </label>
                            <label>
                                <input type="radio" name="scope" value="admin" />
                                " admin: also everyone's documents, if you are an owner or admin"
                            </label>
                        </fieldset>
                        <button type="submit" class="button button--primary" data-testid="create-api-key">
                            "Create key"
                        </button>
                    </ActionForm>
                    {move || {
                        create
                            .value()
                            .get()
                            .and_then(Result::ok)
                            .map(|created| {
                                view! {
                                    <div class="alert alert--success" role="status">
                                        <p>"Copy this key now: it is not shown again."</p>
                                        <code data-testid="api-key-secret">{created.secret.clone()}</code>
                                        " "
                                        <CopySecret text=created.secret />
                                    </div>
                                }
                            })
                    }}
                </section>
                <section class="panel" aria-labelledby="keys-heading">
                    <div class="panel__header">
                        <h2 id="keys-heading">"Your keys"</h2>
                    </div>
                    <Suspense fallback=Loading>
                        {move || Suspend::new(async move {
                            match keys.await {
                                Ok(rows) if rows.is_empty() => view! { <p>"No keys yet."</p> }.into_any(),
                                Ok(rows) => view! { <KeyTable rows=rows revoke=revoke /> }.into_any(),
                                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Suspense>
                    {move || {
                        revoke
                            .value()
                            .get()
                            .and_then(Result::err)
                            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
                    }}
                </section>
            </section>
        </RequireUser>
    }
}

#[component]
fn KeyTable(rows: Vec<ApiKeyRow>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    view! {
        <table class="table" data-testid="api-keys">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Key"</th>
                    <th scope="col">"Scopes"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Status"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|row| {
                        let revoked = row.revoked_at;
                        view! {
                            <tr data-testid="api-key-row">
                                <td>{row.name.clone()}</td>
                                <td>
                                    <code>{format!("{}_…", row.prefix)}</code>
                                </td>
                                <td>{row.scopes.join(", ")}</td>
                                <td>
                                    <format::Time micros=row.created_at />
                                </td>
                                <td>
                                    {match row.last_used_at {
                                        Some(at) => view! { <format::Time micros=at /> }.into_any(),
                                        None => "never".into_any(),
                                    }}
                                </td>
                                <td>
                                    {match revoked {
                                        Some(at) => view! { "revoked " <format::Time micros=at /> }.into_any(),
                                        None => view! { <Revoke public_id=row.public_id.clone() action=revoke /> }.into_any(),
                                    }}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Revoke(public_id: String, action: ServerAction<RevokeApiKey>) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let public_id = StoredValue::new(public_id);
    view! {
        <Show
            when=move || confirming.get()
            fallback=move || {
                view! {
                    <button
                        type="button"
                        class="button button--danger-quiet button--small"
                        on:click=move |_| confirming.set(true)
                        data-testid="revoke-api-key"
                    >
                        "Revoke"
                    </button>
                }
            }
        >
            <ActionForm action=action attr:class="confirm">
                <input type="hidden" name="public_id" value=public_id.get_value() />
                <span>"Revoke this key? Programs using it stop working at once."</span>
                <button type="submit" class="button button--danger" data-testid="confirm-revoke">
                    "Revoke"
                </button>
                <button type="button" class="button button--quiet" on:click=move |_| confirming.set(false)>
                    "Keep"
                </button>
            </ActionForm>
        </Show>
    }
}

#[component]
fn CopySecret(text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let clipboard = window().navigator().clipboard();
            let _ = clipboard.write_text(&text);
            copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" class="button button--quiet button--small" on:click=on_click data-testid="copy-api-key">
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
