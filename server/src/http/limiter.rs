//! Rate limits (GCRA: `per_minute` on average, with a burst), kept where every instance sees
//! them: in PostgreSQL when the instance runs on it (several processes behind a load balancer
//! then share one limit, as a user configuring "60 a minute" expects), in memory on SQLite (one
//! process; a write and fsync per request would cost more than the limit protects).
//!
//! The shared form is one statement per request: an upsert that moves the bucket's theoretical
//! arrival time (`tat`) on only when the request is allowed, on an UNLOGGED table (no WAL, no
//! fsync: a crash forgets recent counts, which only ever lets a few more requests through).

use attesta_core::ports::Clock;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sqlx::AnyPool;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Every this many checks, buckets idle for long are forgotten.
const SWEEP_EVERY: u64 = 4096;

#[derive(Clone)]
pub struct Limiter(Arc<Inner>);

enum Inner {
    Local(DefaultKeyedRateLimiter<String>, AtomicU64),
    Shared {
        pool: AnyPool,
        clock: Arc<dyn Clock>,
        /// Microseconds between requests at the average rate.
        interval: i64,
        /// How far ahead of now the arrival time may run: the burst.
        tolerance: i64,
        checks: AtomicU64,
    },
}

impl Limiter {
    /// A limit of `per_minute` with bursts of `burst`, shared through `shared` when given.
    pub fn new(per_minute: u32, burst: u32, shared: Option<(AnyPool, Arc<dyn Clock>)>) -> Self {
        let rate = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self(Arc::new(match shared {
            None => Inner::Local(RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)), AtomicU64::new(0)),
            Some((pool, clock)) => {
                let interval = 60_000_000 / i64::from(rate.get());
                Inner::Shared {
                    pool,
                    clock,
                    interval,
                    tolerance: interval.saturating_mul(i64::from(burst.get())),
                    checks: AtomicU64::new(0),
                }
            }
        }))
    }

    /// Whether the limit is shared by every instance on the database.
    pub fn is_shared(&self) -> bool {
        matches!(*self.0, Inner::Shared { .. })
    }

    /// Counts a request against `bucket`: `Ok`, or how long to wait before the next one.
    pub async fn check(&self, bucket: &str) -> Result<(), Duration> {
        match &*self.0 {
            Inner::Local(limiter, checks) => {
                if checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
                    limiter.retain_recent();
                }
                limiter
                    .check_key(&bucket.to_owned())
                    .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
            }
            Inner::Shared { pool, clock, interval, tolerance, checks } => {
                let now = clock.now().as_micros();
                if checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
                    // Buckets whose arrival time has passed are at rest: forgetting them changes nothing.
                    let _ = sqlx::query("DELETE FROM rate_limits WHERE tat < $1").bind(now).execute(pool).await;
                }
                match shared_check(pool, bucket, now, *interval, *tolerance).await {
                    Ok(result) => result,
                    Err(e) => {
                        // The database is what serves the request too; if it cannot count,
                        // letting the request through is better than refusing every signer.
                        tracing::warn!(error = %e, bucket, "rate limit not counted");
                        Ok(())
                    }
                }
            }
        }
    }
}

async fn shared_check(
    pool: &AnyPool,
    bucket: &str,
    now: i64,
    interval: i64,
    tolerance: i64,
) -> Result<Result<(), Duration>, sqlx::Error> {
    let moved: Option<i64> = sqlx::query_scalar(
        "INSERT INTO rate_limits (bucket, tat) VALUES ($1, $2 + $3) \
         ON CONFLICT (bucket) DO UPDATE \
         SET tat = (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 \
         WHERE (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 - $2 <= $4 \
         RETURNING tat",
    )
    .bind(bucket)
    .bind(now)
    .bind(interval)
    .bind(tolerance)
    .fetch_optional(pool)
    .await?;
    if moved.is_some() {
        return Ok(Ok(()));
    }
    let tat: i64 = sqlx::query_scalar("SELECT tat FROM rate_limits WHERE bucket = $1")
        .bind(bucket)
        .fetch_optional(pool)
        .await?
        .unwrap_or(now);
    // Allowed again once tat + interval - now <= tolerance.
    let wait = tat.saturating_add(interval).saturating_sub(tolerance).saturating_sub(now).max(1);
    Ok(Err(Duration::from_micros(u64::try_from(wait).unwrap_or(1))))
}

/// Whole seconds to put in `Retry-After` (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_limit_allows_the_burst_then_says_how_long_to_wait() {
        let limiter = Limiter::new(60, 3, None);
        for _ in 0..3 {
            assert!(limiter.check("a").await.is_ok());
        }
        let wait = limiter.check("a").await.expect_err("limited");
        assert_eq!(retry_after_secs(wait), 1);
        assert!(limiter.check("b").await.is_ok(), "per bucket");
        assert!(!limiter.is_shared());
    }

    struct At(std::sync::Mutex<i64>);

    impl Clock for At {
        fn now(&self) -> attesta_core::Timestamp {
            attesta_core::Timestamp::from_micros(*self.0.lock().expect("clock"))
        }
    }

    #[tokio::test]
    async fn a_shared_limit_counts_in_the_database_and_recovers_at_the_average_rate() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("limits.db").display());
        let pool = crate::store::db::connect(&url, 2).await.expect("db");
        let clock = Arc::new(At(std::sync::Mutex::new(1_000_000_000)));
        // Two limiters over one table: two instances.
        let a = Limiter::new(60, 2, Some((pool.clone(), clock.clone())));
        let b = Limiter::new(60, 2, Some((pool, clock.clone())));
        assert!(a.is_shared());
        assert!(a.check("k").await.is_ok());
        assert!(b.check("k").await.is_ok());
        let wait = a.check("k").await.expect_err("the burst of 2 is used up across both");
        assert_eq!(wait, Duration::from_secs(1), "one interval at 60 a minute");
        assert!(b.check("other").await.is_ok(), "per bucket");
        *clock.0.lock().expect("clock") += 1_000_000;
        assert!(b.check("k").await.is_ok(), "one more after one interval");
        assert!(a.check("k").await.is_err());
    }
}
