//! Settings → Jobs (owners and admins): the follow-up and recurring work of this instance, most
//! recent first, and every failed job still kept with its last error, so a mail server or
//! timestamp authority that keeps refusing is seen, not guessed.

use crate::api::jobs::{JobDto, list_jobs};
use crate::components::layout::{Loading, RequireUser};
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn JobsPage() -> impl IntoView {
    view! {
        <Title text="Jobs" />
        <RequireUser>
            <section class="page" aria-labelledby="jobs-heading">
                <div class="page__header">
                    <h1 id="jobs-heading">"Settings"</h1>
                </div>
                <crate::pages::settings::SettingsNav />
                <Jobs />
            </section>
        </RequireUser>
    }
}

#[component]
fn Jobs() -> impl IntoView {
    let jobs = Resource::new(|| (), |_| list_jobs());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match jobs.await {
                    Ok(overview) => {
                        view! {
                            <div class="panel" data-testid="failed-jobs">
                                <div class="panel__header">
                                    <h2>"Failed"</h2>
                                </div>
                                <p class="panel__intro">
                                    "Jobs that gave up after their last attempt. Completion is queued again by the completion sweep; a failed mail is shown to the sender, who can resend."
                                </p>
                                <JobList rows=overview.failed empty="No failed jobs." />
                            </div>
                            <div class="panel" data-testid="recent-jobs">
                                <div class="panel__header">
                                    <h2>"Recent"</h2>
                                </div>
                                <JobList rows=overview.recent empty="No jobs yet." />
                            </div>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The badge class of a job's state.
fn state_badge(state: &str) -> &'static str {
    match state {
        "done" => "badge badge--completed",
        "failed" => "badge badge--voided",
        "running" => "badge badge--sent",
        _ => "badge badge--waiting",
    }
}

#[component]
fn JobList(rows: Vec<JobDto>, empty: &'static str) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    view! {
        <ul class="session-list job-list" data-testid="job-list">
            {rows
                .into_iter()
                .map(|j| {
                    let attempts = match j.attempts {
                        1 => "1 attempt".to_owned(),
                        n => format!("{n} attempts"),
                    };
                    view! {
                        <li class="session-list__item" data-testid="job-row" data-state=j.state.clone()>
                            <div class="session-list__what">
                                <strong>{j.kind.clone()}</strong>
                                <span class=state_badge(&j.state)>{j.state.clone()}</span>
                                {(!j.subject.is_empty())
                                    .then(|| view! { <code class="small">{j.subject.clone()}</code> })}
                            </div>
                            <div class="muted small">
                                {attempts} " · due " <format::Time micros=j.run_at />
                                {j
                                    .finished_at
                                    .map(|at| view! { " · finished " <format::Time micros=at /> })}
                            </div>
                            {j
                                .last_error
                                .clone()
                                .map(|e| view! { <p class="form-error small job-list__error">{e}</p> })}
                            <div class="muted small job-list__id">{j.id.clone()}</div>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
