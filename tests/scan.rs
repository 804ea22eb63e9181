//! Integration tests: the real certaudit binary and the real AWS SDK against moto server
//! behind the fidelity layer (`tests/fabric/`). Each test seeds its own organization.

mod support;

use serde_json::{json, Value};
use support::{account_entry, arns, cert, certificate, with, Fabric};

fn acm(label: &str, domain: &str, extra: Value) -> Value {
    with(cert(label, domain), extra)
}

#[test]
fn ecdsa_and_rsa_3072_4096_certificates_are_found() {
    let keys = [
        "EC_prime256v1",
        "EC_secp384r1",
        "EC_secp521r1",
        "RSA_3072",
        "RSA_4096",
        "RSA_2048",
    ];
    let certs: Vec<Value> = keys
        .iter()
        .map(|k| {
            acm(
                k,
                &format!("{}.example.com", k.to_lowercase().replace('_', "-")),
                json!({"key": k}),
            )
        })
        .collect();
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": certs}]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 0, "{report}");
    for key in keys {
        let c = certificate(&report, &fabric.arn(key));
        assert_eq!(c["key_algorithm"], key);
    }
    assert_eq!(report["summary"]["certificates"], keys.len());
}

#[test]
fn acme_origin_certificate_is_found() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        acm("acme", "acme.example.com", json!({"type": "AMAZON_ISSUED", "origin": "ACME",
            "in_use_by": ["arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1"]})),
    ]}]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 0, "{report}");
    let c = certificate(&report, &fabric.arn("acme"));
    assert_eq!(c["key_pair_origin"], "ACME");
    assert_eq!(c["auto_renews"], true);
}

#[test]
fn region_with_more_certificates_than_one_page_is_listed_completely() {
    let fabric = Fabric::start(json!({
        "acm_page_size": 3,
        "accounts": [{"name": "busy", "certificates": [
            {"domain": "busy.example.com", "count": 10, "region": "eu-west-1"}
        ]}]
    }));
    let (code, report) = fabric.scan_json(&["--regions", "eu-west-1"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["summary"]["certificates"], 10);
    let busy = fabric.account("busy");
    let pages: Vec<Value> = fabric
        .calls_of("ListCertificates")
        .into_iter()
        .filter(|c| c["account"] == busy)
        .collect();
    assert_eq!(
        pages.len(),
        4,
        "10 certificates at 3 per page take 4 pages: {pages:?}"
    );
}

#[test]
fn suspended_account_is_skipped_not_an_error() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "live", "certificates": [cert("live", "live.example.com")]},
        {"name": "gone", "state": "SUSPENDED", "certificates": [cert("gone", "gone.example.com")]},
    ]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 0, "{report}");
    let gone = account_entry(&report, &fabric.account("gone"));
    assert_eq!(gone["state"], "skipped");
    assert!(gone["reason"].as_str().unwrap().contains("SUSPENDED"));
    assert_eq!(report["summary"]["accounts_skipped"], 1);
    assert_eq!(report["summary"]["errors"], 0);
    assert_eq!(arns(&report), vec![fabric.arn("live")]);
    let assumed: Vec<Value> = fabric.calls_of("AssumeRole");
    assert!(assumed
        .iter()
        .all(|c| c["account"] != fabric.account("gone")));
}

#[test]
fn missing_role_and_wrong_external_id_are_errors_and_other_accounts_complete() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "good", "certificates": [cert("good", "good.example.com")]},
        {"name": "norole", "role": "missing", "certificates": [cert("x1", "x1.example.com")]},
        {"name": "otherid", "external_id": "someone-elses-id", "certificates": [cert("x2", "x2.example.com")]},
        {"name": "good2", "certificates": [cert("good2", "good2.example.com")]},
    ]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 3, "incomplete scan exits 3");
    assert_eq!(arns(&report), {
        let mut v = vec![fabric.arn("good"), fabric.arn("good2")];
        v.sort();
        v
    });
    for name in ["norole", "otherid"] {
        let id = fabric.account(name);
        assert_eq!(account_entry(&report, &id)["state"], "failed");
        let error = support::error_where(&report, |e| e["account_id"] == id);
        assert_eq!(error["stage"], "assume_role");
        assert_eq!(error["code"], "AccessDenied");
        assert!(error["region"].is_null());
    }
    assert_eq!(report["summary"]["accounts_failed"], 2);
    assert_eq!(
        report["summary"]["accounts_scanned"], 3,
        "two good accounts and the management account"
    );

    let (code, _) = fabric.scan_json(&["--regions", "us-east-1", "--allow-partial"]);
    assert_eq!(code, 0, "--allow-partial turns 3 into 0");
}

#[test]
fn opt_in_region_is_scanned_only_where_enabled() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "hk", "opt_in_regions": ["ap-east-1"],
         "certificates": [acm("hk", "hk.example.com", json!({"region": "ap-east-1"}))]},
        {"name": "plain", "certificates": [cert("plain", "plain.example.com")]},
    ]}));
    let (code, report) = fabric.scan_json(&[]);
    assert_eq!(code, 0, "{report}");
    let hk = fabric.account("hk");
    assert_eq!(
        certificate(&report, &fabric.arn("hk"))["region"],
        "ap-east-1"
    );
    let ap_east: Vec<Value> = fabric
        .calls_of("ListCertificates")
        .into_iter()
        .filter(|c| c["region"] == "ap-east-1")
        .collect();
    assert!(!ap_east.is_empty());
    assert!(
        ap_east.iter().all(|c| c["account"] == hk),
        "ap-east-1 called only in the account that opted in"
    );
    let regions = |id: &str| {
        account_entry(&report, id)["regions"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(regions(&hk), regions(&fabric.account("plain")) + 1);

    // Asked for explicitly, a region an account has not enabled is noted, not called.
    let (code, report) = fabric.scan_json(&["--regions", "ap-east-1,us-east-1"]);
    assert_eq!(code, 0, "{report}");
    let plain = account_entry(&report, &fabric.account("plain"));
    assert_eq!(plain["regions_not_enabled"], json!(["ap-east-1"]));
    assert_eq!(plain["regions"], json!(["us-east-1"]));
}

#[test]
fn management_account_is_scanned_with_the_callers_credentials() {
    let fabric = Fabric::start(json!({
        "management": {"name": "mgmt", "certificates": [cert("mgmt", "mgmt.example.com")]},
        "accounts": [{"name": "member", "certificates": [cert("member", "member.example.com")]}]
    }));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 0, "{report}");
    let management = fabric.account("mgmt");
    assert_eq!(report["caller_account_id"], management);
    assert_eq!(
        certificate(&report, &fabric.arn("mgmt"))["account_id"],
        management
    );
    assert_eq!(account_entry(&report, &management)["state"], "scanned");
    let assumed = fabric.calls_of("AssumeRole");
    assert_eq!(
        assumed.len(),
        1,
        "only the member account's role is assumed: {assumed:?}"
    );
    certificate(&report, &fabric.arn("member"));
}

#[test]
fn forty_five_days_is_expiring_and_forty_six_is_not() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        acm("d45", "d45.example.com", json!({"days_left": 45.5})),
        acm("d46", "d46.example.com", json!({"days_left": 46.5})),
    ]}]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1", "--fail-on", "expiring"]);
    let d45 = certificate(&report, &fabric.arn("d45"));
    let d46 = certificate(&report, &fabric.arn("d46"));
    assert_eq!(
        (d45["days_to_expiry"].as_i64(), d45["expiring"].as_bool()),
        (Some(45), Some(true))
    );
    assert_eq!(
        (d46["days_to_expiry"].as_i64(), d46["expiring"].as_bool()),
        (Some(46), Some(false))
    );
    assert_eq!(code, 4, "--fail-on expiring matched");

    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--expiring-days",
        "44",
        "--fail-on",
        "expiring",
    ]);
    assert_eq!(report["summary"]["expiring"], 0);
    assert_eq!(code, 0);
}

#[test]
fn expired_certificate_is_reported_expired_and_expiring() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        acm("old", "old.example.com", json!({"days_left": -3, "key": "RSA_4096"})),
        cert("fresh", "fresh.example.com"),
    ]}]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1", "--fail-on", "expired"]);
    assert_eq!(code, 4);
    let old = certificate(&report, &fabric.arn("old"));
    assert_eq!(old["expired"], true);
    assert_eq!(old["expiring"], true);
    assert_eq!(old["status"], "EXPIRED");
    assert!(old["days_to_expiry"].as_i64().unwrap() < 0);
    assert_eq!(
        report["certificates"][0]["arn"],
        fabric.arn("old"),
        "expired sorts first"
    );
    assert_eq!(report["summary"]["expired"], 1);
}

#[test]
fn unused_acm_issued_certificate_is_listed_as_will_not_renew() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        acm("unused", "unused.example.com", json!({"type": "AMAZON_ISSUED"})),
        acm("used", "used.example.com", json!({"type": "AMAZON_ISSUED",
            "in_use_by": ["arn:aws:cloudfront::1:distribution/E1"]})),
        acm("failed", "failed.example.com", json!({"type": "AMAZON_ISSUED", "days_left": 20,
            "in_use_by": ["arn:aws:cloudfront::1:distribution/E2"],
            "renewal_status": "FAILED", "renewal_status_reason": "CAA_ERROR"})),
    ]}]}));
    let (code, report) =
        fabric.scan_json(&["--regions", "us-east-1", "--fail-on", "will-not-renew"]);
    assert_eq!(code, 4);
    let unused = certificate(&report, &fabric.arn("unused"));
    assert_eq!(unused["renewal_eligibility"], "INELIGIBLE");
    assert_eq!(unused["in_use"], false);
    assert_eq!(unused["will_not_renew"], true);
    assert_eq!(unused["auto_renews"], false);
    let used = certificate(&report, &fabric.arn("used"));
    assert_eq!(
        (
            used["will_not_renew"].as_bool(),
            used["auto_renews"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert_eq!(
        used["in_use_by"],
        json!(["arn:aws:cloudfront::1:distribution/E1"])
    );
    let failed = certificate(&report, &fabric.arn("failed"));
    assert_eq!(failed["renewal_status"], "FAILED");
    assert_eq!(failed["renewal_status_reason"], "CAA_ERROR");
    assert_eq!(failed["will_not_renew"], true);

    let out = fabric
        .certaudit()
        .args(["scan", "--regions", "us-east-1", "--list", "will-not-renew"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Will not renew (2)"), "{table}");
    assert!(
        table.contains("not in use, so ACM will not renew it"),
        "{table}"
    );
    assert!(table.contains("renewal failed: CAA_ERROR"), "{table}");
}

#[test]
fn organizations_pages_without_status_are_all_followed() {
    let accounts: Vec<Value> = (0..25)
        .map(|i| json!({"name": format!("acct-{i:02}")}))
        .collect();
    let fabric =
        Fabric::start(json!({"org_page_size": 4, "org_empty_page": true, "accounts": accounts}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["summary"]["accounts_targeted"], 26,
        "25 members and the management account"
    );
    assert_eq!(report["summary"]["accounts_scanned"], 26);
    // 26 accounts at 4 a page: 7 pages, and the fabric serves one empty page (with a token)
    // among them: 8 calls, each with MaxResults within Organizations' 1..20.
    let pages = fabric.calls_of("ListAccounts");
    assert_eq!(pages.len(), 8, "every page followed, none twice: {pages:?}");
}

#[test]
fn explicit_accounts_bypass_organizations() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "a", "certificates": [cert("a", "a.example.com")]},
        {"name": "b", "certificates": [cert("b", "b.example.com")]},
    ]}));
    let file = fabric.dir.path().join("accounts.csv");
    std::fs::write(
        &file,
        format!("id,name\n# only a\n{},alpha\n", fabric.account("a")),
    )
    .unwrap();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--accounts-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(arns(&report), vec![fabric.arn("a")]);
    assert_eq!(
        certificate(&report, &fabric.arn("a"))["account_name"],
        "alpha"
    );
    assert!(fabric
        .calls()
        .iter()
        .all(|c| c["service"] != "organizations"));

    let (code, report) =
        fabric.scan_json(&["--regions", "us-east-1", "--accounts", &fabric.account("b")]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(arns(&report), vec![fabric.arn("b")]);
}

#[test]
fn ou_filter_walks_nested_units_and_exclude_skips() {
    let fabric = Fabric::start(json!({
        "organizational_units": ["Workloads", "Workloads/Prod", "Sandbox"],
        "accounts": [
            {"name": "prod", "ou": "Workloads/Prod", "certificates": [cert("prod", "prod.example.com")]},
            {"name": "shared", "ou": "Workloads", "certificates": [cert("shared", "shared.example.com")]},
            {"name": "sandbox", "ou": "Sandbox", "certificates": [cert("sandbox", "sandbox.example.com")]},
        ]
    }));
    let workloads = fabric.ou("Workloads");
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1", "--ou", &workloads]);
    assert_eq!(code, 0, "{report}");
    let mut expected = vec![fabric.arn("prod"), fabric.arn("shared")];
    expected.sort();
    assert_eq!(
        arns(&report),
        expected,
        "nested OU accounts included, others not"
    );

    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--ou",
        &workloads,
        "--exclude",
        &fabric.account("prod"),
    ]);
    assert_eq!(
        code, 0,
        "an excluded account is skipped, not an error: {report}"
    );
    assert_eq!(arns(&report), vec![fabric.arn("shared")]);
    let prod = account_entry(&report, &fabric.account("prod"));
    assert_eq!(prod["state"], "skipped");
    assert_eq!(prod["reason"], "excluded by --exclude");

    // Excluding an account outside the targets excludes nothing, and says so.
    let sandbox = fabric.account("sandbox");
    let out = fabric
        .certaudit()
        .args([
            "scan",
            "-o",
            "json",
            "--regions",
            "us-east-1",
            "--ou",
            &workloads,
        ])
        .args(["--exclude", &sandbox])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning, not an error: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "--exclude {sandbox}: no such account among those targeted"
        )),
        "{stderr}"
    );
}

#[test]
fn summary_detail_makes_no_per_certificate_calls() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        acm("t", "t.example.com", json!({"tags": {"team": "web"}})),
    ]}]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1", "--detail", "summary"]);
    assert_eq!(code, 0, "{report}");
    let c = certificate(&report, &fabric.arn("t"));
    assert!(c["issuer"].is_null() && c["serial"].is_null());
    assert_eq!(c["type"], "IMPORTED");
    assert!(c["not_after"].is_string());
    assert!(fabric.calls_of("DescribeCertificate").is_empty());
    assert!(fabric.calls_of("ListTagsForCertificate").is_empty());

    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 0, "{report}");
    let c = certificate(&report, &fabric.arn("t"));
    assert_eq!(c["tags"], json!({"team": "web"}));
    assert_eq!(c["issuer"], "certaudit demo external CA");
}

#[test]
fn report_dir_always_gets_every_file() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "app", "certificates": [acm("soon", "soon.example.com", json!({"days_left": 10}))]},
        {"name": "norole", "role": "missing"},
    ]}));
    let dir = fabric.dir.path().join("artifacts");
    let out = fabric
        .certaudit()
        .args([
            "scan",
            "--regions",
            "us-east-1",
            "-o",
            "ndjson",
            "--report-dir",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "one certificate per line, nothing else: {stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AccessDenied"),
        "errors go to stderr"
    );
    for name in [
        "report.json",
        "inventory.csv",
        "expiring.csv",
        "imported.csv",
        "will_not_renew.csv",
        "certificate_authorities.csv",
        "errors.csv",
    ] {
        assert!(dir.join(name).exists(), "{name} missing");
    }
    let expiring = std::fs::read_to_string(dir.join("expiring.csv")).unwrap();
    assert_eq!(
        expiring.lines().count(),
        2,
        "header and one row: {expiring}"
    );
    let will_not_renew = std::fs::read_to_string(dir.join("will_not_renew.csv")).unwrap();
    assert!(
        will_not_renew.starts_with("arn,account_id,"),
        "header even when empty"
    );
    let errors = std::fs::read_to_string(dir.join("errors.csv")).unwrap();
    assert!(errors.contains("assume_role,AccessDenied"), "{errors}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
}

#[test]
fn unwritable_report_dir_is_fatal_before_any_aws_call() {
    let fabric = Fabric::start(json!({"accounts": []}));
    let blocker = fabric.dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let out = fabric
        .certaudit()
        .args([
            "scan",
            "--report-dir",
            blocker.join("sub").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--report-dir"));
    assert!(fabric.calls().is_empty(), "no AWS call was made");
}

#[test]
fn organizations_unavailable_is_fatal_and_suggests_accounts() {
    let fabric = Fabric::start(json!({"organization": false}));
    let out = fabric.certaudit().args(["scan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a member of an AWS Organization"),
        "{stderr}"
    );
    assert!(stderr.contains("--accounts"), "{stderr}");
}

#[test]
fn closed_stdout_pipe_ends_quietly_in_every_format() {
    // `certaudit scan | head -1`: the reader is gone before the report is written.
    let certs: Vec<Value> = (0..5)
        .map(|i| cert(&format!("c{i}"), &format!("c{i}.example.com")))
        .collect();
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": certs}]}));
    for format in ["table", "json", "ndjson", "csv"] {
        let mut child = fabric
            .certaudit_process()
            .args(["scan", "--regions", "us-east-1", "-o", format])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("error"),
            "-o {format}: a closed pipe is not an error:\n{stderr}"
        );
        assert_eq!(out.status.code(), Some(0), "-o {format}: {stderr}");
    }
}

#[test]
fn a_regions_name_that_is_no_region_is_an_error_not_a_quiet_skip() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "a", "certificates": [acm("web", "web.example.com", json!({}))]},
        {"name": "b", "opt_in_regions": ["ap-east-1"]},
    ]}));
    // A typo, and an opt-in region only "b" has enabled.
    let (code, report) = fabric.scan_json(&["--regions", "us-eest-1,us-east-1,ap-east-1"]);
    assert_eq!(
        code, 3,
        "a region that was never scanned makes the scan incomplete"
    );
    assert_eq!(arns(&report), vec![fabric.arn("web")]);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(
        errors.len(),
        1,
        "one error for the scan, not one per account: {errors:?}"
    );
    let typo = &errors[0];
    assert_eq!(typo["code"], "unknown-region");
    assert_eq!(typo["region"], "us-eest-1");
    assert_eq!(typo["stage"], "describe_regions");
    assert!(typo["account_id"].is_null());
    assert!(
        typo["message"]
            .as_str()
            .unwrap()
            .contains("did you mean us-east-1?"),
        "{typo}"
    );
    let a = account_entry(&report, &fabric.account("a"));
    assert_eq!(a["state"], "scanned");
    assert_eq!(
        a["regions_not_enabled"],
        json!(["ap-east-1"]),
        "known, not enabled: a note"
    );
    let b = account_entry(&report, &fabric.account("b"));
    assert_eq!(b["regions"], json!(["ap-east-1", "us-east-1"]));
    assert!(
        fabric.calls().iter().all(|c| c["region"] != "us-eest-1"),
        "nothing is called in a region that does not exist"
    );
}

#[test]
fn an_ou_that_does_not_exist_is_named_with_how_to_find_the_right_one() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "a"}]}));
    let out = fabric
        .certaudit()
        .args(["scan", "--ou", "ou-zzzz-nothere1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "nothing to scan is fatal");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ou-zzzz-nothere1 is not an OU or root of this organization"),
        "{stderr}"
    );
    assert!(stderr.contains("list-roots"), "{stderr}");
    assert!(
        !stderr.contains("--accounts"),
        "Organizations works; the OU is wrong: {stderr}"
    );
}

#[test]
fn verbose_logs_go_to_stderr_and_leave_the_data_alone() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "a", "certificates": [acm("web", "web.example.com", json!({}))]},
    ]}));
    let run = |verbosity: Option<&str>| {
        let mut cmd = fabric.certaudit();
        cmd.args(["scan", "-o", "json", "--regions", "us-east-1"]);
        if let Some(v) = verbosity {
            cmd.arg(v);
        }
        let out = cmd.output().unwrap();
        let report: Value =
            serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
        assert_eq!(report["summary"]["certificates"], 1);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let quiet = run(None);
    assert!(
        !quiet.contains("account done"),
        "no logs by default: {quiet}"
    );
    let info = run(Some("-v"));
    assert_eq!(
        info.matches("account done").count(),
        2,
        "-v: one line per account: {info}"
    );
    assert!(!info.contains("region listed"), "{info}");
    let debug = run(Some("-vv"));
    assert!(
        debug.contains("region listed") && debug.contains("region described"),
        "{debug}"
    );
}

#[test]
fn an_organization_listing_that_breaks_part_way_keeps_what_was_scanned() {
    let accounts: Vec<Value> = (0..4)
        .map(|i| {
            json!({"name": format!("m{i}"), "certificates": [
                cert(&format!("c{i}"), &format!("c{i}.example.com"))
            ]})
        })
        .collect();
    // Pages of 2: the first (management and one member) is served, then AccessDenied.
    let fabric = Fabric::start(json!({
        "org_page_size": 2, "org_fail_after": 2, "accounts": accounts,
    }));
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--report-dir",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(
        code, 3,
        "what was listed is scanned; the rest is missing: {report}"
    );
    assert_eq!(report["summary"]["accounts_scanned"], 2, "{report}");
    assert_eq!(
        report["summary"]["certificates"], 1,
        "the one member listed before the failure: {report}"
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["stage"], "organizations");
    assert_eq!(errors[0]["code"], "AccessDeniedException");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("were not scanned"),
        "{}",
        errors[0]
    );
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(
        written["errors"], report["errors"],
        "the artifacts say the same"
    );
}

#[test]
fn a_certificate_that_cannot_be_described_is_kept_from_its_listing_and_reported() {
    // The role lacks DescribeCertificate and ListTagsForCertificate (a policy out of date).
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "old-policy", "denied": ["DescribeCertificate", "ListTagsForCertificate"],
         "certificates": [
            acm("x", "x.example.com", json!({"days_left": 10})),
            acm("y", "y.example.com", json!({})),
        ]},
    ]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(
        code, 3,
        "a certificate read only in part makes the scan incomplete"
    );
    for label in ["x", "y"] {
        let c = certificate(&report, &fabric.arn(label));
        assert!(
            c["not_after"].is_string(),
            "the listing's fields are kept: {c}"
        );
        assert!(
            c["issuer"].is_null(),
            "what only DescribeCertificate knows is null: {c}"
        );
    }
    assert_eq!(certificate(&report, &fabric.arn("x"))["expiring"], true);
    let errors = report["errors"].as_array().unwrap();
    for stage in ["describe_certificate", "list_tags"] {
        let of_stage: Vec<&Value> = errors.iter().filter(|e| e["stage"] == stage).collect();
        assert_eq!(
            of_stage.len(),
            2,
            "one {stage} error per certificate: {errors:?}"
        );
        assert!(of_stage.iter().all(|e| e["code"] == "AccessDeniedException"
            && e["region"] == "us-east-1"
            && e["account_id"] == fabric.account("old-policy")));
    }
}

#[test]
fn not_read_is_null_and_none_is_empty() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        acm("t", "t.example.com", json!({})),
    ]}]}));
    let arn = fabric.arn("t");
    let (_, full) = fabric.scan_json(&["--regions", "us-east-1"]);
    let c = certificate(&full, &arn);
    assert_eq!(c["in_use_by"], json!([]), "read, and none: {c}");
    assert_eq!(c["tags"], json!({}), "read, and none: {c}");
    let (_, summary) = fabric.scan_json(&["--regions", "us-east-1", "--detail", "summary"]);
    let c = certificate(&summary, &arn);
    assert!(
        c["in_use_by"].is_null() && c["tags"].is_null(),
        "not read: {c}"
    );
    let (_, no_tags) = fabric.scan_json(&["--regions", "us-east-1", "--no-tags"]);
    let c = certificate(&no_tags, &arn);
    assert!(c["tags"].is_null(), "not read: {c}");
    assert_eq!(c["in_use_by"], json!([]));
}

#[test]
fn generated_at_is_whole_seconds_for_jq() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app"}]}));
    let (_, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    let at = report["generated_at"].as_str().unwrap();
    assert_eq!(at.len(), "2026-11-26T00:35:03Z".len(), "{at}");
    assert!(at.ends_with('Z') && !at.contains('.'), "{at}");
}

#[test]
fn csv_neutralises_formulas_and_keeps_tags_unambiguous() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        acm("t", "t.example.com", json!({"tags": {
            "owner": "=1+2", "cost": "-2+3", "mail": "@SUM", "pair": "x;y=z"
        }})),
    ]}]}));
    let arn = fabric.arn("t");
    let rows = |extra: &[&str]| -> Vec<csv::StringRecord> {
        let out = fabric
            .certaudit()
            .args(["scan", "-o", "csv", "--regions", "us-east-1"])
            .args(extra)
            .output()
            .unwrap();
        let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
        let header = reader.headers().unwrap().clone();
        assert_eq!(header.len(), 36, "{header:?}");
        assert_eq!(&header[26], "failure_reason");
        assert_eq!(
            (&header[28], &header[29]),
            ("renewal_check", "renewal_risks")
        );
        assert_eq!((&header[30], &header[35]), ("source", "upload_date"));
        reader.records().map(Result::unwrap).collect()
    };
    let safe = rows(&[]);
    let row = safe.iter().find(|r| &r[0] == arn.as_str()).unwrap();
    let tags: Value = serde_json::from_str(&row[27]).expect("tags cell is a JSON object");
    assert_eq!(
        tags,
        json!({"owner": "=1+2", "cost": "-2+3", "mail": "@SUM", "pair": "x;y=z"}),
        "a value with ; and = reads back as one tag"
    );
    assert!(!row[27].starts_with(['=', '+', '-', '@']));
    let raw = rows(&["--csv-raw"]);
    let raw_row = raw.iter().find(|r| &r[0] == arn.as_str()).unwrap();
    // days_to_expiry (column 14) may tick over between the two scans.
    let without_days = |r: &csv::StringRecord| -> Vec<String> {
        let mut cells: Vec<String> = r.iter().map(str::to_string).collect();
        cells.remove(14);
        cells
    };
    assert_eq!(
        without_days(raw_row),
        without_days(row),
        "no cell of this certificate starts like a formula"
    );

    // Each kind of cell, by the tag a member account chose as its only tag.
    let (_, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(
        certificate(&report, &arn)["tags"]["owner"],
        "=1+2",
        "JSON is exact"
    );
}

#[test]
fn csv_cells_that_start_like_a_formula_get_a_quote_unless_raw() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "=HYPERLINK(1)", "certificates": [acm("t", "t.example.com", json!({}))]},
    ]}));
    let arn = fabric.arn("t");
    let cell = |extra: &[&str]| -> String {
        let out = fabric
            .certaudit()
            .args(["scan", "-o", "csv", "--regions", "us-east-1"])
            .args(extra)
            .output()
            .unwrap();
        let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
        let row = reader
            .records()
            .map(Result::unwrap)
            .find(|r| &r[0] == arn.as_str())
            .unwrap();
        row[2].to_string()
    };
    assert_eq!(cell(&[]), "'=HYPERLINK(1)");
    assert_eq!(cell(&["--csv-raw"]), "=HYPERLINK(1)");
    let (_, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(certificate(&report, &arn)["account_name"], "=HYPERLINK(1)");
}

#[test]
fn escape_sequences_from_aws_never_reach_the_terminal() {
    let evil = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J CA";
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "app", "certificates": [acm("t", "t.example.com", json!({"issuer": evil}))]},
        {"name": "gone", "role": "missing"},
    ]}));
    let out = fabric
        .certaudit()
        .args(["scan", "--regions", "us-east-1"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("evil\u{FFFD}]0;pwned"), "{table}");
    assert!(!table.contains(['\u{1b}', '\u{7}']), "{table:?}");
    let (_, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(
        certificate(&report, &fabric.arn("t"))["issuer"],
        evil,
        "JSON is exact"
    );
}

#[test]
fn quiet_still_prints_errors_grouped_per_place() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "old-policy", "denied": ["DescribeCertificate"],
         "certificates": (0..5).map(|i| cert(&format!("c{i}"), &format!("c{i}.example.com")))
            .collect::<Vec<_>>()},
    ]}));
    let out = fabric
        .certaudit()
        .args(["scan", "-q", "-o", "json", "--regions", "us-east-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("describe_certificate"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "-q keeps errors, one line per kind: {stderr}"
    );
    assert!(lines[0].contains("(and 4 more like it)"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let describe_errors = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stage"] == "describe_certificate")
        .count();
    assert_eq!(describe_errors, 5, "the JSON keeps every one");
    let table = fabric
        .certaudit()
        .args(["scan", "--regions", "us-east-1"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert_eq!(
        table.matches("describe_certificate").count(),
        1,
        "the table groups them too: {table}"
    );
    assert!(table.contains("Errors (5)"), "{table}");
}

#[test]
fn an_ou_that_does_not_exist_is_fatal_whatever_its_place_in_the_list() {
    let fabric = Fabric::start(json!({
        "organizational_units": ["Prod"],
        "accounts": [{"name": "a", "ou": "Prod", "certificates": [cert("a", "a.example.com")]}],
    }));
    let prod = fabric.ou("Prod");
    for ous in [
        format!("{prod},ou-zzzz-nothere1"),
        format!("ou-zzzz-nothere1,{prod}"),
    ] {
        let out = fabric
            .certaudit()
            .args(["scan", "-o", "json", "--regions", "us-east-1", "--ou", &ous])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "--ou {ous}: {stderr}");
        assert!(stderr.contains("ou-zzzz-nothere1 is not an OU"), "{stderr}");
        assert!(out.stdout.is_empty(), "no partial report");
    }
}

#[test]
fn a_truncated_organization_listing_stays_incomplete_with_allow_partial() {
    let accounts: Vec<Value> = (0..4).map(|i| json!({"name": format!("m{i}")})).collect();
    let fabric = Fabric::start(json!({
        "org_page_size": 2, "org_fail_after": 2, "accounts": accounts,
    }));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1", "--allow-partial"]);
    assert_eq!(code, 3, "the set of accounts is unknown: {report}");
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("broke after 2 accounts"), "{message}");
    assert!(
        !message.contains("may not list"),
        "pages were listed: {message}"
    );
}

#[test]
fn an_explicit_profile_wins_over_keys_in_the_environment() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "a"}]}));
    let marker = fabric.dir.path().join("profile-used");
    let config = fabric.dir.path().join("profiles");
    let process = format!(
        "sh -c 'touch {}; echo {{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"testing\\\", \
         \\\"SecretAccessKey\\\": \\\"testing\\\"}}'",
        marker.display()
    );
    std::fs::write(
        &config,
        format!("[profile audit]\ncredential_process = {process}\n"),
    )
    .unwrap();
    let run = |profile: &str| {
        fabric
            .certaudit()
            .env("AWS_CONFIG_FILE", &config)
            .args([
                "scan",
                "-o",
                "json",
                "--regions",
                "us-east-1",
                "--profile",
                profile,
            ])
            .output()
            .unwrap()
    };
    let out = run("audit");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        marker.exists(),
        "the profile's credentials were used, not AWS_ACCESS_KEY_ID"
    );

    let out = run("nosuchprofile");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--profile nosuchprofile"), "{stderr}");
}

#[test]
fn a_region_of_another_partition_is_named_as_such() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "a"}]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1,cn-north-1"]);
    assert_eq!(code, 3, "{report}");
    let error = support::error_where(&report, |e| e["region"] == "cn-north-1");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("aws-cn partition"),
        "{error}"
    );
}

#[test]
fn verbose_logs_every_account_with_its_state() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "ok"},
        {"name": "gone", "role": "missing"},
        {"name": "sleeping", "state": "SUSPENDED"},
    ]}));
    let out = fabric
        .certaudit()
        .args(["scan", "-v", "-o", "json", "--regions", "us-east-1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let done: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("account done"))
        .collect();
    assert_eq!(done.len(), 4, "management, ok, gone, sleeping: {stderr}");
    for (name, state) in [
        ("gone", "Failed"),
        ("sleeping", "Skipped"),
        ("ok", "Scanned"),
    ] {
        let id = fabric.account(name);
        assert!(
            done.iter().any(|l| l.contains(&id) && l.contains(state)),
            "{name} {state}: {stderr}"
        );
    }
}
