//! Home: the documents the signed-in user may see, searchable, filterable by status, sortable and
//! paginated. The filters are a plain GET form, so every list is a shareable URL and works
//! before (or without) the WASM client.

use crate::api::documents::{DocumentPage, DocumentRow, list_documents};
use crate::components::layout::{Loading, RequireUser};
use crate::format;
use attesta_core::documents::{DocumentStatus, ListQuery, Sort};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Documents" />
        <RequireUser>
            <DocumentsList />
        </RequireUser>
    }
}

#[component]
fn DocumentsList() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(
        move || {
            let q = query.get();
            (q.get("q"), q.get("status"), q.get("sort"), q.get("page"))
        },
        |(search, status, sort, page)| list_documents(search, status, sort, page),
    );
    view! {
        <section class="page" aria-labelledby="documents-heading">
            <div class="page__header">
                <h1 id="documents-heading">"Documents"</h1>
                <A href="/documents/upload" attr:class="button button--primary" attr:data-testid="upload-link">
                    "Upload"
                </A>
            </div>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <Listing page /> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Listing(page: DocumentPage) -> impl IntoView {
    if !page.any_documents {
        return view! { <EmptyState /> }.into_any();
    }
    let q = page.query.clone();
    let summary = match page.total {
        0 => "No documents match these filters.".to_owned(),
        1 => "1 document".to_owned(),
        n => format!("{n} documents"),
    };
    view! {
        <Filters query=q.clone() />
        <p class="list-summary" role="status" data-testid="documents-count">
            {summary}
        </p>
        {(!page.rows.is_empty()).then(|| view! { <DocumentTable rows=page.rows.clone() /> })}
        <Pagination query=q page_count=page.page_count />
    }
    .into_any()
}

#[component]
fn Filters(query: ListQuery) -> impl IntoView {
    let search = query.search.clone().unwrap_or_default();
    let status = query.status_param();
    let sort = query.sort;
    view! {
        <Form method="GET" action="/" attr:class="filters" attr:role="search" attr:aria-label="Filter documents">
            <div class="filters__field filters__field--grow">
                <label for="filter-q">"Search titles"</label>
                <input id="filter-q" name="q" type="search" value=search placeholder="e.g. services agreement" />
            </div>
            <div class="filters__field">
                <label for="filter-status">"Status"</label>
                <select id="filter-status" name="status">
                    <option value="" selected=status.is_empty()>
                        "Any"
                    </option>
                    {DocumentStatus::ALL
                        .into_iter()
                        .map(|s| {
                            view! {
                                <option value=s.as_str() selected=status == s.as_str()>
                                    {s.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                    {attesta_core::documents::Worklist::ALL
                        .into_iter()
                        .map(|w| {
                            view! {
                                <option value=w.as_str() selected=query.worklist == Some(w)>
                                    {w.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="filters__field">
                <label for="filter-sort">"Sort"</label>
                <select id="filter-sort" name="sort">
                    {Sort::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str() selected=s == sort>{s.label()}</option> })
                        .collect_view()}
                </select>
            </div>
            <button type="submit" class="button button--quiet filters__apply">
                "Apply"
            </button>
        </Form>
    }
}

#[component]
fn DocumentTable(rows: Vec<DocumentRow>) -> impl IntoView {
    view! {
        <ul class="doc-list" data-testid="documents-list">
            {rows
                .into_iter()
                .map(|row| {
                    let href = format!("/documents/{}", row.id);
                    view! {
                        <li class="doc-list__item">
                            <div class="doc-list__main">
                                <A href=href attr:class="doc-list__title">
                                    {row.title.clone()}
                                </A>
                                <span class=format!("badge badge--{}", row.status)>{row.status_label.clone()}</span>
                            </div>
                            <div class="doc-list__meta">
                                <span>{format::pages(row.pages)}</span>
                                <span>{format::size(row.size)}</span>
                                <span>"Uploaded " <format::Time micros=row.created_at date_only=true /></span>
                                <span>{format!("by {}", row.owner_name)}</span>
                                {row.scheduled_label.clone().map(|l| view! { <span class="doc-list__when" data-testid="row-scheduled">{format!("Sends {l}")}</span> })}
                                {row.expires_at.map(|at| view! { <span class="doc-list__when">"Expires " <format::Time micros=at /></span> })}
                            </div>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn Pagination(query: ListQuery, page_count: u32) -> impl IntoView {
    if page_count <= 1 {
        return ().into_any();
    }
    let status = query.status_param();
    let link = move |page: u32| {
        let mut params = Vec::new();
        if let Some(s) = &query.search {
            params.push(format!("q={}", format::percent_encode(s)));
        }
        if !status.is_empty() {
            params.push(format!("status={status}"));
        }
        if query.sort != Sort::default() {
            params.push(format!("sort={}", query.sort.as_str()));
        }
        params.push(format!("page={page}"));
        format!("/?{}", params.join("&"))
    };
    let current = query.page;
    view! {
        <nav class="pagination" aria-label="Pages">
            {(current > 1)
                .then(|| {
                    view! {
                        <A href=link(current - 1) attr:rel="prev" attr:class="button button--quiet">
                            "Previous"
                        </A>
                    }
                })}
            <span class="pagination__where" aria-current="page">
                {format!("Page {current} of {page_count}")}
            </span>
            {(current < page_count)
                .then(|| {
                    view! {
                        <A href=link(current + 1) attr:rel="next" attr:class="button button--quiet">
                            "Next"
                        </A>
                    }
                })}
        </nav>
    }
    .into_any()
}

#[component]
fn EmptyState() -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="documents-empty">
            <svg class="empty-state__icon" viewBox="0 0 48 48" aria-hidden="true">
                <path d="M12 4h16l10 10v30H12z" fill="none" stroke="currentColor" stroke-width="2" />
                <path d="M28 4v10h10M18 26h14M18 32h14M18 38h8" fill="none" stroke="currentColor" stroke-width="2" />
            </svg>
            <h2>"No documents yet"</h2>
            <p>
                "Upload a PDF (or a Markdown file, which becomes a typeset PDF). Every document gets an audit trail from the moment it arrives."
            </p>
            <A href="/documents/upload" attr:class="button button--primary">
                "Upload your first document"
            </A>
        </div>
    }
}
