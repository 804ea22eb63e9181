//! HTTP validation (CloudFront-managed certificates): ACM's CA asks `RedirectFrom` and must
//! be redirected to `RedirectTo`. One request, no redirect followed, as the CA does.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{HOST, LOCATION, USER_AGENT};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;

use super::dns::{Answer, Dns, Failure};
use crate::endpoints::is_private;

/// What asking `RedirectFrom` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// It redirects to `RedirectTo`.
    InPlace,
    /// It does not: what it answered instead.
    Missing(String),
    /// Its name could not be looked up: neither in place nor missing.
    Unknown(Failure),
}

/// Ask `from` once and say whether it redirects to `to`.
/// `private`: ask even at private, loopback or link-local addresses.
pub async fn check(dns: &Dns, from: &str, to: &str, timeout: Duration, private: bool) -> Redirect {
    let uri: Uri = match from.parse() {
        Ok(uri) => uri,
        Err(e) => return Redirect::Missing(format!("is not a URL ({e})")),
    };
    if uri.scheme_str() != Some("http") {
        return Redirect::Missing(format!(
            "is not an http:// URL: the CA asks over plain HTTP ({from})"
        ));
    }
    let Some(host) = uri.host() else {
        return Redirect::Missing("has no host".into());
    };
    let port = uri.port_u16().unwrap_or(80);
    let addresses = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match dns.addresses(host).get().await {
            Answer::Found(ips) => ips,
            Answer::NxDomain => return Redirect::Missing(format!("{host} does not exist")),
            Answer::NoData => return Redirect::Missing(format!("{host} has no address")),
            Answer::Failed(failure) => return Redirect::Unknown(failure),
        },
    };
    // ACM's CA asks from the Internet: a host that resolves only inside a network cannot be
    // validated, and asking it from here would reach this machine's neighbours (or the
    // metadata service) instead. Link-local is never asked, even with `private`.
    let reachable = |ip: &IpAddr| !link_local(*ip) && (private || !is_private(*ip));
    let Some(ip) = addresses.iter().copied().find(reachable) else {
        let listed: Vec<String> = addresses.iter().map(|ip| ip.to_string()).collect();
        return Redirect::Missing(format!(
            "{host} resolves only to addresses ACM's CA cannot reach ({}): not asked",
            listed.join(", ")
        ));
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let asked = tokio::time::timeout(timeout, get(SocketAddr::new(ip, port), host, path)).await;
    let unknown = |code: &str, why: String| {
        Redirect::Unknown(Failure {
            code: code.into(),
            message: format!("HTTP validation request to {from} ({ip}): {why}"),
        })
    };
    match asked {
        // No answer from here says nothing of what the CA will get: neither in place nor
        // missing.
        Err(_) => unknown(
            "http-timeout",
            format!(
                "no answer within {} s (--dns-timeout)",
                timeout.as_secs_f64()
            ),
        ),
        Ok(Err(e)) => unknown("http-error", e.to_string()),
        Ok(Ok((status, location))) => {
            let redirect = matches!(status, 301 | 302 | 303 | 307 | 308);
            match location {
                Some(location) if redirect && same_url(&location, to) => Redirect::InPlace,
                Some(location) if redirect => {
                    Redirect::Missing(format!("redirects to {location}, not to {to}"))
                }
                _ => Redirect::Missing(format!("answers {status} instead of a redirect to {to}")),
            }
        }
    }
}

fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_link_local())
        }
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// One GET; the status and the Location header.
async fn get(
    address: SocketAddr,
    host: &str,
    path: &str,
) -> Result<(u16, Option<String>), Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driving = tokio::spawn(connection);
    let request = Request::get(path)
        .header(HOST, host)
        .header(USER_AGENT, concat!("certaudit/", env!("CARGO_PKG_VERSION")))
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await;
    driving.abort();
    let response = response?;
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok((response.status().as_u16(), location))
}
