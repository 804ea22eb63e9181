//! The exit code, decided in one place (SPEC §3): fatal 1 > incomplete 3 > findings 4.

use std::collections::BTreeSet;

use crate::cli::Finding;
use crate::report::{Certificate, Report, Stage};

pub const OK: u8 = 0;
pub const FATAL: u8 = 1;
pub const USAGE: u8 = 2;
pub const INCOMPLETE: u8 = 3;
pub const FINDINGS: u8 = 4;

fn matches(finding: Finding, c: &Certificate) -> bool {
    match finding {
        Finding::Expiring => c.expiring,
        Finding::Expired => c.expired,
        Finding::Imported => c.imported,
        Finding::WillNotRenew => c.will_not_renew,
    }
}

/// The findings of `fail_on` that some certificate matches.
pub fn matched_findings(report: &Report, fail_on: &BTreeSet<Finding>) -> BTreeSet<Finding> {
    fail_on
        .iter()
        .copied()
        .filter(|f| report.certificates.iter().any(|c| matches(*f, c)))
        .collect()
}

/// `--allow-partial` forgives accounts and regions that failed, not an organization listing
/// that broke part-way: then the set of accounts itself is unknown.
pub fn exit_code(report: &Report, fail_on: &BTreeSet<Finding>, allow_partial: bool) -> u8 {
    let targets_unknown = report
        .errors
        .iter()
        .any(|e| e.stage == Stage::Organizations);
    if report.is_incomplete() && (!allow_partial || targets_unknown) {
        INCOMPLETE
    } else if !matched_findings(report, fail_on).is_empty() {
        FINDINGS
    } else {
        OK
    }
}
