//! The self-verification (recurring job `instance.self_verify`, nightly by default): what
//! `attesta log verify` does (every record re-derived, every chain, node and checkpoint, every
//! captured change of state against its event), and stored files (original, signed, sealed)
//! decrypted and re-hashed against the hash recorded for them, on a rolling schedule
//! (`attesta_core::integrity`: each run its share, every file within
//! `jobs.self_verify_rehash_period`; `file_checks` keeps when each was last checked). Each run is stored
//! (`self_verifications`), exported as metrics, and a failure is mailed to owners and admins:
//! tampering is found by the instance itself, not only when someone happens to check.

use crate::documents::Documents;
use crate::evidence::EvidenceLog;
use crate::evidence::verify::Finding;
use attesta_core::Timestamp;
use attesta_core::evidence::Sha256;
use attesta_core::ports::Clock;
use futures_util::StreamExt as _;
use sha2::Digest as _;
use sqlx::AnyPool;

/// How files are spread over the runs: every file within `period`, runs every `schedule`.
#[derive(Debug, Clone)]
pub struct Rehash {
    pub period: std::time::Duration,
    pub schedule: attesta_core::jobs::Schedule,
}

impl Rehash {
    /// Everything, every run.
    pub fn everything() -> Self {
        Self {
            period: std::time::Duration::ZERO,
            schedule: attesta_core::jobs::Schedule::parse("off").expect("off parses"),
        }
    }

    /// The time between two runs after `now` (a day when the schedule is off).
    fn interval(&self, now: Timestamp) -> std::time::Duration {
        let next = self.schedule.next_after(now);
        match next.and_then(|next| Some((next, self.schedule.next_after(next)?))) {
            Some((next, after)) => after.duration_since(next).max(std::time::Duration::from_secs(60)),
            None => std::time::Duration::from_secs(86_400),
        }
    }
}

/// One run's result.
#[derive(Debug, Clone)]
pub struct SelfVerification {
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub log_events: u64,
    pub files_checked: u64,
    pub files_failed: u64,
    /// Files stored now (this run re-hashed `files_checked` of them).
    pub files_stored: u64,
    pub findings: Vec<Finding>,
}

impl SelfVerification {
    pub fn is_ok(&self) -> bool {
        self.findings.iter().all(|f| f.ok)
    }

    /// The failed checks, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.findings.iter().filter(|f| !f.ok).map(|f| format!("{}: {}", f.check, f.detail)).collect()
    }
}

/// A stored file and the hash recorded for it.
#[derive(Clone)]
struct StoredFile {
    document_id: String,
    which: &'static str,
    key: String,
    expected: Vec<u8>,
}

/// Runs the whole self-verification and stores its result.
pub async fn run(
    pool: &AnyPool,
    evidence: &EvidenceLog,
    documents: &Documents,
    clock: &dyn Clock,
    rehash: &Rehash,
) -> anyhow::Result<SelfVerification> {
    let started_at = clock.now();
    let report = crate::evidence::verify::verify_log(pool, evidence.signer().verifier_key(), |_, _| {}).await?;
    let mut findings = report.findings.clone();
    let (files_checked, files_stored, failed) = verify_files(pool, documents, clock, rehash).await?;
    let files_failed = failed.len() as u64;
    if failed.is_empty() {
        let which = if files_checked == files_stored {
            format!("{files_checked} stored files")
        } else {
            format!(
                "{files_checked} of {files_stored} stored files (each is re-hashed at least every {})",
                describe_period(rehash.period)
            )
        };
        findings.push(Finding {
            check: "files",
            ok: true,
            detail: format!("{which} decrypted and re-hashed: each matches its recorded hash"),
        });
    } else {
        findings.push(Finding {
            check: "files",
            ok: false,
            detail: format!("{files_failed} of {files_checked} stored files do not match: {}", failed.join("; ")),
        });
    }
    let result = SelfVerification {
        started_at,
        finished_at: clock.now(),
        log_events: report.events,
        files_checked,
        files_failed,
        files_stored,
        findings,
    };
    store(pool, &result).await?;
    record_metrics(&result);
    Ok(result)
}

/// `7 days`, `1 day`, `36 h`.
pub fn describe_period(period: std::time::Duration) -> String {
    let hours = period.as_secs() / 3600;
    match (hours % 24, hours / 24) {
        (0, 1) => "1 day".to_owned(),
        (0, days) if days > 0 => format!("{days} days"),
        _ => format!("{hours} h"),
    }
}

/// Decrypts and re-hashes this run's share of the stored files (`rehash`), recording each check;
/// how many it checked, how many are stored, and what failed.
async fn verify_files(
    pool: &AnyPool,
    documents: &Documents,
    clock: &dyn Clock,
    rehash: &Rehash,
) -> anyhow::Result<(u64, u64, Vec<String>)> {
    type Row = (String, Option<String>, Vec<u8>, Option<String>, Option<Vec<u8>>, Option<String>, Option<Vec<u8>>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, blob_key, sha256, signed_blob_key, signed_sha256, sealed_blob_key, sealed_sha256 FROM documents \
         ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let mut files = Vec::new();
    for (id, original, sha, signed, signed_sha, sealed, sealed_sha) in rows {
        for (which, key, expected) in
            [("original", original, Some(sha)), ("signed", signed, signed_sha), ("sealed", sealed, sealed_sha)]
        {
            if let Some(key) = key {
                files.push(StoredFile { document_id: id.clone(), which, key, expected: expected.unwrap_or_default() });
            }
        }
    }
    let checks: Vec<(String, i64, crate::store::db::Flag)> =
        sqlx::query_as("SELECT blob_key, checked_at, ok FROM file_checks").fetch_all(pool).await?;
    let checks: std::collections::HashMap<String, (i64, bool)> =
        checks.into_iter().map(|(key, at, ok)| (key, (at, ok.0))).collect();
    let last: Vec<attesta_core::integrity::LastCheck> = files
        .iter()
        .map(|f| match checks.get(&f.key) {
            Some(&(at, ok)) => attesta_core::integrity::LastCheck { at: Some(Timestamp::from_micros(at)), ok },
            None => attesta_core::integrity::LastCheck { at: None, ok: true },
        })
        .collect();
    let now = clock.now();
    let chosen = attesta_core::integrity::files_to_check(&last, now, rehash.interval(now), rehash.period);
    let mut failed = Vec::new();
    for &i in &chosen {
        let file = &files[i];
        let result = check_file(documents, file).await;
        if let Err(why) = &result {
            failed.push(format!("document {} {} file: {why}", file.document_id, file.which));
        }
        sqlx::query(
            "INSERT INTO file_checks (blob_key, document_id, which, checked_at, ok) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (blob_key) DO UPDATE SET checked_at = excluded.checked_at, ok = excluded.ok",
        )
        .bind(&file.key)
        .bind(&file.document_id)
        .bind(file.which)
        .bind(clock.now().as_micros())
        .bind(i64::from(result.is_ok()))
        .execute(pool)
        .await?;
    }
    // Checks of files no longer stored (a deleted draft's) are dropped.
    let stored: std::collections::HashSet<&str> = files.iter().map(|f| f.key.as_str()).collect();
    for key in checks.keys().filter(|k| !stored.contains(k.as_str())) {
        sqlx::query("DELETE FROM file_checks WHERE blob_key = $1").bind(key).execute(pool).await?;
    }
    Ok((chosen.len() as u64, files.len() as u64, failed))
}

async fn check_file(documents: &Documents, file: &StoredFile) -> Result<(), String> {
    // Decryption authenticates every chunk: a changed ciphertext fails here already.
    let mut stream = documents.decrypted_blob(&file.key).await.map_err(|e| e.to_string())?;
    let mut hasher = sha2::Sha256::new();
    while let Some(chunk) = stream.next().await {
        hasher.update(chunk.map_err(|e| format!("does not decrypt ({e})"))?);
    }
    let actual: [u8; 32] = hasher.finalize().into();
    if actual.as_slice() == file.expected.as_slice() {
        Ok(())
    } else {
        let expected = Sha256::from_slice(&file.expected).map(|h| h.to_hex()).unwrap_or_else(|_| "(none)".to_owned());
        Err(format!("hashes to {} where {expected} was recorded", Sha256::from_bytes(actual).to_hex()))
    }
}

async fn store(pool: &AnyPool, result: &SelfVerification) -> Result<(), sqlx::Error> {
    let findings = serde_json::Value::Array(
        result
            .findings
            .iter()
            .map(|f| serde_json::json!({ "check": f.check, "ok": f.ok, "detail": f.detail }))
            .collect(),
    );
    sqlx::query(
        "INSERT INTO self_verifications (started_at, finished_at, ok, log_events, files_checked, files_failed, findings) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(result.started_at.as_micros())
    .bind(result.finished_at.as_micros())
    .bind(i64::from(result.is_ok()))
    .bind(i64::try_from(result.log_events).unwrap_or(i64::MAX))
    .bind(i64::try_from(result.files_checked).unwrap_or(i64::MAX))
    .bind(i64::try_from(result.files_failed).unwrap_or(i64::MAX))
    .bind(findings.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

/// The figures Prometheus scrapes from `/metrics`.
fn record_metrics(result: &SelfVerification) {
    metrics::gauge!("attesta_self_verification_ok").set(if result.is_ok() { 1.0 } else { 0.0 });
    metrics::gauge!("attesta_self_verification_finished_seconds").set(result.finished_at.as_micros() as f64 / 1e6);
    metrics::gauge!("attesta_self_verification_log_events").set(result.log_events as f64);
    metrics::gauge!("attesta_self_verification_files_checked").set(result.files_checked as f64);
    metrics::gauge!("attesta_self_verification_files_failed").set(result.files_failed as f64);
}

/// A stored run, as the integrity page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRun {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: i64,
    #[sqlx(try_from = "crate::store::db::Flag")]
    pub ok: bool,
    pub log_events: i64,
    pub files_checked: i64,
    pub files_failed: i64,
    pub findings: String,
}

/// The most recent runs, newest first.
pub async fn recent(pool: &AnyPool, limit: i64) -> Result<Vec<StoredRun>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, started_at, finished_at, ok, log_events, files_checked, files_failed, findings \
         FROM self_verifications ORDER BY started_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Appends `instance.self_verification_failed` for a failed run to the instance chain.
pub async fn record_failure(
    instance: &crate::evidence::InstanceLog,
    result: &SelfVerification,
) -> Result<(), crate::evidence::EvidenceError> {
    use attesta_core::evidence::instance::{Acting, InstanceEvent, SelfVerificationFailed};
    let act = InstanceEvent::SelfVerificationFailed(SelfVerificationFailed {
        started_at: result.started_at.as_micros(),
        finished_at: result.finished_at.as_micros(),
        failed_checks: result.findings.iter().filter(|f| !f.ok).map(|f| f.check.to_owned()).collect(),
        log_events: result.log_events,
        files_checked: result.files_checked,
        files_failed: result.files_failed,
    });
    let by = Acting::system(attesta_core::evidence::PersonalData::none());
    instance.record(&act, &by, None).await.map(|_| ())
}

/// Mails a failed run to every owner and admin (enabled): what failed, and where to look.
pub async fn alert(pool: &AnyPool, mailer: &crate::mail::Mailer, result: &SelfVerification) -> anyhow::Result<usize> {
    let people: Vec<(String, String, String, crate::store::db::Flag)> =
        sqlx::query_as("SELECT name, email, role, disabled FROM users ORDER BY id").fetch_all(pool).await?;
    let failures = result.failures();
    let subject = "Attesta: the self-verification found a problem".to_owned();
    let text = format!(
        "The self-verification that finished at {} found {} failed check(s):\n\n{}\n\n\
         Nothing was changed by the check. Compare with your backups, and run `attesta log verify` \
         to see the findings again; Settings > Integrity lists every run.\n",
        attesta_core::webhooks::events::rfc3339(result.finished_at),
        failures.len(),
        failures.iter().map(|f| format!("- {f}")).collect::<Vec<_>>().join("\n"),
    );
    let html = format!(
        "<!doctype html><html><body><p>The self-verification that finished at {} found {} failed check(s):</p><ul>{}</ul>\
         <p>Nothing was changed by the check. Compare with your backups, and run <code>attesta log verify</code> to \
         see the findings again; Settings &rsaquo; Integrity lists every run.</p></body></html>",
        crate::mail::templates::escape_html(&attesta_core::webhooks::events::rfc3339(result.finished_at)),
        failures.len(),
        failures.iter().map(|f| format!("<li>{}</li>", crate::mail::templates::escape_html(f))).collect::<String>(),
    );
    let mut sent = 0;
    for (name, email, role, crate::store::db::Flag(disabled)) in people {
        let administers = attesta_core::Role::parse(&role).is_ok_and(|r| r.can_administer());
        if !administers || disabled {
            continue;
        }
        let mail = crate::mail::Mail {
            template: "self_verification_failed",
            to_name: name,
            to_email: email,
            subject: subject.clone(),
            text: text.clone(),
            html: html.clone(),
            reply_to: None,
            attachments: Vec::new(),
        };
        match mailer.send(mail).await {
            Ok(_) => sent += 1,
            Err(e) => tracing::error!(error = %e, "the self-verification alert was not delivered"),
        }
    }
    Ok(sent)
}

/// The Settings › Integrity page's view of the runs (`attesta_app::ssr::integrity::IntegrityPort`).
pub struct IntegrityAdmin {
    pub pool: AnyPool,
    /// `jobs.self_verify` with its time zone, shown on the page.
    pub schedule: String,
    /// `jobs.self_verify_rehash_period`, for people.
    pub rehash_period: String,
}

/// How many runs the page lists.
const PAGE_RUNS: i64 = 60;

#[async_trait::async_trait]
impl attesta_app::ssr::integrity::IntegrityPort for IntegrityAdmin {
    async fn overview(&self) -> Result<attesta_app::api::integrity::IntegrityOverview, attesta_app::error::AppError> {
        use attesta_app::api::integrity::{CheckDto, IntegrityOverview, RunDto};
        let runs = recent(&self.pool, PAGE_RUNS).await.map_err(attesta_app::ssr::internal)?;
        let runs = runs
            .into_iter()
            .map(|r| {
                let checks: Vec<serde_json::Value> = serde_json::from_str(&r.findings).unwrap_or_default();
                RunDto {
                    id: r.id,
                    started_at: r.started_at,
                    finished_at: r.finished_at,
                    ok: r.ok,
                    log_events: r.log_events,
                    files_checked: r.files_checked,
                    files_failed: r.files_failed,
                    checks: checks
                        .iter()
                        .map(|c| CheckDto {
                            check: c["check"].as_str().unwrap_or_default().to_owned(),
                            ok: c["ok"].as_bool().unwrap_or(false),
                            detail: c["detail"].as_str().unwrap_or_default().to_owned(),
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(IntegrityOverview { schedule: self.schedule.clone(), rehash_period: self.rehash_period.clone(), runs })
    }
}
