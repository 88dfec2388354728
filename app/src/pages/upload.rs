//! Uploading documents: drop or pick several files; each is hashed (SHA-256) in the browser
//! first, then sent with that hash, which the server recomputes and compares. Each file shows
//! its own progress and result.
//!
//! Files go one after another: hashing reads a file in 4 MiB slices, so memory stays flat
//! whatever its size, and one upload at a time gets the whole link.

use crate::api::documents::upload_limit;
use crate::components::layout::RequireUser;
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Where a file is in its upload. (Only the browser moves a file along; the server renders the
/// empty list.)
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Phase {
    Waiting,
    Hashing,
    Uploading,
    /// Sent; the server is checking and storing it.
    Processing,
    Done {
        url: String,
        pages: u32,
    },
    Failed(String),
}

#[derive(Clone)]
struct Item {
    key: usize,
    name: String,
    size: u64,
    phase: RwSignal<Phase>,
    /// 0.0 to 1.0 within the current phase.
    progress: RwSignal<f64>,
    sha256: RwSignal<Option<String>>,
}

#[component]
pub fn UploadPage() -> impl IntoView {
    view! {
        <Title text="Upload" />
        <RequireUser>
            <Uploader />
        </RequireUser>
    }
}

#[component]
fn Uploader() -> impl IntoView {
    let limit = Resource::new(|| (), |_| upload_limit());
    let items = RwSignal::new(Vec::<Item>::new());
    let dragging = RwSignal::new(false);
    // Effects run in the browser only, once hydrated.
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    #[cfg(feature = "hydrate")]
    let queue = client::Queue::new(items);

    #[cfg(feature = "hydrate")]
    let add_files = move |files: Option<web_sys::FileList>| {
        let max = limit.get_untracked().and_then(Result::ok).unwrap_or(u64::MAX);
        if let Some(files) = files {
            queue.add(files, max);
        }
    };
    // The picker and the drop zone hand their files to the same queue.
    #[cfg(feature = "hydrate")]
    let add_dropped = add_files.clone();

    let on_change = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast as _;
            if let Some(input) = _ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                add_files(input.files());
                input.set_value("");
            }
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        #[cfg(feature = "hydrate")]
        add_dropped(ev.data_transfer().and_then(|d| d.files()));
    };
    let on_dragover = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(true);
    };

    view! {
        <section class="page" aria-labelledby="upload-heading">
            <p class="breadcrumb">
                <A href="/">"Documents"</A>
            </p>
            <h1 id="upload-heading">"Upload documents"</h1>
            <div
                class=move || if dragging.get() { "dropzone dropzone--active" } else { "dropzone" }
                on:dragover=on_dragover
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
                data-testid="dropzone"
            >
                <svg class="dropzone__icon" viewBox="0 0 48 48" aria-hidden="true">
                    <path d="M24 32V10M15 19l9-9 9 9M8 30v10h32V30" fill="none" stroke="currentColor" stroke-width="2.5" />
                </svg>
                <p class="dropzone__text">"Drop PDFs or Markdown files here, or"</p>
                <label class="button button--primary dropzone__pick">
                    "Choose files"
                    <input
                        type="file"
                        class="visually-hidden"
                        // Until the client runs, a chosen file would go nowhere: no picking yet.
                        disabled=move || !ready.get()
                        multiple=true
                        accept=".pdf,application/pdf,.md,.markdown,text/markdown"
                        on:change=on_change
                        data-testid="file-input"
                    />
                </label>
                <p class="dropzone__hint">
                    // In its own Suspense, so the server waits for the limit and the client hydrates
                    // the very text it rendered (a bare read can render before it arrives).
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            limit
                                .await
                                .ok()
                                .map(|max| {
                                    format!(
                                        "Up to {} each. Your browser computes each file's SHA-256 before sending; the server checks it matches.",
                                        format::size(max),
                                    )
                                })
                        })}
                    </Suspense>
                </p>
                // Not a <noscript>: with scripting on, a browser parses its content as text, and
                // hydration, expecting the paragraph inside, crashed the page (every direct load).
                // The stylesheet hides this once the client runs (`body[data-hydrated]`).
                <p class="form-error needs-client">"Uploading needs JavaScript: the file's hash is computed in your browser."</p>
            </div>
            <ul class="uploads" aria-label="Uploads" data-testid="uploads">
                <For each=move || items.get() key=|item| item.key let:item>
                    <UploadRow item />
                </For>
            </ul>
        </section>
    }
}

#[component]
fn UploadRow(item: Item) -> impl IntoView {
    let phase = item.phase;
    let progress = item.progress;
    let sha = item.sha256;
    let label = move || match phase.get() {
        Phase::Waiting => "Waiting".to_owned(),
        Phase::Hashing => format!("Computing SHA-256… {:.0}%", progress.get() * 100.0),
        Phase::Uploading => format!("Uploading… {:.0}%", progress.get() * 100.0),
        Phase::Processing => "Checking and encrypting…".to_owned(),
        Phase::Done { pages, .. } => format!("Uploaded · {}", format::pages(pages)),
        Phase::Failed(why) => why,
    };
    let state = move || match phase.get() {
        Phase::Done { .. } => "done",
        Phase::Failed(_) => "failed",
        Phase::Waiting => "waiting",
        _ => "busy",
    };
    let bar = move || match phase.get() {
        Phase::Hashing | Phase::Uploading => progress.get(),
        Phase::Processing | Phase::Done { .. } => 1.0,
        _ => 0.0,
    };
    view! {
        <li class="upload" data-state=state data-testid="upload-item">
            <div class="upload__head">
                <span class="upload__name">{item.name.clone()}</span>
                <span class="upload__size">{format::size(item.size)}</span>
            </div>
            <progress class="upload__bar" max="1" value=move || bar().to_string() aria-label=format!("Progress of {}", item.name) />
            <p class="upload__status" role="status">
                {label}
            </p>
            {move || {
                sha.get()
                    .map(|h| {
                        view! {
                            <p class="upload__hash">
                                "SHA-256 "
                                <code class="hash" data-testid="upload-sha256">
                                    {h}
                                </code>
                            </p>
                        }
                    })
            }}
            {move || match phase.get() {
                Phase::Done { url, .. } => {
                    Some(view! { <A href=url attr:class="upload__open" attr:data-testid="upload-open">"Open"</A> }.into_any())
                }
                _ => None,
            }}
        </li>
    }
}

#[cfg(feature = "hydrate")]
mod client {
    //! The browser side: hashing with the core's SHA-256 and sending with XMLHttpRequest, the one
    //! browser API that reports upload progress.

    use super::{Item, Phase};
    use attesta_core::evidence::FileHasher;
    use leptos::prelude::*;
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::rc::Rc;
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{File, FileList, FormData, ProgressEvent, XmlHttpRequest};

    const SLICE: f64 = 4.0 * 1024.0 * 1024.0;

    /// Files waiting their turn; one is worked on at a time.
    #[derive(Clone)]
    pub struct Queue {
        items: RwSignal<Vec<Item>>,
        waiting: Rc<RefCell<VecDeque<(Item, File)>>>,
        running: Rc<Cell<bool>>,
        next_key: Rc<Cell<usize>>,
    }

    impl Queue {
        pub fn new(items: RwSignal<Vec<Item>>) -> Self {
            Self { items, waiting: Rc::default(), running: Rc::new(Cell::new(false)), next_key: Rc::new(Cell::new(0)) }
        }

        pub fn add(&self, files: FileList, max_bytes: u64) {
            for i in 0..files.length() {
                let Some(file) = files.item(i) else { continue };
                let key = self.next_key.get();
                self.next_key.set(key + 1);
                let size = file.size() as u64;
                let item = Item {
                    key,
                    name: file.name(),
                    size,
                    phase: RwSignal::new(Phase::Waiting),
                    progress: RwSignal::new(0.0),
                    sha256: RwSignal::new(None),
                };
                self.items.update(|items| items.push(item.clone()));
                if size > max_bytes {
                    // Refused before sending a byte; the server would answer 413 anyway.
                    item.phase.set(Phase::Failed(format!(
                        "Too large: this file is {}, the limit is {}.",
                        crate::format::size(size),
                        crate::format::size(max_bytes)
                    )));
                    continue;
                }
                self.waiting.borrow_mut().push_back((item, file));
            }
            self.run();
        }

        fn run(&self) {
            if self.running.replace(true) {
                return;
            }
            let queue = self.clone();
            leptos::task::spawn_local(async move {
                loop {
                    let next = queue.waiting.borrow_mut().pop_front();
                    let Some((item, file)) = next else { break };
                    let phase = item.phase;
                    if let Err(why) = process(&item, &file).await {
                        phase.set(Phase::Failed(why));
                    }
                }
                queue.running.set(false);
            });
        }
    }

    async fn process(item: &Item, file: &File) -> Result<(), String> {
        item.phase.set(Phase::Hashing);
        item.progress.set(0.0);
        let sha = sha256(file, item.progress).await?;
        item.sha256.set(Some(sha.clone()));
        item.phase.set(Phase::Uploading);
        item.progress.set(0.0);
        let (status, body) = send(file, &sha, item.progress, item.phase).await?;
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if status == 201 {
            let url = json["url"].as_str().unwrap_or("/").to_owned();
            let pages = json["pages"].as_u64().and_then(|p| u32::try_from(p).ok()).unwrap_or(0);
            item.phase.set(Phase::Done { url, pages });
            Ok(())
        } else {
            Err(match json["message"].as_str() {
                Some(m) => upper_first(m),
                None => format!("The server answered {status}."),
            })
        }
    }

    fn upper_first(text: &str) -> String {
        let mut chars = text.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
    }

    fn js_error(e: JsValue) -> String {
        e.as_string().unwrap_or_else(|| format!("{e:?}"))
    }

    /// The file's SHA-256, read in slices.
    async fn sha256(file: &File, progress: RwSignal<f64>) -> Result<String, String> {
        let size = file.size();
        let mut hasher = FileHasher::new();
        let mut offset = 0.0;
        while offset < size {
            let end = (offset + SLICE).min(size);
            let slice = file.slice_with_f64_and_f64(offset, end).map_err(js_error)?;
            let buffer =
                JsFuture::from(slice.array_buffer()).await.map_err(|e| format!("reading the file: {}", js_error(e)))?;
            hasher.update(&js_sys::Uint8Array::new(&buffer).to_vec());
            offset = end;
            progress.set(offset / size);
        }
        Ok(hasher.finish().to_hex())
    }

    /// Sends the file with its hash; the HTTP status and body of the answer.
    async fn send(
        file: &File,
        sha: &str,
        progress: RwSignal<f64>,
        phase: RwSignal<Phase>,
    ) -> Result<(u16, String), String> {
        let form = FormData::new().map_err(js_error)?;
        form.append_with_str("sha256", sha).map_err(js_error)?;
        form.append_with_blob_and_filename("file", file, &file.name()).map_err(js_error)?;
        let xhr = XmlHttpRequest::new().map_err(js_error)?;
        xhr.open("POST", "/api/documents").map_err(js_error)?;
        let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                let done = e.loaded() / e.total();
                progress.set(done);
                if done >= 1.0 {
                    phase.set(Phase::Processing);
                }
            }
        });
        xhr.upload().map_err(js_error)?.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        let settled = js_sys::Promise::new(&mut |resolve, reject| {
            xhr.set_onload(Some(&resolve));
            xhr.set_onerror(Some(&reject));
            xhr.set_onabort(Some(&reject));
        });
        xhr.send_with_opt_form_data(Some(&form)).map_err(js_error)?;
        let outcome = JsFuture::from(settled).await;
        drop(on_progress);
        outcome.map_err(|_| "The connection failed before the server answered. Try again.".to_owned())?;
        let status = xhr.status().map_err(js_error)?;
        let body = xhr.response_text().map_err(js_error)?.unwrap_or_default();
        Ok((status, body))
    }
}
