//! Signed-in sessions as the user sees and controls them: which devices are signed in, since
//! when, last seen where; ending one, or all of them.
//!
//! The session itself (its secret id in an httpOnly cookie, its data) belongs to the web layer.
//! Each session also carries a [`SessionHandle`]: a random name for it that is not a credential
//! (knowing it lets nobody in), under which the registry keeps what a user may see and revoke.
//! A session is valid only while its registry record is live, so revoking the record ends the
//! session on its next request, on whatever server process serves it.

use crate::accounts::UserId;
use crate::evidence::Acting;
pub use crate::evidence::instance::RevokeReason;
use crate::ports::StoreError;
use crate::time::Timestamp;
use async_trait::async_trait;
use std::time::Duration;

/// The public name of one session: 16 random bytes as 32 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionHandle(String);

impl SessionHandle {
    /// A handle from 16 random bytes the caller drew (the core has no randomness of its own).
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A handle as written by [`SessionHandle::as_str`]; anything else is refused.
    pub fn parse(input: &str) -> Option<Self> {
        let ok = input.len() == 32 && input.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the registry keeps about one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub handle: SessionHandle,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The client address of the last request seen.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<Timestamp>,
}

/// How long sessions last and how often their "last seen" is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Ends a session this long after its last request.
    pub idle_timeout: Duration,
    /// Ends a session this long after sign-in, however active.
    pub absolute_timeout: Duration,
    /// "Last seen" is rewritten at most this often (a write per request would be a write per
    /// page and per session check).
    pub touch_every: Duration,
}

impl SessionPolicy {
    /// Whether `record` still lets its holder in at `now`.
    pub fn is_live(&self, record: &SessionRecord, now: Timestamp) -> bool {
        record.revoked_at.is_none()
            && record.created_at.saturating_add(self.absolute_timeout) > now
            && record.last_seen_at.saturating_add(self.idle_timeout) > now
    }

    /// Whether a request at `now` from `ip` should be written down as the record's last sighting.
    pub fn needs_touch(&self, record: &SessionRecord, now: Timestamp, ip: Option<&str>) -> bool {
        record.last_seen_at.saturating_add(self.touch_every) <= now || record.ip.as_deref() != ip
    }

    /// Records last seen before this instant are dead by the idle timeout, whatever else holds.
    pub fn idle_cutoff(&self, now: Timestamp) -> Timestamp {
        now.saturating_sub(self.idle_timeout)
    }
}

/// Where session records live. The server keeps them in its database, so every process agrees.
#[async_trait]
pub trait SessionRegistry: Send + Sync {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError>;
    async fn get(&self, handle: &SessionHandle) -> Result<Option<SessionRecord>, StoreError>;
    /// Writes the last sighting of a session.
    async fn touch(
        &self,
        handle: &SessionHandle,
        at: Timestamp,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Revokes one session of `user`; `false` when there is no such live session of theirs.
    /// Recorded as `session.revoked` by `by` for `reason`, in the same transaction.
    async fn revoke(
        &self,
        user: UserId,
        handle: &SessionHandle,
        at: Timestamp,
        by: &Acting,
        reason: RevokeReason,
    ) -> Result<bool, StoreError>;
    /// Revokes every session of `user` except `keep`; returns how many were ended. Recorded
    /// as one `session.revoked` by `by` for `reason`, in the same transaction.
    async fn revoke_all(
        &self,
        user: UserId,
        keep: Option<&SessionHandle>,
        at: Timestamp,
        by: &Acting,
        reason: RevokeReason,
    ) -> Result<u64, StoreError>;
    /// The records of `user` not revoked and seen since `seen_since`, most recent first.
    async fn list(&self, user: UserId, seen_since: Timestamp) -> Result<Vec<SessionRecord>, StoreError>;
    /// Deletes records that can no longer let anyone in (revoked, or last seen before `before`).
    async fn purge(&self, before: Timestamp) -> Result<u64, StoreError>;
}

/// A short description of the device behind a user agent, e.g. "Firefox on Linux" or
/// "Safari on iPhone": what a person recognises in a list of their sessions.
pub fn device_label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".to_owned();
    };
    let browser = browser_of(ua);
    match (browser, platform_of(ua)) {
        (Some(b), Some(p)) => format!("{b} on {p}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(p)) => format!("Browser on {p}"),
        (None, None) => {
            let first = ua.split_whitespace().next().unwrap_or(ua);
            let first: String = first.chars().take(40).collect();
            first
        }
    }
}

/// The browser, tested in an order that respects how user agents borrow each other's names
/// (Edge says Chrome and Safari, Chrome says Safari, Chromium-based apps say Chrome).
fn browser_of(ua: &str) -> Option<&'static str> {
    const BROWSERS: [(&str, &str); 10] = [
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    if ua.starts_with("curl/") {
        return Some("curl");
    }
    BROWSERS.iter().find(|(needle, _)| ua.contains(needle)).map(|(_, name)| *name)
}

fn platform_of(ua: &str) -> Option<&'static str> {
    const PLATFORMS: [(&str, &str); 8] = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Macintosh", "macOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    PLATFORMS.iter().find(|(needle, _)| ua.contains(needle)).map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(created: i64, seen: i64) -> SessionRecord {
        SessionRecord {
            handle: SessionHandle::from_random([7; 16]),
            user_id: UserId(1),
            created_at: Timestamp::from_micros(created),
            last_seen_at: Timestamp::from_micros(seen),
            ip: Some("192.0.2.1".to_owned()),
            user_agent: None,
            revoked_at: None,
        }
    }

    const SEC: i64 = 1_000_000;

    fn policy() -> SessionPolicy {
        SessionPolicy {
            idle_timeout: Duration::from_secs(600),
            absolute_timeout: Duration::from_secs(3600),
            touch_every: Duration::from_secs(60),
        }
    }

    #[test]
    fn handles_round_trip_and_refuse_anything_else() {
        let h = SessionHandle::from_random([0xab; 16]);
        assert_eq!(h.as_str().len(), 32);
        assert_eq!(SessionHandle::parse(h.as_str()), Some(h));
        for bad in [
            "",
            "ABABABABABABABABABABABABABABABAB",
            "abab",
            "g0000000000000000000000000000000",
            "0000000000000000000000000000000000",
        ] {
            assert_eq!(SessionHandle::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_session_lives_until_idle_absolute_or_revoked() {
        let p = policy();
        let r = record(0, 0);
        assert!(p.is_live(&r, Timestamp::from_micros(599 * SEC)));
        assert!(!p.is_live(&r, Timestamp::from_micros(600 * SEC)), "idle timeout");
        let active = record(0, 3590 * SEC);
        assert!(p.is_live(&active, Timestamp::from_micros(3599 * SEC)));
        assert!(!p.is_live(&active, Timestamp::from_micros(3600 * SEC)), "absolute timeout, however active");
        let revoked = SessionRecord { revoked_at: Some(Timestamp::from_micros(SEC)), ..record(0, 0) };
        assert!(!p.is_live(&revoked, Timestamp::from_micros(2 * SEC)));
    }

    #[test]
    fn last_seen_is_written_once_a_minute_or_when_the_address_changes() {
        let p = policy();
        let r = record(0, 0);
        assert!(!p.needs_touch(&r, Timestamp::from_micros(59 * SEC), Some("192.0.2.1")));
        assert!(p.needs_touch(&r, Timestamp::from_micros(60 * SEC), Some("192.0.2.1")));
        assert!(p.needs_touch(&r, Timestamp::from_micros(SEC), Some("198.51.100.7")));
    }

    #[test]
    fn devices_are_named_as_people_know_them() {
        let cases = [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
                "Edge on Windows",
            ),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
                "Safari on macOS",
            ),
            ("curl/8.5.0", "curl"),
            ("SomeBot/1.0 (+https://example.com)", "SomeBot/1.0"),
            ("   ", "Unknown device"),
        ];
        for (ua, want) in cases {
            assert_eq!(device_label(Some(ua)), want, "{ua}");
        }
        assert_eq!(device_label(None), "Unknown device");
    }
}
