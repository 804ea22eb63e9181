//! `certaudit doctor` against the fabric: every broken account is named with its AWS error
//! and the likely fix, a healthy organization passes with one cheap read per region.

mod support;

use serde_json::{json, Value};
use support::{cert, json_run, Fabric};

fn doctor_json(cmd: &mut assert_cmd::Command, args: &[&str]) -> (i32, Value) {
    json_run(cmd.args(["doctor", "-o", "json"]).args(args))
}

/// The checks of one account, optionally of one kind.
fn checks<'a>(diagnosis: &'a Value, account: &str, kind: &str) -> Vec<&'a Value> {
    diagnosis["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["account_id"] == account && c["check"] == kind)
        .collect()
}

fn only<'a>(diagnosis: &'a Value, account: &str, kind: &str) -> &'a Value {
    let found = checks(diagnosis, account, kind);
    assert_eq!(found.len(), 1, "one {kind} check for {account}: {found:?}");
    found[0]
}

fn fix(check: &Value) -> &str {
    check["fix"]
        .as_str()
        .unwrap_or_else(|| panic!("no fix in {check}"))
}

#[test]
fn doctor_names_every_broken_account_with_the_aws_error_and_the_fix() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "good"},
        {"name": "norole", "role": "missing"},
        {"name": "otherid", "external_id": "someone-elses-id"},
        {"name": "nolist", "denied": ["ListCertificates"]},
        {"name": "hk", "opt_in_regions": ["ap-east-1"]},
        {"name": "gone", "state": "SUSPENDED"},
    ]}));
    let regions = ["--regions", "us-east-1,ap-east-1,eu-wset-1"];
    let (code, diagnosis) = doctor_json(&mut fabric.certaudit(), &regions);
    assert_eq!(
        code, 3,
        "a failed check exits 3 as an incomplete scan would"
    );

    for name in ["norole", "otherid"] {
        let refused = only(&diagnosis, &fabric.account(name), "assume_role");
        assert_eq!(refused["result"], "failed");
        assert_eq!(refused["code"], "AccessDenied");
        assert!(refused["message"]
            .as_str()
            .unwrap()
            .contains("sts:AssumeRole"));
        assert!(fix(refused).contains("StackSet"), "{refused}");
        assert!(fix(refused).contains("CERTAUDIT_EXTERNAL_ID"), "{refused}");
        assert!(
            checks(&diagnosis, &fabric.account(name), "list_certificates").is_empty(),
            "nothing is tried past a refused role"
        );
    }

    let nolist = fabric.account("nolist");
    assert_eq!(only(&diagnosis, &nolist, "assume_role")["result"], "ok");
    let denied = only(&diagnosis, &nolist, "list_certificates");
    assert_eq!(denied["result"], "failed");
    assert_eq!(denied["region"], "us-east-1");
    assert_eq!(denied["code"], "AccessDeniedException");
    assert!(fix(denied).contains("iam/member-permissions-policy.json"));

    let good = fabric.account("good");
    let read = only(&diagnosis, &good, "list_certificates");
    assert_eq!(
        (&read["region"], &read["result"]),
        (&json!("us-east-1"), &json!("ok"))
    );
    let typos: Vec<&Value> = diagnosis["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["region"] == "eu-wset-1")
        .collect();
    assert_eq!(
        typos.len(),
        4,
        "every account that listed its regions has the check: {typos:?}"
    );
    let typo = typos[0];
    assert_eq!(typo["check"], "region");
    assert_eq!(typo["result"], "failed");
    assert_eq!(typo["code"], "unknown-region");
    assert!(typo["message"]
        .as_str()
        .unwrap()
        .contains("did you mean eu-west-1?"));
    assert!(fix(typo).contains("--regions"), "{typo}");
    let not_enabled = checks(&diagnosis, &good, "region")
        .into_iter()
        .find(|c| c["region"] == "ap-east-1")
        .expect("ap-east-1 is checked");
    assert_eq!(not_enabled["result"], "not_enabled");
    assert!(
        not_enabled["fix"].is_null(),
        "a disabled region needs nothing done"
    );

    let hk = checks(&diagnosis, &fabric.account("hk"), "list_certificates");
    let mut hk_regions: Vec<&str> = hk.iter().map(|c| c["region"].as_str().unwrap()).collect();
    hk_regions.sort();
    assert_eq!(
        hk_regions,
        ["ap-east-1", "us-east-1"],
        "the opt-in region hk enabled is read there too: {hk:?}"
    );
    assert!(hk.iter().all(|c| c["result"] == "ok"));

    let gone = only(&diagnosis, &fabric.account("gone"), "account");
    assert_eq!(gone["result"], "skipped");
    assert!(gone["message"].as_str().unwrap().contains("SUSPENDED"));

    let management = fabric.state["management_account"].as_str().unwrap();
    assert_eq!(
        only(&diagnosis, management, "caller_credentials")["result"],
        "ok"
    );

    let summary = &diagnosis["summary"];
    assert_eq!(summary["accounts_targeted"], 7);
    assert_eq!(summary["accounts_failed"], 3);
    assert_eq!(summary["accounts_skipped"], 1);
    assert_eq!(
        summary["accounts_ok"], 3,
        "good, hk and the management account"
    );

    // The table says the same, with each problem's fix under it.
    let out = fabric
        .certaudit()
        .args(["doctor"])
        .args(regions)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Problems (4)"), "{table}");
    assert_eq!(table.matches("    fix: ").count(), 4, "{table}");
    assert_eq!(
        table
            .matches("--regions eu-wset-1 region: unknown-region")
            .count(),
        1,
        "the typo is one problem, not one per account:\n{table}"
    );
    for name in ["norole", "otherid", "nolist"] {
        let id = fabric.account(name);
        let row = table
            .lines()
            .find(|l| l.contains(&id) && l.contains("FAILED"))
            .unwrap_or_else(|| panic!("no FAILED row for {name}:\n{table}"));
        assert!(row.trim_end().ends_with("FAILED"), "{row}");
    }
}

#[test]
fn every_account_refusing_the_role_points_at_the_external_id() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "a"}, {"name": "b"}]}));
    let mut wrong = fabric.certaudit();
    wrong.env("CERTAUDIT_EXTERNAL_ID", "not-the-deployed-id");
    let (code, diagnosis) = doctor_json(&mut wrong, &["--regions", "us-east-1"]);
    assert_eq!(code, 3);
    for name in ["a", "b"] {
        let refused = only(&diagnosis, &fabric.account(name), "assume_role");
        assert!(
            fix(refused).starts_with("no account accepted the role"),
            "{refused}"
        );
    }

    let mut none = fabric.certaudit();
    none.env_remove("CERTAUDIT_EXTERNAL_ID");
    let (code, diagnosis) = doctor_json(&mut none, &["--regions", "us-east-1"]);
    assert_eq!(code, 3);
    assert_eq!(diagnosis["external_id_given"], false);
    let refused = only(&diagnosis, &fabric.account("a"), "assume_role");
    assert!(
        fix(refused).starts_with("no ExternalId was given"),
        "{refused}"
    );
}

#[test]
fn healthy_organization_passes_with_one_cheap_read_per_region() {
    let three = (1..=3)
        .map(|i| cert(&format!("c{i}"), &format!("c{i}.example.com")))
        .collect::<Vec<_>>();
    let fabric = Fabric::start(json!({
        "acm_page_size": 1,
        "accounts": [{"name": "one", "certificates": three}, {"name": "two"}],
    }));
    let (code, diagnosis) = doctor_json(&mut fabric.certaudit(), &[]);
    assert_eq!(code, 0, "{diagnosis}");
    assert_eq!(diagnosis["summary"]["checks_failed"], 0);

    let lists = fabric.calls_of("ListCertificates");
    let one = fabric.account("one");
    let reads = checks(&diagnosis, &one, "list_certificates");
    assert!(reads.len() >= 17, "every enabled region is read: {reads:?}");
    for check in &reads {
        let calls = lists
            .iter()
            .filter(|c| c["account"] == one.as_str() && c["region"] == check["region"])
            .count();
        assert_eq!(
            calls, 1,
            "one call in {} although three certificates at one per page",
            check["region"]
        );
    }
    assert!(fabric.calls_of("DescribeCertificate").is_empty());
    assert!(fabric.calls_of("ListTagsForCertificate").is_empty());
}
