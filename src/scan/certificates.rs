//! One account-region: list every certificate (every key type, every key-pair origin
//! including ACME, every status, every page), then — as a separate job the engine schedules —
//! describe each and read its tags. A certificate that was listed is always reported, even if
//! describing it fails.

use aws_sdk_acm::operation::list_tags_for_certificate::ListTagsForCertificateOutput;
use aws_sdk_acm::types::{
    CertificateDetail, CertificateKeyPairOrigin, CertificateSummary, Filters, KeyAlgorithm,
};
use aws_smithy_types::DateTime as AwsDateTime;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use std::sync::Arc;

use tokio::sync::{Semaphore, SemaphorePermit};

use super::limiter::{BudgetKey, CallLimiter, Operation};
use crate::access::aws_error::AwsFailure;
use crate::access::AccountAccess;
use crate::interrupt::Interrupt;
use crate::plan::Detail;
use crate::renewal::{Checker, Validation};
use crate::report::{Certificate, ScanError, Stage, Tags, Word};

/// ACM's largest page.
const MAX_ITEMS: i32 = 1000;

/// What every region's calls share: the pace per account-region and the cap on calls in
/// flight across the whole scan.
pub struct CallBudget<'a> {
    pub limiter: &'a CallLimiter,
    pub calls: &'a Semaphore,
    /// Slots only ListCertificates may take (besides `calls`): listing goes on while
    /// describes fill `calls`.
    pub lists: &'a Semaphore,
    /// Describe (and tag) calls in flight per account-region: enough to keep `--rate` going
    /// at a second of latency, no more (each waiting call holds memory).
    pub in_flight: usize,
    /// A signal stops every wait and call: what was listed is kept, undescribed.
    pub interrupt: &'a Interrupt,
    /// The renewal check, whose lookups start as each certificate is described.
    pub renewal: Option<&'a Checker>,
}

/// One account-region.
#[derive(Debug, Clone)]
pub struct AccountRegion {
    pub account_id: String,
    pub account_name: Option<String>,
    pub region: String,
    /// The rate budget its calls count against.
    pub budget_key: BudgetKey,
}

impl AccountRegion {
    pub fn error(&self, stage: Stage, failure: AwsFailure) -> ScanError {
        failure.at(stage, Some(&self.account_id), Some(&self.region))
    }

    /// Wait for this account-region's turn, then for a free call slot.
    async fn pace<'s>(
        &self,
        budget: &'s CallBudget<'_>,
        operation: Operation,
    ) -> SemaphorePermit<'s> {
        budget
            .limiter
            .until_ready(&self.budget_key, operation)
            .await;
        let slot = match operation {
            // Whichever slot frees first: its own, or one of every call's.
            Operation::ListCertificates => tokio::select! {
                biased;
                slot = budget.lists.acquire() => slot,
                slot = budget.calls.acquire() => slot,
            },
            _ => budget.calls.acquire().await,
        };
        slot.expect("the call semaphores are never closed")
    }
}

/// A listed account-region whose certificates (made from their list entries) remain to be
/// described. It holds the account's access, not a client: thousands of jobs may wait.
pub struct RegionJob {
    pub at: AccountRegion,
    pub access: Arc<AccountAccess>,
    pub certificates: Vec<Certificate>,
}

impl RegionJob {
    pub fn len(&self) -> usize {
        self.certificates.len()
    }
}

#[derive(Debug, Default)]
pub struct RegionScan {
    pub certificates: Vec<Certificate>,
    pub errors: Vec<ScanError>,
}

/// List one account-region. With `Detail::Full` the certificates come back as a job to
/// describe; with `Summary`, as certificates made from their list entries.
pub async fn list_region(
    access: &Arc<AccountAccess>,
    at: AccountRegion,
    budget: &CallBudget<'_>,
    detail: Detail,
) -> (RegionScan, Option<RegionJob>) {
    let mut scan = RegionScan::default();
    let certificates = match list_all(&at, budget, access).await {
        Ok(all) => all,
        Err((partial, failure)) => {
            scan.errors.push(at.error(Stage::ListCertificates, failure));
            partial
        }
    };
    tracing::debug!(
        account = %at.account_id,
        region = %at.region,
        certificates = certificates.len(),
        "region listed"
    );
    if detail == Detail::Summary {
        scan.certificates = certificates;
        return (scan, None);
    }
    let job = RegionJob {
        at,
        access: access.clone(),
        certificates,
    };
    (scan, Some(job))
}

/// Describe every certificate of a listed account-region, and read its tags when `tags`.
pub async fn describe_region(job: RegionJob, budget: &CallBudget<'_>, tags: bool) -> RegionScan {
    let RegionJob {
        at,
        access,
        mut certificates,
    } = job;
    let client = access.acm(&at.region);
    let mut errors = Vec::new();
    // In place: a second vector for the described ones would hold every certificate of the
    // regions in flight twice (the largest regions run first).
    let mut described = stream::iter(certificates.iter_mut())
        .map(|certificate| describe_certificate(&at, budget, &client, certificate, tags))
        .buffer_unordered(budget.in_flight);
    while let Some(failed) = described.next().await {
        errors.extend(failed);
    }
    drop(described);
    let scan = RegionScan {
        certificates,
        errors,
    };
    tracing::debug!(
        account = %at.account_id,
        region = %at.region,
        certificates = scan.certificates.len(),
        errors = scan.errors.len(),
        "region described"
    );
    scan
}

type Partial = (Vec<Certificate>, AwsFailure);

/// Every page, with every filter opened: the API's defaults hide all but RSA_1024/RSA_2048
/// and hide ACME-issued certificates. Values come from the SDK's enums so none is forgotten.
async fn list_all(
    at: &AccountRegion,
    budget: &CallBudget<'_>,
    access: &AccountAccess,
) -> Result<Vec<Certificate>, Partial> {
    let key_types: Vec<KeyAlgorithm> = KeyAlgorithm::values()
        .iter()
        .map(|v| KeyAlgorithm::from(*v))
        .collect();
    let origins: Vec<CertificateKeyPairOrigin> = CertificateKeyPairOrigin::values()
        .iter()
        .map(|v| CertificateKeyPairOrigin::from(*v))
        .collect();
    let mut certificates = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let token = next_token.take();
        let fetch = async {
            let _slot = at.pace(budget, Operation::ListCertificates).await;
            // By hand rather than with the paginator, and the client made only now: thousands
            // of regions wait for a slot here, and an SDK client or call future is tens of
            // kilobytes that only calls holding a slot should take.
            let client = access.acm(&at.region);
            Box::pin(
                client
                    .list_certificates()
                    .includes(
                        Filters::builder()
                            .set_key_types(Some(key_types.clone()))
                            .build(),
                    )
                    .set_certificate_key_pair_origins(Some(origins.clone()))
                    .max_items(MAX_ITEMS)
                    .set_next_token(token)
                    .send(),
            )
            .await
        };
        // Interrupted: the pages read so far are what this region gathered.
        let Some(page) = budget.interrupt.or_stop(fetch).await else {
            return Ok(certificates);
        };
        match page {
            Ok(page) => {
                certificates.extend(
                    page.certificate_summary_list()
                        .iter()
                        .map(|s| from_summary(at, s)),
                );
                match page.next_token() {
                    Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                    _ => return Ok(certificates),
                }
            }
            Err(e) => return Err((certificates, AwsFailure::from_sdk(&e))),
        }
    }
}

async fn describe_certificate(
    at: &AccountRegion,
    budget: &CallBudget<'_>,
    client: &aws_sdk_acm::Client,
    certificate: &mut Certificate,
    read_tags: bool,
) -> Vec<ScanError> {
    let mut errors = Vec::new();
    let arn = certificate.arn.clone();
    let describe = async {
        let _slot = at.pace(budget, Operation::DescribeCertificate).await;
        // Boxed: an SDK call's future is large, and only calls holding a slot need one.
        Box::pin(client.describe_certificate().certificate_arn(&arn).send()).await
    };
    let tags = async {
        if !read_tags {
            return None;
        }
        let _slot = at.pace(budget, Operation::ListTags).await;
        Some(
            Box::pin(
                client
                    .list_tags_for_certificate()
                    .certificate_arn(&arn)
                    .send(),
            )
            .await,
        )
    };
    // Interrupted: the certificate is reported as it was listed.
    let Some((described, tagged)) = budget
        .interrupt
        .or_stop(async { futures::join!(describe, tags) })
        .await
    else {
        return errors;
    };
    match described {
        Ok(out) => {
            if let Some(detail) = out.certificate() {
                apply_detail(certificate, detail);
                if let Some(checker) = budget.renewal {
                    certificate.validation = Validation::from_detail(detail).map(Box::new);
                    checker.prefetch(certificate);
                }
            }
        }
        Err(e) => errors.push(at.error(Stage::DescribeCertificate, with_arn(&arn, &e))),
    }
    match tagged {
        Some(Ok(out)) => certificate.tags = Some(tags_of(&out)),
        Some(Err(e)) => errors.push(at.error(Stage::ListTags, with_arn(&arn, &e))),
        None => {}
    }
    errors
}

fn tags_of(out: &ListTagsForCertificateOutput) -> Tags {
    out.tags()
        .iter()
        .map(|tag| {
            let value = tag.value().unwrap_or_default();
            (tag.key().to_string(), value.to_string())
        })
        .collect()
}

fn with_arn<E, R>(arn: &str, err: &aws_sdk_acm::error::SdkError<E, R>) -> AwsFailure
where
    E: aws_sdk_acm::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let failure = AwsFailure::from_sdk(err);
    AwsFailure {
        message: format!("{arn}: {}", failure.message),
        ..failure
    }
}

fn time(t: Option<&AwsDateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn from_summary(at: &AccountRegion, s: &CertificateSummary) -> Certificate {
    let mut c = Certificate::new(
        s.certificate_arn().unwrap_or_default(),
        &at.account_id,
        at.account_name.as_deref(),
        &at.region,
    );
    c.domain_name = s.domain_name().map(str::to_string);
    c.subject_alternative_names = s.subject_alternative_name_summaries().to_vec();
    c.cert_type = s.r#type().map(|v| Word::new(v.as_str()));
    c.status = s.status().map(|v| Word::new(v.as_str()));
    c.key_algorithm = s.key_algorithm().map(|v| Word::new(v.as_str()));
    c.key_pair_origin = s
        .certificate_key_pair_origin()
        .map(|v| Word::new(v.as_str()));
    c.not_before = time(s.not_before());
    c.not_after = time(s.not_after());
    c.in_use = s.in_use();
    c.renewal_eligibility = s.renewal_eligibility().map(|v| Word::new(v.as_str()));
    c.managed_by = s.managed_by().map(|v| Word::new(v.as_str()));
    c
}

/// What only DescribeCertificate knows overrides the summary.
fn apply_detail(c: &mut Certificate, d: &CertificateDetail) {
    let owned = |v: Option<&str>| v.map(str::to_string);
    if !d.subject_alternative_names().is_empty() {
        c.subject_alternative_names = d.subject_alternative_names().to_vec();
    }
    c.domain_name = owned(d.domain_name()).or(c.domain_name.take());
    c.cert_type = d
        .r#type()
        .map(|v| Word::new(v.as_str()))
        .or(c.cert_type.take());
    c.status = d
        .status()
        .map(|v| Word::new(v.as_str()))
        .or(c.status.take());
    c.key_algorithm = d
        .key_algorithm()
        .map(|v| Word::new(v.as_str()))
        .or(c.key_algorithm.take());
    c.key_pair_origin = d
        .certificate_key_pair_origin()
        .map(|v| Word::new(v.as_str()))
        .or(c.key_pair_origin.take());
    c.issuer = d.issuer().map(Word::from);
    c.serial = owned(d.serial());
    c.not_before = time(d.not_before()).or(c.not_before);
    c.not_after = time(d.not_after()).or(c.not_after);
    c.in_use_by = Some(d.in_use_by().to_vec());
    c.in_use = Some(!d.in_use_by().is_empty());
    c.renewal_eligibility = d
        .renewal_eligibility()
        .map(|v| Word::new(v.as_str()))
        .or(c.renewal_eligibility.take());
    if let Some(renewal) = d.renewal_summary() {
        c.renewal_status = Some(Word::new(renewal.renewal_status().as_str()));
        c.renewal_status_reason = renewal
            .renewal_status_reason()
            .map(|r| Word::new(r.as_str()));
    }
    c.managed_by = d
        .managed_by()
        .map(|v| Word::new(v.as_str()))
        .or(c.managed_by.take());
    c.failure_reason = d.failure_reason().map(|v| Word::new(v.as_str()));
    c.certificate_authority_arn = owned(d.certificate_authority_arn());
}

/// One certificate, as an ACM event's handler reads it: DescribeCertificate and (when `tags`)
/// ListTagsForCertificate, at once. Not classified yet.
pub struct OneCertificate {
    pub certificate: Certificate,
    /// The certificate may be exported (`Options.Export` ENABLED): ACM cannot redeploy its
    /// renewal wherever it was exported to.
    pub exportable: bool,
}

/// Describe one certificate (and read its tags). `Err` carries the failed call's stage; a
/// certificate that no longer exists fails DescribeCertificate with ResourceNotFoundException.
pub async fn describe_one(
    access: &AccountAccess,
    account_name: Option<&str>,
    region: &str,
    arn: &str,
    read_tags: bool,
) -> Result<OneCertificate, (Stage, AwsFailure)> {
    let client = access.acm(region);
    let describe = client.describe_certificate().certificate_arn(arn).send();
    let tags = async {
        match read_tags {
            true => Some(
                client
                    .list_tags_for_certificate()
                    .certificate_arn(arn)
                    .send()
                    .await,
            ),
            false => None,
        }
    };
    let (described, tagged) = futures::join!(describe, tags);
    let described = described.map_err(|e| (Stage::DescribeCertificate, with_arn(arn, &e)))?;
    let mut certificate = Certificate::new(arn, &access.account_id, account_name, region);
    let mut exportable = false;
    if let Some(detail) = described.certificate() {
        apply_detail(&mut certificate, detail);
        certificate.validation = Validation::from_detail(detail).map(Box::new);
        exportable = detail
            .options()
            .and_then(|o| o.export())
            .is_some_and(|e| e.as_str() == "ENABLED");
    }
    if let Some(tagged) = tagged {
        let out = tagged.map_err(|e| (Stage::ListTags, with_arn(arn, &e)))?;
        certificate.tags = Some(tags_of(&out));
    }
    Ok(OneCertificate {
        certificate,
        exportable,
    })
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use super::*;
    use crate::plan::RateScope;

    /// Describes hold every shared slot: a listing still gets one of its own, and a describe
    /// never takes a listing's.
    #[tokio::test]
    async fn a_listing_is_not_queued_behind_describes() {
        let limiter = CallLimiter::new(NonZeroU32::new(100).unwrap(), RateScope::AccountRegion);
        let (calls, lists) = (Semaphore::new(0), Semaphore::new(1));
        let never = Interrupt::never();
        let budget = CallBudget {
            limiter: &limiter,
            calls: &calls,
            lists: &lists,
            in_flight: 2,
            interrupt: &never,
            renewal: None,
        };
        let at = AccountRegion {
            account_id: "111111111111".into(),
            account_name: None,
            region: "eu-west-1".into(),
            budget_key: limiter.key("111111111111", "eu-west-1"),
        };
        let soon = Duration::from_millis(200);
        let listing = tokio::time::timeout(soon, at.pace(&budget, Operation::ListCertificates));
        let _listing_slot = listing
            .await
            .expect("a listing slot while describes hold the rest");
        lists.add_permits(1);
        let describing = at.pace(&budget, Operation::DescribeCertificate);
        assert!(tokio::time::timeout(soon, describing).await.is_err());
        // A shared slot frees: the listing takes it when its own are taken.
        let _second_listing = lists.try_acquire().unwrap();
        calls.add_permits(1);
        let listing = tokio::time::timeout(soon, at.pace(&budget, Operation::ListCertificates));
        assert!(listing.await.is_ok());
    }
}
