//! Exit codes: what a finished scan's report says (fatal 1 > incomplete 3 > findings 4), and
//! `Stopped`, the one error type a command returns when it has no normal ending. `main` turns
//! either into the process's exit code in one match.

use std::collections::BTreeSet;

use crate::interrupt::Interrupt;
use crate::plan::Finding;
use crate::report::endpoint::{EndpointFinding, EndpointStatus};
use crate::report::{Certificate, Report, Stage};

pub const OK: u8 = 0;
pub const FATAL: u8 = 1;
pub const USAGE: u8 = 2;
pub const INCOMPLETE: u8 = 3;
pub const FINDINGS: u8 = 4;

/// A command that stopped without its normal output: what to tell people and the exit code.
#[derive(Debug)]
pub struct Stopped {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Stopped {
    /// Nothing useful could be done (no credentials, an unwritable --report-dir): exit 1.
    pub fn fatal(error: impl Into<anyhow::Error>) -> Self {
        Stopped {
            code: FATAL,
            error: error.into(),
        }
    }

    /// The flags (or a file they name) are wrong: exit 2, as clap's own errors do.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Stopped {
            code: USAGE,
            error: error.into(),
        }
    }
}

/// What every command that calls AWS starts with: a runtime on the command's one thread, and
/// Ctrl-C and SIGTERM listened for. One thread runs the whole job, the HTTP connections' tasks
/// included: a call's request and response then never wake another thread, which on a small
/// machine cost more CPU per call than the call itself (the work waits on AWS; it computes
/// little).
pub fn start() -> Result<(tokio::runtime::Runtime, Interrupt), Stopped> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Stopped::fatal)?;
    let interrupt = Interrupt::listen().map_err(|e| {
        Stopped::fatal(anyhow::anyhow!("cannot listen for Ctrl-C and SIGTERM: {e}"))
    })?;
    Ok((runtime, interrupt))
}

/// Whether a certificate of the inventory is of a certificate kind (never of a served one).
fn matches(finding: Finding, c: &Certificate) -> bool {
    match finding {
        Finding::Expiring => c.expiring,
        Finding::Expired => c.expired,
        Finding::Imported => c.imported,
        Finding::WillNotRenew => c.will_not_renew,
        Finding::RenewalAtRisk => c.renewal_check.as_ref().is_some_and(|r| r.at_risk()),
        _ => false,
    }
}

/// The endpoint finding a served kind stands for; None for the certificate kinds.
fn served(finding: Finding) -> Option<EndpointFinding> {
    Some(match finding {
        Finding::ServedExpired => EndpointFinding::Expired,
        Finding::ServedExpiring => EndpointFinding::Expiring,
        Finding::ServedMismatch => EndpointFinding::Mismatch,
        Finding::ServedHostnameMismatch => EndpointFinding::HostnameMismatch,
        Finding::ServedUntrusted => EndpointFinding::Untrusted,
        Finding::ServedPrivateCa => EndpointFinding::PrivateCa,
        Finding::ServedIncompleteChain => EndpointFinding::IncompleteChain,
        Finding::ServedIntermediateExpiring => EndpointFinding::IntermediateExpiring,
        Finding::Expiring
        | Finding::Expired
        | Finding::Imported
        | Finding::WillNotRenew
        | Finding::RenewalAtRisk
        | Finding::CaNeedsAttention
        | Finding::ShadowExpiring => return None,
    })
}

/// Whether the report matches one `--fail-on` kind: a certificate kind on the inventory, a
/// served kind on the endpoints `scan --probe` judged.
fn found(report: &Report, finding: Finding) -> bool {
    if finding == Finding::CaNeedsAttention {
        return report
            .certificate_authorities
            .iter()
            .any(|a| a.needs_attention);
    }
    if finding == Finding::ShadowExpiring {
        return report
            .ct
            .as_ref()
            .is_some_and(|ct| ct.shadow.iter().any(|s| s.is_expiring_shadow()));
    }
    match served(finding) {
        Some(kind) => report
            .endpoints
            .iter()
            .flatten()
            .any(|e| e.findings.contains(&kind)),
        None => report.certificates.iter().any(|c| matches(finding, c)),
    }
}

/// The findings of `fail_on` that the report matches.
pub fn matched_findings(report: &Report, fail_on: &BTreeSet<Finding>) -> BTreeSet<Finding> {
    fail_on
        .iter()
        .copied()
        .filter(|f| found(report, *f))
        .collect()
}

/// `--allow-partial` forgives accounts and regions that failed, not an organization listing
/// that broke part-way: then the set of accounts itself is unknown.
pub fn exit_code(report: &Report, fail_on: &BTreeSet<Finding>, allow_partial: bool) -> u8 {
    // Nor this machine failing to probe: what the endpoints serve is unknown; nor a DNS
    // lookup the renewal check could not make: a broken resolver must not read as all fine;
    // nor a CT search that failed: "no answer" must not read as "no shadow certificates".
    let targets_unknown = report.errors.iter().any(|e| {
        matches!(
            e.stage,
            Stage::Organizations | Stage::Probe | Stage::Dns | Stage::Ct
        )
    });
    // `scan --probe`: an endpoint that could not be reached was not checked.
    let unreachable = report
        .endpoints
        .iter()
        .flatten()
        .any(|e| e.status == EndpointStatus::Unreachable);
    if (report.is_incomplete() || unreachable) && (!allow_partial || targets_unknown) {
        INCOMPLETE
    } else if !matched_findings(report, fail_on).is_empty() {
        FINDINGS
    } else {
        OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScanError;
    use clap::ValueEnum;

    fn report(errors: Vec<ScanError>, expiring: bool) -> Report {
        let mut c = Certificate::new("arn:c", "111111111111", None, "us-east-1");
        c.expiring = expiring;
        let mut report = Report::new(chrono::Utc::now(), 45, "111111111111");
        report.certificates = vec![c];
        report.errors = errors;
        report
    }

    fn failed(stage: Stage) -> ScanError {
        ScanError::new(stage, Some("1"), None, "AccessDenied", "no")
    }

    #[test]
    fn incomplete_wins_over_findings_and_allow_partial_forgives_it() {
        let fail_on: BTreeSet<Finding> = [Finding::Expiring].into();
        let both = report(vec![failed(Stage::AssumeRole)], true);
        assert_eq!(exit_code(&both, &fail_on, false), INCOMPLETE);
        assert_eq!(exit_code(&both, &fail_on, true), FINDINGS);
        assert_eq!(exit_code(&both, &BTreeSet::new(), true), OK);
        let clean = report(Vec::new(), true);
        assert_eq!(exit_code(&clean, &fail_on, false), FINDINGS);
        assert_eq!(exit_code(&report(Vec::new(), false), &fail_on, false), OK);
    }

    #[test]
    fn served_kinds_match_what_an_endpoint_serves_and_certificate_kinds_do_not() {
        use crate::report::endpoint::Endpoint;
        let mut report = report(Vec::new(), false);
        let mut old = Endpoint::unprobed("old.test", 443, "old.test", EndpointStatus::Critical);
        old.findings = vec![EndpointFinding::Expired];
        report.endpoints = Some(vec![old]);
        let exit = |kinds: &[Finding]| exit_code(&report, &kinds.iter().copied().collect(), false);
        assert_eq!(exit(&[Finding::ServedExpired]), FINDINGS);
        assert_eq!(
            exit(&[Finding::Expired, Finding::Expiring]),
            OK,
            "the certificate kinds keep their meaning: no certificate in ACM expired"
        );
        assert_eq!(exit(&[Finding::ServedMismatch]), OK);
        for kind in Finding::value_variants() {
            assert_eq!(served(*kind).is_some(), kind.is_served(), "{kind:?}");
        }
    }

    #[test]
    fn a_broken_organization_listing_stays_incomplete_with_allow_partial() {
        let fail_on: BTreeSet<Finding> = [Finding::Expiring].into();
        let broke = report(vec![failed(Stage::Organizations)], true);
        assert_eq!(exit_code(&broke, &fail_on, true), INCOMPLETE);
    }

    #[test]
    fn this_machine_failing_to_probe_stays_incomplete_with_allow_partial() {
        let fail_on: BTreeSet<Finding> = [Finding::Expiring].into();
        let starved = report(vec![failed(Stage::Probe)], true);
        assert_eq!(exit_code(&starved, &fail_on, true), INCOMPLETE);
    }
}
