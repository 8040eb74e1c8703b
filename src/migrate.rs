//! `hyperfleet migrate`: applies the embedded migrations in order, one transaction each, under
//! the migration advisory lock so replicas running it at once wait for each other (§10.7).

use std::time::{Duration, Instant};

use sqlx::migrate::Migrate;
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::config::DatabaseSettings;
use crate::MIGRATOR;

/// Advisory lock key of migrations (spec Design choice 18).
const MIGRATION_LOCK: (i32, i32) = (1_751_515_136, 0);
/// How long `migrate` keeps trying to reach the database.
const CONNECT_PATIENCE: Duration = Duration::from_secs(30);

/// Runs the migrations and returns the process exit status (0 ok, 1 failure).
pub async fn run(settings: &DatabaseSettings) -> u8 {
    match migrate(settings).await {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("hyperfleet: error: migrate: {message}");
            1
        }
    }
}

async fn connect(settings: &DatabaseSettings) -> Result<PgConnection, String> {
    // Migrations may rewrite large tables: no statement timeout for this session.
    let options = settings.connect.clone().options([("statement_timeout", "0")]);
    let deadline = Instant::now() + CONNECT_PATIENCE;
    loop {
        let attempt = tokio::time::timeout(settings.connect_timeout, options.connect()).await;
        let error = match attempt {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "connection attempt timed out".to_owned(),
        };
        if Instant::now() >= deadline {
            return Err(format!("cannot connect to the database at {}: {error}", settings.target));
        }
        tracing::warn!(database = %settings.target, %error, "database not reachable yet; retrying");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn migrate(settings: &DatabaseSettings) -> Result<(), String> {
    let mut conn = connect(settings).await?;
    sqlx::query("SELECT pg_advisory_lock($1, $2)")
        .bind(MIGRATION_LOCK.0)
        .bind(MIGRATION_LOCK.1)
        .execute(&mut conn)
        .await
        .map_err(|e| format!("cannot take the migration lock: {e}"))?;
    let result = apply_pending(&mut conn).await;
    // Closing the session releases the lock even if the explicit unlock fails.
    let _ = sqlx::query("SELECT pg_advisory_unlock($1, $2)")
        .bind(MIGRATION_LOCK.0)
        .bind(MIGRATION_LOCK.1)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    result
}

async fn apply_pending(conn: &mut PgConnection) -> Result<(), String> {
    conn.ensure_migrations_table().await.map_err(|e| format!("cannot create the migrations table: {e}"))?;
    if let Some(version) = conn.dirty_version().await.map_err(|e| e.to_string())? {
        return Err(format!("migration {version} was left partially applied; fix the database by hand"));
    }
    let applied = conn.list_applied_migrations().await.map_err(|e| e.to_string())?;
    for done in &applied {
        match MIGRATOR.iter().find(|m| m.version == done.version) {
            Some(known) if known.checksum != done.checksum => {
                return Err(format!("migration {} was changed after it was applied (checksum mismatch)", done.version))
            }
            Some(_) => {}
            None => {
                return Err(format!(
                    "the database has migration {} which this binary does not know; use a newer binary",
                    done.version
                ))
            }
        }
    }
    let mut count = 0;
    for migration in MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()) {
        if applied.iter().any(|a| a.version == migration.version) {
            continue;
        }
        conn.apply(migration)
            .await
            .map_err(|e| format!("migration {} {} failed: {e}", migration.version, migration.description))?;
        println!("applied migration {} {}", migration.version, migration.description);
        count += 1;
    }
    if count == 0 {
        println!("database schema is up to date");
    }
    Ok(())
}
