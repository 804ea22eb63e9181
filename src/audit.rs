//! The whole scan job: who the caller is, the organization listed while its first accounts
//! are scanned, notifications sent. What is found is one `Report`, whatever failed on the way.

use std::io::{IsTerminal, Write};

use anyhow::{bail, Context, Result};

use crate::access::Caller;
use crate::accounts;
use crate::cli::ScanArgs;
use crate::diff::{self, Diff, Side};
use crate::endpoints::{Prober, LOCAL_ERROR};
use crate::history::{History, StoredScan};
use crate::interrupt::Interrupt;
use crate::notify;
use crate::outcome::{self, Stopped};
use crate::output::{self, Rendering};
use crate::plan::{AccountSource, NotifyOn, OutputFormat, ScanPlan, Sources, Targets};
use crate::progress::Progress;
use crate::report::{Report, ScanError, ScanScope, Stage};
use crate::scan;

/// `certaudit scan`: plan, scan, write every output, and say which exit code the report
/// calls for. A signal's code wins over the report's; a fatal error wins over both.
pub fn command(args: &ScanArgs) -> Result<u8, Stopped> {
    let plan = args.plan().map_err(Stopped::usage)?;
    if plan.list.is_some() && matches!(plan.output, OutputFormat::Json | OutputFormat::Html) {
        tracing::warn!(
            "--list has no effect with -o json or -o html: the report always holds every \
             certificate (use -o ndjson or -o csv for one list)"
        );
    }
    if let Some(dir) = &plan.report_dir {
        output::check_report_dir(dir).map_err(Stopped::fatal)?;
    }
    // Read before the scan: a bad endpoints or CA file stops it before any call.
    let prober = match &plan.probe {
        Some(settings) => Some(Prober::new(settings, plan.expiring_days).map_err(Stopped::usage)?),
        None => None,
    };
    // Opened before the scan: a database this certaudit cannot write stops it before any call.
    let mut history = match &plan.history {
        Some(path) => Some(History::open(path).map_err(Stopped::fatal)?),
        None => None,
    };
    let (runtime, interrupt) = outcome::start()?;
    let show_progress = args.logging.verbose == 0 && !args.logging.quiet;
    let stages = Stages {
        history: history.as_ref(),
        prober: prober.as_ref(),
        show_progress,
    };
    let report =
        runtime
            .block_on(run(&plan, stages, &interrupt))
            .map_err(|error| match interrupt.signal() {
                Some(signal) => Stopped {
                    code: signal.exit_code(),
                    error,
                },
                None => Stopped::fatal(error),
            })?;
    let written = write_outputs(&plan, &report);
    // An interrupted scan is recorded too, as incomplete: the diff's scope rule keeps what it
    // did not finish from reading as removed.
    let recorded = match &mut history {
        Some(history) => record(history, &report),
        None => Ok(()),
    };
    written?;
    recorded?;
    Ok(match interrupt.signal() {
        Some(signal) => signal.exit_code(),
        None => outcome::exit_code(&report, &plan.fail_on, plan.allow_partial),
    })
}

/// Every output the plan asks for, whatever the report holds: the artifacts, stdout, and the
/// errors on stderr for the formats whose stdout is data. A closed stdout ends quietly.
fn write_outputs(plan: &ScanPlan, report: &Report) -> Result<(), Stopped> {
    let artifacts = match &plan.report_dir {
        Some(dir) => output::write_artifacts(report, dir, plan.csv_cells),
        None => Ok(()),
    };
    let terminal = std::io::stdout().is_terminal();
    let rendering = Rendering {
        format: plan.output,
        list: plan.list,
        color: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        width: terminal.then(output::terminal::stdout_width),
        wide: plan.wide,
        csv_cells: plan.csv_cells,
    };
    let mut out = output::Stdout::lock();
    let written = output::render(report, rendering, &mut out).and_then(|()| Ok(out.flush()?));
    // Errors (and endpoints not reached) reach stderr even with --quiet ("errors only"); the
    // table already lists them.
    if plan.output != OutputFormat::Table {
        let width = output::terminal::stderr_width();
        let mut stderr = std::io::stderr().lock();
        let _ = output::write_error_lines_fitted(report, width, &mut stderr);
        let probed = report.endpoints.as_deref().unwrap_or_default();
        let _ = output::endpoints::write_unreachable(probed, width, &mut stderr);
    }
    artifacts.map_err(Stopped::fatal)?;
    match written {
        Err(e) if !out.closed() => Err(Stopped::fatal(
            e.context("cannot write the report to stdout"),
        )),
        _ => Ok(()),
    }
}

/// Append the scan to the history; the outputs are already written whatever happens here.
fn record(history: &mut History, report: &Report) -> Result<(), Stopped> {
    let id = history
        .append(report, &recorded_arguments())
        .with_context(|| {
            format!(
                "the scan was not recorded in the history {} (its outputs were written)",
                history.path().display()
            )
        })
        .map_err(Stopped::fatal)?;
    tracing::info!(scan = id, history = %history.path().display(), "scan recorded");
    Ok(())
}

/// `--notify-on changes`: the diff from the latest stored scan of the same scope to this one;
/// none on a history's first scan of that scope, or when the stored scan cannot be read (then
/// the usual summary goes out: a notification is never lost to the history).
fn changes_since_stored(history: &History, report: &Report, expiring_days: i64) -> Option<Diff> {
    let previous = || -> Result<Option<(Report, StoredScan)>> {
        // The previous scan of the same scope: a narrower one in between is not it.
        let Some(scan) = history.latest_of_scope(report.scope.as_ref())? else {
            return Ok(None);
        };
        Ok(Some((history.load(&scan)?, scan)))
    };
    let (before, scan) = match previous() {
        Ok(found) => found?,
        Err(e) => {
            tracing::warn!("cannot read the previous scan from the history: {e:#}");
            return None;
        }
    };
    let to = Side {
        generated_at: report.generated_at,
        scan_id: None,
        source: "this scan".into(),
    };
    let from = scan.side(history.path());
    Some(diff::diff(&before, report, from, to, expiring_days))
}

/// What the scan set out to cover, as the diff's scope rule and the history's pairing read it.
fn scope_of(target: &Targets, sources: Sources) -> ScanScope {
    let (accounts, ous) = match &target.accounts {
        AccountSource::Explicit(named) => (
            Some(named.iter().map(|a| a.id.clone()).collect()),
            [].into(),
        ),
        AccountSource::Organization { ous } => (None, ous.iter().cloned().collect()),
    };
    ScanScope {
        accounts,
        ous,
        exclude: target.exclude.clone(),
        regions: target.regions.as_ref().map(|r| r.iter().cloned().collect()),
        sources: Some(sources.names()),
    }
}

/// The command line as the history records it: the ExternalId's value is a secret.
fn recorded_arguments() -> Vec<String> {
    redacted(std::env::args().collect())
}

/// The flags whose values are secrets: the ExternalId, Cert Spotter's token.
const SECRET_FLAGS: [&str; 2] = ["--external-id", "--ct-token"];

fn redacted(mut arguments: Vec<String>) -> Vec<String> {
    let mut secret_next = false;
    for argument in &mut arguments {
        if std::mem::take(&mut secret_next) {
            *argument = "<redacted>".into();
        } else if SECRET_FLAGS.contains(&argument.as_str()) {
            secret_next = true;
        } else if let Some(flag) = SECRET_FLAGS
            .iter()
            .find(|f| argument.starts_with(&format!("{f}=")))
        {
            *argument = format!("{flag}=<redacted>");
        }
    }
    arguments
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_never_reach_the_history_s_record_of_the_command_line() {
        let args = [
            "certaudit",
            "scan",
            "--ct-token",
            "tok",
            "--external-id=ext",
            "--ct",
        ];
        let recorded = super::redacted(args.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            recorded,
            [
                "certaudit",
                "scan",
                "--ct-token",
                "<redacted>",
                "--external-id=<redacted>",
                "--ct"
            ]
        );
    }
}

/// Search Certificate Transparency for the inventory's domains (`--ct`): with a history, from
/// where the last scan of this scope left off.
async fn check_ct(
    settings: &crate::plan::CtSettings,
    history: Option<&History>,
    report: &mut Report,
    interrupt: &Interrupt,
) {
    if settings.source == crate::plan::CtSource::Certspotter && settings.token.is_none() {
        eprintln!(
            "certaudit: warning: no Cert Spotter token (--ct-token, CERTAUDIT_CT_TOKEN): its \
             unauthenticated use is for evaluation and allows a few queries an hour"
        );
    }
    let previous = history.and_then(|h| h.latest_of_scope(report.scope.as_ref()).ok().flatten());
    let previous = previous.as_ref().and_then(|scan| {
        Some(crate::ct::Previous {
            section: scan.ct.as_ref()?,
            seen: &scan.ct_seen,
        })
    });
    let run = crate::ct::run(report, settings, previous, interrupt).await;
    report.ct = Some(run.section);
    report.ct_seen = run.seen;
    report.add_errors(run.errors);
}

/// ACM's published DescribeCertificate and ListTagsForCertificate quota per account-region.
const ACM_QUOTA_PER_SECOND: u32 = 10;

/// What a scan does besides scanning: compare with a history, probe endpoints, show progress.
#[derive(Default, Clone, Copy)]
pub struct Stages<'a> {
    pub history: Option<&'a History>,
    pub prober: Option<&'a Prober>,
    pub show_progress: bool,
}

/// Run the scan the plan describes, probe its endpoints (`--probe`), then notify, so the
/// notifications say what the probe found too. Fails only when nothing could be scanned at
/// all (no caller, no organization, a signal before the first account); everything else is
/// an error inside the report. A signal stops every stage, notifications included.
pub async fn run(plan: &ScanPlan, stages: Stages<'_>, interrupt: &Interrupt) -> Result<Report> {
    // Before anything is read: a Security Hub finding updated after this is newer than what
    // the scan saw, and the scan must not archive it.
    let started = chrono::Utc::now();
    let Some(caller) = interrupt.or_stop(Caller::identify(&plan.target)).await else {
        bail!("interrupted before the caller was identified: nothing was scanned");
    };
    let caller = caller?;
    if plan.rate.get() > ACM_QUOTA_PER_SECOND {
        tracing::warn!(
            "--rate {} is above ACM's quota of {ACM_QUOTA_PER_SECOND} calls a second per \
             account-region: expect throttling; certaudit slows down where it is throttled",
            plan.rate
        );
    }
    tracing::info!(caller = %caller.account_id, "scanning");
    // The organization is listed while the first accounts are scanned.
    let (sender, targets) = futures::channel::mpsc::unbounded();
    let caller_ref = &caller;
    let listing = async move {
        // Owned here, so the scan's stream of accounts ends when the listing does.
        let sender = sender;
        accounts::resolve_each(&plan.target, caller_ref, &mut |target| {
            let _ = sender.unbounded_send(target);
        })
        .await
    };
    let progress = Progress::new(stages.show_progress);
    let scanning = scan::run(plan, &caller, targets, &progress, interrupt);
    tokio::pin!(listing, scanning);
    let mut listed = None;
    let mut report = loop {
        tokio::select! {
            result = &mut listing, if listed.is_none() => listed = Some(result),
            report = &mut scanning => break report,
        }
    };
    if let Some(Err(broke)) = listed {
        listing_broke(&mut report, broke)?;
    }
    report.scope = Some(scope_of(&plan.target, plan.sources));
    after_scan(plan, &stages, &caller, started, &mut report, interrupt).await;
    Ok(report)
}

/// The organization's listing failed part-way. Nothing scanned: there is no report to give,
/// the error is the outcome. Otherwise the accounts scanned are reported, incomplete.
fn listing_broke(report: &mut Report, broke: accounts::ListingBroke) -> Result<()> {
    if broke.listed == 0 {
        return Err(broke.error);
    }
    let code = broke
        .failure
        .as_ref()
        .map_or("organizations", |f| f.code.as_str());
    let error = ScanError::new(
        Stage::Organizations,
        None,
        None,
        code,
        broke.part_way_message(),
    );
    report.add_errors([error]);
    Ok(())
}

/// What follows the scan unless a signal came: endpoint probes, the CT search, notifications.
async fn after_scan(
    plan: &ScanPlan,
    stages: &Stages<'_>,
    caller: &Caller,
    started: chrono::DateTime<chrono::Utc>,
    report: &mut Report,
    interrupt: &Interrupt,
) {
    if let (Some(prober), None) = (stages.prober, interrupt.signal()) {
        let probed = prober.probe(report, interrupt).await;
        report.add_errors(probed.interrupted_error().map(ScanError::interrupted));
        report.add_errors(
            probed
                .local_error()
                .map(|message| ScanError::new(Stage::Probe, None, None, LOCAL_ERROR, message)),
        );
        report.endpoints = Some(probed.endpoints);
    }
    if let (Some(ct), None) = (&plan.ct, interrupt.signal()) {
        check_ct(ct, stages.history, report, interrupt).await;
    }
    if plan.notify.any() && interrupt.signal().is_none() {
        let changes = match (plan.notify.on, stages.history) {
            (NotifyOn::Changes, Some(history)) => {
                changes_since_stored(history, report, plan.expiring_days)
            }
            _ => None,
        };
        let sending = notify::send(&plan.notify, caller, report, changes.as_ref(), started);
        if interrupt.or_stop(sending).await.is_none() {
            let message = "interrupted while notifying: some notifications may not have been sent";
            report.add_errors([ScanError::interrupted(message)]);
        }
    }
}
