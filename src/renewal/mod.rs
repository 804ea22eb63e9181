//! Renewal readiness (SPEC §13): whether ACM's next renewal of a certificate it issued will
//! succeed, judged months ahead from what ACM will check then: the validation CNAMEs still
//! resolving to their values, the CAA records still allowing Amazon, a person approving the
//! validation e-mail, the HTTP validation redirect still in place.
//!
//! `facts` reads what DescribeCertificate says; `caa` is RFC 8659's decision, pure; `dns` asks
//! the resolver, each name once per scan; `http` asks for the redirect; `checker` puts them
//! together for a whole scan.

pub mod caa;
mod checker;
pub mod dns;
mod exchange;
pub mod facts;
mod http;
pub mod issuing_ca;

pub use checker::{Checker, Settings};
pub use facts::{Method, Validation, ValidationOption};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// ACM starts renewing this many days before a certificate expires.
pub const RENEWAL_WINDOW_DAYS: i64 = 60;

/// A certificate's `renewal_check`: null when not checked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RenewalCheck {
    pub status: CheckStatus,
    pub risks: Vec<Risk>,
    /// Days until ACM's first renewal attempt (negative once it has begun).
    pub attempt_in_days: Option<i64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Every check answered, and none found a risk.
    Ok,
    /// Some check found what will make ACM's renewal fail.
    AtRisk,
    /// Some lookup failed, and none that answered found a risk: neither fine nor at risk.
    Unknown,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::AtRisk => "at_risk",
            CheckStatus::Unknown => "unknown",
        }
    }
}

/// One thing that will make the renewal fail.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Risk {
    pub kind: RiskKind,
    /// The DNS name (or URL) the risk is at.
    pub name: String,
    /// What was found there.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum RiskKind {
    ValidationRecordMissing,
    ValidationRecordWrong,
    CaaForbidsAmazon,
    NeedsApproval,
    ValidationRedirectMissing,
    /// A PRIVATE certificate's CA expires before the renewed certificate would (SPEC §14).
    IssuingCaExpiresFirst,
    /// A PRIVATE certificate's CA is not ACTIVE, or no longer exists.
    IssuingCaNotActive,
}

impl RiskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskKind::ValidationRecordMissing => "validation-record-missing",
            RiskKind::ValidationRecordWrong => "validation-record-wrong",
            RiskKind::CaaForbidsAmazon => "caa-forbids-amazon",
            RiskKind::NeedsApproval => "needs-approval",
            RiskKind::ValidationRedirectMissing => "validation-redirect-missing",
            RiskKind::IssuingCaExpiresFirst => "issuing-ca-expires-first",
            RiskKind::IssuingCaNotActive => "issuing-ca-not-active",
        }
    }
}

impl RenewalCheck {
    pub fn at_risk(&self) -> bool {
        self.status == CheckStatus::AtRisk
    }

    /// A lookup (or the HTTP request) failed and nothing that answered found a risk.
    pub fn is_unknown(&self) -> bool {
        self.status == CheckStatus::Unknown
    }

    /// The day ACM starts trying to renew a certificate expiring at `not_after`.
    pub fn attempt_date(not_after: DateTime<Utc>) -> DateTime<Utc> {
        not_after - Duration::days(RENEWAL_WINDOW_DAYS)
    }
}

impl Risk {
    /// The risk in a few words: "validation CNAME _x.example.com. is missing".
    pub fn words(&self) -> String {
        match self.kind {
            RiskKind::ValidationRecordMissing => {
                format!(
                    "validation CNAME {} is missing ({})",
                    self.name, self.detail
                )
            }
            RiskKind::ValidationRecordWrong => {
                format!("validation CNAME {} {}", self.name, self.detail)
            }
            RiskKind::CaaForbidsAmazon => {
                format!("CAA forbids Amazon for {}: {}", self.name, self.detail)
            }
            RiskKind::NeedsApproval => format!(
                "{} is validated by e-mail: renewal waits for a person to approve it ({})",
                self.name, self.detail
            ),
            RiskKind::ValidationRedirectMissing => {
                format!("HTTP validation redirect {} {}", self.name, self.detail)
            }
            RiskKind::IssuingCaExpiresFirst | RiskKind::IssuingCaNotActive => {
                format!("issuing CA {} {}", self.name, self.detail)
            }
        }
    }
}

/// Why a certificate's renewal will fail, naming the record and the day ACM will try:
/// "validation CNAME _x.example.com. is missing (NXDOMAIN): ACM's renewal from 2027-01-14
/// will fail". Empty when it is not at risk.
pub fn why(check: &RenewalCheck, not_after: Option<DateTime<Utc>>) -> String {
    if !check.at_risk() {
        return String::new();
    }
    let mut risks: Vec<String> = check.risks.iter().map(Risk::words).collect();
    risks.dedup();
    let first = risks.first().cloned().unwrap_or_default();
    let more = match risks.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    match (not_after, check.attempt_in_days) {
        // The window has opened: ACM is trying now, and failing.
        (Some(t), Some(days)) if days <= 0 => format!(
            "{first}{more}: ACM's renewal, tried since {}, fails",
            RenewalCheck::attempt_date(t).format("%Y-%m-%d")
        ),
        (Some(t), _) => format!(
            "{first}{more}: ACM's renewal from {} will fail",
            RenewalCheck::attempt_date(t).format("%Y-%m-%d")
        ),
        (None, _) => format!("{first}{more}: ACM's renewal will fail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn why_names_the_record_and_the_day_acm_tries() {
        let check = RenewalCheck {
            status: CheckStatus::AtRisk,
            risks: vec![Risk {
                kind: RiskKind::ValidationRecordMissing,
                name: "_x.example.com.".into(),
                detail: "NXDOMAIN".into(),
            }],
            attempt_in_days: Some(40),
        };
        let not_after = Utc.with_ymd_and_hms(2027, 3, 15, 12, 0, 0).unwrap();
        assert_eq!(
            why(&check, Some(not_after)),
            "validation CNAME _x.example.com. is missing (NXDOMAIN): ACM's renewal from \
             2027-01-14 will fail"
        );
        let ok = RenewalCheck {
            status: CheckStatus::Ok,
            risks: vec![],
            attempt_in_days: Some(40),
        };
        assert_eq!(why(&ok, Some(not_after)), "");
        let begun = RenewalCheck {
            attempt_in_days: Some(-3),
            ..check
        };
        assert!(
            why(&begun, Some(not_after)).ends_with("ACM's renewal, tried since 2027-01-14, fails")
        );
    }

    #[test]
    fn risk_kinds_serialize_as_the_spec_names_them() {
        for kind in [
            RiskKind::ValidationRecordMissing,
            RiskKind::ValidationRecordWrong,
            RiskKind::CaaForbidsAmazon,
            RiskKind::NeedsApproval,
            RiskKind::ValidationRedirectMissing,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(
            serde_json::to_value(CheckStatus::AtRisk).unwrap(),
            serde_json::json!("at_risk")
        );
    }
}
