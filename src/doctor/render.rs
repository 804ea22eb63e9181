//! `doctor`'s renderings: a table with one row per account (what works, what does not), then
//! each problem with its AWS error and likely fix; or the whole diagnosis as JSON.

use std::io::Write;

use anyhow::Result;

use super::model::{Check, CheckKind, Diagnosis, Verdict};
use crate::output::new_table;
use crate::report::{account_label, printable};

pub fn write_json(diagnosis: &Diagnosis, out: &mut dyn Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, diagnosis)?;
    writeln!(out)?;
    Ok(())
}

/// The table with every control character but line breaks made printable: account names,
/// AWS messages and region names come from outside.
pub fn write_table(diagnosis: &Diagnosis, out: &mut dyn Write) -> Result<()> {
    let mut text = Vec::new();
    write_raw_table(diagnosis, &mut text)?;
    let text = String::from_utf8_lossy(&text);
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(line) => writeln!(out, "{}", printable(line))?,
            None => write!(out, "{}", printable(line))?,
        }
    }
    Ok(())
}

fn write_raw_table(diagnosis: &Diagnosis, out: &mut dyn Write) -> Result<()> {
    let s = &diagnosis.summary;
    let external_id = if diagnosis.external_id_given {
        "ExternalId given"
    } else {
        "no ExternalId"
    };
    writeln!(
        out,
        "{} accounts checked: {} ok, {} failed, {} skipped (role {}, {external_id}){}",
        s.accounts_targeted,
        s.accounts_ok,
        s.accounts_failed,
        s.accounts_skipped,
        diagnosis.role_name,
        if s.checks_failed > 0 {
            " — a scan now would be INCOMPLETE"
        } else {
            ""
        },
    )?;
    let mut table = new_table(&[
        "Account",
        "Name",
        "Access",
        "Regions",
        "ACM reads",
        "IAM, PCA",
        "Result",
    ]);
    for checks in by_account(&diagnosis.checks) {
        table.add_row(account_row(checks));
    }
    writeln!(out, "\n{table}")?;
    // A --regions name that is no region fails in every account: one problem, told once.
    let mut unknown_told = std::collections::HashSet::new();
    let failed: Vec<&Check> = diagnosis
        .checks
        .iter()
        .filter(|c| c.result == Verdict::Failed)
        .filter(|c| !c.is_unknown_region() || unknown_told.insert(&c.region))
        .collect();
    writeln!(out, "\nProblems ({})", failed.len())?;
    if failed.is_empty() {
        writeln!(out, "  none")?;
    }
    for c in failed {
        let place = match &c.region {
            Some(region) if c.is_unknown_region() => format!("--regions {region}"),
            Some(region) => format!(
                "{} {region}",
                account_label(&c.account_id, c.account_name.as_deref())
            ),
            None => account_label(&c.account_id, c.account_name.as_deref()),
        };
        writeln!(
            out,
            "  {place} {}: {}: {}",
            c.check.as_str(),
            c.code.as_deref().unwrap_or("-"),
            c.message.as_deref().unwrap_or("-")
        )?;
        writeln!(out, "    fix: {}", c.fix.as_deref().unwrap_or("-"))?;
    }
    Ok(())
}

/// The checks, one slice per account (they come sorted by account).
fn by_account(checks: &[Check]) -> impl Iterator<Item = &[Check]> {
    checks.chunk_by(|a, b| a.account_id == b.account_id)
}

/// One account's row: who it is, then one cell per stage of access, then the verdict.
fn account_row(checks: &[Check]) -> Vec<String> {
    let first = &checks[0];
    vec![
        first.account_id.clone(),
        first.account_name.clone().unwrap_or_else(|| "-".into()),
        access_cell(checks),
        regions_cell(checks),
        acm_cell(checks),
        other_sources(checks),
        result_cell(checks),
    ]
}

fn find(checks: &[Check], kind: CheckKind) -> Option<&Check> {
    checks.iter().find(|c| c.check == kind)
}

/// "ok", "skipped", "not enabled", or "FAILED AccessDenied".
fn verdict(c: &Check) -> String {
    match c.result {
        Verdict::Failed => format!("FAILED {}", c.code.as_deref().unwrap_or("")),
        other => other.as_str().to_string(),
    }
}

/// The role assumed, or the caller's own credentials when there is no role to assume.
fn access_cell(checks: &[Check]) -> String {
    match (
        find(checks, CheckKind::AssumeRole),
        find(checks, CheckKind::CallerCredentials),
    ) {
        (Some(c), _) => verdict(c),
        (None, Some(c)) if c.result == Verdict::Ok => "own credentials".into(),
        (None, Some(c)) => verdict(c),
        (None, None) => "-".into(),
    }
}

/// "17 enabled", and the regions not enabled in this account.
fn regions_cell(checks: &[Check]) -> String {
    match find(checks, CheckKind::DescribeRegions) {
        Some(c) if c.result == Verdict::Ok => {
            let not_enabled: Vec<&str> = checks
                .iter()
                .filter(|c| c.result == Verdict::NotEnabled)
                .filter_map(|c| c.region.as_deref())
                .collect();
            // The regions read by either per-region check (`--sources` may leave out one).
            let scanned = checks
                .iter()
                .filter(|c| {
                    matches!(
                        c.check,
                        CheckKind::ListCertificates | CheckKind::ListCertificateAuthorities
                    )
                })
                .filter_map(|c| c.region.as_deref())
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            if not_enabled.is_empty() {
                format!("{scanned} enabled")
            } else {
                format!("{scanned} enabled, not: {}", not_enabled.join(" "))
            }
        }
        Some(c) => verdict(c),
        None => "-".into(),
    }
}

/// ACM's listing per region: "17/17 ok", or which regions failed.
fn acm_cell(checks: &[Check]) -> String {
    let reads: Vec<&Check> = checks
        .iter()
        .filter(|c| c.check == CheckKind::ListCertificates)
        .collect();
    let reads_ok = reads.iter().filter(|c| c.result == Verdict::Ok).count();
    if reads.is_empty() {
        "-".into()
    } else if reads_ok == reads.len() {
        format!("{reads_ok}/{} ok", reads.len())
    } else {
        let failed: Vec<&str> = reads
            .iter()
            .filter(|c| c.result == Verdict::Failed)
            .filter_map(|c| c.region.as_deref())
            .collect();
        format!("{reads_ok}/{} ok, FAILED {}", reads.len(), failed.join(" "))
    }
}

/// "ok", "FAILED", or why the account was skipped. An unknown --regions name is told once
/// under Problems, not held against every account.
fn result_cell(checks: &[Check]) -> String {
    if let Some(skip) = find(checks, CheckKind::Account) {
        format!("skipped: {}", skip.message.as_deref().unwrap_or(""))
    } else if checks
        .iter()
        .any(|c| c.result == Verdict::Failed && !c.is_unknown_region())
    {
        "FAILED".into()
    } else {
        "ok".into()
    }
}

/// IAM's server certificates and the Private CAs: "ok, 17/17 ok", or what failed.
fn other_sources(checks: &[Check]) -> String {
    let iam = match find(checks, CheckKind::ListServerCertificates) {
        Some(c) => verdict(c),
        None => return "-".into(),
    };
    let pca: Vec<&Check> = checks
        .iter()
        .filter(|c| c.check == CheckKind::ListCertificateAuthorities)
        .collect();
    let ok = pca.iter().filter(|c| c.result == Verdict::Ok).count();
    match ok == pca.len() {
        true => format!("{iam}, {ok}/{} ok", pca.len()),
        false => format!("{iam}, {ok}/{} ok, FAILED", pca.len()),
    }
}
