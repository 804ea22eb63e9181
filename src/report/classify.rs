//! Classification: how many days a certificate has left, and whether it is
//! expiring, expired, imported, renewing by itself, or will not renew. Pure logic.

use chrono::{DateTime, Utc};

use super::{Certificate, Word};

/// Renewal states that mean a human must act.
const RENEWAL_NEEDS_ACTION: [&str; 2] = ["FAILED", "PENDING_VALIDATION"];

/// `floor((not_after - generated_at) / 86400 s)`: negative once expired.
pub fn days_to_expiry(not_after: DateTime<Utc>, generated_at: DateTime<Utc>) -> i64 {
    (not_after - generated_at).num_seconds().div_euclid(86_400)
}

/// Fill in every derived field of `cert` from its AWS facts.
pub fn classify(cert: &mut Certificate, generated_at: DateTime<Utc>, expiring_days: i64) {
    cert.days_to_expiry = cert.not_after.map(|t| days_to_expiry(t, generated_at));
    // Moves with the scan's time as days_to_expiry does (a stored scan recomputes it).
    if let Some(check) = cert.renewal_check.as_mut() {
        check.attempt_in_days = cert
            .days_to_expiry
            .map(|d| d - crate::renewal::RENEWAL_WINDOW_DAYS);
    }
    let is = |field: &Option<Word>, value: &str| field.as_deref() == Some(value);
    cert.expired = cert.days_to_expiry.is_some_and(|d| d < 0) || is(&cert.status, "EXPIRED");
    cert.expiring = cert.expired || cert.days_to_expiry.is_some_and(|d| d <= expiring_days);
    // IAM server certificates were uploaded, as imported ones are, and nothing renews them.
    cert.imported = is(&cert.cert_type, "IMPORTED") || is(&cert.cert_type, super::IAM_SERVER);
    cert.auto_renews = !cert.imported && is(&cert.renewal_eligibility, "ELIGIBLE");
    let renewal_stuck = cert
        .renewal_status
        .as_deref()
        .is_some_and(|s| RENEWAL_NEEDS_ACTION.contains(&s));
    // An ACM-managed certificate in service that is ineligible (not in use, not exported) or
    // whose renewal is stuck: ACM will let it lapse. Certificates that never issued are not
    // "renewing" at all, so they are not listed here.
    let in_service = is(&cert.status, "ISSUED");
    let acm_managed = cert.cert_type.is_some() && !cert.imported;
    let ineligible = is(&cert.renewal_eligibility, "INELIGIBLE");
    // The renewal check found what will make the next renewal fail (SPEC §13).
    let at_risk = cert.renewal_check.as_ref().is_some_and(|r| r.at_risk());
    cert.will_not_renew = acm_managed && in_service && (ineligible || renewal_stuck || at_risk);
    if renewal_stuck || at_risk {
        cert.auto_renews = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn cert(cert_type: &str, eligibility: &str, days: f64) -> Certificate {
        let mut c = Certificate::new("arn:x", "111111111111", None, "us-east-1");
        c.cert_type = Some(cert_type.into());
        c.status = Some("ISSUED".into());
        c.renewal_eligibility = Some(eligibility.into());
        c.not_after = Some(now() + Duration::seconds((days * 86_400.0) as i64));
        c
    }

    fn classified(mut c: Certificate) -> Certificate {
        classify(&mut c, now(), 45);
        c
    }

    #[test]
    fn days_to_expiry_floors_partial_days() {
        assert_eq!(days_to_expiry(now() + Duration::hours(47), now()), 1);
        assert_eq!(days_to_expiry(now() + Duration::hours(24), now()), 1);
        assert_eq!(days_to_expiry(now() + Duration::hours(23), now()), 0);
    }

    #[test]
    fn days_to_expiry_is_negative_once_expired() {
        assert_eq!(days_to_expiry(now() - Duration::hours(1), now()), -1);
        assert_eq!(days_to_expiry(now() - Duration::hours(25), now()), -2);
    }

    #[test]
    fn boundary_45_days_is_expiring_46_is_not() {
        let c45 = classified(cert("IMPORTED", "INELIGIBLE", 45.5));
        let c46 = classified(cert("IMPORTED", "INELIGIBLE", 46.5));
        assert_eq!((c45.days_to_expiry, c45.expiring), (Some(45), true));
        assert_eq!((c46.days_to_expiry, c46.expiring), (Some(46), false));
    }

    #[test]
    fn expired_certificates_count_as_expiring() {
        let c = classified(cert("IMPORTED", "INELIGIBLE", -2.0));
        assert!(c.expired && c.expiring);
        let mut by_status = cert("AMAZON_ISSUED", "ELIGIBLE", 100.0);
        by_status.status = Some("EXPIRED".into());
        let c = classified(by_status);
        assert!(c.expired && c.expiring);
    }

    #[test]
    fn imported_never_auto_renews_and_is_not_will_not_renew() {
        let c = classified(cert("IMPORTED", "INELIGIBLE", 100.0));
        assert!(c.imported && !c.auto_renews && !c.will_not_renew);
    }

    #[test]
    fn unused_acm_issued_certificate_will_not_renew() {
        let c = classified(cert("AMAZON_ISSUED", "INELIGIBLE", 100.0));
        assert!(!c.imported && !c.auto_renews && c.will_not_renew);
    }

    #[test]
    fn eligible_acm_issued_certificate_auto_renews() {
        let c = classified(cert("AMAZON_ISSUED", "ELIGIBLE", 100.0));
        assert!(c.auto_renews && !c.will_not_renew);
    }

    #[test]
    fn failed_renewal_will_not_renew_even_when_eligible() {
        let mut failed = cert("AMAZON_ISSUED", "ELIGIBLE", 20.0);
        failed.renewal_status = Some("FAILED".into());
        let c = classified(failed);
        assert!(c.will_not_renew && !c.auto_renews);
    }

    #[test]
    fn missing_not_after_is_null_days_and_not_expiring() {
        let mut c = cert("AMAZON_ISSUED", "INELIGIBLE", 1.0);
        c.not_after = None;
        c.status = Some("PENDING_VALIDATION".into());
        let c = classified(c);
        assert_eq!(c.days_to_expiry, None);
        assert!(!c.expiring && !c.expired && !c.will_not_renew);
    }
}
