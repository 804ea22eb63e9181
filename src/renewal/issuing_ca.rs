//! The issuing CA of PRIVATE ACM certificates (SPEC §14): ACM renews a private certificate by
//! asking its Private CA for a new one, with the same validity; that fails when the CA is not
//! ACTIVE, or when the CA itself would expire before the renewed certificate. Judged from the
//! scan's own `certificate_authorities`; a CA the scan did not read leaves the check `unknown`.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{CheckStatus, RenewalCheck, Risk, RiskKind};
use crate::report::{counted, Certificate, CertificateAuthority, Report, ScanError, Stage};

/// The code of the error for a CA the scan did not read.
pub const CA_NOT_READ: &str = "ca-not-read";
/// The code of the error for an ACTIVE CA whose listing gave no NotAfter.
pub const CA_EXPIRY_UNKNOWN: &str = "ca-expiry-unknown";

/// What the scan read, for the judgement.
#[derive(Debug, Clone, Copy)]
pub struct Judging {
    /// Judge PRIVATE certificates' renewals (the renewal check is on and CAs were listed).
    pub check: bool,
    /// Certificates were described, so each one's CA is known (`--detail full` with ACM):
    /// else what depends on a CA is unknown (null), never zero.
    pub dependents_known: bool,
    pub generated_at: DateTime<Utc>,
    pub expiring_days: i64,
}

/// A certificate's renewal against its CA.
enum Verdict {
    Ok,
    Risk(Risk),
    /// The CA was not read at all.
    NotRead,
    /// The CA was read but its expiry was not.
    ExpiryUnknown,
}

/// The account-regions whose CAs were listed completely.
pub type ReadCas = HashSet<(String, String)>;

/// Count what each CA issued, classify the CAs, and, when `check`, judge every ISSUED
/// PRIVATE certificate's renewal against its CA. Errors for CAs that could not be read are
/// added to the report, one per CA.
pub fn judge(report: &mut Report, read: &ReadCas, judging: Judging) {
    let Judging {
        check,
        dependents_known,
        generated_at,
        expiring_days,
    } = judging;
    let index: HashMap<&str, usize> = report
        .certificate_authorities
        .iter()
        .enumerate()
        .map(|(i, ca)| (ca.arn.as_str(), i))
        .collect();
    let mut issued = vec![0usize; report.certificate_authorities.len()];
    // (code, CA ARN) → (account, region) of the certificates that needed it, and how many.
    let mut not_read: BTreeMap<(&str, String), (String, String, usize)> = BTreeMap::new();
    for c in report.certificates.iter_mut() {
        let Some(ca_arn) = c.certificate_authority_arn.as_deref() else {
            continue;
        };
        let ca = index.get(ca_arn).map(|&i| {
            issued[i] += 1;
            &report.certificate_authorities[i]
        });
        if !check || !applies(c) {
            continue;
        }
        let (status, risks) = match verdict(c, ca_arn, ca, read) {
            Verdict::Ok => (CheckStatus::Ok, Vec::new()),
            Verdict::Risk(risk) => (CheckStatus::AtRisk, vec![risk]),
            unknown => {
                let code = match unknown {
                    Verdict::ExpiryUnknown => CA_EXPIRY_UNKNOWN,
                    _ => CA_NOT_READ,
                };
                let entry = not_read
                    .entry((code, ca_arn.to_string()))
                    .or_insert_with(|| (c.account_id.to_string(), c.region.to_string(), 0));
                entry.2 += 1;
                (CheckStatus::Unknown, Vec::new())
            }
        };
        c.renewal_check = Some(Box::new(RenewalCheck {
            status,
            risks,
            attempt_in_days: None,
        }));
    }
    for (ca, count) in report.certificate_authorities.iter_mut().zip(issued) {
        ca.issued_certificates = dependents_known.then_some(count);
        ca.classify(generated_at, expiring_days);
    }
    for ((code, ca_arn), (account, region, count)) in not_read {
        let certificates = counted(count, "certificate");
        let message = match code {
            CA_EXPIRY_UNKNOWN => format!(
                "{ca_arn} issued {certificates} here, but its listing gave no NotAfter: \
                 whether it outlives their renewal is unknown"
            ),
            _ => format!(
                "{ca_arn} issued {certificates} here, but this scan did not read that CA ({}): \
                 their renewal check is unknown; scan the CA's account and region with the \
                 `pca` source to judge it",
                where_from(&ca_arn, read)
            ),
        };
        report.errors.push(ScanError::new(
            Stage::ListCertificateAuthorities,
            Some(&account),
            Some(&region),
            code,
            message,
        ));
    }
}

/// Whether the certificate is one ACM renews through its Private CA: PRIVATE and in service.
fn applies(c: &Certificate) -> bool {
    c.cert_type.as_deref() == Some("PRIVATE") && c.status.as_deref() == Some("ISSUED")
}

fn verdict(
    c: &Certificate,
    ca_arn: &str,
    ca: Option<&CertificateAuthority>,
    read: &ReadCas,
) -> Verdict {
    let risk = |kind, detail: String| {
        Verdict::Risk(Risk {
            kind,
            name: ca_arn.to_string(),
            detail,
        })
    };
    let Some(ca) = ca else {
        // Listed completely and not there: the CA is gone (deleted past its restore period).
        return match arn_place(ca_arn).is_some_and(|place| read.contains(&place)) {
            true => risk(
                RiskKind::IssuingCaNotActive,
                "no longer exists: its account and region list no such CA".into(),
            ),
            false => Verdict::NotRead,
        };
    };
    if !ca.is_active() {
        let status = ca.status.as_deref().unwrap_or("in an unknown status");
        return risk(RiskKind::IssuingCaNotActive, format!("is {status}"));
    }
    let Some(ca_after) = ca.not_after else {
        return Verdict::ExpiryUnknown;
    };
    let (Some(before), Some(after)) = (c.not_before, c.not_after) else {
        return Verdict::Ok;
    };
    // ACM renews with the certificate's current validity, from the renewal onwards; the
    // earliest that renewal ends is its NotAfter plus that validity.
    let renewed_until = after + (after - before);
    if ca_after < renewed_until {
        return risk(
            RiskKind::IssuingCaExpiresFirst,
            format!(
                "expires {}, before the renewed certificate would ({})",
                ca_after.format("%Y-%m-%d"),
                renewed_until.format("%Y-%m-%d")
            ),
        );
    }
    Verdict::Ok
}

/// The (account, region) a CA's ARN names: arn:partition:acm-pca:REGION:ACCOUNT:….
fn arn_place(arn: &str) -> Option<(String, String)> {
    let mut parts = arn.split(':');
    let (region, account) = (parts.nth(3)?, parts.next()?);
    Some((account.to_string(), region.to_string()))
}

fn where_from(ca_arn: &str, read: &ReadCas) -> String {
    match arn_place(ca_arn) {
        Some((account, _)) if !read.iter().any(|(a, _)| *a == account) => format!(
            "account {account} was not scanned or its CAs could not be listed; a CA shared \
             through RAM is listed only in its owner's account"
        ),
        Some((account, region)) => {
            format!("the CAs of account {account} in {region} could not be listed")
        }
        None => "its ARN names no account and region".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap()
    }

    const CA: &str = "arn:aws:acm-pca:us-east-1:111111111111:certificate-authority/sub";

    fn authority(status: &str, days: i64) -> CertificateAuthority {
        let mut ca = CertificateAuthority::new(CA, "111111111111", None, "us-east-1");
        ca.status = Some(status.into());
        ca.not_after = Some(now() + Duration::days(days));
        ca
    }

    /// A PRIVATE certificate valid for `valid` days, `left` of them left.
    fn private(arn: &str, ca: &str, left: i64, valid: i64) -> Certificate {
        let mut c = Certificate::new(arn, "222222222222", None, "eu-west-1");
        c.cert_type = Some("PRIVATE".into());
        c.status = Some("ISSUED".into());
        c.not_after = Some(now() + Duration::days(left));
        c.not_before = c.not_after.map(|t| t - Duration::days(valid));
        c.certificate_authority_arn = Some(ca.into());
        c
    }

    fn report(cas: Vec<CertificateAuthority>, certs: Vec<Certificate>) -> Report {
        let mut r = Report::new(now(), 45, "999999999999");
        r.certificate_authorities = cas;
        r.certificates = certs;
        r
    }

    fn judging(check: bool) -> Judging {
        Judging {
            check,
            dependents_known: true,
            generated_at: now(),
            expiring_days: 45,
        }
    }

    fn read() -> ReadCas {
        [("111111111111".to_string(), "us-east-1".to_string())].into()
    }

    fn status(r: &Report, i: usize) -> (CheckStatus, Vec<RiskKind>) {
        let check = r.certificates[i].renewal_check.as_ref().expect("checked");
        (check.status, check.risks.iter().map(|r| r.kind).collect())
    }

    #[test]
    fn a_ca_expiring_before_the_renewal_would_end_is_a_risk() {
        // Renewed: 100 days left + 365 days of validity = until day 465; the CA ends at 300.
        let mut r = report(
            vec![authority("ACTIVE", 300)],
            vec![private("c1", CA, 100, 365), private("c2", CA, 10, 30)],
        );
        judge(&mut r, &read(), judging(true));
        assert_eq!(
            status(&r, 0),
            (CheckStatus::AtRisk, vec![RiskKind::IssuingCaExpiresFirst])
        );
        assert_eq!(
            status(&r, 1),
            (CheckStatus::Ok, vec![]),
            "renewed until day 40"
        );
        assert_eq!(r.certificate_authorities[0].issued_certificates, Some(2));
        assert!(
            !r.certificate_authorities[0].needs_attention,
            "300 days left, ACTIVE: the CA itself is no finding yet"
        );
        assert!(r.errors.is_empty());
    }

    #[test]
    fn a_disabled_or_vanished_ca_is_a_risk_and_an_unread_one_is_unknown() {
        let other = "arn:aws:acm-pca:us-east-1:333333333333:certificate-authority/shared";
        let gone = "arn:aws:acm-pca:us-east-1:111111111111:certificate-authority/gone";
        let mut r = report(
            vec![authority("DISABLED", 900)],
            vec![
                private("c1", CA, 100, 365),
                private("c2", other, 100, 365),
                private("c3", other, 50, 365),
                private("c4", gone, 100, 365),
            ],
        );
        judge(&mut r, &read(), judging(true));
        assert_eq!(
            status(&r, 0),
            (CheckStatus::AtRisk, vec![RiskKind::IssuingCaNotActive])
        );
        assert_eq!(status(&r, 1), (CheckStatus::Unknown, vec![]));
        assert_eq!(status(&r, 3).1, vec![RiskKind::IssuingCaNotActive]);
        assert!(
            r.certificate_authorities[0].needs_attention,
            "DISABLED, 1 depends"
        );
        assert_eq!(
            r.errors.len(),
            1,
            "one error per CA not read: {:?}",
            r.errors
        );
        let e = &r.errors[0];
        assert_eq!(
            (e.stage, e.code.as_str()),
            (Stage::ListCertificateAuthorities, CA_NOT_READ)
        );
        assert!(
            e.message.contains("2 certificates") && e.message.contains("RAM"),
            "{e:?}"
        );
    }

    #[test]
    fn an_active_ca_without_an_expiry_leaves_the_check_unknown() {
        let mut ca = authority("ACTIVE", 300);
        ca.not_after = None;
        let mut r = report(vec![ca], vec![private("c1", CA, 100, 365)]);
        judge(&mut r, &read(), judging(true));
        assert_eq!(status(&r, 0), (CheckStatus::Unknown, vec![]));
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].code, CA_EXPIRY_UNKNOWN);
    }

    #[test]
    fn dependents_not_read_are_null_and_flag_a_troubled_ca() {
        let mut r = report(vec![authority("DISABLED", 900)], vec![]);
        let unread = Judging {
            dependents_known: false,
            ..judging(false)
        };
        judge(&mut r, &read(), unread);
        assert_eq!(r.certificate_authorities[0].issued_certificates, None);
        assert!(r.certificate_authorities[0].needs_attention);
    }

    #[test]
    fn without_the_check_only_the_cas_are_judged() {
        let mut r = report(
            vec![authority("ACTIVE", 10)],
            vec![private("c1", CA, 100, 365)],
        );
        judge(&mut r, &read(), judging(false));
        assert!(r.certificates[0].renewal_check.is_none());
        assert!(
            r.certificate_authorities[0].needs_attention,
            "10 days left, 1 depends"
        );
        assert!(r.errors.is_empty());
    }
}
