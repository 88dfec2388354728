//! Durable jobs: the rules of follow-up work, without a database or a runtime.
//!
//! A job is a row the server's worker claims under a lease and runs (see `server/src/jobs/`).
//! What is decided here: which kinds of job exist ([`JobKind`]), how long a failed attempt waits
//! before the next one ([`Backoff`]: exponential with jitter, the jitter derived from the job's
//! id and attempt so a retry storm spreads out yet a test can predict it), when recurring work is
//! due ([`Schedule`]: a cron pattern, parsed by `croner`), and the key that makes one period's
//! run happen once however many processes notice it ([`Schedule::period_key`]).

use crate::time::Timestamp;
use sha2::Digest as _;
use std::time::Duration;

/// What a job does. Stored as its [`JobKind::as_str`] name; a name this build does not know
/// (written by a newer version) is kept in the table and left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// After a transition of a ceremony (sent, a signature): issue and mail the links whose turn
    /// came, or complete the document when everyone signed. Subject: the document.
    CeremonyAdvance,
    /// Complete, seal and mail a document whose signers all signed. Subject: the document.
    DocumentComplete,
    /// Expire a document whose deadline came (the core decides; a finished one stays as it
    /// is). Subject: the document; due at the deadline.
    DocumentExpire,
    /// Mail a notice about a document to one person (declined, voided). Subject: the document;
    /// the payload says which notice and to whom.
    MailNotice,
    /// Sign a checkpoint of the evidence log (recurring).
    Checkpoint,
    /// Delete session records that can no longer let anyone in (recurring).
    SessionPurge,
    /// Delete expired sign-in sessions (recurring).
    ExpiredSessions,
    /// Remove files stopped processes left behind (recurring).
    OrphanSweep,
    /// Queue completion for every document that needs it and has no job (recurring safety net).
    CompletionSweep,
    /// Delete finished jobs past their retention (recurring).
    JobPurge,
    /// Re-derive the whole log, check the captured changes against it, and re-hash every stored
    /// file against the hashes recorded for it; store the result, alert owners on a failure
    /// (recurring, nightly by default).
    SelfVerify,
    /// Apply the retention policy (`crate::retention`): purge what its windows let go, in
    /// bounded batches, nothing on legal hold; record each purge (recurring, daily).
    Retention,
    /// Scan a document's text for risky and missing clauses, store the flags with their
    /// `risk.flagged` events and alert on serious ones. Subject: the document.
    RiskScan,
    /// Queue a scan for every document in progress not yet scanned by this engine version, and
    /// resolve the flags of documents that finished (recurring, hourly by default).
    RiskSweep,
    /// Resolve a finished (completed, expired) document's flags. Subject: the document.
    RiskResolve,
    /// Send the reminders due on a document (`crate::ceremony::Ceremony::reminders_due`), each
    /// with a fresh link. Subject: the document.
    Remind,
    /// Record the documents out for signature that stalled past a threshold
    /// (`crate::ceremony::Ceremony::stall_due`), once per threshold (recurring, hourly).
    StallSweep,
    /// Send a draft whose scheduled time came (`crate::ceremony::Command::Schedule`); a
    /// cancelled or moved schedule leaves it nothing to do. Subject: the document; due at the
    /// scheduled time.
    ScheduledSend,
}

impl JobKind {
    pub const ALL: [JobKind; 18] = [
        JobKind::CeremonyAdvance,
        JobKind::DocumentComplete,
        JobKind::DocumentExpire,
        JobKind::MailNotice,
        JobKind::Checkpoint,
        JobKind::SessionPurge,
        JobKind::ExpiredSessions,
        JobKind::OrphanSweep,
        JobKind::CompletionSweep,
        JobKind::JobPurge,
        JobKind::SelfVerify,
        JobKind::Retention,
        JobKind::RiskScan,
        JobKind::RiskSweep,
        JobKind::RiskResolve,
        JobKind::Remind,
        JobKind::StallSweep,
        JobKind::ScheduledSend,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::CeremonyAdvance => "ceremony.advance",
            JobKind::DocumentComplete => "document.complete",
            JobKind::DocumentExpire => "document.expire",
            JobKind::MailNotice => "mail.notice",
            JobKind::Checkpoint => "evidence.checkpoint",
            JobKind::SessionPurge => "sessions.purge_records",
            JobKind::ExpiredSessions => "sessions.delete_expired",
            JobKind::OrphanSweep => "storage.sweep_orphans",
            JobKind::CompletionSweep => "documents.completion_sweep",
            JobKind::JobPurge => "jobs.purge",
            JobKind::SelfVerify => "instance.self_verify",
            JobKind::Retention => "retention.run",
            JobKind::RiskScan => "risk.scan",
            JobKind::RiskSweep => "risk.sweep",
            JobKind::RiskResolve => "risk.resolve",
            JobKind::Remind => "ceremony.remind",
            JobKind::StallSweep => "documents.stall_sweep",
            JobKind::ScheduledSend => "document.send_scheduled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a job is kept from running twice for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dedupe {
    /// Every enqueue is a job of its own.
    None,
    /// Joins a job of the same kind and subject that is waiting and was never tried: asking
    /// twice for "advance document X" before it ran runs it once. A job already running or
    /// retrying does not absorb the new request (it may have read the state before the change
    /// that asked again).
    WhileWaiting,
    /// At most one job with this key, ever (kept while finished jobs are kept): one run per
    /// period of a recurring schedule, see [`Schedule::period_key`].
    Once(String),
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: JobKind,
    /// What it is about (a document id), or empty.
    pub subject: String,
    /// JSON the handler reads; `{}` when the kind and subject say everything.
    pub payload: String,
    pub run_at: Timestamp,
    pub dedupe: Dedupe,
}

impl NewJob {
    /// A job about `subject`, due at `run_at`, that joins a waiting one of the same kind and
    /// subject.
    pub fn about(kind: JobKind, subject: impl Into<String>, run_at: Timestamp) -> Self {
        Self { kind, subject: subject.into(), payload: "{}".to_owned(), run_at, dedupe: Dedupe::WhileWaiting }
    }

    /// A job carrying `payload`, never merged with another.
    pub fn with_payload(kind: JobKind, subject: impl Into<String>, payload: String, run_at: Timestamp) -> Self {
        Self { kind, subject: subject.into(), payload, run_at, dedupe: Dedupe::None }
    }
}

/// Retries: after the n-th failed attempt a job waits `min(max, base · 2^(n-1))`, of which the
/// second half is jitter ("equal jitter"), and after `max_attempts` failed attempts it has failed
/// for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub max_attempts: u32,
}

impl Default for Backoff {
    /// 10 s, 20 s, 40 s, … up to an hour, eight attempts (about 1 h 20 min of trying); the
    /// completion sweep picks a document up again after that.
    fn default() -> Self {
        Self { base: Duration::from_secs(10), max: Duration::from_secs(3600), max_attempts: 8 }
    }
}

/// What happens after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(Timestamp),
    GiveUp,
}

impl Backoff {
    /// The ceiling of the pause after `attempts` failed attempts (before jitter).
    pub fn ceiling(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(32);
        self.base.saturating_mul(1u32 << exponent.min(31)).min(self.max)
    }

    /// The pause after `attempts` failed attempts of job `job_id`: half the ceiling plus a part
    /// of the other half drawn from the job's id and attempt (the same job and attempt always
    /// wait the same; different jobs failing together spread out).
    pub fn pause(&self, job_id: &str, attempts: u32) -> Duration {
        let ceiling = self.ceiling(attempts);
        let half = ceiling / 2;
        half + (ceiling - half).mul_f64(jitter(job_id, attempts))
    }

    /// Whether and when job `job_id` runs again after its `attempts`-th attempt failed at `now`.
    pub fn after_failure(&self, job_id: &str, attempts: u32, now: Timestamp) -> AfterFailure {
        if attempts >= self.max_attempts {
            AfterFailure::GiveUp
        } else {
            AfterFailure::RetryAt(now.saturating_add(self.pause(job_id, attempts)))
        }
    }
}

/// A number in `[0, 1)` from the job's id and attempt (SHA-256, first 53 bits).
fn jitter(job_id: &str, attempts: u32) -> f64 {
    let mut h = sha2::Sha256::new();
    h.update(b"attesta/v1/job-jitter\0");
    h.update(job_id.as_bytes());
    h.update(attempts.to_be_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

/// When recurring work runs: a cron pattern (`"*/5 * * * *"`: minute, hour, day of month,
/// month, day of week; an optional leading seconds field; `@hourly` and friends) read in a time
/// zone (UTC unless given), or `"off"`.
#[derive(Debug, Clone)]
pub struct Schedule {
    pattern: String,
    cron: Option<croner::Cron>,
    zone: chrono_tz::Tz,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern && self.zone == other.zone
    }
}

/// An IANA time zone name (`Europe/Berlin`, `America/New_York`, `UTC`).
pub fn parse_time_zone(name: &str) -> Result<chrono_tz::Tz, ScheduleError> {
    name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        ScheduleError(format!("{name:?} is not an IANA time zone name (such as \"Europe/Berlin\" or \"UTC\")"))
    })
}

impl Schedule {
    /// A pattern read in UTC.
    pub fn parse(pattern: &str) -> Result<Self, ScheduleError> {
        Self::parse_in(pattern, chrono_tz::Tz::UTC)
    }

    /// A pattern read in `zone`: `"0 2 * * *"` in `Europe/Berlin` is 02:00 Berlin time, winter
    /// and summer (on the night clocks go forward, when 02:00 does not exist, the next time
    /// that does).
    pub fn parse_in(pattern: &str, zone: chrono_tz::Tz) -> Result<Self, ScheduleError> {
        let pattern = pattern.trim();
        if pattern.eq_ignore_ascii_case("off") {
            return Ok(Self { pattern: "off".to_owned(), cron: None, zone });
        }
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .build()
            .parse(pattern)
            .map_err(|e| ScheduleError(format!("{pattern:?} is not a cron pattern: {e}")))?;
        Ok(Self { pattern: pattern.to_owned(), cron: Some(cron), zone })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn is_off(&self) -> bool {
        self.cron.is_none()
    }

    /// The start of the period `now` is in: the latest time at or before `now` the pattern
    /// matches (`None` when off, or when it has never matched within the search limit).
    pub fn period_start(&self, now: Timestamp) -> Option<Timestamp> {
        let at = to_chrono(now)?.with_timezone(&self.zone);
        let previous = self.cron.as_ref()?.find_previous_occurrence(&at, true).ok()?;
        Some(from_chrono(previous.with_timezone(&chrono::Utc)))
    }

    /// The first time after `now` the pattern matches.
    pub fn next_after(&self, now: Timestamp) -> Option<Timestamp> {
        let at = to_chrono(now)?.with_timezone(&self.zone);
        let next = self.cron.as_ref()?.find_next_occurrence(&at, false).ok()?;
        Some(from_chrono(next.with_timezone(&chrono::Utc)))
    }

    /// The zone the pattern is read in.
    pub fn zone(&self) -> &str {
        self.zone.name()
    }

    /// The key of the run for the period `now` is in: `kind@start-micros`. Every process that
    /// notices the period enqueues with this key and only the first insert makes a job.
    pub fn period_key(&self, kind: JobKind, now: Timestamp) -> Option<(String, Timestamp)> {
        let start = self.period_start(now)?;
        Some((format!("{}@{}", kind.as_str(), start.as_micros()), start))
    }
}

fn to_chrono(t: Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_micros(t.as_micros())
}

fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> Timestamp {
    Timestamp::from_micros(t.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000_000;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(JobKind::parse("no.such.kind"), None);
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling_and_then_gives_up() {
        let b = Backoff { base: Duration::from_secs(10), max: Duration::from_secs(60), max_attempts: 5 };
        assert_eq!(b.ceiling(1), Duration::from_secs(10));
        assert_eq!(b.ceiling(2), Duration::from_secs(20));
        assert_eq!(b.ceiling(3), Duration::from_secs(40));
        assert_eq!(b.ceiling(4), Duration::from_secs(60));
        assert_eq!(b.ceiling(100), Duration::from_secs(60));
        let now = Timestamp::from_micros(0);
        for attempts in 1..5 {
            let AfterFailure::RetryAt(at) = b.after_failure("job_1", attempts, now) else { panic!("retries") };
            let pause = at.duration_since(now);
            assert!(pause >= b.ceiling(attempts) / 2 && pause <= b.ceiling(attempts), "{pause:?}");
        }
        assert_eq!(b.after_failure("job_1", 5, now), AfterFailure::GiveUp);
    }

    #[test]
    fn jitter_is_the_same_for_one_job_and_spreads_different_jobs() {
        let b = Backoff::default();
        assert_eq!(b.pause("job_a", 3), b.pause("job_a", 3));
        let pauses: std::collections::BTreeSet<_> = (0..20).map(|i| b.pause(&format!("job_{i}"), 3)).collect();
        assert!(pauses.len() > 15, "jitter spreads jobs out: {pauses:?}");
    }

    #[test]
    fn a_schedule_names_one_period_for_every_moment_in_it() {
        let s = Schedule::parse("*/5 * * * *").expect("parses");
        let t0 = Timestamp::from_micros(1_800_000_000 * 1_000_000); // 2027-01-15 08:00:00 UTC
        let (k0, start) = s.period_key(JobKind::Checkpoint, t0).expect("key");
        assert_eq!(start, t0);
        for later in [1, MINUTE, 4 * MINUTE + 59_999_999] {
            let (k, _) = s.period_key(JobKind::Checkpoint, Timestamp::from_micros(t0.as_micros() + later)).expect("k");
            assert_eq!(k, k0, "same period {later}");
        }
        let (k5, start5) =
            s.period_key(JobKind::Checkpoint, Timestamp::from_micros(t0.as_micros() + 5 * MINUTE)).expect("k");
        assert_ne!(k5, k0);
        assert_eq!(start5.as_micros(), t0.as_micros() + 5 * MINUTE);
        assert_eq!(s.next_after(t0), Some(Timestamp::from_micros(t0.as_micros() + 5 * MINUTE)));
        assert!(k0.starts_with("evidence.checkpoint@"));
    }

    #[test]
    fn schedules_take_seconds_nicknames_and_off_and_refuse_nonsense() {
        let every_10s = Schedule::parse("*/10 * * * * *").expect("six fields");
        let t = Timestamp::from_micros(1_800_000_005 * 1_000_000);
        assert_eq!(every_10s.period_start(t), Some(Timestamp::from_micros(1_800_000_000 * 1_000_000)));
        assert!(Schedule::parse("@hourly").is_ok());
        let off = Schedule::parse("off").expect("off");
        assert!(off.is_off() && off.period_key(JobKind::Checkpoint, t).is_none());
        assert!(Schedule::parse("every minute").is_err());
        assert!(Schedule::parse("61 * * * *").is_err());
    }

    #[test]
    fn a_daily_schedule_runs_at_the_operators_two_oclock_winter_and_summer() {
        let berlin = parse_time_zone("Europe/Berlin").expect("zone");
        let s = Schedule::parse_in("0 2 * * *", berlin).expect("parses");
        assert_eq!(s.zone(), "Europe/Berlin");
        // 2027-01-15 12:00 UTC (winter, UTC+1): the period began at 02:00 Berlin = 01:00 UTC.
        let winter = Timestamp::from_micros(1_800_000_000 * 1_000_000 + 4 * 3600 * 1_000_000);
        let start = s.period_start(winter).expect("start");
        assert_eq!(start.as_micros() % (86_400 * 1_000_000), 3600 * 1_000_000, "01:00 UTC");
        // 2027-07-15 12:00 UTC (summer, UTC+2): 02:00 Berlin = 00:00 UTC.
        let summer = Timestamp::from_micros(1_815_652_800 * 1_000_000);
        let start = s.period_start(summer).expect("start");
        assert_eq!(start.as_micros() % (86_400 * 1_000_000), 0, "00:00 UTC");
        // The same pattern in UTC starts at 02:00 UTC, a different period.
        let utc = Schedule::parse("0 2 * * *").expect("utc");
        assert_ne!(utc, s);
        assert_eq!(utc.period_start(winter).expect("s").as_micros() % (86_400 * 1_000_000), 2 * 3600 * 1_000_000);
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}
