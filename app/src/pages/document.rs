//! One document: its facts, its pages, its audit timeline, and a button that runs the evidence
//! verifier and shows each check.

use crate::api::documents::{
    CheckResult, Completion, DeleteDocument, DocumentDetail, TimelineEntry, VerifyDocument, get_document,
};
use crate::components::layout::{Loading, RequireUser};
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

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
                        Err(crate::error::AppError::NotFound) => {
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

#[component]
fn Detail(detail: DocumentDetail) -> impl IntoView {
    let row = detail.row.clone();
    // Once sealed, the pages shown are the sealed PDF's: every signature drawn in, the certificate last.
    let file_url = match detail.completion.sealed_sha256 {
        Some(_) => format!("/documents/{}/sealed.pdf?download=0", row.id),
        None => format!("/documents/{}/file", row.id),
    };
    let download_url = format!("/documents/{}/file?download=1", row.id);
    view! {
        <Title text=row.title.clone() />
        <article class="page document" aria-labelledby="document-title">
            <p class="breadcrumb">
                <A href="/">"Documents"</A>
            </p>
            <div class="page__header">
                <h1 id="document-title" data-testid="document-title">
                    {row.title.clone()}
                </h1>
                <span class=format!("badge badge--{}", row.status) data-testid="document-status">
                    {row.status_label.clone()}
                </span>
            </div>
            <dl class="facts">
                <div>
                    <dt>"Pages"</dt>
                    <dd data-testid="document-pages">{row.pages}</dd>
                </div>
                <div>
                    <dt>"Size"</dt>
                    <dd>{format::size(row.size)}</dd>
                </div>
                <div>
                    <dt>"Uploaded"</dt>
                    <dd>{format!("{} by {}", format::time(row.created_at), row.owner_name)}</dd>
                </div>
                <div>
                    <dt>"Source"</dt>
                    <dd>
                        {if detail.source == "markdown" { "Markdown, typeset to PDF" } else { "PDF" }}
                        {detail.original_name.clone().map(|n| format!(" ({n})"))}
                    </dd>
                </div>
                <div class="facts__wide">
                    <dt>"SHA-256"</dt>
                    <dd class="hash-row">
                        <code class="hash" data-testid="document-sha256">
                            {detail.sha256.clone()}
                        </code>
                        <CopyButton text=detail.sha256.clone() />
                    </dd>
                </div>
            </dl>
            <div class="document__actions">
                {detail
                    .has_file
                    .then(|| {
                        view! {
                            <a class="button button--quiet" href=download_url.clone() rel="external" download="">
                                {if detail.completion.sealed_sha256.is_some() { "Download original PDF" } else { "Download PDF" }}
                            </a>
                        }
                    })}
                {detail.can_delete.then(|| view! { <DeleteDraft id=row.id.clone() /> })}
            </div>
            <crate::pages::signing_status::SigningPanel id=row.id.clone() initial=detail.signing.clone() />
            <CompletionPanel id=row.id.clone() completion=detail.completion.clone() status=row.status.clone() />
            <VerifyPanel id=row.id.clone() />
            {detail
                .has_file
                .then(|| {
                    view! {
                        // The viewer element (pdf.js underneath), loaded only where a document is shown.
                        <script type="module" src="/viewer.js" nonce=leptos::nonce::use_nonce()></script>
                        <section class="panel" aria-labelledby="pages-heading">
                            <div class="panel__header">
                                <h2 id="pages-heading">"Pages"</h2>
                                <a href=file_url.clone() rel="external" class="pdf-viewer__open">
                                    "Open the PDF in a new view"
                                </a>
                            </div>
                            // Empty on purpose: the element fills itself, so hydration never
                            // walks into what it drew.
                            <attesta-pdf src=file_url.clone() data-testid="pdf-viewer" class="pdf-viewer"></attesta-pdf>
                        </section>
                    }
                })}
            <Timeline entries=detail.timeline.clone() />
        </article>
    }
}

/// The signed and sealed PDF and the evidence package, once every signer signed.
#[component]
fn CompletionPanel(id: String, completion: Completion, status: String) -> impl IntoView {
    if status != "completed" {
        return None;
    }
    let sealed_url = format!("/documents/{id}/sealed.pdf");
    let evidence_url = format!("/documents/{id}/evidence.json");
    let body = match (&completion.sealed_sha256, completion.sealed_at) {
        (Some(sha), Some(at)) => view! {
            <p>
                "Signed by everyone and sealed on " {format::time(at)}
                ". The PDF carries every signature, a certificate of completion listing each step, the evidence package, and a PAdES seal: anyone can check it, here or with any PDF validator."
            </p>
            <dl class="facts">
                <div class="facts__wide">
                    <dt>"Sealed PDF SHA-256"</dt>
                    <dd class="hash-row">
                        <code class="hash" data-testid="sealed-sha256">{sha.clone()}</code>
                        <CopyButton text=sha.clone() />
                    </dd>
                </div>
            </dl>
            <div class="document__actions">
                <a class="button button--primary" href=sealed_url rel="external" download="" data-testid="download-sealed">
                    "Download signed PDF"
                </a>
                <a class="button button--quiet" href=evidence_url rel="external" download="" data-testid="download-evidence">
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
fn Timeline(entries: Vec<TimelineEntry>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Audit timeline"</h2>
            <ol class="timeline" data-testid="timeline">
                {entries.into_iter().rev().map(|e| view! { <TimelineItem entry=e /> }).collect_view()}
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
                <time class="timeline__time">{format::time(entry.time)}</time>
            </div>
            <dl class="timeline__facts">
                <div>
                    <dt>"Actor"</dt>
                    <dd>{entry.actor.clone()}</dd>
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
