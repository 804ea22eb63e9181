//! `--report-dir`: every file always written, header included, so a CI job can archive them
//! unconditionally. The directory is checked before any AWS call.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use super::{csv, json, selected};
use crate::cli::ListChoice;
use crate::report::Report;

/// Create the directory and prove it is writable, or fail with a message that names it.
pub fn check_report_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create --report-dir {}: choose a writable directory",
            dir.display()
        )
    })?;
    let probe = dir.join(".certaudit-write-test");
    File::create(&probe)
        .and_then(|mut f| f.write_all(b"ok"))
        .with_context(|| {
            format!(
                "--report-dir {} is not writable: choose a writable directory",
                dir.display()
            )
        })?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

fn write_file(
    dir: &Path,
    name: &str,
    body: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let path = dir.join(name);
    let file = File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = BufWriter::new(file);
    body(&mut out).with_context(|| format!("cannot write {}", path.display()))?;
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn write_artifacts(report: &Report, dir: &Path) -> Result<()> {
    write_file(dir, "report.json", |out| json::write_report(report, out))?;
    let lists = [
        ("inventory.csv", ListChoice::All),
        ("expiring.csv", ListChoice::Expiring),
        ("imported.csv", ListChoice::Imported),
        ("will_not_renew.csv", ListChoice::WillNotRenew),
    ];
    for (name, list) in lists {
        write_file(dir, name, |out| {
            csv::write_certificates(selected(report, list), out)
        })?;
    }
    write_file(dir, "errors.csv", |out| {
        csv::write_errors(report.errors.iter(), out)
    })
}
