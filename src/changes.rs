//! `certaudit diff` and `certaudit history`: compare two scans — two report files, or two
//! scans of a history database, through the one diff engine — and list or prune a history.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::cli::{DiffArgs, HistoryAction, HistoryArgs, HistoryFormat};
use crate::diff::{self, ChangeKind, Diff, Side};
use crate::history::{printed_time, History, Pruned, StoredScan};
use crate::outcome::{self, Stopped};
use crate::output::{self, new_table};
use crate::plan::{CsvCells, DataFormat};
use crate::report::{self, printable, Report};

/// `certaudit diff`: compare, print, and exit 3 (not everything compared), 4 (`--fail-on`
/// matched) or 0.
pub fn diff_command(args: &DiffArgs) -> Result<u8, Stopped> {
    let (old, new, from, to) = match (&args.old, &args.new) {
        (Some(old), Some(new)) => {
            if args.from.is_some() || args.to.is_some() {
                return Err(Stopped::usage(anyhow!(
                    "--from and --to pick scans of a --history database; with two report files \
                     leave them out"
                )));
            }
            let (before, after) = (read_report(old), read_report(new));
            let (before, after) = (
                before.map_err(Stopped::fatal)?,
                after.map_err(Stopped::fatal)?,
            );
            if after.generated_at < before.generated_at {
                return Err(Stopped::usage(anyhow!(
                    "{} was generated at {} and {} at {}: OLD must be the earlier report; swap \
                     them",
                    old.display(),
                    printed_time(before.generated_at),
                    new.display(),
                    printed_time(after.generated_at),
                )));
            }
            let (from, to) = (file_side(old, &before), file_side(new, &after));
            (before, after, from, to)
        }
        _ => match &args.history {
            Some(path) => stored_pair(path, args)?,
            None => {
                return Err(Stopped::usage(anyhow!(
                    "nothing to compare: give two report files (certaudit diff OLD.json \
                     NEW.json) or a history database (--history PATH, or CERTAUDIT_HISTORY)"
                )))
            }
        },
    };
    let expiring_days = args.expiring_days.unwrap_or(new.expiring_days);
    let diff = diff::diff(&old, &new, from, to, expiring_days);
    drop((old, new));
    let cells = CsvCells::raw_if(args.csv_raw);
    output::write_stdout(|out| output::diff::render(&diff, args.output, cells, out))
        .map_err(Stopped::fatal)?;
    if args.output != DataFormat::Table {
        let _ = write_not_compared(&diff, &mut std::io::stderr().lock());
    }
    let fail_on: BTreeSet<ChangeKind> = args.fail_on.iter().copied().collect();
    Ok(exit_code(&diff, &fail_on, args.allow_partial))
}

/// Incomplete (3) wins over `--fail-on` (4), as for a scan.
pub fn exit_code(diff: &Diff, fail_on: &BTreeSet<ChangeKind>, allow_partial: bool) -> u8 {
    if diff.is_incomplete() && !allow_partial {
        outcome::INCOMPLETE
    } else if fail_on.iter().any(|kind| diff.count(*kind) > 0) {
        outcome::FINDINGS
    } else {
        outcome::OK
    }
}

/// For the formats whose stdout is data: what could not be compared, on stderr.
fn write_not_compared(diff: &Diff, out: &mut dyn Write) -> std::io::Result<()> {
    for entry in &diff.scope.not_compared {
        let label = report::account_label(&entry.account_id, entry.account_name.as_deref());
        let region = entry.region.as_deref().unwrap_or("all regions");
        let line = format!(
            "certaudit: not compared [{label} {region}]: {}",
            entry.reason
        );
        writeln!(out, "{}", printable(&line))?;
    }
    Ok(())
}

/// Just enough of a report to say which version it is before reading the rest: the value as
/// it is, so a wrong type is named rather than read as "not a report".
#[derive(Deserialize)]
struct Version {
    schema_version: Option<serde_json::Value>,
}

/// A JSON value's type, in JSON's words.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A report file, any schema_version 1 report.
pub fn read_report(path: &Path) -> Result<Report> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read report {}", path.display()))?;
    let version: Version = serde_json::from_slice(&bytes).map_err(|e| {
        if e.is_data() {
            anyhow!(
                "{} is not a certaudit report (not a JSON object)",
                path.display()
            )
        } else {
            anyhow!(
                "{} is not a certaudit report (not JSON: {e})",
                path.display()
            )
        }
    })?;
    let expected = u64::from(report::SCHEMA_VERSION);
    match version.schema_version {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(expected) => {}
        Some(serde_json::Value::Number(other)) if other.is_f64() => bail!(
            "{}: schema_version is a number with a fraction ({other}), expected an integer \
             ({expected})",
            path.display(),
        ),
        Some(serde_json::Value::Number(other)) => bail!(
            "{} is a report of schema_version {other}; this certaudit reads version {expected}",
            path.display(),
        ),
        None | Some(serde_json::Value::Null) => bail!(
            "{} is not a certaudit report (it has no schema_version): pass report.json from \
             --report-dir or the output of `certaudit scan -o json`",
            path.display()
        ),
        Some(other) => bail!(
            "{}: schema_version is {} ({other}), expected an integer ({expected})",
            path.display(),
            json_type(&other),
        ),
    }
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a certaudit report", path.display()))
}

fn file_side(path: &Path, report: &Report) -> Side {
    Side {
        generated_at: report.generated_at,
        scan_id: None,
        source: path.display().to_string(),
    }
}

/// The two stored scans `--from` and `--to` name, read back. By default the latest scan and
/// the one before it of the same scope: a narrower scan in between (`--accounts one`) is not
/// "the previous audit" of the whole organization.
fn stored_pair(path: &Path, args: &DiffArgs) -> Result<(Report, Report, Side, Side), Stopped> {
    let found = |history: &History| -> Result<(StoredScan, StoredScan)> {
        let to = match &args.to {
            Some(selector) => history.find(selector)?,
            None => history
                .latest()?
                .with_context(|| format!("{} holds no scan yet", path.display()))?,
        };
        let from = match &args.from {
            Some(selector) => history.find(selector)?,
            None => history.before(&to)?.with_context(|| {
                let scope = to.scope.clone().unwrap_or_default().describe();
                format!(
                    "{} holds no scan of the same scope ({scope}) made before scan {}: record \
                     another with `certaudit scan --history`, or name one with --from",
                    path.display(),
                    to.id
                )
            })?,
        };
        Ok((from, to))
    };
    let (from, to) = History::read_steadily(path, found).map_err(Stopped::fatal)?;
    if from.id == to.id {
        return Err(Stopped::usage(anyhow!(
            "--from and --to name the same scan ({})",
            from.id
        )));
    }
    if to.is_before(&from) {
        return Err(Stopped::usage(anyhow!(
            "--from names scan {} ({}) and --to scan {} ({}): --from must be the earlier scan; \
             swap them",
            from.id,
            printed_time(from.generated_at),
            to.id,
            printed_time(to.generated_at),
        )));
    }
    let load = |history: &History| -> Result<(Report, Report)> {
        Ok((history.load(&from)?, history.load(&to)?))
    };
    let (old, new) = History::read_steadily(path, load).map_err(Stopped::fatal)?;
    Ok((old, new, from.side(path), to.side(path)))
}

/// `certaudit history`: list the stored scans, or prune them.
pub fn history_command(args: &HistoryArgs) -> Result<u8, Stopped> {
    let Some(path) = &args.history else {
        return Err(Stopped::usage(anyhow!(
            "which history? pass --history PATH or set CERTAUDIT_HISTORY"
        )));
    };
    match args.action {
        None => {
            // Read only: a history in a read-only directory, or another user's, lists as well.
            let listed = |history: &History| -> Result<(Vec<StoredScan>, i64)> {
                Ok((history.scans()?, history.schema_version()))
            };
            let (scans, version) = History::read_steadily(path, listed).map_err(Stopped::fatal)?;
            output::write_stdout(|out| match args.output {
                HistoryFormat::Table => write_scans_table(&scans, out),
                HistoryFormat::Json => write_scans_json(path, version, &scans, out),
                HistoryFormat::Csv => write_scans_csv(&scans, out),
            })
            .map_err(Stopped::fatal)?;
        }
        Some(HistoryAction::Prune { keep_days }) => {
            let pruned = prune(path, keep_days).map_err(Stopped::fatal)?;
            output::write_stdout(|out| {
                writeln!(
                    out,
                    "Pruned {} and {} from {}; {} kept.",
                    report::counted(pruned.0.scans, "scan"),
                    report::counted(pruned.0.certificate_states, "certificate state"),
                    path.display(),
                    report::counted(pruned.1, "scan"),
                )?;
                Ok(())
            })
            .map_err(Stopped::fatal)?;
        }
    }
    Ok(outcome::OK)
}

/// Prune an existing history (never create one); returns what went and how many scans stay.
fn prune(path: &Path, keep_days: u32) -> Result<(Pruned, usize)> {
    // Opened for reading first: a missing file is named as such, not created.
    drop(History::open_existing(path)?);
    let mut history = History::open(path)?;
    let pruned = history.prune(keep_days, Utc::now())?;
    Ok((pruned, history.scans()?.len()))
}

/// A stored scan's scope in a few words; a scan recorded before scopes were kept says so.
fn scope_words(scan: &StoredScan) -> String {
    scan.scope
        .as_ref()
        .map_or_else(|| "not recorded".to_string(), |s| s.describe())
}

fn write_scans_table(scans: &[StoredScan], out: &mut dyn Write) -> Result<()> {
    let mut table = new_table(&[
        "ID",
        "Generated",
        "Complete",
        "Accounts",
        "Failed",
        "Certificates",
        "Expiring",
        "Expired",
        "Will not renew",
        "Errors",
        "Scope",
    ]);
    for scan in scans {
        let s = &scan.summary;
        table.add_row(vec![
            scan.id.to_string(),
            printed_time(scan.generated_at),
            if scan.complete { "yes" } else { "NO" }.to_string(),
            s.accounts_targeted.to_string(),
            s.accounts_failed.to_string(),
            s.certificates.to_string(),
            s.expiring.to_string(),
            s.expired.to_string(),
            s.will_not_renew.to_string(),
            s.errors.to_string(),
            scope_words(scan),
        ]);
    }
    writeln!(out, "{}", report::counted(scans.len(), "scan"))?;
    if !scans.is_empty() {
        writeln!(out, "{table}")?;
    }
    Ok(())
}

/// One row per stored scan, its summary's counts as columns.
fn write_scans_csv(scans: &[StoredScan], out: &mut dyn Write) -> Result<()> {
    let mut csv = ::csv::Writer::from_writer(out);
    csv.write_record([
        "id",
        "generated_at",
        "complete",
        "tool_version",
        "caller_account_id",
        "expiring_days",
        "accounts_targeted",
        "accounts_scanned",
        "accounts_failed",
        "accounts_skipped",
        "regions_scanned",
        "certificates",
        "expiring",
        "expired",
        "imported",
        "will_not_renew",
        "errors",
        "duration_ms",
        "scope",
    ])?;
    for scan in scans {
        let s = &scan.summary;
        let counts = [
            s.accounts_targeted,
            s.accounts_scanned,
            s.accounts_failed,
            s.accounts_skipped,
            s.regions_scanned,
            s.certificates,
            s.expiring,
            s.expired,
            s.imported,
            s.will_not_renew,
            s.errors,
        ];
        let mut row = vec![
            scan.id.to_string(),
            scan.generated_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            scan.complete.to_string(),
            scan.tool_version.clone(),
            scan.caller_account_id.clone(),
            scan.expiring_days.to_string(),
        ];
        row.extend(counts.iter().map(ToString::to_string));
        row.push(s.duration_ms.to_string());
        row.push(scope_words(scan));
        csv.write_record(&row)?;
    }
    csv.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct ScansDocument<'a> {
    history: String,
    history_schema_version: i64,
    scans: &'a [StoredScan],
}

fn write_scans_json(
    path: &Path,
    version: i64,
    scans: &[StoredScan],
    out: &mut dyn Write,
) -> Result<()> {
    let document = ScansDocument {
        history: path.display().to_string(),
        history_schema_version: version,
        scans,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)?;
    Ok(())
}
