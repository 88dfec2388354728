//! A document's legal hold, beside its evidence: whether retention may purge it, who placed the
//! hold and why, and (for owners and admins) the form that places or releases one with a reason.
//! Every change is an event in the document's chain; the history of holds is listed too.

use crate::api::auth::use_auth;
use crate::api::trust::{HoldDto, PlaceHold, ReleaseHold, load_holds};
use crate::format;
use leptos::prelude::*;

#[component]
pub fn LegalHoldPanel(
    id: String,
    /// Called after a hold was placed or released (the page reloads its timeline).
    #[prop(optional)]
    changed: Option<Callback<()>>,
) -> impl IntoView {
    let auth = use_auth();
    let may_hold = move || {
        auth.session
            .get()
            .and_then(Result::ok)
            .and_then(|s| s.user)
            .is_some_and(|u| u.role == "owner" || u.role == "admin")
    };
    let place = ServerAction::<PlaceHold>::new();
    let release = ServerAction::<ReleaseHold>::new();
    let id = StoredValue::new(id);
    // Loaded in the browser once the page runs (and again after each change): a second
    // server-rendered load in the document page can resolve in another order than the
    // client's and break hydration.
    let holds = RwSignal::new(None::<Result<Vec<HoldDto>, crate::error::AppError>>);
    Effect::new(move |first: Option<()>| {
        let _changed = (place.version().get(), release.version().get());
        leptos::task::spawn_local(async move {
            holds.set(Some(load_holds(id.get_value()).await));
        });
        // The hold's events are on the timeline: after a change (not on the first load), the
        // page reads the document again.
        if first.is_some()
            && let Some(changed) = changed
        {
            changed.run(());
        }
    });
    view! {
        <section class="panel" aria-labelledby="hold-heading" data-testid="legal-hold">
            <h2 id="hold-heading">"Legal hold"</h2>
            {move || match holds.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) => {
                    let active = list.iter().find(|h| h.released_at.is_none()).cloned();
                    let history: Vec<HoldDto> = list.into_iter().filter(|h| h.released_at.is_some()).collect();
                    let held = active.is_some();
                    view! {
                        <Status active />
                        <Show when=may_hold>
                            <HoldForm id=id.get_value() held place release />
                        </Show>
                        <History history />
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn Status(active: Option<HoldDto>) -> impl IntoView {
    match active {
        None => view! {
            <p class="panel__intro" data-testid="hold-status" data-held="false">
                "Not on hold: the retention policy applies to this document."
            </p>
        }
        .into_any(),
        Some(h) => view! {
            <div class="legal-hold panel__intro" data-testid="hold-status" data-held="true">
                <p>
                    <strong>"On legal hold"</strong>
                    ": nothing of this document is purged until the hold is released."
                </p>
                <p class="small">
                    {format!("“{}” — placed by {} ", h.reason, h.placed_by)}
                    <format::Time micros=h.placed_at />
                </p>
            </div>
        }
        .into_any(),
    }
}

#[component]
fn HoldForm(
    id: String,
    held: bool,
    place: ServerAction<PlaceHold>,
    release: ServerAction<ReleaseHold>,
) -> impl IntoView {
    let error = move || {
        let e =
            if held { release.value().get().and_then(Result::err) } else { place.value().get().and_then(Result::err) };
        e.map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    };
    let form = if held {
        view! {
            <ActionForm action=release>
                <input type="hidden" name="id" value=id />
                <label>
                    "Why the hold ends"
                    <input name="reason" required minlength="3" maxlength="500" placeholder="e.g. Matter settled, 2027-01-04" data-testid="hold-reason" />
                </label>
                <button type="submit" class="button button--quiet" data-testid="release-hold">
                    "Release hold"
                </button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <ActionForm action=place>
                <input type="hidden" name="id" value=id />
                <label>
                    "Reason (matter or case)"
                    <input name="reason" required minlength="3" maxlength="500" placeholder="e.g. Case 2026-114, Smith v. Acme" data-testid="hold-reason" />
                </label>
                <button type="submit" class="button button--danger" data-testid="place-hold">
                    "Place legal hold"
                </button>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <div class="legal-hold__form">{form} {error}</div>
    }
}

#[component]
fn History(history: Vec<HoldDto>) -> impl IntoView {
    (!history.is_empty()).then(|| {
        view! {
            <details class="small">
                <summary>{format!("Earlier holds ({})", history.len())}</summary>
                <ul class="session-list">
                    {history
                        .into_iter()
                        .map(|h| {
                            view! {
                                <li class="session-list__item">
                                    {format!(
                                        "“{}” by {} — released by {}: “{}”",
                                        h.reason,
                                        h.placed_by,
                                        h.released_by.unwrap_or_default(),
                                        h.release_reason.unwrap_or_default(),
                                    )}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </details>
        }
    })
}
