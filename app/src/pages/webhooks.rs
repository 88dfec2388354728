//! Settings → Webhooks: the signed-in user's endpoints. Add one (URL, description, all events
//! or chosen ones), reveal and copy its signing secret, rotate it (the old one keeps signing for
//! 24 hours), enable or disable, delete, send a test event, and read the delivery log.

use crate::api::webhooks::{
    CreateWebhook, DeleteWebhook, EndpointDto, MessageDto, RotateWebhookSecret, SendTestWebhook, SetWebhookEnabled,
    WebhookLog, WebhookSecret, list_webhooks,
};
use crate::components::layout::{Loading, RequireUser};
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    view! {
        <Title text="Webhooks" />
        <RequireUser>
            <WebhooksSettings />
        </RequireUser>
    }
}

/// The actions that change the list; it reloads whenever one of them completes.
#[derive(Clone, Copy)]
struct ListActions {
    create: ServerAction<CreateWebhook>,
    toggle: ServerAction<SetWebhookEnabled>,
    delete: ServerAction<DeleteWebhook>,
    rotate: ServerAction<RotateWebhookSecret>,
}

#[component]
fn WebhooksSettings() -> impl IntoView {
    let actions = ListActions {
        create: ServerAction::new(),
        toggle: ServerAction::new(),
        delete: ServerAction::new(),
        rotate: ServerAction::new(),
    };
    let endpoints = Resource::new(
        move || {
            (
                actions.create.version().get(),
                actions.toggle.version().get(),
                actions.delete.version().get(),
                actions.rotate.version().get(),
            )
        },
        |_| list_webhooks(),
    );
    view! {
        <section class="page" aria-labelledby="webhooks-heading">
            <div class="page__header">
                <h1 id="webhooks-heading">"Webhooks"</h1>
            </div>
            <crate::pages::settings::SettingsNav />
            <p class="lead">
                "Attesta posts a signed JSON message to your endpoints when something happens to your documents. Each request carries webhook-id, webhook-timestamp and webhook-signature headers (Standard Webhooks): check the signature with the endpoint's secret before trusting it."
            </p>
            <AddEndpoint create=actions.create />
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match endpoints.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="muted" data-testid="webhook-none">"No endpoints yet."</p> }.into_any()
                        }
                        Ok(list) => {
                            list.into_iter()
                                .map(|endpoint| view! { <Endpoint endpoint actions /> })
                                .collect_view()
                                .into_any()
                        }
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AddEndpoint(create: ServerAction<CreateWebhook>) -> impl IntoView {
    let url = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let all = RwSignal::new(true);
    let chosen = RwSignal::new(Vec::<String>::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let event_types = if all.get() { vec!["*".to_owned()] } else { chosen.get() };
        create.dispatch(CreateWebhook { url: url.get(), description: description.get(), event_types });
    };
    // A successful add empties the form for the next one.
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            url.set(String::new());
            description.set(String::new());
        }
    });
    view! {
        <form class="panel form" on:submit=submit aria-labelledby="add-webhook-heading">
            <h2 id="add-webhook-heading">"Add an endpoint"</h2>
            <div class="field">
                <label class="field__label" for="webhook-url">"URL"</label>
                <input
                    class="field__input"
                    id="webhook-url"
                    type="url"
                    required=true
                    placeholder="https://example.com/attesta-hooks"
                    data-testid="webhook-url"
                    prop:value=move || url.get()
                    on:input=move |ev| url.set(event_target_value(&ev))
                />
            </div>
            <div class="field">
                <label class="field__label" for="webhook-description">"Description (optional)"</label>
                <input
                    class="field__input"
                    id="webhook-description"
                    type="text"
                    maxlength="200"
                    prop:value=move || description.get()
                    on:input=move |ev| description.set(event_target_value(&ev))
                />
            </div>
            <fieldset class="field">
                <legend class="field__label">"Events"</legend>
                <label class="checkbox">
                    <input
                        type="checkbox"
                        data-testid="webhook-all"
                        prop:checked=move || all.get()
                        on:change=move |ev| all.set(event_target_checked(&ev))
                    />
                    "All events, including types added later"
                </label>
                {crate::api::webhooks::event_types()
                    .map(|(name, words)| {
                        view! {
                            <label class="checkbox">
                                <input
                                    type="checkbox"
                                    value=name
                                    data-testid=format!("webhook-type-{name}")
                                    disabled=move || all.get()
                                    prop:checked=move || chosen.with(|c| c.iter().any(|n| n == name))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            c.retain(|n| n != name);
                                            if on {
                                                c.push(name.to_owned());
                                            }
                                        });
                                    }
                                />
                                <span>{words} " " <code>{name}</code></span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <button
                type="submit"
                class="button button--primary"
                data-testid="webhook-add"
                disabled=move || create.pending().get()
            >
                "Add endpoint"
            </button>
            {move || {
                create.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
            }}
        </form>
    }
}

#[component]
fn Endpoint(endpoint: EndpointDto, actions: ListActions) -> impl IntoView {
    let id = StoredValue::new(endpoint.id.clone());
    let secret = ServerAction::<WebhookSecret>::new();
    let test = ServerAction::<SendTestWebhook>::new();
    let log = ServerAction::<WebhookLog>::new();
    let enabled = endpoint.enabled;
    let types = if endpoint.event_types.iter().any(|t| t == "*") {
        "All events".to_owned()
    } else {
        endpoint.event_types.join(", ")
    };
    view! {
        <article class="panel" data-testid="webhook-endpoint">
            <div class="panel__header">
                <h2 class="hash" data-testid="webhook-endpoint-url">{endpoint.url.clone()}</h2>
                <span class=if enabled { "badge badge--completed" } else { "badge badge--deleted" }>
                    {if enabled { "Enabled" } else { "Disabled" }}
                </span>
            </div>
            {(!endpoint.description.is_empty()).then(|| view! { <p class="panel__intro">{endpoint.description.clone()}</p> })}
            <p class="muted small">{types} " · added " <format::Time micros=endpoint.created_at date_only=true /></p>
            <div class="document__actions">
                <button
                    type="button"
                    class="button button--quiet button--small"
                    data-testid="webhook-secret"
                    on:click=move |_| {
                        secret.dispatch(WebhookSecret { id: id.get_value() });
                    }
                >
                    "Reveal secret"
                </button>
                <button
                    type="button"
                    class="button button--quiet button--small"
                    data-testid="webhook-rotate"
                    on:click=move |_| {
                        actions.rotate.dispatch(RotateWebhookSecret { id: id.get_value() });
                    }
                >
                    "Rotate secret"
                </button>
                <button
                    type="button"
                    class="button button--quiet button--small"
                    data-testid="webhook-toggle"
                    on:click=move |_| {
                        actions.toggle.dispatch(SetWebhookEnabled { id: id.get_value(), enabled: !enabled });
                    }
                >
                    {if enabled { "Disable" } else { "Enable" }}
                </button>
                <button
                    type="button"
                    class="button button--quiet button--small"
                    data-testid="webhook-test"
                    disabled=!enabled
                    on:click=move |_| {
                        test.dispatch(SendTestWebhook { id: id.get_value() });
                    }
                >
                    "Send test event"
                </button>
                <button
                    type="button"
                    class="button button--quiet button--small"
                    data-testid="webhook-log"
                    on:click=move |_| {
                        log.dispatch(WebhookLog { id: id.get_value() });
                    }
                >
                    "Delivery log"
                </button>
                <button
                    type="button"
                    class="button button--danger-quiet button--small"
                    data-testid="webhook-delete"
                    on:click=move |_| {
                        actions.delete.dispatch(DeleteWebhook { id: id.get_value() });
                    }
                >
                    "Delete"
                </button>
            </div>
            <div aria-live="polite">
                {move || {
                    secret
                        .value()
                        .get()
                        .map(|r| match r {
                            Ok(s) => view! { <SecretValue secret=s /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        })
                }}
                {move || {
                    test.value()
                        .get()
                        .map(|r| match r {
                            Ok(message) => {
                                view! {
                                    <p class="muted small" data-testid="webhook-test-queued">
                                        "Test event queued as " <code>{message}</code> "."
                                    </p>
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        })
                }}
                {move || {
                    log.value()
                        .get()
                        .map(|r| match r {
                            Ok(messages) => view! { <DeliveryLog messages /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        })
                }}
            </div>
        </article>
    }
}

#[component]
fn SecretValue(secret: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = StoredValue::new(secret.clone());
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = window().navigator().clipboard().write_text(&text.get_value());
            copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
    };
    view! {
        <p class="hash-row">
            <code class="hash" data-testid="webhook-secret-value">{secret}</code>
            <button type="button" class="button button--quiet button--small" on:click=on_click>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </p>
    }
}

#[component]
fn DeliveryLog(messages: Vec<MessageDto>) -> impl IntoView {
    if messages.is_empty() {
        return view! { <p class="muted small" data-testid="webhook-log-empty">"No messages yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll" data-testid="webhook-log-scroll">
        <table class="log-table" data-testid="webhook-log-table">
            <thead>
                <tr>
                    <th scope="col">"Event"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Attempts"</th>
                    <th scope="col">"Last status"</th>
                    <th scope="col">"Next retry"</th>
                    <th scope="col">"State"</th>
                </tr>
            </thead>
            <tbody>
                {messages
                    .into_iter()
                    .map(|m| {
                        let last = m
                            .last_status_code
                            .map(|c| c.to_string())
                            .or_else(|| m.attempt_log.last().and_then(|a| a.error.clone()))
                            .unwrap_or_else(|| "—".to_owned());
                        let state = m.status.clone();
                        view! {
                            <tr data-testid="webhook-log-row" data-state=state>
                                <td>
                                    <code>{m.event_type}</code>
                                </td>
                                <td>
                                    <format::Time micros=m.created_at />
                                </td>
                                <td>{m.attempts}</td>
                                <td>{last}</td>
                                <td>
                                    {match m.next_attempt_at {
                                        Some(at) => view! { <format::Time micros=at /> }.into_any(),
                                        None => "—".into_any(),
                                    }}
                                </td>
                                <td>{m.status}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}
