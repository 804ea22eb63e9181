//! Renderings of a `Diff`: the table (one line per change with its marker, one `?` line per
//! account not compared, a summary line first), JSON, NDJSON (one change per line) and CSV.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use super::rows::{self, Cell};
use crate::diff::{ChangeKind, Diff, NotCompared, Side};
use crate::plan::{CsvCells, DataFormat};
use crate::report::{account_label, counted, printable};

pub fn render(diff: &Diff, format: DataFormat, cells: CsvCells, out: &mut dyn Write) -> Result<()> {
    match format {
        DataFormat::Table => write_table(diff, out),
        DataFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, diff)?;
            writeln!(out)?;
            Ok(())
        }
        DataFormat::Ndjson => {
            for change in &diff.changes {
                serde_json::to_writer(&mut *out, change)?;
                writeln!(out)?;
            }
            Ok(())
        }
        DataFormat::Csv => write_csv(diff, cells, out),
    }
}

/// "scan 4 (2026-11-25 06:00 UTC)" or "report.json (2026-11-25 06:00 UTC)".
pub fn side_label(side: &Side) -> String {
    let when = side.generated_at.format("%Y-%m-%d %H:%M UTC");
    match side.scan_id {
        Some(id) => format!("scan {id} ({when})"),
        None => format!("{} ({when})", side.source),
    }
}

/// One line: how many changes of which kinds, and whether the comparison was whole.
pub fn summary_line(diff: &Diff) -> String {
    let kinds: Vec<String> = ChangeKind::ALL
        .iter()
        .filter(|k| diff.count(**k) > 0)
        .map(|k| format!("{} {}", diff.count(*k), k.as_str()))
        .collect();
    let mut line = format!(
        "{} from {} to {}",
        counted(diff.changes.len(), "change"),
        side_label(&diff.from),
        side_label(&diff.to)
    );
    if !kinds.is_empty() {
        line.push_str(&format!(": {}", kinds.join(", ")));
    }
    line.push_str(&format!(
        "; {} compared",
        counted(diff.scope.compared, "account-region")
    ));
    if diff.is_incomplete() {
        line.push_str(&format!(
            ", {} not compared — INCOMPLETE",
            diff.scope.not_compared.len()
        ));
    }
    line
}

/// The `?` lines: one per account, its regions and reasons together.
fn not_compared_by_account(diff: &Diff) -> Vec<(String, String, String)> {
    let mut accounts: BTreeMap<&str, Vec<&NotCompared>> = BTreeMap::new();
    for entry in &diff.scope.not_compared {
        accounts.entry(&entry.account_id).or_default().push(entry);
    }
    accounts
        .into_values()
        .map(|entries| {
            let first = entries[0];
            let regions: Vec<&str> = entries.iter().filter_map(|e| e.region.as_deref()).collect();
            let regions = if regions.is_empty() {
                "all".to_string()
            } else {
                regions.join(", ")
            };
            let mut reasons: Vec<&str> = entries.iter().map(|e| e.reason.as_str()).collect();
            reasons.dedup();
            let label = account_label(&first.account_id, first.account_name.as_deref());
            (label, regions, reasons.join("; "))
        })
        .collect()
}

enum Line<'a> {
    Change(&'a crate::diff::Change),
    Unknown(String, String, String),
}

fn write_table(diff: &Diff, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "{}", printable(&summary_line(diff)))?;
    let mut lines: Vec<Line> = diff.changes.iter().map(Line::Change).collect();
    lines.extend(
        not_compared_by_account(diff)
            .into_iter()
            .map(|(account, regions, reason)| Line::Unknown(account, regions, reason)),
    );
    if lines.is_empty() {
        writeln!(out, "\nNo changes.")?;
        return Ok(());
    }
    writeln!(out)?;
    let header = ["", "Change", "Domain", "Account", "Region", "Detail", "ARN"];
    rows::write(out, &header, &lines, |line| match line {
        Line::Change(c) => vec![
            Cell::new(c.kind.marker().to_string()),
            Cell::new(c.kind.as_str()),
            Cell::new(c.domain_name.as_deref().unwrap_or("-")),
            Cell::new(c.account_label()),
            Cell::new(c.region.as_deref().unwrap_or("-")),
            Cell::new(c.detail()),
            Cell::new(c.arn.as_deref().unwrap_or("-")),
        ],
        Line::Unknown(account, regions, reason) => vec![
            Cell::new("?"),
            Cell::new("not compared"),
            Cell::new("-"),
            Cell::new(account.as_str()),
            Cell::new(regions.as_str()),
            Cell::new(reason.as_str()),
            Cell::new("-"),
        ],
    })?;
    Ok(())
}

pub const CHANGE_HEADER: [&str; 9] = [
    "kind",
    "arn",
    "account_id",
    "account_name",
    "region",
    "domain_name",
    "field",
    "before",
    "after",
];

/// A value in a cell: strings bare, null empty, anything else as JSON.
fn cell_value(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn write_csv(diff: &Diff, cells: CsvCells, out: &mut dyn Write) -> Result<()> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(CHANGE_HEADER)?;
    for c in &diff.changes {
        let row = [
            c.kind.as_str().to_string(),
            c.arn.clone().unwrap_or_default(),
            c.account_id.clone(),
            c.account_name.clone().unwrap_or_default(),
            c.region.clone().unwrap_or_default(),
            c.domain_name.clone().unwrap_or_default(),
            c.field.clone().unwrap_or_default(),
            cell_value(&c.before),
            cell_value(&c.after),
        ];
        writer.write_record(row.into_iter().map(|text| cells.cell(text)))?;
    }
    writer.flush()?;
    Ok(())
}
