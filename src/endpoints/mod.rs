//! Endpoints: what is actually served. ACM says what *should* be served; a TLS handshake says
//! what *is*. Targets come from a report's in-use certificates and an endpoints file
//! (`target.rs`); each is probed (`probe.rs`: DNS, TCP, TLS recording the chain) and judged
//! (`judge.rs`: trust, name, expiry, the inventory) into a `report::endpoint::Endpoint`.

mod judge;
mod probe;
pub mod target;
mod trust;

use std::time::Duration;

use chrono::Utc;
use futures::stream::{self, StreamExt};

pub use judge::{judge, Verdict};
pub use probe::is_private;
pub use target::{Inventory, Target};
pub use trust::Trust;

use crate::plan::ProbeSettings;
use crate::report::endpoint::{Endpoint, EndpointError, EndpointFinding, EndpointStatus};
use crate::report::Report;

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The TLS handshake's limit (TCP has its own 5 s).
    pub tls_timeout: Duration,
    /// Probe addresses in private, loopback or link-local ranges found through DNS.
    pub probe_private: bool,
    pub concurrency: usize,
    pub expiring_days: i64,
}

/// Everything a probe needs that can be wrong before any connection (an endpoints file, a
/// CA file), read once: a bad file stops the command before the scan.
pub struct Prober {
    trust: Trust,
    listed: Vec<Target>,
    pins: Vec<((String, u16), std::net::SocketAddr)>,
    options: ProbeOptions,
}

impl Prober {
    pub fn new(settings: &ProbeSettings, expiring_days: i64) -> anyhow::Result<Prober> {
        let listed = match &settings.endpoints_file {
            Some(path) => target::read_file(path)?,
            None => Vec::new(),
        };
        Ok(Prober {
            trust: Trust::load(&settings.ca_files)?,
            listed,
            pins: settings.resolve.clone(),
            options: ProbeOptions {
                tls_timeout: settings.tls_timeout,
                probe_private: settings.probe_private,
                concurrency: settings.concurrency,
                expiring_days,
            },
        })
    }

    /// Probe the report's in-use names and the listed endpoints.
    pub async fn probe(&self, report: &Report) -> Vec<Endpoint> {
        let (mut targets, wildcards) = target::from_report(report);
        targets.extend(self.listed.iter().cloned());
        let targets = target::settle(targets, &self.pins);
        let inventory = Inventory::of(report);
        probe_all(targets, wildcards, &inventory, &self.trust, &self.options).await
    }
}

/// Probe every target, `concurrency` at a time; the endpoints in (host, port) order, the
/// wildcard names after them as skipped.
pub async fn probe_all(
    targets: Vec<Target>,
    wildcards: impl IntoIterator<Item = String>,
    inventory: &Inventory,
    trust: &Trust,
    options: &ProbeOptions,
) -> Vec<Endpoint> {
    let mut endpoints: Vec<Endpoint> = stream::iter(targets)
        .map(|target| async move { probe(&target, inventory, trust, options).await })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    endpoints.sort_by(|a, b| (&a.host, a.port, &a.sni).cmp(&(&b.host, b.port, &b.sni)));
    for name in wildcards {
        let mut e = Endpoint::unprobed(&name, target::DEFAULT_PORT, &name, EndpointStatus::Skipped);
        e.reason = Some("wildcard: not probed; list a host under it in --endpoints".into());
        endpoints.push(e);
    }
    endpoints
}

async fn probe(
    target: &Target,
    inventory: &Inventory,
    trust: &Trust,
    options: &ProbeOptions,
) -> Endpoint {
    let shook = match probe::handshake(target, options.tls_timeout, options.probe_private).await {
        Ok(shook) => shook,
        Err(endpoint) => return endpoint,
    };
    let mut e = Endpoint::unprobed(&target.host, target.port, &target.sni, EndpointStatus::Ok);
    e.address = Some(shook.address.ip().to_string());
    e.tls_version = Some(shook.tls_version);
    let known = inventory.for_host(&target.host);
    match judge(
        &shook.chain,
        &target.sni,
        trust,
        Utc::now(),
        options.expiring_days,
        &known,
    ) {
        Ok(verdict) => {
            e.status = Endpoint::status_of(&verdict.findings);
            e.reason = critical_words(&verdict.findings);
            e.served = Some(verdict.served);
            e.chain_trusted = verdict.chain_trusted;
            e.chain_not_after = verdict.chain_not_after;
            e.hostname_match = verdict.hostname_match;
            e.acm = verdict.acm;
            e.findings = verdict.findings;
        }
        Err(message) => {
            e.status = EndpointStatus::Critical;
            e.error = Some(EndpointError {
                code: "unreadable-certificate".into(),
                message,
            });
        }
    }
    e
}

/// The critical findings in words, for the endpoint's `reason`.
fn critical_words(findings: &[EndpointFinding]) -> Option<String> {
    let critical: Vec<&str> = findings
        .iter()
        .filter(|f| f.is_critical())
        .map(|f| f.as_str())
        .collect();
    (!critical.is_empty()).then(|| critical.join(", "))
}
