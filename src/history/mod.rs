//! Scan history: every scan appended to an embedded SQLite database (WAL, one transaction per
//! scan, a busy timeout for a second writer), and read back as the `Report` it was, so the
//! diff engine compares stored scans exactly as it compares report files.

mod schema;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diff::Side;
use crate::report::classify::classify;
use crate::report::{AccountOutcome, Certificate, Report, ScanError, Summary, Tool};

pub use schema::VERSION as SCHEMA_VERSION;

/// How long a writer waits for another (a second scan appending, a prune) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

/// Bytes the WAL file is cut back to after a checkpoint.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// An open history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

/// One stored scan, as `certaudit history` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoredScan {
    pub id: i64,
    pub generated_at: DateTime<Utc>,
    pub complete: bool,
    pub tool_version: String,
    pub caller_account_id: String,
    pub expiring_days: i64,
    pub summary: Summary,
}

impl StoredScan {
    /// This scan as one side of a diff.
    pub fn side(&self, history: &Path) -> Side {
        Side {
            generated_at: self.generated_at,
            scan_id: Some(self.id),
            source: history.display().to_string(),
        }
    }
}

/// What `history prune` removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub scans: usize,
    pub certificate_states: usize,
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl History {
    /// Open the database, creating it when missing and migrating it forward. A database from
    /// a newer certaudit, or a file that is not one, is an error and is left as it was.
    pub fn open(path: &Path) -> Result<History> {
        Self::open_inner(path)
            .with_context(|| format!("cannot use {} as the history", path.display()))
    }

    /// Open a database that must already exist (the reading commands).
    pub fn open_existing(path: &Path) -> Result<History> {
        if !path.exists() {
            bail!(
                "there is no history at {}: record scans there first with `certaudit scan \
                 --history {}`",
                path.display(),
                path.display()
            );
        }
        Self::open(path)
    }

    fn open_inner(path: &Path) -> Result<History> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Checked before WAL is switched on: switching it on writes the file's header.
        schema::check_not_newer(schema::version(&conn)?)?;
        let mode: String =
            while_busy(|| conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!("the history database is in {mode} journal mode, not WAL");
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The WAL grows to the largest transaction (a first scan of 100,000 certificates:
        // ~140 MB) and would stay that size; after a checkpoint it is cut back to this.
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        schema::migrate(&mut conn)?;
        Ok(History {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one scan in one transaction; returns its ID. `arguments` is the command line
    /// with secrets already removed.
    pub fn append(&mut self, report: &Report, arguments: &[String]) -> Result<i64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let previous: Option<i64> = tx.query_row("SELECT max(id) FROM scans", [], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO scans (generated_at, tool_version, caller_account_id, expiring_days, \
             complete, arguments, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                timestamp(report.generated_at),
                report.tool.version,
                report.caller_account_id,
                report.expiring_days,
                !report.is_incomplete(),
                serde_json::to_string(arguments)?,
                serde_json::to_string(&report.summary)?,
            ],
        )?;
        let id = tx.last_insert_rowid();
        insert_accounts(&tx, id, report)?;
        insert_errors(&tx, id, report)?;
        insert_certificates(&tx, id, previous, &report.certificates)?;
        tx.commit()?;
        Ok(id)
    }

    /// Every stored scan, oldest first.
    pub fn scans(&self) -> Result<Vec<StoredScan>> {
        let mut statement = self.conn.prepare(&format!("{SCAN_COLUMNS} ORDER BY id"))?;
        let rows = statement.query_map([], stored_scan)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn scan_where(
        &self,
        condition: &str,
        values: impl rusqlite::Params,
    ) -> Result<Option<StoredScan>> {
        let sql = format!("{SCAN_COLUMNS} WHERE {condition} LIMIT 1");
        Ok(self.conn.query_row(&sql, values, stored_scan).optional()?)
    }

    /// The latest stored scan, if any.
    pub fn latest(&self) -> Result<Option<StoredScan>> {
        self.scan_where("id = (SELECT max(id) FROM scans)", [])
    }

    /// The scan stored just before this one.
    pub fn before(&self, id: i64) -> Result<Option<StoredScan>> {
        self.scan_where("id = (SELECT max(id) FROM scans WHERE id < ?1)", [id])
    }

    /// A scan named by its ID, or by a date (`2026-11-25`: the last scan that day or before)
    /// or a time (`2026-11-25T06:00:00Z`: the last scan at or before it).
    pub fn find(&self, selector: &str) -> Result<StoredScan> {
        let selector = selector.trim();
        if let Ok(id) = selector.parse::<i64>() {
            return self.scan_where("id = ?1", [id])?.with_context(|| {
                format!(
                    "there is no scan {id} in {} (see `certaudit history`)",
                    self.path.display()
                )
            });
        }
        let until = if let Ok(date) = NaiveDate::parse_from_str(selector, "%Y-%m-%d") {
            date.and_hms_opt(23, 59, 59)
                .expect("a valid time")
                .and_utc()
        } else if let Ok(time) = DateTime::parse_from_rfc3339(selector) {
            time.with_timezone(&Utc)
        } else {
            bail!(
                "'{selector}' is not a scan ID, a date (2026-11-25) or a time \
                 (2026-11-25T06:00:00Z)"
            );
        };
        let condition = "id = (SELECT id FROM scans WHERE generated_at <= ?1 \
                         ORDER BY generated_at DESC, id DESC LIMIT 1)";
        self.scan_where(condition, [timestamp(until)])?
            .with_context(|| {
                format!(
                    "there is no scan at or before {selector} in {}",
                    self.path.display()
                )
            })
    }

    /// A stored scan as the report it was (its derived fields computed again from its time).
    pub fn load(&self, scan: &StoredScan) -> Result<Report> {
        let mut report = Report::new(
            scan.generated_at,
            scan.expiring_days,
            &scan.caller_account_id,
        );
        report.tool = Tool {
            version: scan.tool_version.clone(),
            ..Tool::default()
        };
        report.accounts = self.accounts(scan.id)?;
        report.errors = self.errors(scan.id)?;
        let names: HashMap<&str, &str> = report
            .accounts
            .iter()
            .filter_map(|a| Some((a.account_id.as_str(), a.account_name.as_deref()?)))
            .collect();
        let mut statement = self.conn.prepare(
            "SELECT body FROM certificate_states \
             WHERE first_scan <= ?1 AND (last_scan IS NULL OR last_scan >= ?1)",
        )?;
        let mut rows = statement.query([scan.id])?;
        let mut certificates = Vec::new();
        while let Some(row) = rows.next()? {
            let body: String = row.get(0)?;
            let mut c: Certificate =
                serde_json::from_str(&body).context("a stored certificate cannot be read back")?;
            c.account_name = names.get(c.account_id.as_str()).map(|n| (*n).into());
            classify(&mut c, scan.generated_at, scan.expiring_days);
            certificates.push(c);
        }
        report.certificates = certificates;
        report.sort();
        report.tally(scan.summary.duration_ms);
        Ok(report)
    }

    fn accounts(&self, scan_id: i64) -> Result<Vec<AccountOutcome>> {
        let mut statement = self.conn.prepare(
            "SELECT account_id, account_name, state, reason, regions, regions_not_enabled \
             FROM accounts WHERE scan_id = ?1",
        )?;
        let rows = statement.query_map([scan_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
            ))
        })?;
        let mut accounts = Vec::new();
        for row in rows {
            let (account_id, account_name, state, reason, regions, not_enabled) = row?;
            accounts.push(AccountOutcome {
                account_id,
                account_name,
                state: serde_json::from_value(state.into())?,
                reason,
                regions: serde_json::from_str(&regions)?,
                regions_not_enabled: serde_json::from_str(&not_enabled)?,
            });
        }
        Ok(accounts)
    }

    fn errors(&self, scan_id: i64) -> Result<Vec<ScanError>> {
        let mut statement = self.conn.prepare(
            "SELECT account_id, region, stage, code, message FROM errors WHERE scan_id = ?1",
        )?;
        let rows = statement.query_map([scan_id], |row| {
            Ok((
                row.get::<_, Option<String>>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        })?;
        let mut errors = Vec::new();
        for row in rows {
            let (account_id, region, stage, code, message) = row?;
            let stage = serde_json::from_value(stage.into())?;
            errors.push(ScanError::new(
                stage,
                account_id.as_deref(),
                region.as_deref(),
                code,
                message,
            ));
        }
        Ok(errors)
    }

    /// Remove the scans generated more than `keep_days` days before `now` (never the latest),
    /// and the certificate states only they saw; then give the space back to the file system.
    pub fn prune(&mut self, keep_days: u32, now: DateTime<Utc>) -> Result<Pruned> {
        let cutoff = timestamp(now - chrono::Duration::days(i64::from(keep_days)));
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let scans = tx.execute(
            "DELETE FROM scans WHERE generated_at < ?1 AND id <> (SELECT max(id) FROM scans)",
            [cutoff],
        )?;
        let certificate_states = tx.execute(
            "DELETE FROM certificate_states \
             WHERE last_scan IS NOT NULL AND last_scan < (SELECT min(id) FROM scans)",
            [],
        )?;
        tx.commit()?;
        if scans > 0 {
            self.conn
                .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
        }
        Ok(Pruned {
            scans,
            certificate_states,
        })
    }
}

/// Run `work` again while another connection holds the lock it needs, up to the busy
/// timeout. Switching a new database to WAL needs the file to itself and does not wait
/// through SQLite's busy handler: two scans creating the same history at once meet here.
fn while_busy<T>(mut work: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = std::time::Instant::now();
    loop {
        match work() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

const SCAN_COLUMNS: &str = "SELECT id, generated_at, complete, tool_version, caller_account_id, \
                            expiring_days, summary FROM scans";

fn stored_scan(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredScan> {
    let text = |i: usize| row.get::<_, String>(i);
    let invalid = |i, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    let generated_at = DateTime::parse_from_rfc3339(&text(1)?)
        .map_err(|e| invalid(1, Box::new(e)))?
        .with_timezone(&Utc);
    let summary = serde_json::from_str(&text(6)?).map_err(|e| invalid(6, Box::new(e)))?;
    Ok(StoredScan {
        id: row.get(0)?,
        generated_at,
        complete: row.get(2)?,
        tool_version: text(3)?,
        caller_account_id: text(4)?,
        expiring_days: row.get(5)?,
        summary,
    })
}

fn insert_accounts(tx: &rusqlite::Transaction<'_>, id: i64, report: &Report) -> Result<()> {
    let mut insert = tx.prepare(
        "INSERT INTO accounts (scan_id, account_id, account_name, state, reason, regions, \
         regions_not_enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for a in &report.accounts {
        let state = serde_json::to_value(a.state)?;
        insert.execute(params![
            id,
            a.account_id,
            a.account_name,
            state.as_str(),
            a.reason,
            serde_json::to_string(&a.regions)?,
            serde_json::to_string(&a.regions_not_enabled)?,
        ])?;
    }
    Ok(())
}

fn insert_errors(tx: &rusqlite::Transaction<'_>, id: i64, report: &Report) -> Result<()> {
    let mut insert = tx.prepare(
        "INSERT INTO errors (scan_id, account_id, region, stage, code, message) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for e in &report.errors {
        insert.execute(params![
            id,
            e.account_id,
            e.region,
            e.stage.as_str(),
            e.code,
            e.message
        ])?;
    }
    Ok(())
}

/// A certificate as stored: what AWS said of it, without the fields that move with the scan's
/// time (recomputed on load) or the account's name (stored per scan with the account).
fn stored_body(c: &Certificate) -> Result<String> {
    let mut stored = c.clone();
    stored.account_name = None;
    stored.days_to_expiry = None;
    stored.expiring = false;
    stored.expired = false;
    Ok(serde_json::to_string(&stored)?)
}

type StateDigest = [u8; 16];

fn digest(body: &str) -> StateDigest {
    let full = Sha256::digest(body.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Keep each certificate's state open when it is unchanged since the previous scan; close the
/// states that changed or were not seen, and open new ones.
fn insert_certificates(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    previous: Option<i64>,
    certificates: &[Certificate],
) -> Result<()> {
    let mut open: HashMap<String, (i64, StateDigest)> = HashMap::new();
    {
        let mut statement =
            tx.prepare("SELECT id, arn, digest FROM certificate_states WHERE last_scan IS NULL")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let digest: StateDigest = row.get(2)?;
            open.insert(row.get(1)?, (row.get(0)?, digest));
        }
    }
    let mut insert = tx.prepare(
        "INSERT INTO certificate_states (arn, digest, body, first_scan) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut close = tx.prepare("UPDATE certificate_states SET last_scan = ?1 WHERE id = ?2")?;
    for c in certificates {
        let body = stored_body(c)?;
        let now = digest(&body);
        match open.remove(c.arn.as_str()) {
            Some((_, before)) if before == now => continue,
            Some((state, _)) => {
                close.execute(params![previous, state])?;
            }
            None => {}
        }
        insert.execute(params![c.arn, now, body, id])?;
    }
    for (state, _) in open.into_values() {
        close.execute(params![previous, state])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
