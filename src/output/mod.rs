//! Renderings of one `Report`: table, JSON, NDJSON, CSV, HTML, and the `--report-dir` artifacts;
//! and of one `Diff` (`diff.rs`). Each format lives in its own file and only turns the
//! result into bytes.

mod artifacts;
mod csv;
pub mod ct;
pub mod diff;
pub mod endpoints;
mod html;
mod json;
mod rows;
mod table;
pub mod terminal;

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
    /// The terminal's width in columns (None: not a terminal; full lines, for grep). Prose
    /// always fits it; the table too unless `wide`.
    pub width: Option<usize>,
    /// Every table column at full width, even on a terminal (`--wide`).
    pub wide: bool,
    pub csv_cells: CsvCells,
}

pub fn render(report: &Report, rendering: Rendering, out: &mut dyn Write) -> Result<()> {
    let list = rendering.list.unwrap_or(ListChoice::All);
    match rendering.format {
        OutputFormat::Table => table::write(report, rendering, out),
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
    write_error_lines_fitted(report, None, out)
}

/// The same, each line broken at spaces to a terminal `width` columns wide when given.
pub fn write_error_lines_fitted(
    report: &Report,
    width: Option<usize>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
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
        writeln!(out, "{}", terminal::prose(&printable(&line), width))?;
    }
    Ok(())
}

/// Stdout through one buffer, noting when its reader has gone away (`certaudit scan | head
/// -1`): that ends quietly, whichever writer (table, JSON, CSV) met it and however it wrapped
/// the I/O error.
pub struct Stdout {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    closed: bool,
}

impl Stdout {
    pub fn lock() -> Stdout {
        Stdout {
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            closed: false,
        }
    }

    /// A write or flush failed because nobody reads stdout any more.
    pub fn closed(&self) -> bool {
        self.closed
    }

    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        }
        result
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.out.write(buf);
        self.note(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = self.out.flush();
        self.note(flushed)
    }
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
    let mut out = Stdout::lock();
    match write(&mut out).and_then(|()| Ok(out.flush()?)) {
        Err(e) if !out.closed() => Err(e.context("cannot write to stdout")),
        _ => Ok(()),
    }
}
