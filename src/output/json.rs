//! JSON: the whole report as one document; NDJSON: one certificate object per line.

use std::io::Write;

use anyhow::Result;

use crate::report::{Certificate, Report};

pub fn write_report(report: &Report, out: &mut dyn Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)?;
    Ok(())
}

pub fn write_lines<'a>(
    certificates: impl Iterator<Item = &'a Certificate>,
    out: &mut dyn Write,
) -> Result<()> {
    for certificate in certificates {
        serde_json::to_writer(&mut *out, certificate)?;
        writeln!(out)?;
    }
    Ok(())
}
