//! The `sso_identities` table: which provider identity (issuer, subject) is which account.

use attesta_core::{EmailAddress, Timestamp, UserId};
use sqlx::AnyPool;

#[derive(Clone)]
pub struct Identities {
    pool: AnyPool,
}

impl Identities {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The account `(issuer, subject)` is linked to.
    pub async fn user_of(&self, issuer: &str, subject: &str) -> anyhow::Result<Option<UserId>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2")
                .bind(issuer)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(UserId))
    }

    /// Links `(issuer, subject)` to `user`. When another sign-in linked it first (two callbacks
    /// racing), the existing link stands and is returned.
    pub async fn link(
        &self,
        issuer: &str,
        subject: &str,
        user: UserId,
        email: &EmailAddress,
        at: Timestamp,
    ) -> anyhow::Result<UserId> {
        sqlx::query(
            "INSERT INTO sso_identities (issuer, subject, user_id, email, created_at, last_login_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (issuer, subject) DO NOTHING",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user.0)
        .bind(email.as_str())
        .bind(at.as_micros())
        .execute(&self.pool)
        .await?;
        self.user_of(issuer, subject).await?.ok_or_else(|| anyhow::anyhow!("the identity link vanished"))
    }

    /// Records a sign-in: its time, and the email the provider vouched for this time.
    pub async fn signed_in(
        &self,
        issuer: &str,
        subject: &str,
        email: &EmailAddress,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE sso_identities SET last_login_at = $3, email = $4 WHERE issuer = $1 AND subject = $2")
            .bind(issuer)
            .bind(subject)
            .bind(at.as_micros())
            .bind(email.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
