//! The roots a served chain must lead to: webpki-roots (Mozilla's), the system's, and any
//! `--ca-file` (a private CA's root); and the signature algorithms rustls verifies with.

use std::path::PathBuf;

use anyhow::{Context, Result};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::SignatureVerificationAlgorithm;
use rustls::pki_types::{CertificateDer, TrustAnchor};

pub struct Trust {
    anchors: Vec<TrustAnchor<'static>>,
    private_roots: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Trust {
    /// Mozilla's roots, the system's, and every certificate in each `--ca-file`.
    pub fn load(ca_files: &[PathBuf]) -> Result<Trust> {
        let mut anchors: Vec<TrustAnchor<'static>> = webpki_roots::TLS_SERVER_ROOTS.to_vec();
        // A system without a trust store still has Mozilla's; its errors are not ours.
        let system = rustls_native_certs::load_native_certs();
        anchors.extend(system.certs.iter().filter_map(anchor));
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
            anchors.extend(certificates.iter().filter_map(anchor));
        }
        Ok(Trust {
            anchors,
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

    /// Whether `--ca-file` added roots (a private CA's chain can then be trusted).
    pub fn has_private_roots(&self) -> bool {
        self.private_roots
    }
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
