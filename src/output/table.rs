//! The terminal view: a summary line, then "Expiring within N days" (expired first),
//! "Imported — never auto-renew", "Will not renew", skipped accounts and "Errors".
//! `--list` shows one list instead. After `--probe`, the endpoints probed, worst first.
//! Colour by urgency only when asked (a TTY, no NO_COLOR).

use std::io::Write;

use anyhow::Result;
use comfy_table::{presets, ContentArrangement, Table, TableComponent};

use super::endpoints::EndpointSummary;
use super::rows::{self, Cell, Colour, Column, Give};
use super::{selected, terminal, Rendering};
use crate::plan::ListChoice;
use crate::report::attention::{renewal_problem, Urgency};
use crate::report::endpoint::Endpoint;
use crate::report::{
    account_label, counted, printable, AccountState, Certificate, CertificateAuthority, ErrorGroup,
    FailureKind, Report, ScanError, Stage,
};

/// The table: fitted to the terminal's width unless `--wide`, and every sentence (summary,
/// headings, hints) broken at spaces to that width; piped, full lines.
pub fn write(report: &Report, rendering: Rendering, out: &mut dyn Write) -> Result<()> {
    let Rendering {
        list, color, width, ..
    } = rendering;
    let fit = width.filter(|_| !rendering.wide);
    let prose = |out: &mut dyn Write, text: &str| writeln!(out, "{}", terminal::prose(text, width));
    prose(out, &summary_line(report))?;
    let sections: Vec<(String, ListChoice)> = match list {
        Some(one) => vec![(title(report, one), one)],
        None => [
            ListChoice::Expiring,
            ListChoice::Imported,
            ListChoice::WillNotRenew,
        ]
        .into_iter()
        .map(|l| (title(report, l), l))
        .collect(),
    };
    for (heading, choice) in sections {
        let rows: Vec<&Certificate> = selected(report, choice).collect();
        writeln!(out)?;
        prose(out, &format!("{heading} ({})", rows.len()))?;
        if rows.is_empty() {
            writeln!(out, "  none")?;
        } else {
            write_certificates(out, &rows, choice, color, fit)?;
        }
    }
    if list.is_none() && !report.certificate_authorities.is_empty() {
        write_authorities(report, fit, out, &prose)?;
    }
    if let (None, Some(section)) = (list, &report.ct) {
        writeln!(out)?;
        prose(out, &super::ct::heading(section))?;
        if section.shadow.is_empty() {
            writeln!(out, "  none")?;
        } else {
            super::ct::write_rows(section, color, fit, out)?;
        }
    }
    if let Some(endpoints) = &report.endpoints {
        writeln!(out)?;
        prose(out, &endpoints_heading(endpoints))?;
        if !endpoints.is_empty() {
            super::endpoints::write_rows(endpoints, color, fit, out)?;
        }
    }
    write_accounts_and_errors(report, width, fit, out)
}

/// "Private CAs needing attention": expiring, expired or not ACTIVE while certificates depend
/// on them (SPEC §14).
fn write_authorities(
    report: &Report,
    fit: Option<usize>,
    out: &mut dyn Write,
    prose: &dyn Fn(&mut dyn Write, &str) -> std::io::Result<()>,
) -> Result<()> {
    let found: Vec<&CertificateAuthority> = report
        .certificate_authorities
        .iter()
        .filter(|a| a.needs_attention)
        .collect();
    writeln!(out)?;
    prose(
        out,
        &format!("Private CAs needing attention ({})", found.len()),
    )?;
    if found.is_empty() {
        writeln!(out, "  none")?;
        return Ok(());
    }
    let column = |title, give| Column { title, give };
    let columns = [
        column("Days", Give::Keep),
        column("CA", Give::Shrink),
        column("Account", Give::Keep),
        column("Region", Give::Keep),
        column("Status", Give::Drop(1)),
        column("Why", Give::Shrink),
        column("ARN", Give::Drop(0)),
    ];
    // On a terminal the account is its name, as in the certificate lists.
    let account = |a: &CertificateAuthority| match (fit, &a.account_name) {
        (Some(_), Some(name)) => name.to_string(),
        _ => a.account_label(),
    };
    rows::write_fitted(
        out,
        &columns,
        &found,
        |a| {
            vec![
                Cell::new(a.days_to_expiry.map_or("-".into(), |d| d.to_string())),
                Cell::new(or_dash(&a.subject)),
                Cell::new(account(a)),
                Cell::new(a.region.to_string()),
                Cell::new(or_dash(&a.status)),
                Cell::new(a.why()),
                Cell::new(a.arn.clone()),
            ]
        },
        fit,
    )?;
    Ok(())
}

/// The heading of what `--probe` found: how many endpoints ended in each status.
fn endpoints_heading(endpoints: &[Endpoint]) -> String {
    let s = EndpointSummary::of(endpoints);
    let mut line = format!(
        "Endpoints probed ({}): {} critical, {} warning, {} unreachable, {} ok, {} skipped",
        s.endpoints, s.critical, s.warning, s.unreachable, s.ok, s.skipped
    );
    if s.unreachable > 0 {
        line.push_str(" — INCOMPLETE");
    }
    line
}

fn title(report: &Report, list: ListChoice) -> String {
    match list {
        ListChoice::All => "All certificates".into(),
        ListChoice::Expiring => format!("Expiring within {} days", report.expiring_days),
        ListChoice::Imported => "Imported — never auto-renew".into(),
        ListChoice::WillNotRenew => "Will not renew".into(),
    }
}

fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let mut line = format!(
        "{} in {} of {} ({}): {} expiring within {} days ({} expired), {} imported, {} will not \
         renew",
        counted(s.certificates, "certificate"),
        s.accounts_scanned,
        counted(s.accounts_targeted, "account"),
        counted(s.regions_scanned, "region"),
        s.expiring,
        report.expiring_days,
        s.expired,
        s.imported,
        s.will_not_renew,
    );
    if s.renewal_at_risk > 0 {
        line.push_str(&format!(
            " ({} at risk of a failed renewal)",
            s.renewal_at_risk
        ));
    }
    if s.iam_server_certificates > 0 {
        line.push_str(&format!(
            ", {} among them",
            counted(s.iam_server_certificates, "IAM server certificate")
        ));
    }
    if s.certificate_authorities_attention > 0 {
        line.push_str(&format!(
            ", {} of {} needing attention",
            s.certificate_authorities_attention,
            counted(s.certificate_authorities, "private CA")
        ));
    }
    if s.renewal_unknown > 0 {
        line.push_str(&format!(
            ", {} whose renewal could not be checked",
            counted(s.renewal_unknown, "certificate")
        ));
    }
    if s.accounts_skipped > 0 {
        line.push_str(&format!(
            ", {} skipped",
            counted(s.accounts_skipped, "account")
        ));
    }
    if s.errors > 0 {
        line.push_str(&format!(
            ", {} ({} failed) — INCOMPLETE",
            counted(s.errors, "error"),
            counted(s.accounts_failed, "account")
        ));
    }
    line
}

/// A small table in the house style (the big lists are written row by row, `rows.rs`).
pub fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .remove_style(TableComponent::HorizontalLines)
        .remove_style(TableComponent::MiddleIntersections)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    table
}

fn days_cell(c: &Certificate, color: bool) -> Cell {
    let text = c
        .days_to_expiry
        .map(|d| d.to_string())
        .unwrap_or_else(|| "-".into());
    let colour = match Urgency::of(c) {
        _ if !color => None,
        Urgency::Expired | Urgency::Within7 => Some(Colour::Red),
        Urgency::Within15 | Urgency::Within30 => Some(Colour::Yellow),
        Urgency::Expiring | Urgency::Later => None,
    };
    Cell::new(text).coloured(colour)
}

/// The value, or "-" for a null.
fn or_dash<S: AsRef<str>>(v: &Option<S>) -> String {
    v.as_ref()
        .map(|s| s.as_ref().to_string())
        .unwrap_or_else(|| "-".into())
}

/// The cells after "Days" for one certificate, given how its account is named.
type Columns = fn(&Certificate, String) -> Vec<String>;

/// The columns of one list after Days, Domain, Account and Region, and their cells.
fn list_columns(list: ListChoice) -> (Vec<Column<'static>>, Columns) {
    use Give::{Drop, Keep, Shrink};
    let column = |title, give| Column { title, give };
    match list {
        ListChoice::WillNotRenew => (
            vec![column("Why", Shrink), column("ARN", Drop(0))],
            |c, account| {
                vec![
                    c.label().to_string(),
                    account,
                    c.region_label().to_string(),
                    renewal_problem(c),
                    c.arn.clone(),
                ]
            },
        ),
        ListChoice::Imported => (
            vec![
                column("Key", Drop(1)),
                column("In use", Keep),
                column("Issuer", Drop(2)),
                column("ARN", Drop(0)),
            ],
            |c, account| {
                let in_use = c
                    .in_use
                    .map(|u| if u { "yes" } else { "no" })
                    .unwrap_or("-");
                vec![
                    c.label().to_string(),
                    account,
                    c.region_label().to_string(),
                    or_dash(&c.key_algorithm),
                    in_use.into(),
                    or_dash(&c.issuer),
                    c.arn.clone(),
                ]
            },
        ),
        ListChoice::Expiring | ListChoice::All => (
            vec![
                column("Type", Drop(3)),
                column("Status", Drop(2)),
                column("Key", Drop(1)),
                column("ARN", Drop(0)),
            ],
            |c, account| {
                vec![
                    c.label().to_string(),
                    account,
                    c.region_label().to_string(),
                    or_dash(&c.cert_type),
                    or_dash(&c.status),
                    or_dash(&c.key_algorithm),
                    c.arn.clone(),
                ]
            },
        ),
    }
}

fn write_certificates(
    out: &mut dyn Write,
    rows: &[&Certificate],
    list: ListChoice,
    color: bool,
    width: Option<usize>,
) -> std::io::Result<()> {
    let column = |title, give| Column { title, give };
    let place = [
        column("Days", Give::Keep),
        column("Domain", Give::Shrink),
        column("Account", Give::Keep),
        column("Region", Give::Keep),
    ];
    let (rest, columns) = list_columns(list);
    let columns_shown: Vec<Column> = place.into_iter().chain(rest).collect();
    // On a terminal the account is its name (the ID when it has none): the full lines, for
    // grep, keep "name (id)".
    let account = |c: &Certificate| match (width, &c.account_name) {
        (Some(_), Some(name)) => name.to_string(),
        _ => c.account_label(),
    };
    rows::write_fitted(
        out,
        &columns_shown,
        rows,
        |c| {
            let mut cells = vec![days_cell(c, color)];
            cells.extend(columns(c, account(c)).into_iter().map(Cell::new));
            cells
        },
        width,
    )
}

/// A small table fitted to a terminal `fit` columns wide when given: long cells wrap within
/// their column instead of pushing the line past the edge.
fn fitted(mut table: Table, fit: Option<usize>) -> Table {
    if let Some(width) = fit.and_then(|w| u16::try_from(w).ok()) {
        table
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width);
    }
    table
}

fn write_accounts_and_errors(
    report: &Report,
    width: Option<usize>,
    fit: Option<usize>,
    out: &mut dyn Write,
) -> Result<()> {
    let prose = |out: &mut dyn Write, text: &str| writeln!(out, "{}", terminal::prose(text, width));
    let skipped: Vec<_> = report
        .accounts
        .iter()
        .filter(|a| a.state == AccountState::Skipped)
        .collect();
    if !skipped.is_empty() {
        writeln!(out)?;
        prose(out, &format!("Skipped accounts ({})", skipped.len()))?;
        let mut table = new_table(&["Account", "Name", "Reason"]);
        for a in skipped {
            table.add_row(vec![
                a.account_id.clone(),
                printable(&or_dash(&a.account_name)).into_owned(),
                printable(&or_dash(&a.reason)).into_owned(),
            ]);
        }
        writeln!(out, "{}", fitted(table, fit))?;
    }
    let notes: Vec<_> = report
        .accounts
        .iter()
        .filter(|a| !a.regions_not_enabled.is_empty())
        .collect();
    if !notes.is_empty() {
        writeln!(out)?;
        prose(out, "Regions not enabled (not scanned)")?;
        let mut table = new_table(&["Account", "Regions"]);
        for a in notes {
            table.add_row(vec![
                printable(&account_label(&a.account_id, a.account_name.as_deref())).into_owned(),
                a.regions_not_enabled.join(", "),
            ]);
        }
        writeln!(out, "{}", fitted(table, fit))?;
    }
    writeln!(out)?;
    prose(out, &format!("Errors ({})", report.errors.len()))?;
    if report.errors.is_empty() {
        writeln!(out, "  none")?;
        return Ok(());
    }
    // As many as the certificates, at worst: alike ones grouped, written row by row.
    let column = |title, give| Column { title, give };
    let header = [
        column("Account", Give::Keep),
        column("Region", Give::Keep),
        column("Stage", Give::Drop(0)),
        column("Code", Give::Keep),
        column("Message", Give::Shrink),
    ];
    let groups = report.error_groups();
    let cells = |group: &ErrorGroup| {
        let e = group.first;
        vec![
            Cell::new(report.error_account(e).unwrap_or_else(|| "-".into())),
            Cell::new(e.region.clone().unwrap_or_else(|| "-".into())),
            Cell::new(e.stage.as_str()),
            Cell::new(e.code.clone()),
            Cell::new(group.message()),
        ]
    };
    rows::write_fitted(out, &header, &groups, cells, fit)?;
    if report.errors.iter().any(is_access_problem) {
        writeln!(out)?;
        prose(
            out,
            "Access was refused: `certaudit doctor` with the same account and role flags \
             checks every account and region and names the likely fix.",
        )?;
    }
    Ok(())
}

/// An error that `certaudit doctor` diagnoses: a role that cannot be assumed, or a call the
/// role or an SCP does not allow.
fn is_access_problem(e: &ScanError) -> bool {
    e.stage == Stage::AssumeRole || e.kind() == FailureKind::AccessDenied
}
