//! Parse, then plan, then act: `ScanPlan` is everything the engine needs, as plain values,
//! built from the command line (and an accounts file) before any AWS call. The bottom of the
//! house: it imports nothing of certaudit's but `secret` (a value type), and every layer above
//! reads its settings here.
//! The choice enums derive clap's `ValueEnum` so the command line can name them, but carry no
//! parsing of their own.

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use clap::ValueEnum;

use crate::secret::Secret;

/// How much to read per certificate: `Full` describes and tags each one, `Summary` keeps the
/// listing alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Detail {
    Full,
    Summary,
}

/// What one rate budget covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RateScope {
    AccountRegion,
    Account,
}

/// Where AWS keeps certificates (`--sources`): ACM, IAM server certificates, ACM Private CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum CertificateSource {
    Acm,
    Iam,
    Pca,
}

/// The sources a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    pub acm: bool,
    pub iam: bool,
    pub pca: bool,
}

impl Sources {
    /// Every source: the default.
    pub const ALL: Sources = Sources {
        acm: true,
        iam: true,
        pca: true,
    };

    /// `acm`, `iam`, `pca`: the ones read, as a report's scope records them.
    pub fn names(self) -> BTreeSet<String> {
        [("acm", self.acm), ("iam", self.iam), ("pca", self.pca)]
            .into_iter()
            .filter(|(_, read)| *read)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    pub fn of(chosen: &[CertificateSource]) -> Sources {
        Sources {
            acm: chosen.contains(&CertificateSource::Acm),
            iam: chosen.contains(&CertificateSource::Iam),
            pca: chosen.contains(&CertificateSource::Pca),
        }
    }
}

/// `--ct-source`: where Certificate Transparency is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CtSource {
    Certspotter,
    Crtsh,
}

/// `scan --ct` and `certaudit ct` (SPEC §12).
#[derive(Debug, Clone)]
pub struct CtSettings {
    pub source: CtSource,
    /// `--ct-endpoint`: the API's base URL (a stand-in, a proxy); else the real one.
    pub endpoint: Option<String>,
    /// Cert Spotter's API token (`--ct-token`, `CERTAUDIT_CT_TOKEN`): sent as a Bearer header,
    /// never printed.
    pub token: Option<Secret>,
    /// `--ct-domains`: asked besides the inventory's.
    pub domains: Vec<String>,
    /// `--ct-exclude-domains`: never asked.
    pub exclude_domains: Vec<String>,
    /// `--ct-allow-issuers`: issuer substrings whose issuances are known.
    pub allow_issuers: Vec<String>,
    /// `--ct-ignore-names`: globs; an issuance all of whose names match is known.
    pub ignore_names: Vec<String>,
    /// Each domain's time, waits for 429 included (`--timeout`).
    pub timeout: std::time::Duration,
    /// crt.sh's pace, requests a minute.
    pub crtsh_per_minute: u32,
}

/// The format of a scan's stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Ndjson,
    Csv,
    Html,
}

/// The format of stdout for the commands whose output is data only (diff, endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Table,
    Json,
    Ndjson,
    Csv,
}

/// One of the report's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListChoice {
    All,
    Expiring,
    Imported,
    WillNotRenew,
}

/// What `--fail-on` can match: a certificate in ACM, or (`served-…`, `scan --probe`) what an
/// endpoint serves. The two never stand for each other: an endpoint serving an expired
/// certificate is `served-expired`, not `expired`, which stays about the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Finding {
    Expiring,
    Expired,
    Imported,
    WillNotRenew,
    RenewalAtRisk,
    // A Private CA that certificates depend on is expiring, expired or not ACTIVE (SPEC §14).
    // (A plain comment: a doc comment would turn the whole --help long.)
    CaNeedsAttention,
    // A shadow certificate (in CT, in no inventory) is expiring (SPEC §12; `--ct`).
    ShadowExpiring,
    ServedExpired,
    ServedExpiring,
    ServedMismatch,
    ServedHostnameMismatch,
    ServedUntrusted,
    ServedPrivateCa,
    ServedIncompleteChain,
    ServedIntermediateExpiring,
}

impl Finding {
    /// A kind about what an endpoint serves, which only a probe can match.
    pub fn is_served(self) -> bool {
        !matches!(
            self,
            Finding::Expiring
                | Finding::Expired
                | Finding::Imported
                | Finding::WillNotRenew
                | Finding::RenewalAtRisk
                | Finding::CaNeedsAttention
                | Finding::ShadowExpiring
        )
    }
}

/// When the SNS summary is published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum NotifyOn {
    // Plain comments, not doc comments: clap would show these in `--help` as possible values
    // and turn the whole help long.
    // Something needs attention (or the scan was incomplete).
    #[default]
    Attention,
    // The scan differs from the previous one stored in the history.
    Changes,
}

/// Where to send what a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    pub sns_topic_arn: Option<String>,
    /// Publish even when nothing needs attention.
    pub always: bool,
    pub on: NotifyOn,
    pub security_hub_region: Option<String>,
}

impl Notify {
    pub fn any(&self) -> bool {
        self.sns_topic_arn.is_some() || self.security_hub_region.is_some()
    }
}

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
    /// A secret: its Debug is redacted, and every log line is scrubbed of it.
    pub external_id: Option<Secret>,
    /// The SSM parameter holding the ExternalId, read once the caller's credentials are known.
    pub external_id_parameter: Option<String>,
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Per AWS call, retries included.
    pub timeout: std::time::Duration,
}

/// How to probe endpoints over TLS (`scan --probe`, `certaudit endpoints`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSettings {
    /// `host[:port]` lines to probe besides the inventory's names.
    pub endpoints_file: Option<PathBuf>,
    /// `--resolve`: connect to each of these addresses for (host, port); SNI stays the host.
    pub resolve: Vec<((String, u16), Vec<std::net::SocketAddr>)>,
    /// PEM roots trusted besides Mozilla's and the system's.
    pub ca_files: Vec<PathBuf>,
    pub probe_private: bool,
    pub concurrency: usize,
    pub tls_timeout: std::time::Duration,
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

impl CsvCells {
    /// `--csv-raw`'s choice: the bytes as they are, or neutralised (the default).
    pub fn raw_if(raw: bool) -> CsvCells {
        if raw {
            CsvCells::Raw
        } else {
            CsvCells::Neutralised
        }
    }
}

#[derive(Debug, Clone)]
pub struct ScanPlan {
    pub target: Targets,
    /// ACM, IAM server certificates, Private CAs (`--sources`).
    pub sources: Sources,
    pub detail: Detail,
    pub tags: bool,
    pub rate: NonZeroU32,
    pub rate_scope: RateScope,
    pub max_accounts: usize,
    pub expiring_days: i64,
    pub output: OutputFormat,
    pub list: Option<ListChoice>,
    pub report_dir: Option<PathBuf>,
    /// Every table column at full width, even on a terminal.
    pub wide: bool,
    pub csv_cells: CsvCells,
    pub fail_on: BTreeSet<Finding>,
    pub allow_partial: bool,
    pub notify: Notify,
    /// The history database the scan is appended to.
    pub history: Option<PathBuf>,
    /// Probe the in-use certificates' names over TLS after the scan (`--probe`).
    pub probe: Option<ProbeSettings>,
    /// Check that ACM's next renewal of each certificate it issued will succeed (SPEC §13);
    /// None with --no-renewal-check or --detail summary.
    pub renewal: Option<crate::renewal::Settings>,
    /// Search Certificate Transparency for the inventory's domains after the scan (`--ct`).
    pub ct: Option<CtSettings>,
}

/// An organizational unit (`ou-…`) or root (`r-…`) ID.
pub fn parse_ou_id(value: &str) -> Result<String, String> {
    let value = value.trim();
    let body_ok = |rest: &str| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    match value.split_once('-') {
        Some(("ou" | "r", rest)) if body_ok(rest) => Ok(value.to_string()),
        _ => Err(format!(
            "'{value}' is not an organizational unit or root ID: expected ou-xxxx-xxxxxxxx or r-xxxx"
        )),
    }
}

/// A region name such as `eu-west-1` or `us-gov-west-1`.
pub fn parse_region(value: &str) -> Result<String, String> {
    let value = value.trim();
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(value.to_string())
    } else {
        Err(format!(
            "'{value}' is not an AWS region name (such as us-east-1)"
        ))
    }
}

/// Which days left an Approaching Expiration event notifies on (`--notify-days`): ACM sends the
/// event daily, and a daily email per certificate teaches people to ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyDays {
    All,
    Days(BTreeSet<i64>),
}

impl NotifyDays {
    pub const DEFAULT: &'static str = "45,30,14,7,3,1";

    pub fn includes(&self, days: i64) -> bool {
        match self {
            NotifyDays::All => true,
            NotifyDays::Days(days_set) => days_set.contains(&days),
        }
    }

    /// `all`, or whole numbers of days separated by commas.
    pub fn parse(value: &str) -> Result<NotifyDays, String> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("all") {
            return Ok(NotifyDays::All);
        }
        let mut days = BTreeSet::new();
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let day: i64 = part
                .parse()
                .ok()
                .filter(|d| (0..=3650).contains(d))
                .ok_or_else(|| {
                    format!(
                        "'{part}' is not a number of days (0 to 3650): expected days separated by \
                     commas, such as {}, or `all`",
                        NotifyDays::DEFAULT
                    )
                })?;
            days.insert(day);
        }
        if days.is_empty() {
            return Err(format!(
                "expected days such as {}, or `all`",
                NotifyDays::DEFAULT
            ));
        }
        Ok(NotifyDays::Days(days))
    }
}

/// Where a scheduled scan writes its report files: `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Without a leading or trailing `/`; may be empty.
    pub prefix: String,
}

impl S3Location {
    pub fn parse(value: &str) -> Result<S3Location, String> {
        let bad = || {
            format!(
                "'{value}' is not an S3 location: expected s3://BUCKET or s3://BUCKET/PREFIX \
                 (a bucket name is 3 to 63 lowercase letters, digits, dots and hyphens)"
            )
        };
        let rest = value.trim().strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return Err(bad());
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The object key of `name` under the prefix and `folder`.
    pub fn key(&self, folder: &str, name: &str) -> String {
        [self.prefix.as_str(), folder, name]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// `certaudit event` and `certaudit lambda`: the scan a scheduled event runs, and what an ACM
/// event may do.
#[derive(Debug, Clone)]
pub struct EventPlan {
    /// The scheduled scan (its accounts narrowed by the event's own keys), and the account
    /// access, thresholds and notifications an ACM event uses.
    pub scan: ScanPlan,
    pub notify_days: NotifyDays,
    pub report_s3: Option<S3Location>,
    /// Decide and print; publish, import and write nothing.
    pub dry_run: bool,
}

/// `--rate`'s default: under ACM's quota of 10 calls a second per account-region.
pub const DEFAULT_RATE: u32 = 8;
/// `--max-accounts`'s default.
pub const DEFAULT_MAX_ACCOUNTS: usize = 64;

impl ScanPlan {
    /// The scan `certaudit endpoints` runs for its inventory: every certificate described
    /// (serials and in-use are what it compares), no tags, no outputs, no notifications.
    pub fn inventory(target: Targets, expiring_days: i64) -> ScanPlan {
        ScanPlan {
            target,
            // Endpoints compare serials, which IAM's listing does not give; CAs serve nothing.
            sources: Sources {
                acm: true,
                iam: false,
                pca: false,
            },
            detail: Detail::Full,
            tags: false,
            rate: NonZeroU32::new(DEFAULT_RATE).expect("a positive default"),
            rate_scope: RateScope::AccountRegion,
            max_accounts: DEFAULT_MAX_ACCOUNTS,
            expiring_days,
            output: OutputFormat::Json,
            list: None,
            report_dir: None,
            wide: false,
            csv_cells: CsvCells::Neutralised,
            fail_on: BTreeSet::new(),
            allow_partial: false,
            notify: Notify::default(),
            history: None,
            probe: None,
            // What is served is the question, not ACM's next renewal.
            renewal: None,
            ct: None,
        }
    }
}

pub(crate) fn dedup(accounts: Vec<NamedAccount>) -> Vec<NamedAccount> {
    let mut seen = BTreeSet::new();
    accounts
        .into_iter()
        .filter(|a| seen.insert(a.id.clone()))
        .collect()
}

pub(crate) fn read_accounts_file(path: &Path) -> Result<Vec<NamedAccount>> {
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

/// A 12-digit AWS account ID.
pub fn parse_account_id(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "'{value}' is not an AWS account ID: expected 12 digits"
        ))
    }
}

/// An STS ExternalId: 2..1224 characters of `[\w+=,.@:/-]`. It is a secret: the error says
/// what is wrong with it, never what it is.
pub fn check_external_id(value: &str) -> Result<(), String> {
    let rule = "it must be 2 to 1224 characters of letters, digits and +=,.@:/_- (the value is \
                not shown: it is a secret)";
    let length = value.chars().count();
    if !(2..=1224).contains(&length) {
        return Err(format!("it has {length} characters: {rule}"));
    }
    let bad: Vec<usize> = value
        .chars()
        .enumerate()
        .filter(|(_, c)| !(c.is_ascii() && iam_chars(&c.to_string(), b"+=,.@:/-")))
        .map(|(i, _)| i + 1)
        .collect();
    match bad.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "it has {} character(s) not allowed, the first at position {first}: {rule}",
            bad.len()
        )),
    }
}

/// IAM name characters: letters, digits, `_` and `extra`.
pub(crate) fn iam_chars(value: &str, extra: &[u8]) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || extra.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_days_are_days_or_all() {
        let days = NotifyDays::parse(NotifyDays::DEFAULT).unwrap();
        assert!(days.includes(14) && days.includes(1) && !days.includes(20));
        assert!(NotifyDays::parse("ALL").unwrap().includes(20));
        let err = NotifyDays::parse("30,soon").unwrap_err();
        assert!(err.contains("'soon'") && err.contains("`all`"), "{err}");
        assert!(NotifyDays::parse(" , ").is_err());
        assert!(NotifyDays::parse("-1").is_err());
    }

    #[test]
    fn s3_locations_name_a_bucket_and_an_optional_prefix() {
        let at = S3Location::parse("s3://certaudit-reports/org/daily/").unwrap();
        assert_eq!(
            (at.bucket.as_str(), at.prefix.as_str()),
            ("certaudit-reports", "org/daily")
        );
        assert_eq!(
            at.key("latest", "report.json"),
            "org/daily/latest/report.json"
        );
        let bare = S3Location::parse("s3://certaudit-reports").unwrap();
        assert_eq!(bare.key("latest", "report.json"), "latest/report.json");
        for bad in [
            "certaudit-reports/org",
            "s3://Reports",
            "s3://a",
            "https://x.s3.amazonaws.com",
        ] {
            let err = S3Location::parse(bad).unwrap_err();
            assert!(err.contains("s3://BUCKET"), "{bad}: {err}");
        }
    }

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
