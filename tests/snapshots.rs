//! Snapshot tests: every output format of one fixed report (errors.csv included), doctor's
//! table and JSON, and `--help`, so any change in what users and scripts see shows up in
//! review.

use chrono::{DateTime, Duration, TimeZone, Utc};

use certaudit::diff::{diff, Diff, Side};
use certaudit::doctor::{self, Check, CheckKind, Diagnosis, DoctorSummary, Verdict};
use certaudit::output::{render, write_artifacts, Rendering};
use certaudit::plan::CsvCells;
use certaudit::plan::{DataFormat, ListChoice, OutputFormat};
use certaudit::renewal::{CheckStatus, RenewalCheck, Risk, RiskKind};
use certaudit::report::classify::classify;
use certaudit::report::endpoint::{
    AcmCertificate, AcmMatch, Endpoint, EndpointError, EndpointFinding, EndpointStatus, Served,
};
use certaudit::report::{
    AccountOutcome, AccountState, Certificate, CertificateAuthority, Report, ScanError,
    ServerCertificate, Source, Stage, Summary, Tags, Tool, IAM_SERVER,
};

fn generated_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn certificate(n: u32, account: (&str, &str), region: &str, kind: &str, days: i64) -> Certificate {
    let arn = format!(
        "arn:aws:acm:{region}:{}:certificate/0000000{n}-aaaa-bbbb-cccc-dddddddddddd",
        account.0
    );
    let mut c = Certificate::new(&arn, account.0, Some(account.1), region);
    c.cert_type = Some(kind.into());
    c.status = Some(if days < 0 { "EXPIRED" } else { "ISSUED" }.into());
    c.key_algorithm = Some("RSA_2048".into());
    c.key_pair_origin = Some(
        if kind == "IMPORTED" {
            "CUSTOMER_PROVIDED"
        } else {
            "AWS_MANAGED"
        }
        .into(),
    );
    c.not_before = Some(generated_at() - Duration::days(300));
    c.not_after = Some(generated_at() + Duration::days(days) + Duration::hours(6));
    c.renewal_eligibility = Some("INELIGIBLE".into());
    c.in_use = Some(false);
    // Read, and none: a full-detail scan.
    c.in_use_by = Some(Vec::new());
    c.tags = Some(Tags::default());
    c
}

/// A Private CA expiring while a certificate depends on it.
fn authority() -> CertificateAuthority {
    let mut ca = CertificateAuthority::new(
        "arn:aws:acm-pca:us-east-1:222222222222:certificate-authority/11111111-2222-3333-4444-555555555555",
        "222222222222",
        Some("dev"),
        "us-east-1",
    );
    ca.ca_type = Some("SUBORDINATE".into());
    ca.status = Some("ACTIVE".into());
    ca.usage_mode = Some("GENERAL_PURPOSE".into());
    ca.subject = Some("CN=Example Issuing CA, O=Example".into());
    ca.not_before = Some(generated_at() - Duration::days(700));
    ca.not_after = Some(generated_at() + Duration::days(25) + Duration::hours(2));
    ca.issued_certificates = Some(1);
    ca.classify(generated_at(), 45);
    ca
}

fn report() -> Report {
    let prod = ("111111111111", "prod-web");
    let dev = ("222222222222", "dev");
    let mut www = certificate(1, prod, "us-east-1", "AMAZON_ISSUED", 200);
    www.domain_name = Some("www.example.com".into());
    www.subject_alternative_names = vec!["www.example.com".into(), "example.com".into()];
    www.renewal_eligibility = Some("ELIGIBLE".into());
    www.in_use = Some(true);
    www.in_use_by = Some(vec![
        "arn:aws:cloudfront::111111111111:distribution/E1".into()
    ]);
    www.issuer = Some("Amazon RSA 2048 M03".into());
    let mut tags = Tags::default();
    tags.insert("team".into(), "web".into());
    tags.insert("cost-centre".into(), "=1+2".into());
    www.tags = Some(tags);
    let mut legacy = certificate(2, prod, "eu-west-1", "IMPORTED", 5);
    legacy.domain_name = Some("legacy.example.com".into());
    legacy.key_algorithm = Some("EC_prime256v1".into());
    legacy.in_use = Some(true);
    legacy.issuer = Some("DigiCert".into());
    let mut old = certificate(3, dev, "us-east-1", "IMPORTED", -3);
    old.domain_name = Some("old.dev.example.com".into());
    let mut unused = certificate(4, dev, "us-east-1", "AMAZON_ISSUED", 20);
    unused.domain_name = Some("unused.dev.example.com".into());
    let mut failed = certificate(5, prod, "us-east-1", "AMAZON_ISSUED", 30);
    failed.domain_name = Some("shop.example.com".into());
    failed.renewal_eligibility = Some("ELIGIBLE".into());
    failed.renewal_status = Some("FAILED".into());
    failed.renewal_status_reason = Some("CAA_ERROR".into());
    failed.in_use = Some(true);
    // The renewal check found why: a CAA set that allows only another CA.
    failed.renewal_check = Some(Box::new(RenewalCheck {
        status: CheckStatus::AtRisk,
        risks: vec![Risk {
            kind: RiskKind::CaaForbidsAmazon,
            name: "shop.example.com".into(),
            detail: "the CAA set at example.com. allows only 0 issue \"letsencrypt.org\"".into(),
        }],
        attempt_in_days: None,
    }));
    www.renewal_check = Some(Box::new(RenewalCheck {
        status: CheckStatus::Ok,
        risks: vec![],
        attempt_in_days: None,
    }));
    // An IAM server certificate (SPEC §14): global, never renews.
    let mut server = Certificate::new(
        "arn:aws:iam::111111111111:server-certificate/cloudfront/lb-2026",
        prod.0,
        Some(prod.1),
        "",
    );
    server.source = Source::Iam;
    server.cert_type = Some(IAM_SERVER.into());
    server.not_after = Some(generated_at() + Duration::days(12) + Duration::hours(3));
    server.server_certificate = Some(Box::new(ServerCertificate {
        name: "lb-2026".into(),
        path: "/cloudfront/".into(),
        id: "ASCACKCEVSQ6C2EXAMPLE".into(),
        upload_date: Some(generated_at() - Duration::days(353)),
    }));
    let mut certificates = vec![www, legacy, old, unused, failed, server];
    for c in &mut certificates {
        classify(c, generated_at(), 45);
    }
    let account =
        |id: &str, name: &str, state, reason: Option<&str>, regions: &[&str]| AccountOutcome {
            account_id: id.into(),
            account_name: Some(name.into()),
            state,
            reason: reason.map(Into::into),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            regions_not_enabled: vec![],
        };
    let mut report = Report {
        schema_version: 1,
        tool: Tool {
            name: "certaudit".into(),
            version: "0.0.0-snapshot".into(),
        },
        generated_at: generated_at(),
        expiring_days: 45,
        caller_account_id: "111111111111".into(),
        summary: Summary::default(),
        accounts: vec![
            account(
                prod.0,
                prod.1,
                AccountState::Scanned,
                None,
                &["eu-west-1", "us-east-1"],
            ),
            account(dev.0, dev.1, AccountState::Scanned, None, &["us-east-1"]),
            account(
                "333333333333",
                "sandbox",
                AccountState::Skipped,
                Some("account state is SUSPENDED"),
                &[],
            ),
            account(
                "444444444444",
                "legacy",
                AccountState::Failed,
                Some("assume_role: AccessDenied"),
                &[],
            ),
        ],
        certificates,
        certificate_authorities: vec![authority()],
        errors: vec![ScanError {
            account_id: Some("444444444444".into()),
            region: None,
            stage: Stage::AssumeRole,
            code: "AccessDenied".into(),
            message: "not authorized to perform: sts:AssumeRole".into(),
        }],
        endpoints: None,
        ct: None,
        ct_seen: Vec::new(),
        scope: None,
    };
    report.sort();
    report.tally(1234);
    report
}

fn rendered(format: OutputFormat, list: Option<ListChoice>) -> String {
    rendered_in(format, list, None)
}

fn rendered_in(format: OutputFormat, list: Option<ListChoice>, width: Option<usize>) -> String {
    rendered_of(&report(), format, list, width)
}

fn rendered_of(
    report: &Report,
    format: OutputFormat,
    list: Option<ListChoice>,
    width: Option<usize>,
) -> String {
    let mut out = Vec::new();
    render(
        report,
        Rendering {
            format,
            list,
            color: false,
            width,
            wide: false,
            csv_cells: CsvCells::Neutralised,
        },
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// The default table on a terminal `width` columns wide: every line fits, table and prose.
fn fitted(width: usize) -> String {
    fitted_of(&report(), width)
}

fn fitted_of(report: &Report, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let table = rendered_of(report, OutputFormat::Table, None, Some(width));
    for line in table.lines() {
        assert!(line.width() <= width, "{} columns: {line}", line.width());
    }
    table
}

#[test]
fn table_output_80_columns() {
    insta::assert_snapshot!(fitted(80));
}

#[test]
fn table_output_120_columns() {
    insta::assert_snapshot!(fitted(120));
}

#[test]
fn html_output() {
    insta::assert_snapshot!(rendered(OutputFormat::Html, None));
}

#[test]
fn table_output() {
    insta::assert_snapshot!(rendered(OutputFormat::Table, None));
}

#[test]
fn table_output_single_list() {
    insta::assert_snapshot!(rendered(OutputFormat::Table, Some(ListChoice::All)));
}

#[test]
fn json_output() {
    insta::assert_snapshot!(rendered(OutputFormat::Json, None));
}

#[test]
fn ndjson_output_expiring() {
    insta::assert_snapshot!(rendered(OutputFormat::Ndjson, Some(ListChoice::Expiring)));
}

#[test]
fn csv_output() {
    insta::assert_snapshot!(rendered(OutputFormat::Csv, None));
}

#[test]
fn summary_counts_agree_with_the_certificates() {
    let s = report().summary;
    assert_eq!(
        (
            s.certificates,
            s.expiring,
            s.expired,
            s.imported,
            s.will_not_renew
        ),
        // Six, one an IAM server certificate: expiring, and counted with the imported.
        (6, 5, 1, 3, 2)
    );
    assert_eq!(
        (
            s.iam_server_certificates,
            s.certificate_authorities,
            s.certificate_authorities_attention
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (
            s.accounts_targeted,
            s.accounts_scanned,
            s.accounts_skipped,
            s.accounts_failed
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(s.regions_scanned, 3);
}

/// The fixed report a day later: `unused` deleted, `api` new, `www` renewed, `legacy`
/// re-imported, a tag that now starts like a formula; `legacy` (the account) failed again.
fn diff_of_a_day() -> Diff {
    let mut old = report();
    let serial = |c: &mut Certificate, s: &str| c.serial = Some(s.into());
    for c in &mut old.certificates {
        serial(c, "01");
    }
    let mut new = old.clone();
    new.generated_at = generated_at() + Duration::days(1);
    new.certificates
        .retain(|c| c.domain_name.as_deref() != Some("unused.dev.example.com"));
    for c in &mut new.certificates {
        match c.domain_name.as_deref() {
            Some("www.example.com") => {
                c.not_after = c.not_after.map(|t| t + Duration::days(395));
                serial(c, "02");
            }
            Some("legacy.example.com") => {
                c.not_after = c.not_after.map(|t| t + Duration::days(365));
                serial(c, "02");
                let mut tags = Tags::default();
                tags.insert("owner".into(), "=cmd|' /C calc'!A0".into());
                c.tags = Some(tags);
            }
            _ => {}
        }
    }
    let mut api = certificate(
        6,
        ("111111111111", "prod-web"),
        "us-east-1",
        "AMAZON_ISSUED",
        395,
    );
    api.domain_name = Some("api.example.com".into());
    new.certificates.push(api);
    for c in &mut new.certificates {
        classify(c, new.generated_at, 45);
    }
    new.sort();
    new.tally(1000);
    let side = |report: &Report, id| Side {
        generated_at: report.generated_at,
        scan_id: Some(id),
        source: "history.db".into(),
    };
    diff(&old, &new, side(&old, 7), side(&new, 8), 45)
}

fn rendered_diff(format: DataFormat) -> String {
    let mut out = Vec::new();
    certaudit::output::diff::render(&diff_of_a_day(), format, CsvCells::Neutralised, &mut out)
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn diff_table_output() {
    insta::assert_snapshot!(rendered_diff(DataFormat::Table));
}

#[test]
fn diff_json_output() {
    insta::assert_snapshot!(rendered_diff(DataFormat::Json));
}

#[test]
fn diff_ndjson_output() {
    insta::assert_snapshot!(rendered_diff(DataFormat::Ndjson));
}

#[test]
fn diff_csv_output() {
    insta::assert_snapshot!(rendered_diff(DataFormat::Csv));
}

/// Three endpoints: a healthy one, a stale certificate still served, one not reached.
fn endpoints_fixture() -> Vec<Endpoint> {
    let served = |serial: &str, days: i64| Served {
        serial: serial.into(),
        subject: "CN=www.example.com".into(),
        issuer: "CN=Amazon RSA 2048 M03, O=Amazon, C=US".into(),
        sans: vec!["www.example.com".into(), "example.com".into()],
        not_before: generated_at() - Duration::days(300),
        not_after: generated_at() + Duration::days(days),
        days_to_expiry: days,
        sha256: format!("{:064x}", days),
    };
    let mut ok = Endpoint::unprobed(
        "www.example.com",
        443,
        "www.example.com",
        EndpointStatus::Ok,
    );
    ok.address = Some("203.0.113.10".into());
    ok.tls_version = Some("TLSv1.3".into());
    ok.served = Some(served("0a1b2c", 200));
    ok.chain_trusted = true;
    ok.chain_not_after = Some(generated_at() + Duration::days(200));
    ok.hostname_match = true;
    ok.acm = Some(AcmCertificate {
        arn: "arn:aws:acm:us-east-1:111111111111:certificate/1".into(),
        serial: Some("0a1b2c".into()),
        matched: AcmMatch::Same,
    });
    let mut stale = ok.clone();
    stale.host = "shop.example.com".into();
    stale.sni = "shop.example.com".into();
    stale.served = Some(served("ff01", 12));
    stale.acm = Some(AcmCertificate {
        arn: "arn:aws:acm:us-east-1:111111111111:certificate/2".into(),
        serial: Some("0d0e".into()),
        matched: AcmMatch::Different,
    });
    stale.findings = vec![EndpointFinding::Expiring, EndpointFinding::Mismatch];
    stale.status = Endpoint::status_of(&stale.findings);
    stale.reason = Some("mismatch".into());
    let mut down = Endpoint::unprobed(
        "legacy.example.com",
        8443,
        "legacy.example.com",
        EndpointStatus::Unreachable,
    );
    down.address = Some("198.51.100.7".into());
    down.reason = Some("connect-timeout".into());
    down.error = Some(EndpointError {
        code: "connect-timeout".into(),
        message: "no TCP connection in 5 s".into(),
    });
    vec![ok, stale, down]
}

fn rendered_endpoints(format: DataFormat) -> String {
    let mut out = Vec::new();
    certaudit::output::endpoints::render(
        &endpoints_fixture(),
        generated_at(),
        format,
        CsvCells::Neutralised,
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn endpoints_table_output() {
    insta::assert_snapshot!(rendered_endpoints(DataFormat::Table));
}

/// `scan --probe` on an 80-column terminal: the endpoints section after the lists, worst
/// first, fitted like them.
#[test]
fn table_output_with_endpoints_80_columns() {
    let mut report = report();
    report.endpoints = Some(endpoints_fixture());
    insta::assert_snapshot!(fitted_of(&report, 80));
}

#[test]
fn endpoints_json_output() {
    insta::assert_snapshot!(rendered_endpoints(DataFormat::Json));
}

#[test]
fn endpoints_ndjson_output() {
    insta::assert_snapshot!(rendered_endpoints(DataFormat::Ndjson));
}

#[test]
fn endpoints_csv_output() {
    insta::assert_snapshot!(rendered_endpoints(DataFormat::Csv));
}

fn help(args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("certaudit")
        .unwrap()
        .args(args)
        .env_clear()
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_output() {
    insta::assert_snapshot!(help(&["--help"]));
}

#[test]
fn scan_help_output() {
    insta::assert_snapshot!(help(&["scan", "--help"]));
}

#[test]
fn doctor_help_output() {
    insta::assert_snapshot!(help(&["doctor", "--help"]));
}

#[test]
fn event_help_output() {
    insta::assert_snapshot!(help(&["event", "--help"]));
}

#[test]
fn completions_help_output() {
    insta::assert_snapshot!(help(&["completions", "--help"]));
}

#[test]
fn endpoints_help_output() {
    insta::assert_snapshot!(help(&["endpoints", "--help"]));
}

#[test]
fn diff_help_output() {
    insta::assert_snapshot!(help(&["diff", "--help"]));
}

#[test]
fn history_help_output() {
    insta::assert_snapshot!(help(&["history", "--help"]));
}

fn check(
    account: (&str, Option<&str>),
    kind: CheckKind,
    region: Option<&str>,
    result: Verdict,
    failure: Option<(&str, &str, &str)>,
) -> Check {
    Check {
        account_id: account.0.into(),
        account_name: account.1.map(str::to_string),
        check: kind,
        region: region.map(str::to_string),
        result,
        code: failure.map(|f| f.0.to_string()),
        message: failure.map(|f| f.1.to_string()),
        fix: failure.map(|f| f.2.to_string()),
    }
}

/// A diagnosis with one healthy account, one whose role is missing, one suspended.
fn diagnosis() -> Diagnosis {
    let good = ("111111111111", Some("prod-web"));
    let broken = ("333333333333", Some("legacy"));
    let gone = ("444444444444", None);
    let checks = vec![
        check(good, CheckKind::AssumeRole, None, Verdict::Ok, None),
        check(good, CheckKind::DescribeRegions, None, Verdict::Ok, None),
        check(
            good,
            CheckKind::ListCertificates,
            Some("eu-west-1"),
            Verdict::Ok,
            None,
        ),
        check(
            good,
            CheckKind::ListCertificates,
            Some("us-east-1"),
            Verdict::Ok,
            None,
        ),
        check(
            broken,
            CheckKind::AssumeRole,
            None,
            Verdict::Failed,
            Some((
                "AccessDenied",
                "not authorized to perform: sts:AssumeRole",
                "the role is missing here or no longer trusts this caller",
            )),
        ),
        Check {
            message: Some("account state is SUSPENDED".into()),
            ..check(gone, CheckKind::Account, None, Verdict::Skipped, None)
        },
    ];
    Diagnosis {
        tool: Tool::default(),
        generated_at: generated_at(),
        caller_account_id: "999999999999".into(),
        role_name: "CertAuditReadOnly".into(),
        external_id_given: true,
        summary: DoctorSummary {
            accounts_targeted: 3,
            accounts_ok: 1,
            accounts_failed: 1,
            accounts_skipped: 1,
            checks: 6,
            checks_failed: 1,
        },
        checks,
    }
}

#[test]
fn doctor_table_output() {
    let mut out = Vec::new();
    doctor::write_table(&diagnosis(), &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn doctor_json_output() {
    let mut out = Vec::new();
    doctor::write_json(&diagnosis(), &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn errors_csv_artifact() {
    let dir = tempfile::tempdir().unwrap();
    write_artifacts(&report(), dir.path(), CsvCells::Neutralised).unwrap();
    insta::assert_snapshot!(std::fs::read_to_string(dir.path().join("errors.csv")).unwrap());
}

/// The certificate of the fixed report with this domain.
fn certificate_of(report: &Report, domain: &str) -> Certificate {
    report
        .certificates
        .iter()
        .find(|c| c.domain_name.as_deref() == Some(domain))
        .unwrap()
        .clone()
}

#[test]
fn event_result_json() {
    use certaudit::event::result::{Action, EventRef, EventResult, FindingState};
    let legacy = certificate_of(&report(), "legacy.example.com");
    let event = EventRef {
        id: Some("9c95e8e4-96a4-ef3f-b739-b6aa5b193afb".into()),
        detail_type: Some("ACM Certificate Approaching Expiration".into()),
        account: Some(legacy.account_id.to_string()),
        region: Some(legacy.region.to_string()),
        time: Some("2026-11-25T06:51:08Z".into()),
        resource: Some(legacy.arn.clone()),
    };
    let mut result = EventResult::new(event, Action::Notified, false);
    result.finding_id = Some(format!("certaudit/{}", legacy.arn));
    result.finding_state = Some(FindingState::Active);
    result.days_at_event = Some(5);
    result.sns_message_id = Some("6f9a3c1e-3b1d-5b7e-9d6a-2f0c1e8b7a44".into());
    result.sns_subject = Some(
        certaudit::notify::certificate::attention(
            &legacy,
            "ACM Certificate Approaching Expiration",
        )
        .subject,
    );
    result.certificate = Some(legacy);
    insta::assert_snapshot!(serde_json::to_string_pretty(&result).unwrap());
}

#[test]
fn event_sns_messages() {
    use certaudit::notify::certificate::{attention, export_again, resolved};
    let report = report();
    let legacy = certificate_of(&report, "legacy.example.com");
    let shop = certificate_of(&report, "shop.example.com");
    let www = certificate_of(&report, "www.example.com");
    let messages = [
        attention(&legacy, "ACM Certificate Approaching Expiration"),
        attention(&shop, "ACM Certificate Renewal Action Required"),
        resolved(&www, &format!("certaudit/{}", www.arn)),
        export_again(&www),
    ];
    let text: Vec<String> = messages
        .iter()
        .map(|m| format!("Subject: {}\n\n{}", m.subject, m.body))
        .collect();
    insta::assert_snapshot!(text.join("\n----------------------------------------\n"));
}

#[test]
fn scheduled_scan_metric_line() {
    let finish = certaudit::event::Finish {
        completed: true,
        notifications_failed: 0,
    };
    let line = certaudit::event::metrics_line(&report(), finish);
    insta::assert_snapshot!(serde_json::to_string_pretty(&line).unwrap());
}
