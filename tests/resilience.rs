//! The scan under faults and signals: throttling storms, 5xx and connection resets, a hanging
//! region, credentials expiring mid-scan, Ctrl-C. Each against the fabric, each asserting that
//! nothing was lost or that the loss is reported.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{arns, cert, with, Fabric};

/// `n` certificates in one account, spread over two regions.
fn certificates(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let region = if i % 2 == 0 { "us-east-1" } else { "eu-west-1" };
            with(
                cert(&format!("{prefix}{i}"), &format!("{prefix}{i}.example.com")),
                json!({"region": region, "tags": {"n": i.to_string()}}),
            )
        })
        .collect()
}

fn labels(prefix: &str, n: usize) -> impl Iterator<Item = String> + '_ {
    (0..n).map(move |i| format!("{prefix}{i}"))
}

fn expected_arns(fabric: &Fabric, groups: &[(&str, usize)]) -> Vec<String> {
    let mut all: Vec<String> = groups
        .iter()
        .flat_map(|(prefix, n)| labels(prefix, *n).map(|l| fabric.arn(&l)))
        .collect();
    all.sort();
    all
}

fn outcomes(fabric: &Fabric, outcome: &str) -> usize {
    fabric
        .calls()
        .iter()
        .filter(|c| c["outcome"] == outcome)
        .count()
}

const TWO_REGIONS: [&str; 2] = ["--regions", "us-east-1,eu-west-1"];

#[test]
fn a_throttling_storm_loses_nothing_and_surfaces_no_error() {
    let fabric = Fabric::start(json!({
        "throttle": {"DescribeCertificate": 3, "ListTagsForCertificate": 3, "ListCertificates": 1},
        "acm_page_size": 5,
        "accounts": [
            {"name": "a", "certificates": certificates("a", 30)},
            {"name": "b", "certificates": certificates("b", 30)},
        ],
    }));
    // --rate 20 is twice ACM's real quota and seven times the fabric's: a storm.
    let (code, report) = fabric.scan_json(&[&TWO_REGIONS[..], &["--rate", "20"]].concat());
    assert_eq!(code, 0, "{}", report["errors"]);
    assert_eq!(
        arns(&report),
        expected_arns(&fabric, &[("a", 30), ("b", 30)])
    );
    assert!(report["errors"].as_array().unwrap().is_empty());
    for c in report["certificates"].as_array().unwrap() {
        assert!(c["issuer"].is_string(), "described despite throttling: {c}");
        assert!(
            c["tags"]["n"].is_string(),
            "tags read despite throttling: {c}"
        );
    }
    let throttled = outcomes(&fabric, "ThrottlingException");
    assert!(
        throttled > 0,
        "the storm happened (adaptive pacing keeps it short): {throttled} throttled calls"
    );
}

#[test]
fn rate_scope_account_paces_an_accounts_regions_as_one_budget() {
    // DescribeCertificate allows 6/s per account, whatever the region: a quota the account's
    // regions share. Four regions at --rate 3 each make 12/s against it; one budget of 3/s
    // fits with room for a second's worth of calls bunched up by a slow fabric.
    const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "us-west-2", "ap-south-1"];
    let certs: Vec<Value> = (0..24)
        .map(|i| {
            with(
                cert(&format!("a{i}"), &format!("a{i}.example.com")),
                json!({"region": REGIONS[i % REGIONS.len()]}),
            )
        })
        .collect();
    let fabric = Fabric::start(json!({
        "throttle": {"DescribeCertificate": 6},
        "throttle_scope": "account",
        "accounts": [{"name": "a", "certificates": certs}],
    }));
    let regions = REGIONS.join(",");
    let args = ["--regions", &regions, "--rate", "3", "--no-tags"];
    let throttled = || outcomes(&fabric, "ThrottlingException");

    let (code, report) = fabric.scan_json(&[&args[..], &["--rate-scope", "account"]].concat());
    assert_eq!(code, 0, "{}", report["errors"]);
    assert_eq!(arns(&report), expected_arns(&fabric, &[("a", 24)]));
    assert_eq!(
        throttled(),
        0,
        "one budget of 3/s per account stays under a shared quota of 6/s"
    );

    let (code, report) =
        fabric.scan_json(&[&args[..], &["--rate-scope", "account-region"]].concat());
    assert_eq!(code, 0, "throttled calls are retried: {}", report["errors"]);
    assert_eq!(arns(&report), expected_arns(&fabric, &[("a", 24)]));
    assert!(
        throttled() > 0,
        "a budget per region (4 x 3/s) overruns the shared quota, so the scope made the difference"
    );
}

#[test]
fn intermittent_5xx_and_connection_resets_are_retried() {
    let fabric = Fabric::start(json!({
        "faults": {"rate": 0.25, "kinds": ["500", "503", "reset"]},
        "acm_page_size": 4,
        "accounts": [{"name": "a", "certificates": certificates("a", 24)}],
    }));
    let (code, report) = fabric.scan_json(&TWO_REGIONS);
    assert_eq!(code, 0, "{}", report["errors"]);
    assert_eq!(arns(&report), expected_arns(&fabric, &[("a", 24)]));
    for c in report["certificates"].as_array().unwrap() {
        assert!(c["issuer"].is_string() && c["tags"]["n"].is_string(), "{c}");
    }
    for kind in ["fault-500", "fault-503", "fault-reset"] {
        assert!(outcomes(&fabric, kind) > 0, "no {kind} was injected");
    }
}

#[test]
fn a_hanging_region_is_bounded_by_timeout_and_reported() {
    let fabric = Fabric::start(json!({
        "hang": {"region": "eu-west-1", "operations": ["ListCertificates"], "seconds": 120},
        "accounts": [{"name": "a", "certificates": certificates("a", 6)}],
    }));
    let started = Instant::now();
    let (code, report) = fabric.scan_json(&[&TWO_REGIONS[..], &["--timeout", "3"]].concat());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(60), "the scan waited {took:?}");
    assert_eq!(code, 3, "a region that timed out makes the scan incomplete");
    let account = fabric.account("a");
    let errors = report["errors"].as_array().unwrap();
    let hung: Vec<&Value> = errors
        .iter()
        .filter(|e| e["account_id"] == account.as_str())
        .collect();
    assert_eq!(hung.len(), 1, "{errors:?}");
    assert_eq!(hung[0]["region"], "eu-west-1");
    assert_eq!(hung[0]["stage"], "list_certificates");
    assert_eq!(hung[0]["code"], "timeout");
    let us_east: Vec<String> = labels("a", 6).step_by(2).map(|l| fabric.arn(&l)).collect();
    for arn in us_east {
        assert!(arns(&report).contains(&arn), "us-east-1 was still scanned");
    }
}

#[test]
fn credentials_expiring_mid_scan_are_refreshed() {
    let fabric = Fabric::start(json!({
        "session_seconds": 12,
        "accounts": [{"name": "a", "certificates": certificates("a", 40)}],
    }));
    // 20 certificates per region at 2 calls a second: about 10 s per region, and the account's
    // first credentials are already near expiry when the scan starts.
    let (code, report) = fabric.scan_json(&[&TWO_REGIONS[..], &["--rate", "2"]].concat());
    assert_eq!(code, 0, "{}", report["errors"]);
    assert_eq!(arns(&report), expected_arns(&fabric, &[("a", 40)]));
    let account = fabric.account("a");
    let assumed = fabric
        .calls_of("AssumeRole")
        .iter()
        .filter(|c| c["outcome"] == "ok")
        .count();
    assert!(
        assumed >= 3,
        "the probe, the first load and at least one refresh mid-scan: {assumed} AssumeRole calls"
    );
    let expired = fabric
        .calls()
        .iter()
        .filter(|c| c["outcome"] == "ExpiredToken" && c["account"] == account.as_str())
        .count();
    assert_eq!(expired, 0, "no call was made with expired credentials");
}

/// Two accounts of 40 certificates at one describe a second: listed in a second or two,
/// described over tens of seconds, so a signal after a few seconds finds every certificate
/// listed and most not described.
fn slow_fabric() -> Fabric {
    Fabric::start(json!({
        "latency_ms": 50,
        "accounts": [
            {"name": "a", "certificates": certificates("a", 40)},
            {"name": "b", "certificates": certificates("b", 40)},
        ],
    }))
}

fn spawn_scan(fabric: &Fabric, dir: &std::path::Path, extra: &[&str]) -> std::process::Child {
    fabric
        .certaudit_process()
        .args(["scan", "-o", "json", "--rate", "1", "--report-dir"])
        .arg(dir)
        .args(TWO_REGIONS)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &std::process::Child, name: &str) {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Signal a slow scan after every certificate is listed; check the exit code, stdout and
/// report.json, and return the report.
fn interrupted_scan(name: &str, code: i32) -> (Fabric, Value, String) {
    let fabric = slow_fabric();
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_scan(&fabric, dir.path(), &[]);
    std::thread::sleep(Duration::from_secs(5));
    signal(&child, name);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(written["certificates"], report["certificates"]);
    assert_eq!(written["errors"], report["errors"]);
    (fabric, report, stderr)
}

#[test]
fn ctrl_c_keeps_every_listed_certificate_and_names_the_unfinished_accounts() {
    let (fabric, report, stderr) = interrupted_scan("INT", 130);
    assert_eq!(
        arns(&report),
        expected_arns(&fabric, &[("a", 40), ("b", 40)]),
        "every listed certificate is reported, described or not"
    );
    let certificates = report["certificates"].as_array().unwrap();
    let described = certificates.iter().filter(|c| c["issuer"].is_string());
    let listed_only = certificates.iter().filter(|c| c["issuer"].is_null());
    assert!(
        described.count() > 0,
        "some were described before the signal"
    );
    assert!(
        listed_only.clone().all(|c| c["not_after"].is_string()),
        "undescribed certificates keep their listing's fields"
    );
    assert!(listed_only.count() > 0, "the signal came before the end");
    let errors = report["errors"].as_array().unwrap();
    let interrupted: Vec<&Value> = errors
        .iter()
        .filter(|e| e["stage"] == "interrupted")
        .collect();
    assert_eq!(interrupted.len(), 1, "{errors:?}");
    let message = interrupted[0]["message"].as_str().unwrap();
    assert!(message.contains("SIGINT"), "{message}");
    for name in ["a", "b"] {
        let account = fabric.account(name);
        assert!(message.contains(&account), "names {name}: {message}");
        let entry = support::account_entry(&report, &account);
        assert_eq!(entry["state"], "failed", "{entry}");
        assert_eq!(
            entry["reason"], "interrupted before this account finished",
            "{entry}"
        );
    }
    assert!(
        stderr.contains("certaudit: error interrupted interrupted: scan interrupted by SIGINT"),
        "the scan-wide error has no empty place: {stderr}"
    );
    assert!(!stderr.contains("[]"), "{stderr}");
}

#[test]
fn sigterm_writes_everything_found_and_exits_143() {
    let (fabric, report, _) = interrupted_scan("TERM", 143);
    assert_eq!(
        arns(&report),
        expected_arns(&fabric, &[("a", 40), ("b", 40)])
    );
    let interrupted = support::error_where(&report, |e| e["stage"] == "interrupted");
    assert!(interrupted["message"].as_str().unwrap().contains("SIGTERM"));
}

#[test]
fn a_second_signal_exits_at_once() {
    let fabric = slow_fabric();
    let dir = tempfile::tempdir().unwrap();
    // Nobody reads stdout: after the first signal the report fills the pipe and the writer
    // blocks, as it would behind a stuck consumer.
    let mut child = spawn_scan(&fabric, dir.path(), &[]);
    std::thread::sleep(Duration::from_secs(5));
    signal(&child, "INT");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first signal writes the report, and stdout is full"
    );
    signal(&child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the second signal did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(143), "the second signal's own code");
}

#[test]
fn ctrl_c_stops_a_hanging_notification() {
    let fabric = Fabric::start(json!({
        "hang": {"region": "eu-central-1", "operations": ["BatchImportFindings", "GetFindings"],
                 "seconds": 120},
        "accounts": [{"name": "a", "certificates": [
            with(cert("soon", "soon.example.com"), json!({"days_left": 5}))
        ]}],
    }));
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_scan(
        &fabric,
        dir.path(),
        &["--security-hub-region", "eu-central-1"],
    );
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(5));
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the hanging Security Hub call did not hold the exit for --timeout"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(arns(&report), vec![fabric.arn("soon")], "the scan is kept");
    let interrupted = support::error_where(&report, |e| e["stage"] == "interrupted");
    assert!(
        interrupted["message"]
            .as_str()
            .unwrap()
            .contains("notifying"),
        "{interrupted}"
    );
}

#[test]
fn a_report_file_that_cannot_be_written_is_never_left_truncated() {
    use std::os::unix::process::CommandExt;
    let fabric = slow_fabric();
    let dir = tempfile::tempdir().unwrap();
    let previous = r#"{"schema_version": 1, "from": "the last good run"}"#;
    std::fs::write(dir.path().join("report.json"), previous).unwrap();
    let mut cmd = fabric.certaudit_process();
    cmd.args(["scan", "-o", "json", "--detail", "summary", "--report-dir"])
        .arg(dir.path())
        .args(TWO_REGIONS)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // A disk that fills up: no file may grow past 8 KiB (EFBIG instead of the signal).
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 8192,
                rlim_max: 8192,
            };
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("report.json")
            && stderr.contains("inventory.csv")
            && stderr.contains("imported.csv"),
        "names each file that failed: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("report.json")).unwrap(),
        previous,
        "the previous report.json is intact"
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
    // Every certificate is imported: only the lists that stay small fit.
    let small = ["expiring.csv", "will_not_renew.csv", "errors.csv"];
    for name in small {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(
            text.starts_with("arn,") || text.starts_with("account_id,"),
            "{name}"
        );
    }
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["summary"]["certificates"], 80,
        "stdout still has the report"
    );
}

#[test]
fn a_rate_above_the_quota_slows_down_instead_of_failing() {
    let many: Vec<Value> = (0..160)
        .map(|i| cert(&format!("q{i}"), &format!("q{i}.example.com")))
        .collect();
    // ACM's real quotas; --rate asks for two and a half times as much.
    let fabric = Fabric::start(json!({
        "throttle": {"DescribeCertificate": 10, "ListTagsForCertificate": 10},
        "accounts": [{"name": "a", "certificates": many}],
    }));
    let out = fabric
        .certaudit()
        .args([
            "scan",
            "-o",
            "json",
            "--regions",
            "us-east-1",
            "--rate",
            "25",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", report["errors"]);
    assert!(report["errors"].as_array().unwrap().is_empty());
    assert_eq!(report["summary"]["certificates"], 160);
    assert!(
        report["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["issuer"].is_string() && c["tags"].is_object()),
        "every certificate described and tagged"
    );
    assert!(
        outcomes(&fabric, "ThrottlingException") > 0,
        "the fabric did throttle"
    );
    assert!(
        stderr.contains("--rate 25 is above ACM's quota"),
        "warns: {stderr}"
    );
}
