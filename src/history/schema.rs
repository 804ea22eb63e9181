//! The history database's schema, versioned with `PRAGMA user_version` and migrated forward
//! one step at a time, and marked as certaudit's with `PRAGMA application_id`. Whether a file
//! is certaudit's, and of which version, is settled (in `open`) before anything is written.

use rusqlite::{Connection, TransactionBehavior};

use super::HistoryError;

/// The schema version this certaudit writes.
pub const VERSION: i64 = 3;

/// certaudit's mark in the SQLite header (`PRAGMA application_id`): "CAud".
pub const APPLICATION_ID: i32 = 0x4341_7564;

/// `MIGRATIONS[v]` takes a database from version `v` to `v + 1`.
const MIGRATIONS: [&str; 3] = [V1, V2, V3];

/// The tables version 1 created, each with a column only certaudit's has: how a history
/// written before certaudit set its application_id is told from another application's file.
pub const V1_TABLES: [(&str, &str); 4] = [
    ("scans", "caller_account_id"),
    ("accounts", "regions_not_enabled"),
    ("errors", "stage"),
    ("certificate_states", "first_scan"),
];

/// Version 1. Certificate states are stored once per run of scans that saw them unchanged
/// (`first_scan` to `last_scan`, null while the latest scan still sees it), so the database
/// grows with changes, not with scans × certificates.
pub(super) const V1: &str = "
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

/// Version 2: each scan's scope (what it set out to read), so scans of the same scope are
/// compared by default and the diff's scope rule knows what a scan left out on purpose. Null
/// for the scans recorded before: taken as the whole organization's.
const V2: &str = "
ALTER TABLE scans ADD COLUMN scope TEXT;  -- JSON: report.json's scope
";

/// Version 3: each scan's Certificate Transparency section (`scan --ct`): its shadow
/// certificates, for the next run to carry over and `diff` to compare, and Cert Spotter's
/// cursor per domain, so a daily run asks only for what is new. Null when CT was not asked.
const V3: &str = "
ALTER TABLE scans ADD COLUMN ct TEXT;  -- JSON: report.json's ct
";

/// The schema version of an open database.
pub fn version(conn: &Connection) -> Result<i64, HistoryError> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Refuse a database written by a newer certaudit (before anything is written to it).
pub fn check_not_newer(version: i64) -> Result<(), HistoryError> {
    if version > VERSION {
        return Err(HistoryError::Newer { version });
    }
    Ok(())
}

/// Bring certaudit's database (already identified as such) to `VERSION` and mark it as
/// certaudit's, every step in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), HistoryError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let from = version(&tx)?;
    check_not_newer(from)?;
    for sql in MIGRATIONS.iter().skip(from as usize) {
        tx.execute_batch(sql)?;
    }
    if from < VERSION {
        tx.pragma_update(None, "user_version", VERSION)?;
    }
    let marked: i32 = tx.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if marked != APPLICATION_ID {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    tx.commit()?;
    Ok(())
}
