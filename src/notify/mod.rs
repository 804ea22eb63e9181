//! Notifications (SPEC §7): one SNS summary per scan, and consolidated Security Hub findings.
//! They run after the scan, from the finished report; a failure to notify becomes an error in
//! the report (exit 3), never a lost report.

pub mod security_hub;
pub mod sns;

use crate::access::Caller;
use crate::report::{Certificate, Report, ScanError, Stage};

/// Where to send what a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    pub sns_topic_arn: Option<String>,
    /// Publish even when nothing needs attention.
    pub always: bool,
    pub security_hub_region: Option<String>,
}

impl Notify {
    pub fn any(&self) -> bool {
        self.sns_topic_arn.is_some() || self.security_hub_region.is_some()
    }
}

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

/// How long it has left, in words. `days_to_expiry` is floored, so -1 means it expired within
/// the last day and -k that k-1 whole days have passed since.
pub fn days_left(c: &Certificate) -> String {
    match c.days_to_expiry {
        Some(d) if c.expired || d < 0 => match -d.min(0) - 1 {
            ..=0 => "EXPIRED within the last day".into(),
            1 => "EXPIRED 1 day ago".into(),
            ago => format!("EXPIRED {ago} days ago"),
        },
        Some(1) => "1 day left".into(),
        Some(d) => format!("{d} days left"),
        None => "expiry unknown".into(),
    }
}

/// Why it will not fix itself, in a few words; empty for an ACM certificate that is expiring
/// but eligible for renewal.
pub fn why(c: &Certificate) -> String {
    let mut reasons: Vec<String> = Vec::new();
    if c.imported {
        reasons.push("imported: ACM never renews it, re-import a renewed certificate".into());
    } else if renewal_failed(c) {
        let reason = c
            .renewal_status_reason
            .as_deref()
            .unwrap_or("no reason given");
        reasons.push(format!("renewal failed: {reason}"));
    } else if c.will_not_renew {
        match c.renewal_status.as_deref() {
            Some(status) if status != "SUCCESS" => {
                reasons.push(format!("renewal {status}: validation needed"))
            }
            _ if c.in_use == Some(false) => {
                reasons.push("not in use, so ACM will not renew it".into())
            }
            _ => reasons.push("ACM will not renew it".into()),
        }
    }
    reasons.join("; ")
}

/// The ACM console page of a certificate, in its partition's console.
pub fn console_url(c: &Certificate) -> String {
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

/// Send every notification asked for. Failures are added to the report's errors.
pub async fn send(notify: &Notify, caller: &Caller, report: &mut Report) {
    let mut errors: Vec<ScanError> = Vec::new();
    if let Some(topic) = &notify.sns_topic_arn {
        if let Err(failure) = sns::publish(caller, topic, report, notify.always).await {
            errors.push(ScanError {
                account_id: Some(caller.account_id.clone()),
                region: topic.split(':').nth(3).map(str::to_string),
                stage: Stage::Sns,
                code: failure.code,
                message: failure.message,
            });
        }
    }
    if let Some(region) = &notify.security_hub_region {
        errors.extend(security_hub::import(caller, region, report).await);
    }
    if !errors.is_empty() {
        report.add_errors(errors);
    }
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
