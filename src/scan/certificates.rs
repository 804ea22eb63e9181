//! One account-region: list every certificate (every key type, every key-pair origin
//! including ACME, every status, every page), then describe each and read its tags.
//! A certificate that was listed is always reported, even if describing it fails.

use aws_sdk_acm::types::{
    CertificateDetail, CertificateKeyPairOrigin, CertificateSummary, Filters, KeyAlgorithm,
};
use aws_smithy_types::DateTime as AwsDateTime;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

use super::limiter::{CallLimiter, Operation};
use crate::access::aws_error::AwsFailure;
use crate::access::AccountAccess;
use crate::report::{Certificate, ScanError, Stage};

/// ACM's largest page.
const MAX_ITEMS: i32 = 1000;
/// Describe calls in flight per region; the limiter, not this, sets the pace.
const DESCRIBES_IN_FLIGHT: usize = 16;

/// What to read per certificate.
#[derive(Debug, Clone, Copy)]
pub struct Depth {
    pub describe: bool,
    pub tags: bool,
}

#[derive(Debug, Default)]
pub struct RegionScan {
    pub certificates: Vec<Certificate>,
    pub errors: Vec<ScanError>,
}

pub struct RegionTarget<'a> {
    pub access: &'a AccountAccess,
    pub account_name: Option<&'a str>,
    pub region: &'a str,
    pub limiter: &'a CallLimiter,
}

impl RegionTarget<'_> {
    fn error(&self, stage: Stage, failure: AwsFailure) -> ScanError {
        ScanError {
            account_id: Some(self.access.account_id.clone()),
            region: Some(self.region.to_string()),
            stage,
            code: failure.code,
            message: failure.message,
        }
    }

    async fn pace(&self, operation: Operation) {
        self.limiter
            .until_ready(&self.access.account_id, self.region, operation)
            .await;
    }
}

pub async fn scan_region(target: &RegionTarget<'_>, depth: Depth) -> RegionScan {
    let client = target.access.acm(target.region);
    let mut scan = RegionScan::default();
    let summaries = match list_all(target, &client).await {
        Ok(all) => all,
        Err((partial, failure)) => {
            scan.errors
                .push(target.error(Stage::ListCertificates, failure));
            partial
        }
    };
    let mut described = stream::iter(summaries)
        .map(|summary| read_one(target, &client, summary, depth))
        .buffer_unordered(DESCRIBES_IN_FLIGHT);
    while let Some((certificate, errors)) = described.next().await {
        scan.certificates.push(certificate);
        scan.errors.extend(errors);
    }
    scan
}

type Partial = (Vec<CertificateSummary>, AwsFailure);

/// Every page, with every filter opened: the API's defaults hide all but RSA_1024/RSA_2048
/// and hide ACME-issued certificates. Values come from the SDK's enums so none is forgotten.
async fn list_all(
    target: &RegionTarget<'_>,
    client: &aws_sdk_acm::Client,
) -> Result<Vec<CertificateSummary>, Partial> {
    let key_types = KeyAlgorithm::values()
        .iter()
        .map(|v| KeyAlgorithm::from(*v))
        .collect();
    let origins = CertificateKeyPairOrigin::values()
        .iter()
        .map(|v| CertificateKeyPairOrigin::from(*v))
        .collect();
    let mut pages = client
        .list_certificates()
        .includes(Filters::builder().set_key_types(Some(key_types)).build())
        .set_certificate_key_pair_origins(Some(origins))
        .max_items(MAX_ITEMS)
        .into_paginator()
        .send();
    let mut summaries = Vec::new();
    loop {
        target.pace(Operation::ListCertificates).await;
        match pages.next().await {
            None => return Ok(summaries),
            Some(Ok(page)) => summaries.extend(page.certificate_summary_list().iter().cloned()),
            Some(Err(e)) => return Err((summaries, AwsFailure::from_sdk(&e))),
        }
    }
}

async fn read_one(
    target: &RegionTarget<'_>,
    client: &aws_sdk_acm::Client,
    summary: CertificateSummary,
    depth: Depth,
) -> (Certificate, Vec<ScanError>) {
    let mut certificate = from_summary(target, &summary);
    let mut errors = Vec::new();
    if !depth.describe {
        return (certificate, errors);
    }
    let arn = certificate.arn.clone();
    let describe = async {
        target.pace(Operation::DescribeCertificate).await;
        client
            .describe_certificate()
            .certificate_arn(&arn)
            .send()
            .await
    };
    let tags = async {
        if !depth.tags {
            return None;
        }
        target.pace(Operation::ListTags).await;
        Some(
            client
                .list_tags_for_certificate()
                .certificate_arn(&arn)
                .send()
                .await,
        )
    };
    let (described, tagged) = futures::join!(describe, tags);
    match described {
        Ok(out) => {
            if let Some(detail) = out.certificate() {
                apply_detail(&mut certificate, detail);
            }
        }
        Err(e) => errors.push(target.error(Stage::DescribeCertificate, with_arn(&arn, &e))),
    }
    match tagged {
        Some(Ok(out)) => {
            for tag in out.tags() {
                certificate.tags.insert(
                    tag.key().to_string(),
                    tag.value().unwrap_or_default().to_string(),
                );
            }
        }
        Some(Err(e)) => errors.push(target.error(Stage::ListTags, with_arn(&arn, &e))),
        None => {}
    }
    (certificate, errors)
}

fn with_arn<E, R>(arn: &str, err: &aws_sdk_acm::error::SdkError<E, R>) -> AwsFailure
where
    E: aws_sdk_acm::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
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

fn from_summary(target: &RegionTarget<'_>, s: &CertificateSummary) -> Certificate {
    let mut c = Certificate::new(
        s.certificate_arn().unwrap_or_default(),
        &target.access.account_id,
        target.account_name,
        target.region,
    );
    c.domain_name = s.domain_name().map(str::to_string);
    c.subject_alternative_names = s.subject_alternative_name_summaries().to_vec();
    c.cert_type = s.r#type().map(|v| v.as_str().to_string());
    c.status = s.status().map(|v| v.as_str().to_string());
    c.key_algorithm = s.key_algorithm().map(|v| v.as_str().to_string());
    c.key_pair_origin = s
        .certificate_key_pair_origin()
        .map(|v| v.as_str().to_string());
    c.not_before = time(s.not_before());
    c.not_after = time(s.not_after());
    c.in_use = s.in_use();
    c.renewal_eligibility = s.renewal_eligibility().map(|v| v.as_str().to_string());
    c.managed_by = s.managed_by().map(|v| v.as_str().to_string());
    c
}

/// What only DescribeCertificate knows overrides the summary.
fn apply_detail(c: &mut Certificate, d: &CertificateDetail) {
    let text = |v: Option<&str>| v.map(str::to_string);
    if !d.subject_alternative_names().is_empty() {
        c.subject_alternative_names = d.subject_alternative_names().to_vec();
    }
    c.domain_name = text(d.domain_name()).or(c.domain_name.take());
    c.cert_type = d
        .r#type()
        .map(|v| v.as_str().to_string())
        .or(c.cert_type.take());
    c.status = d
        .status()
        .map(|v| v.as_str().to_string())
        .or(c.status.take());
    c.key_algorithm = d
        .key_algorithm()
        .map(|v| v.as_str().to_string())
        .or(c.key_algorithm.take());
    c.key_pair_origin = d
        .certificate_key_pair_origin()
        .map(|v| v.as_str().to_string())
        .or(c.key_pair_origin.take());
    c.issuer = text(d.issuer());
    c.serial = text(d.serial());
    c.not_before = time(d.not_before()).or(c.not_before);
    c.not_after = time(d.not_after()).or(c.not_after);
    c.in_use_by = d.in_use_by().to_vec();
    c.in_use = Some(!c.in_use_by.is_empty());
    c.renewal_eligibility = d
        .renewal_eligibility()
        .map(|v| v.as_str().to_string())
        .or(c.renewal_eligibility.take());
    if let Some(renewal) = d.renewal_summary() {
        c.renewal_status = Some(renewal.renewal_status().as_str().to_string());
        c.renewal_status_reason = renewal
            .renewal_status_reason()
            .map(|r| r.as_str().to_string());
    }
    c.managed_by = d
        .managed_by()
        .map(|v| v.as_str().to_string())
        .or(c.managed_by.take());
    c.failure_reason = d.failure_reason().map(|v| v.as_str().to_string());
}
