//! The signer's page, reached by the personal link in their email: no account, phone first.
//!
//! Consent to sign electronically comes first, then (if the sender asked) an emailed code, then
//! the signer is guided field by field. The browser downloads the PDF once, hashes those exact
//! bytes (SHA-256 in WASM) and hands the same bytes to the viewer; the hash goes with the
//! signature and the server refuses it if the file differs from the one sent.

#[cfg(not(feature = "hydrate"))]
use crate::api::signing::BrowserGeo;
use crate::api::signing::{
    SignerView, Submission, consent, decline_signing, open_signing, record_view, request_code, submit_signing,
    verify_code,
};
use crate::components::pdf_pages::{PdfPages, percent_box};
use crate::components::signature_pad::{CaptureMethod, CapturedImage, PadKind, SignaturePad};
use crate::error::AppError;
use attesta_core::signing::ceremony::FieldInput;
use attesta_core::signing::geometry::PageGeometry;
use attesta_core::signing::{DraftField, FieldKind, LocalId};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use std::collections::BTreeMap;

#[component]
pub fn SignPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.get().get("token").unwrap_or_default();
    let opened = Resource::new(token, open_signing);
    view! {
        <Title text="Sign" />
        <Meta name="referrer" content="no-referrer" />
        <Meta name="robots" content="noindex, nofollow" />
        <Suspense fallback=|| view! { <p class="page muted">"Opening…"</p> }>
            {move || Suspend::new(async move {
                match opened.await {
                    Ok(view) => view! { <Signer data=view token=token() /> }.into_any(),
                    Err(AppError::LinkUnusable { reason, message }) => {
                        view! { <Unusable reason=reason message=message /> }.into_any()
                    }
                    Err(AppError::TooManyRequests { message, .. }) => {
                        view! { <Unusable reason="rate_limited".to_owned() message=message /> }.into_any()
                    }
                    Err(e) => view! { <Unusable reason="error".to_owned() message=e.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A link that cannot be used: says why in general terms, and nothing about the document.
#[component]
fn Unusable(reason: String, message: String) -> impl IntoView {
    view! {
        <section class="page signer-end" data-testid="link-unusable" data-reason=reason>
            <h1>"This link cannot be used"</h1>
            <p>{message}</p>
        </section>
    }
}

/// What the signer has entered so far.
#[derive(Clone, Copy)]
struct St {
    token: StoredValue<String>,
    fields: StoredValue<Vec<DraftField>>,
    values: RwSignal<BTreeMap<LocalId, FieldInput>>,
    signature: RwSignal<Option<CapturedImage>>,
    initials: RwSignal<Option<CapturedImage>>,
    /// The pad is open for this kind, to be applied to this field when done.
    pad: RwSignal<Option<(PadKind, LocalId)>>,
    consented: RwSignal<bool>,
    verified: RwSignal<bool>,
    /// SHA-256 of the PDF bytes on screen, once downloaded.
    pdf_sha256: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    finished: RwSignal<Option<&'static str>>,
    busy: RwSignal<bool>,
    /// The signer allowed their location to be recorded (asked again when they sign).
    share_location: RwSignal<bool>,
    /// The field the panel at the bottom is showing.
    current: RwSignal<Option<LocalId>>,
    /// The decline dialog is open.
    declining: RwSignal<bool>,
    /// Asked to approve or acknowledge (no fields, no signature) rather than sign.
    approver: bool,
    /// Asked to acknowledge having read it: no decline either.
    acknowledger: bool,
}

impl St {
    fn is_filled(self, f: &DraftField) -> bool {
        match f.kind {
            FieldKind::DateSigned => true,
            _ => self.values.with(|v| match v.get(&f.id) {
                Some(FieldInput::Checked(on)) => *on,
                Some(FieldInput::Text(t)) => !t.trim().is_empty(),
                Some(FieldInput::Applied) => true,
                None => false,
            }),
        }
    }

    /// Fields the signer fills (dates fill themselves).
    fn fillable(self) -> Vec<DraftField> {
        self.fields.with_value(|f| f.iter().filter(|f| f.kind.filled_by_signer()).cloned().collect())
    }

    fn may_fill(self) -> bool {
        self.consented.get() && self.verified.get()
    }

    fn may_fill_untracked(self) -> bool {
        self.consented.get_untracked() && self.verified.get_untracked()
    }

    fn missing_required(self) -> usize {
        self.fillable().iter().filter(|f| f.required && !self.is_filled(f)).count()
    }

    fn field(self, id: &LocalId) -> Option<DraftField> {
        self.fields.with_value(|f| f.iter().find(|f| &f.id == id).cloned())
    }

    /// Where to go next: the first unfilled field after `after` in the guided order (wrapping
    /// round), required ones first. `None` when everything is filled.
    fn next_after(self, after: Option<&LocalId>) -> Option<LocalId> {
        let fields = self.fillable();
        let start = after.and_then(|id| fields.iter().position(|f| &f.id == id)).map_or(0, |i| i + 1);
        let ordered: Vec<&DraftField> = fields[start..].iter().chain(fields[..start].iter()).collect();
        ordered
            .iter()
            .find(|f| f.required && !self.is_filled(f))
            .or_else(|| ordered.iter().find(|f| !self.is_filled(f)))
            .map(|f| f.id.clone())
    }

    /// Shows field `id` in the panel, scrolls the page to it and puts the keyboard focus on
    /// the panel's control for it.
    fn go(self, id: LocalId) {
        self.current.set(Some(id.clone()));
        #[cfg(feature = "hydrate")]
        client::show_field(&id.to_string(), PANEL_CONTROL_ID);
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    }

    /// Moves on from `after`: to the next field to fill, or, when all are filled, to Finish.
    fn advance(self, after: Option<&LocalId>) {
        match self.next_after(after) {
            Some(id) => self.go(id),
            None => focus_later(FINISH_ID),
        }
    }
}

/// The id of the panel's control (input, checkbox or sign button) for the current field.
const PANEL_CONTROL_ID: &str = "fieldpanel-control";
const FINISH_ID: &str = "signer-finish";

/// Puts the keyboard focus on element `id` once the page has drawn the change in progress.
fn focus_later(id: &'static str) {
    #[cfg(feature = "hydrate")]
    client::focus_later(id);
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// The label a field shows: the sender's, else its kind's.
fn label_of(field: &DraftField) -> String {
    if field.label.trim().is_empty() { field.kind.label().to_owned() } else { field.label.trim().to_owned() }
}

#[component]
fn Signer(data: SignerView, token: String) -> impl IntoView {
    let st = St {
        token: StoredValue::new(token),
        fields: StoredValue::new(data.fields.clone()),
        values: RwSignal::new(BTreeMap::new()),
        signature: RwSignal::new(None),
        initials: RwSignal::new(None),
        pad: RwSignal::new(None),
        consented: RwSignal::new(data.consented),
        verified: RwSignal::new(data.otp_verified),
        pdf_sha256: RwSignal::new(None),
        error: RwSignal::new(None),
        finished: RwSignal::new(None),
        busy: RwSignal::new(false),
        share_location: RwSignal::new(false),
        current: RwSignal::new(None),
        declining: RwSignal::new(false),
        approver: data.role == "approver" || data.role == "acknowledger",
        acknowledger: data.role == "acknowledger",
    };
    // Someone coming back after consenting starts at the first field (without moving the focus:
    // nothing was pressed).
    if st.may_fill_untracked() {
        st.current.set(st.next_after(None));
    }
    #[cfg(feature = "hydrate")]
    {
        let url = data.file_url.clone();
        Effect::new(move |_| client::load_pdf(url.clone(), st));
    }
    // The page runs in a browser: that is a view (a link scanner fetching the URL is not).
    Effect::new(move |_| {
        let token = st.token.get_value();
        leptos::task::spawn_local(async move {
            let _ = record_view(token).await;
        });
    });
    // The PDF starts downloading with the page, beside the WASM client, instead of after it:
    // the client's own fetch of the same URL (same mode and credentials) takes this response.
    let preload = view! {
        <leptos_meta::Link rel="preload" href=data.file_url.clone() as_="fetch" crossorigin="anonymous" fetchpriority="high" />
    };
    let pages = data.pages.clone();
    let today = StoredValue::new(data.today.clone());
    let name = StoredValue::new(data.recipient_name.clone());
    let role = if st.approver { "approver" } else { "signer" };
    // An acknowledgement goes to many at once: a place in a queue says nothing there.
    let sequence = if data.total > 1 && !st.acknowledger {
        Some(format!("You are {role} {} of {}", data.position, data.total))
    } else {
        None
    };
    let data = StoredValue::new(data);
    // Keyboard and screen-reader users land in the pad when it opens.
    Effect::new(move |_| {
        if st.pad.with(Option::is_some) {
            #[cfg(feature = "hydrate")]
            request_animation_frame(|| {
                if let Ok(Some(tab)) = document().query_selector("[data-testid=\"sigpad-tab-draw\"]")
                    && let Ok(tab) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(tab)
                {
                    let _ = tab.focus();
                }
            });
        }
    });
    view! {
        {preload}
        <Show
            when=move || st.finished.get().is_none()
            fallback=move || {
                view! { <Finished what=st.finished.get().unwrap_or("signed") email=data.with_value(|d| d.otp_destination.clone()) /> }
            }
        >
            <div class="signer" data-testid="signer">
                <header class="signer__head">
                    <div>
                        <h1 data-testid="sign-title">{data.with_value(|d| d.title.clone())}</h1>
                        <p class="muted">
                            {data.with_value(|d| format!("From {} · for {}", d.sender, d.recipient_name))}
                            {sequence.clone().map(|s| format!(" · {s}"))}
                        </p>
                    </div>
                    <button type="button" class="button button--quiet button--small" data-testid="decline" hidden=st.acknowledger on:click=move |_| st.declining.set(true)>
                        "Decline"
                    </button>
                </header>
                <Show when=move || !st.consented.get()>
                    <Consent st=st disclosure=data.with_value(|d| d.disclosure.clone()) />
                </Show>
                <Show when=move || st.consented.get() && !st.verified.get()>
                    <CodeCheck st=st destination=data.with_value(|d| d.otp_destination.clone()) />
                </Show>
                {move || st.error.get().map(|e| view! { <p class="callout callout--error" role="alert" data-testid="sign-error">{e}</p> })}
                <section class="signer__pages" aria-label="Document">
                    <PdfPages
                        pages=pages.clone()
                        src=None
                        zoom=Signal::derive(|| 1.0)
                        overlay=move |n, geometry| view! { <SignerFields st=st n=n geometry=geometry today=today.get_value() /> }
                    />
                </section>
                <GuideBar st=st />
                {move || st.pad.get().map(|(kind, field)| {
                    let signer_name = name.get_value();
                    view! {
                        <div
                            class="sheet"
                            role="dialog"
                            aria-modal="true"
                            aria-labelledby=crate::components::signature_pad::title_id(kind)
                            on:keydown=move |ev| {
                                if ev.key() == "Escape" {
                                    st.pad.set(None);
                                    focus_later(PANEL_CONTROL_ID);
                                }
                            }
                        >
                            <div class="sheet__panel">
                                <SignaturePad
                                    kind=kind
                                    signer_name=signer_name
                                    on_done=Callback::new(move |image: CapturedImage| {
                                        match kind {
                                            PadKind::Signature => st.signature.set(Some(image)),
                                            PadKind::Initials => st.initials.set(Some(image)),
                                        }
                                        st.values.update(|v| { v.insert(field.clone(), FieldInput::Applied); });
                                        st.pad.set(None);
                                        // Signed: on to the next field, or to Finish.
                                        st.advance(Some(&field));
                                    })
                                    on_cancel=Callback::new(move |()| {
                                        st.pad.set(None);
                                        focus_later(PANEL_CONTROL_ID);
                                    })
                                />
                            </div>
                        </div>
                    }
                })}
            </div>
        </Show>
    }
}

#[component]
fn Consent(st: St, disclosure: String) -> impl IntoView {
    let agreed = RwSignal::new(false);
    let share_location = RwSignal::new(false);
    let submit = move |_| {
        if !agreed.get_untracked() || st.busy.get_untracked() {
            return;
        }
        st.busy.set(true);
        let token = st.token.get_value();
        let share = share_location.get_untracked();
        leptos::task::spawn_local(async move {
            #[cfg(feature = "hydrate")]
            let geo = if share { client::locate().await } else { None };
            #[cfg(not(feature = "hydrate"))]
            let geo: Option<BrowserGeo> = {
                let _ = share;
                None
            };
            // The view is on record before the consent, however fast the signer taps.
            let _ = record_view(token.clone()).await;
            match consent(token, geo).await {
                Ok(()) => {
                    st.share_location.set(share);
                    st.consented.set(true);
                    st.error.set(None);
                    // The consent form is gone: the focus goes with the task, to the emailed
                    // code when one is asked for, else to the first field.
                    if st.verified.get_untracked() {
                        st.advance(None);
                    } else {
                        focus_later(CODE_INPUT_ID);
                    }
                }
                Err(e) => st.error.set(Some(e.to_string())),
            }
            st.busy.set(false);
        });
    };
    view! {
        <section class="panel consent" aria-labelledby="consent-heading" data-testid="consent">
            <h2 id="consent-heading">"Before you sign"</h2>
            <div class="consent__text" tabindex="0">
                {disclosure.split("\n\n").map(|p| view! { <p>{p.to_owned()}</p> }).collect_view()}
            </div>
            <label class="checkbox">
                <input type="checkbox" data-testid="consent-agree" on:change=move |ev| agreed.set(event_target_checked(&ev)) />
                " I agree to receive this document electronically and to sign it with an electronic signature."
            </label>
            <label class="checkbox">
                <input type="checkbox" data-testid="consent-location" on:change=move |ev| share_location.set(event_target_checked(&ev)) />
                " Also record my device's location with my signature (optional; your browser will ask)."
            </label>
            <button type="button" class="button button--primary" data-testid="consent-continue" disabled=move || !agreed.get() || st.busy.get() on:click=submit>
                "Continue"
            </button>
        </section>
    }
}

const CODE_INPUT_ID: &str = "signer-code";

#[component]
fn CodeCheck(st: St, destination: String) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let sent = RwSignal::new(false);
    let note = RwSignal::new(None::<String>);
    let send = move |_| {
        st.busy.set(true);
        let token = st.token.get_value();
        leptos::task::spawn_local(async move {
            match request_code(token).await {
                Ok(()) => {
                    sent.set(true);
                    note.set(Some("Code sent. It is valid for 10 minutes.".to_owned()));
                }
                Err(e) => note.set(Some(e.to_string())),
            }
            st.busy.set(false);
        });
    };
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        st.busy.set(true);
        let token = st.token.get_value();
        let entered = code.get_untracked();
        leptos::task::spawn_local(async move {
            match verify_code(token, entered).await {
                Ok(()) => {
                    st.verified.set(true);
                    note.set(None);
                    st.advance(None);
                }
                Err(e) => note.set(Some(e.to_string())),
            }
            st.busy.set(false);
        });
    };
    view! {
        <section class="panel" aria-labelledby="code-heading" data-testid="code-check">
            <h2 id="code-heading">"Confirm it is you"</h2>
            <p>{format!("We will email a 6-digit code to {destination}.")}</p>
            <button type="button" class="button button--quiet" data-testid="code-send" disabled=move || st.busy.get() on:click=send>
                {move || if sent.get() { "Send a new code" } else { "Email me a code" }}
            </button>
            <form on:submit=check class="code-form">
                <label class="field-label">
                    "Code"
                    <input
                        id=CODE_INPUT_ID
                        type="text"
                        inputmode="numeric"
                        autocomplete="one-time-code"
                        maxlength="7"
                        data-testid="code-input"
                        prop:value=move || code.get()
                        on:input=move |ev| code.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="button button--primary" data-testid="code-verify" disabled=move || st.busy.get()>"Verify"</button>
            </form>
            {move || note.get().map(|n| view! { <p role="status" data-testid="code-note">{n}</p> })}
        </section>
    }
}

/// The signer's fields over a page. Each is a button the size of its box on the PDF (its touch
/// area grows to at least 44 × 44 px in the stylesheet): a signature or initials opens the pad,
/// a checkbox toggles, a text field opens the panel below, where its label shows in full and
/// the type is readable. Dates fill themselves.
#[component]
fn SignerFields(st: St, n: u32, geometry: PageGeometry, today: String) -> impl IntoView {
    let fields: Vec<DraftField> = st.fields.with_value(|f| f.iter().filter(|f| f.page == n).cloned().collect());
    let today = StoredValue::new(today);
    view! {
        <div class="page-fields">
            {fields
                .into_iter()
                .map(|field| {
                    let [l, t, w, h] = percent_box(geometry.to_view(field.rect));
                    let id = StoredValue::new(field.id.clone());
                    let kind = field.kind;
                    let required = field.required;
                    let label = label_of(&field);
                    let filled = {
                        let field = field.clone();
                        move || st.is_filled(&field)
                    };
                    let current = move || st.current.with(|c| c.as_ref() == Some(&id.get_value()));
                    let aria = format!("{label}{}", if required { " (required)" } else { "" });
                    view! {
                        <div
                            class="sfield"
                            class:sfield--filled=filled.clone()
                            class:sfield--required=required
                            class:sfield--current=current
                            data-testid="sign-field"
                            data-kind=kind.as_str()
                            data-field-id=field.id.to_string()
                            title=label.clone()
                            style:left=l.1
                            style:top=t.1
                            style:width=w.1
                            style:height=h.1
                        >
                            {match kind {
                                FieldKind::Signature | FieldKind::Initials => {
                                    let pad_kind = if kind == FieldKind::Signature { PadKind::Signature } else { PadKind::Initials };
                                    let image = move || if kind == FieldKind::Signature { st.signature.get() } else { st.initials.get() };
                                    view! {
                                        <button
                                            type="button"
                                            class="sfield__button"
                                            disabled=move || !st.may_fill()
                                            aria-label=aria
                                            on:click=move |_| {
                                                st.current.set(Some(id.get_value()));
                                                apply_mark(st, id.get_value(), pad_kind);
                                            }
                                        >
                                            {move || {
                                                let applied = st.values.with(|v| v.contains_key(&id.get_value()));
                                                match (applied, image()) {
                                                    (true, Some(img)) => view! { <SignatureImage image=img /> }.into_any(),
                                                    _ => view! {
                                                        <span class="sfield__label">{if kind == FieldKind::Signature { "Sign here" } else { "Initial" }}</span>
                                                    }.into_any(),
                                                }
                                            }}
                                        </button>
                                    }
                                        .into_any()
                                }
                                FieldKind::DateSigned => view! { <span class="sfield__date">{today.get_value()}</span> }.into_any(),
                                FieldKind::Text => {
                                    let shown = label.clone();
                                    view! {
                                        <button
                                            type="button"
                                            class="sfield__button sfield__button--text"
                                            disabled=move || !st.may_fill()
                                            aria-label=aria
                                            on:click=move |_| st.go(id.get_value())
                                        >
                                            <span class="sfield__label">
                                                {move || match st.values.with(|v| v.get(&id.get_value()).cloned()) {
                                                    Some(FieldInput::Text(t)) => t,
                                                    _ => shown.clone(),
                                                }}
                                            </span>
                                        </button>
                                    }
                                        .into_any()
                                }
                                FieldKind::Checkbox => {
                                    let checked = move || st.values.with(|v| matches!(v.get(&id.get_value()), Some(FieldInput::Checked(true))));
                                    view! {
                                        <button
                                            type="button"
                                            role="checkbox"
                                            class="sfield__button sfield__button--check"
                                            aria-checked=move || checked().to_string()
                                            disabled=move || !st.may_fill()
                                            aria-label=aria
                                            on:click=move |_| {
                                                let on = !checked();
                                                st.values.update(|v| { v.insert(id.get_value(), FieldInput::Checked(on)); });
                                                st.go(id.get_value());
                                            }
                                        >
                                            <span class="sfield__tick" aria-hidden="true">{move || if checked() { "✓" } else { "" }}</span>
                                        </button>
                                    }
                                        .into_any()
                                }
                            }}
                        </div>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// A signature or initials field pressed: take the mark off if it is on, put the adopted mark
/// on, or open the pad to make one.
fn apply_mark(st: St, id: LocalId, kind: PadKind) {
    let adopted = match kind {
        PadKind::Signature => st.signature.with_untracked(Option::is_some),
        PadKind::Initials => st.initials.with_untracked(Option::is_some),
    };
    if st.values.with_untracked(|v| v.contains_key(&id)) {
        st.values.update(|v| {
            v.remove(&id);
        });
    } else if adopted {
        st.values.update(|v| {
            v.insert(id.clone(), FieldInput::Applied);
        });
        st.advance(Some(&id));
    } else {
        st.pad.set(Some((kind, id)));
    }
}

/// The current field at the bottom of the screen, large enough to read and to hit on a
/// phone: its whole label, a control with 16 px type (phones zoom into anything smaller) and
/// at least 44 px high, and Back / Next to move through the fields.
#[component]
fn FieldPanel(st: St) -> impl IntoView {
    let total = st.fillable().len();
    let body = move || {
        let Some(id) = st.current.get() else {
            return view! { <p class="fieldpanel__hint muted">"Press Next to go to the first field."</p> }.into_any();
        };
        let Some(field) = st.field(&id) else { return ().into_any() };
        let position = st.fillable().iter().position(|f| f.id == field.id).map_or(0, |i| i + 1);
        let label = label_of(&field);
        let id = StoredValue::new(id);
        let heading = view! {
            <p class="fieldpanel__where muted small" data-testid="panel-position">
                {format!("Field {position} of {total}")}
                {if field.required { " · required" } else { " · optional" }}
            </p>
        };
        let control = match field.kind {
            FieldKind::Text => view! {
                <label class="fieldpanel__label" for=PANEL_CONTROL_ID data-testid="panel-label">{label}</label>
                <input
                    id=PANEL_CONTROL_ID
                    class="fieldpanel__input"
                    type="text"
                    maxlength="500"
                    enterkeyhint="next"
                    data-testid="panel-input"
                    disabled=move || !st.may_fill()
                    prop:value=move || match st.values.with(|v| v.get(&id.get_value()).cloned()) {
                        Some(FieldInput::Text(t)) => t,
                        _ => String::new(),
                    }
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        st.values.update(|vals| {
                            if v.trim().is_empty() { vals.remove(&id.get_value()); } else { vals.insert(id.get_value(), FieldInput::Text(v)); }
                        });
                    }
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            st.advance(Some(&id.get_value()));
                        }
                    }
                />
            }
            .into_any(),
            FieldKind::Checkbox => view! {
                <label class="fieldpanel__check" data-testid="panel-label">
                    <input
                        id=PANEL_CONTROL_ID
                        type="checkbox"
                        data-testid="panel-check"
                        disabled=move || !st.may_fill()
                        prop:checked=move || st.values.with(|v| matches!(v.get(&id.get_value()), Some(FieldInput::Checked(true))))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            st.values.update(|v| { v.insert(id.get_value(), FieldInput::Checked(on)); });
                        }
                    />
                    <span>{label}</span>
                </label>
            }
            .into_any(),
            FieldKind::Signature | FieldKind::Initials => {
                let pad_kind = if field.kind == FieldKind::Signature { PadKind::Signature } else { PadKind::Initials };
                let applied = move || st.values.with(|v| v.contains_key(&id.get_value()));
                let (sign, remove) = if pad_kind == PadKind::Signature {
                    ("Sign here", "Remove signature")
                } else {
                    ("Add initials", "Remove initials")
                };
                view! {
                    <p class="fieldpanel__label" data-testid="panel-label">{label}</p>
                    <button
                        id=PANEL_CONTROL_ID
                        type="button"
                        class="button fieldpanel__sign"
                        class:button--primary=move || !applied()
                        class:button--quiet=applied
                        data-testid="panel-sign"
                        disabled=move || !st.may_fill()
                        on:click=move |_| apply_mark(st, id.get_value(), pad_kind)
                    >
                        {move || if applied() { remove } else { sign }}
                    </button>
                }
                .into_any()
            }
            FieldKind::DateSigned => ().into_any(),
        };
        view! { {heading} <div class="fieldpanel__control">{control}</div> }.into_any()
    };
    view! {
        <div class="fieldpanel" data-testid="field-panel">
            {body}
        </div>
    }
}

/// A captured signature shown from its PNG bytes (a blob: URL, allowed by the page's policy).
#[component]
fn SignatureImage(image: CapturedImage) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let src = client::blob_url(&image.png);
    #[cfg(not(feature = "hydrate"))]
    let src = {
        let _ = image;
        String::new()
    };
    view! { <img class="sfield__img" src=src alt="Your signature" /> }
}

#[component]
fn GuideBar(st: St) -> impl IntoView {
    let total = st.fillable().len();
    let filled = move || st.fillable().iter().filter(|f| st.is_filled(f)).count();
    let declining = st.declining;
    let reason = RwSignal::new(String::new());
    let next = move |_| {
        let current = st.current.get_untracked();
        st.advance(current.as_ref());
    };
    // The field before the current one, in the guided order.
    let back = move |_| {
        let fields = st.fillable();
        let at = st.current.with_untracked(|c| c.as_ref().and_then(|id| fields.iter().position(|f| &f.id == id)));
        if let Some(f) = at.and_then(|i| i.checked_sub(1)).and_then(|j| fields.get(j)) {
            st.go(f.id.clone());
        }
    };
    let finish = move |_| {
        if st.busy.get_untracked() {
            return;
        }
        let Some(sha) = st.pdf_sha256.get_untracked() else {
            st.error.set(Some("The document is still loading.".to_owned()));
            return;
        };
        st.busy.set(true);
        let image = |i: Option<CapturedImage>| {
            i.map(|i| {
                use base64::Engine as _;
                let method = match i.method {
                    CaptureMethod::Drawn => "drawn",
                    CaptureMethod::Typed => "typed",
                };
                (base64::engine::general_purpose::STANDARD.encode(&i.png), method.to_owned())
            })
        };
        let sig = image(st.signature.get_untracked());
        let ini = image(st.initials.get_untracked());
        let submission = Submission {
            values: st.values.get_untracked(),
            signature_method: sig.as_ref().map(|s| s.1.clone()),
            signature_png: sig.map(|s| s.0),
            initials_method: ini.as_ref().map(|s| s.1.clone()),
            initials_png: ini.map(|s| s.0),
            client_sha256: sha,
            geo: None,
        };
        let token = st.token.get_value();
        let share = st.share_location.get_untracked();
        leptos::task::spawn_local(async move {
            #[cfg(feature = "hydrate")]
            let submission = Submission { geo: if share { client::locate().await } else { None }, ..submission };
            #[cfg(not(feature = "hydrate"))]
            let _ = share;
            match submit_signing(token, submission).await {
                Ok(()) => st.finished.set(Some(match (st.acknowledger, st.approver) {
                    (true, _) => "acknowledged",
                    (false, true) => "approved",
                    (false, false) => "signed",
                })),
                Err(e) => st.error.set(Some(e.to_string())),
            }
            st.busy.set(false);
        });
    };
    let decline = move |_| {
        st.busy.set(true);
        let token = st.token.get_value();
        let why = reason.get_untracked();
        leptos::task::spawn_local(async move {
            match decline_signing(token, why).await {
                Ok(()) => st.finished.set(Some("declined")),
                Err(e) => st.error.set(Some(e.to_string())),
            }
            st.busy.set(false);
        });
    };
    // An approver has no fields to walk through: one line says what Approve does.
    let approver = st.approver;
    view! {
        <div class="guide" role="region" aria-label=if approver { "Approval" } else { "Fields to fill" }>
            <Show when=move || !approver fallback=move || view! {
                <p class="guide__approve muted" data-testid="approve-hint">
                    {if st.acknowledger {
                        "Read the document, then confirm you have read it. You fill nothing and sign nothing; your acknowledgement, with the exact file you were shown, is recorded with the document."
                    } else {
                        "Read the document, then approve it, or decline with a reason. You fill nothing and adopt no signature; your approval is recorded with the document."
                    }}
                </p>
            }>
                <FieldPanel st=st />
            </Show>
            <div class="guide__actions">
            <span class="guide__count" data-testid="progress" aria-live="polite" hidden=approver>
                {move || format!("{} of {total}", filled())}
            </span>
            <button
                type="button"
                class="button button--quiet"
                hidden=approver
                data-testid="field-back"
                disabled=move || !st.may_fill() || st.current.with(|c| c.as_ref() == st.fillable().first().map(|f| &f.id))
                on:click=back
            >
                "Back"
            </button>
            <button type="button" class="button button--quiet" data-testid="next-field" hidden=approver disabled=move || !st.may_fill() on:click=next>
                {move || if st.missing_required() > 0 { "Next required" } else { "Next" }}
            </button>
            <button
                type="button"
                id=FINISH_ID
                class="button button--primary"
                data-testid="finish"
                disabled=move || { !st.may_fill() || st.missing_required() != 0 || st.busy.get() || st.pdf_sha256.get().is_none() }
                on:click=finish
            >
                {move || match (st.busy.get(), approver, st.acknowledger) {
                    (true, _, true) => "Recording…",
                    (false, _, true) => "I have read and acknowledge",
                    (true, true, false) => "Approving…",
                    (true, false, false) => "Signing…",
                    (false, true, false) => "Approve",
                    (false, false, false) => "Finish",
                }}
            </button>
            <Show when=move || st.signature.with(Option::is_some) || st.initials.with(Option::is_some)>
                <button
                    type="button"
                    class="button button--quiet button--small"
                    data-testid="redraw"
                    on:click=move |_| {
                        // Take the adopted marks back off every field; the next tap draws anew.
                        st.signature.set(None);
                        st.initials.set(None);
                        st.values.update(|v| v.retain(|_, value| *value != FieldInput::Applied));
                    }
                >
                    "Redraw"
                </button>
            </Show>
            </div>
        </div>
        <Show when=move || declining.get()>
            <div class="sheet" role="dialog" aria-modal="true" aria-labelledby="decline-heading">
                <div class="sheet__panel">
                    <h2 id="decline-heading">{if approver { "Decline to approve" } else { "Decline to sign" }}</h2>
                    <p>"The sender is told, with your reason, and the document will not be signed by anyone."</p>
                    <label class="field-label">
                        "Reason"
                        <textarea rows="3" maxlength="1000" data-testid="decline-reason" on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
                    </label>
                    <div class="sheet__actions">
                        <button type="button" class="button button--quiet" on:click=move |_| declining.set(false)>"Back"</button>
                        <button
                            type="button"
                            class="button button--danger"
                            data-testid="decline-confirm"
                            disabled=move || reason.with(|r| r.trim().is_empty()) || st.busy.get()
                            on:click=decline
                        >
                            "Decline"
                        </button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

/// The end of the ceremony. Says what happens next and when the signed copy arrives: it is
/// emailed (as a sealed PDF with its evidence) once everyone has signed, to the address the link
/// was sent to (`email`, partly hidden). The heading takes the focus, so a screen reader says
/// where the signer is.
#[component]
fn Finished(what: &'static str, email: String) -> impl IntoView {
    focus_later(FINISHED_ID);
    view! {
        <section class="page signer-end" data-testid="sign-finished" data-outcome=what>
            {if what == "declined" {
                view! {
                    <h1 id=FINISHED_ID tabindex="-1">"You declined"</h1>
                    <p>"The sender has been told. You can close this page."</p>
                }
                    .into_any()
            } else if what == "acknowledged" {
                view! {
                    <h1 id=FINISHED_ID tabindex="-1">"Thank you, your acknowledgement is recorded"</h1>
                    <p data-testid="copy-note">
                        {format!(
                            "You confirmed you have read the document, as it was shown to you. The completed \
                             record, sealed, and its evidence come by email to {email} once everyone has acknowledged."
                        )}
                    </p>
                    <p class="muted">"There is nothing more to do. You can close this page."</p>
                }
                    .into_any()
            } else if what == "approved" {
                view! {
                    <h1 id=FINISHED_ID tabindex="-1">"Thank you, you have approved"</h1>
                    <p data-testid="copy-note">
                        {format!(
                            "Your approval is recorded. The completed document, sealed, and its evidence come by \
                             email to {email} once everyone has signed."
                        )}
                    </p>
                    <p class="muted">"There is nothing more to do. You can close this page."</p>
                }
                    .into_any()
            } else {
                view! {
                    <h1 id=FINISHED_ID tabindex="-1">"Thank you, you have signed"</h1>
                    <p data-testid="copy-note">
                        {format!(
                            "Your signed copy comes by email to {email} as soon as everyone has signed: the \
                             document with every signature, sealed, and its evidence, which anyone can check."
                        )}
                    </p>
                    <p class="muted">"There is nothing more to do. You can close this page."</p>
                }
                    .into_any()
            }}
        </section>
    }
}

const FINISHED_ID: &str = "signer-finished";

#[cfg(feature = "hydrate")]
mod client {
    //! Downloading and hashing the PDF, location, and small DOM helpers.

    use super::St;
    use crate::api::signing::BrowserGeo;
    use crate::components::pdf_pages::VIEWER_ID;
    use attesta_core::evidence::Sha256;
    use leptos::prelude::*;
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;

    /// Fetches the PDF, hashes the bytes, and gives the same bytes to the viewer.
    pub fn load_pdf(url: String, st: St) {
        leptos::task::spawn_local(async move {
            match fetch_bytes(&url).await {
                Ok(bytes) => {
                    st.pdf_sha256.set(Some(Sha256::digest(&bytes).to_hex()));
                    let array = js_sys::Uint8Array::from(bytes.as_slice());
                    // The viewer appears a moment after hydration: wait for it.
                    for _ in 0..100 {
                        if let Some(el) = document().get_element_by_id(VIEWER_ID) {
                            let _ = js_sys::Reflect::set(&el, &JsValue::from_str("pdfData"), &array);
                            return;
                        }
                        sleep(50).await;
                    }
                    st.error.set(Some("The document viewer did not start. Reload the page.".to_owned()));
                }
                Err(e) => st.error.set(Some(format!("The document could not be downloaded: {e}"))),
            }
        });
    }

    async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
        let response = JsFuture::from(window().fetch_with_str(url)).await.map_err(|e| format!("{e:?}"))?;
        let response: web_sys::Response = response.dyn_into().map_err(|_| "no response".to_owned())?;
        if !response.ok() {
            return Err(format!("HTTP {}", response.status()));
        }
        let buffer = JsFuture::from(response.array_buffer().map_err(|e| format!("{e:?}"))?)
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }

    async fn sleep(ms: i32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        });
        let _ = JsFuture::from(promise).await;
    }

    /// The browser's location, if the person allows it within 10 seconds.
    pub async fn locate() -> Option<BrowserGeo> {
        let geolocation = window().navigator().geolocation().ok()?;
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            let ok = resolve.clone();
            let on_ok = Closure::once_into_js(move |pos: JsValue| {
                let coords = js_sys::Reflect::get(&pos, &"coords".into()).unwrap_or(JsValue::NULL);
                let get = |k: &str| js_sys::Reflect::get(&coords, &k.into()).unwrap_or(JsValue::NULL);
                let _ = ok
                    .call1(&JsValue::NULL, &js_sys::Array::of3(&get("latitude"), &get("longitude"), &get("accuracy")));
            });
            let fail = resolve.clone();
            let on_err = Closure::once_into_js(move |_e: JsValue| {
                let _ = fail.call1(&JsValue::NULL, &JsValue::NULL);
            });
            let options = web_sys::PositionOptions::new();
            options.set_timeout(10_000);
            let _ = geolocation.get_current_position_with_error_callback_and_options(
                on_ok.unchecked_ref(),
                Some(on_err.unchecked_ref()),
                &options,
            );
        });
        let value = JsFuture::from(promise).await.ok()?;
        let array: js_sys::Array = value.dyn_into().ok()?;
        Some(BrowserGeo {
            latitude: array.get(0).as_f64()?,
            longitude: array.get(1).as_f64()?,
            accuracy: array.get(2).as_f64(),
        })
    }

    /// Scrolls the page so field `id` is in view (above the panel), then focuses `control`.
    pub fn show_field(id: &str, control: &'static str) {
        let selector = format!("[data-field-id=\"{id}\"]");
        if let Ok(Some(el)) = document().query_selector(&selector) {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            el.scroll_into_view_with_scroll_into_view_options(&options);
        }
        focus_later(control);
    }

    /// Focuses element `id` on the next frame, once the change that made it has been drawn
    /// (a control that was just enabled or swapped in cannot take the focus before).
    pub fn focus_later(id: &'static str) {
        request_animation_frame(move || {
            if let Some(el) = document().get_element_by_id(id)
                && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>()
            {
                // The panel's controls are fixed at the bottom, always in view: focusing
                // them does not scroll the page away from the field.
                let _ = el.focus();
            }
        });
    }

    pub fn blob_url(png: &[u8]) -> String {
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(png));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("image/png");
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
            .ok()
            .and_then(|b| web_sys::Url::create_object_url_with_blob(&b).ok())
            .unwrap_or_default()
    }
}
