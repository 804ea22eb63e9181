//! The certificates ACM does not hold (SPEC §14): IAM server certificates, once per account
//! (IAM is global), and the ACM Private CAs of each account-region. Every page is followed;
//! a failed call is an error for that account (or account-region) and stage, and what was
//! read before it is kept.

use std::collections::HashSet;

use aws_smithy_types::DateTime as AwsDateTime;
use chrono::{DateTime, Utc};

use super::certificates::{AccountRegion, CallBudget};
use super::limiter::Operation;
use crate::access::aws_error::AwsFailure;
use crate::access::AccountAccess;
use crate::report::{
    Certificate, CertificateAuthority, CompactString, ScanError, ServerCertificate, Source, Stage,
    Word, IAM_SERVER,
};

/// IAM's largest page.
const IAM_MAX_ITEMS: i32 = 1000;
/// ACM Private CA's largest page.
const PCA_MAX_RESULTS: i32 = 1000;

/// A page that asks for a token it already gave, or says there is more without saying where:
/// following it would loop forever or stop short without a word. An error, with what was read.
fn broken_paging(what: &str, token: Option<&str>) -> AwsFailure {
    match token {
        Some(token) => AwsFailure::new(
            "repeated-page-token",
            format!("{what} returned page token {token:?} a second time: the listing stopped there and may be incomplete"),
        ),
        None => AwsFailure::new(
            "truncated-without-token",
            format!("{what} said more results remain but gave no token to ask for them: the listing may be incomplete"),
        ),
    }
}

/// Each ARN once, whatever a listing repeats.
struct Seen(HashSet<String>);

impl Seen {
    fn first(&mut self, arn: &str) -> bool {
        self.0.insert(arn.to_string())
    }
}

fn time(t: Option<&AwsDateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

/// Every IAM server certificate of the account, following `Marker`. `at.region` is not used
/// for the call (IAM is global); its budget key is the account's.
pub async fn list_server_certificates(
    access: &AccountAccess,
    at: &AccountRegion,
    budget: &CallBudget<'_>,
) -> (Vec<Certificate>, Option<ScanError>) {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    let mut markers = HashSet::new();
    let mut seen = Seen(HashSet::new());
    let key = (at.account_id.clone(), None);
    let fail = |failure: AwsFailure| {
        Some(failure.at(Stage::ListServerCertificates, Some(&at.account_id), None))
    };
    loop {
        let next = marker.take();
        let fetch = async {
            budget
                .limiter
                .until_ready(&key, Operation::ListServerCertificates)
                .await;
            let _slot = budget.calls.acquire().await.expect("never closed");
            // Boxed, and the client made only now: hundreds of these wait for the limiter at
            // once, and an SDK call's future is tens of kilobytes.
            Box::pin(
                access
                    .iam()
                    .list_server_certificates()
                    .max_items(IAM_MAX_ITEMS)
                    .set_marker(next)
                    .send(),
            )
            .await
        };
        // Interrupted: the engine reports the account as unfinished; keep what was read.
        let Some(page) = budget.interrupt.or_stop(fetch).await else {
            return (found, None);
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => return (found, fail(AwsFailure::from_sdk(&e))),
        };
        for m in page.server_certificate_metadata_list() {
            if !seen.first(m.arn()) {
                continue;
            }
            let mut c = Certificate::new(m.arn(), &at.account_id, at.account_name.as_deref(), "");
            c.source = Source::Iam;
            c.cert_type = Some(Word::from(IAM_SERVER));
            c.not_after = time(m.expiration());
            c.server_certificate = Some(Box::new(ServerCertificate {
                name: m.server_certificate_name().to_string(),
                path: m.path().to_string(),
                id: m.server_certificate_id().to_string(),
                upload_date: time(m.upload_date()),
            }));
            found.push(c);
        }
        match (page.is_truncated(), page.marker().filter(|m| !m.is_empty())) {
            (false, _) => return (found, None),
            (true, None) => {
                return (found, fail(broken_paging("ListServerCertificates", None)));
            }
            (true, Some(next)) if !markers.insert(next.to_string()) => {
                return (
                    found,
                    fail(broken_paging("ListServerCertificates", Some(next))),
                );
            }
            (true, Some(next)) => marker = Some(next.to_string()),
        }
    }
}

/// Every Private CA the account owns in one region, following `NextToken`.
pub async fn list_certificate_authorities(
    access: &AccountAccess,
    at: &AccountRegion,
    budget: &CallBudget<'_>,
) -> (Vec<CertificateAuthority>, Option<ScanError>) {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    let mut tokens = HashSet::new();
    let mut seen = Seen(HashSet::new());
    loop {
        let next = token.take();
        let fetch = async {
            budget
                .limiter
                .until_ready(&at.budget_key, Operation::ListCertificateAuthorities)
                .await;
            let _slot = budget.calls.acquire().await.expect("never closed");
            Box::pin(
                access
                    .acm_pca(&at.region)
                    .list_certificate_authorities()
                    .max_results(PCA_MAX_RESULTS)
                    .set_next_token(next)
                    .send(),
            )
            .await
        };
        let Some(page) = budget.interrupt.or_stop(fetch).await else {
            return (found, None);
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let failure = AwsFailure::from_sdk(&e);
                return (
                    found,
                    Some(at.error(Stage::ListCertificateAuthorities, failure)),
                );
            }
        };
        found.extend(
            page.certificate_authorities()
                .iter()
                .filter(|ca| seen.first(ca.arn().unwrap_or_default()))
                .map(|ca| authority(at, ca)),
        );
        match page.next_token().filter(|t| !t.is_empty()) {
            None => return (found, None),
            Some(next) if !tokens.insert(next.to_string()) => {
                let failure = broken_paging("ListCertificateAuthorities", Some(next));
                return (
                    found,
                    Some(at.error(Stage::ListCertificateAuthorities, failure)),
                );
            }
            Some(next) => token = Some(next.to_string()),
        }
    }
}

fn authority(
    at: &AccountRegion,
    ca: &aws_sdk_acmpca::types::CertificateAuthority,
) -> CertificateAuthority {
    let mut out = CertificateAuthority::new(
        ca.arn().unwrap_or_default(),
        &at.account_id,
        at.account_name.as_deref(),
        &at.region,
    );
    let compact = |v: &str| CompactString::from(v);
    out.ca_type = ca.r#type().map(|v| compact(v.as_str()));
    out.status = ca.status().map(|v| compact(v.as_str()));
    out.usage_mode = ca.usage_mode().map(|v| compact(v.as_str()));
    out.not_before = time(ca.not_before());
    out.not_after = time(ca.not_after());
    out.subject = ca
        .certificate_authority_configuration()
        .and_then(|c| c.subject())
        .and_then(subject);
    out
}

/// "CN=…, OU=…, O=…, C=…" from the parts the CA's configuration has; None when it has none.
fn subject(s: &aws_sdk_acmpca::types::Asn1Subject) -> Option<String> {
    let parts: Vec<String> = [
        ("CN", s.common_name()),
        ("OU", s.organizational_unit()),
        ("O", s.organization()),
        ("L", s.locality()),
        ("ST", s.state()),
        ("C", s.country()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={v}")))
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_names_the_parts_it_has_in_the_usual_order() {
        let s = aws_sdk_acmpca::types::Asn1Subject::builder()
            .country("DE")
            .common_name("Example Issuing CA")
            .organization("Example")
            .build();
        assert_eq!(
            subject(&s).as_deref(),
            Some("CN=Example Issuing CA, O=Example, C=DE")
        );
        let empty = aws_sdk_acmpca::types::Asn1Subject::builder().build();
        assert_eq!(subject(&empty), None);
    }
}
