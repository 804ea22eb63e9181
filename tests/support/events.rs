//! EventBridge events as AWS documents them (the ACM user guide's examples), addressed to the
//! fabric's certificates; and what the tests count per event.

use serde_json::{json, Value};

use super::Fabric;

/// A load balancer a certificate is in use by.
pub const LOAD_BALANCER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/web/1";

/// `certaudit event -` with the event on stdin and `args`: exit code, result, stderr.
pub fn run_event(fabric: &Fabric, args: &[&str], event: &Value) -> (i32, Value, String) {
    run_event_as(fabric.certaudit(), args, event)
}

/// The same with the ExternalId kept only in SSM, in the parameter `name`, as the deployed
/// function has it: none in the environment.
pub fn run_event_with_parameter(
    fabric: &Fabric,
    name: &str,
    args: &[&str],
    event: &Value,
) -> (i32, Value, String) {
    let mut cmd = fabric.certaudit();
    cmd.env_remove("CERTAUDIT_EXTERNAL_ID");
    let args = [&["--external-id-parameter", name], args].concat();
    run_event_as(cmd, &args, event)
}

fn run_event_as(
    mut cmd: assert_cmd::Command,
    args: &[&str],
    event: &Value,
) -> (i32, Value, String) {
    let out = cmd
        .args(["event", "-"])
        .args(args)
        .write_stdin(event.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let result = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), result, stderr)
}

pub const APPROACHING: &str = "ACM Certificate Approaching Expiration";
pub const EXPIRED: &str = "ACM Certificate Expired";
pub const ACTION_REQUIRED: &str = "ACM Certificate Renewal Action Required";
pub const AVAILABLE: &str = "ACM Certificate Available";

/// An `aws.acm` event about `arn`, from its account and region, sent now.
pub fn acm_event(detail_type: &str, arn: &str, detail: Value) -> Value {
    let parts: Vec<&str> = arn.split(':').collect();
    json!({
        "version": "0",
        "id": format!("{:08x}-96a4-ef3f-b739-b6aa5b193afb", arn.len() * 7919 + detail_type.len()),
        "detail-type": detail_type,
        "source": "aws.acm",
        "account": parts[4],
        // As it arrives: --notify-days is judged at the event's time.
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": parts[3],
        "resources": [arn],
        "detail": detail,
    })
}

/// "Approaching Expiration": ACM sends it daily from 45 days out.
pub fn approaching(arn: &str, days: i64, domain: &str) -> Value {
    acm_event(
        APPROACHING,
        arn,
        json!({"DaysToExpiry": days, "CommonName": domain}),
    )
}

/// "Expired", "Renewal Action Required" and "Available" carry the certificate's facts.
/// (ACM sends no Expired event for an imported certificate: the tests expire ACM-issued ones.)
pub fn with_facts(detail_type: &str, arn: &str, facts: Value) -> Value {
    let mut detail = json!({
        "CertificateType": "AMAZON_ISSUED",
        "CommonName": "example.com",
        "DomainValidationMethod": "DNS",
        "CertificateCreatedDate": "2025-10-26T06:51:08Z",
        "CertificateExpirationDate": "2026-11-25T06:51:08Z",
        "DaysToExpiry": 0.0,
        "InUse": true,
        "Exported": false,
    });
    for (k, v) in facts.as_object().unwrap() {
        detail[k] = v.clone();
    }
    acm_event(detail_type, arn, detail)
}

/// A Scheduled Event from an EventBridge rule.
pub fn scheduled() -> Value {
    json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-26T06:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/certaudit-daily"],
        "detail": {}
    })
}

/// How many calls of each operation the fabric answered after the first `since` calls.
pub fn counts(calls: &[Value], since: usize) -> std::collections::BTreeMap<String, usize> {
    let mut counted = std::collections::BTreeMap::new();
    for call in &calls[since..] {
        let operation = call["operation"].as_str().unwrap_or("?").to_string();
        *counted.entry(operation).or_insert(0) += 1;
    }
    counted
}

/// One account of 40 certificates behind 50 ms of latency: at `--rate 1` its scan takes about
/// 40 s, long enough to be cut by a signal or a deadline.
pub fn slow_organization() -> Value {
    let certificates: Vec<Value> = (0..40)
        .map(|i| json!({"label": format!("c{i:02}"), "domain": format!("c{i:02}.example.com"), "days_left": 100}))
        .collect();
    json!({"latency_ms": 50, "accounts": [{"name": "a", "certificates": certificates}]})
}
