//! Certificate Transparency's renderings (SPEC §12): the table section "Not in your inventory
//! (CT)", `ct_shadow.csv`, and `certaudit ct`'s stdout (table, JSON, NDJSON, CSV).

use std::io::Write;

use anyhow::Result;

use super::rows::{self, Cell, Colour, Column, Give};
use super::terminal;
use crate::plan::{CsvCells, DataFormat};
use crate::report::ct::{CtSection, CtStatus, Shadow, ShadowKind};

pub const HEADER: [&str; 12] = [
    "kind",
    "domain",
    "names",
    "issuer",
    "not_before",
    "not_after",
    "days_to_expiry",
    "expiring",
    "revoked",
    "serial",
    "sha256",
    "link",
];

/// `ct_shadow.csv`: every issuance in no inventory; names `;`-joined (DNS names hold none).
pub fn write_csv(section: &CtSection, cells: CsvCells, out: &mut dyn Write) -> Result<()> {
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    for s in &section.shadow {
        let row = [
            s.kind.as_str().to_string(),
            s.domain.clone(),
            s.names.join(";"),
            s.issuer.clone(),
            time(s.not_before),
            time(s.not_after),
            s.days_to_expiry.to_string(),
            s.expiring.to_string(),
            s.revoked.map(|r| r.to_string()).unwrap_or_default(),
            s.serial.clone(),
            s.sha256.clone().unwrap_or_default(),
            s.link.clone(),
        ];
        writer.write_record(row.into_iter().map(|c| cells.cell(c)))?;
    }
    writer.flush()?;
    Ok(())
}

/// The heading: what was found, and how the domains went.
pub fn heading(section: &CtSection) -> String {
    let count = |status| {
        section
            .domains
            .iter()
            .filter(|d| d.status == status)
            .count()
    };
    let (failed, truncated) = (count(CtStatus::Failed), count(CtStatus::Truncated));
    let mut line = format!(
        "Not in your inventory (CT) ({}): {} shadow, {} expiring; {} asked ({})",
        section.shadow.len(),
        section.shadow_count(),
        section.expiring_count(),
        crate::report::counted(section.domains.len(), "domain"),
        section.source
    );
    if failed + truncated > 0 {
        line.push_str(&format!(
            ", {failed} failed, {truncated} truncated — INCOMPLETE"
        ));
    }
    if !section.inventory_complete {
        line.push_str(
            " — the inventory is incomplete: some of these may be in an account or region the \
             scan could not read",
        );
    }
    line
}

/// The shadow certificates as rows: soonest first, superseded ones said so.
pub fn write_rows(
    section: &CtSection,
    color: bool,
    width: Option<usize>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let column = |title, give| Column { title, give };
    let columns = [
        column("Days", Give::Keep),
        column("Names", Give::Shrink),
        column("Kind", Give::Keep),
        column("Issuer", Give::Drop(1)),
        column("Link", Give::Drop(0)),
    ];
    let rows: Vec<&Shadow> = section.shadow.iter().collect();
    rows::write_fitted(
        out,
        &columns,
        &rows,
        |s| {
            let colour = match (color, s.kind) {
                (true, ShadowKind::Shadow) if s.days_to_expiry <= 7 => Some(Colour::Red),
                (true, ShadowKind::Shadow) if s.expiring => Some(Colour::Yellow),
                _ => None,
            };
            vec![
                Cell::new(s.days_to_expiry.to_string()).coloured(colour),
                Cell::new(names(s)),
                Cell::new(s.kind.as_str()),
                Cell::new(s.issuer.clone()),
                Cell::new(s.link.clone()),
            ]
        },
        width,
    )
}

/// "www.example.com (+2 more)".
fn names(s: &Shadow) -> String {
    match s.names.split_first() {
        Some((first, [])) => first.clone(),
        Some((first, rest)) => format!("{first} (+{} more)", rest.len()),
        None => "-".into(),
    }
}

/// `certaudit ct`'s stdout.
pub fn render(
    section: &CtSection,
    format: DataFormat,
    cells: CsvCells,
    color: bool,
    width: Option<usize>,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        DataFormat::Table => {
            writeln!(out, "{}", terminal::prose(&heading(section), width))?;
            if !section.shadow.is_empty() {
                write_rows(section, color, width, out)?;
            }
            for d in section
                .domains
                .iter()
                .filter(|d| d.status != CtStatus::Complete)
            {
                let why = d.error.as_deref().unwrap_or("-");
                let line = format!("  {} {}: {why}", d.domain, d.status.as_str());
                writeln!(
                    out,
                    "{}",
                    terminal::prose(&crate::report::printable(&line), width)
                )?;
            }
        }
        DataFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, section)?;
            writeln!(out)?;
        }
        DataFormat::Ndjson => {
            for s in &section.shadow {
                serde_json::to_writer(&mut *out, s)?;
                writeln!(out)?;
            }
        }
        DataFormat::Csv => write_csv(section, cells, out)?,
    }
    Ok(())
}
