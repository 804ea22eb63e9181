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
