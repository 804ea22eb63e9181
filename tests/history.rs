//! History and diff end to end: two scans of the fabric with the organization changed between
//! them (through the fabric's control channel, `tests/fabric/control.py`), recorded with
//! `scan --history` and compared both ways — two report files and two stored scans.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::inbox::Inbox;
use support::{acm, json_run, with, Fabric};

const TWO_REGIONS: [&str; 2] = ["--regions", "us-east-1,eu-west-1"];

/// Seconds a day and a bit: `crossing` has 46 days and this many seconds left when the
/// fabric is seeded, so a scan in the first seconds sees 46 days and one after sees 45.
const CROSSING_MARGIN_SECONDS: f64 = 45.0;

fn used(label: &str, target: &str, extra: Value) -> Value {
    let base = json!({"type": "AMAZON_ISSUED", "in_use_by": [
        format!("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/{target}/1")]});
    acm(label, with(base, extra))
}

fn organization() -> Value {
    json!({"accounts": [
        {"name": "web", "certificates": [
            used("keep", "keep", json!({})),
            acm("gone", json!({"days_left": 100})),
            used("renew", "renew", json!({"days_left": 20})),
            acm("reimport", json!({"days_left": 10})),
            acm("crossing", json!({"days_left": 46.0 + CROSSING_MARGIN_SECONDS / 86_400.0})),
            used("stuck", "stuck", json!({"days_left": 100})),
            used("released", "released", json!({"days_left": 300, "region": "eu-west-1"})),
        ]},
        {"name": "dev", "certificates": [
            acm("dev-east", json!({})),
            acm("dev-west", json!({"region": "eu-west-1"})),
        ]},
    ]})
}

/// What happens over a day: every kind of change the diff names.
fn change_the_organization(fabric: &Fabric) {
    fabric.change(json!({"op": "delete", "arn": fabric.arn("gone")}));
    let fresh = fabric.change(json!({"op": "import", "account": "web",
        "spec": {"domain": "fresh.example.com", "days_left": 200}}));
    assert!(fresh
        .as_str()
        .unwrap()
        .starts_with("arn:aws:acm:us-east-1:"));
    fabric.change(json!({"op": "replace", "arn": fabric.arn("renew"),
        "spec": {"domain": "renew.example.com", "type": "AMAZON_ISSUED", "days_left": 395}}));
    fabric.change(json!({"op": "replace", "arn": fabric.arn("reimport"),
        "spec": {"domain": "reimport.example.com", "days_left": 200}}));
    fabric.change(json!({"op": "extras", "arn": fabric.arn("stuck"),
        "set": {"renewal_status": "FAILED", "renewal_status_reason": "CAA_ERROR"}}));
    fabric.change(json!({"op": "in_use", "arn": fabric.arn("released"), "in_use_by": []}));
    fabric.change(json!({"op": "role", "account": "dev", "role": null}));
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Each change as (kind, the certificate's label or the account's name).
fn named_changes(fabric: &Fabric, diff: &Value) -> BTreeSet<(String, String)> {
    let label = |c: &Value| -> String {
        let domain = c["domain_name"].as_str();
        match domain {
            Some(d) => d.trim_end_matches(".example.com").to_string(),
            None => ["web", "dev"]
                .into_iter()
                .find(|n| fabric.account(n) == c["account_id"].as_str().unwrap())
                .unwrap()
                .to_string(),
        }
    };
    diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap().to_string(), label(c)))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn every_change_between_two_scans_and_both_diff_forms_agree() {
    let fabric = Fabric::start(organization());
    let seeded_by = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let scan = |name: &str| {
        let out = dir.path().join(name);
        let (code, report) = fabric.scan_json(&[
            "--history",
            db.to_str().unwrap(),
            "--report-dir",
            out.to_str().unwrap(),
            TWO_REGIONS[0],
            TWO_REGIONS[1],
        ]);
        (code, report, out.join("report.json"))
    };
    let (code, first, first_file) = scan("day1");
    assert_eq!(code, 0, "{}", first["errors"]);
    let crossing = support::certificate(&first, &fabric.arn("crossing"));
    assert_eq!(
        crossing["days_to_expiry"], 46,
        "the first scan ran within {CROSSING_MARGIN_SECONDS} s of seeding"
    );

    change_the_organization(&fabric);
    let wait = Duration::from_secs_f64(CROSSING_MARGIN_SECONDS + 2.0);
    std::thread::sleep(wait.saturating_sub(seeded_by.elapsed()));
    let (code, second, second_file) = scan("day2");
    assert_eq!(code, 3, "dev's role is broken: incomplete");
    let crossing = support::certificate(&second, &fabric.arn("crossing"));
    assert_eq!(crossing["days_to_expiry"], 45);

    let diff_files = fabric
        .certaudit()
        .args(["diff", "-o", "json"])
        .args([&first_file, &second_file])
        .output()
        .unwrap();
    assert_eq!(diff_files.status.code(), Some(3), "not everything compared");
    let from_files: Value = serde_json::from_slice(&diff_files.stdout).unwrap();
    let (code, from_history) = json_run(
        fabric
            .certaudit()
            .args(["diff", "-o", "json", "--history"])
            .arg(&db),
    );
    assert_eq!(code, 3);

    let expected = pairs(&[
        ("added", "fresh"),
        ("removed", "gone"),
        ("renewed", "renew"),
        ("reimported", "reimport"),
        ("became_expiring", "crossing"),
        ("renewal_failed", "stuck"),
        ("will_not_renew", "stuck"),
        ("changed", "stuck"),
        ("in_use_changed", "released"),
        ("will_not_renew", "released"),
        ("changed", "released"),
        ("account_failed", "dev"),
    ]);
    assert_eq!(
        named_changes(&fabric, &from_files),
        expected,
        "{from_files:#}"
    );
    for part in ["changes", "summary", "scope"] {
        assert_eq!(
            from_files[part], from_history[part],
            "{part} differs between the two forms"
        );
    }
    assert_eq!(from_history["from"]["scan_id"], 1);
    assert_eq!(from_history["to"]["scan_id"], 2);
    assert_eq!(from_files["from"]["scan_id"], Value::Null);

    // The scope rule: dev's certificates are unknown, not removed.
    let dev = fabric.account("dev");
    let not_compared: Vec<(&str, &str)> = from_files["scope"]["not_compared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["account_id"].as_str().unwrap(),
                n["region"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        not_compared,
        vec![(dev.as_str(), "eu-west-1"), (dev.as_str(), "us-east-1")]
    );
    let reason = from_files["scope"]["not_compared"][0]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.starts_with("later scan: account failed"), "{reason}");
    let summary = &from_files["summary"];
    assert_eq!(
        (
            summary["removed"].as_u64(),
            summary["account_failed"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let renewed = from_files["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "renewed")
        .unwrap();
    assert_eq!(renewed["field"], "not_after");
    assert_eq!(
        renewed["after"],
        support::certificate(&second, &fabric.arn("renew"))["not_after"]
    );

    exit_codes_follow_the_scope_and_fail_on(&fabric, &db);
    history_lists_both_scans(&fabric, &db, &first, &second);
    the_table_marks_every_change(&fabric, &db);
    assert_eq!(read_json(&second_file)["summary"], second["summary"]);

    let pruned = fabric
        .certaudit()
        .args(["history", "prune", "--keep-days", "0", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&pruned.stdout);
    assert!(said.starts_with("Pruned 1 scan and "), "{said}");
    assert!(
        said.trim_end().ends_with("1 scan kept."),
        "the latest is always kept: {said}"
    );
    let (code, _) = json_run(
        fabric
            .certaudit()
            .args(["history", "-o", "json", "--history"])
            .arg(&db),
    );
    assert_eq!(code, 0);
}

fn exit_codes_follow_the_scope_and_fail_on(fabric: &Fabric, db: &Path) {
    let code = |args: &[&str]| {
        fabric
            .certaudit()
            .args(["diff", "-o", "json", "--history"])
            .arg(db)
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&["--allow-partial"]), Some(0));
    assert_eq!(code(&["--allow-partial", "--fail-on", "removed"]), Some(4));
    assert_eq!(
        code(&["--allow-partial", "--fail-on", "account_removed"]),
        Some(0)
    );
    assert_eq!(
        code(&["--fail-on", "became_expiring"]),
        Some(3),
        "incomplete wins"
    );
    assert_eq!(
        code(&["--from", "1", "--to", "1"]),
        Some(2),
        "the same scan twice is a usage error, as a reversed range is"
    );
    assert_eq!(
        code(&["--from", "1", "--to", "2", "--allow-partial"]),
        Some(0)
    );
}

fn history_lists_both_scans(fabric: &Fabric, db: &Path, first: &Value, second: &Value) {
    let (code, listed) = json_run(
        fabric
            .certaudit()
            .args(["history", "-o", "json", "--history"])
            .arg(db),
    );
    assert_eq!(code, 0);
    let scans = listed["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 2);
    assert_eq!(
        (scans[0]["id"].as_i64(), scans[0]["complete"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(
        (scans[1]["id"].as_i64(), scans[1]["complete"].as_bool()),
        (Some(2), Some(false))
    );
    assert_eq!(scans[0]["generated_at"], first["generated_at"]);
    assert_eq!(
        scans[1]["summary"]["certificates"],
        second["summary"]["certificates"]
    );
    let table = fabric
        .certaudit()
        .args(["history", "--history"])
        .arg(db)
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("2 scans\n"), "{table}");
    let csv = fabric
        .certaudit()
        .args(["history", "-o", "csv", "--history"])
        .arg(db)
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3, "a header and two scans:\n{csv}");
    assert_eq!(&rows[0][..3], ["id", "generated_at", "complete"]);
    assert_eq!((rows[1][0], rows[1][2]), ("1", "true"));
    assert_eq!((rows[2][0], rows[2][2]), ("2", "false"));
    assert_eq!(rows[1][1], first["generated_at"].as_str().unwrap());
    let certificates = rows[0].iter().position(|c| *c == "certificates").unwrap();
    assert_eq!(
        rows[2][certificates],
        second["summary"]["certificates"].to_string()
    );
    assert!(
        table
            .lines()
            .any(|l| l.trim_start().starts_with("2 ") && l.contains(" NO ")),
        "{table}"
    );
}

fn the_table_marks_every_change(fabric: &Fabric, db: &Path) {
    let out = fabric
        .certaudit()
        .args(["diff", "--history"])
        .arg(db)
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    let first = table.lines().next().unwrap();
    assert!(
        first.starts_with("12 changes from scan 1 (")
            && first.ends_with("2 not compared — INCOMPLETE"),
        "{first}"
    );
    let marked = |marker: &str, kind: &str, name: &str| {
        table.lines().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.len() > 2 && cells[0] == marker && cells[1] == kind && l.contains(name)
        })
    };
    assert!(marked("+", "added", "fresh.example.com"), "{table}");
    assert!(marked("-", "removed", "gone.example.com"), "{table}");
    assert!(marked("~", "renewed", "renew.example.com"), "{table}");
    assert!(
        marked("!", "became_expiring", "crossing.example.com"),
        "{table}"
    );
    assert!(
        marked("!", "account_failed", &fabric.account("dev")),
        "{table}"
    );
    let unknown: Vec<&str> = table
        .lines()
        .filter(|l| l.trim_start().starts_with("? "))
        .collect();
    assert_eq!(unknown.len(), 1, "one ? line per account: {table}");
    assert!(unknown[0].contains("eu-west-1, us-east-1"), "{table}");
}

#[test]
fn a_history_from_a_newer_certaudit_stops_the_scan_and_is_left_untouched() {
    let fabric = Fabric::start(
        json!({"accounts": [{"name": "web", "certificates": [acm("a", json!({}))]}]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE scans (id); PRAGMA user_version = 7; PRAGMA application_id = {};",
            certaudit::history::APPLICATION_ID
        ))
        .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let out = fabric
        .certaudit()
        .args(["scan", "--history"])
        .arg(&db)
        .args(TWO_REGIONS)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("newer certaudit (history schema version 7")
            && stderr.contains("not changed"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "not a byte changed");
    assert!(
        fabric.calls_of("ListCertificates").is_empty(),
        "refused before scanning"
    );
    let listed = fabric
        .certaudit()
        .args(["history", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(listed.status.code(), Some(1));
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

/// A slow scan (one describe a second) of 2 × 12 certificates: a signal after a few seconds
/// finds most of them not described.
fn slow_organization() -> Value {
    let certificates = |account: &str| -> Vec<Value> {
        (0..12)
            .map(|i| acm(&format!("{account}{i}"), json!({})))
            .collect()
    };
    json!({"latency_ms": 50, "accounts": [
        {"name": "a", "certificates": certificates("a")},
        {"name": "b", "certificates": certificates("b")},
    ]})
}

/// `certaudit scan -o json --history DB` over the two regions, as a process to spawn (stdout
/// not kept).
fn scan_process(fabric: &Fabric, db: &Path, extra: &[&str]) -> Command {
    let mut scan = fabric.certaudit_process();
    scan.args(["scan", "-o", "json", "--history"])
        .arg(db)
        .args(TWO_REGIONS)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    scan
}

fn integrity(db: &Path) -> (String, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    let scans: i64 = conn
        .query_row("SELECT count(*) FROM scans", [], |r| r.get(0))
        .unwrap();
    (check, scans)
}

#[test]
fn an_interrupted_scan_is_recorded_incomplete_and_reads_as_nothing_removed() {
    let fabric = Fabric::start(slow_organization());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let first = scan_process(&fabric, &db, &["--detail", "summary"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0));
    let child = scan_process(&fabric, &db, &["--rate", "1"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(integrity(&db), ("ok".to_string(), 2));

    let (code, diff) = json_run(
        fabric
            .certaudit()
            .args(["diff", "-o", "json", "--history"])
            .arg(&db),
    );
    assert_eq!(code, 3, "{diff:#}");
    assert_eq!(diff["summary"]["removed"], 0, "{diff:#}");
    let not_compared = diff["scope"]["not_compared"].as_array().unwrap();
    assert!(
        not_compared
            .iter()
            .any(|n| n["reason"].as_str().unwrap().contains("interrupted")),
        "{diff:#}"
    );
}

#[test]
fn a_killed_scan_leaves_the_database_whole_or_as_it_was() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "a", "certificates": [acm("many", json!({"count": 300}))]},
    ]}));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let scan = || {
        scan_process(&fabric, &db, &["--detail", "summary"])
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    assert!(scan().wait().unwrap().success());
    let whole = started.elapsed();
    // SIGKILL at points spread over a whole scan: whatever it hits, the database is either
    // without the scan or has all of it.
    for step in 1..=6u32 {
        let mut child = scan();
        std::thread::sleep(whole * step / 6);
        let _ = child.kill();
        let _ = child.wait();
        let (check, scans) = integrity(&db);
        assert_eq!(check, "ok");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let latest: i64 = conn
            .query_row("SELECT max(id) FROM scans", [], |r| r.get(0))
            .unwrap();
        drop(conn);
        let (code, listed) = json_run(
            fabric
                .certaudit()
                .args(["history", "-o", "json", "--history"])
                .arg(&db),
        );
        assert_eq!(code, 0);
        assert_eq!(listed["scans"].as_array().unwrap().len() as i64, scans);
        if latest > 1 {
            let to = latest.to_string();
            let (code, diff) = json_run(
                fabric
                    .certaudit()
                    .args([
                        "diff",
                        "-o",
                        "json",
                        "--from",
                        "1",
                        "--to",
                        &to,
                        "--history",
                    ])
                    .arg(&db),
            );
            assert_eq!(
                code, 0,
                "a recorded scan is whole: nothing removed, {diff:#}"
            );
            assert_eq!(diff["changes"], json!([]));
        }
    }
}

#[test]
fn two_scans_writing_at_once_are_both_recorded() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "a", "certificates": [acm("many", json!({"count": 40}))]},
    ]}));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let scans: Vec<_> = (0..2)
        .map(|_| {
            scan_process(&fabric, &db, &["--detail", "summary"])
                .spawn()
                .unwrap()
        })
        .collect();
    for scan in scans {
        let out = scan.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(integrity(&db), ("ok".to_string(), 2));
}

#[test]
fn notify_on_changes_publishes_only_when_something_changed_changes_first() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("soon", json!({"days_left": 10})),
        acm("later", json!({"days_left": 300})),
    ]}]}));
    let inbox = Inbox::new(&fabric);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let scan = || {
        let out = fabric
            .certaudit()
            .args([
                "scan",
                "-o",
                "json",
                "--notify-on",
                "changes",
                "--sns-topic-arn",
                &inbox.topic_arn,
                "--history",
            ])
            .arg(&db)
            .args(TWO_REGIONS)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        inbox.take()
    };
    let first = scan();
    assert_eq!(
        first.len(),
        1,
        "the first scan of a history has nothing to compare: the usual summary"
    );
    assert!(first[0].1.contains("soon.example.com"), "{}", first[0].1);
    assert!(scan().is_empty(), "nothing changed: no message");
    fabric.change(json!({"op": "delete", "arn": fabric.arn("later")}));
    let third = scan();
    assert_eq!(third.len(), 1);
    let (subject, body) = &third[0];
    assert!(subject.starts_with("certaudit: 1 change; "), "{subject}");
    assert!(body.starts_with("1 change since the scan of "), "{body}");
    let removed = body.lines().nth(1).unwrap();
    assert!(
        removed.starts_with("  - removed: later.example.com"),
        "{body}"
    );
    assert!(
        body.contains("soon.example.com"),
        "the usual summary follows: {body}"
    );
    let usage = fabric
        .certaudit()
        .args([
            "scan",
            "--notify-on",
            "changes",
            "--sns-topic-arn",
            &inbox.topic_arn,
        ])
        .output()
        .unwrap();
    assert_eq!(
        usage.status.code(),
        Some(2),
        "--notify-on changes needs --history"
    );
}

/// Three accounts, one certificate each, healthy: nothing for `--notify-on attention` to say.
fn three_accounts() -> Value {
    let accounts: Vec<Value> = ["web", "dev", "ops"]
        .iter()
        .map(|name| json!({"name": name, "certificates": [acm(name, json!({"days_left": 300}))]}))
        .collect();
    json!({ "accounts": accounts })
}

#[test]
fn a_narrower_scan_between_two_whole_ones_changes_nothing_by_default() {
    let fabric = Fabric::start(three_accounts());
    let inbox = Inbox::new(&fabric);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let web = fabric.account("web");
    let scan = |extra: &[&str]| {
        let out = fabric
            .certaudit()
            .args([
                "scan",
                "-o",
                "json",
                "--notify-on",
                "changes",
                "--sns-topic-arn",
            ])
            .arg(&inbox.topic_arn)
            .arg("--history")
            .arg(&db)
            .args(TWO_REGIONS)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        inbox.take()
    };
    scan(&[]);
    scan(&["--accounts", &web]);
    let third = scan(&[]);
    assert!(
        third.is_empty(),
        "compared with the first whole scan, nothing changed: {third:?}"
    );

    let diff = |extra: &[&str]| {
        json_run(
            fabric
                .certaudit()
                .args(["diff", "-o", "json", "--history"])
                .arg(&db)
                .args(extra),
        )
    };
    let (code, default) = diff(&[]);
    assert_eq!(code, 0, "{default:#}");
    assert_eq!(
        (
            default["from"]["scan_id"].as_i64(),
            default["to"]["scan_id"].as_i64()
        ),
        (Some(1), Some(3)),
        "the latest whole scan against the previous whole scan"
    );
    assert_eq!(default["changes"], json!([]));

    for (from, to, kinds) in [
        ("1", "2", ["removed", "account_removed"]),
        ("2", "3", ["added", "account_added"]),
    ] {
        let (code, picked) = diff(&["--from", from, "--to", to, "--fail-on", "added,removed"]);
        assert_eq!(code, 3, "the other accounts are not compared: {picked:#}");
        for kind in kinds {
            assert_eq!(picked["summary"][kind], 0, "{kind}: {picked:#}");
        }
        let not_compared = picked["scope"]["not_compared"].as_array().unwrap();
        let accounts: BTreeSet<&str> = not_compared
            .iter()
            .map(|n| n["account_id"].as_str().unwrap())
            .collect();
        assert!(
            accounts.contains(fabric.account("dev").as_str())
                && accounts.contains(fabric.account("ops").as_str())
                && !accounts.contains(web.as_str()),
            "every account but web (the management account too): {accounts:?}"
        );
        assert!(not_compared
            .iter()
            .all(|n| n["reason"].as_str().unwrap().contains("scope")));
    }

    let (_, listed) = json_run(
        fabric
            .certaudit()
            .args(["history", "-o", "json", "--history"])
            .arg(&db),
    );
    assert_eq!(listed["scans"][1]["scope"]["accounts"], json!([web]));
    assert_eq!(listed["scans"][0]["scope"]["accounts"], Value::Null);
    let table = fabric
        .certaudit()
        .args(["history", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    let narrow = table
        .lines()
        .find(|l| l.trim_start().starts_with("2 "))
        .unwrap();
    assert!(
        narrow.contains(&format!("accounts {web}; regions eu-west-1, us-east-1")),
        "the table says which scan was narrower: {table}"
    );
}

#[test]
fn a_reversed_range_is_refused_and_the_time_history_prints_is_accepted() {
    let fabric = Fabric::start(three_accounts());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    for scan in 0..2 {
        if scan > 0 {
            // A time names scans to the second: two made in the same one are one to it.
            std::thread::sleep(Duration::from_millis(1100));
        }
        let (code, _) = fabric.scan_json(&[
            "--history",
            db.to_str().unwrap(),
            TWO_REGIONS[0],
            TWO_REGIONS[1],
        ]);
        assert_eq!(code, 0);
    }
    let run = |args: &[&str]| {
        let out = fabric
            .certaudit()
            .args(["diff", "--history"])
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--from", "2", "--to", "1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--from names scan 2") && stderr.contains("--to scan 1"),
        "{stderr}"
    );
    let listed = fabric
        .certaudit()
        .args(["history", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    let table = String::from_utf8(listed.stdout).unwrap();
    let printed = table
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .and_then(|l| l.split_whitespace().nth(1).zip(l.split_whitespace().nth(2)))
        .map(|(date, time)| format!("{date} {time} UTC"))
        .unwrap_or_else(|| panic!("{table}"));
    let (code, stderr) = run(&["--from", &printed, "--to", "2"]);
    assert_eq!(code, Some(0), "'{printed}' as history prints it: {stderr}");
    let (code, stderr) = run(&["--from", "last tuesday"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("UTC"), "{stderr}");

    let out = fabric
        .certaudit()
        .args(["history", "prune", "--keep-days", "100000000", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a usage error, not a panic: {stderr}"
    );
    assert!(stderr.contains("36500"), "{stderr}");
}

#[test]
fn a_schema_version_of_the_wrong_type_is_named_with_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("quoted.json");
    std::fs::write(&file, r#"{"schema_version": "1", "certificates": []}"#).unwrap();
    let out = assert_cmd::Command::cargo_bin("certaudit")
        .unwrap()
        .env_clear()
        .arg("diff")
        .args([&file, &file])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(r#"schema_version is a string ("1"), expected an integer (1)"#),
        "{stderr}"
    );
    std::fs::write(&file, r#"{"schema_version": 1.0}"#).unwrap();
    let out = assert_cmd::Command::cargo_bin("certaudit")
        .unwrap()
        .env_clear()
        .arg("diff")
        .args([&file, &file])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("schema_version is a number with a fraction (1.0), expected an integer"),
        "{stderr}"
    );
}

/// The same command run as `nobody`: tests run as root, whom file permissions do not stop.
fn as_nobody(cmd: &Command) -> Command {
    support::run_through(
        cmd,
        "setpriv",
        &["--reuid=65534", "--regid=65534", "--clear-groups"],
    )
}

/// Let `nobody` read (not write) a root-owned directory.
fn readable_by_all(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn reading_a_history_needs_no_write_access_and_leaves_no_files() {
    let fabric = Fabric::start(three_accounts());
    readable_by_all(fabric.dir.path());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    for _ in 0..2 {
        let (code, _) = fabric.scan_json(&[
            "--history",
            db.to_str().unwrap(),
            TWO_REGIONS[0],
            TWO_REGIONS[1],
        ]);
        assert_eq!(code, 0);
    }
    readable_by_all(dir.path());
    let before = std::fs::read(&db).unwrap();
    for args in [&["history", "-o", "json"][..], &["diff", "-o", "json"]] {
        let mut cmd = fabric.certaudit_process();
        cmd.args(args).arg("--history").arg(&db);
        let out = as_nobody(&cmd).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} as nobody in a directory it cannot write: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        files_in(dir.path()),
        vec!["history.db"],
        "no -wal, no -shm left"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "not a byte written");
}

#[test]
fn a_history_this_user_cannot_write_stops_the_scan_before_any_call() {
    let fabric = Fabric::start(three_accounts());
    readable_by_all(fabric.dir.path());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let (code, _) = fabric.scan_json(&[
        "--history",
        db.to_str().unwrap(),
        TWO_REGIONS[0],
        TWO_REGIONS[1],
    ]);
    assert_eq!(code, 0);
    readable_by_all(dir.path());
    let calls = fabric.calls().len();
    let new_file = dir.path().join("new.db");
    for (path, cause) in [
        (&db, "read-only for this user"),
        (&new_file, "cannot be opened or created"),
    ] {
        let mut cmd = fabric.certaudit_process();
        cmd.args(["scan", "-o", "json", "--history"])
            .arg(path)
            .args(TWO_REGIONS);
        let out = as_nobody(&cmd).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(cause), "{stderr}");
        assert!(
            !stderr.contains("attempt to write a readonly database"),
            "{stderr}"
        );
        assert_eq!(
            fabric.calls().len(),
            calls,
            "refused before any AWS call: {stderr}"
        );
    }
}

#[test]
fn a_file_that_is_not_a_whole_certaudit_history_stops_the_scan_untouched() {
    let fabric = Fabric::start(three_accounts());
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("other-app.db");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT); \
             INSERT INTO notes VALUES ('mine'); PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let damaged = dir.path().join("damaged.db");
    let (code, _) = fabric.scan_json(&[
        "--history",
        damaged.to_str().unwrap(),
        TWO_REGIONS[0],
        TWO_REGIONS[1],
    ]);
    assert_eq!(code, 0);
    {
        let mut bytes = std::fs::read(&damaged).unwrap();
        let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
        for page in bytes.chunks_mut(page_size).skip(1) {
            page[..8].copy_from_slice(&[0x7f; 8]);
        }
        std::fs::write(&damaged, bytes).unwrap();
    }
    let calls = fabric.calls().len();
    for (path, said) in [
        (&foreign, "not certaudit's history".to_string()),
        (&damaged, format!("sqlite3 {} .recover", damaged.display())),
    ] {
        let before = std::fs::read(path).unwrap();
        let out = fabric
            .certaudit()
            .args(["scan", "-o", "json", "--history"])
            .arg(path)
            .args(TWO_REGIONS)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&said), "{stderr}");
        assert_eq!(fabric.calls().len(), calls, "refused before any AWS call");
        assert_eq!(std::fs::read(path).unwrap(), before, "not a byte changed");
    }
}

#[test]
fn two_report_files_in_the_wrong_time_order_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, days_ago: i64| {
        let at = chrono::Utc::now() - chrono::Duration::days(days_ago);
        let report = certaudit::report::Report::new(at, 45, "111111111111");
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_string(&report).unwrap()).unwrap();
        path
    };
    let (earlier, later) = (write("earlier.json", 2), write("later.json", 1));
    let diff = |old: &std::path::Path, new: &std::path::Path| {
        assert_cmd::Command::cargo_bin("certaudit")
            .unwrap()
            .env_clear()
            .arg("diff")
            .args([old, new])
            .output()
            .unwrap()
    };
    let out = diff(&later, &earlier);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("swap them"), "{stderr}");
    assert_eq!(diff(&earlier, &later).status.code(), Some(0));
}
