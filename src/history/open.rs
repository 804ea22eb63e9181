//! Opening a history: for reading without writing a byte (no WAL switch, no migration, no
//! `-wal`/`-shm` left beside it), or for writing after every check that can fail has passed —
//! the file is certaudit's, not from a newer certaudit, whole, and writable — so a scan that
//! cannot be recorded stops before its first AWS call. Another application's file is refused
//! as it was found.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::schema::{self, APPLICATION_ID};
use super::HistoryError;

/// How long a writer waits for another (a second scan appending, a prune) before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

/// Bytes the WAL file is cut back to after a checkpoint.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// What the file is, as far as certaudit is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Identity {
    /// Empty (or an SQLite file with nothing in it): certaudit may make it its history.
    Fresh,
    /// certaudit's history, of this schema version.
    Ours(i64),
}

/// What the file's first 100 bytes (SQLite's header) say, read without SQLite.
enum Header {
    Empty,
    NotSqlite,
    Sqlite,
}

fn header(path: &Path) -> Result<Header, HistoryError> {
    if path.is_dir() {
        return Err(HistoryError::Directory);
    }
    if path.metadata().is_ok_and(|m| !m.is_file()) {
        return Err(HistoryError::NotAFile);
    }
    let mut bytes = Vec::with_capacity(100);
    File::open(path)
        .and_then(|f| f.take(100).read_to_end(&mut bytes))
        .map_err(|e| HistoryError::CannotOpen(e.to_string()))?;
    Ok(match bytes.len() {
        0 => Header::Empty,
        n if n < 100 || !bytes.starts_with(SQLITE_MAGIC) => Header::NotSqlite,
        _ => Header::Sqlite,
    })
}

fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// A path as an SQLite URI's path: the characters a URI gives a meaning escaped, and an
/// absolute path behind an empty authority (`//host/…` would otherwise name a host).
fn uri(path: &Path, query: &str) -> String {
    let mut out = String::from(if path.is_absolute() {
        "file://"
    } else {
        "file:"
    });
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    format!("{out}?{query}")
}

/// The file's size and modification time: a read through an immutable connection holds no
/// lock, so a writer that starts meanwhile (and checkpoints into the file) shows here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(u64, Option<std::time::SystemTime>);

impl Stamp {
    pub fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp(meta.len(), meta.modified().ok()))
    }
}

/// How a read-only connection shares the file with writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// With no `-wal` file there is no writer and nothing waiting to be checkpointed: the file
    /// alone is the database, read as immutable (no lock files, even in a directory this user
    /// may not write). The stamp tells whether a writer came meanwhile.
    Immutable(Option<Stamp>),
    /// A writer has its `-wal` and `-shm`: they are shared as SQLite shares them.
    Shared,
}

/// A read-only connection that creates nothing beside the file (see `Sharing`).
fn read_only(path: &Path, shared: bool) -> Result<(Connection, Sharing), HistoryError> {
    let sharing = if shared || wal_path(path).exists() {
        Sharing::Shared
    } else {
        Sharing::Immutable(Stamp::of(path))
    };
    let query = match sharing {
        Sharing::Shared => "mode=ro",
        Sharing::Immutable(_) => "immutable=1",
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri(path, query), flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok((conn, sharing))
}

/// Whether the file is certaudit's history, read through a read-only connection.
fn identify(path: &Path, conn: &Connection) -> Result<Identity, HistoryError> {
    // The header alone says what SQLite would only say at the first read ("file is not a
    // database"), and an empty file is a new history. The rest is SQLite's to answer: a
    // header may lag what a WAL holds.
    match header(path)? {
        Header::Empty => return Ok(Identity::Fresh),
        Header::NotSqlite => return Err(HistoryError::NotSqlite),
        Header::Sqlite => {}
    }
    let application_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version = schema::version(conn)?;
    let tables = tables(conn)?;
    let ours = application_id == APPLICATION_ID;
    if ours {
        // A newer certaudit's tables are its own business: only the version is read.
        schema::check_not_newer(version)?;
    }
    if (ours || application_id == 0) && tables.is_empty() && version == 0 {
        return Ok(Identity::Fresh);
    }
    // certaudit's mark, or a history from before the mark: either way its tables say so.
    if (ours || (application_id == 0 && version == 1)) && version >= 1 && has_v1_tables(conn)? {
        return Ok(Identity::Ours(version));
    }
    let tables = if tables.is_empty() {
        "none".to_string()
    } else {
        tables.join(", ")
    };
    Err(HistoryError::Foreign(format!(
        "application_id {application_id:#x}, user_version {version}, tables: {tables}"
    )))
}

fn tables(conn: &Connection) -> Result<Vec<String>, HistoryError> {
    let mut statement =
        conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?;
    let names = statement.query_map([], |r| r.get(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}

fn has_v1_tables(conn: &Connection) -> Result<bool, HistoryError> {
    for (table, column) in schema::V1_TABLES {
        let found: i64 = conn.query_row(
            "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
            [table, column],
            |r| r.get(0),
        )?;
        if found == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `PRAGMA quick_check`: the pages and their links, without comparing indexes with their
/// tables (a full integrity_check). Cheap next to a scan; see `benches/history.rs`.
fn check_whole(conn: &Connection) -> Result<(), HistoryError> {
    let mut statement = conn.prepare("PRAGMA quick_check(5)")?;
    let found: Vec<String> = statement
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if found.len() == 1 && found[0] == "ok" {
        return Ok(());
    }
    Err(HistoryError::Damaged {
        found: format!("quick_check: {}", found.join("; ")),
        file: "FILE".into(),
    })
}

/// Open an existing history for reading: nothing is written, a newer or foreign file is
/// refused. `shared`: share a writer's `-wal` even if none is there now (a read again after a
/// writer came). Returns the connection, how it shares, and the file's schema version.
pub fn for_reading(path: &Path, shared: bool) -> Result<(Connection, Sharing, i64), HistoryError> {
    reading(path, shared).map_err(|e| e.at(path))
}

fn reading(path: &Path, shared: bool) -> Result<(Connection, Sharing, i64), HistoryError> {
    if !path.exists() {
        return Err(HistoryError::Missing);
    }
    header(path)?;
    let (conn, sharing) = read_only(path, shared)?;
    match identify(path, &conn)? {
        Identity::Ours(version) => Ok((conn, sharing, version)),
        Identity::Fresh => Err(HistoryError::Empty),
    }
}

/// Open a history for appending to it, creating it when missing: identified, checked whole and
/// migrated, and its write lock taken once, so that everything that can refuse the write has
/// refused before the scan.
pub fn for_writing(path: &Path) -> Result<Connection, HistoryError> {
    writing(path).map_err(|e| e.at(path))
}

fn writing(path: &Path) -> Result<Connection, HistoryError> {
    if path.exists() {
        header(path)?;
        let (probe, _) = read_only(path, false)?;
        if let Identity::Ours(_) = identify(path, &probe)? {
            check_whole(&probe)?;
        }
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        return Err(HistoryError::ReadOnly);
    }
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
    // The write lock once: a file another process holds, or a directory where the WAL cannot
    // grow, fails here rather than after the scan.
    conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")?;
    Ok(conn)
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
