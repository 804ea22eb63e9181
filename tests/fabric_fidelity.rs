//! The fabric must be as strict as AWS where the scanner depends on it: a test that passes
//! only because moto is lenient proves nothing. These call the fabric with the plain SDK and
//! the API's defaults, as a naive audit script would, and show what AWS would hide.

mod support;

use aws_sdk_acm::config::{BehaviorVersion, Credentials, Region};
use serde_json::json;
use support::Fabric;

fn acm(fabric: &Fabric) -> aws_sdk_acm::Client {
    let config = aws_sdk_acm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&fabric.endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    aws_sdk_acm::Client::from_conf(config)
}

#[tokio::test]
async fn default_list_filters_hide_ecdsa_large_rsa_and_acme_as_aws_does() {
    let fabric = Fabric::start(json!({
        "management": {"certificates": [
            {"label": "rsa2048", "domain": "a.example.com", "key": "RSA_2048"},
            {"label": "ec", "domain": "b.example.com", "key": "EC_prime256v1"},
            {"label": "rsa4096", "domain": "c.example.com", "key": "RSA_4096"},
            {"label": "acme", "domain": "d.example.com", "type": "AMAZON_ISSUED", "origin": "ACME"}
        ]},
        "accounts": []
    }));
    let client = acm(&fabric);
    let listed = client.list_certificates().send().await.unwrap();
    let arns: Vec<String> = listed
        .certificate_summary_list()
        .iter()
        .filter_map(|c| c.certificate_arn().map(str::to_string))
        .collect();
    assert_eq!(
        arns,
        vec![fabric.arn("rsa2048")],
        "only the RSA_2048, non-ACME certificate is listed by default"
    );
    let bad_page = client.list_certificates().max_items(1001).send().await;
    assert!(
        bad_page.is_err(),
        "MaxItems above 1000 is refused as AWS refuses it"
    );
}

#[tokio::test]
async fn sns_limits_are_enforced_in_bytes_and_subjects_as_aws_does() {
    let fabric = Fabric::start(json!({"accounts": []}));
    let sns = aws_sdk_sns::Client::new(&fabric.sdk_config());
    let topic = sns.create_topic().name("t").send().await.unwrap();
    let topic = topic.topic_arn().unwrap();
    // 100,000 three-byte characters: under moto's character count, over AWS's 256 KiB.
    let wide = "€".repeat(100_000);
    let too_long = sns.publish().topic_arn(topic).message(wide).send().await;
    assert!(
        too_long.is_err(),
        "a message over 256 KiB in bytes is refused"
    );
    for subject in ["two\nlines", "café", &"x".repeat(100)] {
        let refused = sns
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message("m")
            .send()
            .await;
        assert!(refused.is_err(), "subject {subject:?} is refused");
    }
    let fine = sns.publish().topic_arn(topic).subject("ok").message("m");
    assert!(fine.send().await.is_ok());
}

#[tokio::test]
async fn security_hub_takes_only_the_callers_own_findings_and_batches_of_100() {
    use aws_sdk_securityhub::types::{AwsSecurityFinding, Resource, Severity, SeverityLabel};
    let fabric = Fabric::start(json!({"accounts": []}));
    let hub = aws_sdk_securityhub::Client::new(&fabric.sdk_config());
    let caller = fabric.state["management_account"]
        .as_str()
        .unwrap()
        .to_string();
    let finding = |id: &str, account: &str| {
        AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id(id)
            .product_arn(format!(
                "arn:aws:securityhub:us-east-1:{caller}:product/{caller}/default"
            ))
            .generator_id("test")
            .aws_account_id(account)
            .types("Software and Configuration Checks")
            .created_at("2026-11-25T00:00:00Z")
            .updated_at("2026-11-25T00:00:00Z")
            .severity(Severity::builder().label(SeverityLabel::Low).build())
            .title("t")
            .description("d")
            .resources(Resource::builder().r#type("Other").id("r").build())
            .build()
    };
    let out = hub
        .batch_import_findings()
        .findings(finding("mine", &caller))
        .findings(finding("theirs", "111111111111"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_count(), Some(1));
    assert_eq!(out.failed_findings()[0].id(), Some("theirs"));
    let mut too_many = hub.batch_import_findings();
    for i in 0..101 {
        too_many = too_many.findings(finding(&format!("f{i}"), &caller));
    }
    assert!(too_many.send().await.is_err(), "101 findings in one call");
}

#[tokio::test]
async fn short_sessions_expire_and_are_refused_afterwards() {
    let fabric = Fabric::start(json!({
        "session_seconds": 1,
        "accounts": [{"name": "a"}],
    }));
    let sts = aws_sdk_sts::Client::new(&fabric.sdk_config());
    let role = format!(
        "arn:aws:iam::{}:role/{}",
        fabric.account("a"),
        support::ROLE_NAME
    );
    let out = sts
        .assume_role()
        .role_arn(role)
        .role_session_name("t")
        .external_id(support::EXTERNAL_ID)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let left = c.expiration().secs()
        - aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs();
    assert!(left <= 1, "Expiration says {left} s");
    let config = aws_sdk_acm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&fabric.endpoint)
        .credentials_provider(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "test",
        ))
        .build();
    let acm = aws_sdk_acm::Client::from_conf(config);
    assert!(
        acm.list_certificates().send().await.is_ok(),
        "fresh credentials work"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let err = acm.list_certificates().send().await.unwrap_err();
    assert_eq!(
        aws_sdk_acm::error::ProvideErrorMetadata::code(&err),
        Some("ExpiredTokenException")
    );
}
