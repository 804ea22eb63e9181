//! CSV: a fixed header, one row per certificate (or error). Lists inside a cell are joined
//! with `;` (DNS names and ARNs hold none); tags are a JSON object, so any key or value reads
//! back unambiguously. Cells that a spreadsheet would run as a formula are neutralised.

use std::io::Write;

use anyhow::Result;

use crate::plan::CsvCells;
use crate::report::{Certificate, CertificateAuthority, ScanError};

impl CsvCells {
    pub(super) fn cell(self, text: String) -> String {
        // A number (a negative days_to_expiry) is read as a number, never run.
        let risky =
            text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err();
        if self == CsvCells::Neutralised && risky {
            format!("'{text}")
        } else {
            text
        }
    }
}

pub const CERTIFICATE_HEADER: [&str; 36] = [
    "arn",
    "account_id",
    "account_name",
    "region",
    "domain_name",
    "subject_alternative_names",
    "type",
    "status",
    "key_algorithm",
    "key_pair_origin",
    "issuer",
    "serial",
    "not_before",
    "not_after",
    "days_to_expiry",
    "expiring",
    "expired",
    "imported",
    "auto_renews",
    "will_not_renew",
    "renewal_eligibility",
    "renewal_status",
    "renewal_status_reason",
    "in_use",
    "in_use_by",
    "managed_by",
    "failure_reason",
    "tags",
    "renewal_check",
    "renewal_risks",
    "source",
    "certificate_authority_arn",
    "server_certificate_name",
    "server_certificate_path",
    "server_certificate_id",
    "upload_date",
];

pub const AUTHORITY_HEADER: [&str; 16] = [
    "arn",
    "account_id",
    "account_name",
    "region",
    "type",
    "status",
    "usage_mode",
    "subject",
    "not_before",
    "not_after",
    "days_to_expiry",
    "expiring",
    "expired",
    "issued_certificates",
    "needs_attention",
    "why",
];

pub const ERROR_HEADER: [&str; 5] = ["account_id", "region", "stage", "code", "message"];

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn time(t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn row(c: &Certificate) -> Vec<String> {
    let server = c.server_certificate.as_deref();
    let tags = c
        .tags
        .as_ref()
        .map(|tags| serde_json::to_string(tags).expect("a map of strings always serializes"));
    vec![
        c.arn.clone(),
        c.account_id.to_string(),
        opt(&c.account_name),
        c.region.to_string(),
        opt(&c.domain_name),
        c.subject_alternative_names.join(";"),
        opt(&c.cert_type),
        opt(&c.status),
        opt(&c.key_algorithm),
        opt(&c.key_pair_origin),
        opt(&c.issuer),
        opt(&c.serial),
        time(&c.not_before),
        time(&c.not_after),
        opt(&c.days_to_expiry),
        c.expiring.to_string(),
        c.expired.to_string(),
        c.imported.to_string(),
        c.auto_renews.to_string(),
        c.will_not_renew.to_string(),
        opt(&c.renewal_eligibility),
        opt(&c.renewal_status),
        opt(&c.renewal_status_reason),
        opt(&c.in_use),
        c.in_use_by
            .as_ref()
            .map(|v| v.join(";"))
            .unwrap_or_default(),
        opt(&c.managed_by),
        opt(&c.failure_reason),
        tags.unwrap_or_default(),
        c.renewal_check
            .as_ref()
            .map_or(String::new(), |r| r.status.as_str().to_string()),
        // "kind name" per risk, `;`-joined: DNS names and URLs hold no `;`.
        c.renewal_check
            .iter()
            .flat_map(|r| &r.risks)
            .map(|r| format!("{} {}", r.kind.as_str(), r.name))
            .collect::<Vec<_>>()
            .join(";"),
        c.source.as_str().to_string(),
        opt(&c.certificate_authority_arn),
        server.map(|s| s.name.clone()).unwrap_or_default(),
        server.map(|s| s.path.clone()).unwrap_or_default(),
        server.map(|s| s.id.clone()).unwrap_or_default(),
        time(&server.and_then(|s| s.upload_date)),
    ]
}

fn authority_row(a: &CertificateAuthority) -> Vec<String> {
    vec![
        a.arn.clone(),
        a.account_id.to_string(),
        opt(&a.account_name),
        a.region.to_string(),
        opt(&a.ca_type),
        opt(&a.status),
        opt(&a.usage_mode),
        opt(&a.subject),
        time(&a.not_before),
        time(&a.not_after),
        opt(&a.days_to_expiry),
        a.expiring.to_string(),
        a.expired.to_string(),
        opt(&a.issued_certificates),
        a.needs_attention.to_string(),
        a.why(),
    ]
}

/// `certificate_authorities.csv`: every Private CA read, findings first.
pub fn write_authorities<'a>(
    authorities: impl Iterator<Item = &'a CertificateAuthority>,
    cells: CsvCells,
    out: &mut dyn Write,
) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(AUTHORITY_HEADER)?;
    for a in authorities {
        writer.write_record(authority_row(a).into_iter().map(|c| cells.cell(c)))?;
    }
    writer.flush()?;
    Ok(())
}

pub fn write_certificates<'a>(
    certificates: impl Iterator<Item = &'a Certificate>,
    cells: CsvCells,
    out: &mut dyn Write,
) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CERTIFICATE_HEADER)?;
    for certificate in certificates {
        writer.write_record(row(certificate).into_iter().map(|c| cells.cell(c)))?;
    }
    writer.flush()?;
    Ok(())
}

pub fn write_errors<'a>(
    errors: impl Iterator<Item = &'a ScanError>,
    cells: CsvCells,
    out: &mut dyn Write,
) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(ERROR_HEADER)?;
    for e in errors {
        let row = [
            opt(&e.account_id),
            opt(&e.region),
            e.stage.as_str().to_string(),
            e.code.clone(),
            e.message.clone(),
        ];
        writer.write_record(row.into_iter().map(|c| cells.cell(c)))?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_unless_raw() {
        for risky in [
            "=HYPERLINK(\"x\")",
            "+SUM(1)",
            "-1+2",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(
                CsvCells::Neutralised.cell(risky.into()),
                format!("'{risky}")
            );
            assert_eq!(CsvCells::Raw.cell(risky.into()), risky);
        }
        assert_eq!(
            CsvCells::Neutralised.cell("www.example.com".into()),
            "www.example.com"
        );
        assert_eq!(CsvCells::Neutralised.cell("a=b".into()), "a=b");
        assert_eq!(CsvCells::Neutralised.cell("-12".into()), "-12");
    }
}
