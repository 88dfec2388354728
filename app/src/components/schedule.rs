//! Scheduled sending, as the sender sees it: the form that picks a day and time on their own
//! clock (the browser's time zone, named beside the field so nobody wonders which 09:00), and
//! the notice a scheduled draft shows wherever it appears, with "Send now" and "Cancel schedule".

use crate::api::signing::{ScheduledSend, cancel_schedule, send_document};
use leptos::prelude::*;

/// Picks when to send. `schedule` gets the `YYYY-MM-DDTHH:MM` typed and the browser's IANA zone.
#[component]
pub fn ScheduleForm(
    schedule: Callback<(String, String)>,
    close: Callback<()>,
    busy: Signal<bool>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let local = RwSignal::new(String::new());
    let zone = RwSignal::new(String::new());
    let earliest = RwSignal::new(String::new());
    // In the browser only: the server knows neither the reader's zone nor their clock.
    Effect::new(move |_| {
        if let Some(z) = browser_time_zone() {
            zone.set(z);
        }
        if let Some((now, tomorrow_nine)) = browser_times() {
            earliest.set(now);
            if local.get_untracked().is_empty() {
                local.set(tomorrow_nine);
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let z = zone.get_untracked();
        schedule.run((local.get_untracked(), if z.is_empty() { "UTC".to_owned() } else { z }));
    };
    view! {
        <form class="panel schedule" on:submit=submit data-testid="schedule-form" aria-labelledby="schedule-heading">
            <h2 id="schedule-heading">"Schedule the send"</h2>
            <p class="muted">
                "The document stays a draft, locked as it is now, until then; the recipients get nothing before. You can cancel or send it at once in the meantime."
            </p>
            <div class="schedule__row">
                <label for="schedule-at">"Send on"</label>
                <input
                    id="schedule-at"
                    type="datetime-local"
                    required
                    data-testid="schedule-at"
                    prop:value=move || local.get()
                    min=move || earliest.get()
                    on:input=move |ev| local.set(event_target_value(&ev))
                />
                <span class="muted" data-testid="schedule-zone">
                    {move || {
                        let z = zone.get();
                        if z.is_empty() { "your time zone".to_owned() } else { format!("{z} time") }
                    }}
                </span>
            </div>
            {move || error.get().map(|e| view! { <p class="form-error" role="alert" data-testid="schedule-error">{e}</p> })}
            <div class="schedule__actions">
                <button type="button" class="button button--quiet" on:click=move |_| close.run(())>
                    "Cancel"
                </button>
                <button type="submit" class="button button--primary" disabled=move || busy.get() data-testid="schedule-confirm">
                    {move || if busy.get() { "Scheduling…" } else { "Schedule send" }}
                </button>
            </div>
        </form>
    }
}

/// A scheduled draft: when it goes, and the two ways out. `changed` runs after either.
#[component]
pub fn ScheduledNotice(id: String, scheduled: ScheduledSend, changed: Callback<()>) -> impl IntoView {
    let id = StoredValue::new(id);
    let busy = RwSignal::new(false);
    let note = RwSignal::new(None::<String>);
    let revision = scheduled.revision;
    let act = move |send_now: bool| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = if send_now {
                send_document(id.get_value(), revision).await
            } else {
                cancel_schedule(id.get_value()).await
            };
            busy.set(false);
            match result {
                Ok(()) => changed.run(()),
                Err(e) => note.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <div class="callout callout--info schedule-notice" role="status" data-testid="scheduled">
            <p>
                "Scheduled to be sent on "
                <strong data-testid="scheduled-at">{scheduled.label.clone()}</strong>
                ". It is locked until then: cancel the schedule to change it."
            </p>
            {move || note.get().map(|n| view! { <p class="form-error" role="alert">{n}</p> })}
            <div class="callout__actions">
                <button
                    type="button"
                    class="button button--quiet"
                    data-testid="schedule-cancel"
                    disabled=move || busy.get()
                    on:click=move |_| act(false)
                >
                    "Cancel schedule"
                </button>
                <button
                    type="button"
                    class="button button--primary"
                    data-testid="schedule-send-now"
                    disabled=move || busy.get()
                    on:click=move |_| act(true)
                >
                    "Send now"
                </button>
            </div>
        </div>
    }
}

/// The browser's IANA time zone (`None` outside a browser).
fn browser_time_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
        js_sys::Reflect::get(&options, &"timeZone".into()).ok()?.as_string()
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// The browser's local time now and tomorrow at 09:00, as `datetime-local` values.
fn browser_times() -> Option<(String, String)> {
    #[cfg(feature = "hydrate")]
    {
        let now = js_sys::Date::new_0();
        let local = |d: &js_sys::Date| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}",
                d.get_full_year(),
                d.get_month() + 1,
                d.get_date(),
                d.get_hours(),
                d.get_minutes()
            )
        };
        let tomorrow = js_sys::Date::new(&now.clone().into());
        tomorrow.set_date(now.get_date() + 1);
        tomorrow.set_hours(9);
        tomorrow.set_minutes(0);
        Some((local(&now), local(&tomorrow)))
    }
    #[cfg(not(feature = "hydrate"))]
    None
}
