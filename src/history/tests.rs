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

fn load(history: &History, id: i64) -> Report {
    history
        .load(&history.find(&id.to_string()).unwrap())
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
    assert_eq!(history.find("2").unwrap().id, 2);
    assert_eq!(history.find("2026-11-02").unwrap().id, 2);
    assert_eq!(history.find("2026-11-02T05:00:00Z").unwrap().id, 1);
    assert_eq!(history.find("2030-01-01").unwrap().id, 3);
    assert!(history.find("2026-10-01").is_err());
    assert!(history
        .find("9")
        .unwrap_err()
        .to_string()
        .contains("no scan 9"));
    assert!(history
        .find("yesterday")
        .unwrap_err()
        .to_string()
        .contains("not a scan ID"));
    assert_eq!(history.before(3).unwrap().unwrap().id, 2);
    assert_eq!(history.before(1).unwrap(), None);
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
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
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
    let missing = History::open_existing(&dir.path().join("none.db"))
        .err()
        .unwrap();
    assert!(missing.to_string().contains("scan --history"), "{missing}");
}
