//! Clause risk in the browser: the Risk page (owners and admins: open flags across documents,
//! filtered by severity, category, status and owner, counted by severity, each linking to its
//! document at the flag) and the document page's risk panel (the document's flags and missing
//! clauses, for the sender too, with the review actions for owners and admins).

use crate::api::risk::{DocumentRiskDto, FlagDto, RiskOverview, load_document_risk, load_risk, review_flag};
use crate::components::layout::{Loading, RequireUser};
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn RiskPage() -> impl IntoView {
    view! {
        <Title text="Risk" />
        <RequireUser>
            <section class="page risk-page" aria-labelledby="risk-heading">
                <div class="page__header">
                    <h1 id="risk-heading">"Risk review"</h1>
                </div>
                <p class="muted">
                    "Clauses flagged for a second look in every document. Open one to read it in its document and acknowledge, dismiss or escalate it; each review is recorded in the document's evidence."
                </p>
                <RiskList />
            </section>
        </RequireUser>
    }
}

/// The page's filter: (severity, category, status, owner), empty for any.
type Filter = (String, String, String, String);

#[component]
fn RiskList() -> impl IntoView {
    let severity = RwSignal::new(String::new());
    let category = RwSignal::new(String::new());
    let status = RwSignal::new("open".to_owned());
    let owner = RwSignal::new(String::new());
    let filter = move || -> Filter { (severity.get(), category.get(), status.get(), owner.get()) };
    let overview = Resource::new(filter, |(s, c, st, o)| load_risk(s, c, st, o));
    // Every owner seen so far, for the owner filter (the list shrinks once one is chosen).
    let owners = RwSignal::new(Vec::<(i64, String)>::new());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => {
                        owners.update(|known| {
                            for f in &o.flags {
                                if !known.iter().any(|(id, _)| *id == f.owner_id) {
                                    known.push((f.owner_id, f.owner_name.clone()));
                                }
                            }
                        });
                        view! { <Overview overview=o severity=severity category=category status=status owner=owner owners=owners /> }
                            .into_any()
                    }
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Overview(
    overview: RiskOverview,
    severity: RwSignal<String>,
    category: RwSignal<String>,
    status: RwSignal<String>,
    owner: RwSignal<String>,
    owners: RwSignal<Vec<(i64, String)>>,
) -> impl IntoView {
    let RiskOverview { flags, counts, categories } = overview;
    let select = |label: &'static str, id: &'static str, value: RwSignal<String>, options: Vec<(String, String)>| {
        view! {
            <label class="risk-filter">
                <span>{label}</span>
                <select
                    data-testid=id
                    on:change=move |ev| value.set(event_target_value(&ev))
                    prop:value=move || value.get()
                >
                    {options
                        .into_iter()
                        .map(|(v, text)| {
                            let selected = value.get_untracked() == v;
                            view! { <option value=v selected=selected>{text}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
        }
    };
    let any = || (String::new(), "Any".to_owned());
    let severities = std::iter::once(any())
        .chain(["critical", "high", "medium", "low"].map(|s| (s.to_owned(), capitalise(s))))
        .collect();
    let statuses = std::iter::once((String::new(), "Any".to_owned()))
        .chain(["open", "acknowledged", "escalated", "dismissed", "resolved"].map(|s| (s.to_owned(), capitalise(s))))
        .collect();
    let categories = std::iter::once(any()).chain(categories.into_iter().map(|c| (c.clone(), c))).collect();
    let owner_options = std::iter::once(any())
        .chain(owners.get_untracked().into_iter().map(|(id, name)| (id.to_string(), name)))
        .collect();
    view! {
        <ul class="risk-counts" data-testid="risk-counts" aria-label="Open flags by severity">
            {counts
                .into_iter()
                .map(|c| {
                    let s = c.severity.clone();
                    let class = format!("risk-count risk-count--{s}");
                    let testid = format!("count-{s}");
                    view! {
                        <li class=class>
                            <button
                                type="button"
                                class="risk-count__button"
                                data-testid=testid
                                on:click=move |_| {
                                    severity.set(s.clone());
                                    status.set("open".to_owned());
                                }
                            >
                                <span class="risk-count__n">{c.count}</span>
                                <span class="risk-count__label">{capitalise(&c.severity)}</span>
                            </button>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <div class="risk-filters" role="group" aria-label="Filter flags">
            {select("Severity", "filter-severity", severity, severities)}
            {select("Category", "filter-category", category, categories)}
            {select("Status", "filter-status", status, statuses)}
            {select("Owner", "filter-owner", owner, owner_options)}
        </div>
        {if flags.is_empty() {
            view! { <p class="muted" data-testid="risk-empty">"No flags match."</p> }.into_any()
        } else {
            view! {
                <ul class="risk-list" data-testid="risk-list">
                    {flags.into_iter().map(|f| view! { <RiskRow flag=f /> }).collect_view()}
                </ul>
            }
                .into_any()
        }}
    }
}

#[component]
fn RiskRow(flag: FlagDto) -> impl IntoView {
    let href = format!("/documents/{}#flag-{}", flag.document_id, flag.id);
    view! {
        <li class="risk-list__item" data-testid="risk-row" data-flag=flag.id.clone()>
            <div class="risk-list__head">
                <SeverityBadge severity=flag.severity.clone() />
                <a class="risk-list__category" href=href rel="external" data-testid="risk-open">
                    {flag.category.clone()}
                </a>
                <span class=format!("badge risk-status risk-status--{}", flag.status)>{capitalise(&flag.status)}</span>
            </div>
            <p class="risk-list__clause">{excerpt(&flag.clause, 220)}</p>
            <p class="muted small">
                {flag.document_title.clone()} " · " {flag.owner_name.clone()}
                {flag.page.map(|p| format!(" · page {p}"))} " · flagged " <format::Time micros=flag.created_at />
            </p>
        </li>
    }
}

#[component]
fn SeverityBadge(severity: String) -> impl IntoView {
    view! { <span class=format!("badge risk-severity risk-severity--{severity}")>{capitalise(&severity)}</span> }
}

/// The document page's panel: the scan's state, its flags and the missing clauses. Loaded by
/// the browser once the page runs, not rendered by the server: the page's own data is one
/// resource, and a second one created inside its rendering hydrated in a different order now and
/// then. Opened at a flag (`#flag-…`), it brings that flag into view once loaded.
#[component]
pub fn RiskPanel(id: String) -> impl IntoView {
    let risk = RwSignal::new(None::<Result<DocumentRiskDto, crate::error::AppError>>);
    let id = StoredValue::new(id);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            risk.set(Some(load_document_risk(id.get_value()).await));
            #[cfg(feature = "hydrate")]
            request_animation_frame(reveal_flag);
        });
    });
    view! {
        <section class="panel risk-panel" aria-labelledby="risk-panel-heading" data-testid="risk-panel">
            <h2 id="risk-panel-heading">"Clause review"</h2>
            {move || match risk.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Ok(r)) => view! { <DocumentRisk risk=r /> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
            }}
        </section>
    }
}

/// Scrolls the flag the address names (`#flag-…`) into view.
#[cfg(feature = "hydrate")]
fn reveal_flag() {
    let Ok(hash) = window().location().hash() else { return };
    if let Some(el) =
        hash.strip_prefix('#').filter(|h| h.starts_with("flag-")).and_then(|h| document().get_element_by_id(h))
    {
        // Inserted after the navigation, so `:target` never matched it: marked by hand.
        let _ = el.set_attribute("data-target", "true");
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Start);
        el.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

#[component]
fn DocumentRisk(risk: DocumentRiskDto) -> impl IntoView {
    let DocumentRiskDto { state, contract_type, engine_version, missing, flags, may_review } = risk;
    let summary = match state.as_deref() {
        None => "Not read yet: the clauses are checked in a moment, after upload.".to_owned(),
        Some("no_text") => {
            "No text to analyse: this PDF has no text layer (a scan?), so no clause could be read.".to_owned()
        }
        Some("unreadable") => "The text of this PDF could not be read, so no clause was checked.".to_owned(),
        Some(_) => format!(
            "{} · {} flagged · {} missing · engine {}",
            contract_type.map(|t| format!("{t} contract")).unwrap_or_default(),
            flags.len(),
            missing.len(),
            engine_version.unwrap_or_default(),
        ),
    };
    view! {
        <p class="muted small" data-testid="risk-state" data-state=state.clone().unwrap_or_default()>{summary}</p>
        {(!flags.is_empty()).then(|| view! {
            <ul class="risk-flags" data-testid="risk-flags">
                {flags.into_iter().map(|f| view! { <FlagCard flag=f may_review=may_review /> }).collect_view()}
            </ul>
        })}
        {(!missing.is_empty()).then(|| view! {
            <h3 class="risk-panel__sub">"Missing clauses"</h3>
            <ul class="risk-missing" data-testid="risk-missing">
                {missing.into_iter().map(|m| view! {
                    <li>
                        <SeverityBadge severity=m.severity.clone() />
                        " " <strong>{m.clause.clone()}</strong>
                        <p class="muted small">{m.why.clone()}</p>
                    </li>
                }).collect_view()}
            </ul>
        })}
    }
}

/// Which review form is open on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    None,
    Dismiss,
    Escalate,
}

/// One flag on the document page: the clause, where it is, why it matters, and the review.
#[component]
fn FlagCard(flag: FlagDto, may_review: bool) -> impl IntoView {
    let flag = RwSignal::new(flag);
    let form = RwSignal::new(Form::None);
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let (id, page) = flag.with_untracked(|f| (f.id.clone(), f.page));
    let submit = move |action: &'static str| {
        let (id, input) = (flag.with_untracked(|f| f.id.clone()), text.get_untracked());
        let (reason, to) = match action {
            "dismiss" => (input, String::new()),
            "escalate" => (String::new(), input),
            _ => (String::new(), String::new()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match review_flag(id, action.to_owned(), reason, to).await {
                Ok(updated) => {
                    flag.set(updated);
                    form.set(Form::None);
                    text.set(String::new());
                    error.set(None);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let live = move || flag.with(|f| matches!(f.status.as_str(), "open" | "acknowledged" | "escalated"));
    // Set once the client runs this card (effects run only in the browser): until then its
    // buttons are the server's markup and do nothing.
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    view! {
        <li class="risk-flag" id=format!("flag-{id}") data-testid="risk-flag" data-status=move || flag.with(|f| f.status.clone()) data-ready=move || ready.get().then_some("true")>
            <div class="risk-list__head">
                <SeverityBadge severity=flag.with_untracked(|f| f.severity.clone()) />
                <strong>{flag.with_untracked(|f| f.category.clone())}</strong>
                <span class=move || format!("badge risk-status risk-status--{}", flag.with(|f| f.status.clone())) data-testid="flag-status">
                    {move || capitalise(&flag.with(|f| f.status.clone()))}
                </span>
            </div>
            <blockquote class="risk-flag__clause">{flag.with_untracked(|f| excerpt(&f.clause, 360))}</blockquote>
            <p class="muted small">{flag.with_untracked(|f| f.explanation.clone())}</p>
            <p class="small risk-flag__where">
                {page.map(|p| view! {
                    <button type="button" class="button button--quiet button--small" on:click=move |_| {
                        #[cfg(feature = "hydrate")]
                        crate::pages::document::show_page(u32::try_from(p).unwrap_or(1));
                        let _ = p;
                    }>{format!("Show page {p}")}</button>
                })}
                {move || flag.with(|f| f.review_reason.clone()).map(|r| view! { <span class="muted">" Dismissed: " {r}</span> })}
                {move || flag.with(|f| f.resolved_reason.clone()).map(|r| view! {
                    <span class="muted">{if r == "document.expired" { " Resolved: the document expired." } else { " Resolved: the document was completed." }}</span>
                })}
            </p>
            {move || (may_review && live()).then(|| view! {
                <div class="risk-flag__actions">
                    <button type="button" class="button button--primary button--small" data-testid="flag-acknowledge"
                        disabled=move || busy.get() || flag.with(|f| f.status == "acknowledged")
                        on:click=move |_| submit("acknowledge")>"Acknowledge"</button>
                    <button type="button" class="button button--quiet button--small" data-testid="flag-dismiss"
                        on:click=move |_| form.set(Form::Dismiss)>"Dismiss…"</button>
                    <button type="button" class="button button--quiet button--small" data-testid="flag-escalate"
                        on:click=move |_| form.set(Form::Escalate)>"Escalate…"</button>
                </div>
                {move || (form.get() != Form::None).then(|| {
                    let dismiss = form.get() == Form::Dismiss;
                    let field = format!("flag-{}-{}", flag.with_untracked(|f| f.id.clone()), if dismiss { "reason" } else { "to" });
                    view! {
                        <form class="risk-flag__form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                            ev.prevent_default();
                            submit(if dismiss { "dismiss" } else { "escalate" });
                        }>
                            <label for=field.clone()>{if dismiss { "Why is it dismissed?" } else { "Escalate to (email of a user)" }}</label>
                            {if dismiss {
                                view! { <textarea id=field.clone() data-testid="flag-reason" required maxlength="500" rows="2"
                                    on:input=move |ev| text.set(event_target_value(&ev)) prop:value=move || text.get()></textarea> }.into_any()
                            } else {
                                view! { <input id=field.clone() type="email" data-testid="flag-to" required
                                    on:input=move |ev| text.set(event_target_value(&ev)) prop:value=move || text.get() /> }.into_any()
                            }}
                            <div class="risk-flag__actions">
                                <button type="submit" class="button button--primary button--small" data-testid="flag-confirm" disabled=move || busy.get()>
                                    {if dismiss { "Dismiss" } else { "Escalate" }}
                                </button>
                                <button type="button" class="button button--quiet button--small" on:click=move |_| form.set(Form::None)>"Cancel"</button>
                            </div>
                        </form>
                    }
                })}
            })}
            <p class="form-error small" role="status">{move || error.get()}</p>
        </li>
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `text` on one line, cut to `max` characters.
fn excerpt(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > max { format!("{}…", line.chars().take(max).collect::<String>()) } else { line }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_one_line_and_cut() {
        assert_eq!(excerpt("a\n  b\tc", 10), "a b c");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(capitalise("critical"), "Critical");
    }
}
