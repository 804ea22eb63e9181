//! `certaudit event` against the fabric: ACM's four events as AWS documents them, from a member
//! account, converging on the scan's Security Hub findings (same Id, never a duplicate) and
//! publishing one SNS message per certificate (or none, by --notify-days); a deleted certificate, a role
//! that is missing, --dry-run, invalid and unknown events; a scheduled scan writing to S3.

mod support;

use aws_sdk_securityhub::types::RecordState;
use serde_json::{json, Value};
use support::events::{
    self, approaching, counts, run_event, run_event_with_parameter, with_facts, AVAILABLE, EXPIRED,
    LOAD_BALANCER,
};
use support::hub::{all_findings, create_bucket, findings, objects, put_secure_parameter};
use support::inbox::Inbox;
use support::{acm, Fabric};

#[test]
fn acm_events_converge_on_the_scans_findings_and_notify_once_per_certificate() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("soon", json!({"days_left": 14.5})),
        acm("twenty", json!({"days_left": 20.5})),
        acm("lapsed", json!({"days_left": -2.5, "type": "AMAZON_ISSUED", "in_use_by": [LOAD_BALANCER]})),
        acm("renewing", json!({"days_left": 10.5, "type": "AMAZON_ISSUED", "in_use_by": [LOAD_BALANCER]})),
        acm("private", json!({"days_left": 10.5, "type": "PRIVATE", "in_use_by": [LOAD_BALANCER]})),
        acm("stuck", json!({"days_left": 200, "type": "AMAZON_ISSUED", "in_use_by": [LOAD_BALANCER],
                            "renewal_status": "FAILED", "renewal_status_reason": "CAA_ERROR"})),
        acm("deleted", json!({"days_left": 5.5})),
    ]}]}));
    let inbox = Inbox::new(&fabric);
    let notify = [
        "--security-hub-region",
        "us-east-1",
        "--sns-topic-arn",
        inbox.topic_arn.as_str(),
    ];
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--security-hub-region",
        "us-east-1",
    ]);
    assert_eq!(code, 0, "{}", report["errors"]);
    let scanned = findings(&fabric);
    assert_eq!(scanned.len(), 7, "{:?}", scanned.keys());
    let web = fabric.account("web");

    // Approaching Expiration, 14 days left (in --notify-days): the scan's finding updated in
    // place, and one message.
    let soon = fabric.arn("soon");
    let before = fabric.calls().len();
    let (code, result, stderr) = run_event(
        &fabric,
        &notify,
        &approaching(&soon, 14, "soon.example.com"),
    );
    assert_eq!(code, 0, "{stderr}");
    let calls = counts(&fabric.calls(), before);
    println!("calls for one Approaching Expiration event (a new process): {calls:?}");
    for (operation, n) in [
        ("AssumeRole", 1),
        ("DescribeCertificate", 1),
        ("ListTagsForCertificate", 1),
        ("GetFindings", 1),
        ("BatchImportFindings", 1),
        ("Publish", 1),
    ] {
        assert_eq!(calls.get(operation), Some(&n), "{operation}: {calls:?}");
    }
    assert_eq!(result["schema_version"], 1);
    assert_eq!(result["action"], "notified");
    assert_eq!(result["event"]["account"], web.as_str());
    assert_eq!(result["event"]["resource"], soon.as_str());
    assert_eq!(result["certificate"]["days_to_expiry"], 14);
    assert_eq!(result["finding_id"], format!("certaudit/{soon}"));
    assert_eq!(result["finding_state"], "ACTIVE");
    assert!(result["sns_message_id"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
    let messages = inbox.take();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(
        messages[0].0,
        format!("certaudit: EXPIRES IN 14 DAYS: soon.example.com in web ({web})")
    );
    assert!(messages[0].1.contains(&soon) && messages[0].1.contains("Region: us-east-1"));
    let after = findings(&fabric);
    let (old, new) = (&scanned[&soon], &after[&soon]);
    assert_eq!(new.id(), old.id(), "the same finding");
    assert_eq!(new.created_at(), old.created_at(), "CreatedAt kept");
    assert_eq!(new.severity(), old.severity());
    assert_eq!(new.title(), old.title());
    assert_eq!(
        new.description(),
        old.description(),
        "account name kept from the scan's finding"
    );
    assert_ne!(new.updated_at(), old.updated_at());

    // 20 days left is not in --notify-days: finding refreshed, no message — unless `all`.
    let twenty = fabric.arn("twenty");
    let (code, result, _) = run_event(
        &fabric,
        &notify,
        &approaching(&twenty, 20, "twenty.example.com"),
    );
    assert_eq!((code, result["action"].as_str()), (0, Some("updated")));
    assert_eq!(result["sns_message_id"], Value::Null);
    assert!(inbox.take().is_empty());
    let all = [&notify[..], &["--notify-days", "all"]].concat();
    let (_, result, _) = run_event(
        &fabric,
        &all,
        &approaching(&twenty, 20, "twenty.example.com"),
    );
    assert_eq!(result["action"], "notified");
    assert_eq!(inbox.take().len(), 1);

    // Expired and Renewal Action Required always notify.
    let lapsed = fabric.arn("lapsed");
    let expired = with_facts(
        EXPIRED,
        &lapsed,
        json!({"CertificateType": "AMAZON_ISSUED", "DaysToExpiry": 0}),
    );
    let (code, result, _) = run_event(&fabric, &notify, &expired);
    assert_eq!((code, result["action"].as_str()), (0, Some("notified")));
    let stuck = fabric.arn("stuck");
    let required = with_facts(
        events::ACTION_REQUIRED,
        &stuck,
        json!({"RenewalStatus": "FAILED", "DaysToExpiry": 200.0}),
    );
    let (_, result, _) = run_event(&fabric, &notify, &required);
    assert_eq!(result["action"], "notified");
    let subjects: Vec<String> = inbox.take().into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        subjects,
        [
            format!("certaudit: EXPIRED: lapsed.example.com in web ({web})"),
            format!("certaudit: RENEWAL FAILED: stuck.example.com in web ({web})"),
        ]
    );

    // Renewed: Available archives the finding and says "resolved", once.
    let renewing = fabric.arn("renewing");
    fabric.change(json!({"op": "replace", "arn": renewing, "spec": {"domain": "renewing.example.com", "days_left": 395, "type": "AMAZON_ISSUED"}}));
    let available = with_facts(
        AVAILABLE,
        &renewing,
        json!({"Action": "RENEWAL", "DaysToExpiry": 395.0}),
    );
    let (code, result, _) = run_event(&fabric, &notify, &available);
    assert_eq!((code, result["action"].as_str()), (0, Some("resolved")));
    assert_eq!(result["finding_state"], "ARCHIVED");
    assert_eq!(
        findings(&fabric)[&renewing].record_state(),
        Some(&RecordState::Archived)
    );
    let messages = inbox.take();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].0,
        format!("certaudit: resolved: renewing.example.com in web ({web})")
    );
    // A second Available: nothing was active, nothing to say.
    let (_, result, _) = run_event(&fabric, &notify, &available);
    assert_eq!(
        (result["action"].as_str(), &result["finding_id"]),
        (Some("resolved"), &Value::Null)
    );
    assert!(inbox.take().is_empty());

    // A renewed private certificate: ACM cannot redeploy it, so "export it again", always.
    let private = fabric.arn("private");
    fabric.change(json!({"op": "replace", "arn": private, "spec": {"domain": "private.example.com", "days_left": 395, "type": "PRIVATE"}}));
    let available = with_facts(
        AVAILABLE,
        &private,
        json!({"Action": "RENEWAL", "CertificateType": "PRIVATE", "DaysToExpiry": 395.0}),
    );
    let (_, result, _) = run_event(&fabric, &notify, &available);
    assert_eq!(result["action"], "resolved");
    assert!(result["sns_message_id"].is_string());
    let messages = inbox.take();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].0,
        format!("certaudit: renewed - export and redeploy: private.example.com in web ({web})")
    );
    assert!(messages[0].1.contains(&format!(
        "aws acm export-certificate --region us-east-1 --certificate-arn {private}"
    )));

    // Deleted: the finding is archived, the event handled.
    let deleted = fabric.arn("deleted");
    fabric.change(json!({"op": "delete", "arn": deleted}));
    let (code, result, _) = run_event(
        &fabric,
        &notify,
        &approaching(&deleted, 5, "deleted.example.com"),
    );
    assert_eq!((code, result["action"].as_str()), (0, Some("gone")));
    assert_eq!(
        (
            result["certificate"].clone(),
            result["finding_state"].clone()
        ),
        (Value::Null, json!("ARCHIVED"))
    );
    assert_eq!(
        findings(&fabric)[&deleted].record_state(),
        Some(&RecordState::Archived)
    );
    assert!(inbox.take().is_empty());

    // A scan after the events: one finding per certificate still, the archived ones stay so.
    let (code, _) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--security-hub-region",
        "us-east-1",
    ]);
    assert_eq!(code, 0);
    let every = all_findings(&fabric);
    let mut ids: Vec<&str> = every.iter().map(|f| f.id().unwrap()).collect();
    ids.sort();
    let unique = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), unique, "no duplicate finding: {ids:?}");
    let now = findings(&fabric);
    assert_eq!(now[&renewing].record_state(), Some(&RecordState::Archived));
    assert_eq!(now[&soon].record_state(), Some(&RecordState::Active));
    assert_eq!(now[&soon].created_at(), scanned[&soon].created_at());
}

#[test]
fn a_missing_role_fails_naming_the_account_replays_once_fixed_and_dry_run_publishes_nothing() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]},
        {"name": "broken", "role": "missing", "certificates": [acm("hidden", json!({"days_left": 3.5}))]},
    ]}));
    let inbox = Inbox::new(&fabric);
    let notify = [
        "--security-hub-region",
        "us-east-1",
        "--sns-topic-arn",
        inbox.topic_arn.as_str(),
    ];

    let hidden = fabric.arn("hidden");
    let broken = fabric.account("broken");
    let (code, result, stderr) = run_event(
        &fabric,
        &notify,
        &approaching(&hidden, 3, "hidden.example.com"),
    );
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(result["action"], "failed");
    let error = &result["errors"][0];
    assert_eq!(
        (error["stage"].as_str(), error["account_id"].as_str()),
        (Some("assume_role"), Some(broken.as_str()))
    );
    assert!(
        stderr.contains(&broken) && stderr.contains("AccessDenied"),
        "{stderr}"
    );
    assert!(stderr.contains("certaudit doctor"), "{stderr}");

    // The role deployed, the event replayed from the failed-events queue: Lambda's failure
    // record, taken as it is.
    fabric.change(json!({"op": "role", "account": "broken", "role": support::ROLE_NAME}));
    let record = json!({
        "version": "1.0", "timestamp": "2026-11-26T07:00:00.000Z",
        "requestContext": {"requestId": "e4b46cbf-1f5b-4d1c-9a4e-0b3f6a1c2d3e", "condition": "RetriesExhausted",
                           "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:certaudit:$LATEST",
                           "approximateInvokeCount": 3},
        "requestPayload": approaching(&hidden, 3, "hidden.example.com"),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "AccessDenied", "errorMessage": result["errors"][0]["message"]},
    });
    let failed = fabric.dir.path().join("failed.json");
    std::fs::write(&failed, record.to_string()).unwrap();
    let out = fabric
        .certaudit()
        .arg("event")
        .arg(&failed)
        .args(notify)
        .output()
        .unwrap();
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{replayed}");
    assert_eq!(replayed["action"], "notified");
    assert_eq!(replayed["event"]["resource"], hidden.as_str());
    assert_eq!(inbox.take().len(), 1);

    let soon = fabric.arn("soon");
    let before = fabric.calls().len();
    let dry = [&notify[..], &["--dry-run"]].concat();
    let (code, result, stderr) =
        run_event(&fabric, &dry, &approaching(&soon, 7, "soon.example.com"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(result["dry_run"], true);
    assert_eq!(result["action"], "notified", "what it would do");
    assert_eq!(result["finding_state"], "ACTIVE");
    assert!(result["sns_subject"]
        .as_str()
        .unwrap()
        .starts_with("certaudit: EXPIRES IN 7 DAYS"));
    assert_eq!(result["sns_message_id"], Value::Null);
    let calls = counts(&fabric.calls(), before);
    assert!(
        !calls.contains_key("Publish") && !calls.contains_key("BatchImportFindings"),
        "{calls:?}"
    );
    assert!(inbox.take().is_empty());
    let imported = findings(&fabric);
    assert!(
        imported.contains_key(&hidden) && !imported.contains_key(&soon),
        "only the replayed event's finding: {:?}",
        imported.keys()
    );
}

#[test]
fn an_event_reaches_a_member_account_with_the_external_id_only_in_ssm_and_never_logs_it() {
    let fabric = Fabric::start(
        json!({"accounts": [{"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]}]}),
    );
    put_secure_parameter(&fabric, "/certaudit/external-id", support::EXTERNAL_ID);
    let soon = fabric.arn("soon");
    let before = fabric.calls().len();
    let (code, result, stderr) = run_event_with_parameter(
        &fabric,
        "/certaudit/external-id",
        &["-vv"],
        &approaching(&soon, 7, "soon.example.com"),
    );
    assert_eq!(code, 0, "{result}\n{stderr}");
    assert_eq!(result["certificate"]["arn"], soon.as_str(), "{result}");
    assert_eq!(result["certificate"]["days_to_expiry"], 7);
    let calls = counts(&fabric.calls(), before);
    assert_eq!(calls.get("GetParameter"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("AssumeRole"), Some(&1), "{calls:?}");
    for (stream, text) in [("stdout", &result.to_string()), ("stderr", &stderr)] {
        assert!(
            !text.contains(support::EXTERNAL_ID),
            "the ExternalId reached {stream}: {text}"
        );
    }
}

#[test]
fn a_missing_external_id_parameter_is_fatal_and_names_the_parameter_and_the_fix() {
    let fabric = Fabric::start(
        json!({"accounts": [{"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]}]}),
    );
    let soon = fabric.arn("soon");
    let (code, result, stderr) = run_event_with_parameter(
        &fabric,
        "/certaudit/not-created",
        &["-vv"],
        &approaching(&soon, 7, "soon.example.com"),
    );
    assert_eq!(code, 1, "{result}\n{stderr}");
    assert!(stderr.contains("/certaudit/not-created"), "{stderr}");
    assert!(stderr.contains("ParameterNotFound"), "{stderr}");
    assert!(stderr.contains("put-parameter"), "{stderr}");
}

#[test]
fn invalid_events_exit_2_naming_the_field_and_others_are_ignored() {
    let fabric = Fabric::start(
        json!({"accounts": [{"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]}]}),
    );
    let mut missing = approaching(&fabric.arn("soon"), 7, "soon.example.com");
    missing.as_object_mut().unwrap().remove("resources");
    let (code, result, stderr) = run_event(&fabric, &[], &missing);
    assert_eq!((code, result), (2, Value::Null));
    assert!(stderr.contains("without `resources`"), "{stderr}");

    let out = fabric
        .certaudit()
        .args(["event"])
        .write_stdin("{\"source\": ")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));

    let before = fabric.calls().len();
    let other = json!({"version": "0", "source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification",
                       "account": "123456789012", "region": "us-east-1", "resources": [], "detail": {}});
    let (code, result, _) = run_event(&fabric, &[], &other);
    assert_eq!((code, result["action"].as_str()), (0, Some("ignored")));
    assert_eq!(
        result["event"]["detail_type"],
        "EC2 Instance State-change Notification"
    );
    let mut with_resource = other.clone();
    with_resource["resources"] = json!(["arn:aws:ec2:us-east-1:123456789012:instance/i-1"]);
    let (_, result, _) = run_event(&fabric, &[], &with_resource);
    assert_eq!(
        result["event"]["resource"], "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
        "an ignored event echoes its resource"
    );
    // Scheduler input that names nothing is not "everything".
    let empty = json!({"certaudit": "scan", "accounts": ""});
    let (code, _, stderr) = run_event(&fabric, &[], &empty);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`accounts` is empty"), "{stderr}");
    // Nested past the parser's limit: said so, not "not JSON".
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let out = fabric
        .certaudit()
        .args(["event"])
        .write_stdin(deep)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nested too deeply"), "{stderr}");
    assert!(
        result["reason"].as_str().unwrap().contains("aws.ec2"),
        "{result}"
    );
    assert_eq!(
        fabric.calls().len(),
        before,
        "no AWS call for an ignored event"
    );

    // The scan's scope holds for events: an excluded account, a region not scanned.
    let soon = approaching(&fabric.arn("soon"), 7, "soon.example.com");
    let web = fabric.account("web");
    for (args, why) in [
        (["--exclude", web.as_str()], "is excluded"),
        (["--regions", "eu-west-1"], "not among --regions"),
    ] {
        let (code, result, _) = run_event(&fabric, &args, &soon);
        assert_eq!((code, result["action"].as_str()), (0, Some("ignored")));
        assert!(result["reason"].as_str().unwrap().contains(why), "{result}");
    }
    assert_eq!(
        fabric.calls().len(),
        before,
        "no AWS call for an out-of-scope event"
    );
}

#[test]
fn a_scheduled_event_scans_notifies_writes_the_report_to_s3_and_a_metric_line() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5})), acm("fine", json!({"days_left": 300}))]},
        {"name": "broken", "role": "missing"},
    ]}));
    let inbox = Inbox::new(&fabric);
    create_bucket(&fabric, "certaudit-reports");
    let args = [
        "--regions",
        "us-east-1",
        "--sns-topic-arn",
        inbox.topic_arn.as_str(),
        "--report-s3",
        "s3://certaudit-reports/org/",
    ];
    let (code, summary, stderr) = run_event(&fabric, &args, &events::scheduled());
    assert_eq!(
        code, 0,
        "an incomplete scan is still a handled event: {stderr}"
    );
    assert_eq!(summary["certificates"], 2);
    assert_eq!(summary["accounts_failed"], 1);
    let metric: Value = stderr
        .lines()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("_aws").is_some())
        })
        .unwrap_or_else(|| panic!("no metric line in:\n{stderr}"));
    assert_eq!(
        metric["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "certaudit"
    );
    assert_eq!(
        (
            metric["ScanCompleted"].as_i64(),
            metric["AccountsFailed"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(metric["Expiring"], summary["expiring"]);
    assert_eq!(inbox.take().len(), 1, "the scan's summary message");

    let written = objects(&fabric, "certaudit-reports", "org/");
    let names = [
        "certificate_authorities.csv",
        "errors.csv",
        "expiring.csv",
        "imported.csv",
        "inventory.csv",
        "report.html",
        "report.json",
        "will_not_renew.csv",
    ];
    for name in names {
        assert!(
            written.contains_key(&format!("org/latest/{name}")),
            "{:?}",
            written.keys()
        );
    }
    let dated: Vec<&String> = written
        .keys()
        .filter(|k| !k.starts_with("org/latest/"))
        .collect();
    assert_eq!(dated.len(), names.len(), "{dated:?}");
    let report: Value = serde_json::from_slice(&written["org/latest/report.json"]).unwrap();
    let stamp = report["generated_at"].as_str().unwrap();
    let day = stamp[..10].replace('-', "/");
    assert!(
        dated.iter().all(|k| k.starts_with(&format!("org/{day}/"))),
        "{dated:?}"
    );
    assert_eq!(report["summary"]["certificates"], summary["certificates"]);
    let dated_report = dated.iter().find(|k| k.ends_with("/report.json")).unwrap();
    assert_eq!(
        written[dated_report.as_str()],
        written["org/latest/report.json"],
        "the dated copy and latest/ are the same report"
    );

    // Scheduler input narrows the scan: only `web`, so nothing failed.
    let web = fabric.account("web");
    let input = json!({"certaudit": "scan", "accounts": [web], "regions": ["us-east-1"]});
    let (code, summary, _) = run_event(&fabric, &["--dry-run"], &input);
    assert_eq!(
        (
            code,
            summary["accounts_targeted"].as_i64(),
            summary["accounts_failed"].as_i64()
        ),
        (0, Some(1), Some(0))
    );
}

#[test]
fn sigterm_during_a_scheduled_scan_exits_143_keeping_what_it_found_but_not_as_latest() {
    let fabric = Fabric::start(events::slow_organization());
    create_bucket(&fabric, "certaudit-reports");
    let mut child = fabric
        .certaudit_process()
        .args(["event", "-", "--regions", "us-east-1", "--rate", "1"])
        .args(["--report-s3", "s3://certaudit-reports/org"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(events::scheduled().to_string().as_bytes())
            .unwrap();
    }
    std::thread::sleep(std::time::Duration::from_secs(4));
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("SIGTERM stopped the scan part way"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("\"_aws\""),
        "no ScanCompleted for a cut scan: {stderr}"
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["certificates"].as_u64().unwrap() <= 40);
    let written = objects(&fabric, "certaudit-reports", "org/");
    assert!(
        written.keys().all(|k| !k.starts_with("org/latest/")),
        "a cut scan is never the latest report: {:?}",
        written.keys()
    );
    let (_, dated) = written
        .iter()
        .find(|(k, _)| k.ends_with("/report.json"))
        .expect("what the cut scan found is kept under its date");
    let report: Value = serde_json::from_slice(dated).unwrap();
    let stages: Vec<&Value> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["stage"])
        .collect();
    assert!(stages.contains(&&json!("interrupted")), "{stages:?}");
    assert!(
        stderr.contains("what it found is in s3://certaudit-reports/org/"),
        "{stderr}"
    );
}

/// The calls the fabric answered since `before`, as "Operation account" strings.
fn calls_since(fabric: &Fabric, before: usize) -> Vec<String> {
    fabric.calls()[before..]
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["operation"].as_str().unwrap_or("?"),
                c["account"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn a_security_hub_refusal_does_not_keep_the_sns_message_from_going_out() {
    let fabric = Fabric::start(json!({
        "security_hub": {"enabled": false},
        "accounts": [{"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]}],
    }));
    let inbox = Inbox::new(&fabric);
    let soon = fabric.arn("soon");
    let args = [
        "--security-hub-region",
        "us-east-1",
        "--sns-topic-arn",
        inbox.topic_arn.as_str(),
    ];
    let (code, result, stderr) =
        run_event(&fabric, &args, &approaching(&soon, 7, "soon.example.com"));
    assert_eq!(code, 3, "a target failed: {stderr}");
    let stages: Vec<&str> = result["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["security_hub"], "{result}");
    assert_eq!(result["errors"][0]["code"], "InvalidAccessException");
    assert!(
        result["sns_message_id"].is_string(),
        "the message went out: {result}"
    );
    let messages = inbox.take();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].0.contains("EXPIRES IN 7 DAYS"), "{messages:?}");
    assert!(
        stderr.contains("security_hub") && stderr.contains("InvalidAccessException"),
        "{stderr}"
    );
}

#[test]
fn a_resolved_message_whose_publish_failed_is_still_sent_when_the_event_is_retried() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("renewing", json!({"days_left": 10.5, "type": "AMAZON_ISSUED", "in_use_by": [LOAD_BALANCER]})),
    ]}]}));
    let (code, _) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--security-hub-region",
        "us-east-1",
    ]);
    assert_eq!(code, 0);
    let renewing = fabric.arn("renewing");
    fabric.change(json!({"op": "replace", "arn": renewing, "spec": {"domain": "renewing.example.com", "days_left": 395, "type": "AMAZON_ISSUED"}}));
    let available = with_facts(
        AVAILABLE,
        &renewing,
        json!({"Action": "RENEWAL", "DaysToExpiry": 395.0}),
    );
    // The topic does not exist yet: the publish fails.
    let management = fabric.state["management_account"].as_str().unwrap();
    let topic = format!("arn:aws:sns:us-east-1:{management}:certaudit-alerts");
    let args = [
        "--security-hub-region",
        "us-east-1",
        "--sns-topic-arn",
        topic.as_str(),
    ];
    let (code, result, stderr) = run_event(&fabric, &args, &available);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(result["errors"][0]["stage"], "sns", "{result}");
    assert_eq!(result["finding_state"], "ACTIVE", "{result}");
    assert_eq!(
        findings(&fabric)[&renewing].record_state(),
        Some(&RecordState::Active),
        "the finding stays active while its message is owed"
    );

    // The same event retried once the topic is there: the message it owes goes out.
    let inbox = Inbox::new(&fabric);
    assert_eq!(inbox.topic_arn, topic);
    let (code, result, stderr) = run_event(&fabric, &args, &available);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(result["action"], "resolved");
    assert_eq!(result["finding_state"], "ARCHIVED");
    let messages = inbox.take();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0]
            .0
            .starts_with("certaudit: resolved: renewing.example.com"),
        "{messages:?}"
    );
    assert_eq!(
        findings(&fabric)[&renewing].record_state(),
        Some(&RecordState::Archived)
    );
    // Replayed once more: nothing is owed any more.
    let (code, _, _) = run_event(&fabric, &args, &available);
    assert_eq!(code, 0);
    assert!(inbox.take().is_empty());
}

#[test]
fn notify_days_are_judged_at_the_events_time_not_when_it_is_replayed() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("soon", json!({"days_left": 5.5})),
    ]}]}));
    let inbox = Inbox::new(&fabric);
    let soon = fabric.arn("soon");
    let args = ["--sns-topic-arn", inbox.topic_arn.as_str()];
    // The 7-day reminder, handled two days after ACM sent it (5 days left now; 5 is not a
    // reminder day, 7 is).
    let mut event = approaching(&soon, 7, "soon.example.com");
    let sent = chrono::Utc::now() - chrono::Duration::days(2);
    event["time"] = json!(sent.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let (code, result, stderr) = run_event(&fabric, &args, &event);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(result["action"], "notified", "{result}");
    assert_eq!(result["days_at_event"], 7);
    assert_eq!(result["certificate"]["days_to_expiry"], 5);
    assert_eq!(inbox.take().len(), 1);
    // Today's event (5 days left) is not a reminder day.
    event["time"] = json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let (_, result, _) = run_event(&fabric, &args, &event);
    assert_eq!(
        (result["action"].as_str(), result["days_at_event"].as_i64()),
        (Some("updated"), Some(5))
    );
    assert!(inbox.take().is_empty());
}

#[test]
fn an_envelope_that_disagrees_with_the_certificate_arn_is_invalid_and_touches_nothing() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "web", "certificates": [acm("live", json!({"days_left": 7.5}))]},
        {"name": "other"},
    ]}));
    let args = [
        "--regions",
        "us-east-1",
        "--security-hub-region",
        "us-east-1",
    ];
    let (code, _) = fabric.scan_json(&args);
    assert_eq!(code, 0);
    let live = fabric.arn("live");
    let (web, other) = (fabric.account("web"), fabric.account("other"));
    let before = fabric.calls().len();

    let mut forged = approaching(&live, 7, "live.example.com");
    forged["account"] = json!(other);
    let (code, result, stderr) = run_event(&fabric, &args, &forged);
    assert_eq!((code, &result), (2, &Value::Null), "{stderr}");
    assert!(
        stderr.contains(&other) && stderr.contains(&web),
        "names both: {stderr}"
    );
    let mut elsewhere = approaching(&live, 7, "live.example.com");
    elsewhere["region"] = json!("eu-west-1");
    let (code, _, stderr) = run_event(&fabric, &[], &elsewhere);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("eu-west-1") && stderr.contains("us-east-1"),
        "{stderr}"
    );
    // Another partition's certificate cannot be read from here.
    let china = format!("arn:aws-cn:acm:cn-north-1:{web}:certificate/61f50cd4");
    let (code, _, stderr) = run_event(&fabric, &[], &approaching(&china, 7, "live.example.com"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("aws-cn"), "{stderr}");
    // A resource that is not an ACM certificate.
    let mut not_acm = approaching(&live, 7, "live.example.com");
    not_acm["resources"] = json!([format!("arn:aws:iam::{web}:server-certificate/acm")]);
    let (code, _, stderr) = run_event(&fabric, &[], &not_acm);
    assert_eq!(code, 2, "{stderr}");

    let calls = calls_since(&fabric, before);
    assert!(
        calls
            .iter()
            .all(|c| !c.starts_with("AssumeRole") && !c.starts_with("BatchImportFindings")),
        "{calls:?}"
    );
    assert_eq!(
        findings(&fabric)[&live].record_state(),
        Some(&RecordState::Active),
        "the live certificate's finding is not archived"
    );
}

#[test]
fn an_account_outside_the_organization_is_never_entered() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]},
        {"name": "closed", "state": "SUSPENDED"},
    ]}));
    let inbox = Inbox::new(&fabric);
    let args = [
        "--security-hub-region",
        "us-east-1",
        "--sns-topic-arn",
        inbox.topic_arn.as_str(),
    ];
    let outsider = "999999999999";
    let arn = format!(
        "arn:aws:acm:us-east-1:{outsider}:certificate/61f50cd4-45b9-4259-b049-d0a53682fa4b"
    );
    let before = fabric.calls().len();
    let (code, result, stderr) = run_event(
        &fabric,
        &args,
        &approaching(&arn, 3, "pay-now.attacker.example"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(result["action"], "ignored", "{result}");
    assert!(
        result["reason"].as_str().unwrap().contains(outsider),
        "{result}"
    );
    // Scheduler input naming it: nothing scanned either.
    let input = json!({"certaudit": "scan", "accounts": [outsider], "regions": ["us-east-1"]});
    let (code, result, stderr) = run_event(&fabric, &args, &input);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(result["action"], "ignored", "{result}");
    assert!(
        result["reason"].as_str().unwrap().contains(outsider),
        "{result}"
    );
    let calls = calls_since(&fabric, before);
    println!("calls for an outside account: {calls:?}");
    for operation in [
        "AssumeRole",
        "DescribeCertificate",
        "BatchImportFindings",
        "Publish",
    ] {
        assert!(
            calls.iter().all(|c| !c.starts_with(operation)),
            "{operation}: {calls:?}"
        );
    }
    assert!(
        calls.iter().any(|c| c.starts_with("ListAccounts")),
        "{calls:?}"
    );
    assert!(inbox.take().is_empty());

    // A suspended member's event is ignored too (the scan skips it); in the Scheduler input,
    // it is the scan's to skip and report, not a reason to scan nothing.
    let closed = fabric.account("closed");
    let arn = format!("arn:aws:acm:us-east-1:{closed}:certificate/61f50cd4");
    let before = fabric.calls().len();
    let (code, result, _) = run_event(&fabric, &args, &approaching(&arn, 3, "closed.example.com"));
    assert_eq!((code, result["action"].as_str()), (0, Some("ignored")));
    assert!(
        result["reason"].as_str().unwrap().contains("SUSPENDED"),
        "{result}"
    );
    let calls = calls_since(&fabric, before);
    assert!(
        calls.iter().all(|c| !c.starts_with("AssumeRole")),
        "{calls:?}"
    );
    let web = fabric.account("web");
    let both = json!({"certaudit": "scan", "accounts": [web, closed], "regions": ["us-east-1"]});
    let (code, summary, stderr) = run_event(&fabric, &["--dry-run"], &both);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["accounts_targeted"], 2, "{summary}");

    // A member is still acted on (and, with --accounts, those are the organization).
    let soon = fabric.arn("soon");
    let (code, result, _) = run_event(&fabric, &args, &approaching(&soon, 3, "soon.example.com"));
    assert_eq!((code, result["action"].as_str()), (0, Some("notified")));
    assert_eq!(inbox.take().len(), 1);
    let explicit = [&args[..], &["--accounts", web.as_str()]].concat();
    let before = fabric.calls().len();
    let (code, result, _) = run_event(&fabric, &explicit, &input);
    assert_eq!((code, result["action"].as_str()), (0, Some("ignored")));
    let calls = calls_since(&fabric, before);
    assert!(
        calls
            .iter()
            .all(|c| !c.starts_with("ListAccounts") && !c.starts_with("AssumeRole")),
        "{calls:?}"
    );
}

#[test]
fn each_acm_event_is_logged_at_info_with_what_was_done() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]},
    ]}));
    let inbox = Inbox::new(&fabric);
    let soon = fabric.arn("soon");
    let args = [
        "-v",
        "--security-hub-region",
        "us-east-1",
        "--sns-topic-arn",
        inbox.topic_arn.as_str(),
    ];
    let event = approaching(&soon, 7, "soon.example.com");
    let (code, result, stderr) = run_event(&fabric, &args, &event);
    assert_eq!(code, 0, "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("ACM event handled"))
        .unwrap_or_else(|| panic!("no INFO line for the event:\n{stderr}"));
    for expected in [
        event["id"].as_str().unwrap(),
        "ACM Certificate Approaching Expiration",
        fabric.account("web").as_str(),
        "us-east-1",
        soon.as_str(),
        "notified",
        result["sns_message_id"].as_str().unwrap(),
        result["finding_id"].as_str().unwrap(),
    ] {
        assert!(line.contains(expected), "{expected} missing from: {line}");
    }
    assert!(line.contains("INFO"), "{line}");
}

#[test]
fn a_signal_during_an_acm_event_stops_it_promptly_with_the_shells_code() {
    let fabric = Fabric::start(json!({
        "hang": {"region": "us-east-1", "operations": ["DescribeCertificate"], "seconds": 60},
        "accounts": [{"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]}],
    }));
    let soon = fabric.arn("soon");
    let hanging = || {
        fabric
            .calls()
            .iter()
            .filter(|c| c["outcome"] == "hang")
            .count()
    };
    for (signal, code) in [("-TERM", 143), ("-INT", 130)] {
        let hung = hanging();
        let mut child = fabric
            .certaudit_process()
            .args(["event", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            let event = approaching(&soon, 7, "soon.example.com");
            stdin.write_all(event.to_string().as_bytes()).unwrap();
        }
        // Until the describe is under way (and hanging).
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while hanging() == hung {
            assert!(
                std::time::Instant::now() < until,
                "the describe never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let sent_at = std::time::Instant::now();
        let sent = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().unwrap();
        let took = sent_at.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{signal}: {stderr}");
        assert!(
            took < std::time::Duration::from_secs(5),
            "{signal} took {took:?}"
        );
        let result: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["action"], "failed");
        assert_eq!(result["errors"][0]["stage"], "interrupted", "{result}");
    }
}

/// The metric line among `certaudit event`'s stderr lines.
fn metric_in(stderr: &str) -> Value {
    stderr
        .lines()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("_aws").is_some())
        })
        .unwrap_or_else(|| panic!("no metric line in:\n{stderr}"))
}

#[test]
fn a_scheduled_scan_whose_notifications_fail_exits_3_counts_them_and_logs_each_target() {
    // A deleted topic, Security Hub off in the configured region, a bucket that is gone.
    let fabric = Fabric::start(json!({
        "security_hub": {"enabled": false},
        "accounts": [{"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]}],
    }));
    let topic = "arn:aws:sns:us-east-1:123456789012:deleted-topic";
    let args = [
        "--regions",
        "us-east-1",
        "--sns-topic-arn",
        topic,
        "--security-hub-region",
        "us-east-1",
        "--report-s3",
        "s3://no-such-bucket/org",
    ];
    let (code, summary, stderr) = run_event(&fabric, &args, &events::scheduled());
    assert_eq!(
        code, 3,
        "a notification that failed is never exit 0: {stderr}"
    );
    assert_eq!(
        summary["certificates"], 1,
        "the result is still the summary"
    );
    let metric = metric_in(&stderr);
    assert_eq!(metric["NotificationsFailed"], 3, "{metric}");
    assert_eq!(metric["ScanCompleted"], 1, "the scan itself completed");
    let names = metric["_aws"]["CloudWatchMetrics"][0]["Metrics"].to_string();
    assert!(names.contains("\"NotificationsFailed\""), "{names}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
    for (target, code) in [
        (topic, "NotFound"),
        ("Security Hub in us-east-1", "InvalidAccessException"),
        ("s3://no-such-bucket/org", "NoSuchBucket"),
    ] {
        let lines = errors
            .iter()
            .filter(|l| l.contains(target) && l.contains(code))
            .count();
        assert_eq!(
            lines, 1,
            "one ERROR line for {target} ({code}): {errors:#?}"
        );
    }

    // Without the S3 report, SNS and Security Hub alone make it exit 3.
    let (code, _, stderr) = run_event(&fabric, &args[..6], &events::scheduled());
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(metric_in(&stderr)["NotificationsFailed"], 2);
}

#[test]
fn a_narrowed_scheduled_scan_never_replaces_latest_nor_counts_as_scan_completed() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5})), acm("fine", json!({"days_left": 300}))]},
        {"name": "shop", "certificates": [acm("cart", json!({"days_left": 200}))]},
    ]}));
    create_bucket(&fabric, "certaudit-reports");
    let args = [
        "--regions",
        "us-east-1",
        "--report-s3",
        "s3://certaudit-reports/org",
    ];
    let (code, whole, stderr) = run_event(&fabric, &args, &events::scheduled());
    assert_eq!(
        (code, whole["certificates"].as_i64()),
        (0, Some(3)),
        "{stderr}"
    );
    assert_eq!(metric_in(&stderr)["ScanCompleted"], 1);
    let latest = || -> Value {
        let written = objects(&fabric, "certaudit-reports", "org/latest/");
        serde_json::from_slice(&written["org/latest/report.json"]).unwrap()
    };
    let before = latest();

    let web = fabric.account("web");
    let input = json!({"certaudit": "scan", "accounts": [web]});
    let (code, narrowed, stderr) = run_event(&fabric, &args, &input);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(narrowed["accounts_targeted"], 1);
    let metric = metric_in(&stderr);
    assert!(
        metric.get("ScanCompleted").is_none()
            && !metric["_aws"].to_string().contains("ScanCompleted"),
        "a narrowed scan is absent from the dead-man's switch: {metric}"
    );
    assert_eq!(metric["Certificates"], 2, "its other metrics are kept");
    let after = latest();
    assert_eq!(
        (&after["generated_at"], &after["summary"]["certificates"]),
        (&before["generated_at"], &json!(3)),
        "latest/ is still the whole organization's report"
    );
    let written = objects(&fabric, "certaudit-reports", "org/");
    let narrowed_copy = written
        .iter()
        .filter(|(k, _)| !k.starts_with("org/latest/") && k.ends_with("/report.json"))
        .map(|(_, body)| serde_json::from_slice::<Value>(body).unwrap())
        .any(|r| r["summary"]["accounts_targeted"] == 1);
    assert!(
        narrowed_copy,
        "the narrowed scan's files are kept under its date"
    );
}

#[test]
fn a_scan_never_archives_the_finding_an_acm_event_made_active_while_it_ran() {
    // `flip` is fine when the scan reads it, then fails; its event is handled while the scan
    // is still reading the slow account (reserved concurrency 2 lets the two overlap).
    let slow: Vec<Value> = (0..12)
        .map(|i| acm(&format!("s{i:02}"), json!({"days_left": 100})))
        .collect();
    let fabric = Fabric::start(json!({"latency_ms": 50, "accounts": [
        {"name": "fast", "certificates": [acm("flip", json!({"days_left": 300}))]},
        {"name": "slow", "certificates": slow},
    ]}));
    let fast = fabric.account("fast");
    let hub = ["--security-hub-region", "us-east-1"];
    let mut scan = fabric
        .certaudit_process()
        .args(["event", "-", "--regions", "us-east-1", "--rate", "1"])
        .args(hub)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = scan.stdin.take().unwrap();
        stdin
            .write_all(events::scheduled().to_string().as_bytes())
            .unwrap();
    }
    let described = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !fabric
        .calls_of("DescribeCertificate")
        .iter()
        .any(|c| c["account"] == fast.as_str())
    {
        assert!(
            std::time::Instant::now() < described,
            "the scan never read `flip`"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let flip = fabric.arn("flip");
    fabric.change(json!({"op": "replace", "arn": flip, "spec": {"domain": "flip.example.com", "days_left": 5.5}}));
    let (code, result, stderr) =
        run_event(&fabric, &hub, &approaching(&flip, 5, "flip.example.com"));
    assert_eq!(
        (code, result["finding_state"].as_str()),
        (0, Some("ACTIVE")),
        "{stderr}"
    );
    assert!(
        scan.try_wait().unwrap().is_none(),
        "the scan ended before the event was handled: the overlap was not reproduced"
    );
    let out = scan.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["certificates"], 13);
    assert_eq!(
        findings(&fabric)[&flip].record_state(),
        Some(&RecordState::Active),
        "the scan read `flip` before it failed; the event's finding is newer and stands"
    );
}

#[test]
fn the_external_id_never_appears_in_the_logs_even_at_trace_level() {
    // Characters the query protocol percent-encodes, so both forms are looked for.
    let secret = "certaudit+secret=id,42@example.com:a/b";
    let encoded = "certaudit%2Bsecret%3Did%2C42%40example.com%3Aa%2Fb";
    let fabric = Fabric::start(json!({"external_id": secret, "accounts": [
        {"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]},
    ]}));
    let out = fabric
        .certaudit()
        .args(["event", "-", "--regions", "us-east-1"])
        .env("CERTAUDIT_EXTERNAL_ID", secret)
        .env("CERTAUDIT_LOG", "trace")
        .write_stdin(events::scheduled().to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{summary}");
    assert_eq!(
        (
            summary["accounts_failed"].as_i64(),
            summary["certificates"].as_i64()
        ),
        (Some(0), Some(1)),
        "the role was assumed with the ExternalId"
    );
    assert!(
        stderr.contains("external_id: Some("),
        "the trace shows the credentials provider that holds the ExternalId"
    );
    for form in [secret, encoded] {
        assert!(
            !stderr.contains(form),
            "the ExternalId ({form}) is in the logs"
        );
    }
}

#[test]
fn a_scheduler_input_narrows_the_configured_scope_never_widens_it() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]},
        {"name": "data", "certificates": [acm("later", json!({"days_left": 20.5}))]},
    ]}));
    let web = fabric.account("web");
    let configured = ["--accounts", web.as_str(), "--regions", "us-east-1"];
    let before = fabric.calls().len();
    for (input, word) in [
        // The organization's root as `ou` would have replaced the configured account list.
        (json!({"certaudit": "scan", "ou": ["r-abcd"]}), "--accounts"),
        (
            json!({"certaudit": "scan", "regions": ["eu-west-1"]}),
            "--regions",
        ),
    ] {
        let (code, result, stderr) = run_event(&fabric, &configured, &input);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(result["action"], "ignored", "{input}: {result}");
        assert!(
            result["reason"].as_str().unwrap().contains(word),
            "{result}"
        );
        assert!(stderr.contains("scheduled scan not run"), "{stderr}");
    }
    let (code, _, stderr) = run_event(
        &fabric,
        &["--ou", "ou-abcd-11111111"],
        &json!({"certaudit": "scan", "ou": ["ou-abcd-22222222"]}),
    );
    assert_eq!(code, 0, "{stderr}");
    let calls = calls_since(&fabric, before);
    for operation in ["AssumeRole", "ListCertificates", "DescribeRegions"] {
        assert!(
            calls.iter().all(|c| !c.starts_with(operation)),
            "{operation}: {calls:?}"
        );
    }
    // A misspelt key is no whole-organization scan.
    let (code, _, stderr) = run_event(
        &fabric,
        &[],
        &json!({"certaudit": "scan", "Accounts": [web]}),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`Accounts`"), "{stderr}");
}

#[test]
fn an_external_id_parameter_that_is_not_a_secure_string_or_not_usable_is_named_as_such() {
    use aws_sdk_ssm::types::ParameterType;
    let fabric = Fabric::start(
        json!({"accounts": [{"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]}]}),
    );
    let soon = fabric.arn("soon");
    let event = approaching(&soon, 7, "soon.example.com");
    support::hub::put_parameter(
        &fabric,
        "/certaudit/plain",
        "certaudit-test-external-id",
        ParameterType::String,
    );
    let (code, _, stderr) = run_event_with_parameter(&fabric, "/certaudit/plain", &[], &event);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("/certaudit/plain") && stderr.contains("not a SecureString"),
        "{stderr}"
    );
    // A value with a trailing newline: the parameter is named as the source, not the flag.
    support::hub::put_secure_parameter(&fabric, "/certaudit/nl", "certaudit-test-external-id\n");
    let (code, _, stderr) = run_event_with_parameter(&fabric, "/certaudit/nl", &[], &event);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("/certaudit/nl"), "{stderr}");
    assert!(!stderr.contains("--external-id or"), "{stderr}");
}
