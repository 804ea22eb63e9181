//! The one result of a scan: every certificate found, every account's fate, every error; and
//! the domain's shared words (`attention`), so renderers never word a certificate two ways.
//! Output formats are renderings of this.

pub mod attention;
pub mod authority;
pub mod classify;
mod control;
pub mod ct;
pub mod endpoint;
mod failure;
mod scope;
mod word;

pub use authority::CertificateAuthority;
pub use control::{is_control_character, printable};
pub use failure::FailureKind;
pub use scope::ScanScope;

use chrono::{DateTime, Utc};
pub use compact_str::CompactString;
use serde::{Deserialize, Serialize};
pub use word::Word;

pub const SCHEMA_VERSION: u32 = 1;

/// The code of the error a signal leaves in the report.
pub const INTERRUPTED: &str = "interrupted";
/// The reason given to every account an interrupt cut short: stopped by whoever ran the scan,
/// not failed (the diff compares it with nothing).
pub const UNFINISHED: &str = "interrupted before this account finished";

/// The report document. Field names are a contract with every script that reads it: add,
/// never rename.
/// Deserialize reads any schema_version 1 report (what `certaudit diff` compares); fields a
/// later version added default when absent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub generated_at: DateTime<Utc>,
    pub expiring_days: i64,
    pub caller_account_id: String,
    pub summary: Summary,
    pub accounts: Vec<AccountOutcome>,
    pub certificates: Vec<Certificate>,
    /// AWS Private CAs of the scanned account-regions (SPEC §14), sorted by days_to_expiry;
    /// empty when the `pca` source was not read.
    #[serde(default)]
    pub certificate_authorities: Vec<CertificateAuthority>,
    pub errors: Vec<ScanError>,
    /// What TLS handshakes found at the in-use certificates' names (`scan --probe`); absent
    /// when not probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<endpoint::Endpoint>>,
    /// What Certificate Transparency shows for the organization's names (`scan --ct`, SPEC
    /// §12); absent when not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ct: Option<ct::CtSection>,
    /// Every unexpired issuance CT showed (known and silenced ones too): kept by the history
    /// for the next run, not written to report.json.
    #[serde(skip)]
    pub ct_seen: Vec<ct::Seen>,
    /// The accounts and regions the scan set out to cover; absent in a report from before
    /// certaudit recorded it (then the scan is taken as the whole organization's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScanScope>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Summary {
    pub accounts_targeted: usize,
    pub accounts_scanned: usize,
    pub accounts_failed: usize,
    pub accounts_skipped: usize,
    pub regions_scanned: usize,
    pub certificates: usize,
    pub expiring: usize,
    pub expired: usize,
    pub imported: usize,
    pub will_not_renew: usize,
    /// Certificates whose next renewal the renewal check found will fail.
    pub renewal_at_risk: usize,
    /// Certificates whose renewal check could not be made (a lookup failed): neither fine nor
    /// at risk.
    pub renewal_unknown: usize,
    /// IAM server certificates among `certificates` (SPEC §14).
    pub iam_server_certificates: usize,
    /// AWS Private CAs read.
    pub certificate_authorities: usize,
    /// Private CAs expiring, expired or not ACTIVE while certificates depend on them.
    pub certificate_authorities_attention: usize,
    /// Certificates Certificate Transparency shows for the organization's names and no
    /// inventory holds (`--ct`; kind `shadow`), and how many of them are expiring.
    pub shadow: usize,
    pub shadow_expiring: usize,
    pub errors: usize,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    Scanned,
    Failed,
    Skipped,
}

/// What happened to one targeted account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountOutcome {
    pub account_id: String,
    pub account_name: Option<String>,
    pub state: AccountState,
    /// Why it was skipped or failed; null when scanned.
    pub reason: Option<String>,
    /// Regions scanned in this account.
    pub regions: Vec<String>,
    /// Regions asked for with `--regions` that this account has not enabled: not called.
    #[serde(default)]
    pub regions_not_enabled: Vec<String>,
}

/// Where in the scan an error happened.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Organizations,
    AssumeRole,
    DescribeRegions,
    ListCertificates,
    DescribeCertificate,
    ListTags,
    Interrupted,
    /// Publishing the SNS summary.
    Sns,
    /// Importing Security Hub findings.
    SecurityHub,
    /// Writing a scheduled scan's report files to S3 (`--report-s3`).
    ReportS3,
    /// Probing endpoints (`--probe`) when this machine, not an endpoint, failed.
    Probe,
    /// The renewal check's DNS lookups (SPEC §13).
    Dns,
    /// IAM ListServerCertificates (SPEC §14).
    ListServerCertificates,
    /// ACM Private CA ListCertificateAuthorities, and a CA the scan could not read.
    ListCertificateAuthorities,
    /// Certificate Transparency searches (SPEC §12).
    Ct,
}

impl Stage {
    /// A stage of the sources besides ACM (IAM server certificates, Private CAs): its failure
    /// leaves the account's ACM inventory whole.
    pub fn is_other_source(self) -> bool {
        matches!(
            self,
            Stage::ListServerCertificates | Stage::ListCertificateAuthorities
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Organizations => "organizations",
            Stage::AssumeRole => "assume_role",
            Stage::DescribeRegions => "describe_regions",
            Stage::ListCertificates => "list_certificates",
            Stage::DescribeCertificate => "describe_certificate",
            Stage::ListTags => "list_tags",
            Stage::Interrupted => "interrupted",
            Stage::Sns => "sns",
            Stage::SecurityHub => "security_hub",
            Stage::ReportS3 => "report_s3",
            Stage::Probe => "probe",
            Stage::Dns => "dns",
            Stage::ListServerCertificates => "list_server_certificates",
            Stage::ListCertificateAuthorities => "list_certificate_authorities",
            Stage::Ct => "ct",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScanError {
    pub account_id: Option<String>,
    /// Null for account-level errors.
    pub region: Option<String>,
    pub stage: Stage,
    /// The AWS error code when there is one, else a short kebab-case word.
    pub code: String,
    pub message: String,
}

/// "1 account", "2 accounts".
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// "name (id)", or the ID alone when the account has no known name.
pub fn account_label(account_id: &str, account_name: Option<&str>) -> String {
    match account_name {
        Some(name) => format!("{name} ({account_id})"),
        None => account_id.to_string(),
    }
}

/// One certificate as the report shows it. Absent values are null, never omitted.
/// Shared short values (account IDs and names, regions, ACM's enumerations, issuers) are
/// `Word`s, kept once for the process: a 100,000-certificate report is mostly these.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Certificate {
    pub arn: String,
    /// Where AWS keeps it: ACM, or IAM (server certificates, SPEC §14).
    #[serde(default)]
    pub source: Source,
    pub account_id: Word,
    pub account_name: Option<Word>,
    /// Empty for IAM server certificates, which are global: null in JSON.
    #[serde(with = "global_region")]
    pub region: Word,
    pub domain_name: Option<String>,
    pub subject_alternative_names: Vec<String>,
    #[serde(rename = "type")]
    pub cert_type: Option<Word>,
    pub status: Option<Word>,
    pub key_algorithm: Option<Word>,
    pub key_pair_origin: Option<Word>,
    pub issuer: Option<Word>,
    pub serial: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    pub days_to_expiry: Option<i64>,
    pub expiring: bool,
    pub expired: bool,
    pub imported: bool,
    pub auto_renews: bool,
    pub will_not_renew: bool,
    pub renewal_eligibility: Option<Word>,
    pub renewal_status: Option<Word>,
    pub renewal_status_reason: Option<Word>,
    pub in_use: Option<bool>,
    /// Null when not read (`--detail summary`): "not read" is not "none".
    pub in_use_by: Option<Vec<String>>,
    pub managed_by: Option<Word>,
    pub failure_reason: Option<Word>,
    /// Null when not read (`--detail summary`, `--no-tags`).
    pub tags: Option<Tags>,
    /// Whether ACM's next renewal will succeed (SPEC §13); null when not checked (not issued
    /// by Amazon, not ISSUED, `--detail summary`, `--no-renewal-check`).
    /// Boxed: most certificates have none, and 100,000 of them are kept at once.
    #[serde(default)]
    pub renewal_check: Option<Box<crate::renewal::RenewalCheck>>,
    /// What DescribeCertificate says the renewal will validate, until the check has judged it.
    #[serde(skip)]
    pub validation: Option<Box<crate::renewal::Validation>>,
    /// The Private CA that issued a PRIVATE certificate (DescribeCertificate); null otherwise
    /// or when not read.
    #[serde(default)]
    pub certificate_authority_arn: Option<String>,
    /// An IAM server certificate's own fields; null for ACM certificates.
    #[serde(default)]
    pub server_certificate: Option<Box<ServerCertificate>>,
}

/// Where a certificate is kept.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    #[default]
    Acm,
    Iam,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Acm => "acm",
            Source::Iam => "iam",
        }
    }
}

/// The `type` of an IAM server certificate.
pub const IAM_SERVER: &str = "IAM_SERVER";

/// What IAM's ListServerCertificates says of a server certificate besides its ARN and expiry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerCertificate {
    pub name: String,
    pub path: String,
    pub id: String,
    pub upload_date: Option<DateTime<Utc>>,
}

/// A global certificate (IAM's) has no region: "" inside, null in JSON, and null read back as "".
mod global_region {
    use super::Word;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(region: &Word, s: S) -> Result<S::Ok, S::Error> {
        match region.is_empty() {
            true => s.serialize_none(),
            false => s.serialize_str(region),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Word, D::Error> {
        Ok(Option::<Word>::deserialize(d)?.unwrap_or_default())
    }
}

/// A certificate's tags, as a JSON object sorted by key. A sorted vector rather than a
/// `BTreeMap`: a map's first node costs about 500 bytes, which at 100,000 certificates with a
/// tag or two each is most of the report's memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    pub fn insert(&mut self, key: String, value: String) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(at) => self.0[at].1 = value,
            Err(at) => self.0.insert(at, (key, value)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// Tags as ACM lists them, in a vector of exactly their number (growing one tag at a time
/// would leave room for four: ~150 bytes a certificate at 100,000 certificates).
impl FromIterator<(String, String)> for Tags {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let pairs = pairs.into_iter();
        let mut tags = Tags(Vec::with_capacity(pairs.size_hint().0));
        for (key, value) in pairs {
            tags.insert(key, value);
        }
        tags.0.shrink_to_fit();
        tags
    }
}

impl Serialize for Tags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Tags(map.into_iter().collect()))
    }
}

impl Certificate {
    /// "name (id)", or the ID alone when the account has no known name.
    pub fn account_label(&self) -> String {
        account_label(&self.account_id, self.account_name.as_deref())
    }

    /// A certificate with only its identity known; the scanner fills in what AWS says and
    /// `classify` derives the rest.
    pub fn new(arn: &str, account_id: &str, account_name: Option<&str>, region: &str) -> Self {
        Certificate {
            arn: arn.to_string(),
            source: Source::Acm,
            account_id: account_id.into(),
            account_name: account_name.map(Word::from),
            region: region.into(),
            domain_name: None,
            subject_alternative_names: Vec::new(),
            cert_type: None,
            status: None,
            key_algorithm: None,
            key_pair_origin: None,
            issuer: None,
            serial: None,
            not_before: None,
            not_after: None,
            days_to_expiry: None,
            expiring: false,
            expired: false,
            imported: false,
            auto_renews: false,
            will_not_renew: false,
            renewal_eligibility: None,
            renewal_status: None,
            renewal_status_reason: None,
            in_use: None,
            in_use_by: None,
            managed_by: None,
            failure_reason: None,
            tags: None,
            renewal_check: None,
            validation: None,
            certificate_authority_arn: None,
            server_certificate: None,
        }
    }

    /// What people call it: its domain, or an IAM server certificate's name.
    pub fn label(&self) -> &str {
        match (&self.domain_name, &self.server_certificate) {
            (Some(domain), _) => domain,
            (None, Some(server)) => &server.name,
            (None, None) => "(no domain)",
        }
    }

    /// Its region, or "global" for an IAM server certificate.
    pub fn region_label(&self) -> &str {
        match self.region.is_empty() {
            true => "global",
            false => &self.region,
        }
    }

    pub fn is_iam(&self) -> bool {
        self.source == Source::Iam
    }
}

impl Report {
    /// A report with nothing in it yet: what the scan fills in.
    pub fn new(
        generated_at: DateTime<Utc>,
        expiring_days: i64,
        caller_account_id: impl Into<String>,
    ) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool::default(),
            generated_at,
            expiring_days,
            caller_account_id: caller_account_id.into(),
            summary: Summary::default(),
            accounts: Vec::new(),
            certificates: Vec::new(),
            certificate_authorities: Vec::new(),
            errors: Vec::new(),
            endpoints: None,
            ct: None,
            ct_seen: Vec::new(),
            scope: None,
        }
    }

    /// The account of an error as people read it: "name (id)" when the name is known.
    pub fn error_account(&self, e: &ScanError) -> Option<String> {
        let id = e.account_id.as_deref()?;
        let name = self
            .accounts
            .iter()
            .find(|a| a.account_id == id)
            .and_then(|a| a.account_name.as_deref());
        Some(account_label(id, name))
    }

    /// Where an error happened: "name (id) region", either part absent when unknown.
    pub fn error_place(&self, e: &ScanError) -> String {
        let parts = [self.error_account(e), e.region.clone()];
        parts.into_iter().flatten().collect::<Vec<_>>().join(" ")
    }

    /// Certificates sorted as the contract says: days_to_expiry ascending (nulls last), then arn.
    pub fn sort(&mut self) {
        // Unstable: the ARN makes every key unique, and a stable sort would allocate half
        // the vector again.
        self.certificates.sort_unstable_by(|a, b| {
            let key = |c: &Certificate| (c.days_to_expiry.is_none(), c.days_to_expiry);
            key(a).cmp(&key(b)).then_with(|| a.arn.cmp(&b.arn))
        });
        self.accounts
            .sort_by(|a, b| a.account_id.cmp(&b.account_id));
        self.certificate_authorities.sort_by(|a, b| {
            let key = |a: &CertificateAuthority| (a.days_to_expiry.is_none(), a.days_to_expiry);
            key(a).cmp(&key(b)).then_with(|| a.arn.cmp(&b.arn))
        });
        self.sort_errors();
    }

    fn sort_errors(&mut self) {
        self.errors.sort_by(|a, b| {
            (&a.account_id, &a.region, a.stage, &a.code).cmp(&(
                &b.account_id,
                &b.region,
                b.stage,
                &b.code,
            ))
        });
    }

    /// Errors found after the scan (notifications, a failed organization listing): added in
    /// order and counted in the summary, whose duration stays the scan's.
    pub fn add_errors(&mut self, errors: impl IntoIterator<Item = ScanError>) {
        self.errors.extend(errors);
        self.sort_errors();
        self.tally(self.summary.duration_ms);
    }

    /// Recount the summary from the report's own contents, so it can never disagree with them.
    pub fn tally(&mut self, duration_ms: u64) {
        let count = |state| self.accounts.iter().filter(|a| a.state == state).count();
        let certs = &self.certificates;
        self.summary = Summary {
            accounts_targeted: self.accounts.len(),
            accounts_scanned: count(AccountState::Scanned),
            accounts_failed: count(AccountState::Failed),
            accounts_skipped: count(AccountState::Skipped),
            regions_scanned: self.accounts.iter().map(|a| a.regions.len()).sum(),
            certificates: certs.len(),
            expiring: certs.iter().filter(|c| c.expiring).count(),
            expired: certs.iter().filter(|c| c.expired).count(),
            imported: certs.iter().filter(|c| c.imported).count(),
            will_not_renew: certs.iter().filter(|c| c.will_not_renew).count(),
            renewal_at_risk: certs
                .iter()
                .filter(|c| c.renewal_check.as_ref().is_some_and(|r| r.at_risk()))
                .count(),
            renewal_unknown: certs
                .iter()
                .filter(|c| c.renewal_check.as_ref().is_some_and(|r| r.is_unknown()))
                .count(),
            iam_server_certificates: certs.iter().filter(|c| c.is_iam()).count(),
            certificate_authorities: self.certificate_authorities.len(),
            certificate_authorities_attention: self
                .certificate_authorities
                .iter()
                .filter(|a| a.needs_attention)
                .count(),
            shadow: self.ct.as_ref().map_or(0, |ct| ct.shadow_count()),
            shadow_expiring: self.ct.as_ref().map_or(0, |ct| ct.expiring_count()),
            errors: self.errors.len(),
            duration_ms,
        };
    }

    /// True when some account or region could not be scanned completely.
    pub fn is_incomplete(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Errors with the same account, region, stage and code, one group each in report order:
    /// a dead endpoint fails every certificate of a region the same way, and people need one
    /// line for it, not hundreds (the JSON keeps every one).
    pub fn error_groups(&self) -> Vec<ErrorGroup<'_>> {
        let mut groups: Vec<ErrorGroup<'_>> = Vec::new();
        for e in &self.errors {
            match groups.last_mut() {
                Some(group) if group.first.same_kind(e) => group.count += 1,
                _ => groups.push(ErrorGroup { first: e, count: 1 }),
            }
        }
        groups
    }
}

/// Errors alike but for their message, shown as the first one and a count.
#[derive(Debug, Clone, Copy)]
pub struct ErrorGroup<'a> {
    pub first: &'a ScanError,
    pub count: usize,
}

impl ErrorGroup<'_> {
    /// The first error's message, and how many more there are like it.
    pub fn message(&self) -> String {
        match self.count {
            1 => self.first.message.clone(),
            n => format!("{} (and {} more like it)", self.first.message, n - 1),
        }
    }
}

impl ScanError {
    /// An error at a stage of the scan, in an account and region when it has them.
    pub fn new(
        stage: Stage,
        account_id: Option<&str>,
        region: Option<&str>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ScanError {
            account_id: account_id.map(str::to_string),
            region: region.map(str::to_string),
            stage,
            code: code.into(),
            message: message.into(),
        }
    }

    /// The one error a signal leaves: the whole scan, no account or region.
    pub fn interrupted(message: impl Into<String>) -> Self {
        ScanError::new(Stage::Interrupted, None, None, INTERRUPTED, message)
    }

    pub fn kind(&self) -> FailureKind {
        FailureKind::of(&self.code)
    }

    fn same_kind(&self, other: &ScanError) -> bool {
        (&self.account_id, &self.region, self.stage, &self.code)
            == (&other.account_id, &other.region, other.stage, &other.code)
    }
}

#[cfg(test)]
mod tests {
    use super::Tags;

    #[test]
    fn tags_from_a_listing_are_sorted_without_spare_room_and_the_last_value_wins() {
        let pairs = [("owner", "web"), ("env", "prod"), ("owner", "payments")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let tags: Tags = pairs.into_iter().collect();
        let listed: Vec<(&String, &String)> = tags.iter().collect();
        assert_eq!(
            listed,
            [
                (&"env".to_string(), &"prod".to_string()),
                (&"owner".to_string(), &"payments".to_string())
            ]
        );
        assert_eq!(tags.0.capacity(), 2);
    }
}
