//! Notifications end to end against the fabric: the SNS summary read back from a subscribed
//! SQS queue, and Security Hub findings read back with GetFindings — through the real SDKs.

mod support;

use aws_sdk_securityhub::types::{RecordState, SeverityLabel};
use serde_json::{json, Value};
use support::hub::findings;
use support::inbox::{runtime, Inbox};
use support::{acm, arns, hostile_characters, Fabric};

#[test]
fn sns_summary_lists_what_needs_attention_grouped_by_urgency() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("gone", json!({"days_left": -3.5})),
        acm("soon", json!({"days_left": 5.5, "type": "AMAZON_ISSUED", "in_use_by": ["arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/web/1"]})),
        acm("month", json!({"days_left": 20.5})),
        acm("unused", json!({"days_left": 200, "type": "AMAZON_ISSUED"})),
        acm("healthy", json!({"days_left": 300})),
    ]}]}));
    let inbox = Inbox::new(&fabric);
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--sns-topic-arn",
        &inbox.topic_arn,
    ]);
    assert_eq!(code, 0, "{report}");

    let messages = inbox.take();
    assert_eq!(messages.len(), 1, "one summary per scan: {messages:?}");
    let (subject, body) = &messages[0];
    assert_eq!(
        subject,
        "certaudit: 1 expired, 2 expiring, 1 will not renew"
    );
    let at = |needle: &str| {
        body.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in the message:\n{body}"))
    };
    assert!(at("EXPIRED (1)") < at("EXPIRING WITHIN 7 DAYS (1)"));
    assert!(at("EXPIRING WITHIN 7 DAYS (1)") < at("EXPIRING WITHIN 30 DAYS (1)"));
    assert!(at("EXPIRING WITHIN 30 DAYS (1)") < at("WILL NOT RENEW (1)"));
    assert!(at(&fabric.arn("gone")) < at(&fabric.arn("soon")));
    assert!(at(&fabric.arn("month")) < at(&fabric.arn("unused")));
    assert!(
        !body.contains(&fabric.arn("healthy")),
        "a healthy certificate is not listed"
    );
    let web = fabric.account("web");
    assert!(body.contains(&format!("Account: web ({web})")), "{body}");
    assert!(
        body.contains("gone.example.com - EXPIRED (-4 days) - IMPORTED"),
        "{body}"
    );
    let id = fabric.arn("soon").rsplit('/').next().unwrap().to_string();
    assert!(body.contains(&format!(
        "https://us-east-1.console.aws.amazon.com/acm/home?region=us-east-1#/certificates/{id}"
    )));
}

#[test]
fn nothing_to_report_publishes_nothing_unless_notify_always() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("healthy", json!({"days_left": 300})),
    ]}]}));
    let inbox = Inbox::new(&fabric);
    let topic = [
        "--regions",
        "us-east-1",
        "--sns-topic-arn",
        &inbox.topic_arn,
    ];
    let (code, _) = fabric.scan_json(&topic);
    assert_eq!(code, 0);
    assert!(
        inbox.take().is_empty(),
        "no message when nothing needs attention"
    );

    let (code, _) = fabric.scan_json(&[&topic[..], &["--notify-always"]].concat());
    assert_eq!(code, 0);
    let messages = inbox.take();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0, "certaudit: no certificate needs attention");
}

#[test]
fn a_summary_over_256_kib_is_split_into_numbered_parts_not_truncated() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        {"label": "many", "domain": "a-rather-long-service-name.internal.example.com",
         "days_left": 10, "count": 1000},
    ]}]}));
    let inbox = Inbox::new(&fabric);
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--detail",
        "summary",
        "--sns-topic-arn",
        &inbox.topic_arn,
    ]);
    assert_eq!(code, 0, "{}", report["errors"]);
    let all = arns(&report);
    assert_eq!(all.len(), 1000);

    let messages = inbox.take();
    let total = messages.len();
    assert!(total >= 2, "1000 entries do not fit one message");
    for (i, (subject, body)) in messages.iter().enumerate() {
        assert!(
            body.len() <= 256 * 1024,
            "part {} is {} bytes",
            i + 1,
            body.len()
        );
        assert!(subject.is_ascii() && subject.len() < 100, "{subject}");
        assert!(
            subject.ends_with(&format!("(part {} of {total})", i + 1)),
            "{subject}"
        );
        assert!(body.starts_with(&format!("Part {} of {total}.", i + 1)));
    }
    let joined: String = messages.iter().map(|(_, b)| b.as_str()).collect();
    for arn in &all {
        assert_eq!(
            joined.matches(&format!("ARN: {arn}\n")).count(),
            1,
            "{arn} in exactly one part"
        );
    }
}

#[test]
fn a_failed_publish_is_an_error_in_the_written_report() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("soon", json!({"days_left": 5})),
    ]}]}));
    let dir = tempfile::tempdir().unwrap();
    let missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    let out = fabric
        .certaudit()
        .args([
            "scan",
            "-o",
            "json",
            "--regions",
            "us-east-1",
            "--sns-topic-arn",
            missing,
        ])
        .arg("--report-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "a failed notification makes the run incomplete"
    );
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(
        written["certificates"].as_array().unwrap().len(),
        1,
        "nothing lost"
    );
    let error = &written["errors"][0];
    assert_eq!(error["stage"], "sns");
    assert_eq!(error["code"], "NotFound");
    assert!(error["message"].as_str().unwrap().contains(missing));
}

fn delete_certificate(fabric: &Fabric, arn: &str) {
    let client = aws_sdk_acm::Client::new(&fabric.sdk_config());
    runtime().block_on(async {
        client
            .delete_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn security_hub_findings_are_consolidated_idempotent_and_archived() {
    let fabric = Fabric::start(json!({
        "management": {"certificates": [acm("mgmt", json!({"days_left": 3}))]},
        "accounts": [{"name": "web", "certificates": [
            acm("d10", json!({"days_left": 10})),
            acm("d25", json!({"days_left": 25, "region": "eu-west-1"})),
            acm("d40", json!({"days_left": 40})),
            acm("unused", json!({"days_left": 200, "type": "AMAZON_ISSUED"})),
            acm("healthy", json!({"days_left": 300})),
        ]}],
    }));
    let hub = [
        "--regions",
        "us-east-1,eu-west-1",
        "--security-hub-region",
        "us-east-1",
    ];
    let (code, report) = fabric.scan_json(&hub);
    assert_eq!(code, 0, "{}", report["errors"]);

    let caller = fabric.state["management_account"]
        .as_str()
        .unwrap()
        .to_string();
    let web = fabric.account("web");
    let first = findings(&fabric);
    let expected = [
        (
            "mgmt",
            SeverityLabel::Critical,
            caller.as_str(),
            "us-east-1",
        ),
        ("d10", SeverityLabel::High, web.as_str(), "us-east-1"),
        ("d25", SeverityLabel::Medium, web.as_str(), "eu-west-1"),
        ("d40", SeverityLabel::Low, web.as_str(), "us-east-1"),
        ("unused", SeverityLabel::Low, web.as_str(), "us-east-1"),
    ];
    assert_eq!(first.len(), expected.len(), "{:?}", first.keys());
    for (label, severity, owner, region) in expected {
        let f = &first[&fabric.arn(label)];
        assert_eq!(f.schema_version(), Some("2018-10-08"));
        assert_eq!(
            f.aws_account_id(),
            Some(caller.as_str()),
            "imported into the caller"
        );
        assert_eq!(
            f.product_arn(),
            Some(
                format!("arn:aws:securityhub:us-east-1:{caller}:product/{caller}/default").as_str()
            )
        );
        assert_eq!(f.severity().unwrap().label(), Some(&severity), "{label}");
        assert_eq!(f.record_state(), Some(&RecordState::Active));
        let resource = &f.resources()[0];
        assert_eq!(resource.r#type(), Some("AwsCertificateManagerCertificate"));
        assert_eq!(resource.region(), Some(region));
        assert_eq!(
            resource.details().unwrap().other().unwrap()["AccountId"],
            owner
        );
        let url = f
            .remediation()
            .unwrap()
            .recommendation()
            .unwrap()
            .url()
            .unwrap();
        assert!(url.contains("console.aws.amazon.com/acm/"), "{url}");
    }
    assert!(!first.contains_key(&fabric.arn("healthy")));

    // A re-run updates the same findings.
    let (code, _) = fabric.scan_json(&hub);
    assert_eq!(code, 0);
    let second = findings(&fabric);
    assert_eq!(second.len(), first.len(), "no duplicates");
    for (arn, f) in &second {
        assert_eq!(f.id(), first[arn].id());
        assert_eq!(f.created_at(), first[arn].created_at(), "CreatedAt kept");
    }

    // A deleted certificate's finding is archived; an account the run did not cover keeps its
    // findings active even though its certificates are absent from this report.
    delete_certificate(&fabric, &fabric.arn("mgmt"));
    let (code, _) = fabric.scan_json(&[&hub[..], &["--exclude", &web]].concat());
    assert_eq!(code, 0);
    let third = findings(&fabric);
    assert_eq!(third.len(), first.len());
    assert_eq!(
        third[&fabric.arn("mgmt")].record_state(),
        Some(&RecordState::Archived)
    );
    assert_eq!(
        third[&fabric.arn("d10")].record_state(),
        Some(&RecordState::Active)
    );
    assert_eq!(
        third[&fabric.arn("unused")].record_state(),
        Some(&RecordState::Active)
    );
}

#[test]
fn rejected_findings_and_a_disabled_hub_are_errors_with_the_report_kept() {
    let fabric = Fabric::start(json!({
        "security_hub": {"reject": ["bad"]},
        "accounts": [{"name": "web", "certificates": [
            acm("bad", json!({"days_left": 5})),
            acm("good", json!({"days_left": 6})),
        ]}],
    }));
    let hub = [
        "--regions",
        "us-east-1",
        "--security-hub-region",
        "us-east-1",
    ];
    let (code, report) = fabric.scan_json(&hub);
    assert_eq!(code, 3, "FailedFindings make the run incomplete");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["stage"], "security_hub");
    assert_eq!(errors[0]["code"], "InvalidInput");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains(&fabric.arn("bad")));
    assert_eq!(report["certificates"].as_array().unwrap().len(), 2);
    let imported = findings(&fabric);
    assert!(imported.contains_key(&fabric.arn("good")));
    assert!(!imported.contains_key(&fabric.arn("bad")));

    let disabled = Fabric::start(json!({
        "security_hub": {"enabled": false},
        "accounts": [{"name": "web", "certificates": [acm("soon", json!({"days_left": 5}))]}],
    }));
    let (code, report) = disabled.scan_json(&hub);
    assert_eq!(code, 3);
    let error = &report["errors"][0];
    assert_eq!(error["code"], "InvalidAccessException");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("enable Security Hub in us-east-1"));
    assert_eq!(report["certificates"].as_array().unwrap().len(), 1);
}

#[test]
fn a_fifo_topic_gets_a_message_group_and_deduplication_id() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        acm("soon", json!({"days_left": 5.5})),
    ]}]}));
    let inbox = Inbox::fifo(&fabric);
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--sns-topic-arn",
        &inbox.topic_arn,
    ]);
    assert_eq!(code, 0, "{}", report["errors"]);
    assert!(report["errors"].as_array().unwrap().is_empty());
    let delivered = inbox.take();
    assert_eq!(
        delivered.len(),
        1,
        "one summary through the FIFO topic: {delivered:?}"
    );
    let (subject, message) = &delivered[0];
    assert!(subject.contains("1 expiring"), "{subject}");
    assert!(message.contains("soon.example.com"), "{message}");
    assert!(message.contains(&fabric.arn("soon")), "{message}");
}

#[test]
fn an_account_certaudit_cannot_enter_is_a_finding_until_a_scan_enters_it_again() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "web", "certificates": [acm("fine", json!({"days_left": 300}))]},
        {"name": "broken", "role": "missing", "certificates": [acm("hidden", json!({"days_left": 3.5}))]},
    ]}));
    let hub = [
        "--regions",
        "us-east-1",
        "--security-hub-region",
        "us-east-1",
    ];
    let (code, report) = fabric.scan_json(&hub);
    assert_eq!(code, 3, "{}", report["errors"]);
    let broken = fabric.account("broken");
    let resource = format!("AWS::::Account:{broken}");
    let first = findings(&fabric);
    assert_eq!(first.len(), 1, "only the account: {:?}", first.keys());
    let f = &first[&resource];
    assert_eq!(f.id(), Some(format!("certaudit/account/{broken}").as_str()));
    assert_eq!(
        f.severity().and_then(|s| s.label()),
        Some(&SeverityLabel::High)
    );
    assert_eq!(f.resources()[0].r#type(), Some("AwsAccountId"));
    let title = f.title().unwrap();
    assert!(
        title.contains(&format!("broken ({broken})")) && title.contains("AccessDenied"),
        "{title}"
    );
    let advice = f
        .remediation()
        .unwrap()
        .recommendation()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        advice.contains("certaudit doctor") && advice.contains("StackSet"),
        "{advice}"
    );

    // Still broken: the same finding, its CreatedAt kept.
    let (code, _) = fabric.scan_json(&hub);
    assert_eq!(code, 3);
    let again = findings(&fabric);
    assert_eq!(again.len(), 1);
    assert_eq!(again[&resource].created_at(), f.created_at());
    assert_eq!(again[&resource].record_state(), Some(&RecordState::Active));

    // The role is deployed: the next scan enters the account and archives the finding.
    fabric.change(json!({"op": "role", "account": "broken", "role": support::ROLE_NAME}));
    let (code, report) = fabric.scan_json(&hub);
    assert_eq!(code, 0, "{}", report["errors"]);
    let fixed = findings(&fabric);
    assert_eq!(
        fixed[&resource].record_state(),
        Some(&RecordState::Archived)
    );
    assert_eq!(
        fixed[&fabric.arn("hidden")].record_state(),
        Some(&RecordState::Active),
        "its certificates are audited now"
    );
}

#[test]
fn control_and_bidi_characters_in_a_domain_never_forge_lines_in_sns_or_security_hub() {
    // Whoever can import a certificate into a member account chooses its names.
    let forged = "crlf.example.com\r\nFAKE: all clear\u{1b}[2J";
    let reversed = "\u{202E}moc.elpmaxe\u{2066}.bidi\u{200F}\u{061C}";
    let fabric = Fabric::start(
        json!({"accounts": [{"name": "ops\u{202E}gnp.exe", "certificates": [
            acm("crlf", json!({"days_left": 5.5, "domain": forged})),
            acm("bidi", json!({"days_left": 6.5, "common_name": reversed})),
        ]}]}),
    );
    let inbox = Inbox::new(&fabric);
    let notify = [
        "--regions",
        "us-east-1",
        "--sns-topic-arn",
        inbox.topic_arn.as_str(),
        "--security-hub-region",
        "us-east-1",
    ];
    let (code, report) = fabric.scan_json(&notify);
    assert_eq!(code, 0, "{}", report["errors"]);
    let crlf = fabric.arn("crlf");
    let bidi = fabric.arn("bidi");
    let domain = |arn: &str| support::certificate(&report, arn)["domain_name"].clone();
    assert_eq!(
        (domain(&crlf), domain(&bidi)),
        (json!(forged), json!(reversed)),
        "the names reached certaudit as they were made; JSON keeps them exact"
    );

    let (_, result, stderr) = support::events::run_event(
        &fabric,
        &[&notify[2..], &["--notify-days", "all"]].concat(),
        &support::events::approaching(&crlf, 5, "crlf.example.com"),
    );
    assert_eq!(result["action"], "notified", "{stderr}");
    let messages = inbox.take();
    assert_eq!(
        messages.len(),
        2,
        "the scan's summary and the event's message"
    );
    for (subject, body) in &messages {
        assert!(subject.is_ascii(), "{subject:?}");
        assert_eq!(
            hostile_characters(subject, false),
            Vec::<char>::new(),
            "{subject:?}"
        );
        assert_eq!(
            hostile_characters(body, true),
            Vec::<char>::new(),
            "{body:?}"
        );
        assert!(
            !body.lines().any(|l| l.trim_start().starts_with("FAKE")),
            "a line forged by the domain: {body}"
        );
        assert!(
            body.contains("crlf.example.com\u{FFFD}\u{FFFD}FAKE"),
            "{body}"
        );
    }
    let summary = messages
        .iter()
        .find(|(s, _)| s.contains("expiring"))
        .unwrap();
    assert!(
        summary.1.contains("\u{FFFD}moc.elpmaxe\u{FFFD}.bidi"),
        "{}",
        summary.1
    );

    let imported = findings(&fabric);
    for arn in [&crlf, &bidi] {
        let finding = &imported[arn];
        for text in [finding.title().unwrap(), finding.description().unwrap()] {
            assert_eq!(
                hostile_characters(text, false),
                Vec::<char>::new(),
                "{text:?}"
            );
            assert!(text.contains('\u{FFFD}'), "{text:?}");
        }
    }
}
