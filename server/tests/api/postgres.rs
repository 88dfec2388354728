//! PostgreSQL's own promises: the application role may read and append evidence but never
//! rewrite it (grants, on top of the triggers), `attesta migrate` sets that up through a
//! separate migration role, and the server names a role that holds too much.

use crate::helpers::*;
use attesta_core::entropy::EntropyExt as _;

/// A fresh schema in the test PostgreSQL: (the admin's URL, the application role's URL), both
/// with that schema first on their search path. `None` when no PostgreSQL is configured here
/// (a failure under CI).
async fn fresh_schema() -> Option<(String, String)> {
    let Ok(admin) = std::env::var("ATTESTA_TEST_PG_ADMIN_URL") else {
        assert!(
            !crate::completion::validators::services_required(),
            "PostgreSQL is required here: bash scripts/services/pg.sh start; eval \"$(bash scripts/services/pg.sh env)\""
        );
        eprintln!("skipped: no PostgreSQL (ATTESTA_TEST_PG_ADMIN_URL); start it with scripts/services/pg.sh");
        return None;
    };
    let role = std::env::var("ATTESTA_TEST_PG_APP_ROLE").expect("ATTESTA_TEST_PG_APP_ROLE (pg.sh env)");
    let password = std::env::var("ATTESTA_TEST_PG_APP_PASSWORD").expect("ATTESTA_TEST_PG_APP_PASSWORD (pg.sh env)");
    let schema = format!("g_{}", attesta_server::Ports::system().entropy.base32(16));
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.expect("connect");
    sqlx::Executor::execute(&mut conn, format!("CREATE SCHEMA {schema}").as_str()).await.expect("schema");
    let mut app = url::Url::parse(&admin).expect("admin URL");
    app.set_username(&role).expect("user");
    app.set_password(Some(&password)).expect("password");
    let path = format!("options%5Bsearch_path%5D={schema}");
    Some((format!("{admin}?{path}"), format!("{app}?{path}")))
}

async fn pool(url: &str) -> sqlx::AnyPool {
    attesta_server::store::db::open(url, 2).await.expect("pool")
}

#[tokio::test]
async fn the_application_role_reads_and_appends_evidence_but_cannot_rewrite_it() {
    let Some((admin_url, app_url)) = fresh_schema().await else { return };

    // `attesta migrate` through the migration role grants the application's role.
    let out = attesta()
        .env("ATTESTA__DATABASE__URL", &app_url)
        .env("ATTESTA__DATABASE__MIGRATE_URL", &admin_url)
        .arg("migrate")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("granted attesta_app"), "{text}");

    // The server runs as the application role alone (the schema is up to date, so it needs
    // no CREATE): set-up, sign-in and an upload all write state and evidence.
    let app_for_config = app_url.clone();
    let app = spawn_app_with(Options::configured(move |c| {
        c.database.url = app_for_config.into();
    }))
    .await;
    app.set_up_owner().await;
    let r = app.upload("lease.pdf", pdf(1, "Lease"), None).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());

    let as_app = pool(&app_url).await;
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&as_app).await.expect("count");
    assert!(events >= 3, "set-up, sign-in keys and upload appended: {events}");
    for table in attesta_server::store::db::EVIDENCE_TABLES {
        for sql in [
            format!("UPDATE {table} SET log_index = log_index"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table}"),
        ] {
            let sql = if table == "log_nodes" { sql.replace("log_index = log_index", "idx = idx") } else { sql };
            let sql =
                if table == "log_checkpoints" { sql.replace("log_index = log_index", "note = note") } else { sql };
            // The retention purge deletes personal data (never alters it): DELETE is granted.
            if table == "audit_personal" && sql.starts_with("DELETE") {
                let mut tx = as_app.begin().await.expect("begin");
                sqlx::query(&sql).execute(&mut *tx).await.expect("the purge may delete personal data");
                tx.rollback().await.expect("rollback");
                continue;
            }
            let err = sqlx::query(&sql).execute(&as_app).await.expect_err(&sql).to_string();
            assert!(err.contains("permission denied"), "{sql}: {err}");
        }
    }
    assert!(
        attesta_server::store::db::excess_privileges(&as_app).await.expect("privileges").is_empty(),
        "the application role holds exactly what it needs"
    );
    let as_admin = pool(&admin_url).await;
    let excess = attesta_server::store::db::excess_privileges(&as_admin).await.expect("privileges");
    assert!(excess.iter().any(|e| e.contains("audit_events")), "the owner is named as holding too much: {excess:?}");
    // The triggers refuse even the owner.
    let err = sqlx::query("UPDATE audit_events SET event_type = event_type")
        .execute(&as_admin)
        .await
        .expect_err("the owner is refused too")
        .to_string();
    assert!(err.contains("append-only"), "{err}");
}

#[tokio::test]
async fn an_api_keys_rate_limit_holds_across_instances() {
    let first = spawn_app_with(Options::configured(|c| {
        c.api.requests_per_minute = 1;
        c.api.burst = 3;
    }))
    .await;
    if !first.on_postgres() {
        eprintln!(
            "not on this pass: on SQLite (one process) limits are kept in memory; this runs in the PostgreSQL pass"
        );
        return;
    }
    first.set_up_owner().await;
    let second = spawn_app_with(beside(&first, |c| {
        c.api.requests_per_minute = 1;
        c.api.burst = 3;
    }))
    .await;
    let key = first.create_api_key(1, "busy", "read").await;
    let get = |app: &TestApp| reqwest::Client::new().get(app.url("/api/v1/documents")).bearer_auth(&key).send();
    // The burst of three, spread over both instances, then the fourth is refused by either.
    for app in [&first, &second, &first] {
        assert_eq!(get(app).await.expect("request").status(), 200);
    }
    let refused = get(&second).await.expect("request");
    assert_eq!(refused.status(), 429, "the limit is the instances' together, not each one's");
    let wait: u64 = refused.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
}
