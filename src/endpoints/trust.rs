//! The roots a served chain must lead to: webpki-roots (Mozilla's), the system's, and any
//! `--ca-file` (a private CA's root); and the signature algorithms rustls verifies with.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::SignatureVerificationAlgorithm;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use x509_parser::prelude::{FromDer, X509Certificate};

pub struct Trust {
    anchors: Vec<TrustAnchor<'static>>,
    /// The not_after of each root read from a certificate (the system's, `--ca-file`), by its
    /// subject: a root is on the path too, and its expiry ends the chain as an intermediate's
    /// does. (Mozilla's list carries no dates.)
    root_not_after: Vec<(Vec<u8>, DateTime<Utc>)>,
    private_roots: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Trust {
    /// Mozilla's roots, the system's, and every certificate in each `--ca-file`.
    pub fn load(ca_files: &[PathBuf]) -> Result<Trust> {
        let now = Utc::now();
        let mut anchors: Vec<TrustAnchor<'static>> = webpki_roots::TLS_SERVER_ROOTS.to_vec();
        let mut root_not_after = Vec::new();
        // A system without a trust store still has Mozilla's; its errors are not ours.
        let system = rustls_native_certs::load_native_certs();
        let mut add = |der: &CertificateDer<'_>| {
            // webpki never looks at an anchor's dates; clients such as OpenSSL refuse a root
            // that has expired or is not valid yet, and so does certaudit.
            let Some((not_before, not_after)) = validity(der) else {
                return;
            };
            if now < not_before || not_after < now {
                return;
            }
            if let Some(anchor) = anchor(der) {
                root_not_after.push((anchor.subject.as_ref().to_vec(), not_after));
                anchors.push(anchor);
            }
        };
        system.certs.iter().for_each(&mut add);
        for path in ca_files {
            let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|all| all.collect::<Result<_, _>>())
                .with_context(|| {
                    format!(
                        "cannot read --ca-file {}: it must hold PEM certificates",
                        path.display()
                    )
                })?;
            if certificates.is_empty() {
                anyhow::bail!("--ca-file {} holds no PEM certificate", path.display());
            }
            certificates.iter().for_each(&mut add);
        }
        Ok(Trust {
            anchors,
            root_not_after,
            private_roots: !ca_files.is_empty(),
            algorithms: provider().signature_verification_algorithms,
        })
    }

    pub fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    pub fn algorithms(&self) -> &[&'static dyn SignatureVerificationAlgorithm] {
        self.algorithms.all
    }

    pub fn verification(&self) -> WebPkiSupportedAlgorithms {
        self.algorithms
    }

    /// When the root `anchor` expires, when it came from a certificate.
    pub fn not_after(&self, anchor: &TrustAnchor<'_>) -> Option<DateTime<Utc>> {
        self.root_not_after
            .iter()
            .find(|(subject, _)| subject.as_slice() == anchor.subject.as_ref())
            .map(|(_, at)| *at)
    }

    /// Whether `--ca-file` added roots (a private CA's chain can then be trusted).
    pub fn has_private_roots(&self) -> bool {
        self.private_roots
    }
}

/// A certificate's not_before and not_after; None when it cannot be read.
fn validity(der: &CertificateDer<'_>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
    let at = |seconds: i64| Utc.timestamp_opt(seconds, 0).single();
    Some((
        at(cert.validity().not_before.timestamp())?,
        at(cert.validity().not_after.timestamp())?,
    ))
}

fn anchor(der: &CertificateDer<'_>) -> Option<TrustAnchor<'static>> {
    webpki::anchor_from_trusted_cert(der)
        .ok()
        .map(|a| a.to_owned())
}

/// The crypto provider the SDK's TLS already uses.
pub fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}
