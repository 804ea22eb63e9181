//! The certificates ACM does not hold (SPEC §14), end to end against the fabric: IAM server
//! certificates across pages, Private CAs across pages (an ACTIVE root, an expiring subordinate
//! with a PRIVATE certificate that outlives it, a DISABLED CA, a CA the scan cannot read),
//! AccessDenied for one source in one account, `--sources`, every output, and `doctor`.

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::hub::findings;
use support::inbox::Inbox;
use support::{acm, certificate, Fabric};

/// A CA outside the organization, shared through RAM: no scan can list it.
const SHARED_CA: &str =
    "arn:aws:acm-pca:us-east-1:555555555555:certificate-authority/0b1c2d3e-shared";

fn private(label: &str, ca: &str, days_left: f64, valid_days: u64) -> Value {
    acm(
        label,
        json!({"type": "PRIVATE", "issuing_ca": ca, "days_left": days_left,
               "valid_days": valid_days, "in_use_by": ["arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/internal/1"]}),
    )
}

fn organization() -> Value {
    json!({
        "iam_page_size": 2,
        "pca_page_size": 1,
        "sns_topics": ["alerts"],
        "accounts": [
            {"name": "pki", "certificate_authorities": [
                {"label": "root", "type": "ROOT", "common_name": "Example Root CA", "days_left": 3000, "valid_days": 3650},
                {"label": "sub", "type": "SUBORDINATE", "common_name": "Example Issuing CA", "days_left": 30.5, "valid_days": 1000},
                {"label": "off", "type": "SUBORDINATE", "status": "DISABLED", "common_name": "Retired CA", "days_left": 2000},
                {"label": "idle", "type": "SUBORDINATE", "common_name": "Idle CA", "days_left": 10},
            ], "certificates": [
                private("outlives", "sub", 100.5, 395),
                private("under-disabled", "off", 200.5, 395),
                private("fine", "root", 100.5, 365),
                acm("shared", json!({"type": "PRIVATE", "issuing_ca_arn": SHARED_CA, "days_left": 150.5,
                                     "in_use_by": ["arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/x/1"]})),
            ]},
            {"name": "web", "server_certificates": [
                {"label": "old-cdn", "name": "old-cdn", "domain": "cdn.example.com", "days_left": -3.5},
                {"label": "lb", "name": "lb-2026", "path": "/cloudfront/", "domain": "lb.example.com", "days_left": 10.5},
                {"name": "bulk", "domain": "bulk.example.com", "days_left": 300, "count": 3},
            ], "certificates": [acm("web", json!({"days_left": 300}))]},
            {"name": "legacy", "denied": ["ListServerCertificates"],
             "server_certificates": [{"name": "hidden", "domain": "hidden.example.com", "days_left": 5}],
             "certificates": [acm("legacy-cert", json!({"days_left": 20.5}))]},
            {"name": "nopca", "denied": ["ListCertificateAuthorities"],
             "certificates": [acm("nopca-cert", json!({"days_left": 300}))]},
        ]
    })
}

const REGIONS: [&str; 2] = ["--regions", "us-east-1,eu-west-1"];

fn by_label<'a>(fabric: &Fabric, report: &'a Value, kind: &str, label: &str) -> &'a Value {
    let arn = fabric.state[kind][label].as_str().expect(label);
    let list = match kind {
        "certificate_authorities" => &report["certificate_authorities"],
        _ => &report["certificates"],
    };
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["arn"] == arn)
        .unwrap_or_else(|| panic!("{label} ({arn}) not in the report"))
}

fn risks(c: &Value) -> Vec<&str> {
    c["renewal_check"]["risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect()
}

#[test]
fn iam_server_certificates_and_private_cas_are_read_judged_and_reported() {
    let fabric = Fabric::start(organization());
    let (code, report) = fabric.scan_json(&REGIONS);
    assert_eq!(
        code, 3,
        "denied sources and an unread CA make it incomplete: {report}"
    );

    // IAM: every page, global, listed with the imported ones, expiring and expired as any.
    let iam: Vec<&Value> = report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"] == "iam")
        .collect();
    assert_eq!(
        iam.len(),
        5,
        "every server certificate, across pages of 2: {iam:?}"
    );
    assert_eq!(report["summary"]["iam_server_certificates"], 5);
    let lb = by_label(&fabric, &report, "server_certificates", "lb");
    assert_eq!(lb["type"], "IAM_SERVER");
    assert_eq!(lb["region"], Value::Null);
    assert_eq!(lb["account_id"], fabric.account("web"));
    assert_eq!(lb["days_to_expiry"], 10);
    assert_eq!(lb["expiring"], true);
    assert_eq!(
        lb["imported"], true,
        "listed with the imported ones: never renews"
    );
    assert_eq!(lb["auto_renews"], false);
    assert_eq!(lb["server_certificate"]["name"], "lb-2026");
    assert_eq!(lb["server_certificate"]["path"], "/cloudfront/");
    assert!(lb["server_certificate"]["id"]
        .as_str()
        .unwrap()
        .starts_with("ASCA"));
    assert!(lb["server_certificate"]["upload_date"].is_string());
    let old = by_label(&fabric, &report, "server_certificates", "old-cdn");
    assert_eq!(
        (old["expired"].clone(), old["days_to_expiry"].clone()),
        (json!(true), json!(-4))
    );
    for c in &iam {
        assert_eq!(c["source"], "iam");
    }
    let acm_cert = certificate(&report, &fabric.arn("web"));
    assert_eq!(acm_cert["source"], "acm");
    assert_eq!(acm_cert["server_certificate"], Value::Null);

    // Private CAs: every page (one per page), classified, counted by what depends on them.
    let cas = report["certificate_authorities"].as_array().unwrap();
    assert_eq!(cas.len(), 4, "{cas:?}");
    let sub = by_label(&fabric, &report, "certificate_authorities", "sub");
    assert_eq!(sub["type"], "SUBORDINATE");
    assert_eq!(sub["status"], "ACTIVE");
    assert_eq!(sub["region"], "us-east-1");
    assert_eq!(sub["account_id"], fabric.account("pki"));
    assert_eq!(sub["subject"].as_str().unwrap(), "CN=Example Issuing CA");
    assert_eq!(sub["expiring"], true);
    assert_eq!(sub["issued_certificates"], 1);
    assert_eq!(sub["needs_attention"], true);
    let off = by_label(&fabric, &report, "certificate_authorities", "off");
    assert_eq!(
        (off["status"].clone(), off["needs_attention"].clone()),
        (json!("DISABLED"), json!(true))
    );
    let idle = by_label(&fabric, &report, "certificate_authorities", "idle");
    assert_eq!(idle["expiring"], true);
    assert_eq!(idle["needs_attention"], false, "nothing depends on it");
    let root = by_label(&fabric, &report, "certificate_authorities", "root");
    assert_eq!(
        (
            root["issued_certificates"].clone(),
            root["needs_attention"].clone()
        ),
        (json!(1), json!(false))
    );
    assert_eq!(report["summary"]["certificate_authorities"], 4);
    assert_eq!(report["summary"]["certificate_authorities_attention"], 2);

    // The PRIVATE certificates' renewal against their CA.
    let outlives = certificate(&report, &fabric.arn("outlives"));
    assert_eq!(outlives["certificate_authority_arn"], sub["arn"]);
    assert_eq!(outlives["renewal_check"]["status"], "at_risk");
    assert_eq!(risks(outlives), ["issuing-ca-expires-first"]);
    assert_eq!(outlives["will_not_renew"], true);
    let under = certificate(&report, &fabric.arn("under-disabled"));
    assert_eq!(risks(under), ["issuing-ca-not-active"]);
    assert_eq!(under["will_not_renew"], true);
    let fine = certificate(&report, &fabric.arn("fine"));
    assert_eq!(fine["renewal_check"]["status"], "ok");
    assert_eq!(fine["will_not_renew"], false);
    let shared = certificate(&report, &fabric.arn("shared"));
    assert_eq!(
        shared["renewal_check"]["status"], "unknown",
        "never ok for a CA not read"
    );
    assert_eq!(report["summary"]["renewal_unknown"], 1);

    // Errors: one per denied source and place; the rest of those accounts still scanned.
    let errors = report["errors"].as_array().unwrap();
    let legacy = fabric.account("legacy");
    let nopca = fabric.account("nopca");
    let kinds: BTreeSet<(String, String, String, String)> = errors
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("-").to_string();
            (s("account_id"), s("region"), s("stage"), s("code"))
        })
        .collect();
    let pki = fabric.account("pki");
    let expected: BTreeSet<(String, String, String, String)> = [
        (&legacy, "-", "list_server_certificates", "AccessDenied"),
        (
            &nopca,
            "eu-west-1",
            "list_certificate_authorities",
            "AccessDeniedException",
        ),
        (
            &nopca,
            "us-east-1",
            "list_certificate_authorities",
            "AccessDeniedException",
        ),
        (
            &pki,
            "us-east-1",
            "list_certificate_authorities",
            "ca-not-read",
        ),
    ]
    .into_iter()
    .map(|(a, r, s, c)| (a.clone(), r.into(), s.into(), c.into()))
    .collect();
    assert_eq!(kinds, expected, "{errors:?}");
    let unread = errors.iter().find(|e| e["code"] == "ca-not-read").unwrap();
    assert!(
        unread["message"].as_str().unwrap().contains(SHARED_CA),
        "{unread}"
    );
    for (name, label) in [("legacy", "legacy-cert"), ("nopca", "nopca-cert")] {
        let account = support::account_entry(&report, &fabric.account(name));
        assert_eq!(account["state"], "scanned", "{name}: {account}");
        assert_eq!(certificate(&report, &fabric.arn(label))["source"], "acm");
    }
    let listed_hidden = report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["account_id"] == legacy && c["source"] == "iam");
    assert!(!listed_hidden, "a denied listing reads nothing");
}

#[test]
fn sources_choose_what_is_called_and_the_report_records_them() {
    let fabric = Fabric::start(organization());
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1", "--sources", "acm"]);
    assert_eq!(code, 0, "nothing denied is called: {}", report["errors"]);
    assert_eq!(report["summary"]["iam_server_certificates"], 0);
    assert_eq!(report["certificate_authorities"], json!([]));
    assert_eq!(report["scope"]["sources"], json!(["acm"]));
    let private = certificate(&report, &fabric.arn("outlives"));
    assert_eq!(
        private["renewal_check"],
        Value::Null,
        "no CA read, by choice: not checked (null), never judged ok"
    );
    let called: BTreeSet<String> = fabric
        .calls()
        .iter()
        .map(|c| c["operation"].as_str().unwrap().to_string())
        .collect();
    for other in ["ListServerCertificates", "ListCertificateAuthorities"] {
        assert!(!called.contains(other), "{other} called with --sources acm");
    }

    let (code, report) = fabric.scan_json(&["--regions", "us-east-1", "--sources", "iam"]);
    assert_eq!(code, 3, "legacy's IAM is denied: {}", report["errors"]);
    let sources: BTreeSet<&str> = report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, BTreeSet::from(["iam"]));
    assert_eq!(report["scope"]["sources"], json!(["iam"]));

    let bad = fabric
        .certaudit()
        .args(["scan", "--sources", "acm,route53"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("route53") && stderr.contains("acm, iam, pca"),
        "{stderr}"
    );
}

#[test]
fn tables_csv_html_sns_and_security_hub_carry_cas_and_server_certificates() {
    let fabric = Fabric::start(organization());
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::new(&fabric);
    let out = fabric
        .certaudit()
        .args(["scan", "--regions", "us-east-1", "--report-dir"])
        .arg(dir.path())
        .args(["--sns-topic-arn", &inbox.topic_arn])
        .args(["--security-hub-region", "us-east-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    let section = table
        .split("Private CAs needing attention (2)")
        .nth(1)
        .unwrap_or_else(|| panic!("no CA section:\n{table}"));
    let section = section.split("\n\n").next().unwrap();
    assert!(
        section.contains("CN=Example Issuing CA") && section.contains("CN=Retired CA"),
        "{section}"
    );
    assert!(
        !section.contains("Idle CA"),
        "nothing depends on it: {section}"
    );
    let imported = table.split("Imported — never auto-renew").nth(1).unwrap();
    let imported = imported.split("\n\n").next().unwrap();
    assert!(
        imported.contains("lb-2026") && imported.contains("global"),
        "{imported}"
    );
    assert!(
        table.contains("5 IAM server certificates among them"),
        "{table}"
    );

    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let cas = read("certificate_authorities.csv");
    let mut lines = cas.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("arn,account_id,account_name,region,type,status"));
    assert_eq!(lines.count(), 4, "{cas}");
    let inventory = read("inventory.csv");
    let header = inventory.lines().next().unwrap();
    assert!(
        header.ends_with(
            "source,certificate_authority_arn,server_certificate_name,server_certificate_path,\
         server_certificate_id,upload_date"
        ),
        "{header}"
    );
    assert!(read("imported.csv").contains(",iam,,lb-2026,/cloudfront/,ASCA"));
    let html = read("report.html");
    assert!(
        html.contains("Private CAs needing attention (2)") && html.contains("Example Issuing CA")
    );

    let messages = inbox.take();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (subject, body) = &messages[0];
    // Every count and the incomplete flag do not fit in SNS's 99 characters: the CA clause
    // gives way to ", ..." (the body has it), the flag never does.
    assert!(
        subject.ends_with(", ... - scan INCOMPLETE") && subject.len() <= 99,
        "{subject}"
    );
    assert!(
        body.contains("PRIVATE CAS THAT CERTIFICATES DEPEND ON (2)"),
        "{body}"
    );
    assert!(
        body.contains(
            "CN=Example Issuing CA - expires in 30 days while 1 certificate depends on it"
        ),
        "{body}"
    );
    assert!(
        body.contains("lb-2026 - 10 days left - IAM_SERVER"),
        "{body}"
    );
    assert!(
        body.contains("IAM server certificate: never renews"),
        "{body}"
    );

    let hub = findings(&fabric);
    let sub = fabric.state["certificate_authorities"]["sub"]
        .as_str()
        .unwrap();
    let ca = &hub[sub];
    assert_eq!(ca.id(), Some(format!("certaudit/{sub}").as_str()));
    assert_eq!(ca.severity().unwrap().label().unwrap().as_str(), "MEDIUM");
    assert!(ca.title().unwrap().contains("Example Issuing CA"), "{ca:?}");
    let off = fabric.state["certificate_authorities"]["off"]
        .as_str()
        .unwrap();
    assert_eq!(
        hub[off].severity().unwrap().label().unwrap().as_str(),
        "HIGH",
        "not ACTIVE: at least High"
    );
    let lb = fabric.state["server_certificates"]["lb"].as_str().unwrap();
    let server = &hub[lb];
    assert_eq!(
        server.title().unwrap(),
        "IAM server certificate lb-2026 expires in 10 days"
    );
    assert_eq!(server.resources()[0].r#type(), Some("Other"));
    assert_eq!(server.resources()[0].region(), None);
    let idle = fabric.state["certificate_authorities"]["idle"]
        .as_str()
        .unwrap();
    assert!(!hub.contains_key(idle));
    let legacy = fabric.account("legacy");
    assert!(
        !hub.contains_key(&format!("AWS::::Account:{legacy}")),
        "a role missing only IAM's permission still audits the account's ACM"
    );
}

#[test]
fn doctor_names_the_action_a_role_lacks() {
    let fabric = Fabric::start(organization());
    let out = fabric
        .certaudit()
        .args(["doctor", "--regions", "us-east-1", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let diagnosis: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed: Vec<&Value> = diagnosis["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"] == "failed")
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    let iam = failed
        .iter()
        .find(|c| c["check"] == "list_server_certificates")
        .unwrap();
    assert_eq!(iam["account_id"], fabric.account("legacy"));
    assert!(
        iam["fix"]
            .as_str()
            .unwrap()
            .contains("iam:ListServerCertificates"),
        "{iam}"
    );
    let pca = failed
        .iter()
        .find(|c| c["check"] == "list_certificate_authorities")
        .unwrap();
    assert_eq!(pca["account_id"], fabric.account("nopca"));
    assert!(
        pca["fix"]
            .as_str()
            .unwrap()
            .contains("acm-pca:ListCertificateAuthorities"),
        "{pca}"
    );
}

#[test]
fn security_hub_archives_ca_and_server_certificate_findings_only_where_the_source_was_read() {
    let fabric = Fabric::start(organization());
    let hub = [
        "--security-hub-region",
        "us-east-1",
        "--regions",
        "us-east-1",
    ];
    // Incomplete (3) whenever the denied sources are read; ACM alone is complete (0).
    let scan = |extra: &[&str], expected: i32| {
        let (code, report) = fabric.scan_json(&[&hub[..], extra].concat());
        assert_eq!(code, expected, "{}", report["errors"]);
        findings(&fabric)
    };
    let state = |found: &std::collections::BTreeMap<
        String,
        aws_sdk_securityhub::types::AwsSecurityFinding,
    >,
                 kind: &str,
                 label: &str| {
        let arn = fabric.state[kind][label].as_str().unwrap();
        found[arn].record_state().unwrap().as_str().to_string()
    };
    let first = scan(&[], 3);
    assert_eq!(state(&first, "certificate_authorities", "sub"), "ACTIVE");
    assert_eq!(state(&first, "server_certificates", "lb"), "ACTIVE");

    // Neither qualifies at 5 days, but this scan did not read IAM or the CAs: both stand.
    let narrow = scan(&["--sources", "acm", "--expiring-days", "5"], 0);
    assert_eq!(state(&narrow, "certificate_authorities", "sub"), "ACTIVE");
    assert_eq!(state(&narrow, "server_certificates", "lb"), "ACTIVE");

    // Read, and no longer qualifying: archived; the DISABLED CA still qualifies.
    let full = scan(&["--expiring-days", "5"], 3);
    assert_eq!(state(&full, "certificate_authorities", "sub"), "ARCHIVED");
    assert_eq!(state(&full, "server_certificates", "lb"), "ARCHIVED");
    assert_eq!(state(&full, "certificate_authorities", "off"), "ACTIVE");
    assert_eq!(
        state(&full, "server_certificates", "old-cdn"),
        "ACTIVE",
        "expired"
    );
}

/// A listing that never ends, or stops without saying where the rest is, or repeats itself:
/// an error for that place (never a scan that hangs or quietly lists less), each CA once.
#[test]
fn broken_paging_is_an_error_not_a_loop_or_a_silent_truncation() {
    let mut scenario = organization();
    scenario["broken_paging"] = json!({"ListServerCertificates": "loop",
                                       "ListCertificateAuthorities": "duplicate"});
    let fabric = Fabric::start(scenario);
    let started = std::time::Instant::now();
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert!(started.elapsed().as_secs() < 60, "the listing ended");
    assert_eq!(code, 3, "{}", report["errors"]);
    let web = fabric.account("web");
    let repeated = support::error_where(&report, |e| {
        e["account_id"] == web.as_str() && e["stage"] == "list_server_certificates"
    });
    assert_eq!(repeated["code"], "repeated-page-token", "{repeated}");
    let iam: Vec<&str> = report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"] == "iam" && c["account_id"] == web.as_str())
        .map(|c| c["arn"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = iam.iter().copied().collect();
    assert_eq!(
        iam.len(),
        unique.len(),
        "each server certificate once: {iam:?}"
    );
    let cas: Vec<&str> = report["certificate_authorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["arn"].as_str().unwrap())
        .collect();
    assert_eq!(
        cas.len(),
        4,
        "each CA once, though the listing repeats: {cas:?}"
    );
    assert_eq!(report["summary"]["certificate_authorities"], 4);

    let mut scenario = organization();
    scenario["broken_paging"] = json!({"ListServerCertificates": "no_token"});
    let fabric = Fabric::start(scenario);
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 3);
    let web = fabric.account("web");
    let cut = support::error_where(&report, |e| {
        e["account_id"] == web.as_str() && e["stage"] == "list_server_certificates"
    });
    assert_eq!(cut["code"], "truncated-without-token", "{cut}");
}

/// Without described ACM certificates, what depends on a CA is unknown: null, and a troubled
/// CA is flagged rather than cleared; its finding is never archived by such a scan.
#[test]
fn dependents_not_read_are_unknown_and_never_an_all_clear() {
    let fabric = Fabric::start(organization());
    let hub = [
        "--regions",
        "us-east-1",
        "--security-hub-region",
        "us-east-1",
    ];
    let (code, _) = fabric.scan_json(&hub);
    assert_eq!(code, 3);
    let sub = fabric.state["certificate_authorities"]["sub"]
        .as_str()
        .unwrap();
    let outlives = fabric.arn("outlives");
    for narrow in [&["--sources", "pca"][..], &["--detail", "summary"][..]] {
        let (_, report) = fabric.scan_json(&[&hub[..], narrow].concat());
        let ca = by_label(&fabric, &report, "certificate_authorities", "sub");
        assert_eq!(ca["issued_certificates"], Value::Null, "{narrow:?}: {ca}");
        assert_eq!(
            ca["needs_attention"], true,
            "{narrow:?}: expiring, dependents unknown"
        );
        let idle = by_label(&fabric, &report, "certificate_authorities", "idle");
        assert_eq!(
            idle["needs_attention"], true,
            "{narrow:?}: not known to be unused"
        );
        let found = findings(&fabric);
        assert_eq!(
            found[sub].record_state().unwrap().as_str(),
            "ACTIVE",
            "{narrow:?}"
        );
        // The certificate at risk because of its CA: not checked by either scan, never
        // archived by it.
        assert_eq!(
            found[&outlives].record_state().unwrap().as_str(),
            "ACTIVE",
            "{narrow:?}"
        );
    }
    let (_, report) = fabric.scan_json(&[&hub[..], &["--sources", "acm"][..]].concat());
    assert_eq!(
        certificate(&report, &outlives)["renewal_check"],
        Value::Null
    );
    let found = findings(&fabric);
    assert_eq!(
        found[&outlives].record_state().unwrap().as_str(),
        "ACTIVE",
        "at risk through its CA, and the CAs were not read: the finding stands"
    );
}

/// A CA fixed while another certificate of its account-region depends on a CA no scan can
/// read: the listing of its own account-region was whole, so its finding is archived.
#[test]
fn a_fixed_ca_is_archived_even_beside_a_certificate_whose_ca_is_not_read() {
    let fabric = Fabric::start(json!({"management": {
    "certificate_authorities": [
        {"label": "off", "type": "SUBORDINATE", "status": "DISABLED", "common_name": "Retired CA", "days_left": 2000},
    ],
    "certificates": [
        private("under-off", "off", 200.5, 395),
        acm("shared", json!({"type": "PRIVATE", "issuing_ca_arn": SHARED_CA, "days_left": 150.5,
                             "in_use_by": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1"]})),
    ]}}));
    let args = [
        "--regions",
        "us-east-1",
        "--security-hub-region",
        "us-east-1",
    ];
    let (code, report) = fabric.scan_json(&args);
    assert_eq!(code, 3, "the shared CA is not read: {}", report["errors"]);
    let off = fabric.state["certificate_authorities"]["off"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        findings(&fabric)[&off].record_state().unwrap().as_str(),
        "ACTIVE"
    );

    let client = aws_sdk_acmpca::Client::new(&fabric.sdk_config());
    let arn = off.clone();
    support::hub::block_on(async move {
        client
            .update_certificate_authority()
            .certificate_authority_arn(arn)
            .status(aws_sdk_acmpca::types::CertificateAuthorityStatus::Active)
            .send()
            .await
            .unwrap()
    });
    let (code, report) = fabric.scan_json(&args);
    assert_eq!(code, 3);
    let ca = by_label(&fabric, &report, "certificate_authorities", "off");
    assert_eq!(ca["needs_attention"], false, "{ca}");
    assert_eq!(
        findings(&fabric)[&off].record_state().unwrap().as_str(),
        "ARCHIVED"
    );
}

#[test]
fn fail_on_ca_needs_attention_and_doctor_with_the_sources_a_team_scans() {
    let fabric = Fabric::start(organization());
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--sources",
        "acm,pca",
        "--allow-partial",
        "--fail-on",
        "ca-needs-attention",
    ]);
    assert_eq!(code, 4, "{}", report["summary"]);
    let (code, _) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--sources",
        "acm,iam",
        "--allow-partial",
        "--fail-on",
        "ca-needs-attention",
    ]);
    assert_eq!(code, 0, "no CA read, none flagged");

    // A team that scans ACM alone gets a passing doctor from a role without the new actions.
    let out = fabric
        .certaudit()
        .args([
            "doctor",
            "--regions",
            "us-east-1",
            "--sources",
            "acm",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let diagnosis: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: BTreeSet<&str> = diagnosis["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert!(
        !kinds.contains("list_server_certificates")
            && !kinds.contains("list_certificate_authorities"),
        "{kinds:?}"
    );
}
