//! Consolidated Security Hub findings: one ASFF finding per certificate that needs attention,
//! every account and region imported into the caller's account in one region. The finding Id
//! is derived from the certificate ARN, so a re-run updates rather than duplicates; a finding
//! whose certificate no longer qualifies is re-imported ARCHIVED, but only when the scan
//! covered that certificate's account and region completely, and nothing (an ACM event's
//! handler) updated the finding after the scan began.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::Region;
use aws_sdk_securityhub::types::{
    AwsCertificateManagerCertificateDetails, AwsSecurityFinding, AwsSecurityFindingFilters,
    Partition, Recommendation, RecordState, Remediation, Resource, ResourceDetails, Severity,
    SeverityLabel, StringFilter, StringFilterComparison,
};
use chrono::{DateTime, SecondsFormat, Utc};

use super::access_finding;
use super::authority_finding;
use super::finding::{clip, envelope};
pub use super::finding::{ImportScope, GENERATOR_ID};
use crate::access::aws_error::AwsFailure;
use crate::access::Caller;
use crate::renewal::issuing_ca::CA_NOT_READ;
use crate::report::attention::{attention, console_url, days_left, why, Urgency};
use crate::report::{
    printable, AccountState, Certificate, FailureKind, Report, ScanError, ScanScope, Stage, Word,
};

/// BatchImportFindings takes at most 100 findings per call.
const BATCH: usize = 100;
const ACCOUNT_FIELD: &str = "certaudit/AccountId";
const REGION_FIELD: &str = "certaudit/Region";
/// `acm`, `iam` or `pca`; absent in findings from before certaudit read IAM and Private CA.
const SOURCE_FIELD: &str = "certaudit/Source";
/// The certificate's renewal check when the finding was made: a later scan that did not check
/// (`--no-renewal-check`, `--sources` without `pca`) cannot say the risk is gone.
const RENEWAL_CHECK_FIELD: &str = "certaudit/RenewalCheck";
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 1024;

/// ASFF's longest `Id` (a finding's and a resource's).
pub const MAX_ID: usize = 512;

/// `certaudit/{arn}`; for an ARN too long for ASFF (an IAM server certificate's path may be
/// 512 characters), `certaudit/sha256/{hex}` of it: still one Id per resource, every run.
pub fn finding_id(certificate_arn: &str) -> String {
    let id = format!("certaudit/{certificate_arn}");
    match id.len() <= MAX_ID {
        true => id,
        false => format!("certaudit/sha256/{}", sha256_hex(certificate_arn)),
    }
}

/// A resource's `Id`: its ARN, or when longer than ASFF allows, `sha256/{hex}` of it (the ARN
/// stays in the details).
pub fn resource_id(arn: &str) -> String {
    match arn.len() <= MAX_ID {
        true => arn.to_string(),
        false => format!("sha256/{}", sha256_hex(arn)),
    }
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// By the days left; for a certificate whose renewal will fail (SPEC §13), at least by the
/// days until ACM's attempt: High once it has begun, Medium within two weeks of it.
pub fn severity(c: &Certificate) -> SeverityLabel {
    let by_expiry = match Urgency::of(c) {
        Urgency::Expired | Urgency::Within7 => SeverityLabel::Critical,
        Urgency::Within15 => SeverityLabel::High,
        Urgency::Within30 => SeverityLabel::Medium,
        Urgency::Expiring | Urgency::Later => SeverityLabel::Low,
    };
    let by_attempt = c
        .renewal_check
        .as_ref()
        .filter(|r| r.at_risk())
        .and_then(|r| r.attempt_in_days)
        .map(|d| match d {
            ..=0 => SeverityLabel::High,
            1..=14 => SeverityLabel::Medium,
            _ => SeverityLabel::Low,
        });
    let rank = |s: &SeverityLabel| match s {
        SeverityLabel::Critical => 3,
        SeverityLabel::High => 2,
        SeverityLabel::Medium => 1,
        _ => 0,
    };
    match by_attempt {
        Some(attempt) if rank(&attempt) > rank(&by_expiry) => attempt,
        _ => by_expiry,
    }
}

fn partition_of(arn: &str) -> Partition {
    match arn.split(':').nth(1) {
        Some("aws-cn") => Partition::AwsCn,
        Some("aws-us-gov") => Partition::AwsUsGov,
        _ => Partition::Aws,
    }
}

fn owned(v: &Option<Word>) -> Option<String> {
    v.as_deref().map(str::to_string)
}

/// What a finding says to people about one certificate. Its title and description are shown
/// by consoles and forwarded to chat and ticket systems: AWS values go in through the
/// control-character rule, the resource's details keep them exact.
struct FindingWords {
    title: String,
    description: String,
    recommendation: &'static str,
}

impl FindingWords {
    fn of(c: &Certificate) -> Self {
        let what = match c.is_iam() {
            true => format!("IAM server certificate {}", c.label()),
            false => format!("ACM certificate for {}", c.label()),
        };
        let title = match c.days_to_expiry {
            Some(d) if c.expired || d < 0 => format!("{what} has expired"),
            Some(d) if c.expiring => format!("{what} expires in {d} days"),
            _ => format!("{what} will not renew"),
        };
        let why = match why(c) {
            w if w.is_empty() => String::new(),
            w => format!(" {w}."),
        };
        let description = format!(
            "{days}.{why} Account {account}, region {region}, type {kind}, not after {not_after}.",
            days = days_left(c),
            account = c.account_label(),
            region = c.region_label(),
            kind = c.cert_type.as_deref().unwrap_or("unknown"),
            not_after = c
                .not_after
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                .unwrap_or_else(|| "unknown".into()),
        );
        let at_risk = c.renewal_check.as_ref().is_some_and(|r| r.at_risk());
        let recommendation = if c.is_iam() {
            "Upload a renewed certificate to IAM and move its users (CloudFront, load balancers) \
             to it, or move them to an ACM certificate, which renews by itself"
        } else if at_risk {
            "Restore what the description names (the validation CNAME, a CAA record allowing \
             amazon.com, the HTTP redirect, an approver for the validation e-mail, an ACTIVE \
             issuing CA that outlives the renewal) before ACM's renewal attempt, 60 days before \
             expiry"
        } else if c.imported {
            "Obtain a renewed certificate from its issuer and re-import it into ACM (same ARN)"
        } else if c.in_use == Some(false) {
            "Attach the certificate to a resource so ACM can renew it, or delete it if unused"
        } else {
            "Complete the certificate's domain validation so ACM can renew it, or replace it"
        };
        FindingWords {
            title: clip(printable(&title).into_owned(), TITLE_MAX),
            description: clip(printable(&description).into_owned(), DESCRIPTION_MAX),
            recommendation,
        }
    }
}

/// The finding's resource: the certificate itself, with its account in the details (the
/// finding's own AwsAccountId must be the caller's).
fn certificate_resource(c: &Certificate) -> Resource {
    if c.is_iam() {
        return server_certificate_resource(c);
    }
    let mut details = AwsCertificateManagerCertificateDetails::builder()
        .set_domain_name(c.domain_name.clone())
        .set_subject_alternative_names(Some(c.subject_alternative_names.clone()))
        .set_type(owned(&c.cert_type))
        .set_status(owned(&c.status))
        .set_key_algorithm(owned(&c.key_algorithm))
        .set_issuer(owned(&c.issuer))
        .set_serial(c.serial.clone())
        .set_renewal_eligibility(owned(&c.renewal_eligibility))
        .set_in_use_by(c.in_use_by.clone());
    if let Some(t) = c.not_after {
        details = details.not_after(t.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    if let Some(t) = c.not_before {
        details = details.not_before(t.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    let mut resource_details = ResourceDetails::builder()
        .aws_certificate_manager_certificate(details.build())
        .other("AccountId", c.account_id);
    if let Some(name) = &c.account_name {
        resource_details = resource_details.other("AccountName", *name);
    }
    Resource::builder()
        .r#type("AwsCertificateManagerCertificate")
        .id(c.arn.clone())
        .partition(partition_of(&c.arn))
        .region(c.region.to_string())
        .details(resource_details.build())
        .build()
}

/// An IAM server certificate: ASFF has no type of its own for one, so `Other`, with what IAM
/// says of it in the details; no region (IAM is global).
fn server_certificate_resource(c: &Certificate) -> Resource {
    let mut details = ResourceDetails::builder()
        .other("AccountId", c.account_id.to_string())
        .other("Source", "iam");
    if let Some(name) = &c.account_name {
        details = details.other("AccountName", name.to_string());
    }
    if let Some(server) = &c.server_certificate {
        details = details
            .other("ServerCertificateName", server.name.clone())
            .other("Path", server.path.clone())
            .other("ServerCertificateId", server.id.clone());
    }
    if let Some(t) = c.not_after {
        details = details.other("NotAfter", t.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    if c.arn.len() > MAX_ID {
        details = details.other("Arn", c.arn.clone());
    }
    Resource::builder()
        .r#type("Other")
        .id(resource_id(&c.arn))
        .partition(partition_of(&c.arn))
        .details(details.build())
        .build()
}

/// The ASFF finding for one certificate that needs attention.
pub fn finding(
    c: &Certificate,
    scope: &ImportScope,
    created_at: Option<&str>,
) -> AwsSecurityFinding {
    let words = FindingWords::of(c);
    let remediation = Remediation::builder()
        .recommendation(
            Recommendation::builder()
                .text(words.recommendation)
                .url(console_url(c))
                .build(),
        )
        .build();
    let mut builder = envelope(finding_id(&c.arn), scope, created_at)
        .severity(Severity::builder().label(severity(c)).build())
        .title(words.title)
        .description(words.description)
        .remediation(remediation)
        .source_url(console_url(c))
        .resources(certificate_resource(c))
        .product_fields(ACCOUNT_FIELD, c.account_id.to_string())
        .product_fields(REGION_FIELD, c.region_label().to_string())
        .product_fields(SOURCE_FIELD, c.source.as_str());
    if let Some(d) = c.days_to_expiry {
        builder = builder.product_fields("certaudit/DaysToExpiry", d.to_string());
    }
    if let Some(check) = &c.renewal_check {
        builder = builder.product_fields(RENEWAL_CHECK_FIELD, check.status.as_str());
    }
    builder.build()
}

/// Where a finding's resource lives, as far as archiving is concerned: (account, place), the
/// place an ACM region, `iam` for an account's IAM server certificates, `pca:REGION` for its
/// Private CAs.
fn place_of(f: &AwsSecurityFinding) -> Option<(String, String)> {
    let fields = f.product_fields()?;
    let account = fields.get(ACCOUNT_FIELD)?.clone();
    let region = || f.resources().first()?.region().map(str::to_string);
    let place = match fields.get(SOURCE_FIELD).map(String::as_str) {
        Some("iam") => "iam".to_string(),
        Some("pca") => format!("pca:{}", region()?),
        _ => region()?,
    };
    Some((account, place))
}

/// The places (`place_of`) the scan read completely: a resource missing from these is gone.
fn covered(report: &Report) -> BTreeSet<(String, String)> {
    // Which stage failed where: a source's failure leaves the others' places whole.
    // A `ca-not-read` error is about another account's CA, not a gap in this one's listing.
    let failed = |stages: &dyn Fn(Stage) -> bool, account: &str, region: Option<&str>| {
        report
            .errors
            .iter()
            .filter(|e| e.code != CA_NOT_READ)
            .any(|e| {
                stages(e.stage)
                    && e.account_id.as_deref() == Some(account)
                    && e.region.as_deref() == region
            })
    };
    let acm = |s: Stage| !s.is_other_source();
    let iam = |s: Stage| s != Stage::ListCertificateAuthorities;
    let pca = |s: Stage| s != Stage::ListServerCertificates;
    let scope = report.scope.as_ref();
    let reads = |source: &str| {
        scope.is_some_and(|s| s.sources.as_ref().is_some_and(|set| set.contains(source)))
    };
    let reads_acm = scope.is_none_or(ScanScope::reads_acm);
    let mut places = BTreeSet::new();
    for a in report
        .accounts
        .iter()
        .filter(|a| a.state == AccountState::Scanned)
    {
        let id = a.account_id.as_str();
        if reads("iam") && !failed(&iam, id, None) {
            places.insert((id.to_string(), "iam".to_string()));
        }
        for r in &a.regions {
            if reads_acm && !failed(&acm, id, None) && !failed(&acm, id, Some(r)) {
                places.insert((id.to_string(), r.clone()));
            }
            if reads("pca") && !failed(&pca, id, None) && !failed(&pca, id, Some(r)) {
                places.insert((id.to_string(), format!("pca:{r}")));
            }
        }
    }
    places
}

/// The findings to import: one ACTIVE per certificate that needs attention (keeping the
/// existing finding's CreatedAt), one ARCHIVED per existing active finding whose certificate no
/// longer qualifies in a covered account-region and that was not updated after the scan began
/// (`started`).
pub fn plan(
    report: &Report,
    scope: &ImportScope,
    existing: &[AwsSecurityFinding],
    started: DateTime<Utc>,
) -> Vec<AwsSecurityFinding> {
    let existing: BTreeMap<&str, &AwsSecurityFinding> = existing
        .iter()
        .filter(|f| f.generator_id() == Some(GENERATOR_ID))
        .filter(|f| f.record_state() != Some(&RecordState::Archived))
        .filter_map(|f| Some((f.id()?, f)))
        .collect();
    let mut findings: Vec<AwsSecurityFinding> = attention(report)
        .into_iter()
        .map(|c| {
            let created = existing
                .get(finding_id(&c.arn).as_str())
                .and_then(|f| f.created_at());
            finding(c, scope, created)
        })
        .collect();
    for ca in report
        .certificate_authorities
        .iter()
        .filter(|a| a.needs_attention)
    {
        let id = authority_finding::finding_id(&ca.arn);
        let created = existing.get(id.as_str()).and_then(|f| f.created_at());
        findings.push(authority_finding::finding(ca, scope, created));
    }
    for account in access_finding::unreachable(report) {
        let id = access_finding::finding_id(&account.account_id);
        let created = existing.get(id.as_str()).and_then(|f| f.created_at());
        findings.push(access_finding::finding(&account, scope, created));
    }
    let active: BTreeSet<String> = findings.iter().filter_map(|f| f.id.clone()).collect();
    // A certificate whose renewal check could not be made (a DNS lookup or the HTTP request
    // failed) was not judged: its finding stands until a check answers, so a resolver outage
    // never closes the findings it cannot see.
    let unjudged: BTreeSet<String> = report
        .certificates
        .iter()
        .filter(|c| unjudged(c, existing.get(finding_id(&c.arn).as_str()).copied()))
        .map(|c| finding_id(&c.arn))
        .collect();
    let covered = covered(report);
    let reachable = access_finding::reachable(report);
    for (id, old) in existing {
        let stale = match id.strip_prefix(access_finding::ID_PREFIX) {
            // An account finding: archived once a scan enters the account again.
            Some(account) => reachable.contains(account),
            None => place_of(old).is_some_and(|p| covered.contains(&p)),
        };
        if stale && !active.contains(id) && !unjudged.contains(id) && !updated_since(old, started) {
            findings.push(archived(old, &scope.now));
        }
    }
    findings
}

/// Whether whatever made the certificate's finding may still hold, unseen: its renewal check
/// could not be made (unknown), or it was at risk when the finding was made and was not checked
/// now (`--no-renewal-check`, `--sources` without `pca`, an event for a PRIVATE certificate) —
/// nothing said the risk is gone. Such a finding stands; it is not archived.
pub fn unjudged(c: &Certificate, existing: Option<&AwsSecurityFinding>) -> bool {
    match &c.renewal_check {
        Some(check) => check.is_unknown(),
        None => existing
            .and_then(|f| f.product_fields())
            .and_then(|fields| fields.get(RENEWAL_CHECK_FIELD))
            .is_some_and(|status| status == "at_risk"),
    }
}

/// Whether the finding was updated after `instant`, the scan's start. An ACM event handled
/// while the scan ran (the function's reserved concurrency lets the two overlap) may have read
/// its certificate later than the scan did: its finding stands, and the next scan judges it.
/// The start instant, not `generated_at`: that is cut to the whole second, and a finding a
/// previous scan or event updated within the same second before this scan began would never
/// be archived. An UpdatedAt that cannot be read is not known to be newer.
fn updated_since(finding: &AwsSecurityFinding, instant: DateTime<Utc>) -> bool {
    finding
        .updated_at()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t > instant)
}

fn hub_error(caller: &Caller, region: &str, code: &str, message: String) -> ScanError {
    ScanError::new(
        Stage::SecurityHub,
        Some(&caller.account_id),
        Some(region),
        code,
        message,
    )
}

/// Import the report's findings (and archive the stale ones). Returns what failed.
pub async fn import(
    caller: &Caller,
    region: &str,
    report: &Report,
    started: DateTime<Utc>,
) -> Vec<ScanError> {
    let config = aws_sdk_securityhub::config::Builder::from(&caller.config)
        .region(Region::new(region.to_string()))
        .build();
    let client = aws_sdk_securityhub::Client::from_conf(config);
    let scope = ImportScope {
        caller: &caller.account_id,
        partition: &caller.partition,
        hub_region: region,
        now: chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
    };
    let existing = match active_findings(&client, &scope).await {
        Ok(existing) => existing,
        Err(failure) => {
            let message = format!(
                "cannot read certaudit's existing findings (nothing imported): {}{}",
                failure.message,
                enable_hint(&failure, region)
            );
            return vec![hub_error(caller, region, &failure.code, message)];
        }
    };
    let findings = plan(report, &scope, &existing, started);
    let mut errors = Vec::new();
    let mut imported = 0;
    for batch in findings.chunks(BATCH) {
        let sent = client
            .batch_import_findings()
            .set_findings(Some(batch.to_vec()))
            .send()
            .await;
        match sent {
            Ok(out) => {
                imported += batch.len() - out.failed_findings().len();
                for failed in out.failed_findings() {
                    let message = format!(
                        "finding {} was not imported: {}",
                        failed.id().unwrap_or("?"),
                        failed.error_message().unwrap_or("no message")
                    );
                    let code = failed.error_code().unwrap_or("FailedFinding");
                    errors.push(hub_error(caller, region, code, message));
                }
            }
            Err(e) => {
                let failure = AwsFailure::from_sdk(&e);
                let message = format!(
                    "{} findings were not imported: {}{}",
                    batch.len(),
                    failure.message,
                    enable_hint(&failure, region)
                );
                errors.push(hub_error(caller, region, &failure.code, message));
            }
        }
    }
    tracing::info!(
        region,
        imported,
        failed = errors.len(),
        "Security Hub findings imported"
    );
    errors
}

fn enable_hint(failure: &AwsFailure, region: &str) -> String {
    if failure.kind() == FailureKind::NotFound {
        format!(" (enable Security Hub in {region}, or pick its region with --security-hub-region)")
    } else {
        String::new()
    }
}

/// certaudit's active findings in the caller's default product.
async fn active_findings(
    client: &aws_sdk_securityhub::Client,
    scope: &ImportScope<'_>,
) -> Result<Vec<AwsSecurityFinding>, AwsFailure> {
    let filters = AwsSecurityFindingFilters::builder()
        .product_arn(equals(scope.product_arn()))
        .generator_id(equals(GENERATOR_ID.into()))
        .record_state(equals("ACTIVE".into()))
        .build();
    let mut pages = client
        .get_findings()
        .filters(filters)
        .max_results(100)
        .into_paginator()
        .send();
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsFailure::from_sdk(&e))?;
        all.extend(page.findings().iter().cloned());
    }
    Ok(all)
}

/// One certificate's finding, as an ACM event's handler converges it: read the existing
/// finding by its Id, import the new state. The same finding the scan imports.
pub struct Hub {
    client: aws_sdk_securityhub::Client,
    caller: String,
    partition: String,
    region: String,
}

impl Hub {
    pub fn new(caller: &Caller, region: &str) -> Hub {
        let config = aws_sdk_securityhub::config::Builder::from(&caller.config)
            .region(Region::new(region.to_string()))
            .build();
        Hub {
            client: aws_sdk_securityhub::Client::from_conf(config),
            caller: caller.account_id.clone(),
            partition: caller.partition.clone(),
            region: region.to_string(),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn scope(&self) -> ImportScope<'_> {
        ImportScope {
            caller: &self.caller,
            partition: &self.partition,
            hub_region: &self.region,
            now: chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }

    /// certaudit's finding with this Id, in whatever state.
    pub async fn existing(&self, id: &str) -> Result<Option<AwsSecurityFinding>, AwsFailure> {
        let scope = self.scope();
        let filters = AwsSecurityFindingFilters::builder()
            .product_arn(equals(scope.product_arn()))
            .id(equals(id.to_string()))
            .build();
        let out = self
            .client
            .get_findings()
            .filters(filters)
            .max_results(1)
            .send()
            .await
            .map_err(|e| self.failure(AwsFailure::from_sdk(&e)))?;
        Ok(out.findings().first().cloned())
    }

    /// Import one finding; a FailedFindings entry is a failure.
    pub async fn import(&self, finding: AwsSecurityFinding) -> Result<(), AwsFailure> {
        let out = self
            .client
            .batch_import_findings()
            .findings(finding)
            .send()
            .await
            .map_err(|e| self.failure(AwsFailure::from_sdk(&e)))?;
        match out.failed_findings().first() {
            None => Ok(()),
            Some(failed) => Err(AwsFailure::new(
                failed.error_code().unwrap_or("FailedFinding"),
                format!(
                    "finding {} was not imported: {}",
                    failed.id().unwrap_or("?"),
                    failed.error_message().unwrap_or("no message")
                ),
            )),
        }
    }

    fn failure(&self, failure: AwsFailure) -> AwsFailure {
        let hint = enable_hint(&failure, &self.region);
        AwsFailure {
            message: format!("{}{hint}", failure.message),
            ..failure
        }
    }
}

/// The finding archived now: the same finding, `RecordState: ARCHIVED`.
pub fn archived(existing: &AwsSecurityFinding, now: &str) -> AwsSecurityFinding {
    let mut archived = existing.clone();
    archived.record_state = Some(RecordState::Archived);
    archived.updated_at = Some(now.to_string());
    archived
}

/// The account name a finding recorded (an ACM event knows only the account's ID).
pub fn account_name_of(f: &AwsSecurityFinding) -> Option<String> {
    let other = f.resources().first()?.details()?.other()?;
    other.get("AccountName").cloned()
}

fn equals(value: String) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(StringFilterComparison::Equals)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::attention::tests::cert;

    fn scope() -> ImportScope<'static> {
        ImportScope {
            caller: "123456789012",
            partition: "aws",
            hub_region: "us-east-1",
            now: "2026-11-25T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn ids_stay_within_asff_limits_however_long_an_iam_path_is() {
        let short = "arn:aws:iam::111111111111:server-certificate/cdn";
        assert_eq!(finding_id(short), format!("certaudit/{short}"));
        assert_eq!(resource_id(short), short);
        let long = format!(
            "arn:aws:iam::111111111111:server-certificate/{}/{}",
            "p".repeat(510),
            "n".repeat(128)
        );
        let id = finding_id(&long);
        assert!(
            id.len() <= MAX_ID && id.starts_with("certaudit/sha256/"),
            "{id}"
        );
        assert_eq!(id, finding_id(&long), "deterministic: re-runs update");
        assert_ne!(id, finding_id(&format!("{long}x")));
        assert!(resource_id(&long).len() <= MAX_ID);
    }

    #[test]
    fn severity_follows_days_left() {
        let labels: Vec<SeverityLabel> = [-3, 7, 8, 15, 16, 30, 31]
            .into_iter()
            .map(|d| severity(&cert(d)))
            .collect();
        use SeverityLabel::*;
        assert_eq!(
            labels,
            [Critical, Critical, High, High, Medium, Medium, Low]
        );
    }

    #[test]
    fn a_renewal_at_risk_is_at_least_high_once_acm_tries_and_medium_two_weeks_before() {
        use crate::renewal::{CheckStatus, RenewalCheck};
        let at_risk = |days: i64, attempt: i64| {
            let mut c = cert(days);
            c.will_not_renew = true;
            c.renewal_check = Some(Box::new(RenewalCheck {
                status: CheckStatus::AtRisk,
                risks: vec![],
                attempt_in_days: Some(attempt),
            }));
            severity(&c)
        };
        use SeverityLabel::*;
        assert_eq!(at_risk(100, 40), Low);
        assert_eq!(at_risk(70, 10), Medium);
        assert_eq!(at_risk(55, -5), High);
        // Never lower than the days left say.
        assert_eq!(at_risk(5, -55), Critical);
    }

    /// A report that covered cert(…)'s account-region completely and found nothing there.
    fn covering_report(generated_at: &str) -> Report {
        let at = chrono::DateTime::parse_from_rfc3339(generated_at).unwrap();
        let mut report = Report::new(at.into(), 45, "123456789012");
        report.accounts = vec![crate::report::AccountOutcome {
            account_id: "111111111111".into(),
            account_name: None,
            state: AccountState::Scanned,
            reason: None,
            regions: vec!["eu-west-1".into()],
            regions_not_enabled: Vec::new(),
        }];
        report
    }

    #[test]
    fn a_scan_never_archives_a_finding_updated_after_it_began() {
        // generated_at is the whole second; the scan began half a second later.
        let report = covering_report("2026-11-25T06:00:02Z");
        let existing = |arn: &str, updated: &str| {
            let mut c = cert(5);
            c.arn = arn.into();
            let mut at = scope();
            at.now = updated.into();
            finding(&c, &at, None)
        };
        let before = existing(
            "arn:aws:acm:eu-west-1:111111111111:certificate/old",
            "2026-11-25T06:00:02.100Z",
        );
        let during = existing(
            "arn:aws:acm:eu-west-1:111111111111:certificate/new",
            "2026-11-25T06:00:03.250Z",
        );
        let started = chrono::DateTime::parse_from_rfc3339("2026-11-25T06:00:02.500Z").unwrap();
        let existing = [before.clone(), during.clone()];
        let planned = plan(&report, &scope(), &existing, started.into());
        let archived: Vec<&str> = planned
            .iter()
            .filter(|f| f.record_state() == Some(&RecordState::Archived))
            .filter_map(|f| f.id())
            .collect();
        assert_eq!(
            archived,
            [before.id().unwrap()],
            "the finding an event updated while the scan ran stays ACTIVE"
        );
    }

    #[test]
    fn a_certificate_whose_renewal_check_failed_keeps_its_finding() {
        use crate::renewal::{CheckStatus, RenewalCheck};
        let mut report = covering_report("2026-11-25T06:00:02Z");
        let mut c = cert(200);
        c.expiring = false;
        c.renewal_check = Some(Box::new(RenewalCheck {
            status: CheckStatus::Unknown,
            risks: vec![],
            attempt_in_days: Some(140),
        }));
        report.certificates.push(c.clone());
        let mut flagged = c.clone();
        flagged.will_not_renew = true;
        let existing = [finding(&flagged, &scope(), None)];
        let started = chrono::DateTime::parse_from_rfc3339("2026-11-25T06:00:02.500Z").unwrap();
        let planned = plan(&report, &scope(), &existing, started.into());
        assert!(
            planned.is_empty(),
            "not archived while its check is unknown: {planned:?}"
        );
        // Once a check answers (ok), the finding no longer applies and is archived.
        report.certificates[0]
            .renewal_check
            .as_mut()
            .unwrap()
            .status = CheckStatus::Ok;
        let planned = plan(&report, &scope(), &existing, started.into());
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].record_state(), Some(&RecordState::Archived));
    }

    #[test]
    fn finding_title_and_description_hold_no_control_or_bidi_character() {
        let mut c = cert(5);
        c.domain_name = Some("www.example.com\r\nFAKE\u{1b}]0;x\u{7}\u{202E}moc".into());
        c.account_name = Some("ops\u{2067}\u{061C}".into());
        let f = finding(&c, &scope(), None);
        for text in [f.title().unwrap(), f.description().unwrap()] {
            assert!(
                !text.chars().any(crate::report::is_control_character),
                "{text:?}"
            );
            assert!(text.contains('\u{FFFD}'), "{text:?}");
        }
        let details = f.resources()[0].details().unwrap();
        assert_eq!(
            details
                .aws_certificate_manager_certificate()
                .unwrap()
                .domain_name(),
            c.domain_name.as_deref(),
            "the resource's details stay exact"
        );
    }

    #[test]
    fn finding_is_asff_for_the_callers_default_product() {
        let c = cert(5);
        let f = finding(&c, &scope(), None);
        assert_eq!(f.id(), Some(finding_id(&c.arn).as_str()));
        assert_eq!(
            f.product_arn(),
            Some("arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default")
        );
        assert_eq!(
            f.aws_account_id(),
            Some("123456789012"),
            "the caller, not the owner"
        );
        let resource = &f.resources()[0];
        assert_eq!(resource.r#type(), Some("AwsCertificateManagerCertificate"));
        assert_eq!(resource.id(), Some(c.arn.as_str()));
        assert_eq!(resource.region(), Some("eu-west-1"));
        let other = resource.details().unwrap().other().unwrap();
        assert_eq!(other["AccountId"], "111111111111");
        let again = finding(&c, &scope(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(again.id(), f.id(), "deterministic Id");
        assert_eq!(again.created_at(), Some("2026-01-01T00:00:00Z"));
    }
}
