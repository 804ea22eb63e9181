//! The IAM deliverables grant exactly what the scanner calls: the calls are recorded at the
//! fabric during real scans (and a `doctor` run) and compared with the policies, so adding an AWS call without
//! updating `iam/` (and the StackSet template) fails the build.

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::events::{approaching, run_event_with_parameter, scheduled};
use support::hub::{create_bucket, put_secure_parameter};
use support::{cert, with, Fabric};

/// Calls that need no IAM permission.
const NEEDS_NO_PERMISSION: [&str; 1] = ["sts:GetCallerIdentity"];

/// What the function's role must allow that certaudit never calls itself, so the fabric never
/// records it: the alert topic is encrypted with a customer-managed KMS key, and SNS asks KMS
/// for a data key (and decrypts it) with the publisher's permissions on each Publish. Without
/// these, every `sns:Publish` of the deployed function is refused.
const MADE_ON_ITS_BEHALF: [&str; 2] = ["kms:Decrypt", "kms:GenerateDataKey*"];

fn read_policy(name: &str) -> Value {
    let path = format!("{}/iam/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn actions(policy: &Value) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        match &statement["Action"] {
            Value::String(a) => {
                all.insert(a.clone());
            }
            Value::Array(list) => all.extend(list.iter().map(|a| a.as_str().unwrap().to_string())),
            other => panic!("unexpected Action {other}"),
        }
    }
    all
}

/// `service:Operation` of each recorded call, split by whether the hub (caller) made it.
fn observed(fabric: &Fabric) -> (BTreeSet<String>, BTreeSet<String>) {
    observed_in(fabric, &fabric.calls())
}

fn observed_in(fabric: &Fabric, calls: &[Value]) -> (BTreeSet<String>, BTreeSet<String>) {
    let hub = fabric.state["management_account"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut by_hub, mut by_member) = (BTreeSet::new(), BTreeSet::new());
    for call in calls {
        let action = format!(
            "{}:{}",
            call["service"].as_str().unwrap(),
            call["operation"].as_str().unwrap()
        );
        if NEEDS_NO_PERMISSION.contains(&action.as_str()) {
            continue;
        }
        if call["account"] == hub {
            by_hub.insert(action);
        } else {
            by_member.insert(action);
        }
    }
    (by_hub, by_member)
}

fn scanned_fabric() -> Fabric {
    let certs = json!([with(
        cert("tagged", "tagged.example.com"),
        json!({"tags": {"team": "web"}})
    )]);
    let fabric = Fabric::start(json!({
        "organizational_units": ["Workloads"],
        "sns_topics": ["alerts"],
        "management": {"certificates": [certs[0].clone(), with(cert("soon", "soon.example.com"), json!({"days_left": 10}))]},
        "accounts": [{"name": "member", "ou": "Workloads", "certificates": certs}]
    }));
    // Every code path that calls AWS: the whole organization, and an OU walk.
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 0, "{report}");
    let root = fabric.state["root_id"].as_str().unwrap().to_string();
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1", "--ou", &root]);
    assert_eq!(code, 0, "{report}");
    // Notifications: an SNS summary and Security Hub findings (read back to archive).
    let topic = fabric.state["sns_topics"]["alerts"].as_str().unwrap();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--sns-topic-arn",
        topic,
        "--notify-always",
        "--security-hub-region",
        "us-east-1",
    ]);
    assert_eq!(code, 0, "{}", report["errors"]);
    // doctor's calls are held to the same policies.
    let doctor = fabric.certaudit().arg("doctor").output().unwrap();
    assert_eq!(doctor.status.code(), Some(0), "{doctor:?}");
    fabric
}

/// The calls (by the hub, in member accounts) of every code path, made once for both policy
/// tests: seeding and scanning the fabric is most of their time.
fn observed_calls() -> &'static (BTreeSet<String>, BTreeSet<String>) {
    static OBSERVED: std::sync::OnceLock<(BTreeSet<String>, BTreeSet<String>)> =
        std::sync::OnceLock::new();
    OBSERVED.get_or_init(|| observed(&scanned_fabric()))
}

#[test]
fn member_role_permissions_are_exactly_the_calls_made_in_member_accounts() {
    let (_, by_member) = observed_calls();
    let granted = actions(&read_policy("member-permissions-policy.json"));
    assert_eq!(
        by_member, &granted,
        "iam/member-permissions-policy.json must grant exactly the member-account calls"
    );

    // The StackSet template carries the same permissions.
    let template = std::fs::read_to_string(format!(
        "{}/stacksets/certaudit-role.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let in_template: BTreeSet<String> = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter(|a| {
            ["acm:", "acm-pca:", "ec2:", "iam:"]
                .iter()
                .any(|p| a.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    assert_eq!(
        in_template, granted,
        "stacksets/certaudit-role.yaml grants the same actions"
    );
}

#[test]
fn hub_policy_covers_every_hub_call_and_nothing_unused() {
    let (by_hub, _) = observed_calls();
    let granted = actions(&read_policy("hub-policy.json"));
    let missing: Vec<_> = by_hub.difference(&granted).collect();
    assert!(missing.is_empty(), "iam/hub-policy.json lacks {missing:?}");
    let unused: Vec<_> = granted.difference(by_hub).collect();
    assert!(
        unused.is_empty(),
        "iam/hub-policy.json grants {unused:?}, which certaudit never calls"
    );
}

#[test]
fn member_trust_policy_requires_the_hubs_function_or_operator_role_and_the_external_id() {
    let trust = read_policy("member-trust-policy.json");
    let statement = &trust["Statement"][0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], "sts:AssumeRole");
    assert_eq!(
        statement["Principal"]["AWS"],
        "arn:aws:iam::HUB_ACCOUNT_ID:root"
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["sts:ExternalId"],
        "EXTERNAL_ID"
    );
    // Not every principal of the hub account: its function's role, and the operators' roles.
    assert_eq!(
        statement["Condition"]["ArnLike"]["aws:PrincipalArn"],
        json!([
            "arn:aws:iam::HUB_ACCOUNT_ID:role/certaudit-function",
            "arn:aws:iam::HUB_ACCOUNT_ID:role/OPERATOR_ROLE_NAME"
        ])
    );
    assert_eq!(
        trust["Statement"].as_array().unwrap().len(),
        1,
        "no other way in"
    );
}

/// The actions the hub template grants certaudit's Lambda function: the lines between its
/// `certaudit-function-permissions` markers (the log writes after them are Lambda's own).
fn function_permissions() -> BTreeSet<String> {
    let template = std::fs::read_to_string(format!(
        "{}/deploy/certaudit-hub.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (_, rest) = template
        .split_once("# certaudit-function-permissions: begin")
        .expect("the begin marker");
    let (granted, _) = rest
        .split_once("# certaudit-function-permissions: end")
        .expect("the end marker");
    granted
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter(|a| a.contains(':') && !a.contains(' '))
        .map(str::to_string)
        .collect()
}

#[test]
fn lambda_role_permissions_are_exactly_the_calls_the_function_makes() {
    let fabric = Fabric::start(json!({
        "organizational_units": ["Workloads"],
        "sns_topics": ["alerts"],
        "management": {"certificates": [with(cert("soon", "soon.example.com"), json!({"days_left": 10}))]},
        "accounts": [{"name": "member", "ou": "Workloads", "certificates": [
            with(cert("due", "due.example.com"), json!({"days_left": 7, "tags": {"team": "web"}})),
        ]}]
    }));
    create_bucket(&fabric, "certaudit-reports");
    // As deployed: the ExternalId only in SSM, read by the function (never in its environment).
    put_secure_parameter(&fabric, "/certaudit/external-id", support::EXTERNAL_ID);
    let since = fabric.calls().len();
    let topic = fabric.state["sns_topics"]["alerts"].as_str().unwrap();
    let settings = [
        "--regions",
        "us-east-1",
        "--sns-topic-arn",
        topic,
        "--security-hub-region",
        "us-east-1",
        "--report-s3",
        "s3://certaudit-reports/certaudit",
    ];
    // Every path the function takes: the schedule (whole organization, and narrowed to an OU
    // by the Scheduler input), and an ACM event from a member account.
    let root = fabric.state["root_id"].as_str().unwrap().to_string();
    let due = fabric.arn("due");
    for event in [
        scheduled(),
        json!({"certaudit": "scan", "ou": [root]}),
        approaching(&due, 7, "due.example.com"),
    ] {
        let (code, result, stderr) =
            run_event_with_parameter(&fabric, "/certaudit/external-id", &settings, &event);
        assert_eq!(code, 0, "{result}\n{stderr}");
    }
    let (mut by_hub, _) = observed_in(&fabric, &fabric.calls()[since..]);
    for call in [
        "ssm:GetParameter",
        "sts:AssumeRole",
        "s3:PutObject",
        "securityhub:GetFindings",
        "sns:Publish",
    ] {
        assert!(by_hub.contains(call), "{call} was not recorded: {by_hub:?}");
    }
    by_hub.extend(MADE_ON_ITS_BEHALF.map(String::from));
    assert_eq!(
        by_hub,
        function_permissions(),
        "deploy/certaudit-hub.yaml's FunctionRole must grant exactly the function's calls"
    );
}
