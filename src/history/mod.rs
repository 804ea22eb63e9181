//! Scan history: every scan appended to an embedded SQLite database (WAL, one transaction per
//! scan, a busy timeout for a second writer), and read back as the `Report` it was, so the
//! diff engine compares stored scans exactly as it compares report files. Scans are ordered by
//! when they were made (`generated_at`), not by when their writes committed.

mod error;
mod open;
mod schema;
mod selector;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diff::Side;
use crate::report::classify::classify;
use crate::report::{AccountOutcome, Certificate, Report, ScanError, ScanScope, Summary, Tool};

pub use error::HistoryError;
pub use schema::{APPLICATION_ID, VERSION as SCHEMA_VERSION};
pub use selector::{printed as printed_time, Selector};

/// The most days `history prune --keep-days` takes: a century, far past any retention policy
/// and far inside what a date can be moved by.
pub const MAX_KEEP_DAYS: u32 = 36_500;

/// An open history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
    /// The file's schema version: a history opened for reading is read as it is, not migrated.
    version: i64,
    /// How a history opened for reading shares the file with writers (None: opened to write).
    sharing: Option<open::Sharing>,
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
    /// What the scan set out to read; null for a scan recorded before certaudit kept it
    /// (taken as the whole organization's).
    pub scope: Option<ScanScope>,
    /// Its Certificate Transparency section; null when CT was not asked (or before it was
    /// kept).
    #[serde(skip)]
    pub ct: Option<crate::report::ct::CtSection>,
    /// Every issuance that CT run saw, for the next run to judge again.
    #[serde(skip)]
    pub ct_seen: Vec<crate::report::ct::Seen>,
}

/// The `ct` column: the report's section and every issuance seen.
#[derive(Serialize, serde::Deserialize)]
struct StoredCt {
    #[serde(flatten)]
    section: crate::report::ct::CtSection,
    #[serde(default)]
    seen: Vec<crate::report::ct::Seen>,
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

    /// Whether this scan was made before `other` (ties, made in the same second, by ID).
    pub fn is_before(&self, other: &StoredScan) -> bool {
        (self.generated_at, self.id) < (other.generated_at, other.id)
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

/// A scope as stored and matched: its JSON, and whether it is the whole organization (which a
/// scan recorded before scopes were kept is taken to be).
fn scope_key(scope: Option<&ScanScope>) -> Result<(String, bool), HistoryError> {
    let scope = scope.cloned().unwrap_or_default();
    Ok((
        serde_json::to_string(&scope)?,
        scope == ScanScope::organization(),
    ))
}

/// The SQL that orders scans by when they were made, latest first.
const LATEST_FIRST: &str = "ORDER BY generated_at DESC, id DESC";

impl History {
    /// Open the database for appending, creating it when missing and migrating it forward.
    /// Everything that would refuse the write refuses here, before the scan: a file that is
    /// not certaudit's history, one from a newer certaudit, a damaged one, one this user may
    /// not write. The files it refuses are left as they were.
    pub fn open(path: &Path) -> Result<History> {
        let conn = open::for_writing(path)
            .with_context(|| format!("cannot use {} as the history", path.display()))?;
        Ok(History {
            conn,
            path: path.to_path_buf(),
            version: SCHEMA_VERSION,
            sharing: None,
        })
    }

    /// Open a database that must already exist, for reading only: nothing is written to it
    /// and no file is created beside it, so it can be read from a read-only directory or by
    /// another user. Read it through `read_steadily`.
    pub fn open_existing(path: &Path) -> Result<History> {
        Self::open_for_reading(path, false)
    }

    fn open_for_reading(path: &Path, shared: bool) -> Result<History> {
        let (conn, sharing, version) = match open::for_reading(path, shared) {
            Ok(opened) => opened,
            Err(HistoryError::Missing) => anyhow::bail!(
                "there is no history at {}: record scans there first with `certaudit scan \
                 --history {}`",
                path.display(),
                path.display()
            ),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read {} as the history", path.display()))
            }
        };
        Ok(History {
            conn,
            path: path.to_path_buf(),
            version,
            sharing: Some(sharing),
        })
    }

    /// Read an existing history with `work`. Read as immutable (no lock), a file a writer
    /// checkpointed into meanwhile may have been read half old, half new: then it is read
    /// again, sharing the writer's `-wal` as SQLite shares it.
    pub fn read_steadily<T>(path: &Path, work: impl Fn(&History) -> Result<T>) -> Result<T> {
        let history = Self::open_existing(path)?;
        let result = work(&history);
        match history.sharing {
            Some(open::Sharing::Immutable(stamp)) if open::Stamp::of(path) != stamp => {
                tracing::debug!("the history changed while it was read: reading it again");
                drop(history);
                work(&Self::open_for_reading(path, true)?)
            }
            _ => result,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's schema version (a history opened for reading is not migrated).
    pub fn schema_version(&self) -> i64 {
        self.version
    }

    /// Append one scan in one transaction; returns its ID. `arguments` is the command line
    /// with secrets already removed.
    pub fn append(&mut self, report: &Report, arguments: &[String]) -> Result<i64, HistoryError> {
        let scope = match &report.scope {
            Some(scope) => Some(serde_json::to_string(scope)?),
            None => None,
        };
        let ct = match &report.ct {
            Some(ct) => Some(serde_json::to_string(&StoredCt {
                section: ct.clone(),
                seen: report.ct_seen.clone(),
            })?),
            None => None,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let previous: Option<i64> = tx.query_row("SELECT max(id) FROM scans", [], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO scans (generated_at, tool_version, caller_account_id, expiring_days, \
             complete, arguments, summary, scope, ct) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                timestamp(report.generated_at),
                report.tool.version,
                report.caller_account_id,
                report.expiring_days,
                !report.is_incomplete(),
                serde_json::to_string(arguments)?,
                serde_json::to_string(&report.summary)?,
                scope,
                ct,
            ],
        )?;
        let id = tx.last_insert_rowid();
        insert_accounts(&tx, id, report)?;
        insert_errors(&tx, id, report)?;
        insert_certificates(&tx, id, previous, &report.certificates)?;
        tx.commit()?;
        Ok(id)
    }

    /// The columns `stored_scan` reads; a version 1 history (read, not migrated) has no scope.
    fn scan_columns(&self) -> String {
        let scope = if self.version >= 2 { "scope" } else { "NULL" };
        let ct = if self.version >= 3 { "ct" } else { "NULL" };
        format!(
            "SELECT id, generated_at, complete, tool_version, caller_account_id, expiring_days, \
             summary, {scope} AS scope, {ct} AS ct FROM scans"
        )
    }

    /// Every stored scan, oldest first (by when it was made).
    pub fn scans(&self) -> Result<Vec<StoredScan>, HistoryError> {
        let sql = format!("{} ORDER BY generated_at, id", self.scan_columns());
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map([], stored_scan)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The first scan matching `condition` in `order`.
    fn scan_where(
        &self,
        condition: &str,
        order: &str,
        values: impl rusqlite::Params,
    ) -> Result<Option<StoredScan>, HistoryError> {
        let sql = format!("{} WHERE {condition} {order} LIMIT 1", self.scan_columns());
        Ok(self.conn.query_row(&sql, values, stored_scan).optional()?)
    }

    /// The latest stored scan (the last made, whatever order the writes committed in).
    pub fn latest(&self) -> Result<Option<StoredScan>, HistoryError> {
        self.scan_where("1", LATEST_FIRST, [])
    }

    /// The latest stored scan of this scope: what a scan of it compares with by default.
    pub fn latest_of_scope(
        &self,
        scope: Option<&ScanScope>,
    ) -> Result<Option<StoredScan>, HistoryError> {
        if self.version < 2 {
            return self.latest();
        }
        let (key, organization) = scope_key(scope)?;
        let condition = "(scope = ?1 OR (scope IS NULL AND ?2))";
        self.scan_where(condition, LATEST_FIRST, params![key, organization])
    }

    /// The scan made just before this one with the same scope (a narrower scan in between is
    /// not what "the previous audit" means).
    pub fn before(&self, scan: &StoredScan) -> Result<Option<StoredScan>, HistoryError> {
        let earlier = "(generated_at < ?1 OR (generated_at = ?1 AND id < ?2))";
        if self.version < 2 {
            let values = params![timestamp(scan.generated_at), scan.id];
            return self.scan_where(earlier, LATEST_FIRST, values);
        }
        let (key, organization) = scope_key(scan.scope.as_ref())?;
        let condition = format!("{earlier} AND (scope = ?3 OR (scope IS NULL AND ?4))");
        let values = params![timestamp(scan.generated_at), scan.id, key, organization];
        self.scan_where(&condition, LATEST_FIRST, values)
    }

    /// The scan a selector names: by ID, or the last one made at or before a time (UTC).
    pub fn find(&self, selector: &Selector) -> Result<StoredScan> {
        match selector {
            Selector::Id(id) => self.scan_where("id = ?1", "", [id])?.with_context(|| {
                format!(
                    "there is no scan {id} in {} (see `certaudit history`)",
                    self.path.display()
                )
            }),
            Selector::AtOrBefore(until, said) => self
                .scan_where("generated_at <= ?1", LATEST_FIRST, [timestamp(*until)])?
                .with_context(|| {
                    format!(
                        "there is no scan at or before {said} (UTC) in {}",
                        self.path.display()
                    )
                }),
        }
    }

    /// A stored scan as the report it was (its derived fields computed again from its time).
    pub fn load(&self, scan: &StoredScan) -> Result<Report, HistoryError> {
        let mut report = Report::new(
            scan.generated_at,
            scan.expiring_days,
            &scan.caller_account_id,
        );
        report.tool = Tool {
            version: scan.tool_version.clone(),
            ..Tool::default()
        };
        report.scope = scan.scope.clone();
        report.ct = scan.ct.clone();
        report.ct_seen = scan.ct_seen.clone();
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
            let mut c: Certificate = serde_json::from_str(&body)?;
            c.account_name = names.get(c.account_id.as_str()).map(|n| (*n).into());
            classify(&mut c, scan.generated_at, scan.expiring_days);
            certificates.push(c);
        }
        report.certificates = certificates;
        report.sort();
        report.tally(scan.summary.duration_ms);
        Ok(report)
    }

    fn accounts(&self, scan_id: i64) -> Result<Vec<AccountOutcome>, HistoryError> {
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

    fn errors(&self, scan_id: i64) -> Result<Vec<ScanError>, HistoryError> {
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
    pub fn prune(&mut self, keep_days: u32, now: DateTime<Utc>) -> Result<Pruned, HistoryError> {
        // Further back than a date can go: nothing is old enough.
        let cutoff = now
            .checked_sub_signed(chrono::Duration::days(i64::from(keep_days)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let scans = tx.execute(
            &format!(
                "DELETE FROM scans WHERE generated_at < ?1 \
                 AND id <> (SELECT id FROM scans {LATEST_FIRST} LIMIT 1)"
            ),
            [timestamp(cutoff)],
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

fn stored_scan(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredScan> {
    let text = |i: usize| row.get::<_, String>(i);
    let invalid = |i, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    let generated_at = DateTime::parse_from_rfc3339(&text(1)?)
        .map_err(|e| invalid(1, Box::new(e)))?
        .with_timezone(&Utc);
    let summary = serde_json::from_str(&text(6)?).map_err(|e| invalid(6, Box::new(e)))?;
    let scope = match row.get::<_, Option<String>>(7)? {
        Some(json) => serde_json::from_str(&json).map_err(|e| invalid(7, Box::new(e)))?,
        None => None,
    };
    let ct: Option<StoredCt> = match row.get::<_, Option<String>>(8)? {
        Some(json) => Some(serde_json::from_str(&json).map_err(|e| invalid(8, Box::new(e)))?),
        None => None,
    };
    let (ct, ct_seen) = match ct {
        Some(stored) => (Some(stored.section), stored.seen),
        None => (None, Vec::new()),
    };
    Ok(StoredScan {
        id: row.get(0)?,
        generated_at,
        complete: row.get(2)?,
        tool_version: text(3)?,
        caller_account_id: text(4)?,
        expiring_days: row.get(5)?,
        summary,
        scope,
        ct,
        ct_seen,
    })
}

fn insert_accounts(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    report: &Report,
) -> Result<(), HistoryError> {
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

fn insert_errors(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    report: &Report,
) -> Result<(), HistoryError> {
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
fn stored_body(c: &Certificate) -> Result<String, HistoryError> {
    let mut stored = c.clone();
    stored.account_name = None;
    stored.days_to_expiry = None;
    stored.expiring = false;
    stored.expired = false;
    if let Some(check) = stored.renewal_check.as_mut() {
        check.attempt_in_days = None;
    }
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
) -> Result<(), HistoryError> {
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
