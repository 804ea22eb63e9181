//! Renderings of one `Report`: table, JSON, NDJSON, CSV, HTML, and the `--report-dir` artifacts;
//! and of one `Diff` (`diff.rs`). Each format lives in its own file and only turns the
//! result into bytes.

mod artifacts;
mod csv;
pub mod diff;
pub mod endpoints;
mod html;
mod json;
mod rows;
mod table;

use std::io::Write;

use anyhow::Result;

pub use artifacts::{check_report_dir, write_artifacts};
pub use table::new_table;

use crate::plan::{CsvCells, ListChoice, OutputFormat};
use crate::report::{printable, Certificate, Report};

/// How to render on stdout.
#[derive(Debug, Clone, Copy)]
pub struct Rendering {
    pub format: OutputFormat,
    pub list: Option<ListChoice>,
    /// Colour by urgency (table only; a TTY without NO_COLOR).
    pub color: bool,
    /// Fit the table to a terminal this many columns wide (None: full lines, for grep).
    pub width: Option<usize>,
    pub csv_cells: CsvCells,
}

pub fn render(report: &Report, rendering: Rendering, out: &mut dyn Write) -> Result<()> {
    let list = rendering.list.unwrap_or(ListChoice::All);
    match rendering.format {
        OutputFormat::Table => table::write(
            report,
            rendering.list,
            rendering.color,
            rendering.width,
            out,
        ),
        OutputFormat::Json => json::write_report(report, out),
        OutputFormat::Ndjson => json::write_lines(selected(report, list), out),
        OutputFormat::Csv => {
            csv::write_certificates(selected(report, list), rendering.csv_cells, out)
        }
        OutputFormat::Html => html::write(report, out),
    }
}

/// The report's errors as stderr lines for the formats whose stdout is data: alike errors
/// grouped, AWS text made printable. `certaudit: error [place] stage code: message`.
pub fn write_error_lines(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for group in report.error_groups() {
        let e = group.first;
        let place = report.error_place(e);
        let place = if place.is_empty() {
            String::new()
        } else {
            format!(" [{place}]")
        };
        let line = format!(
            "certaudit: error{place} {} {}: {}",
            e.stage.as_str(),
            e.code,
            group.message()
        );
        writeln!(out, "{}", printable(&line))?;
    }
    Ok(())
}

/// Whether writing failed because the reader went away (`certaudit scan | head -1`): that
/// ends quietly. The writers wrap the I/O error each their own way.
pub fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let kind = if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            Some(io.kind())
        } else if let Some(json) = cause.downcast_ref::<serde_json::Error>() {
            json.io_error_kind()
        } else if let Some(csv) = cause.downcast_ref::<::csv::Error>() {
            match csv.kind() {
                ::csv::ErrorKind::Io(io) => Some(io.kind()),
                _ => None,
            }
        } else {
            None
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// The certificates of one list, in report order.
pub fn selected(report: &Report, list: ListChoice) -> impl Iterator<Item = &Certificate> {
    report.certificates.iter().filter(move |c| match list {
        ListChoice::All => true,
        ListChoice::Expiring => c.expiring,
        ListChoice::Imported => c.imported,
        ListChoice::WillNotRenew => c.will_not_renew,
    })
}

/// Write to stdout through one buffer; a reader that went away ends quietly.
pub fn write_stdout(write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match write(&mut out).and_then(|()| Ok(out.flush()?)) {
        Err(e) if !is_closed_pipe(&e) => Err(e.context("cannot write to stdout")),
        _ => Ok(()),
    }
}
