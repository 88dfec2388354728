//! The sender's view of a document's signing: where each recipient stands; resend a link; void
//! with a reason; or prepare it when still a draft.
//!
//! The state shown is the document page's (one source of truth for the badge, this panel and
//! the completion panel); an action here asks the page to fetch it again.

use crate::api::signing::{RecipientState, SigningStatus, resend_link, void_document};
use crate::components::schedule::ScheduledNotice;
use crate::format;
use leptos::prelude::*;

#[component]
pub fn SigningPanel(
    id: String,
    status: Signal<SigningStatus>,
    /// Called after an action changed the document: the page fetches its state again.
    changed: Callback<()>,
) -> impl IntoView {
    let id = StoredValue::new(id);
    view! { {move || view! { <Panel id=id.get_value() status=status.get() changed=changed /> }} }
}

#[component]
fn Panel(id: String, status: SigningStatus, changed: Callback<()>) -> impl IntoView {
    let id = StoredValue::new(id);
    let note = RwSignal::new(None::<String>);
    let voiding = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let void = move |_| {
        let why = reason.get_untracked();
        leptos::task::spawn_local(async move {
            match void_document(id.get_value(), why).await {
                Ok(()) => {
                    voiding.set(false);
                    changed.run(());
                }
                Err(e) => note.set(Some(e.to_string())),
            }
        });
    };
    if status.recipients.is_empty() {
        return view! {
            <section class="panel" aria-labelledby="signing-heading" data-testid="signing-panel" data-status=status.status.clone()>
                <h2 id="signing-heading">"Signing"</h2>
                {match (status.can_prepare, status.scheduled.clone()) {
                    (true, Some(scheduled)) => {
                        view! { <ScheduledNotice id=id.get_value() scheduled=scheduled changed=changed /> }.into_any()
                    }
                    (true, None) => view! {
                        <p>"Add recipients and place fields, then send it for signature."</p>
                        // A full page load: the editor is its own app screen.
                        <a href=format!("/documents/{}/prepare", id.get_value()) rel="external" class="button button--primary" data-testid="prepare">
                            "Prepare for signing"
                        </a>
                    }
                        .into_any(),
                    (false, _) => view! { <p class="muted">"Not sent for signature."</p> }.into_any(),
                }}
            </section>
        }
        .into_any();
    }
    let order = match status.order {
        Some(attesta_core::signing::SigningOrder::Parallel) => "All at once",
        _ => "One after another",
    };
    view! {
        <section class="panel" aria-labelledby="signing-heading" data-testid="signing-panel" data-status=status.status.clone()>
            <div class="panel__header">
                <h2 id="signing-heading">"Signing"</h2>
            </div>
            <p class="muted">{format!("{order} · {} of {} signed", status.signed, status.total)}</p>
            {status.void_reason.clone().map(|r| view! { <p>{format!("Voided: {r}")}</p> })}
            <ol class="signing-recipients">
                {status
                    .recipients
                    .iter()
                    .cloned()
                    .map(|r| view! { <RecipientRow id=id.get_value() r=r note=note changed=changed /> })
                    .collect_view()}
            </ol>
            {status.can_void.then(|| view! {
                <Show
                    when=move || voiding.get()
                    fallback=move || view! {
                        <button type="button" class="button button--danger-quiet" data-testid="void" on:click=move |_| voiding.set(true)>
                            "Void…"
                        </button>
                    }
                >
                    <div class="confirm">
                        <label class="field-label">
                            "Why are you voiding it? Recipients are told."
                            <input type="text" maxlength="1000" data-testid="void-reason" on:input=move |ev| reason.set(event_target_value(&ev)) />
                        </label>
                        <button type="button" class="button button--danger" data-testid="void-confirm"
                            disabled=move || reason.with(|r| r.trim().is_empty()) on:click=void>
                            "Void document"
                        </button>
                        <button type="button" class="button button--quiet" on:click=move |_| voiding.set(false)>"Keep"</button>
                    </div>
                </Show>
            })}
            {move || note.get().map(|n| view! { <p role="status">{n}</p> })}
        </section>
    }
    .into_any()
}

#[component]
fn RecipientRow(id: String, r: RecipientState, note: RwSignal<Option<String>>, changed: Callback<()>) -> impl IntoView {
    let moments =
        [("emailed", r.emailed_at), ("viewed", r.viewed_at), ("signed", r.signed_at), ("declined", r.declined_at)]
            .into_iter()
            .filter_map(|(label, at)| at.map(|at| (label, at)))
            .enumerate()
            .map(|(i, (label, at))| {
                view! {
                    {(i > 0).then_some(" · ")}
                    <span class="signing-recipient__when">{label} " " <format::Time micros=at /></span>
                }
            })
            .collect_view();
    let reminded = (r.reminders_sent > 0).then(|| {
        let n = r.reminders_sent;
        view! {
            " · "
            <span class="signing-recipient__when" data-testid="reminders-sent">
                {if n == 1 { "reminded once".to_owned() } else { format!("reminded {n} times") }}
            </span>
        }
    });
    let rid = r.id.clone();
    let resend = move |_| {
        let (id, rid) = (id.clone(), rid.clone());
        leptos::task::spawn_local(async move {
            match resend_link(id, rid).await {
                Ok(()) => {
                    note.set(Some("A new link was emailed; the previous one no longer works.".to_owned()));
                    changed.run(());
                }
                Err(e) => note.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <li class="signing-recipient" data-testid="signing-recipient" data-status=r.status.clone()>
            <span class="signing-recipient__pos">{r.position}</span>
            <div class="signing-recipient__body">
                <strong>{r.name.clone()}</strong>
                " "
                <span class="muted signing-recipient__email">
                    <format::Wrappable text=r.email.clone() />
                </span>
                <div class="small">
                    <span class=format!("badge badge--{}", r.status)>{r.status_label.clone()}</span>
                    " "
                    {moments}
                    {reminded}
                    {r.otp_required.then_some(" · email code")}
                </div>
                {r.decline_reason.clone().map(|why| view! { <p class="small">{format!("Reason: {why}")}</p> })}
                {r.email_error.clone().map(|e| view! { <p class="form-error small">{format!("Email failed: {e}")}</p> })}
            </div>
            {r.can_resend.then(|| view! {
                <button type="button" class="button button--quiet button--small" data-testid="resend" on:click=resend>
                    "Resend link"
                </button>
            })}
        </li>
    }
}
