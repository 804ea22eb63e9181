//! Who must act, how soon, and why — the words every rendering shares (the table, SNS, Security
//! Hub), so a certificate is never described two ways.

use super::{Certificate, Report};

/// How soon a certificate needs a human, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    Expired,
    Within7,
    Within15,
    Within30,
    /// Expiring (within `--expiring-days`) but more than 30 days left.
    Expiring,
    /// Not expiring yet, but will not renew (or renewal failed).
    Later,
}

impl Urgency {
    pub fn of(c: &Certificate) -> Urgency {
        match c.days_to_expiry {
            _ if c.expired => Urgency::Expired,
            Some(d) if d < 0 => Urgency::Expired,
            Some(d) if d <= 7 => Urgency::Within7,
            Some(d) if d <= 15 => Urgency::Within15,
            Some(d) if d <= 30 => Urgency::Within30,
            _ if c.expiring => Urgency::Expiring,
            _ => Urgency::Later,
        }
    }
}

/// A certificate someone must act on: expiring, expired, will not renew, or renewal failed.
pub fn needs_attention(c: &Certificate) -> bool {
    c.expiring || c.expired || c.will_not_renew || renewal_failed(c)
}

pub fn renewal_failed(c: &Certificate) -> bool {
    c.renewal_status.as_deref() == Some("FAILED")
}

/// The certificates that need attention, most urgent first (report order within a group).
pub fn attention(report: &Report) -> Vec<&Certificate> {
    let mut found: Vec<&Certificate> = report
        .certificates
        .iter()
        .filter(|c| needs_attention(c))
        .collect();
    found.sort_by_key(|c| Urgency::of(c));
    found
}

/// How long it has left, in words, with the report's own `days_to_expiry` (SPEC §7: a count
/// shown to people is never rounded a second way, so -5 is "EXPIRED (-5 days)", not "expired 4
/// days ago").
pub fn days_left(c: &Certificate) -> String {
    match c.days_to_expiry {
        Some(-1) => "EXPIRED (-1 day)".into(),
        Some(d) if d < 0 => format!("EXPIRED ({d} days)"),
        Some(d) if c.expired => format!("EXPIRED (status EXPIRED, {d} days left)"),
        Some(1) => "1 day left".into(),
        Some(d) => format!("{d} days left"),
        None => "expiry unknown".into(),
    }
}

/// Why an IAM server certificate is listed with the imported ones.
pub const IAM_NEVER_RENEWS: &str =
    "IAM server certificate: never renews; upload a new one and move its users, or move to ACM";

/// How to manage IAM server certificates: the IAM console has no page for them.
const IAM_SERVER_CERTIFICATES_GUIDE: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_server-certs.html";

/// Why it will not fix itself, in a few words; empty for an ACM certificate that is expiring
/// but will renew.
pub fn why(c: &Certificate) -> String {
    if c.is_iam() {
        IAM_NEVER_RENEWS.into()
    } else if c.imported {
        "imported: ACM never renews it, re-import a renewed certificate".into()
    } else if c.will_not_renew || renewal_failed(c) {
        renewal_problem(c)
    } else {
        String::new()
    }
}

/// Why an ACM-issued certificate will not renew: the one wording the table, SNS and Security
/// Hub share.
pub fn renewal_problem(c: &Certificate) -> String {
    if let Some(check) = c.renewal_check.as_ref().filter(|r| r.at_risk()) {
        return crate::renewal::why(check, c.not_after);
    }
    match (
        c.renewal_status.as_deref(),
        c.renewal_status_reason.as_deref(),
    ) {
        (Some("FAILED"), reason) => {
            format!("renewal failed: {}", reason.unwrap_or("no reason given"))
        }
        (Some(status), _) if status != "SUCCESS" => format!("renewal {status}: validation needed"),
        _ if c.in_use == Some(false) => "not in use, so ACM will not renew it".into(),
        _ => format!(
            "ACM will not renew it (renewal eligibility {})",
            c.renewal_eligibility.as_deref().unwrap_or("unknown")
        ),
    }
}

/// The ACM console page of a certificate, in its partition's console; for an IAM server
/// certificate, which no console page shows, IAM's guide to managing them.
pub fn console_url(c: &Certificate) -> String {
    if c.is_iam() {
        return IAM_SERVER_CERTIFICATES_GUIDE.into();
    }
    let partition = c.arn.split(':').nth(1).unwrap_or("aws");
    let host = match partition {
        "aws-cn" => "console.amazonaws.cn".to_string(),
        "aws-us-gov" => "console.amazonaws-us-gov.com".to_string(),
        _ => format!("{}.console.aws.amazon.com", c.region),
    };
    let id = c.arn.rsplit('/').next().unwrap_or(&c.arn);
    format!(
        "https://{host}/acm/home?region={}#/certificates/{id}",
        c.region
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn cert(days: i64) -> Certificate {
        let mut c = Certificate::new(
            "arn:aws:acm:eu-west-1:111111111111:certificate/0a1b2c3d",
            "111111111111",
            Some("prod-web"),
            "eu-west-1",
        );
        c.domain_name = Some("www.example.com".into());
        c.days_to_expiry = Some(days);
        c.expired = days < 0;
        c.expiring = days <= 45;
        c
    }

    #[test]
    fn urgency_groups_follow_the_severity_thresholds() {
        let groups: Vec<Urgency> = [-1, 0, 7, 8, 15, 16, 30, 31, 45]
            .into_iter()
            .map(|d| Urgency::of(&cert(d)))
            .collect();
        use Urgency::*;
        assert_eq!(
            groups,
            [
                Expired, Within7, Within7, Within15, Within15, Within30, Within30, Expiring,
                Expiring
            ]
        );
        let mut later = cert(200);
        later.will_not_renew = true;
        assert_eq!(Urgency::of(&later), Later);
        assert!(needs_attention(&later));
        assert!(!needs_attention(&cert(200)));
    }

    #[test]
    fn console_links_open_the_certificate_in_its_region_and_partition() {
        assert_eq!(
            console_url(&cert(3)),
            "https://eu-west-1.console.aws.amazon.com/acm/home?region=eu-west-1#/certificates/0a1b2c3d"
        );
        let mut gov = cert(3);
        gov.arn = "arn:aws-us-gov:acm:us-gov-west-1:111111111111:certificate/ff".into();
        gov.region = "us-gov-west-1".into();
        assert!(console_url(&gov).starts_with("https://console.amazonaws-us-gov.com/acm/"));
    }
}
