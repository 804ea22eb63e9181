//! What DescribeCertificate says ACM will check when it renews: per name, the validation method
//! and its record or redirect. Kept with the certificate until it is judged, never reported.

use aws_sdk_acm::types::{CertificateDetail, DomainValidation, ValidationMethod};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Dns,
    Email,
    Http,
    /// A method this certaudit does not know (a later ACM): not judged.
    Other,
}

/// One name's validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationOption {
    pub domain: String,
    pub method: Method,
    /// DNS: the CNAME's name and the value it must resolve to.
    pub record: Option<(String, String)>,
    /// HTTP: the URL that must redirect, and where to.
    pub redirect: Option<(String, String)>,
}

/// Every name's validation, as the next renewal will check it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    pub options: Vec<ValidationOption>,
}

impl Validation {
    /// The renewal's own validation options when ACM has begun one (`RenewalSummary`), else
    /// the certificate's. None when DescribeCertificate gave none.
    pub fn from_detail(detail: &CertificateDetail) -> Option<Validation> {
        let renewal = detail
            .renewal_summary()
            .map(|r| r.domain_validation_options())
            .filter(|o| !o.is_empty());
        let options = renewal.unwrap_or(detail.domain_validation_options());
        if options.is_empty() {
            return None;
        }
        Some(Validation {
            options: options.iter().map(option).collect(),
        })
    }
}

fn option(o: &DomainValidation) -> ValidationOption {
    let method = match o.validation_method() {
        Some(ValidationMethod::Dns) => Method::Dns,
        Some(ValidationMethod::Email) => Method::Email,
        Some(ValidationMethod::Http) => Method::Http,
        // ACM leaves the method out of some older certificates' options: a record means DNS.
        None if o.resource_record().is_some() => Method::Dns,
        None if o.http_redirect().is_some() => Method::Http,
        None if !o.validation_emails().is_empty() => Method::Email,
        _ => Method::Other,
    };
    ValidationOption {
        domain: o.domain_name().to_string(),
        method,
        record: o
            .resource_record()
            .map(|r| (r.name().to_string(), r.value().to_string())),
        redirect: o
            .http_redirect()
            .and_then(|r| Some((r.redirect_from()?.to_string(), r.redirect_to()?.to_string()))),
    }
}
