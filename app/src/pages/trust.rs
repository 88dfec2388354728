//! Settings → Trust (owners and admins): what an auditor asks first, on one page, each figure
//! computed from the data now and linking to its detail: do the stored files still match their
//! hashes and when was that last checked, how large is the log and how fresh its checkpoint,
//! what was issued and sealed under which certificate, who is signed in, what the retention
//! policy is and when it last and next runs, and which documents are on legal hold.

use crate::api::trust::{RetentionRunDto, TrustDashboard, load_trust};
use crate::components::layout::{Loading, RequireUser};
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TrustPage() -> impl IntoView {
    view! {
        <Title text="Trust" />
        <RequireUser>
            <section class="page" aria-labelledby="trust-heading">
                <div class="page__header">
                    <h1 id="trust-heading">"Settings"</h1>
                </div>
                <crate::pages::settings::SettingsNav />
                <Trust />
            </section>
        </RequireUser>
    }
}

#[component]
fn Trust() -> impl IntoView {
    let dashboard = Resource::new(|| (), |_| load_trust());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(d) => view! { <Dashboard d /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One figure: a label, the value, and what it means or where to look.
#[component]
fn Figure(
    label: &'static str,
    value: String,
    #[prop(into)] note: String,
    #[prop(optional)] href: Option<String>,
    #[prop(optional)] bad: bool,
) -> impl IntoView {
    let class = if bad { "trust-figure trust-figure--bad" } else { "trust-figure" };
    view! {
        <div class=class data-testid="trust-figure" data-label=label>
            <dt>{label}</dt>
            <dd class="trust-figure__value">{value}</dd>
            <dd class="trust-figure__note muted small">
                {match href {
                    Some(href) => view! { <a href=href>{note}</a> }.into_any(),
                    None => view! { <span>{note}</span> }.into_any(),
                }}
            </dd>
        </div>
    }
}

fn files_figure(d: &TrustDashboard) -> (String, String, bool) {
    if d.files_stored == 0 {
        return ("No files yet".to_owned(), "nothing stored to re-hash".to_owned(), false);
    }
    if d.self_check.is_none() {
        let note = format!("{} stored; the first check runs on schedule", d.files_stored);
        return ("Not checked yet".to_owned(), note, false);
    }
    let share = d.files_verified as f64 * 100.0 / d.files_stored as f64;
    let value = format!("{} of {} ({})", d.files_verified, d.files_stored, percent(share));
    let note = if d.files_failing > 0 {
        format!("{} do not match their recorded hashes", d.files_failing)
    } else if d.files_verified < d.files_stored {
        format!(
            "{} not re-hashed yet (stored since, or due): the next run takes them; none failed",
            d.files_stored - d.files_verified
        )
    } else {
        match d.rehash_period.as_str() {
            "every run" => "re-hashed at the last self-verification, each matching".to_owned(),
            period => {
                format!("re-hashed within the last {period}, each matching; every file at least once per {period}")
            }
        }
    };
    (value, note, d.files_failing > 0)
}

/// `100%`, `99.9%`: never rounds a failure up to 100.
fn percent(share: f64) -> String {
    if share >= 100.0 { "100%".to_owned() } else { format!("{:.1}%", (share * 10.0).floor() / 10.0) }
}

/// `3 min`, `2 h`, `5 days`.
fn age(micros: i64) -> String {
    let s = micros.max(0) / 1_000_000;
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

#[component]
fn Dashboard(d: TrustDashboard) -> impl IntoView {
    let (files_value, files_note, files_bad) = files_figure(&d);
    let check = d.self_check.clone();
    let checked_value =
        check.as_ref().map_or("Never".to_owned(), |c| if c.ok { "Passed".to_owned() } else { "FAILED".to_owned() });
    let checked_bad = check.as_ref().is_some_and(|c| !c.ok);
    let now = d.generated_at;
    let checked_note = match &check {
        Some(c) => format!("{} ago · schedule {}", age(now - c.finished_at), d.self_check_schedule),
        None => format!("schedule {}", d.self_check_schedule),
    };
    let checkpoint_note = match (d.checkpoint_size, d.checkpoint_at) {
        (Some(size), Some(at)) => format!("latest checkpoint covers {size}, signed {} ago", age(now - at)),
        _ => "no checkpoint yet".to_owned(),
    };
    let seal_days = (d.seal_not_after - now) / 86_400_000_000;
    let seal_value = format!("{seal_days} days left");
    let seal_note = format!(
        "{} · SHA-256 {}…",
        d.seal_subject,
        &d.seal_certificate_sha256[..16.min(d.seal_certificate_sha256.len())]
    );
    let tsa = d.timestamp_authority.clone().unwrap_or_else(|| "None (seals are PAdES-B-B)".to_owned());
    let sso_note = format!("{} of them through single sign-on", d.live_sso_sessions);
    let held = d.legal_holds.len();
    let policy = d.retention_policy.clone();
    let last_run = d.retention_last.clone();
    let retention_schedule = d.retention_schedule.clone();
    let retention_next = d.retention_next;
    let holds = d.legal_holds.clone();
    let risk_open = d.risk_open.clone();
    view! {
        <div class="panel" data-testid="trust-integrity">
            <div class="panel__header">
                <h2>"Integrity"</h2>
            </div>
            <dl class="trust-grid">
                <Figure label="Files verified" value=files_value note=files_note bad=files_bad href="/settings/integrity".to_owned() />
                <Figure label="Last self-verification" value=checked_value note=checked_note bad=checked_bad href="/settings/integrity".to_owned() />
                <Figure label="Log size" value=format!("{} events", d.log_size) note=checkpoint_note href="/log/checkpoint".to_owned() />
                <Figure label="Audit events, last 30 days" value=d.events_last_30_days.to_string() note="every state change is one" href="/documents".to_owned() />
            </dl>
        </div>
        <div class="panel" data-testid="trust-issued">
            <div class="panel__header">
                <h2>"Issued"</h2>
            </div>
            <dl class="trust-grid">
                <Figure label="Certificates of completion" value=d.certificates_issued.to_string() note="one per completed document" href="/documents?status=completed".to_owned() />
                <Figure label="Sealed documents" value=d.sealed_documents.to_string() note="PAdES seals applied" href="/documents?status=completed".to_owned() />
                <Figure label="Seal certificate" value=seal_value note=seal_note bad={seal_days < 30} href="/seal/ca.pem".to_owned() />
                <Figure label="Timestamp authority" value=tsa note="RFC 3161, on every seal when set" />
            </dl>
        </div>
        <div class="panel" data-testid="trust-access">
            <div class="panel__header">
                <h2>"Access"</h2>
            </div>
            <dl class="trust-grid">
                <Figure label="Live sessions" value=d.live_sessions.to_string() note=sso_note href="/settings/sessions".to_owned() />
                <Figure label="API keys in use" value=d.api_keys_in_use.to_string() note="not revoked" href="/settings/api-keys".to_owned() />
                <Figure label="Log key" value="Ed25519".to_owned() note=d.log_key.clone() href="/log/key".to_owned() />
            </dl>
        </div>
        <div class="panel" data-testid="trust-risk">
            <div class="panel__header">
                <h2>"Clause risk"</h2>
            </div>
            <dl class="trust-grid">
                {risk_open
                    .into_iter()
                    .map(|(severity, n)| {
                        let label = match severity.as_str() {
                            "critical" => "Open critical flags",
                            "high" => "Open high flags",
                            "medium" => "Open medium flags",
                            _ => "Open low flags",
                        };
                        let bad = n > 0 && (severity == "critical" || severity == "high");
                        view! { <Figure label value=n.to_string() note="awaiting review" bad href="/risk".to_owned() /> }
                    })
                    .collect_view()}
            </dl>
        </div>
        <div class="panel" data-testid="trust-retention">
            <div class="panel__header">
                <h2>"Retention"</h2>
            </div>
            <p class="panel__intro">
                "Applied by the server on schedule (" <code>{retention_schedule}</code>
                "), in small batches, never to a document on legal hold. Each purge is an event in the chain it touched, and every proof handed out before it still verifies."
            </p>
            <table class="trust-policy" data-testid="trust-policy">
                <thead>
                    <tr>
                        <th scope="col">"Record"</th>
                        <th scope="col">"Kept for"</th>
                    </tr>
                </thead>
                <tbody>
                    {policy
                        .into_iter()
                        .map(|r| {
                            let kept = match r.days {
                                0 => "for ever".to_owned(),
                                1 => "1 day".to_owned(),
                                n => format!("{n} days"),
                            };
                            view! {
                                <tr data-rule=r.rule>
                                    <td>{r.label}</td>
                                    <td>{kept}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                    <tr>
                        <td>"Signed documents and the evidence log"</td>
                        <td>"for ever"</td>
                    </tr>
                </tbody>
            </table>
            <dl class="facts">
                <div>
                    <dt>"Last run"</dt>
                    <dd data-testid="trust-retention-last">
                        {match last_run {
                            None => view! { <span class="muted">"Not run yet"</span> }.into_any(),
                            Some(run) => view! { <LastRun run /> }.into_any(),
                        }}
                    </dd>
                </div>
                <div>
                    <dt>"Next run"</dt>
                    <dd>
                        {match retention_next {
                            Some(at) => view! { <format::Time micros=at /> }.into_any(),
                            None => view! { <span>"Off"</span> }.into_any(),
                        }}
                    </dd>
                </div>
            </dl>
        </div>
        <div class="panel" data-testid="trust-holds">
            <div class="panel__header">
                <h2>{format!("Legal holds ({held})")}</h2>
            </div>
            {if holds.is_empty() {
                view! { <p class="muted">"No document is on legal hold. Place one from a document's page."</p> }.into_any()
            } else {
                view! {
                    <ul class="session-list">
                        {holds
                            .into_iter()
                            .map(|h| {
                                let href = format!("/documents/{}", h.document_id);
                                let title = if h.title.is_empty() { h.document_id.clone() } else { h.title.clone() };
                                view! {
                                    <li class="session-list__item" data-testid="trust-hold">
                                        <div class="session-list__what">
                                            <a href=href>{title}</a>
                                        </div>
                                        <div class="muted small">
                                            {format!("{} · placed by {} ", h.reason, h.placed_by)}
                                            <format::Time micros=h.placed_at />
                                        </div>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </div>
        <p class="muted small">
            "Also as JSON (" <code>"GET /api/v1/trust"</code> ", admin scope) and as Prometheus gauges on " <code>"/metrics"</code> "."
        </p>
    }
}

#[component]
fn LastRun(run: RetentionRunDto) -> impl IntoView {
    let total: i64 = run.purged.iter().map(|(_, n)| n).sum();
    let detail = run
        .purged
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(rule, n)| format!("{n} {}", rule.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ");
    let summary = if total == 0 { "nothing was due".to_owned() } else { detail };
    let held = if run.held > 0 { format!(" · {} held back", run.held) } else { String::new() };
    let error = run.error.clone();
    view! {
        <format::Time micros=run.finished_at />
        " · "
        {summary}
        {held}
        {error.map(|e| view! { <span class="form-error small">{format!(" · stopped: {e}")}</span> })}
    }
}

#[cfg(test)]
mod tests {
    use super::{age, percent};

    #[test]
    fn a_failure_is_never_rounded_to_a_hundred_percent() {
        assert_eq!(percent(100.0), "100%");
        assert_eq!(percent(99.99), "99.9%");
        assert_eq!(percent(50.0), "50.0%");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5_000_000), "5 s");
        assert_eq!(age(600_000_000), "10 min");
        assert_eq!(age(3 * 3_600_000_000), "3 h");
        assert_eq!(age(5 * 86_400_000_000), "5 days");
    }
}
