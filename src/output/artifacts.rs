//! `--report-dir`: every file always written, header included, so a CI job can archive them
//! unconditionally. The directory is checked before any AWS call. Each file is written under a
//! temporary name beside it and renamed into place: a full disk or a kill mid-write leaves the
//! previous file (or none), never a truncated one.

use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

use super::csv;
use super::{endpoints, html, json, selected};
use crate::plan::CsvCells;
use crate::plan::ListChoice;
use crate::report::Report;

/// Create the directory and prove it is writable, or fail with a message that names it.
pub fn check_report_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create --report-dir {}: choose a writable directory",
            dir.display()
        )
    })?;
    // Removed when dropped, whatever happens.
    temporary(dir)
        .and_then(|mut probe| probe.write_all(b"ok"))
        .with_context(|| {
            format!(
                "--report-dir {} is not writable: choose a writable directory",
                dir.display()
            )
        })?;
    Ok(())
}

fn temporary(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".certaudit-")
        .suffix(".tmp")
        .tempfile_in(dir)
}

/// Write `name` in `dir` whole or not at all: to a temporary file, synced, then renamed over
/// the old one. On failure the temporary file is removed.
fn write_file(
    dir: &Path,
    name: &str,
    body: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let path = dir.join(name);
    let failed = || {
        format!(
            "cannot write {} (nothing was left half-written; free space or fix permissions and \
             run again)",
            path.display()
        )
    };
    let file = temporary(dir).with_context(failed)?;
    let mut out = BufWriter::new(file);
    body(&mut out).with_context(failed)?;
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(failed)?;
    // Temporary files are private (0600); a report is as readable as any file written here.
    let readable = std::fs::Permissions::from_mode(0o644);
    file.as_file()
        .set_permissions(readable)
        .with_context(failed)?;
    file.as_file().sync_all().with_context(failed)?;
    file.persist(&path)
        .map_err(|e| e.error)
        .with_context(failed)?;
    Ok(())
}

/// Every artifact, each whole or not at all. One that cannot be written does not stop the
/// others; the error names every file that failed.
pub fn write_artifacts(report: &Report, dir: &Path, csv_cells: CsvCells) -> Result<()> {
    let mut failed: Vec<anyhow::Error> = Vec::new();
    let mut keep = |written: Result<()>| {
        if let Err(e) = written {
            failed.push(e);
        }
    };
    keep(write_file(dir, "report.json", |out| {
        json::write_report(report, out)
    }));
    let lists = [
        ("inventory.csv", ListChoice::All),
        ("expiring.csv", ListChoice::Expiring),
        ("imported.csv", ListChoice::Imported),
        ("will_not_renew.csv", ListChoice::WillNotRenew),
    ];
    for (name, list) in lists {
        keep(write_file(dir, name, |out| {
            csv::write_certificates(selected(report, list), csv_cells, out)
        }));
    }
    // Always written, as the certificate lists are: a CI job archives what it expects.
    keep(write_file(dir, "certificate_authorities.csv", |out| {
        csv::write_authorities(report.certificate_authorities.iter(), csv_cells, out)
    }));
    keep(write_file(dir, "errors.csv", |out| {
        csv::write_errors(report.errors.iter(), csv_cells, out)
    }));
    keep(write_file(dir, "report.html", |out| {
        html::write(report, out)
    }));
    if let Some(section) = &report.ct {
        keep(write_file(dir, "ct_shadow.csv", |out| {
            super::ct::write_csv(section, csv_cells, out)
        }));
    }
    if let Some(probed) = &report.endpoints {
        keep(write_file(dir, "endpoints.csv", |out| {
            endpoints::write_csv(probed, csv_cells, out)
        }));
    }
    match failed.len() {
        0 => Ok(()),
        _ => {
            let all: Vec<String> = failed.iter().map(|e| format!("{e:#}")).collect();
            Err(anyhow::anyhow!(all.join("; ")))
        }
    }
}
