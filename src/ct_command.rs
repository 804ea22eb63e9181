//! `certaudit ct`: the certificates Certificate Transparency shows for the inventory's domains
//! that no inventory holds. The inventory comes from a scan (the scan's account and access
//! flags) or from an existing report.json (no AWS call).

use crate::cli::{CtCommandArgs, CtFinding};
use crate::outcome::{self, Stopped};
use crate::output;
use crate::plan::{CsvCells, DataFormat};

pub fn command(args: &CtCommandArgs) -> Result<u8, Stopped> {
    let (runtime, interrupt) = outcome::start()?;
    let timeout = std::time::Duration::from_secs(args.target.timeout);
    let inventory = crate::served::Inventory {
        report: args.report.as_deref(),
        target: &args.target,
        logging: &args.logging,
        expiring_days: args.expiring_days,
    };
    let mut report = inventory.read(&runtime, &interrupt)?;
    // A report read from a file may be incomplete too: then a certificate in the part it
    // could not read reads as a shadow one.
    let scan_incomplete = report.is_incomplete();
    // The run's own time and threshold: a report read from a file was made earlier.
    report.generated_at = chrono::Utc::now().with_nanosecond_zero();
    report.expiring_days = args.expiring_days;
    let settings = args.ct.settings(timeout);
    if settings.source == crate::plan::CtSource::Certspotter && settings.token.is_none() {
        eprintln!(
            "certaudit: warning: no Cert Spotter token (--ct-token, CERTAUDIT_CT_TOKEN): its \
             unauthenticated use is for evaluation and allows a few queries an hour"
        );
    }
    let run = runtime.block_on(crate::ct::run(&report, &settings, None, &interrupt));
    let section = run.section;
    let cells = CsvCells::raw_if(args.csv_raw);
    use std::io::IsTerminal;
    let terminal = std::io::stdout().is_terminal();
    let color = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let width = terminal.then(output::terminal::stdout_width);
    output::write_stdout(|out| output::ct::render(&section, args.output, cells, color, width, out))
        .map_err(Stopped::fatal)?;
    if args.output != DataFormat::Table || !run.errors.is_empty() {
        for e in &run.errors {
            let line = format!("certaudit: error ct {}: {}", e.code, e.message);
            eprintln!("{}", crate::report::printable(&line));
        }
    }
    if let Some(signal) = interrupt.signal() {
        return Ok(signal.exit_code());
    }
    if !run.errors.is_empty() || scan_incomplete {
        return Ok(outcome::INCOMPLETE);
    }
    let expiring = section.shadow.iter().any(|s| s.is_expiring_shadow());
    if args.fail_on.contains(&CtFinding::ShadowExpiring) && expiring {
        return Ok(outcome::FINDINGS);
    }
    Ok(outcome::OK)
}

trait WholeSeconds {
    fn with_nanosecond_zero(self) -> Self;
}

impl WholeSeconds for chrono::DateTime<chrono::Utc> {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}
