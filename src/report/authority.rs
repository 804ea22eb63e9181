//! AWS Private CAs (SPEC §14): what ListCertificateAuthorities says of each, how long it has
//! left, and whether it is a finding — expiring, expired or not ACTIVE while ACM certificates
//! in the inventory depend on it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::classify::days_to_expiry;
use super::{account_label, CompactString};

/// The status a CA issues certificates in.
pub const ACTIVE: &str = "ACTIVE";

/// One private CA, as the report shows it. Absent values are null, never omitted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CertificateAuthority {
    pub arn: String,
    pub account_id: CompactString,
    pub account_name: Option<CompactString>,
    pub region: CompactString,
    /// ROOT or SUBORDINATE.
    #[serde(rename = "type")]
    pub ca_type: Option<CompactString>,
    /// CREATING, PENDING_CERTIFICATE, ACTIVE, DELETED, DISABLED, EXPIRED or FAILED.
    pub status: Option<CompactString>,
    /// GENERAL_PURPOSE or SHORT_LIVED_CERTIFICATE.
    pub usage_mode: Option<CompactString>,
    /// The CA's subject as "CN=…, O=…"; null when its configuration has none.
    pub subject: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    /// Null until the CA has a certificate (PENDING_CERTIFICATE).
    pub not_after: Option<DateTime<Utc>>,
    pub days_to_expiry: Option<i64>,
    pub expiring: bool,
    pub expired: bool,
    /// ACM certificates in the inventory that this CA issued (their `certificate_authority_arn`);
    /// null when the scan did not read which (`--detail summary`, `--sources` without `acm`).
    #[serde(default)]
    pub issued_certificates: Option<usize>,
    /// Expiring, expired or not ACTIVE while certificates depend on it, or may (not read):
    /// someone must act.
    #[serde(default)]
    pub needs_attention: bool,
}

impl CertificateAuthority {
    pub fn new(arn: &str, account_id: &str, account_name: Option<&str>, region: &str) -> Self {
        CertificateAuthority {
            arn: arn.to_string(),
            account_id: account_id.into(),
            account_name: account_name.map(CompactString::from),
            region: region.into(),
            ca_type: None,
            status: None,
            usage_mode: None,
            subject: None,
            not_before: None,
            not_after: None,
            days_to_expiry: None,
            expiring: false,
            expired: false,
            issued_certificates: None,
            needs_attention: false,
        }
    }

    pub fn account_label(&self) -> String {
        account_label(&self.account_id, self.account_name.as_deref())
    }

    pub fn is_active(&self) -> bool {
        self.status.as_deref() == Some(ACTIVE)
    }

    /// Fill in the derived fields, as `classify` does for a certificate.
    pub fn classify(&mut self, generated_at: DateTime<Utc>, expiring_days: i64) {
        self.days_to_expiry = self.not_after.map(|t| days_to_expiry(t, generated_at));
        self.expired =
            self.days_to_expiry.is_some_and(|d| d < 0) || self.status.as_deref() == Some("EXPIRED");
        self.expiring = self.expired || self.days_to_expiry.is_some_and(|d| d <= expiring_days);
        let troubled = self.expiring || self.expired || !self.is_active();
        // Not knowing what depends on it is no all-clear.
        self.needs_attention = troubled && self.issued_certificates.is_none_or(|n| n > 0);
    }

    /// Why it needs attention, in a few words: "DISABLED while 2 certificates depend on it".
    /// Empty when it does not.
    pub fn why(&self) -> String {
        if !self.needs_attention {
            return String::new();
        }
        let state = if self.expired {
            "expired".to_string()
        } else if !self.is_active() {
            self.status
                .as_deref()
                .unwrap_or("status unknown")
                .to_string()
        } else {
            match self.days_to_expiry {
                Some(1) => "expires in 1 day".to_string(),
                Some(d) => format!("expires in {d} days"),
                None => "expiry unknown".to_string(),
            }
        };
        match self.issued_certificates {
            Some(1) => format!(
                "{state} while 1 certificate depends on it: ACM cannot issue or renew under it"
            ),
            Some(n) => format!(
                "{state} while {n} certificates depend on it: ACM cannot issue or renew under it"
            ),
            None => format!(
                "{state}; which certificates depend on it was not read (--detail summary, or \
                 --sources without acm): ACM cannot issue or renew under it"
            ),
        }
    }

    /// The CA's page in the ACM Private CA console, in its partition's console.
    pub fn console_url(&self) -> String {
        let partition = self.arn.split(':').nth(1).unwrap_or("aws");
        let host = match partition {
            "aws-cn" => "console.amazonaws.cn".to_string(),
            "aws-us-gov" => "console.amazonaws-us-gov.com".to_string(),
            _ => format!("{}.console.aws.amazon.com", self.region),
        };
        format!(
            "https://{host}/acm-pca/home?region={}#/details?arn={}",
            self.region, self.arn
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap()
    }

    fn ca(status: &str, days: i64, issued: usize) -> CertificateAuthority {
        let mut ca = CertificateAuthority::new(
            "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/1",
            "111111111111",
            Some("pki"),
            "eu-west-1",
        );
        ca.status = Some(status.into());
        ca.not_after = Some(now() + Duration::days(days) + Duration::hours(1));
        ca.issued_certificates = Some(issued);
        ca.classify(now(), 45);
        ca
    }

    #[test]
    fn a_ca_is_a_finding_only_while_certificates_depend_on_it() {
        assert!(ca("ACTIVE", 20, 1).needs_attention);
        assert!(
            !ca("ACTIVE", 20, 0).needs_attention,
            "nothing depends on it"
        );
        assert!(!ca("ACTIVE", 400, 3).needs_attention, "fine");
        assert!(ca("DISABLED", 400, 1).needs_attention);
        let expired = ca("ACTIVE", -2, 1);
        assert!(expired.expired && expired.expiring && expired.needs_attention);
        assert_eq!(expired.days_to_expiry, Some(-2));
    }

    #[test]
    fn why_names_the_state_and_what_depends_on_it() {
        assert_eq!(
            ca("ACTIVE", 20, 2).why(),
            "expires in 20 days while 2 certificates depend on it: ACM cannot issue or renew \
             under it"
        );
        assert!(ca("DISABLED", 400, 1)
            .why()
            .starts_with("DISABLED while 1 certificate depends on it"));
        assert!(ca("ACTIVE", -1, 1).why().starts_with("expired while"));
        assert_eq!(ca("ACTIVE", 400, 1).why(), "");
    }

    #[test]
    fn dependents_not_read_are_no_all_clear() {
        let mut unknown = ca("DISABLED", 400, 0);
        unknown.issued_certificates = None;
        unknown.classify(now(), 45);
        assert!(unknown.needs_attention, "it may be what breaks them");
        assert!(unknown.why().contains("was not read"), "{}", unknown.why());
        let mut fine = ca("ACTIVE", 400, 0);
        fine.issued_certificates = None;
        fine.classify(now(), 45);
        assert!(!fine.needs_attention);
    }
}
