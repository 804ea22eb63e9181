//! The diff engine's rules, one scan pair per rule.

use chrono::{Duration, TimeZone};

use super::*;
use crate::report::classify::classify;
use crate::report::{ScanError, Stage, Tags};

const PROD: &str = "111111111111";
const DEV: &str = "222222222222";
const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";

fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap() + Duration::days(n)
}

/// A complete scan at `day(n)` of the given accounts, every one scanned in both regions.
fn scan(n: i64, accounts: &[&str]) -> Report {
    let mut report = Report::new(day(n), 45, PROD);
    for id in accounts {
        report.accounts.push(AccountOutcome {
            account_id: id.to_string(),
            account_name: Some(format!("name-{id}")),
            state: AccountState::Scanned,
            reason: None,
            regions: vec![EAST.into(), WEST.into()],
            regions_not_enabled: Vec::new(),
        });
    }
    report
}

fn arn(account: &str, region: &str, name: &str) -> String {
    format!("arn:aws:acm:{region}:{account}:certificate/{name}")
}

/// An ACM-issued certificate in use, expiring on `expires` (a day number).
fn add(report: &mut Report, account: &str, region: &str, name: &str, expires: i64) -> usize {
    let mut c = Certificate::new(&arn(account, region, name), account, None, region);
    c.domain_name = Some(format!("{name}.example.com"));
    c.cert_type = Some("AMAZON_ISSUED".into());
    c.status = Some("ISSUED".into());
    c.renewal_eligibility = Some("ELIGIBLE".into());
    c.serial = Some(format!("{name}-1"));
    c.not_after = Some(day(expires));
    c.in_use = Some(true);
    c.in_use_by = Some(vec!["arn:aws:elasticloadbalancing:lb/1".into()]);
    c.tags = Some(Tags::default());
    report.certificates.push(c);
    report.certificates.len() - 1
}

/// Classify every certificate as a scan at the report's time does.
fn done(mut report: Report) -> Report {
    let (at, days) = (report.generated_at, report.expiring_days);
    for c in &mut report.certificates {
        classify(c, at, days);
    }
    report
}

fn side(report: &Report) -> Side {
    Side {
        generated_at: report.generated_at,
        scan_id: None,
        source: "test".into(),
    }
}

fn compare(old: Report, new: Report) -> Diff {
    let (old, new) = (done(old), done(new));
    diff(&old, &new, side(&old), side(&new), 45)
}

/// Each change as (kind, the certificate's name or the account ID).
fn kinds(d: &Diff) -> Vec<(ChangeKind, String)> {
    d.changes
        .iter()
        .map(|c| {
            let what = c.arn.as_deref().map_or(c.account_id.clone(), |a| {
                a.rsplit('/').next().unwrap().to_string()
            });
            (c.kind, what)
        })
        .collect()
}

fn fail(report: &mut Report, account: &str, stage: Stage, region: Option<&str>) {
    report.errors.push(ScanError::new(
        stage,
        Some(account),
        region,
        "AccessDenied",
        "no",
    ));
}

#[test]
fn a_day_later_with_nothing_changed_is_no_change() {
    let mut old = scan(0, &[PROD]);
    add(&mut old, PROD, EAST, "www", 200);
    let mut new = scan(1, &[PROD]);
    add(&mut new, PROD, EAST, "www", 200);
    let d = compare(old, new);
    assert_eq!(kinds(&d), vec![]);
    assert_eq!((d.scope.compared, d.is_incomplete()), (2, false));
    assert_eq!(
        d.summary.len(),
        ChangeKind::ALL.len(),
        "every kind has a count"
    );
}

#[test]
fn added_and_removed_where_both_scans_read_the_region() {
    let mut old = scan(0, &[PROD]);
    add(&mut old, PROD, EAST, "gone", 200);
    let mut new = scan(1, &[PROD]);
    add(&mut new, PROD, WEST, "fresh", 200);
    let d = compare(old, new);
    assert_eq!(
        kinds(&d),
        vec![
            (ChangeKind::Added, "fresh".into()),
            (ChangeKind::Removed, "gone".into())
        ],
        "in account, region (eu-west-1 first), ARN order"
    );
    assert_eq!(
        (d.count(ChangeKind::Added), d.count(ChangeKind::Removed)),
        (1, 1)
    );
}

#[test]
fn a_denied_role_never_reads_as_its_certificates_removed() {
    let mut old = scan(0, &[PROD, DEV]);
    add(&mut old, DEV, EAST, "a", 200);
    add(&mut old, DEV, WEST, "b", 200);
    let mut new = scan(1, &[PROD, DEV]);
    let dev = &mut new.accounts[1];
    dev.state = AccountState::Failed;
    dev.reason = Some("AssumeRole denied".into());
    dev.regions.clear();
    fail(&mut new, DEV, Stage::AssumeRole, None);
    let d = compare(old, new);
    assert_eq!(kinds(&d), vec![(ChangeKind::AccountFailed, DEV.into())]);
    let not: Vec<_> = d
        .scope
        .not_compared
        .iter()
        .map(|n| (n.account_id.as_str(), n.region.as_deref()))
        .collect();
    assert_eq!(not, vec![(DEV, Some(EAST)), (DEV, Some(WEST))]);
    assert!(d.scope.not_compared[0]
        .reason
        .contains("later scan: account failed: AssumeRole denied"));
    assert_eq!(
        d.scope.compared, 2,
        "the other account's regions still compare"
    );
    assert!(d.is_incomplete());
}

#[test]
fn a_region_that_failed_is_not_compared_and_the_others_are() {
    let mut old = scan(0, &[PROD]);
    add(&mut old, PROD, EAST, "east", 200);
    add(&mut old, PROD, WEST, "west", 200);
    let mut new = scan(1, &[PROD]);
    fail(&mut new, PROD, Stage::ListCertificates, Some(WEST));
    let d = compare(old, new);
    assert_eq!(kinds(&d), vec![(ChangeKind::Removed, "east".into())]);
    assert_eq!(d.scope.not_compared.len(), 1);
    assert_eq!(d.scope.not_compared[0].region.as_deref(), Some(WEST));
    assert_eq!(
        d.scope.not_compared[0].reason,
        "later scan: list_certificates AccessDenied"
    );
}

#[test]
fn renewed_and_reimported_are_told_apart_and_not_repeated_as_changed() {
    let mut old = scan(0, &[PROD]);
    add(&mut old, PROD, EAST, "acm", 30);
    let i = add(&mut old, PROD, EAST, "imp", 30);
    old.certificates[i].cert_type = Some("IMPORTED".into());
    let mut new = scan(1, &[PROD]);
    let a = add(&mut new, PROD, EAST, "acm", 400);
    new.certificates[a].serial = Some("acm-2".into());
    let i = add(&mut new, PROD, EAST, "imp", 400);
    new.certificates[i].cert_type = Some("IMPORTED".into());
    new.certificates[i].serial = Some("imp-2".into());
    let d = compare(old, new);
    assert_eq!(
        kinds(&d),
        vec![
            (ChangeKind::Renewed, "acm".into()),
            (ChangeKind::Reimported, "imp".into())
        ]
    );
    let renewed = &d.changes[0];
    assert_eq!(renewed.field.as_deref(), Some("not_after"));
    assert_eq!(renewed.after, serde_json::json!("2027-12-06T06:00:00Z"));
    assert_eq!(d.changes[1].before, serde_json::json!("imp-1"));
}

#[test]
fn thresholds_are_crossed_once() {
    let mut old = scan(0, &[PROD]);
    add(&mut old, PROD, EAST, "crosses", 46);
    add(&mut old, PROD, EAST, "already", 20);
    add(&mut old, PROD, EAST, "lapses", 1);
    let mut new = scan(2, &[PROD]);
    add(&mut new, PROD, EAST, "crosses", 46);
    add(&mut new, PROD, EAST, "already", 20);
    add(&mut new, PROD, EAST, "lapses", 1);
    let d = compare(old, new);
    assert_eq!(
        kinds(&d),
        vec![
            (ChangeKind::BecameExpiring, "crosses".into()),
            (ChangeKind::BecameExpired, "lapses".into())
        ]
    );
    assert_eq!(
        (d.changes[0].before.clone(), d.changes[0].after.clone()),
        (46.into(), 44.into())
    );
}

#[test]
fn renewal_trouble_use_and_other_fields() {
    let mut old = scan(0, &[PROD]);
    for name in ["stuck", "unused", "tagged", "unread"] {
        add(&mut old, PROD, EAST, name, 200);
    }
    let mut new = scan(1, &[PROD]);
    let stuck = add(&mut new, PROD, EAST, "stuck", 200);
    new.certificates[stuck].renewal_status = Some("FAILED".into());
    let unused = add(&mut new, PROD, EAST, "unused", 200);
    new.certificates[unused].in_use_by = Some(Vec::new());
    new.certificates[unused].renewal_eligibility = Some("INELIGIBLE".into());
    let tagged = add(&mut new, PROD, EAST, "tagged", 200);
    let mut tags = Tags::default();
    tags.insert("owner".into(), "web".into());
    new.certificates[tagged].tags = Some(tags);
    let unread = add(&mut new, PROD, EAST, "unread", 200);
    new.certificates[unread].tags = None;
    new.certificates[unread].in_use_by = None;
    let d = compare(old, new);
    assert_eq!(
        kinds(&d),
        vec![
            (ChangeKind::RenewalFailed, "stuck".into()),
            (ChangeKind::WillNotRenew, "stuck".into()),
            (ChangeKind::Changed, "tagged".into()),
            (ChangeKind::WillNotRenew, "unused".into()),
            (ChangeKind::InUseChanged, "unused".into()),
            (ChangeKind::Changed, "unused".into()),
        ],
        "tags and use that were not read are not changes"
    );
    let fields: Vec<_> = d
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Changed)
        .map(|c| c.field.clone().unwrap())
        .collect();
    assert_eq!(fields, vec!["tags", "renewal_eligibility"]);
    assert_eq!(d.changes[2].detail(), r#"tags {} → {"owner":"web"}"#);
}

#[test]
fn accounts_added_removed_and_a_broken_listing() {
    let mut old = scan(0, &[PROD]);
    add(&mut old, PROD, EAST, "old", 200);
    let mut new = scan(1, &[DEV]);
    add(&mut new, DEV, EAST, "new", 200);
    let d = compare(old.clone(), new.clone());
    assert_eq!(
        kinds(&d),
        vec![
            (ChangeKind::AccountRemoved, PROD.into()),
            (ChangeKind::AccountAdded, DEV.into()),
            (ChangeKind::Added, "new".into())
        ]
    );
    assert_eq!(
        d.scope.not_compared.len(),
        2,
        "the removed account's certificates are unknown"
    );
    assert_eq!(
        d.scope.not_compared[0].reason,
        "account not in the later scan"
    );

    new.errors.push(ScanError::new(
        Stage::Organizations,
        None,
        None,
        "Throttling",
        "broke",
    ));
    let d = compare(old, new);
    assert!(!kinds(&d).contains(&(ChangeKind::AccountRemoved, PROD.into())));
    assert!(d.scope.not_compared[0]
        .reason
        .contains("organization listing broke"));
}

#[test]
fn a_recovered_account_is_told_and_its_certificates_are_not_all_new() {
    let mut old = scan(0, &[PROD]);
    old.accounts[0].state = AccountState::Failed;
    old.accounts[0].regions.clear();
    fail(&mut old, PROD, Stage::AssumeRole, None);
    let mut new = scan(1, &[PROD]);
    add(&mut new, PROD, EAST, "www", 200);
    let d = compare(old, new);
    assert_eq!(kinds(&d), vec![(ChangeKind::AccountRecovered, PROD.into())]);
    assert_eq!(d.scope.not_compared[0].region, None);
    assert_eq!(d.changes[0].detail(), "scanned");
}

#[test]
fn a_region_first_scanned_now_has_its_certificates_added() {
    let mut old = scan(0, &[PROD]);
    old.accounts[0].regions = vec![EAST.into()];
    let mut new = scan(1, &[PROD]);
    add(&mut new, PROD, WEST, "www", 200);
    let d = compare(old, new);
    assert_eq!(kinds(&d), vec![(ChangeKind::Added, "www".into())]);
    assert!(!d.is_incomplete());
}

#[test]
fn the_threshold_is_the_diffs_not_each_scans() {
    let mut old = scan(0, &[PROD]);
    old.expiring_days = 10;
    add(&mut old, PROD, EAST, "www", 30);
    let mut new = scan(1, &[PROD]);
    add(&mut new, PROD, EAST, "www", 30);
    let (old, new) = (done(old), done(new));
    let d = diff(&old, &new, side(&old), side(&new), 45);
    assert!(
        kinds(&d).is_empty(),
        "expiring by 45 days in both: {:?}",
        kinds(&d)
    );
}

#[test]
fn an_account_skipped_in_both_scans_is_not_a_gap_and_one_skipped_before_adds() {
    let skipped = |report: &mut Report| {
        let dev = report
            .accounts
            .iter_mut()
            .find(|a| a.account_id == DEV)
            .unwrap();
        dev.state = AccountState::Skipped;
        dev.reason = Some("account state is SUSPENDED".into());
        dev.regions.clear();
    };
    let mut old = scan(0, &[PROD, DEV]);
    skipped(&mut old);
    let mut new = scan(1, &[PROD, DEV]);
    skipped(&mut new);
    let d = compare(old.clone(), new);
    assert!(!d.is_incomplete(), "{:?}", d.scope.not_compared);
    assert!(kinds(&d).is_empty());

    let mut back = scan(1, &[PROD, DEV]);
    add(&mut back, DEV, EAST, "www", 200);
    let d = compare(old, back);
    assert_eq!(
        kinds(&d),
        vec![
            (ChangeKind::Changed, DEV.into()),
            (ChangeKind::Added, "www".into())
        ]
    );
    assert_eq!(d.changes[0].detail(), "state skipped → scanned");
}

#[test]
fn what_only_a_description_reads_is_not_compared_with_a_summary_scan() {
    let mut old = scan(0, &[PROD]);
    let c = add(&mut old, PROD, EAST, "www", 200);
    old.certificates[c].in_use_by = None;
    old.certificates[c].serial = None;
    old.certificates[c].tags = None;
    let mut new = scan(1, &[PROD]);
    let c = add(&mut new, PROD, EAST, "www", 200);
    new.certificates[c].issuer = Some("Amazon RSA 2048 M03".into());
    new.certificates[c].renewal_status = Some("FAILED".into());
    let d = compare(old, new);
    assert_eq!(
        kinds(&d),
        vec![],
        "issuer, serial, renewal status unknown before: no change, no renewal_failed, and \
         no will_not_renew derived from the renewal status only one scan read"
    );
}

/// A certificate in a summary scan (what only DescribeCertificate reads left null).
fn listed_only(report: &mut Report, name: &str) -> usize {
    let c = add(report, PROD, EAST, name, 200);
    let listed = &mut report.certificates[c];
    (listed.in_use_by, listed.serial, listed.tags) = (None, None, None);
    c
}

#[test]
fn a_summary_scan_then_a_full_one_never_reads_as_newly_will_not_renew() {
    let mut old = scan(0, &[PROD]);
    listed_only(&mut old, "stuck");
    let mut new = scan(1, &[PROD]);
    let c = add(&mut new, PROD, EAST, "stuck", 200);
    new.certificates[c].renewal_status = Some("FAILED".into());
    let d = compare(old, new.clone());
    assert_eq!(d.count(ChangeKind::WillNotRenew), 0, "{:?}", kinds(&d));

    // Two full scans read the renewal status both times: the failure is news.
    let mut full = scan(0, &[PROD]);
    add(&mut full, PROD, EAST, "stuck", 200);
    let d = compare(full, new);
    assert_eq!(d.count(ChangeKind::WillNotRenew), 1, "{:?}", kinds(&d));

    // Two summary scans read the same fields: eligibility lost is news there too.
    let (mut old, mut new) = (scan(0, &[PROD]), scan(1, &[PROD]));
    listed_only(&mut old, "www");
    let c = listed_only(&mut new, "www");
    new.certificates[c].renewal_eligibility = Some("INELIGIBLE".into());
    let d = compare(old, new);
    assert_eq!(d.count(ChangeKind::WillNotRenew), 1, "{:?}", kinds(&d));
}

/// The same scan limited to some accounts or regions.
fn scoped(mut report: Report, accounts: Option<&[&str]>, regions: Option<&[&str]>) -> Report {
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    report.scope = Some(crate::report::ScanScope {
        accounts: accounts.map(set),
        regions: regions.map(set),
        ..Default::default()
    });
    report
}

#[test]
fn a_narrower_scan_between_two_whole_ones_is_never_mass_removed_or_added() {
    let whole = |n| {
        let mut r = scan(n, &[PROD, DEV]);
        add(&mut r, PROD, EAST, "prod", 200);
        add(&mut r, DEV, WEST, "dev", 200);
        scoped(r, None, None)
    };
    let mut narrow = scan(1, &[PROD]);
    add(&mut narrow, PROD, EAST, "prod", 200);
    let narrow = scoped(narrow, Some(&[PROD]), None);

    let d = compare(whole(0), narrow.clone());
    assert_eq!(kinds(&d), vec![], "no account_removed, no removed");
    let not_compared: Vec<_> = d
        .scope
        .not_compared
        .iter()
        .map(|n| n.account_id.as_str())
        .collect();
    assert_eq!(not_compared, vec![DEV, DEV]);
    assert_eq!(
        d.scope.not_compared[0].reason,
        "outside the later scan's scope"
    );

    let d = compare(narrow, whole(2));
    assert_eq!(kinds(&d), vec![], "no account_added, no added");
    assert_eq!(d.scope.not_compared.len(), 2, "{:?}", d.scope.not_compared);
    assert_eq!(
        d.scope.not_compared[0].reason,
        "outside the earlier scan's scope"
    );
    assert_eq!(d.scope.compared, 2, "prod's two regions");

    // Both whole: an account new to the organization is news, and so are its certificates.
    let mut before = scan(0, &[PROD]);
    add(&mut before, PROD, EAST, "prod", 200);
    let d = compare(scoped(before, None, None), whole(1));
    assert_eq!(
        kinds(&d),
        vec![
            (ChangeKind::AccountAdded, DEV.into()),
            (ChangeKind::Added, "dev".into())
        ]
    );
}

#[test]
fn a_region_only_one_scan_chose_is_not_compared_either_way() {
    let mut one = scan(0, &[PROD]);
    one.accounts[0].regions = vec![EAST.into()];
    add(&mut one, PROD, EAST, "east", 200);
    let one = scoped(one, None, Some(&[EAST]));
    let mut both = scan(1, &[PROD]);
    add(&mut both, PROD, EAST, "east", 200);
    add(&mut both, PROD, WEST, "west", 200);
    let both = scoped(both, None, None);
    let d = compare(one.clone(), both.clone());
    assert_eq!(
        kinds(&d),
        vec![],
        "west is not new: the earlier scan did not look"
    );
    assert_eq!(
        d.scope.not_compared[0].reason,
        "earlier scan: region outside its scope (--regions)"
    );
    let d = compare(both, one);
    assert_eq!(kinds(&d), vec![]);
    assert_eq!(
        d.scope.not_compared[0].reason,
        "later scan: region outside its scope (--regions)"
    );
}

#[test]
fn an_account_a_ctrl_c_cut_short_is_neither_failed_nor_recovered() {
    let whole = |n| {
        let mut report = scan(n, &[PROD]);
        add(&mut report, PROD, EAST, "www", 200);
        report
    };
    let mut cut = scan(1, &[PROD]);
    cut.accounts[0].state = AccountState::Failed;
    cut.accounts[0].reason = Some(crate::report::UNFINISHED.into());
    cut.accounts[0].regions.clear();
    cut.errors
        .push(ScanError::interrupted("SIGINT stopped the scan"));
    let d = compare(whole(0), cut.clone());
    assert_eq!(kinds(&d), vec![], "{:?}", d.changes);
    assert!(d.is_incomplete(), "its regions are not compared");
    let d = compare(cut, whole(2));
    assert_eq!(kinds(&d), vec![], "{:?}", d.changes);
}

#[test]
fn a_renewal_risk_found_and_resolved_are_news_and_unknown_resolves_nothing() {
    use crate::renewal::{CheckStatus, RenewalCheck, Risk, RiskKind};
    let check = |status: CheckStatus| RenewalCheck {
        status,
        risks: match status {
            CheckStatus::AtRisk => vec![Risk {
                kind: RiskKind::ValidationRecordMissing,
                name: "_x.www.example.com.".into(),
                detail: "NXDOMAIN".into(),
            }],
            _ => vec![],
        },
        attempt_in_days: None,
    };
    let with = |n: i64, status: Option<CheckStatus>| {
        let mut report = scan(n, &[PROD]);
        let c = add(&mut report, PROD, EAST, "www", 200);
        report.certificates[c].renewal_check = status.map(check).map(Box::new);
        report
    };
    use CheckStatus::*;
    let d = compare(with(0, Some(Ok)), with(1, Some(AtRisk)));
    assert_eq!(d.count(ChangeKind::RenewalAtRisk), 1, "{:?}", kinds(&d));
    assert_eq!(
        d.count(ChangeKind::WillNotRenew),
        0,
        "one change, named for its cause: {:?}",
        kinds(&d)
    );
    let d = compare(with(0, Some(AtRisk)), with(1, Some(Ok)));
    assert_eq!(
        d.count(ChangeKind::RenewalRiskResolved),
        1,
        "{:?}",
        kinds(&d)
    );
    // A resolver that failed says nothing about the risk.
    let d = compare(with(0, Some(AtRisk)), with(1, Some(Unknown)));
    assert_eq!(
        d.count(ChangeKind::RenewalRiskResolved),
        0,
        "{:?}",
        kinds(&d)
    );
    // Unknown, then at risk: the risk is news.
    let d = compare(with(0, Some(Unknown)), with(1, Some(AtRisk)));
    assert_eq!(d.count(ChangeKind::RenewalAtRisk), 1, "{:?}", kinds(&d));
    // Not checked before (--no-renewal-check, an older report): no claim either way.
    let d = compare(with(0, None), with(1, Some(AtRisk)));
    assert_eq!(d.count(ChangeKind::RenewalAtRisk), 0, "{:?}", kinds(&d));
}

/// An IAM server certificate (SPEC §14), global, in `report`'s account.
fn add_server(report: &mut Report, account: &str, name: &str, id: &str, expires: i64) {
    let arn = format!("arn:aws:iam::{account}:server-certificate/{name}");
    let mut c = Certificate::new(&arn, account, None, "");
    c.source = crate::report::Source::Iam;
    c.cert_type = Some(crate::report::IAM_SERVER.into());
    c.not_after = Some(day(expires));
    c.server_certificate = Some(Box::new(crate::report::ServerCertificate {
        name: name.into(),
        path: "/".into(),
        id: id.into(),
        upload_date: None,
    }));
    report.certificates.push(c);
}

fn with_sources(mut report: Report, sources: &[&str]) -> Report {
    report.scope = Some(crate::report::ScanScope {
        sources: Some(sources.iter().map(|s| s.to_string()).collect()),
        ..crate::report::ScanScope::default()
    });
    report
}

#[test]
fn iam_server_certificates_compare_only_when_both_scans_read_iam() {
    let all = ["acm", "iam", "pca"];
    let with = |n: i64, sources: &[&str], servers: &[(&str, &str, i64)]| {
        let mut report = with_sources(scan(n, &[PROD]), sources);
        for (name, id, expires) in servers {
            add_server(&mut report, PROD, name, id, *expires);
        }
        report
    };
    // Added and gone, both read: real changes, global (null region), named.
    let d = compare(
        with(0, &all, &[("old", "ASCA1", 300)]),
        with(1, &all, &[("new", "ASCA2", 300)]),
    );
    assert_eq!(d.count(ChangeKind::Added), 1, "{:?}", kinds(&d));
    assert_eq!(d.count(ChangeKind::Removed), 1, "{:?}", kinds(&d));
    let added = d
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::Added)
        .unwrap();
    assert_eq!(added.region, None);
    assert_eq!(added.domain_name.as_deref(), Some("new"));
    // Uploaded again under its name: a new ID, re-imported by someone (never "renewed").
    let d = compare(
        with(0, &all, &[("cdn", "ASCA1", 10)]),
        with(1, &all, &[("cdn", "ASCA9", 400)]),
    );
    assert_eq!(d.count(ChangeKind::Reimported), 1, "{:?}", kinds(&d));
    assert_eq!(d.count(ChangeKind::Renewed), 0, "{:?}", kinds(&d));
    // The later scan did not read IAM (--sources acm): nothing removed, said why.
    let d = compare(
        with(0, &all, &[("cdn", "ASCA1", 300)]),
        with(1, &["acm"], &[]),
    );
    assert_eq!(d.count(ChangeKind::Removed), 0, "{:?}", kinds(&d));
    assert!(
        d.scope
            .not_compared
            .iter()
            .any(|n| n.reason.contains("IAM")),
        "{:?}",
        d.scope.not_compared
    );
    // An earlier report from before IAM was read: the first scan adds nothing.
    let mut old = scan(0, &[PROD]);
    old.scope = None;
    let d = compare(old, with(1, &all, &[("cdn", "ASCA1", 300)]));
    assert_eq!(d.count(ChangeKind::Added), 0, "{:?}", kinds(&d));
}
