//! The history database's schema, versioned with `PRAGMA user_version` and migrated forward
//! one step at a time. A database from a newer certaudit is refused before anything is
//! written to it.

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, TransactionBehavior};

/// The schema version this certaudit writes.
pub const VERSION: i64 = 1;

/// `MIGRATIONS[v]` takes a database from version `v` to `v + 1`.
const MIGRATIONS: [&str; 1] = [V1];

/// Version 1. Certificate states are stored once per run of scans that saw them unchanged
/// (`first_scan` to `last_scan`, null while the latest scan still sees it), so the database
/// grows with changes, not with scans × certificates.
const V1: &str = "
CREATE TABLE scans (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    generated_at      TEXT    NOT NULL,  -- RFC 3339, UTC, whole seconds
    tool_version      TEXT    NOT NULL,
    caller_account_id TEXT    NOT NULL,
    expiring_days     INTEGER NOT NULL,
    complete          INTEGER NOT NULL,  -- 1 when the scan had no error
    arguments         TEXT    NOT NULL,  -- JSON array: the command line, secrets removed
    summary           TEXT    NOT NULL   -- JSON: the report's summary
);
CREATE INDEX scans_generated_at ON scans (generated_at);

CREATE TABLE accounts (
    scan_id             INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    account_id          TEXT    NOT NULL,
    account_name        TEXT,
    state               TEXT    NOT NULL,  -- scanned | failed | skipped
    reason              TEXT,
    regions             TEXT    NOT NULL,  -- JSON array of the regions scanned
    regions_not_enabled TEXT    NOT NULL,  -- JSON array
    PRIMARY KEY (scan_id, account_id)
) WITHOUT ROWID;

CREATE TABLE errors (
    scan_id    INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    account_id TEXT,
    region     TEXT,
    stage      TEXT    NOT NULL,
    code       TEXT    NOT NULL,
    message    TEXT    NOT NULL
);
CREATE INDEX errors_scan ON errors (scan_id);

CREATE TABLE certificate_states (
    id         INTEGER PRIMARY KEY,
    arn        TEXT    NOT NULL,
    digest     BLOB    NOT NULL,  -- first 16 bytes of the SHA-256 of body
    body       TEXT    NOT NULL,  -- the certificate as report.json has it, without the fields
                                  -- that move with the scan's time and the account's name
    first_scan INTEGER NOT NULL,
    last_scan  INTEGER            -- null: still seen by the latest scan
);
CREATE INDEX certificate_states_last_scan ON certificate_states (last_scan);
";

/// The schema version of an open database; fails with a clear message when the file is not
/// SQLite at all.
pub fn version(conn: &Connection) -> Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .context("it is not a SQLite database")
}

/// Refuse a database written by a newer certaudit (before anything is written to it).
pub fn check_not_newer(version: i64) -> Result<()> {
    if version > VERSION {
        bail!(
            "it was written by a newer certaudit (history schema version {version}; this \
             certaudit {} knows up to {VERSION}): upgrade certaudit to read it. The database was \
             not changed",
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok(())
}

/// Bring the database to `VERSION`, every step in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let from = version(&tx)?;
    check_not_newer(from)?;
    if from == 0 {
        let tables: i64 = tx.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |row| row.get(0),
        )?;
        if tables > 0 {
            bail!(
                "it is a SQLite database of something else (it has tables but no certaudit \
                 schema version): pass a new path for certaudit's history"
            );
        }
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        tx.execute_batch(sql)
            .with_context(|| format!("cannot migrate to history schema version {}", step + 1))?;
    }
    if from < VERSION {
        tx.pragma_update(None, "user_version", VERSION)?;
    }
    tx.commit()?;
    Ok(())
}
