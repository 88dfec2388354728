//! Preparing a document for signature: recipients in signing order, and fields placed on the
//! rendered pages by drag and drop (mouse, touch, keyboard). Every change is autosaved a moment
//! after the last edit and can be undone; Send locks the document.
//!
//! Positions live in PDF points in the page's own coordinate system
//! ([`PdfRect`]); the screen works in fractions of the page as displayed ([`ViewRect`]), and
//! [`PageGeometry`] converts between the two, whatever the zoom, rotation or crop box.

use crate::api::signing::{DraftView, get_draft, save_draft, schedule_send, send_document};
use crate::components::layout::{Loading, RequireUser};
use crate::components::pdf_pages::{PdfPages, percent_box, recipient_class};
use crate::components::schedule::{ScheduleForm, ScheduledNotice};
use crate::error::AppError;
use attesta_core::ceremony::ParticipantRole;
use attesta_core::signing::geometry::{PageGeometry, PdfRect, ViewRect, free_spot};
use attesta_core::signing::{Draft, DraftField, DraftProblem, DraftRecipient, FieldKind, LocalId, SigningOrder};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

/// How many changes Undo can go back.
const UNDO_DEPTH: usize = 100;
/// Autosave this long after the last change.
const AUTOSAVE_MS: u64 = 700;
/// Resizing snaps to the kind's usual size within this many points.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const SNAP_POINTS: f64 = 6.0;

#[component]
pub fn PreparePage() -> impl IntoView {
    let params = use_params_map();
    let view_data = Resource::new(move || params.get().get("id").unwrap_or_default(), get_draft);
    view! {
        <RequireUser>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match view_data.await {
                        Ok(v) if v.status == "draft" && v.scheduled.is_some() => {
                            view! { <ScheduledDraft data=v /> }.into_any()
                        }
                        Ok(v) if v.status == "draft" => view! { <Editor data=v /> }.into_any(),
                        Ok(v) => {
                            view! {
                                <section class="page">
                                    <h1>{v.title.clone()}</h1>
                                    <p>"This document was sent: its fields can no longer change."</p>
                                    <A href=format!("/documents/{}", v.id)>"Back to the document"</A>
                                </section>
                            }
                                .into_any()
                        }
                        Err(AppError::NotFound) => {
                            view! {
                                <section class="page">
                                    <h1>"Document not found"</h1>
                                    <A href="/">"Back to documents"</A>
                                </section>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </RequireUser>
    }
}

/// A draft scheduled to be sent is locked: what it is, when it goes, and the ways out.
#[component]
fn ScheduledDraft(data: DraftView) -> impl IntoView {
    let id = data.id.clone();
    let scheduled = data.scheduled.clone().unwrap_or_else(|| unreachable!("only scheduled drafts come here"));
    let back = format!("/documents/{}", data.id);
    // Cancelled, the editor opens afresh; sent, this page says so and links to the document.
    let changed = Callback::new(move |()| {
        #[cfg(feature = "hydrate")]
        let _ = window().location().reload();
    });
    view! {
        <Title text=format!("Prepare: {}", data.title) />
        <section class="page" data-testid="prepare-scheduled">
            <h1>{data.title.clone()}</h1>
            <ScheduledNotice id=id scheduled=scheduled changed=changed />
            <A href=back>"Back to the document"</A>
        </section>
    }
}

/// Where autosave stands.
#[derive(Debug, Clone, PartialEq)]
enum SaveState {
    Saved,
    Pending,
    Saving,
    Failed(String),
}

/// The editor's state: signals are `Copy`, so closures can take the whole thing.
#[derive(Clone, Copy)]
struct Ed {
    id: StoredValue<String>,
    draft: RwSignal<Draft>,
    revision: RwSignal<i64>,
    pages: StoredValue<Vec<PageGeometry>>,
    history: StoredValue<Vec<Draft>>,
    selected: RwSignal<Option<LocalId>>,
    active: RwSignal<Option<LocalId>>,
    version: RwSignal<u64>,
    saved_version: RwSignal<u64>,
    save: RwSignal<SaveState>,
    problems: RwSignal<Vec<DraftProblem>>,
    zoom: RwSignal<f64>,
    sending: RwSignal<bool>,
    /// Fields lying on one another (the core's rule), warned about before sending.
    overlaps: Memo<Vec<DraftProblem>>,
    /// Send was pressed while fields overlap: the sender is asked to confirm.
    confirming: RwSignal<bool>,
    /// The schedule form is open.
    scheduling: RwSignal<bool>,
    /// Why the last schedule was refused.
    schedule_error: RwSignal<Option<String>>,
}

impl Ed {
    /// Applies an edit, remembering the state before it for Undo.
    fn change(self, edit: impl FnOnce(&mut Draft)) {
        let before = self.draft.get_untracked();
        self.history.update_value(|h| {
            h.push(before);
            if h.len() > UNDO_DEPTH {
                h.remove(0);
            }
        });
        self.draft.update(edit);
        self.touched();
    }

    /// An edit that continues the previous one (a drag in progress): no new Undo step.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn adjust(self, edit: impl FnOnce(&mut Draft)) {
        self.draft.update(edit);
        self.touched();
    }

    fn touched(self) {
        self.version.update(|v| *v += 1);
        // A new edit may be the fix for what the last save refused: try again, and let the
        // next answer say what is still wrong.
        if matches!(self.save.get_untracked(), SaveState::Saved | SaveState::Failed(_)) {
            self.save.set(SaveState::Pending);
        }
        self.problems.update(|p| p.retain(|p| p.target == "document"));
    }

    fn undo(self) {
        let mut previous = None;
        self.history.update_value(|h| previous = h.pop());
        if let Some(previous) = previous {
            self.draft.set(previous);
            self.touched();
        }
    }

    fn page(self, n: u32) -> Option<PageGeometry> {
        self.pages.with_value(|p| p.get(n.checked_sub(1)? as usize).copied())
    }

    fn problem_for(self, target: String) -> Option<String> {
        self.problems.with(|p| p.iter().find(|p| p.target == target).map(|p| p.message.clone()))
    }

    fn recipient_index(self, id: &LocalId) -> usize {
        self.draft.with(|d| d.recipients.iter().position(|r| &r.id == id).unwrap_or(0))
    }

    /// Adds a field of `kind` for the active recipient on page `n`: centred on `at` (fractions
    /// of the displayed page) where it was dropped, or else at the first free spot in the part
    /// of the page on screen (`visible`, top to bottom), so fields added by pressing the palette
    /// one after another never land on each other.
    fn add_field(self, kind: FieldKind, n: u32, at: Option<(f64, f64)>, visible: (f64, f64)) {
        let Some(geometry) = self.page(n) else { return };
        let Some(recipient) = self
            .active
            .get_untracked()
            .or_else(|| self.draft.with_untracked(|d| d.recipients.first().map(|r| r.id.clone())))
        else {
            self.problems.set(vec![DraftProblem {
                target: "document".to_owned(),
                message: "Add a recipient first: every field belongs to someone.".to_owned(),
            }]);
            return;
        };
        let (w, h) = geometry.display_size();
        let (fw, fh) = kind.default_size();
        let view = match at {
            Some((cx, cy)) => {
                ViewRect { left: cx - fw / w / 2.0, top: cy - fh / h / 2.0, width: fw / w, height: fh / h }
                    .clamp_into_page()
            }
            None => {
                let taken: Vec<ViewRect> = self.draft.with_untracked(|d| {
                    d.fields.iter().filter(|f| f.page == n).map(|f| geometry.to_view(f.rect)).collect()
                });
                free_spot(fw / w, fh / h, &taken, visible)
            }
        };
        let id = self.next_id('f');
        let field = DraftField {
            id: id.clone(),
            recipient,
            kind,
            page: n,
            rect: round_rect(geometry.to_pdf(view)),
            required: kind != FieldKind::Checkbox,
            label: String::new(),
        };
        self.change(|d| d.fields.push(field));
        self.selected.set(Some(id));
    }

    fn next_id(self, prefix: char) -> LocalId {
        let n = self.draft.with_untracked(|d| {
            d.fields
                .iter()
                .map(|f| &f.id)
                .chain(d.recipients.iter().map(|r| &r.id))
                .filter_map(|id| id.as_str().strip_prefix(prefix)?.parse::<u32>().ok())
                .max()
                .unwrap_or(0)
        });
        LocalId::parse(&format!("{prefix}{}", n + 1)).unwrap_or_else(|| LocalId::parse("x").expect("valid id"))
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn set_field_view(self, id: &LocalId, view: ViewRect, continuing: bool) {
        let Some(page) = self.draft.with_untracked(|d| d.fields.iter().find(|f| &f.id == id).map(|f| f.page)) else {
            return;
        };
        let Some(geometry) = self.page(page) else { return };
        let rect = round_rect(geometry.to_pdf(view.clamp_into_page()));
        let edit = |d: &mut Draft| {
            if let Some(f) = d.fields.iter_mut().find(|f| &f.id == id) {
                f.rect = rect;
            }
        };
        if continuing { self.adjust(edit) } else { self.change(edit) }
    }

    fn field_view(self, id: &LocalId) -> Option<(DraftField, PageGeometry, ViewRect)> {
        let field = self.draft.with(|d| d.fields.iter().find(|f| &f.id == id).cloned())?;
        let geometry = self.page(field.page)?;
        let view = geometry.to_view(field.rect);
        Some((field, geometry, view))
    }

    /// Moves a field to page `n`, at the same place relative to the page as shown.
    fn move_to_page(self, id: &LocalId, n: u32) {
        let Some((_, _, view)) = self.field_view(id) else { return };
        let Some(target) = self.page(n) else { return };
        let rect = round_rect(target.to_pdf(view.clamp_into_page()));
        self.change(|d| {
            if let Some(f) = d.fields.iter_mut().find(|f| &f.id == id) {
                f.page = n;
                f.rect = rect;
            }
        });
    }

    fn duplicate(self, id: &LocalId) {
        let Some((field, geometry, view)) = self.field_view(id) else { return };
        let (w, h) = geometry.display_size();
        let moved = ViewRect { left: view.left + 12.0 / w, top: view.top + 12.0 / h, ..view }.clamp_into_page();
        let new_id = self.next_id('f');
        let copy = DraftField { id: new_id.clone(), rect: round_rect(geometry.to_pdf(moved)), ..field };
        self.change(|d| d.fields.push(copy));
        self.selected.set(Some(new_id));
    }

    fn delete(self, id: &LocalId) {
        self.change(|d| d.fields.retain(|f| &f.id != id));
        self.selected.set(None);
    }
}

/// Waits in the browser (and returns at once on the server, where nothing waits).
async fn sleep_ms(ms: i32) {
    #[cfg(feature = "hydrate")]
    {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ms;
}

/// Whether position `index` is the last of `len` recipients (nothing to move down past).
fn is_last(index: usize, len: usize) -> bool {
    index + 1 >= len
}

/// Positions to a hundredth of a point: far below what anyone sees, and stable in JSON.
fn round_rect(r: PdfRect) -> PdfRect {
    let q = |v: f64| (v * 100.0).round() / 100.0;
    PdfRect { x: q(r.x), y: q(r.y), width: q(r.width), height: q(r.height) }
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
/// A resized field within [`SNAP_POINTS`] of its kind's usual size takes that size.
fn snap_size(kind: FieldKind, geometry: &PageGeometry, view: ViewRect) -> ViewRect {
    let (w, h) = geometry.display_size();
    let (dw, dh) = kind.default_size();
    let (pw, ph) = (view.width * w, view.height * h);
    if (pw - dw).abs() <= SNAP_POINTS && (ph - dh).abs() <= SNAP_POINTS {
        ViewRect { width: dw / w, height: dh / h, ..view }
    } else {
        view
    }
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
/// A resize that keeps at least the kind's minimum size, in displayed points.
fn at_least_minimum(kind: FieldKind, geometry: &PageGeometry, view: ViewRect) -> ViewRect {
    let (w, h) = geometry.display_size();
    let (mw, mh) = kind.min_size();
    ViewRect { width: view.width.max(mw / w), height: view.height.max(mh / h), ..view }
}

#[component]
fn Editor(data: DraftView) -> impl IntoView {
    let draft = RwSignal::new(data.draft.clone());
    let ed = Ed {
        id: StoredValue::new(data.id.clone()),
        draft,
        revision: RwSignal::new(data.revision),
        pages: StoredValue::new(data.pages.clone()),
        history: StoredValue::new(Vec::new()),
        selected: RwSignal::new(None),
        active: RwSignal::new(data.draft.recipients.first().map(|r| r.id.clone())),
        version: RwSignal::new(0),
        saved_version: RwSignal::new(0),
        save: RwSignal::new(SaveState::Saved),
        problems: RwSignal::new(Vec::new()),
        zoom: RwSignal::new(1.0),
        sending: RwSignal::new(false),
        overlaps: Memo::new(move |_| draft.with(Draft::overlap_warnings)),
        confirming: RwSignal::new(false),
        scheduling: RwSignal::new(false),
        schedule_error: RwSignal::new(None),
    };
    autosave(ed);
    let send = sender(ed);
    let schedule = scheduler(ed);
    #[cfg(feature = "hydrate")]
    client::undo_shortcut(ed);

    let pages = data.pages.clone();
    let me = (data.me_name.clone(), data.me_email.clone());
    view! {
        <Title text=format!("Prepare: {}", data.title) />
        <div class="prepare" data-testid="prepare">
            <header class="prepare__bar">
                <div class="prepare__title">
                    <A href=format!("/documents/{}", data.id)>"← Document"</A>
                    <h1>{data.title.clone()}</h1>
                </div>
                <SaveIndicator ed=ed />
                <div class="prepare__tools" role="toolbar" aria-label="Editing">
                    <button
                        type="button"
                        class="button button--quiet"
                        on:click=move |_| ed.undo()
                        disabled=move || { ed.version.get(); ed.history.with_value(Vec::is_empty) }
                        data-testid="undo"
                        title="Undo (Ctrl+Z)"
                    >
                        "Undo"
                    </button>
                    <button
                        type="button"
                        class="button button--quiet"
                        aria-label="Zoom out"
                        on:click=move |_| ed.zoom.update(|z| *z = (*z - 0.25).max(0.5))
                    >
                        "−"
                    </button>
                    <span class="prepare__zoom" aria-live="polite">{move || format!("{:.0}%", ed.zoom.get() * 100.0)}</span>
                    <button
                        type="button"
                        class="button button--quiet"
                        aria-label="Zoom in"
                        on:click=move |_| ed.zoom.update(|z| *z = (*z + 0.25).min(3.0))
                    >
                        "+"
                    </button>
                    <button
                        type="button"
                        class="button button--quiet"
                        data-testid="schedule"
                        aria-expanded=move || ed.scheduling.get().to_string()
                        on:click=move |_| ed.scheduling.update(|open| *open = !*open)
                    >
                        "Schedule…"
                    </button>
                    <SendButton ed=ed send=send />
                </div>
            </header>
            <Show when=move || ed.scheduling.get()>
                <ScheduleForm
                    schedule=schedule
                    close=Callback::new(move |()| ed.scheduling.set(false))
                    busy=Signal::derive(move || ed.sending.get())
                    error=Signal::derive(move || ed.schedule_error.get())
                />
            </Show>
            <Problems ed=ed />
            <OverlapWarning ed=ed send=send />
            <div class="prepare__body">
                <aside class="prepare__side">
                    <Recipients ed=ed me=me />
                    <Palette ed=ed />
                    <Inspector ed=ed />
                </aside>
                <section class="prepare__pages" aria-label="Pages">
                    <PdfPages
                        pages=pages
                        src=Some(format!("/documents/{}/file", data.id))
                        zoom=Signal::derive(move || ed.zoom.get())
                        overlay=move |n, geometry| view! { <PageFields ed=ed n=n geometry=geometry /> }
                    />
                </section>
            </div>
        </div>
    }
}

/// Saves a moment after the last change, one save at a time; a failed save stops autosave
/// until the sender acts (a conflict needs a reload, not a retry loop).
fn autosave(ed: Ed) {
    Effect::new(move |_| {
        let version = ed.version.get();
        let state = ed.save.get();
        if version == ed.saved_version.get_untracked() || matches!(state, SaveState::Saving | SaveState::Failed(_)) {
            return;
        }
        set_timeout(
            move || {
                if ed.version.get_untracked() == version && !matches!(ed.save.get_untracked(), SaveState::Saving) {
                    save_now(ed);
                }
            },
            std::time::Duration::from_millis(AUTOSAVE_MS),
        );
    });
}

fn save_now(ed: Ed) {
    let version = ed.version.get_untracked();
    if version == ed.saved_version.get_untracked() {
        return;
    }
    ed.save.set(SaveState::Saving);
    let (id, revision, draft) = (ed.id.get_value(), ed.revision.get_untracked(), ed.draft.get_untracked());
    leptos::task::spawn_local(async move {
        match save_draft(id, revision, draft).await {
            Ok(new_revision) => {
                ed.revision.set(new_revision);
                ed.saved_version.set(version);
                ed.problems.update(Vec::clear);
                ed.save.set(if ed.version.get_untracked() == version { SaveState::Saved } else { SaveState::Pending });
            }
            Err(AppError::Problems(p)) => {
                ed.save.set(SaveState::Failed("Some fields are not valid: see above.".to_owned()));
                ed.problems.set(p);
            }
            Err(e) => ed.save.set(SaveState::Failed(e.to_string())),
        }
    });
}

#[component]
fn SaveIndicator(ed: Ed) -> impl IntoView {
    view! {
        <p class="prepare__save" role="status" data-testid="save-state">
            {move || match ed.save.get() {
                SaveState::Saved => "All changes saved".into_any(),
                SaveState::Pending => "Unsaved changes…".into_any(),
                SaveState::Saving => "Saving…".into_any(),
                SaveState::Failed(why) => {
                    view! {
                        <span class="form-error">{format!("Not saved: {why} ")}</span>
                        <button
                            type="button"
                            class="button button--quiet"
                            on:click=move |_| {
                                ed.save.set(SaveState::Pending);
                                save_now(ed);
                            }
                        >
                            "Retry"
                        </button>
                    }
                        .into_any()
                }
            }}
        </p>
    }
}

#[component]
fn Problems(ed: Ed) -> impl IntoView {
    view! {
        <Show when=move || ed.problems.with(|p| !p.is_empty())>
            <div class="callout callout--error" role="alert" data-testid="problems">
                <p>"Before sending:"</p>
                <ul>
                    {move || {
                        ed.problems
                            .get()
                            .into_iter()
                            .map(|p| view! { <li>{p.message}</li> })
                            .collect_view()
                    }}
                </ul>
            </div>
        </Show>
    }
}

/// Fields on top of one another: listed while editing, and confirmed before sending.
#[component]
fn OverlapWarning(ed: Ed, send: Callback<()>) -> impl IntoView {
    view! {
        <Show when=move || ed.overlaps.with(|o| !o.is_empty())>
            <div
                class=move || if ed.confirming.get() { "callout callout--warning callout--confirm" } else { "callout callout--warning" }
                role=move || if ed.confirming.get() { "alert" } else { "status" }
                data-testid="overlaps"
            >
                <p>
                    {move || {
                        if ed.confirming.get() {
                            "Some fields lie on top of others: a signer may not see or reach what is underneath. Send anyway?"
                        } else {
                            "Some fields lie on top of others:"
                        }
                    }}
                </p>
                <ul>{move || ed.overlaps.get().into_iter().map(|p| view! { <li>{p.message}</li> }).collect_view()}</ul>
                <Show when=move || ed.confirming.get()>
                    <div class="callout__actions">
                        <button type="button" class="button button--quiet" data-testid="overlaps-keep" on:click=move |_| ed.confirming.set(false)>
                            "Keep editing"
                        </button>
                        <button
                            type="button"
                            class="button button--primary"
                            data-testid="overlaps-send"
                            on:click=move |_| {
                                ed.confirming.set(false);
                                send.run(());
                            }
                        >
                            "Send anyway"
                        </button>
                    </div>
                </Show>
            </div>
        </Show>
    }
}

#[component]
fn SendButton(ed: Ed, send: Callback<()>) -> impl IntoView {
    let on_click = move |_| {
        if ed.overlaps.with_untracked(|o| !o.is_empty()) {
            ed.confirming.set(true);
        } else {
            send.run(());
        }
    };
    view! {
        <button type="button" class="button button--primary" on:click=on_click disabled=move || ed.sending.get() data-testid="send">
            {move || if ed.sending.get() { "Sending…" } else { "Send for signature" }}
        </button>
    }
}

/// Saves what is on screen, so that what is sent (or scheduled) is what the sender sees; `false`
/// when the save was refused (the reason is on screen).
async fn save_before_sending(ed: Ed) -> bool {
    // Let an autosave in flight land first: it moves the revision the send must name.
    while matches!(ed.save.get_untracked(), SaveState::Saving) {
        sleep_ms(50).await;
    }
    if ed.version.get_untracked() == ed.saved_version.get_untracked() {
        return true;
    }
    let version = ed.version.get_untracked();
    match save_draft(ed.id.get_value(), ed.revision.get_untracked(), ed.draft.get_untracked()).await {
        Ok(r) => {
            ed.revision.set(r);
            ed.saved_version.set(version);
            ed.save.set(SaveState::Saved);
            true
        }
        Err(AppError::Problems(p)) => {
            ed.problems.set(p);
            false
        }
        Err(e) => {
            ed.save.set(SaveState::Failed(e.to_string()));
            false
        }
    }
}

/// Saves what is on screen, then schedules it (`(local time, time zone)`).
fn scheduler(ed: Ed) -> Callback<(String, String)> {
    let navigate = leptos_router::hooks::use_navigate();
    Callback::new(move |(local, zone): (String, String)| {
        if ed.sending.get_untracked() {
            return;
        }
        ed.sending.set(true);
        ed.schedule_error.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            if !save_before_sending(ed).await {
                ed.sending.set(false);
                return;
            }
            let id = ed.id.get_value();
            match schedule_send(id.clone(), ed.revision.get_untracked(), local, zone).await {
                Ok(_) => navigate(&format!("/documents/{id}"), Default::default()),
                Err(AppError::Problems(p)) => ed.problems.set(p),
                Err(e) => ed.schedule_error.set(Some(e.to_string())),
            }
            ed.sending.set(false);
        });
    })
}

/// Saves what is on screen, then sends it.
fn sender(ed: Ed) -> Callback<()> {
    let navigate = leptos_router::hooks::use_navigate();
    Callback::new(move |()| {
        if ed.sending.get_untracked() {
            return;
        }
        ed.sending.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let id = ed.id.get_value();
            if !save_before_sending(ed).await {
                ed.sending.set(false);
                return;
            }
            match send_document(id.clone(), ed.revision.get_untracked()).await {
                Ok(()) => navigate(&format!("/documents/{id}"), Default::default()),
                Err(AppError::Problems(p)) => ed.problems.set(p),
                Err(e) => ed.problems.set(vec![DraftProblem { target: "document".to_owned(), message: e.to_string() }]),
            }
            ed.sending.set(false);
        });
    })
}

#[component]
fn Recipients(ed: Ed, me: (String, String)) -> impl IntoView {
    let dragging = RwSignal::new(None::<usize>);
    let me = StoredValue::new(me);
    let add = move |name: String, email: String| {
        let id = ed.next_id('r');
        ed.change(|d| {
            d.recipients.push(DraftRecipient { id: id.clone(), name, email, otp: false, role: Default::default() })
        });
        ed.active.set(Some(id));
    };
    let move_recipient = move |from: usize, to: usize| {
        ed.change(|d| {
            if from < d.recipients.len() && to < d.recipients.len() {
                let r = d.recipients.remove(from);
                d.recipients.insert(to, r);
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="recipients-heading">
            <h2 id="recipients-heading">"Recipients"</h2>
            <fieldset class="prepare__order">
                <legend>"Signing order"</legend>
                <label>
                    <input
                        type="radio"
                        name="order"
                        value="sequential"
                        data-testid="order-sequential"
                        prop:checked=move || ed.draft.with(|d| d.order == SigningOrder::Sequential)
                        on:change=move |_| ed.change(|d| d.order = SigningOrder::Sequential)
                    />
                    " One after another"
                </label>
                <label>
                    <input
                        type="radio"
                        name="order"
                        value="parallel"
                        data-testid="order-parallel"
                        prop:checked=move || ed.draft.with(|d| d.order == SigningOrder::Parallel)
                        on:change=move |_| ed.change(|d| d.order = SigningOrder::Parallel)
                    />
                    " All at once"
                </label>
            </fieldset>
            <ol class="recipients" data-testid="recipients">
                <For
                    each=move || ed.draft.with(|d| d.recipients.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
                    key=|id| id.clone()
                    let:rid
                >
                    {
                        let rid = StoredValue::new(rid);
                        let index = move || ed.recipient_index(&rid.get_value());
                        let get = move |f: fn(&DraftRecipient) -> String| {
                            ed.draft.with(|d| d.recipients.iter().find(|r| r.id == rid.get_value()).map(f).unwrap_or_default())
                        };
                        let set = move |edit: Box<dyn FnOnce(&mut DraftRecipient)>| {
                            ed.change(|d| {
                                if let Some(r) = d.recipients.iter_mut().find(|r| r.id == rid.get_value()) {
                                    edit(r);
                                }
                            });
                        };
                        let problem = move || ed.problem_for(format!("recipient:{}", rid.get_value()));
                        let is_cc = move || {
                            ed.draft.with(|d| d.recipients.iter().any(|r| r.id == rid.get_value() && !r.role.must_act()))
                        };
                        view! {
                            <li
                                // One class string: the colour is a class (the CSP allows no
                                // inline style), and `class=` would wipe `class:` toggles.
                                class=move || {
                                    let mut c = format!("recipient {}", recipient_class(index()));
                                    if ed.active.get() == Some(rid.get_value()) {
                                        c.push_str(" recipient--active");
                                    }
                                    if problem().is_some() {
                                        c.push_str(" recipient--invalid");
                                    }
                                    c
                                }
                                draggable="true"
                                data-testid="recipient"
                                on:dragstart=move |ev| {
                                    dragging.set(Some(index()));
                                    #[cfg(feature = "hydrate")]
                                    if let Some(dt) = ev.data_transfer() {
                                        let _ = dt.set_data("text/plain", "recipient");
                                    }
                                    #[cfg(not(feature = "hydrate"))]
                                    let _ = ev;
                                }
                                on:dragover=move |ev| ev.prevent_default()
                                on:drop=move |ev| {
                                    ev.prevent_default();
                                    if let Some(from) = dragging.get_untracked() {
                                        move_recipient(from, index());
                                    }
                                    dragging.set(None);
                                }
                                on:click=move |_| ed.active.set(Some(rid.get_value()))
                            >
                                <div class="recipient__head">
                                    <span class="recipient__swatch" aria-hidden="true"></span>
                                    <span class="recipient__pos">{move || index() + 1}</span>
                                    <span class="recipient__drag" aria-hidden="true" title="Drag to reorder">"⠿"</span>
                                    <span class="recipient__moves">
                                        <button
                                            type="button"
                                            class="button button--quiet button--small button--icon"
                                            data-testid="recipient-up"
                                            aria-label=move || format!("Move recipient {} up", index() + 1)
                                            title="Move up"
                                            disabled=move || { index() == 0 }
                                            on:click=move |_| {
                                                let i = index();
                                                if i > 0 {
                                                    move_recipient(i, i - 1)
                                                }
                                            }
                                        >
                                            "↑"
                                        </button>
                                        <button
                                            type="button"
                                            class="button button--quiet button--small button--icon"
                                            data-testid="recipient-down"
                                            aria-label=move || format!("Move recipient {} down", index() + 1)
                                            title="Move down"
                                            // Braces: a bare `>=` here would end the tag.
                                            disabled=move || { is_last(index(), ed.draft.with(|d| d.recipients.len())) }
                                            on:click=move |_| {
                                                let i = index();
                                                move_recipient(i, i + 1)
                                            }
                                        >
                                            "↓"
                                        </button>
                                    </span>
                                    <button
                                        type="button"
                                        class="button button--quiet button--small recipient__remove"
                                        data-testid="recipient-remove"
                                        aria-label=move || format!("Remove recipient {}", index() + 1)
                                        on:click=move |_| {
                                            let id = rid.get_value();
                                            ed.change(|d| {
                                                d.recipients.retain(|r| r.id != id);
                                                d.fields.retain(|f| f.recipient != id);
                                            });
                                            if ed.active.get_untracked() == Some(rid.get_value()) {
                                                ed.active.set(ed.draft.with_untracked(|d| d.recipients.first().map(|r| r.id.clone())));
                                            }
                                        }
                                    >
                                        "Remove"
                                    </button>
                                </div>
                                <label class="field-label">
                                    "Name"
                                    <input
                                        type="text"
                                        autocomplete="off"
                                        data-testid="recipient-name"
                                        prop:value=move || get(|r| r.name.clone())
                                        on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |r| r.name = v)) }
                                    />
                                </label>
                                <label class="field-label">
                                    "Email"
                                    <input
                                        type="email"
                                        autocomplete="off"
                                        data-testid="recipient-email"
                                        prop:value=move || get(|r| r.email.clone())
                                        on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |r| r.email = v)) }
                                    />
                                </label>
                                <label class="field-label">
                                    "Role"
                                    <select
                                        data-testid="recipient-role"
                                        prop:value=move || ed.draft.with(|d| d.recipients.iter().find(|r| r.id == rid.get_value()).map(|r| r.role.as_str()).unwrap_or("signer"))
                                        on:change=move |ev| {
                                            let role = ParticipantRole::parse(&event_target_value(&ev)).unwrap_or_default();
                                            set(Box::new(move |r| r.role = role))
                                        }
                                    >
                                        {ParticipantRole::ALL
                                            .into_iter()
                                            .map(|role| view! { <option value=role.as_str()>{role.label()}</option> })
                                            .collect_view()}
                                    </select>
                                </label>
                                <label class="checkbox" hidden=is_cc>
                                    <input
                                        type="checkbox"
                                        data-testid="recipient-otp"
                                        prop:checked=move || ed.draft.with(|d| d.recipients.iter().any(|r| r.id == rid.get_value() && r.otp))
                                        on:change=move |ev| { let on = event_target_checked(&ev); set(Box::new(move |r| r.otp = on)) }
                                    />
                                    " Ask for a code sent by email"
                                </label>
                                {move || problem().map(|m| view! { <p class="form-error">{m}</p> })}
                            </li>
                        }
                    }
                </For>
            </ol>
            <div class="recipients__add">
                <button type="button" class="button button--quiet" data-testid="add-recipient" on:click=move |_| add(String::new(), String::new())>
                    "Add recipient"
                </button>
                <button
                    type="button"
                    class="button button--quiet"
                    on:click=move |_| { let (n, e) = me.get_value(); add(n, e) }
                >
                    "Add me"
                </button>
            </div>
            <label class="field-label">
                "Message to recipients (optional)"
                <textarea
                    rows="3"
                    maxlength="2000"
                    prop:value=move || ed.draft.with(|d| d.message.clone())
                    on:change=move |ev| { let v = event_target_value(&ev); ed.change(|d| d.message = v) }
                ></textarea>
            </label>
        </section>
    }
}

#[component]
fn Palette(ed: Ed) -> impl IntoView {
    // Fields go to a signer: with someone in copy chosen (or nobody), the palette waits.
    let active_signs = move || {
        ed.draft.with(|d| d.recipients.iter().any(|r| Some(&r.id) == ed.active.get().as_ref() && r.role.fills_fields()))
    };
    view! {
        <section class="panel" aria-labelledby="fields-heading">
            <h2 id="fields-heading">"Fields"</h2>
            <label class="field-label">
                "For"
                <select
                    data-testid="active-recipient"
                    on:change=move |ev| ed.active.set(LocalId::parse(&event_target_value(&ev)))
                    prop:value=move || {
                        if active_signs() { ed.active.get().map(|a| a.to_string()).unwrap_or_default() } else { String::new() }
                    }
                >
                    // Someone in copy (or nobody) chosen: the list says so rather than showing a
                    // signer the palette would not add to.
                    <Show when=move || !active_signs()>
                        <option value="" disabled=true>"Choose a signer"</option>
                    </Show>
                    {move || {
                        ed.draft
                            .get()
                            .recipients
                            .into_iter()
                            .enumerate()
                            // Approvers and people in copy fill nothing.
                            .filter(|(_, r)| r.role.fills_fields())
                            .map(|(i, r)| {
                                let label = if r.name.trim().is_empty() { format!("Recipient {}", i + 1) } else { r.name.clone() };
                                view! { <option value=r.id.to_string()>{label}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            <p class="muted small">
                {move || {
                    if active_signs() {
                        "Drag onto a page, or press to add to the page in view."
                    } else {
                        "Choose a signer above: approvers and people in copy fill nothing."
                    }
                }}
            </p>
            <div class="palette">
                {FieldKind::ALL
                    .into_iter()
                    .map(|kind| {
                        view! {
                            <button
                                type="button"
                                class="palette__item"
                                disabled=move || !active_signs()
                                draggable="true"
                                data-kind=kind.as_str()
                                data-testid=format!("palette-{}", kind.as_str())
                                on:dragstart=move |ev| {
                                    #[cfg(feature = "hydrate")]
                                    if let Some(dt) = ev.data_transfer() {
                                        let _ = dt.set_data("application/x-attesta-field", kind.as_str());
                                        let _ = dt.set_data("text/plain", kind.as_str());
                                    }
                                    #[cfg(not(feature = "hydrate"))]
                                    let _ = ev;
                                }
                                on:click=move |_| {
                                    #[cfg(feature = "hydrate")]
                                    let (page, visible) = crate::components::pdf_pages::page_in_view();
                                    #[cfg(not(feature = "hydrate"))]
                                    let (page, visible) = (1, (0.0, 1.0));
                                    ed.add_field(kind, page, None, visible);
                                }
                            >
                                {kind.label()}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <ul class="legend" aria-label="Colours">
                {move || {
                    ed.draft
                        .get()
                        .recipients
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| {
                            let n = ed.draft.with(|d| d.fields.iter().filter(|f| f.recipient == r.id).count());
                            view! {
                                <li class=recipient_class(i)>
                                    <span class="recipient__swatch" aria-hidden="true"></span>
                                    {format!(
                                        "{} · {n} field{}",
                                        if r.name.trim().is_empty() { format!("Recipient {}", i + 1) } else { r.name.clone() },
                                        if n == 1 { "" } else { "s" },
                                    )}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </section>
    }
}

#[component]
fn Inspector(ed: Ed) -> impl IntoView {
    let field = Memo::new(move |_| {
        let id = ed.selected.get()?;
        ed.draft.with(|d| d.fields.iter().find(|f| f.id == id).cloned())
    });
    let update = move |edit: Box<dyn FnOnce(&mut DraftField)>| {
        if let Some(id) = ed.selected.get_untracked() {
            ed.change(|d| {
                if let Some(f) = d.fields.iter_mut().find(|f| f.id == id) {
                    edit(f);
                }
            });
        }
    };
    view! {
        <Show when=move || field.with(Option::is_some)>
            <section class="panel" aria-labelledby="inspector-heading" data-testid="inspector">
                <h2 id="inspector-heading">
                    {move || field.get().map(|f| format!("{} on page {}", f.kind.label(), f.page))}
                </h2>
                <label class="field-label">
                    "Recipient"
                    <select
                        data-testid="field-recipient"
                        prop:value=move || field.get().map(|f| f.recipient.to_string()).unwrap_or_default()
                        on:change=move |ev| {
                            if let Some(r) = LocalId::parse(&event_target_value(&ev)) {
                                update(Box::new(move |f| f.recipient = r));
                            }
                        }
                    >
                        {move || {
                            ed.draft
                                .get()
                                .recipients
                                .into_iter()
                                .enumerate()
                                .map(|(i, r)| {
                                    let label = if r.name.trim().is_empty() { format!("Recipient {}", i + 1) } else { r.name };
                                    view! { <option value=r.id.to_string()>{label}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
                <label class="field-label">
                    "Label"
                    <input
                        type="text"
                        maxlength="80"
                        data-testid="field-label"
                        prop:value=move || field.get().map(|f| f.label).unwrap_or_default()
                        on:change=move |ev| { let v = event_target_value(&ev); update(Box::new(move |f| f.label = v)) }
                    />
                </label>
                <label class="field-label">
                    "Page"
                    <input
                        type="number"
                        min="1"
                        max=ed.pages.with_value(Vec::len)
                        data-testid="field-page"
                        prop:value=move || field.get().map(|f| f.page.to_string()).unwrap_or_default()
                        on:change=move |ev| {
                            if let (Some(id), Ok(n)) = (ed.selected.get_untracked(), event_target_value(&ev).parse::<u32>()) {
                                ed.move_to_page(&id, n);
                            }
                        }
                    />
                </label>
                <label class="checkbox">
                    <input
                        type="checkbox"
                        data-testid="field-required"
                        prop:checked=move || field.get().is_some_and(|f| f.required)
                        on:change=move |ev| { let on = event_target_checked(&ev); update(Box::new(move |f| f.required = on)) }
                    />
                    " Required"
                </label>
                <p class="muted small">
                    {move || field.get().map(|f| format!(
                        "{:.0} × {:.0} pt at ({:.0}, {:.0})",
                        f.rect.width, f.rect.height, f.rect.x, f.rect.y
                    ))}
                </p>
                <div class="inspector__actions">
                    <button type="button" class="button button--quiet" data-testid="field-duplicate"
                        on:click=move |_| if let Some(id) = ed.selected.get_untracked() { ed.duplicate(&id) }>
                        "Duplicate"
                    </button>
                    <button type="button" class="button button--danger" data-testid="field-delete"
                        on:click=move |_| if let Some(id) = ed.selected.get_untracked() { ed.delete(&id) }>
                        "Delete"
                    </button>
                </div>
                <p class="muted small">"Keyboard: arrows move (Shift: 10 pt), Alt+arrows resize, Delete removes, Ctrl+D duplicates."</p>
            </section>
        </Show>
    }
}

/// The fields on page `n`, and the drop target for new ones.
#[component]
fn PageFields(ed: Ed, n: u32, geometry: PageGeometry) -> impl IntoView {
    view! {
        <div
            class="page-fields"
            data-testid=format!("page-fields-{n}")
            on:dragover=move |ev| ev.prevent_default()
            on:drop=move |ev| {
                ev.prevent_default();
                #[cfg(feature = "hydrate")]
                {
                    let kind = ev
                        .data_transfer()
                        .and_then(|dt| dt.get_data("application/x-attesta-field").ok())
                        .and_then(|k| FieldKind::parse(&k));
                    if let Some(kind) = kind {
                        ed.add_field(kind, n, client::fraction_in(&ev, n), (0.0, 1.0));
                    }
                }
            }
            on:pointerdown=move |ev| {
                // A press on the page itself (not a field) clears the selection.
                if ev.target() == ev.current_target() {
                    ed.selected.set(None);
                }
            }
        >
            <For
                each=move || {
                    ed.draft.with(|d| d.fields.iter().filter(|f| f.page == n).map(|f| f.id.clone()).collect::<Vec<_>>())
                }
                key=|id| id.clone()
                let:fid
            >
                <PlacedField ed=ed fid=fid geometry=geometry />
            </For>
        </div>
    }
}

#[component]
fn PlacedField(ed: Ed, fid: LocalId, geometry: PageGeometry) -> impl IntoView {
    let fid = StoredValue::new(fid);
    let field = Memo::new(move |_| ed.draft.with(|d| d.fields.iter().find(|f| f.id == fid.get_value()).cloned()));
    let view_rect = move || field.get().map(|f| geometry.to_view(f.rect));
    let css = move |i: usize| view_rect().map(|v| percent_box(v)[i].1.clone()).unwrap_or_default();
    let colour = move || field.get().map(|f| recipient_class(ed.recipient_index(&f.recipient))).unwrap_or_default();
    let owner = move || {
        field.get().map(|f| {
            ed.draft.with(|d| {
                d.recipients
                    .iter()
                    .position(|r| r.id == f.recipient)
                    .map(|i| {
                        let name = d.recipients[i].name.trim();
                        if name.is_empty() { format!("Recipient {}", i + 1) } else { name.to_owned() }
                    })
                    .unwrap_or_default()
            })
        })
    };
    let label = move || {
        field.get().map(|f| if f.label.trim().is_empty() { f.kind.label().to_owned() } else { f.label.clone() })
    };
    let selected = move || ed.selected.get() == Some(fid.get_value());
    #[cfg(feature = "hydrate")]
    let drag = client::Drag::new(ed, fid, geometry);
    view! {
        <div
            class=move || {
                let mut c = format!("placed {}", colour());
                let target = format!("field:{}", fid.get_value());
                for (on, name) in [
                    (selected(), "placed--selected"),
                    (field.get().is_some_and(|f| !f.required), "placed--optional"),
                    (ed.problem_for(target.clone()).is_some(), "placed--invalid"),
                    (ed.overlaps.with(|o| o.iter().any(|p| p.target == target)), "placed--overlap"),
                ] {
                    if on {
                        c.push(' ');
                        c.push_str(name);
                    }
                }
                c
            }
            // Rendered in the browser only (inside the pages, which wait for the client), where
            // tachys sets these through the CSSOM, which the CSP allows.
            style:left=move || css(0)
            style:top=move || css(1)
            style:width=move || css(2)
            style:height=move || css(3)
            tabindex="0"
            role="button"
            data-testid="placed-field"
            data-kind=move || field.get().map(|f| f.kind.as_str())
            data-field-id=fid.get_value().to_string()
            aria-label=move || format!("{} for {}", label().unwrap_or_default(), owner().unwrap_or_default())
            on:focus=move |_| ed.selected.set(Some(fid.get_value()))
            on:pointerdown=move |ev| {
                ed.selected.set(Some(fid.get_value()));
                #[cfg(feature = "hydrate")]
                drag.start(&ev, false);
                #[cfg(not(feature = "hydrate"))]
                let _ = ev;
            }
            on:pointermove=move |ev| {
                #[cfg(feature = "hydrate")]
                drag.moved(&ev);
                #[cfg(not(feature = "hydrate"))]
                let _ = ev;
            }
            on:pointerup=move |ev| {
                #[cfg(feature = "hydrate")]
                drag.end(&ev);
                #[cfg(not(feature = "hydrate"))]
                let _ = ev;
            }
            on:pointercancel=move |ev| {
                #[cfg(feature = "hydrate")]
                drag.end(&ev);
                #[cfg(not(feature = "hydrate"))]
                let _ = ev;
            }
            on:keydown=move |ev| {
                #[cfg(feature = "hydrate")]
                client::key(ed, fid.get_value(), geometry, &ev);
                #[cfg(not(feature = "hydrate"))]
                let _ = ev;
            }
        >
            <span class="placed__label">{label}</span>
            <span class="placed__owner">{owner}</span>
            <span
                class="placed__handle"
                aria-hidden="true"
                data-testid="resize-handle"
                on:pointerdown=move |ev| {
                    ev.stop_propagation();
                    ed.selected.set(Some(fid.get_value()));
                    #[cfg(feature = "hydrate")]
                    drag.start(&ev, true);
                }
                on:pointermove=move |ev| {
                    ev.stop_propagation();
                    #[cfg(feature = "hydrate")]
                    drag.moved(&ev);
                }
                on:pointerup=move |ev| {
                    ev.stop_propagation();
                    #[cfg(feature = "hydrate")]
                    drag.end(&ev);
                }
            ></span>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> PageGeometry {
        PageGeometry::new([0.0, 0.0, 612.0, 792.0], 0).expect("page")
    }

    #[test]
    fn resizing_near_the_usual_size_snaps_to_it() {
        let g = letter();
        let near = ViewRect { left: 0.1, top: 0.1, width: 184.0 / 612.0, height: 45.0 / 792.0 };
        let snapped = snap_size(FieldKind::Signature, &g, near);
        assert!((snapped.width * 612.0 - 180.0).abs() < 1e-9 && (snapped.height * 792.0 - 48.0).abs() < 1e-9);
        let far = ViewRect { width: 300.0 / 612.0, ..near };
        assert_eq!(snap_size(FieldKind::Signature, &g, far), far);
    }

    #[test]
    fn resizing_stops_at_the_minimum() {
        let g = letter();
        let tiny = ViewRect { left: 0.1, top: 0.1, width: 0.001, height: 0.001 };
        let r = at_least_minimum(FieldKind::Checkbox, &g, tiny);
        assert!((r.width * 612.0 - 10.0).abs() < 1e-9 && (r.height * 792.0 - 10.0).abs() < 1e-9);
    }

    #[test]
    fn only_the_last_recipient_cannot_move_down() {
        assert!(!is_last(0, 3) && !is_last(1, 3) && is_last(2, 3) && is_last(0, 1));
    }

    #[cfg(feature = "ssr")]
    fn editor_html(draft: Draft) -> String {
        use leptos_router::{components::Router, location::RequestUrl};
        Owner::new().with(|| {
            provide_context(RequestUrl::new("/documents/d1/prepare"));
            leptos_meta::provide_meta_context();
            let data = DraftView {
                id: "d1".to_owned(),
                title: "Lease".to_owned(),
                status: "draft".to_owned(),
                draft,
                revision: 1,
                pages: vec![letter(); 2],
                me_name: "Ada Lovelace".to_owned(),
                me_email: "ada@example.com".to_owned(),
                scheduled: None,
            };
            view! {
                <Router>
                    <Editor data />
                </Router>
            }
            .to_html()
        })
    }

    #[cfg(feature = "ssr")]
    fn saved_draft() -> Draft {
        let recipient = |id: &str, name: &str| DraftRecipient {
            id: LocalId::parse(id).expect("id"),
            name: name.to_owned(),
            email: format!("{}@example.com", name.to_lowercase()),
            otp: false,
            role: Default::default(),
        };
        Draft {
            recipients: vec![recipient("r1", "Bob"), recipient("r2", "Carol"), recipient("r3", "Dan")],
            ..Draft::default()
        }
    }

    /// The buttons of the `n`th recipient card (1-based) in rendered HTML, each as its opening tag.
    #[cfg(feature = "ssr")]
    fn card_buttons(html: &str, n: usize) -> Vec<String> {
        let card = html.split(r#"data-testid="recipient""#).nth(n).expect("card");
        let card = card.split("</li>").next().expect("card end");
        card.split("<button").skip(1).map(|b| b.split('>').next().unwrap_or_default().to_owned()).collect()
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_reopened_draft_renders_without_inline_styles() {
        let html = editor_html(saved_draft());
        // The Content-Security-Policy (style-src 'self') refuses every style attribute.
        assert!(!html.contains("style="), "{html}");
        // The colours come from classes instead.
        for class in ["recipient rc-0", "recipient rc-1", "recipient rc-2"] {
            assert!(html.contains(class), "missing {class}");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn recipient_cards_label_their_buttons_and_disable_moves_at_the_ends() {
        let html = editor_html(saved_draft());
        assert!(!html.contains("ed.draft"), "Rust source leaked into the page: {html}");
        let first = card_buttons(&html, 1);
        let last = card_buttons(&html, 3);
        let middle = card_buttons(&html, 2);
        let find = |buttons: &[String], label: &str| {
            buttons.iter().find(|b| b.contains(label)).cloned().unwrap_or_else(|| panic!("no {label} in {buttons:?}"))
        };
        assert!(find(&first, "Move recipient 1 up").contains("disabled"));
        assert!(!find(&first, "Move recipient 1 down").contains("disabled"));
        assert!(!find(&middle, "Move recipient 2 up").contains("disabled"));
        assert!(!find(&middle, "Move recipient 2 down").contains("disabled"));
        assert!(find(&last, "Move recipient 3 down").contains("disabled"));
        assert!(!find(&last, "Remove recipient 3").contains("disabled"));
        // The down arrow is the button's whole text.
        assert!(html.contains(">↓</button>"), "{html}");
    }

    #[test]
    fn positions_round_to_hundredths_of_a_point() {
        let r = round_rect(PdfRect { x: 1.234_56, y: 2.0, width: 3.999_9, height: 4.005 });
        assert_eq!((r.x, r.width), (1.23, 4.0));
    }
}

#[cfg(feature = "hydrate")]
mod client {
    //! Pointer and keyboard handling, in the browser only.

    use super::{Ed, at_least_minimum, snap_size};
    use attesta_core::signing::geometry::{PageGeometry, ViewRect};
    use attesta_core::signing::{FieldKind, LocalId};
    use leptos::prelude::*;
    use wasm_bindgen::JsCast as _;

    #[derive(Clone, Copy)]
    struct Active {
        resize: bool,
        pointer: i32,
        start: (f64, f64),
        page_px: (f64, f64),
        start_view: ViewRect,
        moved: bool,
    }

    /// A move or resize in progress on one field.
    #[derive(Clone, Copy)]
    pub struct Drag {
        ed: Ed,
        fid: StoredValue<LocalId>,
        geometry: PageGeometry,
        active: StoredValue<Option<Active>>,
    }

    impl Drag {
        pub fn new(ed: Ed, fid: StoredValue<LocalId>, geometry: PageGeometry) -> Self {
            Self { ed, fid, geometry, active: StoredValue::new(None) }
        }

        pub fn start(&self, ev: &web_sys::PointerEvent, resize: bool) {
            if ev.button() != 0 {
                return;
            }
            let Some(target) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
            let Some(page) = target.closest("[data-page-box]").ok().flatten() else { return };
            let r = page.get_bounding_client_rect();
            let Some(field) =
                self.ed.draft.with_untracked(|d| d.fields.iter().find(|f| f.id == self.fid.get_value()).cloned())
            else {
                return;
            };
            ev.prevent_default();
            let _ = target.set_pointer_capture(ev.pointer_id());
            // The state before the gesture is one Undo step.
            self.ed.change(|_| {});
            self.active.set_value(Some(Active {
                resize,
                pointer: ev.pointer_id(),
                start: (f64::from(ev.client_x()), f64::from(ev.client_y())),
                page_px: (r.width().max(1.0), r.height().max(1.0)),
                start_view: self.geometry.to_view(field.rect),
                moved: false,
            }));
        }

        pub fn moved(&self, ev: &web_sys::PointerEvent) {
            let Some(mut a) = self.active.get_value() else { return };
            if a.pointer != ev.pointer_id() {
                return;
            }
            let dx = (f64::from(ev.client_x()) - a.start.0) / a.page_px.0;
            let dy = (f64::from(ev.client_y()) - a.start.1) / a.page_px.1;
            let v = a.start_view;
            let next = if a.resize {
                let kind = self.kind();
                at_least_minimum(kind, &self.geometry, ViewRect { width: v.width + dx, height: v.height + dy, ..v })
            } else {
                ViewRect { left: v.left + dx, top: v.top + dy, ..v }
            };
            a.moved = true;
            self.active.set_value(Some(a));
            self.ed.set_field_view(&self.fid.get_value(), next, true);
        }

        pub fn end(&self, ev: &web_sys::PointerEvent) {
            let Some(a) = self.active.get_value() else { return };
            if a.pointer != ev.pointer_id() {
                return;
            }
            self.active.set_value(None);
            if a.resize && a.moved {
                let kind = self.kind();
                if let Some((_, g, view)) = self.ed.field_view(&self.fid.get_value()) {
                    self.ed.set_field_view(&self.fid.get_value(), snap_size(kind, &g, view), true);
                }
            }
            if !a.moved {
                // A press without a move changed nothing: drop the Undo step it made.
                self.ed.history.update_value(|h| {
                    h.pop();
                });
            }
        }

        fn kind(&self) -> FieldKind {
            self.ed
                .draft
                .with_untracked(|d| d.fields.iter().find(|f| f.id == self.fid.get_value()).map(|f| f.kind))
                .unwrap_or(FieldKind::Text)
        }
    }

    /// Arrows move by a point (Shift: ten), Alt+arrows resize, Delete removes, Ctrl/Cmd+D
    /// duplicates, Escape deselects.
    pub fn key(ed: Ed, fid: LocalId, geometry: PageGeometry, ev: &web_sys::KeyboardEvent) {
        let (w, h) = geometry.display_size();
        let step = if ev.shift_key() { 10.0 } else { 1.0 };
        let (dx, dy) = match ev.key().as_str() {
            "ArrowLeft" => (-step, 0.0),
            "ArrowRight" => (step, 0.0),
            "ArrowUp" => (0.0, -step),
            "ArrowDown" => (0.0, step),
            "Delete" | "Backspace" => {
                ev.prevent_default();
                ed.delete(&fid);
                return;
            }
            "d" | "D" if ev.ctrl_key() || ev.meta_key() => {
                ev.prevent_default();
                ed.duplicate(&fid);
                return;
            }
            "Escape" => {
                ed.selected.set(None);
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        let Some((field, _, v)) = ed.field_view(&fid) else { return };
        let next = if ev.alt_key() {
            at_least_minimum(
                field.kind,
                &geometry,
                ViewRect { width: v.width + dx / w, height: v.height + dy / h, ..v },
            )
        } else {
            ViewRect { left: v.left + dx / w, top: v.top + dy / h, ..v }
        };
        ed.set_field_view(&fid, next, false);
    }

    /// Where a drop landed on page `n`, in fractions of the displayed page.
    pub fn fraction_in(ev: &web_sys::DragEvent, n: u32) -> Option<(f64, f64)> {
        let page = document().query_selector(&format!("[data-page-box=\"{n}\"]")).ok().flatten()?;
        let r = page.get_bounding_client_rect();
        let x = (f64::from(ev.client_x()) - r.left()) / r.width().max(1.0);
        let y = (f64::from(ev.client_y()) - r.top()) / r.height().max(1.0);
        Some((x.clamp(0.0, 1.0), y.clamp(0.0, 1.0)))
    }

    /// Ctrl/Cmd+Z anywhere in the editor (outside text inputs, which keep their own undo).
    pub fn undo_shortcut(ed: Ed) {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            let in_text = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            if !in_text && (ev.ctrl_key() || ev.meta_key()) && !ev.shift_key() && ev.key().eq_ignore_ascii_case("z") {
                ev.prevent_default();
                ed.undo();
            }
        });
        on_cleanup(move || handle.remove());
    }
}
