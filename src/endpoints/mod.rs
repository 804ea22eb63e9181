//! Endpoints: what is actually served. ACM says what *should* be served; a TLS handshake says
//! what *is*. Targets come from a report's in-use certificates and an endpoints file
//! (`target.rs`); each address of each is probed (`probe.rs`: DNS, TCP, TLS recording the
//! chain), as many at once as the open-files limit allows (`open_files.rs`), and judged
//! (`judge.rs`: trust, name, expiry, the inventory) into a `report::endpoint::Endpoint`.

mod judge;
mod open_files;
mod probe;
pub mod target;
mod trust;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use futures::stream::{self, StreamExt};

pub use judge::{judge, Verdict};
pub use probe::is_private;
pub use target::{Inventory, Target};
pub use trust::Trust;

use crate::interrupt::{Interrupt, Signal};
use crate::plan::ProbeSettings;
use crate::report::endpoint::{Endpoint, EndpointError, EndpointFinding, EndpointStatus};
use crate::report::{counted, Report};
use probe::{Failure, Handshake};

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
/// CA file, the open-files limit), read once: a bad file stops the command before the scan.
pub struct Prober {
    trust: Trust,
    listed: target::Listed,
    pins: Vec<((String, u16), Vec<std::net::SocketAddr>)>,
    options: ProbeOptions,
}

impl Prober {
    pub fn new(settings: &ProbeSettings, expiring_days: i64) -> anyhow::Result<Prober> {
        let listed = match &settings.endpoints_file {
            Some(path) => target::read_file(path)?,
            None => target::Listed::default(),
        };
        let concurrency = open_files::bounded(settings.concurrency);
        if let Some(note) = concurrency.note() {
            eprintln!("certaudit: {note}");
        }
        Ok(Prober {
            trust: Trust::load(&settings.ca_files)?,
            listed,
            pins: settings.resolve.clone(),
            options: ProbeOptions {
                tls_timeout: settings.tls_timeout,
                probe_private: settings.probe_private,
                concurrency: concurrency.allowed,
                expiring_days,
            },
        })
    }

    /// Probe the report's in-use names and the listed endpoints, until `interrupt` comes.
    pub async fn probe(&self, report: &Report, interrupt: &Interrupt) -> Probed {
        let (mut targets, mut wildcards) = target::from_report(report);
        targets.extend(self.listed.targets.iter().cloned());
        wildcards.extend(self.listed.wildcards.iter().cloned());
        let targets = target::settle(targets, &self.pins);
        let inventory = Inventory::of(report);
        let work = Work {
            inventory: &inventory,
            trust: &self.trust,
            options: &self.options,
        };
        probe_all(targets, wildcards, &work, interrupt).await
    }
}

/// What probing gave: every target's endpoints, and what kept some from being probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    pub endpoints: Vec<Endpoint>,
    /// The signal that stopped probing; the targets not probed by then are listed as skipped
    /// (reason `interrupted`).
    pub interrupted: Option<Signal>,
    /// How many targets the signal left unprobed.
    pub unfinished: usize,
    /// Targets this machine failed to probe (out of file descriptors or memory), listed as
    /// skipped (reason `local-error`): the run's failure, not the endpoints'.
    pub local_failures: usize,
}

impl Probed {
    /// What the run says when a signal stopped the probing.
    pub fn interrupted_error(&self) -> Option<String> {
        self.interrupted.map(|signal| {
            format!(
                "probing interrupted by {}: what was probed is kept; {} not probed (listed as \
                 skipped, reason {INTERRUPTED})",
                signal.name(),
                counted(self.unfinished, "endpoint")
            )
        })
    }

    /// What the run says when this machine failed to probe some endpoints.
    pub fn local_error(&self) -> Option<String> {
        (self.local_failures > 0).then(|| {
            format!(
                "{} not probed for lack of this machine's resources (listed as skipped, reason \
                 {LOCAL_ERROR}): lower --probe-concurrency or raise the open-files limit \
                 (ulimit -n)",
                counted(self.local_failures, "endpoint")
            )
        })
    }
}

/// The reason of an endpoint a signal left unprobed.
pub const INTERRUPTED: &str = "interrupted";
/// The reason of an endpoint this machine could not probe.
pub const LOCAL_ERROR: &str = "local-error";
/// The reason of an address this machine has no route to, when another address answered.
pub const NO_ROUTE: &str = "no-route";

/// What every probe shares.
pub struct Work<'a> {
    pub inventory: &'a Inventory,
    pub trust: &'a Trust,
    pub options: &'a ProbeOptions,
}

/// Probe every target, `concurrency` at a time, until the targets end or `interrupt` comes
/// (then the ones probed are kept and the rest listed as skipped); the endpoints in (host,
/// port) order, the wildcard names after them as skipped.
pub async fn probe_all(
    targets: Vec<Target>,
    wildcards: impl IntoIterator<Item = (String, u16)>,
    work: &Work<'_>,
    interrupt: &Interrupt,
) -> Probed {
    let mut probing = stream::iter(targets.iter())
        .map(|target| async move { (target, probe_target(target, work).await) })
        .buffer_unordered(work.options.concurrency.max(1));
    let mut finished: BTreeSet<&Target> = BTreeSet::new();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut local_failures = 0;
    let interrupted = loop {
        tokio::select! {
            next = probing.next() => match next {
                Some((target, result)) => {
                    finished.insert(target);
                    match result {
                        Ok(found) => endpoints.extend(found),
                        Err(error) => {
                            local_failures += 1;
                            endpoints.push(not_probed(target, LOCAL_ERROR, local_message(&error)));
                        }
                    }
                }
                None => break None,
            },
            signal = interrupt.wait() => break Some(signal),
        }
    };
    drop(probing);
    let mut unfinished = 0;
    if let Some(signal) = interrupted {
        let message = format!("not probed: interrupted by {}", signal.name());
        for target in targets.iter().filter(|t| !finished.contains(t)) {
            unfinished += 1;
            endpoints.push(not_probed(target, INTERRUPTED, message.clone()));
        }
    }
    // Stable: one target's addresses keep the order DNS gave them.
    endpoints.sort_by(|a, b| (&a.host, a.port, &a.sni).cmp(&(&b.host, b.port, &b.sni)));
    let wildcards: BTreeSet<(String, u16)> = wildcards.into_iter().collect();
    for (name, port) in wildcards {
        let mut e = Endpoint::unprobed(&name, port, &name, EndpointStatus::Skipped);
        e.reason = Some("wildcard: not probed; list a host under it in --endpoints".into());
        endpoints.push(e);
    }
    Probed {
        endpoints,
        interrupted,
        unfinished,
        local_failures,
    }
}

/// A target listed without a probe, and why.
fn not_probed(target: &Target, reason: &str, message: String) -> Endpoint {
    let mut e = Endpoint::unprobed(
        &target.host,
        target.port,
        &target.sni,
        EndpointStatus::Skipped,
    );
    e.reason = Some(reason.into());
    e.error = Some(EndpointError {
        code: reason.into(),
        message,
    });
    e
}

fn local_message(error: &std::io::Error) -> String {
    format!("this machine could not probe it: {error}")
}

/// Tries of a target that failed for lack of this machine's resources: other probes finishing
/// meanwhile give them back.
const LOCAL_TRIES: u32 = 3;

/// One target: each of its addresses probed in turn (one socket at a time, so concurrency
/// bounds sockets), the results that differ kept — one node serving a stale certificate is a
/// finding, three nodes serving the same one are one row. Err: this machine failed.
async fn probe_target(target: &Target, work: &Work<'_>) -> Result<Vec<Endpoint>, std::io::Error> {
    let mut tries = 0;
    loop {
        tries += 1;
        match probe_addresses(target, work).await {
            Err(error) if tries < LOCAL_TRIES => {
                tracing::debug!("{}: {error}; trying again", target.host);
                tokio::time::sleep(Duration::from_millis(100 * u64::from(tries))).await;
            }
            done => return done,
        }
    }
}

async fn probe_addresses(
    target: &Target,
    work: &Work<'_>,
) -> Result<Vec<Endpoint>, std::io::Error> {
    let addresses = match probe::addresses(target).await {
        Ok(addresses) => addresses,
        Err(Failure::Endpoint(e) | Failure::NoRoute(e)) => return Ok(vec![*e]),
        Err(Failure::Local(error)) => return Err(error),
    };
    let mut results: Vec<Endpoint> = Vec::new();
    let mut unrouted: Vec<Endpoint> = Vec::new();
    for (address, from_dns) in addresses {
        let e = if from_dns && is_private(address.ip()) && !work.options.probe_private {
            probe::private_skip(target, address)
        } else {
            match probe::handshake(target, address, work.options.tls_timeout).await {
                Ok(shook) => judged(target, &shook, work),
                Err(Failure::Endpoint(e)) => *e,
                Err(Failure::NoRoute(e)) => {
                    unrouted.push(*e);
                    continue;
                }
                Err(Failure::Local(error)) => return Err(error),
            }
        };
        results.push(e);
    }
    Ok(distinct(with_unrouted(results, unrouted)))
}

/// The addresses this machine has no route to (an IPv6 address on a host without IPv6, as
/// many CI runners are): unreachable when no other address answered, else skipped (reason
/// `no-route`) — clients with the route reach them, and the name was checked through the
/// others.
fn with_unrouted(mut results: Vec<Endpoint>, unrouted: Vec<Endpoint>) -> Vec<Endpoint> {
    // A handshake, not a skip: a name whose other address is private was not checked at all.
    let answered = results.iter().any(|e| {
        matches!(
            e.status,
            EndpointStatus::Ok | EndpointStatus::Warning | EndpointStatus::Critical
        )
    });
    for mut e in unrouted {
        if answered {
            e.status = EndpointStatus::Skipped;
            e.reason = Some(NO_ROUTE.into());
        }
        results.push(e);
    }
    results
}

/// Each result once: the addresses that gave the same one fold into the first.
fn distinct(results: Vec<Endpoint>) -> Vec<Endpoint> {
    let mut kept: Vec<Endpoint> = Vec::new();
    for e in results {
        if !kept.iter().any(|seen| same_result(seen, &e)) {
            kept.push(e);
        }
    }
    kept
}

/// Whether two addresses of one target gave the same result (the address apart).
fn same_result(a: &Endpoint, b: &Endpoint) -> bool {
    let placeless = |e: &Endpoint| Endpoint {
        address: None,
        ..e.clone()
    };
    placeless(a) == placeless(b)
}

fn judged(target: &Target, shook: &Handshake, work: &Work<'_>) -> Endpoint {
    let mut e = Endpoint::unprobed(&target.host, target.port, &target.sni, EndpointStatus::Ok);
    e.address = Some(shook.address.ip().to_string());
    e.tls_version = Some(shook.tls_version.clone());
    let known = work.inventory.for_host(&target.host);
    match judge(
        &shook.chain,
        &target.sni,
        work.trust,
        Utc::now(),
        work.options.expiring_days,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(address: &str, status: EndpointStatus) -> Endpoint {
        let mut e = Endpoint::unprobed("lb.test", 443, "lb.test", status);
        e.address = Some(address.into());
        e
    }

    #[test]
    fn addresses_with_one_result_are_one_row_and_each_different_result_its_own() {
        let mut stale = at("10.0.0.3", EndpointStatus::Critical);
        stale.findings = vec![EndpointFinding::Expired];
        let rows = distinct(vec![
            at("10.0.0.1", EndpointStatus::Ok),
            at("10.0.0.2", EndpointStatus::Ok),
            stale,
        ]);
        let addresses: Vec<_> = rows.iter().map(|e| e.address.as_deref()).collect();
        assert_eq!(addresses, [Some("10.0.0.1"), Some("10.0.0.3")]);
    }

    #[test]
    fn an_address_without_a_route_from_here_is_skipped_only_when_another_answered() {
        let unrouted = || vec![at("2001:db8::1", EndpointStatus::Unreachable)];
        let answered = with_unrouted(vec![at("10.0.0.1", EndpointStatus::Ok)], unrouted());
        assert_eq!(answered[1].status, EndpointStatus::Skipped);
        assert_eq!(answered[1].reason.as_deref(), Some(NO_ROUTE));
        let alone = with_unrouted(Vec::new(), unrouted());
        assert_eq!(alone[0].status, EndpointStatus::Unreachable);
        let private = with_unrouted(vec![at("10.0.0.1", EndpointStatus::Skipped)], unrouted());
        assert_eq!(
            private[1].status,
            EndpointStatus::Unreachable,
            "a skipped address checked nothing"
        );
    }
}
