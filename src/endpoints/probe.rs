//! One endpoint over the network: its addresses (pinned, or every one DNS gives, up to eight),
//! and for each a TCP connection (5 s) and a TLS handshake with SNI
//! through rustls with a verifier that records the served chain and lets the handshake finish
//! whatever the chain is — so an expired or untrusted certificate is reported, not just
//! refused. The handshake's own signatures are still checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::target::MAX_ADDRESSES;
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

/// Addresses that DNS should not send a probe to: a name pointing inside a network (private,
/// loopback, link-local, carrier-grade NAT), or at no unicast host (`0.0.0.0/8`, multicast,
/// reserved). An IPv4 address carried inside IPv6 (mapped, NAT64, 6to4, IPv4-compatible) is
/// the IPv4 address it carries: `::ffff:169.254.169.254` reaches the metadata service.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => embedded_v4(v6).map_or_else(|| private_v6(v6), private_v4),
    }
}

fn private_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        // 0.0.0.0/8: "this network"; Linux connects 0.x to the machine itself
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT
        || (a == 100 && (b & 0xc0) == 64)
        // 192.0.0.0/24, protocol assignments; 198.18.0.0/15, benchmarking
        || (a, b, c) == (192, 0, 0)
        || (a == 198 && (b & 0xfe) == 18)
        // 224.0.0.0/4 multicast, 240.0.0.0/4 reserved and the broadcast address
        || a >= 224
}

fn private_v6(v6: Ipv6Addr) -> bool {
    let [first, second, ..] = v6.segments();
    v6.is_loopback()
        || v6.is_unspecified()
        // fc00::/7 unique local; fe80::/10 link-local; fec0::/10 the old site-local
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        // ff00::/8 multicast
        || (first & 0xff00) == 0xff00
        // 64:ff9b:1::/48, NAT64 inside one network (where the IPv4 address sits varies)
        || ((first, second) == (0x64, 0xff9b) && v6.segments()[2] == 1)
}

/// The IPv4 address an IPv6 address carries, where the connection then goes.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = v6.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match v6.segments() {
        // ::ffff:0:0/96 mapped; ::ffff:0:0:0/96 translated (SIIT)
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] => Some(last),
        // 64:ff9b::/96, NAT64's well-known prefix
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last),
        // 2002::/16, 6to4: the IPv4 address follows the prefix
        [0x2002, ..] => Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        // ::/96, IPv4-compatible (deprecated, still routed by some stacks); :: and ::1 land in
        // 0.0.0.0/8, private too
        [0, 0, 0, 0, 0, 0, _, _] => Some(last),
        _ => None,
    }
}

/// Why a probe gave no handshake.
#[derive(Debug)]
pub enum Failure {
    /// The endpoint's doing (DNS, TCP or TLS failed) or a skip: the endpoint to report.
    Endpoint(Box<Endpoint>),
    /// This machine's: out of file descriptors, buffers or memory. Not the endpoint's fault,
    /// so never reported as its being unreachable.
    Local(std::io::Error),
    /// This machine has no route to the address (no IPv6 here): the endpoint to report,
    /// unreachable unless another address of the name answered.
    NoRoute(Box<Endpoint>),
}

/// Failures of this machine, not of the network or the endpoint.
fn is_local(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::ENOBUFS)
    )
}

fn failed(target: &Target, address: Option<SocketAddr>, code: &str, message: String) -> Failure {
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
    Failure::Endpoint(Box::new(e))
}

/// No route from here to that network (or family): ENETUNREACH, EADDRNOTAVAIL, EAFNOSUPPORT.
fn is_unrouted(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::ENETUNREACH | libc::EADDRNOTAVAIL | libc::EAFNOSUPPORT)
    )
}

/// An I/O failure: this machine's, or the endpoint's under `code`.
fn io_failed(
    target: &Target,
    address: Option<SocketAddr>,
    code: &str,
    error: std::io::Error,
) -> Failure {
    if is_local(&error) {
        return Failure::Local(error);
    }
    let message = match address {
        Some(_) => error.to_string(),
        None => format!("{}: {error}", target.host),
    };
    match failed(target, address, code, message) {
        Failure::Endpoint(e) if address.is_some() && is_unrouted(&error) => Failure::NoRoute(e),
        other => other,
    }
}

/// The addresses to probe for a target, each with whether DNS gave it: its `--resolve` pins,
/// or what DNS says (at most `MAX_ADDRESSES`, each once).
pub async fn addresses(target: &Target) -> Result<Vec<(SocketAddr, bool)>, Failure> {
    if !target.pinned.is_empty() {
        return Ok(target.pinned.iter().map(|a| (*a, false)).collect());
    }
    let lookup = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    );
    let found = match lookup.await {
        Err(_) => {
            return Err(failed(
                target,
                None,
                "dns-timeout",
                format!(
                    "{} did not resolve in {} s",
                    target.host,
                    CONNECT_TIMEOUT.as_secs()
                ),
            ))
        }
        Ok(Err(e)) => return Err(io_failed(target, None, "dns", e)),
        Ok(Ok(found)) => found,
    };
    let mut addresses: Vec<(SocketAddr, bool)> = Vec::new();
    for address in found {
        if addresses.len() == MAX_ADDRESSES {
            break;
        }
        if !addresses.iter().any(|(a, _)| *a == address) {
            addresses.push((address, true));
        }
    }
    if addresses.is_empty() {
        return Err(failed(
            target,
            None,
            "dns",
            format!("{} has no address", target.host),
        ));
    }
    Ok(addresses)
}

/// The endpoint skipped because DNS sent it inside a network, unless `--probe-private`.
pub fn private_skip(target: &Target, address: SocketAddr) -> Endpoint {
    let mut e = Endpoint::unprobed(
        &target.host,
        target.port,
        &target.sni,
        EndpointStatus::Skipped,
    );
    e.address = Some(address.ip().to_string());
    e.reason = Some("private-address".into());
    e
}

/// Connect to one address of a target and shake hands.
pub async fn handshake(
    target: &Target,
    address: SocketAddr,
    tls_timeout: Duration,
) -> Result<Handshake, Failure> {
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Err(_) => {
            return Err(failed(
                target,
                Some(address),
                "connect-timeout",
                format!("no TCP connection in {} s", CONNECT_TIMEOUT.as_secs()),
            ))
        }
        Ok(Err(e)) => return Err(io_failed(target, Some(address), "connect", e)),
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
        Ok(Err(e)) => return Err(io_failed(target, Some(address), "tls", e)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn private(text: &str) -> bool {
        is_private(text.parse().unwrap())
    }

    #[test]
    fn ipv4_addresses_carried_in_ipv6_are_judged_as_the_ipv4_address() {
        for inside in [
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.1.2.3",
            "::ffff:0:192.168.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            "::127.0.0.1",
            "::169.254.169.254",
        ] {
            assert!(private(inside), "{inside} reaches inside");
        }
        for outside in [
            "::ffff:93.184.215.14",
            "64:ff9b::5db8:d70e",
            "2002:5db8:d70e::1",
            "2606:4700::6810:84e5",
        ] {
            assert!(!private(outside), "{outside} is public");
        }
    }

    #[test]
    fn running_out_of_descriptors_or_memory_is_this_machines_failure_not_the_endpoints() {
        let target = crate::endpoints::target::Target {
            host: "a.test".into(),
            port: 443,
            sni: "a.test".into(),
            pinned: Vec::new(),
        };
        let at = Some("127.0.0.1:443".parse().unwrap());
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOMEM, libc::ENOBUFS] {
            let error = std::io::Error::from_raw_os_error(errno);
            assert!(
                matches!(io_failed(&target, at, "connect", error), Failure::Local(_)),
                "{errno}"
            );
        }
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        match io_failed(&target, at, "connect", refused) {
            Failure::Endpoint(e) => assert_eq!(e.status, EndpointStatus::Unreachable),
            other => panic!("{other:?}"),
        }
        let unrouted = std::io::Error::from_raw_os_error(libc::ENETUNREACH);
        assert!(matches!(
            io_failed(&target, at, "connect", unrouted),
            Failure::NoRoute(_)
        ));
    }

    #[test]
    fn this_network_and_non_unicast_ipv4_are_private() {
        for inside in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.2",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::2",
            "fe80::1",
            "ff02::1",
        ] {
            assert!(private(inside), "{inside}");
        }
        for outside in ["1.1.1.1", "100.128.0.1", "198.20.0.1", "223.255.255.1"] {
            assert!(!private(outside), "{outside}");
        }
    }
}
