//! What `doctor` found: one `Check` per account and step, each passed, failed or skipped, and
//! the `Diagnosis` that gathers them with their counts.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::accounts::AccountTarget;
use crate::regions::UNKNOWN_REGION;
use crate::report::Tool;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The account was not checked (suspended, excluded).
    Account,
    AssumeRole,
    /// The caller's own account: its own credentials, no role.
    CallerCredentials,
    DescribeRegions,
    /// A region asked for with `--regions` that the account has not enabled.
    Region,
    ListCertificates,
    /// IAM server certificates: once per account (IAM is global).
    ListServerCertificates,
    /// ACM Private CAs, per region.
    ListCertificateAuthorities,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Account => "account",
            CheckKind::AssumeRole => "assume_role",
            CheckKind::CallerCredentials => "caller_credentials",
            CheckKind::DescribeRegions => "describe_regions",
            CheckKind::Region => "region",
            CheckKind::ListCertificates => "list_certificates",
            CheckKind::ListServerCertificates => "list_server_certificates",
            CheckKind::ListCertificateAuthorities => "list_certificate_authorities",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Failed,
    Skipped,
    NotEnabled,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Failed => "FAILED",
            Verdict::Skipped => "skipped",
            Verdict::NotEnabled => "not enabled",
        }
    }
}

/// One thing tried in one account (and region).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub account_id: String,
    pub account_name: Option<String>,
    pub check: CheckKind,
    pub region: Option<String>,
    pub result: Verdict,
    /// The AWS error code of a failure.
    pub code: Option<String>,
    /// The AWS error message of a failure, or what was found.
    pub message: Option<String>,
    /// What to do about it.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DoctorSummary {
    pub accounts_targeted: usize,
    pub accounts_ok: usize,
    pub accounts_failed: usize,
    pub accounts_skipped: usize,
    pub checks: usize,
    pub checks_failed: usize,
}

/// Everything `doctor` found, in account order.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub tool: Tool,
    pub generated_at: DateTime<Utc>,
    pub caller_account_id: String,
    pub role_name: String,
    pub external_id_given: bool,
    pub summary: DoctorSummary,
    pub checks: Vec<Check>,
}

impl Check {
    /// A `--regions` name that is no region: a mistake in the flags, not in the account, so
    /// it fails the check but not the account.
    pub fn is_unknown_region(&self) -> bool {
        self.code.as_deref() == Some(UNKNOWN_REGION)
    }
}

impl Diagnosis {
    pub fn failed(&self) -> bool {
        self.summary.checks_failed > 0
    }
}

pub(super) fn summarize(accounts: &[AccountTarget], checks: &[Check]) -> DoctorSummary {
    let failed_accounts: std::collections::BTreeSet<&str> = checks
        .iter()
        .filter(|c| c.result == Verdict::Failed && !c.is_unknown_region())
        .map(|c| c.account_id.as_str())
        .collect();
    let skipped = accounts.iter().filter(|a| a.skip.is_some()).count();
    DoctorSummary {
        accounts_targeted: accounts.len(),
        accounts_ok: accounts.len() - skipped - failed_accounts.len(),
        accounts_failed: failed_accounts.len(),
        accounts_skipped: skipped,
        checks: checks.len(),
        checks_failed: checks
            .iter()
            .filter(|c| c.result == Verdict::Failed)
            .count(),
    }
}
