//! The scan under faults (SPEC §1.7): throttling storms, 5xx and connection resets, a hanging
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
        throttled > 20,
        "the storm happened: {throttled} throttled calls"
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

#[test]
fn ctrl_c_writes_the_partial_report_and_exits_130() {
    let fabric = Fabric::start(json!({
        "latency_ms": 50,
        "accounts": [
            {"name": "a", "certificates": certificates("a", 40)},
            {"name": "b", "certificates": certificates("b", 40)},
        ],
    }));
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = fabric.certaudit_process();
    let child = cmd
        .args(["scan", "-o", "json", "--rate", "1", "--report-dir"])
        .arg(dir.path())
        .args(TWO_REGIONS)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    for r in [&report, &written] {
        let interrupted = r["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["stage"] == "interrupted" && e["code"] == "interrupted");
        assert!(interrupted, "{}", r["errors"]);
        let failed: Vec<&Value> = r["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["state"] == "failed")
            .collect();
        assert!(
            !failed.is_empty(),
            "unfinished accounts are listed as failed"
        );
    }
}
