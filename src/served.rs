//! `certaudit endpoints`: what is actually served. The inventory comes from a scan (the scan's
//! account and access flags) or from an existing report.json (no AWS call); its in-use names
//! and the listed endpoints are probed over TLS and judged against it.

use std::collections::BTreeSet;

use crate::audit;
use crate::changes::read_report;
use crate::cli::{EndpointsArgs, LoggingArgs, TargetArgs};
use crate::endpoints::Prober;
use crate::outcome::{self, Stopped};
use crate::output;
use crate::plan::{CsvCells, DataFormat, ScanPlan};
use crate::report::endpoint::{Endpoint, EndpointFinding, EndpointStatus};

pub fn command(args: &EndpointsArgs) -> Result<u8, Stopped> {
    let prober = Prober::new(&args.probe.settings(), args.expiring_days).map_err(Stopped::usage)?;
    let (runtime, interrupt) = outcome::start()?;
    let inventory = Inventory {
        report: args.report.as_deref(),
        target: &args.target,
        logging: &args.logging,
        expiring_days: args.expiring_days,
    };
    let report = inventory.read(&runtime, &interrupt)?;
    let probed = runtime.block_on(prober.probe(&report, &interrupt));
    let endpoints = &probed.endpoints;
    let cells = CsvCells::raw_if(args.csv_raw);
    let generated_at = chrono::Utc::now();
    output::write_stdout(|out| {
        output::endpoints::render(endpoints, generated_at, args.output, cells, out)
    })
    .map_err(Stopped::fatal)?;
    if args.output != DataFormat::Table {
        let _ = output::endpoints::write_unreachable(
            endpoints,
            output::terminal::stderr_width(),
            &mut std::io::stderr().lock(),
        );
    }
    for error in [probed.interrupted_error(), probed.local_error()]
        .into_iter()
        .flatten()
    {
        eprintln!("certaudit: error: {error}");
    }
    if let Some(signal) = interrupt.signal() {
        return Ok(signal.exit_code());
    }
    // This machine failed, not an endpoint: nothing forgives that.
    if probed.local_failures > 0 {
        return Ok(outcome::INCOMPLETE);
    }
    let scan_incomplete = args.report.is_none() && report.is_incomplete();
    let fail_on: BTreeSet<EndpointFinding> = args.fail_on.iter().copied().collect();
    Ok(exit_code(
        endpoints,
        scan_incomplete,
        &fail_on,
        args.allow_partial,
    ))
}

/// Where `endpoints` and `ct` take the inventory from: a report.json (no AWS call), or a scan
/// with the command's account and access flags.
pub struct Inventory<'a> {
    pub report: Option<&'a std::path::Path>,
    pub target: &'a TargetArgs,
    pub logging: &'a LoggingArgs,
    pub expiring_days: i64,
}

impl Inventory<'_> {
    /// The report: read, or scanned (its errors on stderr).
    pub fn read(
        &self,
        runtime: &tokio::runtime::Runtime,
        interrupt: &crate::interrupt::Interrupt,
    ) -> Result<crate::report::Report, Stopped> {
        if let Some(path) = self.report {
            return read_report(path).map_err(Stopped::fatal);
        }
        let plan = ScanPlan::inventory(
            self.target.targets().map_err(Stopped::usage)?,
            self.expiring_days,
        );
        let show_progress = self.logging.verbose == 0 && !self.logging.quiet;
        let scanned = runtime.block_on(audit::run(
            &plan,
            audit::Stages {
                show_progress,
                ..Default::default()
            },
            interrupt,
        ));
        let report = scanned.map_err(Stopped::fatal)?;
        let _ = output::write_error_lines(&report, &mut std::io::stderr().lock());
        Ok(report)
    }
}

/// Unreachable (or a scan that was incomplete) 3, before `--fail-on` 4, as for a scan.
pub fn exit_code(
    endpoints: &[Endpoint],
    scan_incomplete: bool,
    fail_on: &BTreeSet<EndpointFinding>,
    allow_partial: bool,
) -> u8 {
    let unreachable = endpoints
        .iter()
        .any(|e| e.status == EndpointStatus::Unreachable);
    if (unreachable || scan_incomplete) && !allow_partial {
        outcome::INCOMPLETE
    } else if endpoints
        .iter()
        .any(|e| e.findings.iter().any(|f| fail_on.contains(f)))
    {
        outcome::FINDINGS
    } else {
        outcome::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_ipv6_endpoint_is_named_as_bracketed_address_then_port() {
        let e = Endpoint::unprobed("::1", 5527, "::1", EndpointStatus::Unreachable);
        let mut out = Vec::new();
        output::endpoints::write_unreachable(&[e], None, &mut out).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.starts_with("certaudit: unreachable [::1]:5527 "),
            "{line}"
        );
    }
}
