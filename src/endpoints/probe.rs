//! One endpoint over the network: DNS (unless pinned), TCP (5 s), and a TLS handshake with SNI
//! through rustls with a verifier that records the served chain and lets the handshake finish
//! whatever the chain is — so an expired or untrusted certificate is reported, not just
//! refused. The handshake's own signatures are still checked.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::trust::provider;
use super::Target;
use crate::report::endpoint::{Endpoint, EndpointError, EndpointStatus};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Keeps the chain the server sent; never refuses it (the judging comes after).
#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().unwrap_or_else(|e| e.into_inner());
        chain.clear();
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What a successful handshake gave.
pub struct Handshake {
    pub address: SocketAddr,
    pub tls_version: String,
    pub chain: Vec<CertificateDer<'static>>,
}

/// Addresses that DNS should not send a probe to (a name pointing inside a network).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified()
                // 100.64.0.0/10, carrier-grade NAT
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

fn failed(target: &Target, address: Option<SocketAddr>, code: &str, message: String) -> Endpoint {
    let mut e = Endpoint::unprobed(
        &target.host,
        target.port,
        &target.sni,
        EndpointStatus::Unreachable,
    );
    e.address = address.map(|a| a.ip().to_string());
    e.reason = Some(code.to_string());
    e.error = Some(EndpointError {
        code: code.to_string(),
        message,
    });
    e
}

/// Resolve, connect and shake hands; an endpoint that cannot be reached (or is skipped) comes
/// back as the `Endpoint` to report.
pub async fn handshake(
    target: &Target,
    tls_timeout: Duration,
    probe_private: bool,
) -> Result<Handshake, Endpoint> {
    let address = match target.pinned {
        Some(address) => address,
        None => resolve(target).await?,
    };
    if target.pinned.is_none() && is_private(address.ip()) && !probe_private {
        let mut e = Endpoint::unprobed(
            &target.host,
            target.port,
            &target.sni,
            EndpointStatus::Skipped,
        );
        e.address = Some(address.ip().to_string());
        e.reason = Some("private-address".into());
        return Err(e);
    }
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Err(_) => {
            return Err(failed(
                target,
                Some(address),
                "connect-timeout",
                format!("no TCP connection in {} s", CONNECT_TIMEOUT.as_secs()),
            ))
        }
        Ok(Err(e)) => return Err(failed(target, Some(address), "connect", e.to_string())),
        Ok(Ok(tcp)) => tcp,
    };
    let provider = provider();
    let recorder = Arc::new(Recorder {
        chain: Mutex::new(Vec::new()),
        algorithms: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(target, Some(address), "tls", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(target.sni.clone())
        .map_err(|e| failed(target, Some(address), "sni", e.to_string()))?;
    let connecting = TlsConnector::from(Arc::new(config)).connect(name, tcp);
    let tls = match tokio::time::timeout(tls_timeout, connecting).await {
        Err(_) => {
            return Err(failed(
                target,
                Some(address),
                "tls-timeout",
                format!("no TLS handshake in {} s", tls_timeout.as_secs()),
            ))
        }
        Ok(Err(e)) => return Err(failed(target, Some(address), "tls", e.to_string())),
        Ok(Ok(tls)) => tls,
    };
    let tls_version = tls
        .get_ref()
        .1
        .protocol_version()
        .map(|v| match v {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
            other => format!("{other:?}"),
        })
        .unwrap_or_default();
    let chain = recorder
        .chain
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(Handshake {
        address,
        tls_version,
        chain,
    })
}

async fn resolve(target: &Target) -> Result<SocketAddr, Endpoint> {
    let lookup = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    );
    match lookup.await {
        Err(_) => Err(failed(
            target,
            None,
            "dns-timeout",
            format!(
                "{} did not resolve in {} s",
                target.host,
                CONNECT_TIMEOUT.as_secs()
            ),
        )),
        Ok(Err(e)) => Err(failed(target, None, "dns", format!("{}: {e}", target.host))),
        Ok(Ok(mut addresses)) => addresses.next().ok_or_else(|| {
            failed(
                target,
                None,
                "dns",
                format!("{} has no address", target.host),
            )
        }),
    }
}
