//! `/verify`: anyone checks a sealed PDF, its evidence package, or both, in their own browser.
//!
//! The files are read with the File API and handed to the core verifier compiled into this
//! page (`attesta_core::evidence::sealed`): the seal over the whole file, the evidence inside
//! it, the chain, each event's inclusion in the log, the checkpoint's signature by this
//! instance's published log key, and the file's bytes against the recorded hashes. Nothing is
//! uploaded: the only request this page makes is for itself (the keys come with the page).
//!
//! The verifier (PDF parsing, CMS and X.509, the seal's signature checks) is the largest part of
//! the client and only this page needs it: it is a lazily loaded piece of the WASM (`#[lazy]`,
//! split out by `cargo leptos build --split`), so no other page downloads it. This page fetches it
//! as soon as it runs, not when the first file is given: once the page has loaded, verifying
//! needs no network at all (an auditor may check files offline), and nothing is fetched while
//! files are being checked.
//!
//! The answer reads like a receipt: the verdict (the core's [`Verdict`], the same the CLI
//! prints), then what was signed by whom and when, who sealed it and which log checkpoint
//! covers it ([`Summary`]); on failure, the failed checks first, each in plain words, with the
//! passed ones folded away.

use crate::api::documents::CheckResult;
use crate::api::verify::{TrustAnchors, get_trust_anchors};
use crate::components::layout::Loading;
use crate::format;
use crate::pages::document::Check;
use attesta_core::evidence::Verdict;
use attesta_core::evidence::sealed::Summary;
use leptos::prelude::*;
use leptos_meta::Title;

/// One file the person gave.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Given {
    name: String,
    bytes: std::sync::Arc<Vec<u8>>,
}

/// What the verifier said.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    verdict: Verdict,
    /// What went wrong in plain words, each with the failed checks that say so, in report order.
    failed: Vec<(&'static str, Vec<CheckResult>)>,
    /// Passed and skipped checks.
    others: Vec<CheckResult>,
    summary: Summary,
}

#[component]
pub fn VerifyPage() -> impl IntoView {
    let anchors = Resource::new(|| (), |_| get_trust_anchors());
    view! {
        <Title text="Verify a signed document" />
        <section class="page verify" aria-labelledby="verify-title">
            <h1 id="verify-title">"Verify a signed document"</h1>
            <p class="page__intro">
                "Drop the signed PDF you received, its evidence package (" <code>"attesta-evidence-….json"</code>
                "), or both. Everything is checked here, in your browser: the files never leave your device."
            </p>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match anchors.await {
                        Ok(anchors) => view! { <Verifier anchors=anchors /> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Verifier(anchors: TrustAnchors) -> impl IntoView {
    let pdf: RwSignal<Option<Given>> = RwSignal::new(None);
    let package: RwSignal<Option<Given>> = RwSignal::new(None);
    let outcome: RwSignal<Option<Result<Outcome, String>>> = RwSignal::new(None);
    let problem: RwSignal<Option<String>> = RwSignal::new(None);
    let dragging = RwSignal::new(false);
    let anchors = StoredValue::new(anchors);
    // Load the verifier now (see the module's comment); with nothing given it only loads.
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let _loaded = verify(None, None, anchors.get_value()).await;
        });
    });

    let run = move || async move {
        if pdf.get_untracked().is_none() && package.get_untracked().is_none() {
            outcome.set(None);
            return;
        }
        let result =
            verify(pdf.get_untracked().map(|g| g.bytes), package.get_untracked().map(|g| g.bytes), anchors.get_value())
                .await;
        outcome.set(Some(result));
    };

    #[cfg(feature = "hydrate")]
    let take = move |files: Option<web_sys::FileList>| {
        let Some(files) = files else { return };
        let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        leptos::task::spawn_local(async move {
            problem.set(None);
            for file in files {
                match browser::read(&file).await {
                    Ok(bytes) => {
                        let given = Given { name: file.name(), bytes: std::sync::Arc::new(bytes) };
                        if given.bytes.starts_with(b"%PDF-") {
                            pdf.set(Some(given));
                        } else if given.bytes.first().is_some_and(|b| *b == b'{') {
                            package.set(Some(given));
                        } else {
                            problem
                                .set(Some(format!("{} is neither a PDF nor an evidence package (JSON).", file.name())));
                        }
                    }
                    Err(e) => problem.set(Some(format!("{} could not be read: {e}", file.name()))),
                }
            }
            run().await;
        });
    };
    #[cfg(not(feature = "hydrate"))]
    let take = move |_files: Option<()>| {
        let _ = (&run, problem);
    };

    let on_pick = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast as _;
            let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
            take(input.as_ref().and_then(|i| i.files()));
            if let Some(input) = input {
                input.set_value("");
            }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = ev;
            take(None);
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        #[cfg(feature = "hydrate")]
        take(ev.data_transfer().and_then(|d| d.files()));
        #[cfg(not(feature = "hydrate"))]
        take(None);
    };
    let on_dragover = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(true);
    };
    let clear = move |_| {
        pdf.set(None);
        package.set(None);
        outcome.set(None);
        problem.set(None);
    };

    view! {
        <div
            class=move || if dragging.get() { "dropzone dropzone--active" } else { "dropzone" }
            on:dragover=on_dragover
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
            data-testid="verify-dropzone"
        >
            <p class="dropzone__text">"Drop the signed PDF and/or its evidence package here, or"</p>
            <label class="button button--primary dropzone__pick">
                "Choose files"
                <input
                    type="file"
                    class="visually-hidden"
                    multiple=true
                    accept=".pdf,.json,application/pdf,application/json"
                    on:change=on_pick
                    data-testid="verify-input"
                />
            </label>
            <p class="dropzone__hint">
                "Checked against this service's published log key and seal certificate. No file is sent anywhere."
            </p>
        </div>
        {move || problem.get().map(|p| view! { <p class="form-error" role="alert">{p}</p> })}
        <ul class="verify__files" data-testid="verify-files">
            {move || pdf.get().map(|g| view! { <li>"Signed PDF: " <strong>{g.name.clone()}</strong> {format!(" ({})", format::size(g.bytes.len() as u64))}</li> })}
            {move || package.get().map(|g| view! { <li>"Evidence package: " <strong>{g.name.clone()}</strong> {format!(" ({})", format::size(g.bytes.len() as u64))}</li> })}
        </ul>
        {move || {
            (pdf.get().is_some() || package.get().is_some())
                .then(|| view! { <button type="button" class="button button--quiet" on:click=clear>"Start over"</button> })
        }}
        <div aria-live="polite">
            {move || {
                outcome
                    .get()
                    .map(|result| match result {
                        Ok(o) => view! { <Answer outcome=o /> }.into_any(),
                        Err(e) => view! { <p class="verdict verdict--fail" role="alert" data-testid="verify-verdict">{e}</p> }.into_any(),
                    })
            }}
        </div>
    }
}

/// The verdict, what the files say, and the checks: failures first.
#[component]
fn Answer(outcome: Outcome) -> impl IntoView {
    let Outcome { verdict, failed, others, summary } = outcome;
    let seal_by = summary.seal.as_ref().and_then(|s| s.signer_subject.clone()).map(|s| common_name(&s));
    let (class, headline) = match verdict {
        Verdict::Valid => (
            "verdict verdict--pass",
            match &seal_by {
                Some(by) => format!(
                    "Valid: this is exactly the document that was signed, sealed by {by}, and its evidence is intact."
                ),
                None => "Valid: the evidence is intact and signed by this service's log.".to_owned(),
            },
        ),
        Verdict::Invalid => (
            "verdict verdict--fail",
            format!(
                "Not valid: {} problem{} found. Do not rely on this file.",
                failed.len(),
                if failed.len() == 1 { "" } else { "s" }
            ),
        ),
        Verdict::Unverified => (
            "verdict verdict--warn",
            "Not verified: nothing failed, but a check that decides whether the file is genuine could not run."
                .to_owned(),
        ),
    };
    let passed = others.iter().filter(|c| c.status == "pass").count();
    let facts_title =
        if verdict == Verdict::Valid { "What was signed" } else { "What the files claim (not confirmed)" };
    view! {
        <p class=class data-testid="verify-verdict" data-verdict=format!("{verdict:?}").to_lowercase()>{headline}</p>
        {(!failed.is_empty()).then(|| view! {
            <section class="verify__problems" aria-labelledby="verify-problems" data-testid="verify-problems">
                <h2 id="verify-problems">"What is wrong"</h2>
                <ul class="verify__problem-list">
                    {failed.into_iter().map(|(meaning, checks)| {
                        let names = checks.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join(" ");
                        view! {
                        <li class="verify__problem" data-check=names>
                            <strong>{meaning}</strong>
                            <details class="verify__why">
                                <summary>"Technical details"</summary>
                                <ul class="checks">{checks.into_iter().map(|c| view! { <Check check=c /> }).collect_view()}</ul>
                            </details>
                        </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        })}
        <section class="verify__summary" aria-labelledby="verify-summary" data-testid="verify-summary">
            <h2 id="verify-summary">{facts_title}</h2>
            <Facts summary=summary />
        </section>
        <details class="verify__checks">
            <summary>{format!("{passed} checks passed, {} not applicable", others.len() - passed)}</summary>
            <ul class="checks" data-testid="verify-checks">
                {others.into_iter().map(|c| view! { <Check check=c /> }).collect_view()}
            </ul>
        </details>
    }
}

#[component]
fn Facts(summary: Summary) -> impl IntoView {
    let Summary { document_id, title, events, signers, completed, seal, checkpoint } = summary;
    let document = match (&title, &document_id) {
        (Some(t), Some(id)) => format!("{t} (document {id}, {events} events in its evidence)"),
        (None, Some(id)) => format!("Document {id}, {events} events in its evidence"),
        _ => "No evidence package was found".to_owned(),
    };
    view! {
        <dl class="facts verify__facts-list">
            <dt>"Document"</dt>
            <dd data-testid="verify-document">{document}</dd>
            <dt>"Signed by"</dt>
            <dd>
                {if signers.is_empty() {
                    view! { <span>"No signature is recorded in the evidence."</span> }.into_any()
                } else {
                    view! {
                        <ul class="verify__signers" data-testid="verify-signers">
                            {signers.into_iter().map(|s| {
                                let who = match (s.name, s.email) {
                                    (Some(n), Some(e)) => format!("{n} <{e}>"),
                                    (Some(n), None) => n,
                                    (None, Some(e)) => e,
                                    (None, None) => format!("Recipient {} (personal data deleted)", s.recipient),
                                };
                                view! { <li><strong>{who}</strong>{format!(", {}", format::time(s.signed_at.as_micros()))}</li> }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </dd>
            {completed.map(|at| view! { <dt>"Completed"</dt><dd>{format::time(at.as_micros())}</dd> })}
            {seal.map(|seal| {
                let by = seal.signer_subject.as_deref().map(common_name).unwrap_or_else(|| "No readable seal".to_owned());
                let when = seal.signing_time.map(|t| format!(" on {}", format::time(t.as_micros()))).unwrap_or_default();
                let stamp = match (seal.timestamp, seal.timestamp_authority) {
                    (Some(t), Some(tsa)) => format!("Timestamped {} by {}", format::time(t.as_micros()), common_name(&tsa)),
                    _ => "No timestamp authority: the time is the seal's own statement.".to_owned(),
                };
                view! {
                    <dt>"Sealed by"</dt>
                    <dd data-testid="verify-seal">{format!("{by}{when}")}<br /><span class="check__detail">{stamp}</span></dd>
                }
            })}
            {checkpoint.map(|c| view! {
                <dt>"Recorded in"</dt>
                <dd data-testid="verify-checkpoint">
                    {format!("The public log {}, at entry {} of its history", c.origin, c.tree_size)}
                </dd>
            })}
        </dl>
    }
}

/// `CN=sign.example.com document seal,O=Example` → `sign.example.com document seal (Example)`.
fn common_name(subject: &str) -> String {
    let part = |key: &str| subject.split(',').find_map(|p| p.trim().strip_prefix(key).map(str::to_owned));
    match (part("CN="), part("O=")) {
        (Some(cn), Some(o)) if !cn.contains(&o) => format!("{cn} ({o})"),
        (Some(cn), _) => cn,
        _ => subject.to_owned(),
    }
}

/// Runs the core verifier. `Err` only when nothing could be read. In the browser this and all it
/// calls load on first use (a split point of the WASM).
#[lazy]
fn verify(
    pdf: Option<std::sync::Arc<Vec<u8>>>,
    package: Option<std::sync::Arc<Vec<u8>>>,
    anchors: TrustAnchors,
) -> Result<Outcome, String> {
    use attesta_core::evidence::sealed::{Inputs, verify_document_detailed};
    use attesta_core::evidence::verify::{check_label, failure_meaning};
    use attesta_core::evidence::{Status, VerifierKey};
    use base64::Engine as _;
    let log_key = VerifierKey::parse(&anchors.log_key).ok();
    let seal_anchors: Vec<Vec<u8>> =
        anchors.seal_anchors.iter().filter_map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()).collect();
    let inputs = Inputs {
        pdf: pdf.as_deref().map(Vec::as_slice),
        package: package.as_deref().map(Vec::as_slice),
        log_key: log_key.as_ref(),
        seal_anchors: &seal_anchors,
    };
    let verification = verify_document_detailed(inputs).map_err(|e| format!("Nothing could be verified: {e}."))?;
    let mut failed: Vec<(&'static str, Vec<CheckResult>)> = Vec::new();
    let mut others = Vec::new();
    for c in &verification.report.checks {
        let result = CheckResult {
            name: c.name.to_owned(),
            label: check_label(c.name).map(str::to_owned).unwrap_or_else(|| c.name.replace('_', " ")),
            status: match c.status {
                Status::Pass => "pass",
                Status::Fail => "fail",
                Status::Skip => "skip",
            }
            .to_owned(),
            detail: c.detail.clone(),
            failures: c.failures.clone(),
        };
        if c.status == Status::Fail {
            let meaning = failure_meaning(c.name);
            match failed.iter_mut().find(|(m, _)| *m == meaning) {
                Some((_, checks)) => checks.push(result),
                None => failed.push((meaning, vec![result])),
            }
        } else {
            others.push(result);
        }
    }
    Ok(Outcome { verdict: verification.report.verdict(), failed, others, summary: verification.summary })
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsValue;
    use wasm_bindgen_futures::JsFuture;

    /// The whole file, read in the browser.
    pub async fn read(file: &web_sys::File) -> Result<Vec<u8>, String> {
        let buffer = JsFuture::from(file.array_buffer()).await.map_err(|e: JsValue| format!("{e:?}"))?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }
}
