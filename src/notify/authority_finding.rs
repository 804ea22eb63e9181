//! The finding for a Private CA that certificates depend on and that is expiring, expired or
//! not ACTIVE (SPEC §14): every certificate it issued stops renewing with it. Id
//! `certaudit/{ca_arn}`; archived when a later scan reads the CA's account-region and the CA
//! no longer qualifies.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Recommendation, Remediation, Resource, ResourceDetails, Severity,
    SeverityLabel,
};
use chrono::SecondsFormat;

use super::finding::{clip, envelope, ImportScope};
use crate::report::{printable, CertificateAuthority};

pub fn finding_id(ca_arn: &str) -> String {
    super::security_hub::finding_id(ca_arn)
}

/// As a certificate's, by the days left; a CA that is not ACTIVE is at least High: nothing
/// issues or renews under it now.
pub fn severity(ca: &CertificateAuthority) -> SeverityLabel {
    match ca.days_to_expiry {
        _ if ca.expired => SeverityLabel::Critical,
        Some(d) if d <= 7 => SeverityLabel::Critical,
        _ if !ca.is_active() => SeverityLabel::High,
        Some(d) if d <= 15 => SeverityLabel::High,
        Some(d) if d <= 30 => SeverityLabel::Medium,
        _ => SeverityLabel::Low,
    }
}

/// The ASFF finding for one CA that needs attention.
pub fn finding(
    ca: &CertificateAuthority,
    scope: &ImportScope,
    created_at: Option<&str>,
) -> AwsSecurityFinding {
    let name = ca.subject.as_deref().unwrap_or("(no subject)");
    let title = format!("Private CA {name}: {}", ca.why());
    let description = format!(
        "{} CA {}, account {}, region {}, status {}, not after {}. Every ACM certificate it \
         issued fails to renew while it is not ACTIVE, and from the day it would have to outlive \
         the CA.",
        ca.ca_type.as_deref().unwrap_or("unknown type"),
        ca.arn,
        ca.account_label(),
        ca.region,
        ca.status.as_deref().unwrap_or("unknown"),
        ca.not_after
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_else(|| "unknown".into()),
    );
    let recommendation = match ca.is_active() {
        true => {
            "Renew the CA's certificate (or create a successor CA) before it expires, then \
                 reissue the certificates that depend on it"
        }
        false => {
            "Restore the CA to ACTIVE, or reissue the certificates that depend on it under \
                  an ACTIVE CA"
        }
    };
    let mut details = ResourceDetails::builder()
        .other("AccountId", ca.account_id.to_string())
        .other("Source", "pca")
        .other(
            "IssuedCertificates",
            ca.issued_certificates
                .map_or("not read".into(), |n| n.to_string()),
        );
    if let Some(name) = &ca.account_name {
        details = details.other("AccountName", name.to_string());
    }
    if let Some(status) = &ca.status {
        details = details.other("Status", status.to_string());
    }
    let resource = Resource::builder()
        .r#type("Other")
        .id(super::security_hub::resource_id(&ca.arn))
        .region(ca.region.to_string())
        .details(details.build())
        .build();
    let mut builder = envelope(finding_id(&ca.arn), scope, created_at)
        .severity(Severity::builder().label(severity(ca)).build())
        .title(clip(printable(&title).into_owned(), 256))
        .description(clip(printable(&description).into_owned(), 1024))
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(recommendation)
                        .url(ca.console_url())
                        .build(),
                )
                .build(),
        )
        .resources(resource)
        .product_fields("certaudit/AccountId", ca.account_id.to_string())
        .product_fields("certaudit/Region", ca.region.to_string())
        .product_fields("certaudit/Source", "pca");
    if let Some(d) = ca.days_to_expiry {
        builder = builder.product_fields("certaudit/DaysToExpiry", d.to_string());
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn ca(status: &str, days: i64) -> CertificateAuthority {
        let now = Utc::now();
        let mut ca = CertificateAuthority::new(
            "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/1",
            "111111111111",
            None,
            "eu-west-1",
        );
        ca.status = Some(status.into());
        ca.not_after = Some(now + Duration::days(days) + Duration::hours(1));
        ca.issued_certificates = Some(1);
        ca.subject = Some("CN=Issuing\u{202E}CA\r\nFAKE".into());
        ca.classify(now, 45);
        ca
    }

    #[test]
    fn severity_follows_days_left_and_an_inactive_ca_is_at_least_high() {
        assert_eq!(severity(&ca("ACTIVE", 3)), SeverityLabel::Critical);
        assert_eq!(severity(&ca("ACTIVE", 20)), SeverityLabel::Medium);
        assert_eq!(severity(&ca("ACTIVE", 40)), SeverityLabel::Low);
        assert_eq!(severity(&ca("DISABLED", 400)), SeverityLabel::High);
        assert_eq!(severity(&ca("ACTIVE", -1)), SeverityLabel::Critical);
    }

    #[test]
    fn the_finding_names_the_ca_and_holds_no_control_or_bidi_character() {
        let scope = ImportScope {
            caller: "999999999999",
            partition: "aws",
            hub_region: "us-east-1",
            now: "2026-12-06T12:00:00Z".into(),
        };
        let f = finding(&ca("DISABLED", 400), &scope, None);
        assert_eq!(
            f.id(),
            Some("certaudit/arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/1")
        );
        let title = f.title().unwrap();
        assert!(
            title.contains("DISABLED while 1 certificate depends on it"),
            "{title}"
        );
        for text in [title, f.description().unwrap()] {
            assert!(
                !text.contains(['\r', '\n', '\u{202E}']),
                "a control or bidi character reached the finding: {text:?}"
            );
        }
        assert_eq!(f.resources()[0].region(), Some("eu-west-1"));
    }
}
