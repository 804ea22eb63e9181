//! Command-line interface: plain clap structs and their value checks, and the one step that
//! turns them into plain settings (`ScanArgs::plan`, `TargetArgs::targets`) for the engine.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use std::collections::BTreeSet;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diff::ChangeKind;
use crate::endpoints::target::parse_resolve;
use crate::history::{Selector, MAX_KEEP_DAYS};
pub use crate::plan::{check_external_id, parse_account_id, parse_ou_id, parse_region};
use crate::plan::{
    dedup, iam_chars, read_accounts_file, AccountSource, CertificateSource, CsvCells, CtSettings,
    CtSource, EventPlan, NamedAccount, Notify, NotifyDays, ProbeSettings, S3Location, ScanPlan,
    Sources, Targets, DEFAULT_MAX_ACCOUNTS, DEFAULT_RATE,
};
pub use crate::plan::{DataFormat, Detail, Finding, ListChoice, NotifyOn, OutputFormat, RateScope};
use crate::report::endpoint::EndpointFinding;
use crate::secret::Secret;

#[derive(Debug, Parser)]
#[command(
    name = "certaudit",
    version,
    about = "Audit every ACM certificate across every account and enabled region of an AWS Organization",
    long_about = "Audit every ACM certificate across every account and enabled region of an AWS \
Organization: the full inventory, the certificates expiring soon, the imported certificates that \
will never auto-renew, and the ACM certificates that will not renew.\n\n\
Data goes to stdout; progress, logs and warnings go to stderr.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 complete, nothing matched --fail-on; 1 fatal; 2 usage \
error; 3 incomplete (some account or region failed; the report is still written); 4 --fail-on \
matched; 130 Ctrl-C, 143 SIGTERM (what was found is still written; a second signal exits at \
once).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan every targeted account and enabled region and report on every certificate.
    #[command(after_help = EXIT_CODES)]
    Scan(Box<ScanArgs>),
    /// Check access before an audit: AssumeRole into every targeted account and one cheap
    /// read per enabled region, with the AWS error and the likely fix for what fails.
    Doctor(Box<DoctorArgs>),
    /// What changed between two scans: two report.json files, or two scans of a history
    /// database (by default its last two).
    #[command(after_help = DIFF_EXIT_CODES)]
    Diff(Box<DiffArgs>),
    /// The scans stored in a history database (`scan --history`), or prune old ones.
    History(Box<HistoryArgs>),
    /// What is actually served: a TLS handshake with every in-use certificate's names (from a
    /// scan, or from --report) and with --endpoints, matched against the ACM inventory.
    #[command(after_help = ENDPOINTS_EXIT_CODES)]
    Endpoints(Box<EndpointsArgs>),
    /// Certificate Transparency: the certificates issued for the inventory's domains (from a
    /// scan, or from --report) that no inventory holds — shadow certificates.
    #[command(after_help = CT_EXIT_CODES)]
    Ct(Box<CtCommandArgs>),
    /// Handle one event as the Lambda function does: an ACM certificate event from any
    /// account and region (finding, SNS message), or a scheduled scan. Prints the result as JSON.
    #[command(after_help = EVENT_EXIT_CODES)]
    Event(Box<EventArgs>),
    /// Run as an AWS Lambda function (custom runtime): each invocation is one `event`.
    /// Configured with CERTAUDIT_* variables; `bootstrap` with no arguments runs this.
    Lambda(Box<LambdaArgs>),
    /// Print the shell completion script: `source <(certaudit completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const CT_EXIT_CODES: &str = "Exit codes: 0 every domain answered, nothing matched --fail-on; 1 \
fatal; 2 usage error; 3 incomplete (a domain's search failed or was cut, or the scan was \
incomplete); 4 --fail-on matched; 130 Ctrl-C, 143 SIGTERM.";

/// `certaudit ct`.
#[derive(Debug, Args)]
pub struct CtCommandArgs {
    /// Take the inventory from this report.json instead of scanning (no AWS call).
    #[arg(long, value_name = "FILE", help_heading = "Inventory")]
    pub report: Option<PathBuf>,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub ct: CtArgs,

    /// A shadow certificate with this many days or fewer left is expiring.
    #[arg(long, default_value_t = 45, value_name = "DAYS",
          value_parser = clap::value_parser!(i64).range(0..=3650), help_heading = "Report")]
    pub expiring_days: i64,

    /// Output format on stdout.
    #[arg(short, long, value_enum, default_value_t = DataFormat::Table, help_heading = "Report")]
    pub output: DataFormat,

    /// Write CSV cells as they are (no leading ' before a cell that starts like a formula).
    #[arg(long, help_heading = "Report")]
    pub csv_raw: bool,

    /// Exit 4 when a shadow certificate is expiring.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "FINDING",
        help_heading = "Report"
    )]
    pub fail_on: Vec<CtFinding>,

    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// What `certaudit ct --fail-on` can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CtFinding {
    ShadowExpiring,
}

const DIFF_EXIT_CODES: &str = "Exit codes: 0 compared, nothing matched --fail-on; 1 fatal; 2 \
usage error; 3 some account-region could not be compared (a scan failed there); 4 --fail-on \
matched.";

const ENDPOINTS_EXIT_CODES: &str = "Exit codes: 0 every endpoint probed, nothing matched \
--fail-on; 1 fatal; 2 usage error; 3 some endpoint unreachable (or the scan incomplete); 4 \
--fail-on matched.";

/// How to probe endpoints: shared by `scan --probe` and `endpoints`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Also probe these: `host[:port]` per line (443 by default), `#` comments.
    #[arg(long, value_name = "FILE", help_heading = "Endpoints")]
    pub endpoints: Option<PathBuf>,

    /// Connect to ADDR for HOST:PORT, whatever DNS says; SNI stays HOST (curl's syntax,
    /// repeatable; ADDR,ADDR… probes each node).
    #[arg(long, value_name = "HOST:PORT:ADDR", value_parser = parse_resolve,
          help_heading = "Endpoints")]
    pub resolve: Vec<((String, u16), Vec<std::net::SocketAddr>)>,

    /// Trust the root certificates in this PEM file too (a private CA; repeatable).
    #[arg(long, value_name = "PEM", help_heading = "Endpoints")]
    pub ca_file: Vec<PathBuf>,

    /// Probe addresses in private, loopback or link-local ranges found through DNS (by default
    /// they are skipped; --resolve addresses are always probed).
    #[arg(long, help_heading = "Endpoints")]
    pub probe_private: bool,

    /// Endpoints probed at once (lowered to fit the open-files limit, ulimit -n).
    #[arg(long, default_value = "32", value_name = "N", value_parser = parse_positive,
          help_heading = "Endpoints")]
    pub probe_concurrency: NonZeroU32,

    /// Give up on one TLS handshake after this many seconds (TCP connect: 5 s).
    #[arg(long, default_value = "10", value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=600), help_heading = "Endpoints")]
    pub tls_timeout: u64,
}

impl ProbeArgs {
    pub fn settings(&self) -> ProbeSettings {
        ProbeSettings {
            endpoints_file: self.endpoints.clone(),
            resolve: self.resolve.clone(),
            ca_files: self.ca_file.clone(),
            probe_private: self.probe_private,
            concurrency: self.probe_concurrency.get() as usize,
            tls_timeout: std::time::Duration::from_secs(self.tls_timeout),
        }
    }
}

#[derive(Debug, Args)]
pub struct EndpointsArgs {
    /// Take the in-use certificates from this report.json instead of scanning (no AWS call).
    #[arg(long, value_name = "FILE", help_heading = "Inventory")]
    pub report: Option<PathBuf>,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub probe: ProbeArgs,

    /// A served certificate (or an intermediate) with this many days or fewer left is
    /// expiring.
    #[arg(long, default_value_t = 45, value_name = "DAYS",
          value_parser = clap::value_parser!(i64).range(0..=3650), help_heading = "Report")]
    pub expiring_days: i64,

    /// Output format on stdout.
    #[arg(short, long, value_enum, default_value_t = DataFormat::Table, help_heading = "Report")]
    pub output: DataFormat,

    /// Write CSV cells as they are (no leading ' before a cell that starts like a formula).
    #[arg(long, help_heading = "Report")]
    pub csv_raw: bool,

    /// Exit 4 when any endpoint has one of these findings (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "FINDING,...",
        help_heading = "Report"
    )]
    pub fail_on: Vec<EndpointFinding>,

    /// Exit 0 (or 4) instead of 3 when some endpoint is unreachable.
    #[arg(long, help_heading = "Report")]
    pub allow_partial: bool,

    #[command(flatten)]
    pub logging: LoggingArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier report.json (a `scan -o json` or `--report-dir` report).
    #[arg(value_name = "OLD.json", requires = "new")]
    pub old: Option<PathBuf>,

    /// The later report.json.
    #[arg(value_name = "NEW.json")]
    pub new: Option<PathBuf>,

    /// Compare two scans stored in this history database instead of two files.
    #[arg(
        long,
        env = "CERTAUDIT_HISTORY",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub history: Option<PathBuf>,

    /// The earlier stored scan: its ID, or a time in UTC (the last scan at or before it) as
    /// `certaudit history` prints it (2026-12-06 03:19:55 UTC), as RFC 3339
    /// (2026-12-06T03:19:55Z) or as a date (2026-12-06: that day's last). Default: the latest
    /// scan before --to of the same scope (the same accounts, OUs, exclusions and regions).
    #[arg(long, value_name = "ID|TIME", value_parser = Selector::parse)]
    pub from: Option<Selector>,

    /// The later stored scan, named as --from. Default: the latest. It must be later than
    /// --from.
    #[arg(long, value_name = "ID|TIME", value_parser = Selector::parse)]
    pub to: Option<Selector>,

    /// A certificate with this many days or fewer left is expiring (default: the later
    /// scan's threshold).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(0..=3650))]
    pub expiring_days: Option<i64>,

    /// Output format on stdout.
    #[arg(short, long, value_enum, default_value_t = DataFormat::Table)]
    pub output: DataFormat,

    /// Write CSV cells as they are (no leading ' before a cell that starts like a formula).
    #[arg(long)]
    pub csv_raw: bool,

    /// Exit 4 when any change is of one of these kinds (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND,...")]
    pub fail_on: Vec<ChangeKind>,

    /// Exit 0 (or 4) instead of 3 when some account-region could not be compared.
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: Option<HistoryAction>,

    /// The history database (written by `scan --history`).
    #[arg(
        long,
        env = "CERTAUDIT_HISTORY",
        hide_env_values = true,
        value_name = "PATH",
        global = true
    )]
    pub history: Option<PathBuf>,

    /// Output format on stdout.
    #[arg(short, long, value_enum, default_value_t = HistoryFormat::Table)]
    pub output: HistoryFormat,
}

/// `certaudit history`'s stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Remove the scans older than DAYS days (never the latest) and the certificate states
    /// only they saw, then shrink the file.
    Prune {
        /// Keep the scans of the last DAYS days (at most 36500).
        #[arg(long, value_name = "DAYS",
              value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_KEEP_DAYS)))]
        keep_days: u32,
    },
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// The sources to check access to, as scan's --sources (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [CertificateSource::Acm, CertificateSource::Iam, CertificateSource::Pca],
          value_name = "SOURCE,...", hide_env_values = true, env = "CERTAUDIT_SOURCES", help_heading = "Scan")]
    pub sources: Vec<CertificateSource>,

    /// Output format on stdout.
    #[arg(short, long, value_enum, default_value_t = TableOrJson::Table, help_heading = "Report")]
    pub output: TableOrJson,

    #[command(flatten)]
    pub logging: LoggingArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableOrJson {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub tuning: ScanTuning,

    /// Output format on stdout.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table, help_heading = "Report")]
    pub output: OutputFormat,

    /// Show one list instead of the table's sections (for csv and ndjson: which rows).
    #[arg(long, value_enum, help_heading = "Report")]
    pub list: Option<ListChoice>,

    /// Also write report.json, inventory.csv, expiring.csv, imported.csv, will_not_renew.csv
    /// and errors.csv here (each written whole under a temporary name, then renamed).
    #[arg(long, value_name = "DIR", help_heading = "Report")]
    pub report_dir: Option<PathBuf>,

    /// On a terminal, show every table column at full width (by default the table drops and
    /// shortens columns to fit the terminal; piped, it always has every column).
    #[arg(long, help_heading = "Report")]
    pub wide: bool,

    /// Write CSV cells as AWS returned them. By default a cell starting with = + - @ tab or CR
    /// gets a leading ' so a spreadsheet cannot run it as a formula.
    #[arg(long, help_heading = "Report")]
    pub csv_raw: bool,

    /// Exit 4 when any of these is found (comma-separated). expiring, expired, imported and
    /// will-not-renew are about the certificates in ACM; the served-… kinds (with --probe) about
    /// what an endpoint serves, e.g. served-expired: an endpoint serves an expired certificate.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "FINDING,...",
        help_heading = "Report"
    )]
    pub fail_on: Vec<Finding>,

    /// Exit 0 (or 4) instead of 3 when some account or region could not be scanned.
    #[arg(long, help_heading = "Report")]
    pub allow_partial: bool,

    /// Append this scan to a history database (SQLite, created when missing), for
    /// `certaudit diff` and `certaudit history`.
    #[arg(
        long,
        env = "CERTAUDIT_HISTORY",
        hide_env_values = true,
        value_name = "PATH",
        help_heading = "Report"
    )]
    pub history: Option<PathBuf>,

    #[command(flatten)]
    pub notify: NotifyArgs,

    /// When to publish the SNS summary: when something needs `attention`, or only when the
    /// scan `changes` something since the previous one in --history (the changes lead the
    /// message).
    #[arg(long, value_enum, default_value_t = NotifyOn::Attention, help_heading = "Notify")]
    pub notify_on: NotifyOn,

    /// After the scan, a TLS handshake with every in-use certificate's names: the table and
    /// report.html gain an endpoints section, report.json `endpoints`, --report-dir
    /// endpoints.csv; --fail-on takes the served-… kinds (see `certaudit endpoints`).
    #[arg(long, help_heading = "Endpoints")]
    pub probe: bool,

    #[command(flatten)]
    pub probing: ProbeArgs,

    /// After the scan, search Certificate Transparency for the inventory's domains: the
    /// certificates issued for them that no inventory holds (see `certaudit ct`).
    #[arg(long, help_heading = "Certificate Transparency")]
    pub ct: bool,

    #[command(flatten)]
    pub ct_args: CtArgs,

    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// How Certificate Transparency is searched: `scan --ct` and `certaudit ct` share these.
#[derive(Debug, Args)]
pub struct CtArgs {
    /// Where to search: SSLMate's Cert Spotter API (paged, each issuance's certificate), or
    /// crt.sh's JSON (paced, capped at 10,000 rows a domain).
    #[arg(long, value_enum, default_value_t = CtSource::Certspotter, hide_env_values = true,
          env = "CERTAUDIT_CT_SOURCE", help_heading = "Certificate Transparency")]
    pub ct_source: CtSource,

    /// The search API's base URL instead of the real one (a stand-in, a proxy).
    #[arg(long, value_name = "URL", value_parser = parse_ct_endpoint, hide_env_values = true,
          env = "CERTAUDIT_CT_ENDPOINT", help_heading = "Certificate Transparency")]
    pub ct_endpoint: Option<String>,

    /// Cert Spotter API token, sent as a Bearer header, never printed. Without one, Cert
    /// Spotter's unauthenticated tier (for evaluation, a few queries an hour).
    #[arg(long, value_name = "TOKEN", value_parser = Secret::parse, hide_env_values = true,
          env = "CERTAUDIT_CT_TOKEN", help_heading = "Certificate Transparency")]
    pub ct_token: Option<Secret>,

    /// Also ask about these registrable domains (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "DOMAIN,...", value_parser = crate::ct::domains::parse_domain,
          hide_env_values = true, env = "CERTAUDIT_CT_DOMAINS", help_heading = "Certificate Transparency")]
    pub ct_domains: Vec<String>,

    /// Never ask about these domains, nor names under them (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "DOMAIN,...",
        hide_env_values = true,
        env = "CERTAUDIT_CT_EXCLUDE_DOMAINS",
        help_heading = "Certificate Transparency"
    )]
    pub ct_exclude_domains: Vec<String>,

    /// Issuances by an issuer containing one of these (case-insensitive; a CDN's CA) are
    /// known: not listed (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "TEXT,...",
        hide_env_values = true,
        env = "CERTAUDIT_CT_ALLOW_ISSUERS",
        help_heading = "Certificate Transparency"
    )]
    pub ct_allow_issuers: Vec<String>,

    /// Issuances all of whose names match one of these globs (*.staging.example.com) are
    /// known: not listed (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "GLOB,...",
        hide_env_values = true,
        env = "CERTAUDIT_CT_IGNORE_NAMES",
        help_heading = "Certificate Transparency"
    )]
    pub ct_ignore_names: Vec<String>,

    /// crt.sh requests a minute at most (it asks for restraint).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=60),
          hide_env_values = true, env = "CERTAUDIT_CT_CRTSH_PER_MINUTE", help_heading = "Certificate Transparency")]
    pub ct_crtsh_per_minute: u32,
}

impl CtArgs {
    /// The settings, each domain given `timeout` (the run's --timeout).
    pub fn settings(&self, timeout: std::time::Duration) -> CtSettings {
        CtSettings {
            source: self.ct_source,
            endpoint: self.ct_endpoint.clone(),
            token: self.ct_token.clone(),
            domains: self.ct_domains.clone(),
            exclude_domains: self.ct_exclude_domains.clone(),
            allow_issuers: self.ct_allow_issuers.clone(),
            ignore_names: self.ct_ignore_names.clone(),
            timeout,
            crtsh_per_minute: self.ct_crtsh_per_minute,
        }
    }
}

/// `--ct-endpoint`: an http(s) URL with a host, no query.
pub fn parse_ct_endpoint(value: &str) -> Result<String, String> {
    let uri: hyper::Uri = value
        .parse()
        .map_err(|e| format!("'{value}' is not a URL: {e}"))?;
    match (uri.scheme_str(), uri.host(), uri.query()) {
        (Some("http" | "https"), Some(_), None) => Ok(value.trim_end_matches('/').to_string()),
        _ => Err(format!(
            "'{value}' is not an http(s) URL with a host and no query (such as \
             https://api.certspotter.com)"
        )),
    }
}

/// How a scan reads: shared by `scan`, `event` and `lambda` (every flag has a `CERTAUDIT_*`
/// variable, which is how the Lambda function is configured).
#[derive(Debug, Args)]
pub struct ScanTuning {
    /// Where to look for certificates: ACM, IAM server certificates (per account), ACM
    /// Private CAs (per account-region). Comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [CertificateSource::Acm, CertificateSource::Iam, CertificateSource::Pca],
          value_name = "SOURCE,...", hide_env_values = true, env = "CERTAUDIT_SOURCES", help_heading = "Scan")]
    pub sources: Vec<CertificateSource>,

    /// `full` describes every certificate (issuer, serial, in-use-by, renewal status, tags);
    /// `summary` uses the list call alone: far fewer calls, those fields are null.
    #[arg(long, value_enum, default_value_t = Detail::Full, hide_env_values = true, env = "CERTAUDIT_DETAIL",
          help_heading = "Scan")]
    pub detail: Detail,

    /// Do not read certificate tags (one call per certificate fewer).
    #[arg(
        long,
        hide_env_values = true,
        env = "CERTAUDIT_NO_TAGS",
        help_heading = "Scan"
    )]
    pub no_tags: bool,

    /// DescribeCertificate and ListTagsForCertificate calls per second per account-region
    /// (ACM's quota is 10).
    #[arg(long, default_value_t = NonZeroU32::new(DEFAULT_RATE).unwrap(), value_name = "N",
          value_parser = parse_positive, hide_env_values = true, env = "CERTAUDIT_RATE", help_heading = "Scan")]
    pub rate: NonZeroU32,

    /// What one rate budget covers: each account-region, or each account across its regions.
    #[arg(long, value_enum, default_value_t = RateScope::AccountRegion,
          hide_env_values = true, env = "CERTAUDIT_RATE_SCOPE", help_heading = "Scan")]
    pub rate_scope: RateScope,

    /// Accounts opened and listed at once (their certificates are then described largest
    /// account-region first, each at --rate).
    #[arg(long, default_value_t = NonZeroU32::new(DEFAULT_MAX_ACCOUNTS as u32).unwrap(),
          value_name = "N", value_parser = parse_positive, hide_env_values = true, env = "CERTAUDIT_MAX_ACCOUNTS",
          help_heading = "Scan")]
    pub max_accounts: NonZeroU32,

    /// A certificate with this many days or fewer left is expiring.
    #[arg(long, default_value_t = 45, value_name = "DAYS", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(0..=3650),
          hide_env_values = true, env = "CERTAUDIT_EXPIRING_DAYS", help_heading = "Report")]
    pub expiring_days: i64,

    /// Do not check that ACM's next renewal of the certificates it issued will succeed
    /// (validation CNAMEs, CAA, e-mail and HTTP validation). On by default with --detail full.
    #[arg(
        long,
        hide_env_values = true,
        env = "CERTAUDIT_NO_RENEWAL_CHECK",
        help_heading = "Renewal check"
    )]
    pub no_renewal_check: bool,

    /// The DNS server the renewal check asks (repeatable, or comma-separated in
    /// CERTAUDIT_DNS_SERVER); by default the system resolver (/etc/resolv.conf).
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_dns_server, value_delimiter = ',',
          hide_env_values = true, env = "CERTAUDIT_DNS_SERVER", help_heading = "Renewal check")]
    pub dns_server: Vec<SocketAddr>,

    /// Seconds a DNS lookup (retry included) or the HTTP validation request may take; a lookup
    /// that gets no answer makes the certificate's check unknown and the scan incomplete.
    #[arg(long, default_value_t = 5, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=300),
          hide_env_values = true, env = "CERTAUDIT_DNS_TIMEOUT", help_heading = "Renewal check")]
    pub dns_timeout: u64,

    /// Ask an HTTP validation URL even when its host resolves only to private, loopback or
    /// link-local addresses (a stand-in, a proxy). By default such a URL is a risk, not asked:
    /// ACM's CA, on the Internet, cannot reach it either.
    #[arg(
        long,
        hide_env_values = true,
        env = "CERTAUDIT_HTTP_VALIDATION_PRIVATE",
        help_heading = "Renewal check"
    )]
    pub http_validation_private: bool,
}

/// A DNS server: an IP address, with an optional port (IPv6 with a port as `[::1]:53`).
pub fn parse_dns_server(value: &str) -> Result<SocketAddr, String> {
    let value = value.trim();
    let bracketed = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    let address = match bracketed.parse::<std::net::IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, 53),
        Err(_) => value.parse::<SocketAddr>().map_err(|_| {
            format!(
                "'{value}' is not a DNS server address: expected an IP address with an \
                 optional port, such as 10.0.0.2, 127.0.0.1:5353, [fd00::2] or [fd00::2]:53"
            )
        })?,
    };
    let ip = address.ip();
    let nowhere = ip.is_unspecified()
        || ip.is_multicast()
        || matches!(ip, std::net::IpAddr::V4(v4) if v4.is_broadcast());
    if nowhere {
        return Err(format!(
            "'{value}' is no DNS server: {ip} is not an address a server answers from"
        ));
    }
    if address.port() == 0 {
        return Err(format!(
            "'{value}' is no DNS server: port 0 is not a port a server listens on"
        ));
    }
    Ok(address)
}

/// Where findings go: shared by `scan`, `event` and `lambda`.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Publish to this SNS topic: one summary of every expiring, expired and will-not-renew
    /// certificate per scan (split into numbered parts over 256 KiB); one message per
    /// certificate for an ACM event.
    #[arg(long, value_name = "ARN", value_parser = parse_sns_topic_arn,
          hide_env_values = true, env = "CERTAUDIT_SNS_TOPIC_ARN", help_heading = "Notify")]
    pub sns_topic_arn: Option<String>,

    /// Publish the SNS summary even when nothing needs attention.
    #[arg(
        long,
        requires = "sns_topic_arn",
        hide_env_values = true,
        env = "CERTAUDIT_NOTIFY_ALWAYS",
        help_heading = "Notify"
    )]
    pub notify_always: bool,

    /// Import one Security Hub finding per certificate needing attention, from every account and
    /// region, into the caller's account in this region; archive findings that no longer apply.
    #[arg(long, value_name = "REGION", value_parser = parse_region,
          hide_env_values = true, env = "CERTAUDIT_SECURITY_HUB_REGION", help_heading = "Notify")]
    pub security_hub_region: Option<String>,
}

/// What `event` and `lambda` share: the scan's flags for a scheduled scan, the notification
/// flags, and what only events have.
#[derive(Debug, Args)]
pub struct EventSettings {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub tuning: ScanTuning,

    #[command(flatten)]
    pub notify: NotifyArgs,

    /// An Approaching Expiration event publishes to SNS only when the certificate has one of
    /// these numbers of days left (comma-separated), or on every event with `all`; its finding
    /// is updated every time.
    #[arg(long, value_name = "DAYS,...|all", default_value = NotifyDays::DEFAULT,
          value_parser = NotifyDays::parse, hide_env_values = true, env = "CERTAUDIT_NOTIFY_DAYS", help_heading = "Notify")]
    pub notify_days: NotifyDays,

    /// A scheduled scan writes every --report-dir file to s3://BUCKET/PREFIX/YYYY/MM/DD/<time>/
    /// and again under PREFIX/latest/.
    #[arg(long, value_name = "S3_URL", value_parser = S3Location::parse,
          hide_env_values = true, env = "CERTAUDIT_REPORT_S3", help_heading = "Report")]
    pub report_s3: Option<S3Location>,
}

impl EventSettings {
    /// The plan these settings describe; `dry_run` publishes and writes nothing.
    pub fn plan(&self, dry_run: bool) -> Result<EventPlan> {
        let scan = ScanPlan {
            output: OutputFormat::Json,
            list: None,
            report_dir: None,
            wide: false,
            csv_cells: CsvCells::raw_if(false),
            fail_on: BTreeSet::new(),
            allow_partial: true,
            history: None,
            probe: None,
            ..self
                .tuning
                .plan(self.target.targets()?, &self.notify, NotifyOn::Attention)
        };
        Ok(EventPlan {
            scan,
            notify_days: self.notify_days.clone(),
            report_s3: self.report_s3.clone(),
            dry_run,
        })
    }
}

#[derive(Debug, Args)]
pub struct EventArgs {
    /// The event (JSON) in a file; standard input when absent or `-`.
    #[arg(value_name = "FILE|-")]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub settings: EventSettings,

    /// Decide and print what would be done; publish, import and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub logging: LoggingArgs,
}

#[derive(Debug, Args)]
pub struct LambdaArgs {
    #[command(flatten)]
    pub settings: EventSettings,
}

const EVENT_EXIT_CODES: &str = "Exit codes: 0 handled (an event certaudit does not act on is \
ignored, and handled); 1 fatal (no credentials); 2 invalid event or usage error; 3 could not be \
handled (access denied, describe or publish failed: the error names account, region and AWS \
code); 130 Ctrl-C, 143 SIGTERM.";

/// Which accounts and regions, and how to get into them: shared by `scan` and `doctor`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Only these account IDs, instead of listing the organization (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,...", value_parser = parse_account_id,
          conflicts_with = "accounts_file", hide_env_values = true, env = "CERTAUDIT_ACCOUNTS", help_heading = "Accounts")]
    pub accounts: Vec<String>,

    /// Only the account IDs in this file: one per line, `#` comments, or a CSV with `id,name`.
    #[arg(
        long,
        value_name = "PATH",
        hide_env_values = true,
        env = "CERTAUDIT_ACCOUNTS_FILE",
        help_heading = "Accounts"
    )]
    pub accounts_file: Option<PathBuf>,

    /// Keep only accounts under these organizational units (or roots), recursively.
    #[arg(long, value_delimiter = ',', value_name = "OU,...", value_parser = parse_ou_id,
          conflicts_with_all = ["accounts", "accounts_file"], hide_env_values = true, env = "CERTAUDIT_OU",
          help_heading = "Accounts")]
    pub ou: Vec<String>,

    /// Leave out these account IDs (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,...", value_parser = parse_account_id,
          hide_env_values = true, env = "CERTAUDIT_EXCLUDE", help_heading = "Accounts")]
    pub exclude: Vec<String>,

    /// Role to assume in every account but the caller's own.
    #[arg(long, env = "CERTAUDIT_ROLE_NAME", default_value = "CertAuditReadOnly",
          value_parser = parse_role_name, hide_env_values = true, help_heading = "Access")]
    pub role_name: String,

    /// ExternalId the member accounts' role trust policy requires (a secret: never printed).
    #[arg(
        long,
        env = "CERTAUDIT_EXTERNAL_ID",
        hide_env_values = true,
        value_parser = Secret::parse,
        help_heading = "Access"
    )]
    pub external_id: Option<Secret>,

    /// SSM Parameter Store parameter (name or ARN, a SecureString) holding that ExternalId,
    /// read once with the caller's credentials: keeps the secret out of a deployed function's
    /// environment.
    #[arg(
        long,
        value_name = "NAME",
        env = "CERTAUDIT_EXTERNAL_ID_PARAMETER",
        hide_env_values = true,
        help_heading = "Access"
    )]
    pub external_id_parameter: Option<String>,

    /// Named profile for the caller's credentials; wins over AWS_ACCESS_KEY_ID in the
    /// environment, as with the AWS CLI (AWS_PROFILE is honoured as the SDK does).
    #[arg(long, help_heading = "Access")]
    pub profile: Option<String>,

    /// Region for the caller's own calls (STS, Organizations, DescribeRegions).
    #[arg(long, value_parser = parse_region, hide_env_values = true, env = "CERTAUDIT_REGION", help_heading = "Access")]
    pub region: Option<String>,

    /// Give up on one AWS call (its retries included) after this many seconds: a region that
    /// hangs becomes that region's error and the rest goes on.
    #[arg(long, default_value = "60", value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600), hide_env_values = true, env = "CERTAUDIT_TIMEOUT",
          help_heading = "Access")]
    pub timeout: u64,

    /// Only these regions (comma-separated); a region an account has not enabled is skipped
    /// for that account with a note.
    #[arg(long, value_delimiter = ',', value_name = "REGION,...", value_parser = parse_region,
          hide_env_values = true, env = "CERTAUDIT_REGIONS", help_heading = "Regions")]
    pub regions: Vec<String>,
}

#[derive(Debug, Default, Args)]
pub struct LoggingArgs {
    /// Print progress and logs: -v info, -vv debug.
    #[arg(short, long, action = clap::ArgAction::Count, help_heading = "Logging")]
    pub verbose: u8,

    /// Print nothing on stderr but errors.
    #[arg(short, long, help_heading = "Logging")]
    pub quiet: bool,
}

impl TargetArgs {
    /// The accounts, regions and access these flags describe (reads an accounts file).
    pub fn targets(&self) -> Result<Targets> {
        let args = self;
        if let Some(external_id) = &args.external_id {
            check_external_id(external_id.expose()).map_err(|why| {
                anyhow::anyhow!("the external ID (--external-id or CERTAUDIT_EXTERNAL_ID): {why}")
            })?;
        }
        if args.external_id.is_some() && args.external_id_parameter.is_some() {
            // Two sources for one secret: whichever won, the other would be stale and unseen.
            anyhow::bail!(
                "the ExternalId is given twice, as a value (--external-id or \
                 CERTAUDIT_EXTERNAL_ID) and as an SSM parameter (--external-id-parameter or \
                 CERTAUDIT_EXTERNAL_ID_PARAMETER): keep one"
            );
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
            external_id_parameter: args.external_id_parameter.clone(),
            profile: args.profile.clone(),
            region: args.region.clone(),
            timeout: std::time::Duration::from_secs(args.timeout),
        })
    }
}

impl ScanArgs {
    /// The scan these flags describe, as plain values; nothing is called yet.
    pub fn plan(&self) -> Result<ScanPlan> {
        let args = self;
        if let Some(kind) = args.fail_on.iter().find(|f| f.is_served() && !args.probe) {
            let name = kind.to_possible_value().expect("no kind is hidden");
            anyhow::bail!(
                "--fail-on {} matches what an endpoint serves, and only --probe finds that out: \
                 add --probe (or use `certaudit endpoints --fail-on`)",
                name.get_name()
            );
        }
        if args.notify_on == NotifyOn::Changes && args.history.is_none() {
            anyhow::bail!(
                "--notify-on changes compares with the previous scan in a history database: \
                 pass --history PATH (or set CERTAUDIT_HISTORY)"
            );
        }
        Ok(ScanPlan {
            output: args.output,
            list: args.list,
            report_dir: args.report_dir.clone(),
            wide: args.wide,
            csv_cells: CsvCells::raw_if(args.csv_raw),
            fail_on: args.fail_on.iter().copied().collect(),
            allow_partial: args.allow_partial,
            history: args.history.clone(),
            probe: args.probe.then(|| args.probing.settings()),
            ct: args.ct.then(|| {
                args.ct_args
                    .settings(std::time::Duration::from_secs(args.target.timeout))
            }),
            ..args
                .tuning
                .plan(args.target.targets()?, &args.notify, args.notify_on)
        })
    }
}

impl ScanTuning {
    /// A scan plan with these settings and notifications; the rest (targets, outputs) is
    /// the caller's to fill.
    fn plan(&self, target: Targets, notify: &NotifyArgs, on: NotifyOn) -> ScanPlan {
        ScanPlan {
            target,
            sources: Sources::of(&self.sources),
            detail: self.detail,
            tags: !self.no_tags && self.detail == Detail::Full,
            rate: self.rate,
            rate_scope: self.rate_scope,
            max_accounts: self.max_accounts.get() as usize,
            expiring_days: self.expiring_days,
            output: OutputFormat::Json,
            list: None,
            report_dir: None,
            wide: false,
            csv_cells: CsvCells::raw_if(false),
            fail_on: BTreeSet::new(),
            allow_partial: false,
            notify: Notify {
                sns_topic_arn: notify.sns_topic_arn.clone(),
                always: notify.notify_always,
                on,
                security_hub_region: notify.security_hub_region.clone(),
            },
            history: None,
            probe: None,
            ct: None,
            renewal: (!self.no_renewal_check && self.detail == Detail::Full).then(|| {
                crate::renewal::Settings {
                    servers: self.dns_server.clone(),
                    timeout: std::time::Duration::from_secs(self.dns_timeout),
                    http_private: self.http_validation_private,
                }
            }),
        }
    }
}

/// An SNS topic ARN: `arn:PARTITION:sns:REGION:ACCOUNT:NAME`.
pub fn parse_sns_topic_arn(value: &str) -> Result<String, String> {
    let value = value.trim();
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "sns"
        && parse_region(parts[3]).is_ok()
        && parse_account_id(parts[4]).is_ok()
        && (1..=256).contains(&parts[5].len())
        && iam_chars(parts[5].trim_end_matches(".fifo"), b"-");
    if ok {
        Ok(value.to_string())
    } else {
        Err(format!(
            "'{value}' is not an SNS topic ARN: expected arn:aws:sns:REGION:ACCOUNT_ID:TOPIC_NAME"
        ))
    }
}

/// An IAM role name: 1..64 characters of `[\w+=,.@-]`.
pub fn parse_role_name(value: &str) -> Result<String, String> {
    if (1..=64).contains(&value.len()) && iam_chars(value, b"+=,.@-") {
        Ok(value.to_string())
    } else {
        Err(format!(
            "'{value}' is not an IAM role name: 1 to 64 characters of letters, digits and +=,.@_-"
        ))
    }
}

/// A count of at least 1.
pub fn parse_positive(value: &str) -> Result<NonZeroU32, String> {
    let n: u32 = value
        .parse()
        .map_err(|_| format!("'{value}' is not a whole number"))?;
    NonZeroU32::new(n).ok_or_else(|| "it must be 1 or more".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn dns_servers_are_addresses_a_server_answers_from() {
        let ok = |v: &str| parse_dns_server(v).unwrap().to_string();
        assert_eq!(ok("10.0.0.2"), "10.0.0.2:53");
        assert_eq!(ok("127.0.0.1:5353"), "127.0.0.1:5353");
        assert_eq!(ok("[::1]"), "[::1]:53");
        assert_eq!(ok("::1"), "[::1]:53");
        assert_eq!(ok("[fd00::2]:5353"), "[fd00::2]:5353");
        for bad in [
            "dns.example.com",
            "127.0.0.1:0",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::",
        ] {
            let error = parse_dns_server(bad).unwrap_err();
            assert!(error.contains(bad), "{error}");
            assert!(!error.contains("  "), "one space between words: {error}");
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn account_ids_must_be_twelve_digits() {
        assert!(parse_account_id("123456789012").is_ok());
        assert!(parse_account_id("12345678901").is_err());
        assert!(parse_account_id("12345678901a").is_err());
    }

    #[test]
    fn regions_and_ous_are_checked() {
        assert!(parse_region("us-gov-west-1").is_ok());
        assert!(parse_region("eu-west").is_err());
        assert!(parse_region("EU-WEST-1").is_err());
        assert!(parse_ou_id("ou-ab12-cdef3456").is_ok());
        assert!(parse_ou_id("r-ab12").is_ok());
        assert!(parse_ou_id("prod").is_err());
    }

    #[test]
    fn sns_topic_arns_are_checked() {
        assert!(parse_sns_topic_arn("arn:aws:sns:us-east-1:123456789012:certaudit-alerts").is_ok());
        assert!(parse_sns_topic_arn("arn:aws:sns:us-east-1:123456789012:alerts.fifo").is_ok());
        assert!(parse_sns_topic_arn("arn:aws:sqs:us-east-1:123456789012:alerts").is_err());
        assert!(parse_sns_topic_arn("certaudit-alerts").is_err());
    }

    #[test]
    fn external_id_length_and_characters() {
        assert!(check_external_id("a").is_err());
        assert!(check_external_id(&"x".repeat(1225)).is_err());
        assert!(check_external_id("org/certaudit:2026@example.com").is_ok());
        let err = check_external_id("s3cret value!").unwrap_err();
        assert!(
            err.contains("2 character(s)") && err.contains("position 7"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "the secret is never echoed: {err}");
    }

    #[test]
    fn an_external_id_given_both_as_a_value_and_as_a_parameter_is_refused() {
        let cli = Cli::try_parse_from([
            "certaudit",
            "doctor",
            "--external-id",
            "org-secret",
            "--external-id-parameter",
            "/certaudit/external-id",
        ])
        .unwrap();
        let Command::Doctor(args) = cli.command else {
            panic!("doctor")
        };
        let err = args.target.targets().unwrap_err().to_string();
        assert!(err.contains("keep one"), "{err}");
        assert!(
            !err.contains("org-secret"),
            "the secret is never echoed: {err}"
        );
    }
}
