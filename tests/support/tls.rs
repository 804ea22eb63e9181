//! The server side of TLS for the endpoint tests and benchmark: a listener on a loopback
//! address that answers every connection with a handshake for one chain, after an optional
//! delay; and a silent listener that only counts the connections it accepts (and holds them).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Serve `chain` (leaf first) with its PKCS#8 key on a free port of 127.0.0.1, on `runtime`,
/// each handshake after `delay`; the port.
pub fn serve(
    runtime: &tokio::runtime::Runtime,
    chain: Vec<CertificateDer<'static>>,
    pkcs8_key: Vec<u8>,
    delay: Duration,
) -> u16 {
    serve_at(
        runtime,
        "127.0.0.1:0".parse().unwrap(),
        chain,
        pkcs8_key,
        delay,
    )
}

/// The same on `address`, which must be a loopback one (port 0: a free one); the port.
pub fn serve_at(
    runtime: &tokio::runtime::Runtime,
    address: SocketAddr,
    chain: Vec<CertificateDer<'static>>,
    pkcs8_key: Vec<u8>,
    delay: Duration,
) -> u16 {
    serve_counted(runtime, address, chain, pkcs8_key, delay).0
}

/// The same, with the count of handshakes completed so far.
pub fn serve_counted(
    runtime: &tokio::runtime::Runtime,
    address: SocketAddr,
    chain: Vec<CertificateDer<'static>>,
    pkcs8_key: Vec<u8>,
    delay: Duration,
) -> (u16, Arc<AtomicUsize>) {
    assert!(address.ip().is_loopback(), "tests serve on loopback only");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8_key));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(address))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counter = handshakes.clone();
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if acceptor.accept(tcp).await.is_ok() {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    (port, handshakes)
}

/// A listener on 127.0.0.1 that never answers: it counts the connections it accepts and keeps
/// them open (a probe to it waits for its TLS timeout).
pub struct Silent {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Silent {
    pub fn start(runtime: &tokio::runtime::Runtime) -> Silent {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        runtime.spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(tcp);
            }
        });
        Silent { port, accepted }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}
