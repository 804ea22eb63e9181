//! Renderings of probed endpoints: the table (worst first), a JSON document with a summary,
//! NDJSON (one endpoint per line) and CSV (`endpoints.csv` in `--report-dir` too).

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::rows::{self, Cell};
use super::terminal;
use crate::plan::{CsvCells, DataFormat};
use crate::report::endpoint::{Endpoint, EndpointStatus};
use crate::report::{counted, printable};

pub const SCHEMA_VERSION: u32 = 1;

/// How many endpoints ended in each status.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct EndpointSummary {
    pub endpoints: usize,
    pub ok: usize,
    pub warning: usize,
    pub critical: usize,
    pub unreachable: usize,
    pub skipped: usize,
}

impl EndpointSummary {
    pub fn of(endpoints: &[Endpoint]) -> Self {
        let count = |s| endpoints.iter().filter(|e| e.status == s).count();
        EndpointSummary {
            endpoints: endpoints.len(),
            ok: count(EndpointStatus::Ok),
            warning: count(EndpointStatus::Warning),
            critical: count(EndpointStatus::Critical),
            unreachable: count(EndpointStatus::Unreachable),
            skipped: count(EndpointStatus::Skipped),
        }
    }
}

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    generated_at: DateTime<Utc>,
    summary: EndpointSummary,
    endpoints: &'a [Endpoint],
}

pub fn render(
    endpoints: &[Endpoint],
    generated_at: DateTime<Utc>,
    format: DataFormat,
    cells: CsvCells,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        DataFormat::Table => write_table(endpoints, out),
        DataFormat::Json => {
            let document = Document {
                schema_version: SCHEMA_VERSION,
                generated_at,
                summary: EndpointSummary::of(endpoints),
                endpoints,
            };
            serde_json::to_writer_pretty(&mut *out, &document)?;
            writeln!(out)?;
            Ok(())
        }
        DataFormat::Ndjson => {
            for e in endpoints {
                serde_json::to_writer(&mut *out, e)?;
                writeln!(out)?;
            }
            Ok(())
        }
        DataFormat::Csv => write_csv(endpoints, cells, out),
    }
}

fn summary_line(endpoints: &[Endpoint]) -> String {
    let s = EndpointSummary::of(endpoints);
    let mut line = format!(
        "{}: {} ok, {} warning, {} critical, {} unreachable, {} skipped",
        counted(s.endpoints, "endpoint"),
        s.ok,
        s.warning,
        s.critical,
        s.unreachable,
        s.skipped
    );
    if s.unreachable > 0 {
        line.push_str(" — INCOMPLETE");
    }
    line
}

/// What the table's last column says: the findings, or why nothing was judged.
pub(super) fn detail(e: &Endpoint) -> String {
    if !e.findings.is_empty() {
        let words: Vec<&str> = e.findings.iter().map(|f| f.as_str()).collect();
        return words.join(", ");
    }
    match (&e.error, &e.reason) {
        (Some(error), _) => format!("{}: {}", error.code, error.message),
        (None, Some(reason)) => reason.clone(),
        (None, None) => String::new(),
    }
}

/// How the served leaf compares with the inventory (`same`, `different`, `none`), or "-".
pub(super) fn acm_match(e: &Endpoint) -> String {
    e.acm.as_ref().map_or("-".into(), |a| {
        serde_json::to_value(a.matched)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    })
}

fn write_table(endpoints: &[Endpoint], out: &mut dyn Write) -> Result<()> {
    writeln!(out, "{}", summary_line(endpoints))?;
    if endpoints.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    write_rows(endpoints, false, None, out)?;
    Ok(())
}

/// The endpoints as table rows, worst first: the `endpoints` command's table, and the
/// section of a scan's table after `--probe`, fitted there to the terminal (`width`).
pub(super) fn write_rows(
    endpoints: &[Endpoint],
    color: bool,
    width: Option<usize>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use rows::{Colour, Column, Give};
    let mut sorted: Vec<&Endpoint> = endpoints.iter().collect();
    sorted.sort_by_key(|e| e.status);
    let column = |title, give| Column { title, give };
    let header = [
        column("Status", Give::Keep),
        column("Endpoint", Give::Shrink),
        column("Address", Give::Drop(1)),
        column("Days", Give::Keep),
        column("ACM", Give::Drop(2)),
        column("Issuer", Give::Drop(0)),
        column("Findings", Give::Shrink),
    ];
    let colour = |status| match status {
        _ if !color => None,
        EndpointStatus::Critical | EndpointStatus::Unreachable => Some(Colour::Red),
        EndpointStatus::Warning => Some(Colour::Yellow),
        EndpointStatus::Ok | EndpointStatus::Skipped => None,
    };
    let cells = |e: &&Endpoint| {
        let served = e.served.as_ref();
        vec![
            Cell::new(e.status.as_str()).coloured(colour(e.status)),
            Cell::new(e.place()),
            Cell::new(e.address.clone().unwrap_or_else(|| "-".into())),
            Cell::new(served.map_or("-".into(), |s| s.days_to_expiry.to_string())),
            Cell::new(acm_match(e)),
            Cell::new(served.map_or("-".into(), |s| s.issuer.clone())),
            Cell::new(detail(e)),
        ]
    };
    rows::write_fitted(out, &header, &sorted, cells, width)
}

/// The endpoints not reached, one stderr line each, for the formats whose stdout is data:
/// they make the run incomplete (exit 3), and this says which. Fitted to a terminal `width`.
pub fn write_unreachable(
    endpoints: &[Endpoint],
    width: Option<usize>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for e in endpoints
        .iter()
        .filter(|e| e.status == EndpointStatus::Unreachable)
    {
        let why = e
            .error
            .as_ref()
            .map(|x| format!("{}: {}", x.code, x.message))
            .unwrap_or_default();
        let line = format!("certaudit: unreachable {} {why}", e.place());
        writeln!(out, "{}", terminal::prose(&printable(&line), width))?;
    }
    Ok(())
}

pub const ENDPOINT_HEADER: [&str; 23] = [
    "host",
    "port",
    "sni",
    "address",
    "status",
    "reason",
    "tls_version",
    "serial",
    "subject",
    "issuer",
    "sans",
    "not_before",
    "not_after",
    "days_to_expiry",
    "sha256",
    "chain_trusted",
    "chain_not_after",
    "hostname_match",
    "acm_arn",
    "acm_serial",
    "acm_match",
    "findings",
    "error",
];

fn row(e: &Endpoint) -> Vec<String> {
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let served = e.served.as_ref();
    let text =
        |f: fn(&crate::report::endpoint::Served) -> String| served.map(f).unwrap_or_default();
    let acm = e.acm.as_ref();
    vec![
        e.host.clone(),
        e.port.to_string(),
        e.sni.clone(),
        e.address.clone().unwrap_or_default(),
        e.status.as_str().to_string(),
        e.reason.clone().unwrap_or_default(),
        e.tls_version.clone().unwrap_or_default(),
        text(|s| s.serial.clone()),
        text(|s| s.subject.clone()),
        text(|s| s.issuer.clone()),
        text(|s| s.sans.join(";")),
        time(served.map(|s| s.not_before)),
        time(served.map(|s| s.not_after)),
        text(|s| s.days_to_expiry.to_string()),
        text(|s| s.sha256.clone()),
        e.chain_trusted.to_string(),
        time(e.chain_not_after),
        e.hostname_match.to_string(),
        acm.map(|a| a.arn.clone()).unwrap_or_default(),
        acm.and_then(|a| a.serial.clone()).unwrap_or_default(),
        acm.map(|_| acm_match(e)).unwrap_or_default(),
        e.findings
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        e.error
            .as_ref()
            .map(|x| format!("{}: {}", x.code, x.message))
            .unwrap_or_default(),
    ]
}

pub fn write_csv(endpoints: &[Endpoint], cells: CsvCells, out: &mut dyn Write) -> Result<()> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(ENDPOINT_HEADER)?;
    for e in endpoints {
        writer.write_record(row(e).into_iter().map(|text| cells.cell(text)))?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_writes_an_ipv6_endpoint_as_bracketed_address_then_port() {
        let mut e = Endpoint::unprobed("::1", 5527, "::1", EndpointStatus::Unreachable);
        e.address = Some("::1".into());
        let mut out = Vec::new();
        render(
            &[e],
            Utc::now(),
            DataFormat::Table,
            CsvCells::raw_if(false),
            &mut out,
        )
        .unwrap();
        let table = String::from_utf8(out).unwrap();
        assert!(table.contains("[::1]:5527"), "{table}");
        assert!(!table.contains("::1:5527"), "{table}");
    }
}
