//! The history benchmark, part of `make bench` (`cargo bench --bench history`, a release build).
//!
//! In-process, against a real SQLite file in a temporary directory: a generated organization
//! of 100,000 certificates (500 accounts × 3 regions, realistic fields: SANs, issuer, serial,
//! in-use-by, two tags) scanned once a day for a year with 1 % daily churn (a third renewed, a
//! third replaced by new certificates, a third re-tagged). Printed, each with its target:
//! appending a 100,000-certificate scan (the first, and the 365th into a year-old database),
//! diffing two such scans (from the history, and from two report.json files, parsing
//! included), and the database's size after the year. Fails if a target is missed. Also
//! printed: what opening the year's database for a scan costs (its quick_check, which refuses
//! a damaged file before the scan).
//!
//! `BENCH_HISTORY_DAYS=30` runs a shorter year (the size target is then not judged).
//! `cargo test --all-targets` runs this binary too, without `--bench`: then it runs three days
//! of 1,000 certificates and checks the figures' work is what it claims, measuring nothing.

use std::path::Path;
use std::time::Instant;

mod common;

use chrono::Duration;

use certaudit::changes::read_report;
use certaudit::diff::{diff, Side};
use certaudit::history::History;
use certaudit::report::{Certificate, Report, Tags};
use common::{certificate, scan, start, ACCOUNTS, REGIONS};

const CERTIFICATES: usize = 100_000;
/// What `cargo test` runs instead: enough to check the work, too little to measure.
const CHECK_CERTIFICATES: usize = 1_000;
const CHECK_DAYS: usize = 3;
const DAILY_CHURN: f64 = 0.01;
const DAYS: usize = 365;
const APPEND_TARGET_S: f64 = 5.0;
const DIFF_TARGET_S: f64 = 2.0;
const SIZE_TARGET_MB: f64 = 1024.0;

/// A day of churn: `DAILY_CHURN` of the certificates, a third each renewed, replaced by a new
/// certificate, re-tagged. `next` numbers new certificates.
fn churn(certificates: &mut [Certificate], day: usize, next: &mut usize, generations: &mut [u32]) {
    let changed = (certificates.len() as f64 * DAILY_CHURN) as usize;
    let at = start() + Duration::days(day as i64);
    for i in 0..changed {
        // Spread over the whole inventory, a different slice each day.
        let slot = (day * 7_919 + i * 97) % certificates.len();
        match i % 3 {
            0 => {
                generations[slot] += 1;
                let n = certificate_number(&certificates[slot]);
                certificates[slot] = certificate(n, generations[slot], at);
            }
            1 => {
                certificates[slot] = certificate(*next, 0, at);
                generations[slot] = 0;
                *next += 1;
            }
            _ => {
                let tags = certificates[slot].tags.get_or_insert_with(Tags::default);
                tags.insert("reviewed".into(), format!("day-{day}"));
            }
        }
    }
}

fn certificate_number(c: &Certificate) -> usize {
    let id = c.arn.rsplit('-').next().unwrap();
    usize::from_str_radix(id, 16).unwrap()
}

fn timed<T>(work: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = work();
    (out, started.elapsed().as_secs_f64())
}

fn file_size_mb(path: &Path) -> f64 {
    let mut bytes = 0;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        bytes += std::fs::metadata(&name).map(|m| m.len()).unwrap_or(0);
    }
    bytes as f64 / 1e6
}

fn verdict(value: f64, target: f64) -> &'static str {
    if value <= target {
        "ok"
    } else {
        "MISSED"
    }
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (total, days) = if measuring {
        let days = std::env::var("BENCH_HISTORY_DAYS")
            .ok()
            .and_then(|d| d.parse().ok());
        (CERTIFICATES, days.unwrap_or(DAYS))
    } else {
        (CHECK_CERTIFICATES, CHECK_DAYS)
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let mut history = History::open(&db).unwrap();
    let mut certificates: Vec<Certificate> =
        (0..total).map(|n| certificate(n, 0, start())).collect();
    let mut generations = vec![0u32; total];
    let mut next = total;
    let args = ["certaudit".to_string(), "scan".to_string()];
    println!("history: {total} certificates, {ACCOUNTS} accounts × {} regions, {days} daily scans at {} % churn", REGIONS.len(), DAILY_CHURN * 100.0);

    let first = scan(0, &certificates);
    let (_, first_append) = timed(|| history.append(&first, &args).unwrap());
    let mut last_append = first_append;
    let mut previous = first;
    let mut slowest: f64 = first_append;
    for day in 1..days {
        churn(&mut certificates, day, &mut next, &mut generations);
        let report = scan(day, &certificates);
        let (_, took) = timed(|| history.append(&report, &args).unwrap());
        last_append = took;
        slowest = slowest.max(took);
        if day % 73 == 0 {
            eprintln!(
                "  day {day}: append {took:.2} s, database {:.0} MB",
                file_size_mb(&db)
            );
        }
        previous = report;
    }
    drop(history);
    let size = file_size_mb(&db);

    // What a scan does before its first AWS call: open for appending, which runs SQLite's
    // quick_check over the whole file (and that check alone, read-only).
    let (_, opening) = timed(|| drop(History::open(&db).unwrap()));
    let (_, quick_check) = timed(|| {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let found: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(found, "ok");
    });

    // Diff the last two days: from the history (both scans read back), and from two files.
    let history = History::open_existing(&db).unwrap();
    let ((changes, compared), from_history) = timed(|| {
        let to = history.latest().unwrap().unwrap();
        let from = history.before(&to).unwrap().unwrap();
        let (old, new) = (history.load(&from).unwrap(), history.load(&to).unwrap());
        let side = |r: &Report| Side {
            generated_at: r.generated_at,
            scan_id: None,
            source: "bench".into(),
        };
        let d = diff(&old, &new, side(&old), side(&new), 45);
        (d.changes.len(), d.scope.compared)
    });
    let before_file = dir.path().join("before.json");
    let after_file = dir.path().join("after.json");
    let before = history
        .load(
            &history
                .before(&history.latest().unwrap().unwrap())
                .unwrap()
                .unwrap(),
        )
        .unwrap();
    std::fs::write(&before_file, serde_json::to_vec(&before).unwrap()).unwrap();
    std::fs::write(&after_file, serde_json::to_vec(&previous).unwrap()).unwrap();
    drop(before);
    let (file_changes, from_files) = timed(|| {
        let (old, new) = (
            read_report(&before_file).unwrap(),
            read_report(&after_file).unwrap(),
        );
        let side = |r: &Report| Side {
            generated_at: r.generated_at,
            scan_id: None,
            source: "bench".into(),
        };
        diff(&old, &new, side(&old), side(&new), 45).changes.len()
    });
    assert_eq!(
        changes, file_changes,
        "both diff forms find the same changes"
    );
    assert_eq!(compared, ACCOUNTS * REGIONS.len());
    // A day's churn: a third renewed, a third replaced (one added, one removed), a third
    // re-tagged.
    let churned = (total as f64 * DAILY_CHURN) as usize;
    assert!(
        changes >= churned,
        "{changes} changes for {churned} churned certificates"
    );
    if !measuring {
        println!("history benchmark: checked ({changes} changes); `cargo bench --bench history` measures");
        return;
    }

    println!("{:<44} {:>10} {:>10}", "figure", "value", "target");
    let line = |name: &str, value: f64, unit: &str, target: f64| {
        println!(
            "{name:<44} {value:>8.2} {unit} {target:>8.0} {unit}  {}",
            verdict(value, target)
        );
    };
    line(
        "append, first scan (100,000 certificates)",
        first_append,
        "s ",
        APPEND_TARGET_S,
    );
    line(
        &format!("append, scan {days} (into the year's database)"),
        last_append,
        "s ",
        APPEND_TARGET_S,
    );
    line(
        "append, slowest of the year",
        slowest,
        "s ",
        APPEND_TARGET_S,
    );
    line(
        &format!("diff from the history ({changes} changes)"),
        from_history,
        "s ",
        DIFF_TARGET_S,
    );
    line(
        "diff of two report.json files",
        from_files,
        "s ",
        DIFF_TARGET_S,
    );
    line(
        &format!("database after {days} daily scans"),
        size,
        "MB",
        SIZE_TARGET_MB,
    );
    // Not a target of its own: part of what a scan waits before it starts.
    println!(
        "{:<44} {opening:>8.2} s   (quick_check alone {quick_check:.2} s, before any AWS call)",
        format!("open for appending, {size:.0} MB database")
    );
    let missed = slowest > APPEND_TARGET_S
        || from_history > DIFF_TARGET_S
        || from_files > DIFF_TARGET_S
        || (days == DAYS && size > SIZE_TARGET_MB);
    if missed {
        eprintln!("history benchmark: a target was missed");
        std::process::exit(1);
    }
}
