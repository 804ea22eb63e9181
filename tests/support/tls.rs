//! The server side of TLS for the endpoint tests and benchmark: a listener on 127.0.0.1 that
//! answers every connection with a handshake for one chain, after an optional delay.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Serve `chain` (leaf first) with its PKCS#8 key on a free loopback port, on `runtime`, each
/// handshake after `delay`; the port.
pub fn serve(
    runtime: &tokio::runtime::Runtime,
    chain: Vec<CertificateDer<'static>>,
    pkcs8_key: Vec<u8>,
    delay: Duration,
) -> u16 {
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
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    port
}
