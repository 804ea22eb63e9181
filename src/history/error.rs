//! Why a history cannot be used, in the words that name the fix. SQLite says "attempt to write
//! a readonly database" for a read-only file, a full disk and a locked one alike when read
//! through the wrong door; these kinds come from SQLite's error codes, never its wording.

use std::fmt;

use rusqlite::ErrorCode;

/// A history that cannot be opened, read or written, and why. The caller adds the path.
#[derive(Debug)]
pub enum HistoryError {
    /// Nothing at the path (the reading commands).
    Missing,
    /// An empty file where a history was to be read.
    Empty,
    /// The file is not SQLite at all.
    NotSqlite,
    /// Another application's SQLite file (what was found instead of certaudit's mark).
    Foreign(String),
    /// Written by a newer certaudit (its schema version).
    Newer { version: i64 },
    /// SQLite's check found damage: what it found, and the file (for the recovery command).
    Damaged { found: String, file: String },
    /// This user may not write the file or its directory.
    ReadOnly,
    /// The file system has no room left.
    DiskFull,
    /// Another process held the database locked past the busy timeout.
    Locked,
    /// A directory where the history file was expected.
    Directory,
    /// A FIFO, a device, a socket: reading one could block forever or write where no history
    /// belongs.
    NotAFile,
    /// The file (or the files SQLite keeps beside it) cannot be opened or created.
    CannotOpen(String),
    /// A stored value that cannot be read back (or a value that cannot be stored).
    Stored(String),
    /// Any other SQLite failure, as SQLite words it.
    Sqlite(rusqlite::Error),
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::Missing => write!(f, "there is no such file"),
            HistoryError::Empty => write!(f, "it is empty: no scan was recorded there yet"),
            HistoryError::NotSqlite => write!(
                f,
                "it is not a SQLite database: pass a new path for certaudit's history. The file \
                 was not changed"
            ),
            HistoryError::Foreign(found) => write!(
                f,
                "it is a SQLite database of something else, not certaudit's history ({found}): \
                 pass a new path for certaudit's history. The file was not changed"
            ),
            HistoryError::Newer { version } => write!(
                f,
                "it was written by a newer certaudit (history schema version {version}; this \
                 certaudit {} knows up to {}): upgrade certaudit to read it. The database was \
                 not changed",
                env!("CARGO_PKG_VERSION"),
                super::SCHEMA_VERSION
            ),
            HistoryError::Damaged { found, file } => write!(
                f,
                "it is damaged (SQLite says: {found}); nothing was written to it: recover what \
                 it holds with `sqlite3 {file} .recover | sqlite3 recovered.db` and pass \
                 recovered.db, or move it aside and let the next scan start a new history"
            ),
            HistoryError::ReadOnly => write!(
                f,
                "it is read-only for this user (the file, or its directory where SQLite keeps \
                 its journal): make both writable, or pass another --history. Reading it \
                 (certaudit history, certaudit diff --history) needs no write access"
            ),
            HistoryError::DiskFull => write!(f, "the disk is full: free some space"),
            HistoryError::Locked => write!(
                f,
                "another process held it locked for more than {} s (another scan writing, a \
                 prune): try again when it is done",
                super::open::BUSY_TIMEOUT.as_secs()
            ),
            HistoryError::Directory => write!(
                f,
                "it is a directory: pass the path of a file in it (certaudit creates the file)"
            ),
            HistoryError::NotAFile => write!(
                f,
                "it is not a regular file (a pipe, a device or a socket): pass the path of a \
                 history file"
            ),
            HistoryError::CannotOpen(why) => write!(
                f,
                "it cannot be opened or created ({why}): does its directory exist, and may this \
                 user create files in it?"
            ),
            HistoryError::Stored(why) => write!(f, "a stored value cannot be read back: {why}"),
            HistoryError::Sqlite(e) => write!(f, "{e}"),
        }
    }
}

impl HistoryError {
    /// The error with the file it is about, where its words name it (the recovery command).
    pub fn at(self, path: &std::path::Path) -> Self {
        match self {
            HistoryError::Damaged { found, .. } => HistoryError::Damaged {
                found,
                file: path.display().to_string(),
            },
            other => other,
        }
    }

    /// As an `anyhow::Error`, for the commands' one error path.
    pub fn into_anyhow(self) -> anyhow::Error {
        anyhow::Error::new(self)
    }
}

/// Each kind's words already say everything SQLite said: no source, so the chain printed on
/// stderr does not say it twice.
impl std::error::Error for HistoryError {}

impl From<rusqlite::Error> for HistoryError {
    /// The kind SQLite's code names; its words only for what has no kind of its own.
    fn from(e: rusqlite::Error) -> Self {
        let Some(code) = e.sqlite_error_code() else {
            return HistoryError::Sqlite(e);
        };
        match code {
            ErrorCode::ReadOnly => HistoryError::ReadOnly,
            ErrorCode::DiskFull => HistoryError::DiskFull,
            ErrorCode::NotADatabase => HistoryError::NotSqlite,
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => HistoryError::Locked,
            ErrorCode::DatabaseCorrupt => HistoryError::Damaged {
                found: e.to_string(),
                file: "FILE".into(),
            },
            ErrorCode::CannotOpen => HistoryError::CannotOpen(e.to_string()),
            _ => HistoryError::Sqlite(e),
        }
    }
}

impl From<serde_json::Error> for HistoryError {
    fn from(e: serde_json::Error) -> Self {
        HistoryError::Stored(e.to_string())
    }
}
