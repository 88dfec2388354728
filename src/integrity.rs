//! Which stored files a self-verification re-hashes: a rolling schedule. Decrypting and hashing
//! every file every night costs time proportional to everything ever stored; instead each run
//! takes its share of the files, oldest check first, so every file is re-hashed at least once
//! per `period` (the log itself is re-derived whole on every run: it is cheap).
//!
//! A file never checked, or whose last check is as old as the period (or failed), is always
//! taken; then, oldest first, enough others that the period is covered by the runs it holds.

use crate::time::Timestamp;
use std::time::Duration;

/// A stored file as the schedule sees it: when it was last re-hashed, and whether that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastCheck {
    pub at: Option<Timestamp>,
    pub ok: bool,
}

/// The indices of `files` to re-hash in a run at `now`, when runs come every `interval` and
/// every file must be re-hashed within `period`. A zero period re-hashes everything.
pub fn files_to_check(files: &[LastCheck], now: Timestamp, interval: Duration, period: Duration) -> Vec<usize> {
    if period.is_zero() || interval >= period {
        return (0..files.len()).collect();
    }
    // Due when the next run would find it older than the period (half a run of slack: runs
    // start a little later or earlier from night to night).
    let overdue_before = now.saturating_sub(period.saturating_sub(interval / 2));
    let must = |f: &LastCheck| !f.ok || f.at.is_none_or(|at| at <= overdue_before);
    let mut order: Vec<usize> = (0..files.len()).collect();
    // What must be checked first (failed, never checked, overdue), then the oldest check.
    order.sort_by_key(|&i| (!must(&files[i]), files[i].at));
    // This run's share: the runs a period holds split the files between them.
    let runs = (period.as_secs_f64() / interval.as_secs_f64().max(1.0)).floor().max(1.0);
    let share = (files.len() as f64 / runs).ceil() as usize;
    let mut chosen: Vec<usize> =
        order.iter().enumerate().filter(|&(rank, &i)| rank < share || must(&files[i])).map(|(_, &i)| i).collect();
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);
    const T0: Timestamp = Timestamp::from_micros(1_800_000_000_000_000);

    fn at(days: u64) -> Timestamp {
        T0.saturating_add(DAY * u32::try_from(days).expect("days"))
    }

    /// Runs `nights` daily runs over `n` files, all never checked at first; returns, per file,
    /// the longest time it went without a check, and how many files each run took.
    fn simulate(n: usize, nights: u64, period: Duration) -> (Duration, Vec<usize>) {
        let mut files = vec![LastCheck { at: None, ok: true }; n];
        let mut longest = Duration::ZERO;
        let mut taken = Vec::new();
        for night in 0..nights {
            let now = at(night);
            let chosen = files_to_check(&files, now, DAY, period);
            taken.push(chosen.len());
            for i in chosen {
                if let Some(before) = files[i].at {
                    longest = longest.max(now.duration_since(before));
                }
                files[i].at = Some(now);
            }
            for f in &files {
                longest = longest.max(f.at.map_or(Duration::ZERO, |a| now.duration_since(a)));
            }
        }
        (longest, taken)
    }

    #[test]
    fn every_file_is_rehashed_within_the_period_in_even_shares() {
        let (longest, taken) = simulate(1_000, 30, 7 * DAY);
        assert!(longest <= 7 * DAY, "{longest:?}");
        // The first night takes everything never checked; after that, about a seventh each.
        assert_eq!(taken[0], 1_000);
        assert!(taken[8..].iter().all(|&n| (100..=290).contains(&n)), "{taken:?}");
    }

    #[test]
    fn a_zero_period_or_one_shorter_than_the_runs_checks_everything() {
        let files = vec![LastCheck { at: Some(T0), ok: true }; 5];
        assert_eq!(files_to_check(&files, at(1), DAY, Duration::ZERO).len(), 5);
        assert_eq!(files_to_check(&files, at(1), DAY, DAY).len(), 5);
    }

    #[test]
    fn a_failed_or_never_checked_file_is_always_taken() {
        let mut files = vec![LastCheck { at: Some(at(10)), ok: true }; 70];
        files[40].ok = false;
        files[41].at = None;
        let chosen = files_to_check(&files, at(10), DAY, 7 * DAY);
        assert!(chosen.contains(&40) && chosen.contains(&41), "{chosen:?}");
        assert_eq!(chosen.len(), 10, "the share of 70 files over 7 runs, the two musts first");
    }
}
