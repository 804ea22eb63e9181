//! The store against a real SQLite file: what goes in comes back, unchanged states are kept
//! once, and a database it must not touch is left byte for byte.

use chrono::{Duration, TimeZone};

use super::*;
use crate::report::{AccountState, Stage};

fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap() + Duration::days(n)
}

fn scan(n: i64, names: &[&str]) -> Report {
    let mut report = Report::new(day(n), 45, "111111111111");
    report.accounts.push(AccountOutcome {
        account_id: "111111111111".into(),
        account_name: Some(format!("prod-{n}")),
        state: AccountState::Scanned,
        reason: None,
        regions: vec!["us-east-1".into()],
        regions_not_enabled: vec!["ap-east-1".into()],
    });
    for name in names {
        let arn = format!("arn:aws:acm:us-east-1:111111111111:certificate/{name}");
        let mut c = Certificate::new(
            &arn,
            "111111111111",
            Some(&format!("prod-{n}")),
            "us-east-1",
        );
        c.domain_name = Some(format!("{name}.example.com"));
        c.cert_type = Some("IMPORTED".into());
        c.status = Some("ISSUED".into());
        c.not_after = Some(day(60));
        classify(&mut c, report.generated_at, report.expiring_days);
        report.certificates.push(c);
    }
    report.sort();
    report.tally(1234);
    report
}

fn states(history: &History) -> i64 {
    history
        .conn
        .query_row("SELECT count(*) FROM certificate_states", [], |r| r.get(0))
        .unwrap()
}

fn find(history: &History, selector: &str) -> Result<StoredScan> {
    history.find(&Selector::parse(selector).unwrap())
}

fn load(history: &History, id: i64) -> Report {
    history
        .load(&find(history, &id.to_string()).unwrap())
        .unwrap()
}

#[test]
fn a_scan_reads_back_as_the_report_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    let mut report = scan(0, &["a", "b"]);
    report.errors.push(ScanError::new(
        Stage::ListTags,
        Some("111111111111"),
        Some("us-east-1"),
        "Throttling",
        "slow",
    ));
    report.tally(1234);
    let id = history
        .append(&report, &["certaudit".into(), "scan".into()])
        .unwrap();
    let back = load(&history, id);
    assert_eq!(back.certificates, report.certificates);
    assert_eq!(back.errors, report.errors);
    assert_eq!(back.summary, report.summary);
    assert_eq!(back.accounts[0].regions_not_enabled, vec!["ap-east-1"]);
    assert_eq!(back.generated_at, report.generated_at);
    let stored = history.latest().unwrap().unwrap();
    assert_eq!(
        (stored.id, stored.complete, stored.summary.certificates),
        (id, false, 2)
    );
}

#[test]
fn unchanged_certificates_are_stored_once_and_each_scan_sees_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    for n in 0..5 {
        history.append(&scan(n, &["a", "b"]), &[]).unwrap();
    }
    assert_eq!(
        states(&history),
        2,
        "five scans of two unchanged certificates (and a renamed account)"
    );
    let mut changed = scan(5, &["a"]);
    changed.certificates[0].not_after = Some(day(400));
    history.append(&changed, &[]).unwrap();
    history.append(&scan(6, &["a", "b"]), &[]).unwrap();
    assert_eq!(states(&history), 5, "a's new and old states again, b back");
    let names = |r: Report| -> Vec<String> {
        r.certificates
            .iter()
            .map(|c| c.domain_name.clone().unwrap())
            .collect()
    };
    assert_eq!(
        names(load(&history, 5)),
        vec!["a.example.com", "b.example.com"]
    );
    assert_eq!(names(load(&history, 6)), vec!["a.example.com"]);
    assert_eq!(load(&history, 6).certificates[0].not_after, Some(day(400)));
    assert_eq!(load(&history, 7).certificates[0].not_after, Some(day(60)));
    // Scan 3 is day 2's: 58 days left then.
    let days = load(&history, 3).certificates[0].days_to_expiry;
    assert_eq!(
        days,
        Some(58),
        "derived fields are computed for the scan's own time"
    );
    assert_eq!(
        load(&history, 3).certificates[0].account_name.as_deref(),
        Some("prod-2")
    );
}

#[test]
fn scans_are_found_by_id_date_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    for n in 0..3 {
        history.append(&scan(n, &["a"]), &[]).unwrap();
    }
    assert_eq!(find(&history, "2").unwrap().id, 2);
    assert_eq!(find(&history, "2026-11-02").unwrap().id, 2);
    assert_eq!(find(&history, "2026-11-02T05:00:00Z").unwrap().id, 1);
    assert_eq!(find(&history, "2026-11-02 06:00:00 UTC").unwrap().id, 2);
    assert_eq!(find(&history, "2030-01-01").unwrap().id, 3);
    assert!(find(&history, "2026-10-01").is_err());
    assert!(find(&history, "9")
        .unwrap_err()
        .to_string()
        .contains("no scan 9"));
    let third = find(&history, "3").unwrap();
    assert_eq!(history.before(&third).unwrap().unwrap().id, 2);
    let first = find(&history, "1").unwrap();
    assert_eq!(history.before(&first).unwrap(), None);
}

#[test]
fn prune_keeps_recent_scans_the_latest_and_what_they_saw() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    history.append(&scan(0, &["gone"]), &[]).unwrap();
    history.append(&scan(1, &["a"]), &[]).unwrap();
    history.append(&scan(2, &["a"]), &[]).unwrap();
    let pruned = history.prune(1, day(2) + Duration::hours(1)).unwrap();
    assert_eq!(
        pruned,
        Pruned {
            scans: 2,
            certificate_states: 1
        }
    );
    assert_eq!(
        history
            .scans()
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        vec![3]
    );
    assert_eq!(load(&history, 3).certificates.len(), 1);
    let all = history.prune(0, day(30)).unwrap();
    assert_eq!(all.scans, 0, "the latest scan is always kept");
}

#[test]
fn a_database_from_a_newer_certaudit_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE future (x); PRAGMA user_version = 99; \
             PRAGMA application_id = {APPLICATION_ID};"
        ))
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = format!("{:#}", History::open(&path).err().unwrap());
    assert!(
        err.contains("newer certaudit") && err.contains("version 99"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn files_that_are_not_a_history_are_named_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "x".repeat(4096)).unwrap();
    let err = format!("{:#}", History::open(&text).err().unwrap());
    assert!(err.contains("not a SQLite database"), "{err}");
    assert_eq!(std::fs::read(&text).unwrap(), "x".repeat(4096).into_bytes());
    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let err = format!("{:#}", History::open(&other).err().unwrap());
    assert!(err.contains("something else"), "{err}");
    for open in [History::open, History::open_existing] {
        let err = format!("{:#}", open(dir.path()).err().unwrap());
        assert!(err.contains("it is a directory"), "{err}");
    }
    let missing = History::open_existing(&dir.path().join("none.db"))
        .err()
        .unwrap();
    assert!(missing.to_string().contains("scan --history"), "{missing}");
}

#[test]
fn scans_are_ordered_by_when_they_were_made_not_by_when_they_committed() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    // Two concurrent scans: the one started later committed first.
    let later = history.append(&scan(2, &["a"]), &[]).unwrap();
    let earlier = history.append(&scan(1, &["a", "b"]), &[]).unwrap();
    let ids: Vec<i64> = history.scans().unwrap().iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![earlier, later]);
    let latest = history.latest().unwrap().unwrap();
    assert_eq!(latest.id, later, "the latest is the last made");
    assert_eq!(history.before(&latest).unwrap().unwrap().id, earlier);
    assert_eq!(find(&history, "2026-11-02").unwrap().id, earlier);
    let pruned = history.prune(0, day(30)).unwrap();
    assert_eq!(pruned.scans, 1);
    assert_eq!(
        history.latest().unwrap().unwrap().id,
        later,
        "prune keeps the last made"
    );
}

fn scoped(n: i64, accounts: Option<&[&str]>) -> Report {
    let mut report = scan(n, &["a"]);
    report.scope = Some(ScanScope {
        accounts: accounts.map(|a| a.iter().map(|s| s.to_string()).collect()),
        ..ScanScope::default()
    });
    report
}

#[test]
fn the_previous_scan_is_the_previous_one_of_the_same_scope() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    let whole = history.append(&scoped(0, None), &[]).unwrap();
    let narrow = history
        .append(&scoped(1, Some(&["111111111111"])), &[])
        .unwrap();
    let again = history.append(&scoped(2, None), &[]).unwrap();
    let latest = history.latest().unwrap().unwrap();
    assert_eq!(latest.id, again);
    assert_eq!(history.before(&latest).unwrap().unwrap().id, whole);
    let narrow_scope = scoped(3, Some(&["111111111111"])).scope;
    let of_narrow = history.latest_of_scope(narrow_scope.as_ref()).unwrap();
    assert_eq!(of_narrow.unwrap().id, narrow);
    assert_eq!(
        history
            .latest_of_scope(Some(&ScanScope::organization()))
            .unwrap()
            .unwrap()
            .id,
        again
    );
    assert_eq!(
        load(&history, narrow).scope,
        narrow_scope,
        "the scope reads back"
    );
    // A scan recorded before scopes were kept is taken as the whole organization's.
    history.append(&scan(3, &["a"]), &[]).unwrap();
    let unknown = history.latest().unwrap().unwrap();
    assert_eq!(unknown.scope, None);
    assert_eq!(history.before(&unknown).unwrap().unwrap().id, again);
}

/// Another application's SQLite file, in WAL mode, with a user_version of 1.
fn foreign(path: &Path, application_id: i32) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT); \
         INSERT INTO notes VALUES ('mine'); PRAGMA user_version = 1; \
         PRAGMA application_id = {application_id};"
    ))
    .unwrap();
}

#[test]
fn another_applications_database_is_refused_before_any_write_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    for (name, application_id) in [("v1.db", 0), ("marked.db", 0x1234)] {
        let path = dir.path().join(name);
        foreign(&path, application_id);
        let before = std::fs::read(&path).unwrap();
        let err = format!("{:#}", History::open(&path).err().unwrap());
        assert!(
            err.contains("something else") && err.contains("not changed"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before, "{name} untouched");
        let err = format!("{:#}", History::open_existing(&path).err().unwrap());
        assert!(err.contains("something else"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "{name} untouched");
    }
}

#[test]
fn a_history_from_before_the_application_id_is_recognised_and_marked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let conn = Connection::open(&path).unwrap();
        let v1 = schema::V1_TABLES
            .iter()
            .map(|(table, column)| format!("CREATE TABLE {table} ({column});"))
            .collect::<String>();
        conn.execute_batch(&format!("{v1} PRAGMA user_version = 1;"))
            .unwrap();
    }
    drop(History::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let marked: (i32, i64) = conn
        .query_row(
            "SELECT * FROM pragma_application_id, pragma_user_version",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(marked, (APPLICATION_ID, SCHEMA_VERSION));
}

#[test]
fn reading_a_history_writes_nothing_and_creates_nothing_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let mut history = History::open(&path).unwrap();
        history.append(&scan(0, &["a"]), &[]).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let history = History::open_existing(&path).unwrap();
    assert_eq!(history.scans().unwrap().len(), 1);
    load(&history, 1);
    let beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, vec!["h.db"], "no -wal, no -shm while it is read");
    drop(history);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Overwrite the b-tree page header of every page after the first (the schema) with garbage.
fn damage(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    for page in bytes.chunks_mut(page_size).skip(1) {
        page[..8].copy_from_slice(&[0x7f; 8]);
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_damaged_history_is_refused_before_anything_is_appended_with_how_to_recover() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let mut history = History::open(&path).unwrap();
        history.append(&scan(0, &["a", "b"]), &[]).unwrap();
    }
    damage(&path);
    let before = std::fs::read(&path).unwrap();
    let err = format!("{:#}", History::open(&path).err().unwrap());
    assert!(
        err.contains("is damaged") && err.contains(&format!("sqlite3 {} .recover", path.display())),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn sqlite_failures_are_named_by_their_cause_not_by_sqlites_first_words() {
    let failure = |code| {
        HistoryError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            Some("attempt to write a readonly database".into()),
        ))
        .to_string()
    };
    assert!(failure(rusqlite::ffi::SQLITE_FULL).starts_with("the disk is full"));
    assert!(failure(rusqlite::ffi::SQLITE_READONLY).contains("read-only for this user"));
    assert!(failure(rusqlite::ffi::SQLITE_BUSY).contains("locked"));
    assert!(failure(rusqlite::ffi::SQLITE_NOTADB).contains("not a SQLite database"));
    assert!(failure(rusqlite::ffi::SQLITE_CORRUPT).contains(".recover"));
}

#[test]
fn a_path_with_characters_a_uri_gives_a_meaning_reads_as_well() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("a?b#c%d");
    std::fs::create_dir(&odd).unwrap();
    let path = odd.join("h.db");
    History::open(&path)
        .unwrap()
        .append(&scan(0, &["a"]), &[])
        .unwrap();
    let history = History::open_existing(&path).unwrap();
    assert_eq!(history.scans().unwrap().len(), 1);
    assert_eq!(history.schema_version(), SCHEMA_VERSION);
}

#[test]
fn a_version_1_history_is_read_as_it_is_without_being_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!("{} PRAGMA user_version = 1;", schema::V1))
            .unwrap();
        for n in 1..=2 {
            conn.execute(
                "INSERT INTO scans (generated_at, tool_version, caller_account_id, \
                 expiring_days, complete, arguments, summary) \
                 VALUES (?1, '0.1.0', '111111111111', 45, 1, '[]', '{}')",
                [timestamp(day(n))],
            )
            .unwrap();
        }
    }
    let before = std::fs::read(&path).unwrap();
    let history = History::open_existing(&path).unwrap();
    assert_eq!(history.schema_version(), 1);
    let latest = history.latest().unwrap().unwrap();
    assert_eq!((latest.id, latest.scope.clone()), (2, None));
    assert_eq!(history.before(&latest).unwrap().unwrap().id, 1);
    assert_eq!(history.latest_of_scope(None).unwrap().unwrap().id, 2);
    drop(history);
    assert_eq!(std::fs::read(&path).unwrap(), before, "read, not migrated");
}

#[test]
fn a_read_a_writer_came_during_is_read_again_sharing_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    History::open(&path)
        .unwrap()
        .append(&scan(0, &["a"]), &[])
        .unwrap();
    let reads = std::cell::Cell::new(0);
    let listed = History::read_steadily(&path, |history| {
        reads.set(reads.get() + 1);
        let scans = history.scans()?.len();
        if reads.get() == 1 {
            // A scan appended (and checkpointed into the file) while this read held no lock.
            History::open(&path)?.append(&scan(1, &["a"]), &[])?;
        }
        Ok(scans)
    })
    .unwrap();
    assert_eq!(
        (reads.get(), listed),
        (2, 2),
        "read again, and the second read is whole"
    );
}

#[test]
fn a_pipe_or_a_device_as_the_history_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("h.db");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Opening the pipe to read its header would wait for a writer forever.
    for path in [fifo.as_path(), Path::new("/dev/null")] {
        let err = format!("{:#}", History::open(path).err().unwrap());
        assert!(err.contains("not a regular file"), "{err}");
        let err = format!("{:#}", History::open_existing(path).err().unwrap());
        assert!(err.contains("not a regular file"), "{err}");
    }
}

#[test]
fn a_renewal_check_is_stored_once_and_its_attempt_day_recomputed_per_scan() {
    use crate::renewal::{CheckStatus, RenewalCheck};
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    let checked = |n: i64| {
        let mut report = scan(n, &["a", "b"]);
        for c in &mut report.certificates {
            c.renewal_check = Some(Box::new(RenewalCheck {
                status: CheckStatus::Ok,
                risks: vec![],
                attempt_in_days: None,
            }));
            classify(c, report.generated_at, report.expiring_days);
        }
        report
    };
    for n in 0..4 {
        history.append(&checked(n), &[]).unwrap();
    }
    assert_eq!(
        states(&history),
        2,
        "attempt_in_days moves every day, as days_to_expiry does: not a new state"
    );
    // Scan 3 is day 2's: 58 days left, ACM's attempt 2 days ago.
    let back = load(&history, 3);
    let check = back.certificates[0].renewal_check.as_ref().unwrap();
    assert_eq!(check.attempt_in_days, Some(-2));
    assert_eq!(check.status, CheckStatus::Ok);
}
