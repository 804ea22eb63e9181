//! What the benchmarks share: measuring a child process (`process.rs`), and a generated
//! organization for those that need a large report without a scan:
//! 100,000 certificates over 500 accounts × 3 regions with realistic fields (SANs, issuer,
//! serial, in-use-by, two tags).

#![allow(dead_code)]

pub mod process;

use chrono::{DateTime, Duration, TimeZone, Utc};

use certaudit::report::classify::classify;
use certaudit::report::{AccountOutcome, AccountState, Certificate, Report, Tags};

pub const ACCOUNTS: usize = 500;
pub const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).unwrap()
}

pub fn account_id(n: usize) -> String {
    format!("{:012}", 100_000_000_000 + n)
}

/// Certificate number `n`, in its `generation` (a renewal is a new generation).
pub fn certificate(n: usize, generation: u32, at: DateTime<Utc>) -> Certificate {
    let account = account_id(n % ACCOUNTS);
    let region = REGIONS[(n / ACCOUNTS) % REGIONS.len()];
    let arn = format!("arn:aws:acm:{region}:{account}:certificate/{n:08x}-5f0c-4b7e-9d2a-{n:012x}");
    let mut c = Certificate::new(&arn, &account, None, region);
    let domain = format!("svc{n}.team{}.example.com", n % 97);
    c.subject_alternative_names = vec![domain.clone(), format!("www.{domain}")];
    c.domain_name = Some(domain);
    let imported = n.is_multiple_of(5);
    c.cert_type = Some(
        if imported {
            "IMPORTED"
        } else {
            "AMAZON_ISSUED"
        }
        .into(),
    );
    c.status = Some("ISSUED".into());
    c.key_algorithm = Some("RSA_2048".into());
    c.key_pair_origin = Some(
        if imported {
            "CUSTOMER_PROVIDED"
        } else {
            "AWS_MANAGED"
        }
        .into(),
    );
    c.issuer = Some(
        if imported {
            "DigiCert Global G2 TLS RSA SHA256 2020 CA1"
        } else {
            "Amazon RSA 2048 M03"
        }
        .into(),
    );
    c.serial = Some(format!(
        "0a:{:02x}:{:08x}:{:02x}:9c:41:7e",
        generation % 256,
        n,
        n % 251
    ));
    let issued =
        at - Duration::days((n % 300) as i64) + Duration::days(395 * i64::from(generation));
    c.not_before = Some(issued);
    c.not_after = Some(issued + Duration::days(395));
    c.renewal_eligibility = Some(if imported { "INELIGIBLE" } else { "ELIGIBLE" }.into());
    c.in_use = Some(true);
    c.in_use_by = Some(vec![format!(
        "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/web-{n}/50dc6c495c0c9188"
    )]);
    let mut tags = Tags::default();
    tags.insert("team".into(), format!("team{}", n % 97));
    tags.insert("service".into(), format!("svc{n}"));
    c.tags = Some(tags);
    c
}

/// One day's scan: every account scanned in every region.
pub fn scan(day: usize, certificates: &[Certificate]) -> Report {
    let at = start() + Duration::days(day as i64);
    let mut report = Report::new(at, 45, account_id(0));
    report.accounts = (0..ACCOUNTS)
        .map(|a| AccountOutcome {
            account_id: account_id(a),
            account_name: Some(format!("account-{a}")),
            state: AccountState::Scanned,
            reason: None,
            regions: REGIONS.iter().map(|r| r.to_string()).collect(),
            regions_not_enabled: Vec::new(),
        })
        .collect();
    report.certificates = certificates.to_vec();
    for c in &mut report.certificates {
        c.account_name = Some(
            format!(
                "account-{}",
                c.account_id[9..].parse::<usize>().unwrap_or(0) % ACCOUNTS
            )
            .into(),
        );
        classify(c, at, 45);
    }
    report.sort();
    report.tally(60_000);
    report
}
