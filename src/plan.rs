//! Parse, then plan, then act: `ScanPlan` is everything the engine needs, as plain values,
//! built from the command line (and an accounts file) before any AWS call.

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::notify::Notify;

use crate::cli::{
    check_external_id, parse_account_id, Detail, Finding, ListChoice, OutputFormat, RateScope,
    ScanArgs, TargetArgs,
};

/// An account named on the command line or in a file, before anything is known of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedAccount {
    pub id: String,
    pub name: Option<String>,
}

/// Where the accounts to scan come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSource {
    /// Every account of the organization, or those under these OUs (empty: all).
    Organization { ous: Vec<String> },
    /// Exactly these accounts; Organizations is not called.
    Explicit(Vec<NamedAccount>),
}

/// Which accounts and regions, and how to get into them: what `scan` and `doctor` share.
#[derive(Debug, Clone)]
pub struct Targets {
    pub accounts: AccountSource,
    pub exclude: BTreeSet<String>,
    pub regions: Option<Vec<String>>,
    pub role_name: String,
    pub external_id: Option<String>,
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Per AWS call, retries included.
    pub timeout: std::time::Duration,
}

impl Targets {
    pub fn from_args(args: &TargetArgs) -> Result<Targets> {
        if let Some(external_id) = &args.external_id {
            check_external_id(external_id).map_err(anyhow::Error::msg)?;
        }
        let accounts = if let Some(path) = &args.accounts_file {
            AccountSource::Explicit(read_accounts_file(path)?)
        } else if !args.accounts.is_empty() {
            let named = args.accounts.iter().map(|id| NamedAccount {
                id: id.clone(),
                name: None,
            });
            AccountSource::Explicit(dedup(named.collect()))
        } else {
            AccountSource::Organization {
                ous: args.ou.clone(),
            }
        };
        let regions = (!args.regions.is_empty()).then(|| {
            let set: BTreeSet<String> = args.regions.iter().cloned().collect();
            set.into_iter().collect()
        });
        Ok(Targets {
            accounts,
            exclude: args.exclude.iter().cloned().collect(),
            regions,
            role_name: args.role_name.clone(),
            external_id: args.external_id.clone(),
            profile: args.profile.clone(),
            region: args.region.clone(),
            timeout: std::time::Duration::from_secs(args.timeout),
        })
    }
}

/// Whether cells that start like a spreadsheet formula are neutralised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvCells {
    /// A leading `=`, `+`, `-`, `@`, tab or CR gets a `'` before it (OWASP's rule): tags,
    /// names and domains are written by whoever can tag a certificate in any member account,
    /// and a CI artifact is opened in a spreadsheet.
    Neutralised,
    /// The bytes as AWS returned them (`--csv-raw`).
    Raw,
}

#[derive(Debug, Clone)]
pub struct ScanPlan {
    pub target: Targets,
    pub detail: Detail,
    pub tags: bool,
    pub rate: NonZeroU32,
    pub rate_scope: RateScope,
    pub max_accounts: usize,
    pub expiring_days: i64,
    pub output: OutputFormat,
    pub list: Option<ListChoice>,
    pub report_dir: Option<PathBuf>,
    pub csv_cells: CsvCells,
    pub fail_on: BTreeSet<Finding>,
    pub allow_partial: bool,
    pub notify: Notify,
}

impl ScanPlan {
    pub fn from_args(args: &ScanArgs) -> Result<ScanPlan> {
        Ok(ScanPlan {
            target: Targets::from_args(&args.target)?,
            detail: args.detail,
            tags: !args.no_tags && args.detail == Detail::Full,
            rate: args.rate,
            rate_scope: args.rate_scope,
            max_accounts: args.max_accounts.get() as usize,
            expiring_days: args.expiring_days,
            output: args.output,
            list: args.list,
            report_dir: args.report_dir.clone(),
            csv_cells: if args.csv_raw {
                CsvCells::Raw
            } else {
                CsvCells::Neutralised
            },
            fail_on: args.fail_on.iter().copied().collect(),
            allow_partial: args.allow_partial,
            notify: Notify {
                sns_topic_arn: args.sns_topic_arn.clone(),
                always: args.notify_always,
                security_hub_region: args.security_hub_region.clone(),
            },
        })
    }
}

fn dedup(accounts: Vec<NamedAccount>) -> Vec<NamedAccount> {
    let mut seen = BTreeSet::new();
    accounts
        .into_iter()
        .filter(|a| seen.insert(a.id.clone()))
        .collect()
}

fn read_accounts_file(path: &Path) -> Result<Vec<NamedAccount>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --accounts-file {}", path.display()))?;
    parse_accounts_file(&text).with_context(|| format!("in --accounts-file {}", path.display()))
}

/// One account ID per line, `#` comments and blank lines ignored; `id,name` CSV rows (with
/// an optional `id,name` header) work too.
pub fn parse_accounts_file(text: &str) -> Result<Vec<NamedAccount>> {
    let mut accounts = Vec::new();
    // Spreadsheets save UTF-8 with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.splitn(2, ',').map(|f| f.trim().trim_matches('"'));
        let id = fields.next().unwrap_or("");
        let name = fields.next().filter(|n| !n.is_empty()).map(str::to_string);
        let header = ["id", "account_id", "account id", "accountid", "account"];
        if accounts.is_empty() && header.iter().any(|h| id.eq_ignore_ascii_case(h)) {
            continue; // CSV header
        }
        match parse_account_id(id) {
            Ok(id) => accounts.push(NamedAccount { id, name }),
            Err(e) => bail!("line {}: {e}", index + 1),
        }
    }
    if accounts.is_empty() {
        bail!("no account IDs found: write one 12-digit account ID per line");
    }
    Ok(dedup(accounts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_file_takes_ids_comments_and_csv() {
        let text =
            "id,name\n# prod\n111111111111,prod-web\n222222222222  # trailing\n\n111111111111\n";
        let accounts = parse_accounts_file(text).unwrap();
        assert_eq!(
            accounts,
            vec![
                NamedAccount {
                    id: "111111111111".into(),
                    name: Some("prod-web".into())
                },
                NamedAccount {
                    id: "222222222222".into(),
                    name: None
                },
            ]
        );
    }

    #[test]
    fn accounts_file_from_a_spreadsheet_with_bom_and_account_id_header() {
        let text = "\u{feff}account_id,name\r\n111111111111,prod-web\r\n";
        let accounts = parse_accounts_file(text).unwrap();
        assert_eq!(
            accounts,
            vec![NamedAccount {
                id: "111111111111".into(),
                name: Some("prod-web".into())
            }]
        );
    }

    #[test]
    fn accounts_file_names_the_bad_line() {
        let err = parse_accounts_file("111111111111\nprod\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    }

    #[test]
    fn empty_accounts_file_is_an_error() {
        assert!(parse_accounts_file("# nothing\n").is_err());
    }
}
