//! `certaudit lambda` as AWS Lambda runs it: the binary started as `bootstrap` with no
//! arguments under a Runtime API emulator (tests/support/runtime_api.rs), configured by
//! environment variables (the seed Lambda's names included), driven through a scheduled event,
//! each ACM detail-type, an unknown event and malformed ones (not JSON too: InvalidEvent), against the fabric: responses and
//! errors, SNS messages (SNS→SQS), Security Hub findings, the S3 objects and the metric line.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_securityhub::types::RecordState;
use serde_json::{json, Value};
use support::events::{self, approaching, counts, with_facts, LOAD_BALANCER};
use support::hub::{create_bucket, findings, objects, put_secure_parameter};
use support::inbox::Inbox;
use support::runtime_api::RuntimeApi;
use support::{acm, Fabric};

/// The lines a child writes to stdout, collected as they come.
fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// The first metric line among `lines`, waiting a little for the pipe.
fn metric_line(lines: &Mutex<Vec<String>>) -> Value {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let found = lines.lock().unwrap().iter().find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("_aws").is_some())
        });
        if let Some(line) = found {
            return line;
        }
        assert!(
            Instant::now() < until,
            "no metric line on stdout: {:?}",
            lines.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_bootstrap_serves_every_event_through_the_runtime_api() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("soon", json!({"days_left": 14.5})),
        acm("lapsed", json!({"days_left": -2.5, "type": "AMAZON_ISSUED", "in_use_by": [LOAD_BALANCER]})),
        acm("renewing", json!({"days_left": 10.5, "type": "AMAZON_ISSUED", "in_use_by": [LOAD_BALANCER]})),
        acm("stuck", json!({"days_left": 200, "type": "AMAZON_ISSUED", "in_use_by": [LOAD_BALANCER],
                            "renewal_status": "FAILED", "renewal_status_reason": "CAA_ERROR"})),
        acm("fine", json!({"days_left": 300})),
    ]}]}));
    let inbox = Inbox::new(&fabric);
    create_bucket(&fabric, "certaudit-reports");
    let api = RuntimeApi::start();
    let mut bootstrap = fabric.certaudit_process();
    bootstrap
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "certaudit")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("CERTAUDIT_REGIONS", "us-east-1")
        .env("CERTAUDIT_REPORT_S3", "s3://certaudit-reports/lambda")
        // The seed Lambda's names, as its users have them configured.
        .env("SNS_TOPIC_ARN", &inbox.topic_arn)
        .env("SECURITY_HUB_REGION", "us-east-1")
        .env("EXPIRY_DAYS", "30")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = bootstrap.spawn().unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());

    // The schedule: the whole scan, its summary as the response, notifications, S3, metrics.
    let answer = api.invoke(events::scheduled().to_string().as_bytes());
    assert_eq!(
        answer.kind,
        "response",
        "{answer:?}\n{:?}",
        stderr.lock().unwrap()
    );
    assert_eq!(answer.body["certificates"], 5);
    assert_eq!(
        answer.body["expiring"], 3,
        "EXPIRY_DAYS=30 is the threshold: {}",
        answer.body
    );
    let metric = metric_line(&stdout);
    assert_eq!(
        (
            metric["ScanCompleted"].as_i64(),
            metric["Certificates"].as_i64()
        ),
        (Some(1), Some(5))
    );
    assert_eq!(metric["WillNotRenew"], answer.body["will_not_renew"]);
    let written = objects(&fabric, "certaudit-reports", "lambda/latest/");
    assert!(
        written.contains_key("lambda/latest/report.json"),
        "{:?}",
        written.keys()
    );
    let summary = inbox.take();
    assert_eq!(summary.len(), 1);
    assert!(
        summary[0].0.starts_with("certaudit: 1 expired, 2 expiring"),
        "{}",
        summary[0].0
    );
    let scanned = findings(&fabric);
    assert_eq!(scanned.len(), 4, "{:?}", scanned.keys());

    // Each ACM detail-type; a warm function assumes the member's role once.
    let soon = fabric.arn("soon");
    let mut since = fabric.calls().len();
    let answer = api.invoke(
        approaching(&soon, 14, "soon.example.com")
            .to_string()
            .as_bytes(),
    );
    assert_eq!(
        (answer.kind.as_str(), answer.body["action"].as_str()),
        ("response", Some("notified"))
    );
    assert_eq!(answer.body["finding_id"], format!("certaudit/{soon}"));
    let first = counts(&fabric.calls(), since);
    since = fabric.calls().len();
    let lapsed = fabric.arn("lapsed");
    let expired = with_facts(
        events::EXPIRED,
        &lapsed,
        json!({"CertificateType": "AMAZON_ISSUED"}),
    );
    let answer = api.invoke(expired.to_string().as_bytes());
    assert_eq!(answer.body["action"], "notified");
    let warm = counts(&fabric.calls(), since);
    println!("calls, first ACM event of a warm function: {first:?}");
    println!("calls, next ACM event for the same account:  {warm:?}");
    assert_eq!(first.get("AssumeRole"), Some(&1), "{first:?}");
    assert_eq!(
        warm.get("AssumeRole"),
        None,
        "the role's credentials are kept: {warm:?}"
    );
    assert!(
        first.contains_key("ListAccounts"),
        "the organization is checked: {first:?}"
    );
    assert_eq!(
        warm.get("ListAccounts"),
        None,
        "and kept, not listed per event: {warm:?}"
    );
    for (operation, n) in [
        ("DescribeCertificate", 1),
        ("ListTagsForCertificate", 1),
        ("GetFindings", 1),
        ("BatchImportFindings", 1),
        ("Publish", 1),
    ] {
        assert_eq!(warm.get(operation), Some(&n), "{operation}: {warm:?}");
    }
    let stuck = fabric.arn("stuck");
    let required = with_facts(
        events::ACTION_REQUIRED,
        &stuck,
        json!({"RenewalStatus": "FAILED"}),
    );
    let answer = api.invoke(required.to_string().as_bytes());
    assert_eq!(answer.body["action"], "notified");
    let renewing = fabric.arn("renewing");
    fabric.change(json!({"op": "replace", "arn": renewing, "spec": {"domain": "renewing.example.com", "days_left": 395, "type": "AMAZON_ISSUED"}}));
    let available = with_facts(
        events::AVAILABLE,
        &renewing,
        json!({"Action": "RENEWAL", "DaysToExpiry": 395}),
    );
    let answer = api.invoke(available.to_string().as_bytes());
    assert_eq!(
        (
            answer.body["action"].as_str(),
            answer.body["finding_state"].as_str()
        ),
        (Some("resolved"), Some("ARCHIVED"))
    );
    let now = findings(&fabric);
    assert_eq!(now.len(), scanned.len(), "converged: no new finding");
    assert_eq!(now[&renewing].record_state(), Some(&RecordState::Archived));
    assert_eq!(now[&soon].created_at(), scanned[&soon].created_at());
    let subjects: Vec<String> = inbox.take().into_iter().map(|(s, _)| s).collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(
        subjects[3].starts_with("certaudit: resolved: renewing.example.com"),
        "{subjects:?}"
    );

    // Unknown: ignored, a response. Malformed: InvalidEvent naming the field. Not JSON: an
    // error. The loop goes on after each.
    let unknown = json!({"source": "aws.health", "detail-type": "AWS Health Event", "detail": {}});
    let answer = api.invoke(unknown.to_string().as_bytes());
    assert_eq!(
        (answer.kind.as_str(), answer.body["action"].as_str()),
        ("response", Some("ignored"))
    );
    let mut malformed = approaching(&soon, 14, "soon.example.com");
    malformed.as_object_mut().unwrap().remove("account");
    let answer = api.invoke(malformed.to_string().as_bytes());
    assert_eq!(
        (answer.kind.as_str(), answer.error_type.as_deref()),
        ("error", Some("InvalidEvent"))
    );
    assert!(
        answer.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("`account`"),
        "{}",
        answer.body
    );
    let answer = api.invoke(b"{\"source\": \"aws.acm\", ");
    assert_eq!(
        (answer.kind.as_str(), answer.error_type.as_deref()),
        ("error", Some("InvalidEvent")),
        "{answer:?}"
    );
    assert!(
        answer.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("not JSON"),
        "{answer:?}"
    );
    let answer = api.invoke(unknown.to_string().as_bytes());
    assert_eq!(
        answer.kind, "response",
        "still serving after a payload that is not JSON"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the function never exits between events"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let logs = stderr.lock().unwrap().join("\n");
    assert!(!logs.contains("panicked"), "{logs}");
    // What each invocation did, at info: one line per ACM event.
    let handled: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("ACM event handled"))
        .collect();
    assert_eq!(handled.len(), 4, "{logs}");
    let soon_id = approaching(&soon, 14, "soon.example.com")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        handled[0].contains(&soon_id)
            && handled[0].contains(soon.as_str())
            && handled[0].contains("notified")
            && handled[0].contains(&format!("certaudit/{soon}")),
        "{}",
        handled[0]
    );
}

#[test]
fn the_function_reads_the_external_id_from_ssm_once_and_enters_member_accounts_with_it() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("soon", json!({"days_left": 14.5})),
    ]}]}));
    put_secure_parameter(&fabric, "/certaudit/external-id", support::EXTERNAL_ID);
    let api = RuntimeApi::start();
    let before = fabric.calls().len();
    // As deployed: the parameter's name in the environment, the ExternalId nowhere in it.
    let mut child = fabric
        .certaudit_process()
        .env_remove("CERTAUDIT_EXTERNAL_ID")
        .env("CERTAUDIT_EXTERNAL_ID_PARAMETER", "/certaudit/external-id")
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "certaudit")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("CERTAUDIT_REGIONS", "us-east-1")
        // Every level, the SDK's own included: it prints its credential providers at trace.
        .env("CERTAUDIT_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());

    // Two scheduled scans and an event: each enters the member account.
    let soon = fabric.arn("soon");
    for event in [
        events::scheduled(),
        approaching(&soon, 14, "soon.example.com"),
        events::scheduled(),
    ] {
        let answer = api.invoke(event.to_string().as_bytes());
        assert_eq!(
            answer.kind,
            "response",
            "{answer:?}\n{:?}",
            stderr.lock().unwrap()
        );
        let entered = answer.body["accounts_scanned"].as_i64() == Some(2)
            || answer.body["certificate"]["arn"] == soon.as_str();
        assert!(entered, "{}", answer.body);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let calls = counts(&fabric.calls(), before);
    assert_eq!(
        calls.get("GetParameter"),
        Some(&1),
        "read once per process: {calls:?}"
    );
    let logs = [
        stdout.lock().unwrap().join("\n"),
        stderr.lock().unwrap().join("\n"),
    ];
    for text in logs {
        assert!(
            !text.contains(support::EXTERNAL_ID),
            "the ExternalId was logged: {text}"
        );
    }
}

#[test]
fn lambda_outside_lambda_names_what_is_missing() {
    let fabric_less = tempfile::tempdir().unwrap();
    let out = support::certaudit_at("http://127.0.0.1:9", fabric_less.path())
        .arg("lambda")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("AWS_LAMBDA_RUNTIME_API is not set") && stderr.contains("certaudit event"),
        "{stderr}"
    );
}

#[test]
fn a_scan_near_the_invocations_deadline_stops_and_says_what_it_did_not_finish() {
    let fabric = Fabric::start(events::slow_organization());
    create_bucket(&fabric, "certaudit-reports");
    let api = RuntimeApi::start();
    let mut child = fabric
        .certaudit_process()
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "certaudit")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("CERTAUDIT_REGIONS", "us-east-1")
        .env("CERTAUDIT_RATE", "1")
        .env("CERTAUDIT_REPORT_S3", "s3://certaudit-reports/lambda")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    // 40 describes at one a second do not fit in 10 s: the scan stops 5 s before the deadline.
    let started = Instant::now();
    let answer = api.invoke_within(
        events::scheduled().to_string().as_bytes(),
        Duration::from_secs(10),
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "answered before the deadline: {took:?}"
    );
    assert_eq!(
        (answer.kind.as_str(), answer.error_type.as_deref()),
        ("error", Some("Interrupted"))
    );
    let message = answer.body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("time limit") && message.contains("s3://certaudit-reports/lambda/"),
        "{message}"
    );
    let written = objects(&fabric, "certaudit-reports", "lambda/");
    assert!(
        written.keys().any(|k| k.ends_with("/report.json")),
        "{:?}",
        written.keys()
    );
    assert!(
        written.keys().all(|k| !k.starts_with("lambda/latest/")),
        "{:?}",
        written.keys()
    );
    // The next invocation has its own time.
    let unknown = json!({"source": "aws.health", "detail-type": "AWS Health Event"});
    let answer = api.invoke(unknown.to_string().as_bytes());
    assert_eq!(answer.kind, "response");
    assert!(
        stdout
            .lock()
            .unwrap()
            .iter()
            .all(|l| !l.contains("\"_aws\"")),
        "no ScanCompleted for a cut scan"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn undelivered_notifications_are_a_successful_invocation_counted_and_logged_per_target() {
    // A deleted topic, Security Hub off in the configured region, a bucket that is gone: the
    // scan itself finished, so its summary is the response (as for an incomplete scan), and
    // what alarms is NotificationsFailed and the ERROR lines in the function's log.
    let fabric = Fabric::start(json!({
        "security_hub": {"enabled": false},
        "accounts": [{"name": "web", "certificates": [acm("soon", json!({"days_left": 7.5}))]}],
    }));
    let topic = "arn:aws:sns:us-east-1:123456789012:deleted-topic";
    let api = RuntimeApi::start();
    let mut child = fabric
        .certaudit_process()
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "certaudit")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("CERTAUDIT_REGIONS", "us-east-1")
        .env("CERTAUDIT_SNS_TOPIC_ARN", topic)
        .env("CERTAUDIT_SECURITY_HUB_REGION", "us-east-1")
        .env("CERTAUDIT_REPORT_S3", "s3://no-such-bucket/lambda")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    let answer = api.invoke(events::scheduled().to_string().as_bytes());
    assert_eq!(
        (answer.kind.as_str(), answer.body["certificates"].as_i64()),
        ("response", Some(1)),
        "{answer:?}"
    );
    let metric = metric_line(&stdout);
    assert_eq!(
        (
            metric["NotificationsFailed"].as_i64(),
            metric["ScanCompleted"].as_i64()
        ),
        (Some(3), Some(1)),
        "{metric}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let logs = stderr.lock().unwrap().clone();
    for (target, code) in [
        (topic, "NotFound"),
        ("Security Hub in us-east-1", "InvalidAccessException"),
        ("s3://no-such-bucket/lambda", "NoSuchBucket"),
    ] {
        let lines = logs
            .iter()
            .filter(|l| l.contains("ERROR") && l.contains(target) && l.contains(code))
            .count();
        assert_eq!(lines, 1, "one ERROR line for {target} ({code}): {logs:#?}");
    }
}
