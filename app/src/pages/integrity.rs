//! Settings → Integrity (owners and admins): the instance checking itself. The latest run of the
//! self-verification first (did every event, captured change and stored file check out, and
//! when), then every run kept, each with its checks, so a failure is read here, not guessed.

use crate::api::integrity::{IntegrityOverview, RunDto, load_integrity};
use crate::components::layout::{Loading, RequireUser};
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn IntegrityPage() -> impl IntoView {
    view! {
        <Title text="Integrity" />
        <RequireUser>
            <section class="page" aria-labelledby="integrity-heading">
                <div class="page__header">
                    <h1 id="integrity-heading">"Settings"</h1>
                </div>
                <crate::pages::settings::SettingsNav />
                <Integrity />
            </section>
        </RequireUser>
    }
}

#[component]
fn Integrity() -> impl IntoView {
    let overview = Resource::new(|| (), |_| load_integrity());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <Overview overview /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Overview(overview: IntegrityOverview) -> impl IntoView {
    let IntegrityOverview { schedule, rehash_period, runs } = overview;
    let files = if rehash_period == "every run" {
        "decrypts and re-hashes every stored file".to_owned()
    } else {
        format!("decrypts and re-hashes its share of the stored files, each at least once every {rehash_period},")
    };
    let latest = runs.first().cloned();
    view! {
        <div class="panel" data-testid="integrity-latest">
            <div class="panel__header">
                <h2>"Self-verification"</h2>
            </div>
            <p class="panel__intro">
                "On schedule (" <code>{schedule}</code>
                ") the instance re-derives its whole evidence log from the stored records, checks every recorded change of state against the event that caused it, and "
                {files}
                " against the hash recorded for it. A failure is mailed to owners and admins."
            </p>
            {match latest {
                None => {
                    view! { <p class="muted">"No run yet: the first runs at the next scheduled time."</p> }
                        .into_any()
                }
                Some(run) => view! { <Latest run /> }.into_any(),
            }}
        </div>
        <div class="panel" data-testid="integrity-runs">
            <div class="panel__header">
                <h2>"Runs"</h2>
            </div>
            <RunList runs />
        </div>
    }
}

#[component]
fn Latest(run: RunDto) -> impl IntoView {
    let ok = run.ok.to_string();
    let (finished_at, log_events) = (run.finished_at, run.log_events);
    let files = match (run.files_checked, run.files_failed) {
        (0, _) => "None stored yet".to_owned(),
        (n, 0) => format!("{n} of {n}, all matching"),
        (n, failed) => format!("{failed} of {n} do not match"),
    };
    let took = format_duration(run.finished_at - run.started_at);
    let (badge, verdict) = if run.ok {
        ("badge badge--completed", "Everything checked out")
    } else {
        ("badge badge--voided", "Something does not match")
    };
    view! {
        <div class="integrity-latest" data-ok=ok>
            <p>
                <span class=badge>{verdict}</span>
            </p>
            <dl class="facts">
                <div>
                    <dt>"Finished"</dt>
                    <dd>
                        <format::Time micros=finished_at />
                    </dd>
                </div>
                <div>
                    <dt>"Events re-derived"</dt>
                    <dd>{log_events}</dd>
                </div>
                <div>
                    <dt>"Files re-hashed"</dt>
                    <dd>{files}</dd>
                </div>
                <div>
                    <dt>"Took"</dt>
                    <dd>{took}</dd>
                </div>
            </dl>
            <Checks run />
        </div>
    }
}

#[component]
fn Checks(run: RunDto) -> impl IntoView {
    view! {
        <ul class="integrity-checks" data-testid="integrity-checks">
            {run
                .checks
                .into_iter()
                .map(|c| {
                    let mark = if c.ok { "✓" } else { "✗" };
                    view! {
                        <li class="integrity-checks__item" data-ok=c.ok.to_string()>
                            <span class="integrity-checks__mark" aria-hidden="true">
                                {mark}
                            </span>
                            <strong>{c.check}</strong>
                            " "
                            <span class=if c.ok { "muted small" } else { "form-error small" }>{c.detail}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn RunList(runs: Vec<RunDto>) -> impl IntoView {
    if runs.is_empty() {
        return view! { <p class="muted">"No runs yet."</p> }.into_any();
    }
    view! {
        <ul class="session-list" data-testid="integrity-run-list">
            {runs
                .into_iter()
                .map(|run| {
                    let (badge, label) = if run.ok {
                        ("badge badge--completed", "passed")
                    } else {
                        ("badge badge--voided", "failed")
                    };
                    view! {
                        <li class="session-list__item" data-testid="integrity-run" data-ok=run.ok.to_string()>
                            <div class="session-list__what">
                                <format::Time micros=run.finished_at />
                                <span class=badge>{label}</span>
                            </div>
                            <div class="muted small">
                                {format!(
                                    "{} events · {} files, {} not matching",
                                    run.log_events,
                                    run.files_checked,
                                    run.files_failed,
                                )}
                            </div>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// `1.2 s`, `340 ms`, `2 min 5 s`.
fn format_duration(micros: i64) -> String {
    let ms = micros.max(0) / 1000;
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::format_duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(340_000), "340 ms");
        assert_eq!(format_duration(1_250_000), "1.2 s");
        assert_eq!(format_duration(125_000_000), "2 min 5 s");
        assert_eq!(format_duration(-5), "0 ms");
    }
}
