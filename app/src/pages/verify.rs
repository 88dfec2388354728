//! `/verify`: anyone checks a sealed PDF, its evidence package, or both, in their own browser.
//!
//! The files are read with the File API and handed to the core verifier compiled into this
//! page (`attesta_core::evidence::sealed`): the seal over the whole file, the evidence inside
//! it, the chain, each event's inclusion in the log, the checkpoint's signature by this
//! instance's published log key, and the file's bytes against the recorded hashes. Nothing is
//! uploaded: the only request this page makes is for itself (the keys come with the page).

use crate::api::documents::CheckResult;
use crate::api::verify::{TrustAnchors, get_trust_anchors};
use crate::components::layout::Loading;
use crate::format;
use crate::pages::document::Check;
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
    valid: bool,
    checks: Vec<CheckResult>,
    document_id: Option<String>,
    events: usize,
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

    let run = move || {
        if pdf.get_untracked().is_none() && package.get_untracked().is_none() {
            outcome.set(None);
            return;
        }
        let result = verify(
            pdf.get_untracked().as_ref().map(|g| g.bytes.as_slice()),
            package.get_untracked().as_ref().map(|g| g.bytes.as_slice()),
            &anchors.get_value(),
        );
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
            run();
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
                        Ok(o) => {
                            let failed = o.checks.iter().filter(|c| c.status == "fail").count();
                            view! {
                                <p class=if o.valid { "verdict verdict--pass" } else { "verdict verdict--fail" } data-testid="verify-verdict">
                                    {if o.valid {
                                        "Valid: the document is exactly what was signed, and its evidence is intact.".to_owned()
                                    } else {
                                        format!("Not valid: {failed} check{} failed. See why below.", if failed == 1 { "" } else { "s" })
                                    }}
                                </p>
                                {o.document_id.clone().map(|id| view! {
                                    <p class="verify__facts">"Document " <code>{id}</code> {format!(", {} events in its evidence.", o.events)}</p>
                                })}
                                <ul class="checks" data-testid="verify-checks">
                                    {o.checks.into_iter().map(|c| view! { <Check check=c /> }).collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="verdict verdict--fail" role="alert" data-testid="verify-verdict">{e}</p> }.into_any(),
                    })
            }}
        </div>
    }
}

/// Runs the core verifier. `Err` only when nothing could be read.
fn verify(pdf: Option<&[u8]>, package: Option<&[u8]>, anchors: &TrustAnchors) -> Result<Outcome, String> {
    use attesta_core::evidence::sealed::{Inputs, embedded_package, verify_document};
    use attesta_core::evidence::{EvidencePackage, Status, VerifierKey, verify::check_label};
    use base64::Engine as _;
    let log_key = VerifierKey::parse(&anchors.log_key).ok();
    let seal_anchors: Vec<Vec<u8>> =
        anchors.seal_anchors.iter().filter_map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()).collect();
    let inputs = Inputs { pdf, package, log_key: log_key.as_ref(), seal_anchors: &seal_anchors };
    let report = verify_document(inputs).map_err(|e| format!("Nothing could be verified: {e}."))?;
    let read = package.and_then(|p| EvidencePackage::from_json(p).ok()).or_else(|| {
        pdf.and_then(|p| embedded_package(p).ok().flatten()).and_then(|j| EvidencePackage::from_json(&j).ok())
    });
    let checks = report
        .checks
        .iter()
        .map(|c| CheckResult {
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
        })
        .collect();
    Ok(Outcome {
        valid: report.is_valid(),
        checks,
        document_id: read.as_ref().map(|p| p.document.id.to_string()),
        events: read.map(|p| p.events.len()).unwrap_or(0),
    })
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
