//! One document: its status, signing, pages, audit timeline and evidence.
//!
//! The page holds one copy of the document's state ([`DocumentDetail`]), fetched again every few
//! seconds while something is still to happen (out for signature, or being sealed) and at once
//! after an action here; the status badge, the signing panel, the signed-document panel and the
//! timeline all read that one copy, so they never disagree.
//!
//! Layout: on a wide screen the pages scroll in their own pane on the left while signing,
//! evidence and timeline sit on the right; on a phone one section shows at a time, chosen from a
//! bar of tabs that stays at the top. A page jump reaches any page of a long contract.

use crate::api::documents::{
    CheckResult, Completion, DeleteDocument, DocumentDetail, TimelineEntry, VerifyDocument, get_document,
    rename_document,
};
use crate::components::layout::{Loading, RequireUser};
use crate::error::AppError;
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

/// How often the page fetches the document's state while something is still to happen.
const REFRESH_MS: u64 = 5000;

#[component]
pub fn DocumentPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(move || params.get().get("id").unwrap_or_default(), get_document);
    view! {
        <RequireUser>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => view! { <Detail detail=d /> }.into_any(),
                        Err(AppError::NotFound) => {
                            view! {
                                <Title text="Not found" />
                                <section class="page">
                                    <h1>"Document not found"</h1>
                                    <p>"It does not exist, or it is not shared with you."</p>
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

/// The sections of the page, as the tabs name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Signing,
    Risk,
    Pages,
    Timeline,
    Evidence,
}

impl Section {
    const ALL: [Section; 5] = [Section::Signing, Section::Risk, Section::Pages, Section::Timeline, Section::Evidence];

    fn label(self) -> &'static str {
        match self {
            Section::Signing => "Signing",
            Section::Risk => "Risk",
            Section::Pages => "Document",
            Section::Timeline => "Timeline",
            Section::Evidence => "Evidence",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Section::Signing => "doc-signing",
            Section::Risk => "doc-risk",
            Section::Pages => "doc-pages",
            Section::Timeline => "doc-timeline",
            Section::Evidence => "doc-evidence",
        }
    }
}

/// Whether the document may still change by itself (signers at work, the seal being made).
fn still_moving(d: &DocumentDetail) -> bool {
    d.signing.status == "sent" || (d.signing.status == "completed" && d.completion.sealed_sha256.is_none())
}

#[component]
fn Detail(detail: DocumentDetail) -> impl IntoView {
    let id = StoredValue::new(detail.row.id.clone());
    let state = RwSignal::new(detail);
    let fetch = move || {
        leptos::task::spawn_local(async move {
            if let Ok(d) = get_document(id.get_value()).await {
                state.set(d);
            }
        });
    };
    let changed = Callback::new(move |()| fetch());
    // Live while out for signature or being sealed. The first state came with the page, so
    // hydration sees the markup the server rendered.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if state.with_untracked(still_moving) {
                    fetch();
                }
            },
            std::time::Duration::from_millis(REFRESH_MS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let current = RwSignal::new(Section::Signing);
    // Opened at a flag (`#flag-…`, from the Risk page or a mail): its section is the one shown.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if window().location().hash().is_ok_and(|h| h.starts_with("#flag-")) {
            current.set(Section::Risk);
        }
    });

    let title = Memo::new(move |_| state.with(|d| d.row.title.clone()));
    let status = Memo::new(move |_| state.with(|d| (d.signing.status.clone(), d.signing.status_label.clone())));
    let signing = Signal::derive(move || state.with(|d| d.signing.clone()));
    let completion = Memo::new(move |_| state.with(|d| d.completion.clone()));
    let has_file = Memo::new(move |_| state.with(|d| d.has_file));
    // Once sealed, the pages shown are the sealed PDF's: every signature drawn in, the
    // certificate last.
    let file_url = Memo::new(move |_| {
        state.with(|d| match d.completion.sealed_sha256 {
            Some(_) => format!("/documents/{}/sealed.pdf?download=0", d.row.id),
            None => format!("/documents/{}/file", d.row.id),
        })
    });
    let row = state.with_untracked(|d| d.row.clone());
    let (source, original_name, sha256) =
        state.with_untracked(|d| (d.source.clone(), d.original_name.clone(), d.sha256.clone()));
    let download_url = format!("/documents/{}/file?download=1", row.id);

    view! {
        <Title text=move || title.get() />
        <article class="page document" aria-labelledby="document-title">
            <p class="breadcrumb">
                <A href="/">"Documents"</A>
            </p>
            <div class="page__header document__header">
                <DocumentTitle id=row.id.clone() title=title can_rename=state.with_untracked(|d| d.can_rename) changed=changed />
                <span class=move || format!("badge badge--{}", status.get().0) data-testid="document-status">
                    {move || status.get().1}
                </span>
            </div>
            <p class="document__meta muted">
                <span><span data-testid="document-pages">{row.pages}</span> {if row.pages == 1 { " page" } else { " pages" }}</span>
                " · " <span>{format::size(row.size)}</span>
                " · " <span>"uploaded " <format::Time micros=row.created_at /> " by " {row.owner_name.clone()}</span>
            </p>
            <div class="document__actions">
                {move || has_file.get().then(|| {
                    let sealed = completion.with(|c| c.sealed_sha256.is_some());
                    view! {
                        <a class="button button--quiet" href=download_url.clone() rel="external" download="">
                            {if sealed { "Download original PDF" } else { "Download PDF" }}
                        </a>
                    }
                })}
                {state.with_untracked(|d| d.can_delete).then(|| view! { <DeleteDraft id=row.id.clone() /> })}
            </div>
            <div class="doc-layout">
                <Tabs current=current pages=row.pages />
                <section
                    id=Section::Pages.id()
                    class=move || section_class(current.get(), Section::Pages, "doc-pages")
                    aria-label="Document pages"
                >
                    {move || {
                        if has_file.get() {
                            view! {
                                // The viewer element (pdf.js underneath), loaded only where a document is shown.
                                <crate::components::pdf_pages::PreloadViewer />
                                <script type="module" src="/viewer.js" nonce=leptos::nonce::use_nonce()></script>
                                <div class="doc-pages__bar">
                                    <PageJump pages=row.pages />
                                    <a href=move || file_url.get() rel="external" class="pdf-viewer__open">
                                        "Open the PDF in a new view"
                                    </a>
                                </div>
                                // Empty on purpose: the element fills itself, so hydration never
                                // walks into what it drew.
                                <attesta-pdf src=move || file_url.get() data-testid="pdf-viewer" class="pdf-viewer"></attesta-pdf>
                            }
                                .into_any()
                        } else {
                            match completion.with(|c| c.files_purged_at) {
                                Some(at) => view! {
                                    <p class="muted doc-pages__gone" data-testid="files-purged">
                                        "The files of this document were deleted on " <format::Time micros=at />
                                        " under the retention policy. Its audit trail and evidence stay, with the files' hashes: the copies the parties hold still verify."
                                    </p>
                                }
                                .into_any(),
                                None => view! { <p class="muted doc-pages__gone">"The file of this draft was deleted; its audit trail stays."</p> }.into_any(),
                            }
                        }
                    }}
                </section>
                <div class="doc-side">
                    <div id=Section::Signing.id() class=move || section_class(current.get(), Section::Signing, "")>
                        <crate::pages::signing_status::SigningPanel id=row.id.clone() status=signing changed=changed />
                        <CompletionPanel id=row.id.clone() completion=completion status=Signal::derive(move || status.get().0) />
                    </div>
                    <div id=Section::Risk.id() class=move || section_class(current.get(), Section::Risk, "")>
                        <crate::pages::risk::RiskPanel id=row.id.clone() />
                    </div>
                    <div id=Section::Evidence.id() class=move || section_class(current.get(), Section::Evidence, "")>
                        <section class="panel" aria-labelledby="file-heading">
                            <h2 id="file-heading">"File"</h2>
                            <dl class="facts facts--plain">
                                <div>
                                    <dt>"Source"</dt>
                                    <dd>
                                        {if source == "markdown" { "Markdown, typeset to PDF" } else { "PDF" }}
                                        {original_name.clone().map(|n| format!(" ({n})"))}
                                    </dd>
                                </div>
                                <div class="facts__wide">
                                    <dt>"SHA-256"</dt>
                                    <dd class="hash-row">
                                        <code class="hash" data-testid="document-sha256">
                                            {sha256.clone()}
                                        </code>
                                        <CopyButton text=sha256.clone() />
                                    </dd>
                                </div>
                            </dl>
                        </section>
                        <VerifyPanel id=row.id.clone() />
                        <crate::components::legal_hold::LegalHoldPanel id=row.id.clone() changed=changed />
                    </div>
                    <div id=Section::Timeline.id() class=move || section_class(current.get(), Section::Timeline, "")>
                        <Timeline entries=Signal::derive(move || state.with(|d| d.timeline.clone())) />
                    </div>
                </div>
            </div>
        </article>
    }
}

/// A section's classes: shown on a phone only when it is the current tab (on a wide screen the
/// stylesheet shows them all).
fn section_class(current: Section, this: Section, extra: &str) -> String {
    let mut c = String::from("doc-section");
    if !extra.is_empty() {
        c.push(' ');
        c.push_str(extra);
    }
    if current == this {
        c.push_str(" doc-section--current");
    }
    c
}

/// The section bar: tabs on a phone; on a wide screen, where every section is shown, a way to
/// bring one into view.
#[component]
fn Tabs(current: RwSignal<Section>, pages: u32) -> impl IntoView {
    view! {
        <nav class="doc-tabs" aria-label="Sections of this document">
            {Section::ALL
                .into_iter()
                .map(|s| {
                    let class = if s == Section::Pages { "doc-tabs__tab doc-tabs__tab--pages" } else { "doc-tabs__tab" };
                    view! {
                        <button
                            type="button"
                            class=class
                            aria-controls=s.id()
                            aria-current=move || (current.get() == s).then_some("true")
                            data-testid=format!("tab-{}", s.id().trim_start_matches("doc-"))
                            on:click=move |_| {
                                current.set(s);
                                #[cfg(feature = "hydrate")]
                                client::reveal(s.id());
                            }
                        >
                            {s.label()}
                            {(s == Section::Pages).then(|| view! { <span class="doc-tabs__count">{format!(" ({pages})")}</span> })}
                        </button>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// "Go to page N": scrolls the viewer to that page.
#[component]
fn PageJump(pages: u32) -> impl IntoView {
    let wanted = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let go = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match wanted.get_untracked().trim().parse::<u32>() {
            Ok(n) if (1..=pages).contains(&n) => {
                problem.set(None);
                #[cfg(feature = "hydrate")]
                client::show_page(n);
            }
            _ => problem.set(Some(format!("Choose a page from 1 to {pages}."))),
        }
    };
    view! {
        <form class="page-jump" on:submit=go data-testid="page-jump">
            <label for="page-jump-input">"Go to page"</label>
            <input
                id="page-jump-input"
                type="number"
                inputmode="numeric"
                min="1"
                max=pages
                placeholder=format!("1–{pages}")
                on:input=move |ev| wanted.set(event_target_value(&ev))
                aria-describedby="page-jump-problem"
            />
            <button type="submit" class="button button--quiet button--small">
                "Go"
            </button>
            <span id="page-jump-problem" class="form-error small" role="status">
                {move || problem.get()}
            </span>
        </form>
    }
}

/// The title, and for the owner of a draft a way to rename it.
#[component]
fn DocumentTitle(id: String, title: Memo<String>, can_rename: bool, changed: Callback<()>) -> impl IntoView {
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let id = StoredValue::new(id);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saving.set(true);
        leptos::task::spawn_local(async move {
            match rename_document(id.get_value(), draft.get_untracked()).await {
                Ok(_) => {
                    editing.set(false);
                    error.set(None);
                    changed.run(());
                }
                Err(e) => error.set(Some(upper_first(&e.to_string()))),
            }
            saving.set(false);
        });
    };
    view! {
        <Show
            when=move || editing.get()
            fallback=move || {
                view! {
                    <div class="document__title">
                        <h1 id="document-title" data-testid="document-title">
                            {move || title.get()}
                        </h1>
                        {can_rename
                            .then(|| {
                                view! {
                                    <button
                                        type="button"
                                        class="button button--quiet button--small"
                                        data-testid="rename"
                                        on:click=move |_| {
                                            draft.set(title.get_untracked());
                                            editing.set(true);
                                        }
                                    >
                                        "Rename"
                                    </button>
                                }
                            })}
                    </div>
                }
            }
        >
            <form class="rename" on:submit=save data-testid="rename-form">
                <h1 id="document-title" class="visually-hidden">
                    {move || title.get()}
                </h1>
                <label class="field-label rename__label">
                    "Title"
                    <input
                        type="text"
                        maxlength="200"
                        required=true
                        autofocus=true
                        data-testid="rename-input"
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                        aria-invalid=move || error.get().is_some().then_some("true")
                    />
                </label>
                <button type="submit" class="button button--primary button--small" data-testid="rename-save" disabled=move || saving.get()>
                    "Save"
                </button>
                <button
                    type="button"
                    class="button button--quiet button--small"
                    on:click=move |_| {
                        editing.set(false);
                        error.set(None);
                    }
                >
                    "Cancel"
                </button>
                <p class="form-error rename__error" role="alert">
                    {move || error.get()}
                </p>
            </form>
        </Show>
    }
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The signed and sealed PDF and the evidence package, once every signer signed.
#[component]
fn CompletionPanel(id: String, completion: Memo<Completion>, status: Signal<String>) -> impl IntoView {
    let sealed_url = format!("/documents/{id}/sealed.pdf");
    let evidence_url = format!("/documents/{id}/evidence.json");
    move || {
        if status.get() != "completed" {
            return None;
        }
        let completion = completion.get();
        let purged = completion.files_purged_at.is_some();
        let body = match (&completion.sealed_sha256, completion.sealed_at) {
            (Some(sha), Some(at)) => view! {
                <p>
                    "Signed by everyone and sealed on " <format::Time micros=at />
                    ". The PDF carries every signature, a certificate of completion listing each step, the evidence package, and a PAdES seal: anyone can check it, here or with any PDF validator."
                </p>
                <dl class="facts facts--plain">
                    <div class="facts__wide">
                        <dt>"Sealed PDF SHA-256"</dt>
                        <dd class="hash-row">
                            <code class="hash" data-testid="sealed-sha256">{sha.clone()}</code>
                            <CopyButton text=sha.clone() />
                        </dd>
                    </div>
                </dl>
                {purged.then(|| view! {
                    <p class="muted">"Its files were deleted under the retention policy; the evidence package still proves what was signed, and a copy a party holds still verifies."</p>
                })}
                <div class="document__actions">
                    {(!purged).then(|| view! {
                        <a class="button button--primary" href=sealed_url.clone() rel="external" download="" data-testid="download-sealed">
                            "Download signed PDF"
                        </a>
                    })}
                    <a class="button button--quiet" href=evidence_url.clone() rel="external" download="" data-testid="download-evidence">
                        "Download evidence package"
                    </a>
                    <a class="button button--quiet" href="/verify" rel="external">
                        "Verify a copy"
                    </a>
                </div>
            }
            .into_any(),
            _ => view! {
                <p role="status" data-testid="sealing">
                    "Everyone has signed. The signed PDF, its certificate of completion and its seal are being prepared; this page shows them once ready."
                </p>
                {completion.error.clone().map(|e| view! {
                    <p class="form-error" role="alert">"The last attempt failed and is retried every minute: " {e}</p>
                })}
            }
            .into_any(),
        };
        Some(view! {
            <section class="panel" aria-labelledby="completion-heading" data-testid="completion-panel">
                <div class="panel__header">
                    <h2 id="completion-heading">"Signed document"</h2>
                </div>
                {body}
            </section>
        })
    }
}

#[component]
fn CopyButton(text: String) -> impl IntoView {
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
        <button type="button" class="button button--quiet button--small" on:click=on_click data-testid="copy-hash">
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
        <span class="visually-hidden" role="status">
            {move || if copied.get() { "SHA-256 copied to the clipboard" } else { "" }}
        </span>
    }
}

#[component]
fn DeleteDraft(id: String) -> impl IntoView {
    let delete = ServerAction::<DeleteDocument>::new();
    let confirming = RwSignal::new(false);
    let id = StoredValue::new(id);
    view! {
        <Show
            when=move || confirming.get()
            fallback=move || {
                view! {
                    <button
                        type="button"
                        class="button button--danger-quiet"
                        on:click=move |_| confirming.set(true)
                        data-testid="delete-draft"
                    >
                        "Delete draft"
                    </button>
                }
            }
        >
            <ActionForm action=delete attr:class="confirm">
                <input type="hidden" name="id" value=id.get_value() />
                <span>"Delete this draft? Its file is removed; its audit trail stays."</span>
                <button type="submit" class="button button--danger" data-testid="confirm-delete">
                    "Delete"
                </button>
                <button type="button" class="button button--quiet" on:click=move |_| confirming.set(false)>
                    "Keep"
                </button>
            </ActionForm>
        </Show>
        {move || {
            delete.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
        }}
    }
}

#[component]
fn VerifyPanel(id: String) -> impl IntoView {
    let verify = ServerAction::<VerifyDocument>::new();
    view! {
        <section class="panel" aria-labelledby="verify-heading">
            <div class="panel__header">
                <h2 id="verify-heading">"Evidence"</h2>
                <ActionForm action=verify>
                    <input type="hidden" name="id" value=id />
                    <button
                        type="submit"
                        class="button button--primary"
                        data-testid="verify"
                        disabled=move || verify.pending().get()
                    >
                        {move || if verify.pending().get() { "Verifying…" } else { "Verify" }}
                    </button>
                </ActionForm>
            </div>
            <p class="panel__intro">
                "Verify recomputes every event hash, the chain between them, their inclusion in the signed log, and checks the stored file against the evidence."
            </p>
            <div aria-live="polite">
                {move || {
                    verify
                        .value()
                        .get()
                        .map(|result| match result {
                            Ok(outcome) => {
                                view! {
                                    <p
                                        class=if outcome.valid { "verdict verdict--pass" } else { "verdict verdict--fail" }
                                        data-testid="verify-verdict"
                                    >
                                        {if outcome.valid {
                                            "Valid: every check passed."
                                        } else {
                                            "Not valid: see the failed checks below."
                                        }}
                                        {format!(" Log checkpoint of {} events.", outcome.tree_size)}
                                    </p>
                                    <ul class="checks" data-testid="verify-checks">
                                        {outcome.checks.into_iter().map(|c| view! { <Check check=c /> }).collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        })
                }}
            </div>
        </section>
    }
}

#[component]
pub(crate) fn Check(check: CheckResult) -> impl IntoView {
    let icon = match check.status.as_str() {
        "pass" => "✓",
        "fail" => "✗",
        _ => "–",
    };
    let status_text = match check.status.as_str() {
        "pass" => "passed",
        "fail" => "failed",
        _ => "skipped",
    };
    view! {
        <li class=format!("check check--{}", check.status) data-check=check.name.clone()>
            <span class="check__icon" aria-hidden="true">
                {icon}
            </span>
            <span class="check__text">
                <span class="check__label">{check.label.clone()}</span>
                <span class="visually-hidden">{format!(": {status_text}")}</span>
                {check.detail.clone().map(|d| view! { <span class="check__detail">{d}</span> })}
                {check
                    .failures
                    .iter()
                    .map(|f| view! { <span class="check__failure">{f.clone()}</span> })
                    .collect_view()}
            </span>
        </li>
    }
}

#[component]
fn Timeline(entries: Signal<Vec<TimelineEntry>>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Audit timeline"</h2>
            <ol class="timeline" data-testid="timeline">
                // Newest first; keyed by position in the chain, so a refresh adds only what is new.
                <For each=move || entries.get().into_iter().rev() key=|e| (e.seq, e.event_hash.clone()) let:e>
                    <TimelineItem entry=e />
                </For>
            </ol>
        </section>
    }
}

#[component]
fn TimelineItem(entry: TimelineEntry) -> impl IntoView {
    view! {
        <li class="timeline__item" data-event=entry.event_type.clone()>
            <div class="timeline__head">
                <strong class="timeline__label">{entry.label.clone()}</strong>
                <format::Time micros=entry.time class="timeline__time" />
            </div>
            <dl class="timeline__facts">
                <div class="timeline__wide">
                    <dt>"Actor"</dt>
                    <dd class="timeline__actor">
                        <format::Wrappable text=entry.actor.clone() />
                    </dd>
                </div>
                <div>
                    <dt>"IP address"</dt>
                    <dd>{entry.ip.clone().unwrap_or_else(|| if entry.purged { "purged".into() } else { "unknown".into() })}</dd>
                </div>
                <div>
                    <dt>"Location"</dt>
                    <dd>{entry.location.clone()}</dd>
                </div>
                <div class="timeline__wide">
                    <dt>"User agent"</dt>
                    <dd>{entry.user_agent.clone().unwrap_or_else(|| "unknown".into())}</dd>
                </div>
                <div class="timeline__wide">
                    <dt>"File SHA-256"</dt>
                    <dd>
                        <code class="hash">{entry.file_sha256.clone()}</code>
                    </dd>
                </div>
                <div class="timeline__wide">
                    <dt>"Event hash"</dt>
                    <dd>
                        <code class="hash">{entry.event_hash.clone()}</code>
                        <span class="timeline__index">{format!(" · event {} · log index {}", entry.seq, entry.log_index)}</span>
                    </dd>
                </div>
            </dl>
        </li>
    }
}

/// Scrolls the viewer to page `n` (for the risk panel's "Show page").
#[cfg(feature = "hydrate")]
pub fn show_page(n: u32) {
    client::show_page(n);
}

#[cfg(feature = "hydrate")]
mod client {
    //! Scrolling a section or a page into view, in the browser.

    use leptos::prelude::*;

    /// Brings section `id` into view: on a wide screen all sections show, so the bar scrolls to
    /// it; on a phone it has just become the one shown, so its top comes under the bar.
    pub fn reveal(id: &str) {
        if let Some(el) = document().get_element_by_id(id) {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Start);
            el.scroll_into_view_with_scroll_into_view_options(&options);
        }
    }

    /// Scrolls the viewer to page `n` (its page boxes carry `data-page`).
    pub fn show_page(n: u32) {
        if let Ok(Some(el)) = document().query_selector(&format!("attesta-pdf [data-page=\"{n}\"]")) {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Start);
            el.scroll_into_view_with_scroll_into_view_options(&options);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(status: &str, sealed: bool) -> DocumentDetail {
        DocumentDetail {
            row: crate::api::documents::DocumentRow {
                id: "d1".to_owned(),
                title: "Lease".to_owned(),
                status: status.to_owned(),
                status_label: String::new(),
                pages: 28,
                size: 1,
                created_at: 0,
                owner_name: "Ada".to_owned(),
                scheduled_label: None,
                expires_at: None,
            },
            sha256: String::new(),
            source: "pdf".to_owned(),
            original_name: None,
            has_file: true,
            can_delete: false,
            can_rename: false,
            timeline: Vec::new(),
            signing: crate::api::signing::SigningStatus { status: status.to_owned(), ..Default::default() },
            completion: Completion { sealed_sha256: sealed.then(|| "ab".to_owned()), ..Default::default() },
        }
    }

    #[test]
    fn the_page_follows_a_document_until_it_is_sealed_or_ended() {
        assert!(still_moving(&detail("sent", false)));
        assert!(still_moving(&detail("completed", false)), "sealing runs after the last signature");
        assert!(!still_moving(&detail("completed", true)));
        for ended in ["draft", "voided", "declined", "expired", "deleted"] {
            assert!(!still_moving(&detail(ended, false)), "{ended}");
        }
    }

    #[test]
    fn only_the_current_section_is_marked_current() {
        assert_eq!(section_class(Section::Timeline, Section::Timeline, ""), "doc-section doc-section--current");
        assert_eq!(section_class(Section::Signing, Section::Pages, "doc-pages"), "doc-section doc-pages");
    }
}
