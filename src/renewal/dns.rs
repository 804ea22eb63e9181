//! The resolver: `--dns-server`s, or the system's (/etc/resolv.conf). Each (name, type) is
//! asked once per scan: answers are kept, and a name many certificates share (ACM reuses one
//! CNAME for a name and its wildcard; every name climbs to the same parents for CAA) costs one
//! query. Lookups run as tasks of their own, so they proceed while the scan waits on AWS.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::sync::{Notify, Semaphore};

use super::caa;
use super::exchange::{Reply, Resolver, Trouble};

/// Lookups in flight at once: enough for thousands of names a second on loopback, few enough
/// not to flood a VPC resolver (AmazonProvidedDNS allows 1,024 packets a second per interface).
const IN_FLIGHT: usize = 64;

/// A resolver that has answered none of this many lookups (each timed out or found no server)
/// is taken for dead: the lookups after them fail at once rather than each waiting out
/// `--dns-timeout` (10,000 names at 5 s would be hours).
const DEAD_AFTER: usize = 16;

/// A lookup that got no answer to judge by: SERVFAIL, REFUSED, a timeout, no resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `servfail`, `refused`, `timeout`, `no-resolver`…: the error's code (stage `dns`).
    pub code: String,
    pub message: String,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Found(T),
    /// The name does not exist.
    NxDomain,
    /// The name exists, without records of this type.
    NoData,
    Failed(Failure),
}

/// The resolver and what it has answered this scan.
pub struct Dns {
    resolver: Result<Arc<Resolver>, Failure>,
    /// "127.0.0.1:5353", or "the system resolver (10.0.0.2)": named in every error (shared by
    /// every lookup task: one allocation, not one a name).
    pub label: Arc<str>,
    timeout: Duration,
    in_flight: Arc<Semaphore>,
    health: Arc<Health>,
    keys: RandomState,
    cnames: Memo<String>,
    caas: Memo<Vec<caa::Entry>>,
    addresses: Memo<Vec<std::net::IpAddr>>,
}

impl Dns {
    /// A resolver asking `servers` (none: the system's). `timeout` bounds each lookup,
    /// retries included. Never fails: a resolver that cannot be set up fails each lookup.
    pub fn new(servers: &[SocketAddr], timeout: Duration) -> Dns {
        let (servers, label) = match servers.is_empty() {
            true => system_servers(),
            false => {
                let label = servers
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                (Ok(servers.to_vec()), label)
            }
        };
        let resolver = servers
            .map(|servers| Arc::new(Resolver::new(servers, timeout)))
            .map_err(|e| Failure {
                code: "no-resolver".into(),
                message: format!("no DNS resolver could be set up from {label}: {e}"),
            });
        Dns {
            resolver,
            label: label.into(),
            timeout,
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
            health: Arc::default(),
            keys: RandomState::new(),
            cnames: Mutex::new(HashMap::new()),
            caas: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    /// The CNAME at `name` (its target, absolute, lower case).
    pub fn cname(&self, name: &str) -> Arc<Slot<String>> {
        self.memo(&self.cnames, name, RecordType::CNAME, |records| {
            records
                .iter()
                .find_map(|r| match r {
                    RData::CNAME(target) => Some(absolute(&target.0.to_ascii())),
                    _ => None,
                })
                .map_or(Answer::NoData, Answer::Found)
        })
    }

    /// The CAA set at `name`, aliases followed.
    pub fn caa(&self, name: &str) -> Arc<Slot<Vec<caa::Entry>>> {
        self.memo(&self.caas, name, RecordType::CAA, |records| {
            let entries: Vec<caa::Entry> = records
                .iter()
                .filter_map(|r| match r {
                    RData::CAA(c) => Some(caa::Entry {
                        critical: c.issuer_critical,
                        tag: c.tag.clone(),
                        value: String::from_utf8_lossy(&c.value).into_owned(),
                    }),
                    _ => None,
                })
                .collect();
            match entries.is_empty() {
                true => Answer::NoData,
                false => Answer::Found(entries),
            }
        })
    }

    /// The addresses of `name` (AAAA and A, asked at once; IPv6 first). One family failing
    /// while the other answers is still an answer.
    pub fn addresses(&self, name: &str) -> Arc<Slot<Vec<std::net::IpAddr>>> {
        self.ask(&self.addresses, name, "A/AAAA".into(), |resolver, name| {
            async move {
                let (v6, v4) = futures::join!(
                    resolver.ask(name.clone(), RecordType::AAAA),
                    resolver.ask(name, RecordType::A)
                );
                both_families(v6, v4)
            }
            .boxed()
        })
    }

    fn memo<T: Clone + Send + Sync + 'static>(
        &self,
        memo: &Memo<T>,
        name: &str,
        record_type: RecordType,
        read: fn(&[RData]) -> Answer<T>,
    ) -> Arc<Slot<T>> {
        self.ask(
            memo,
            name,
            record_type.to_string(),
            move |resolver, name| {
                async move {
                    Ok(match resolver.ask(name, record_type).await? {
                        Reply::NxDomain => Answer::NxDomain,
                        Reply::Records(records) => read(&records),
                    })
                }
                .boxed()
            },
        )
    }

    /// The slot for `name` in `memo`; when new, a task asks `lookup` for it, in its turn,
    /// within the timeout, unless the resolver is taken for dead. Detached: the task ends (and
    /// its memory goes) as soon as the answer is in the slot. The lookup's own future is boxed,
    /// so a task waiting for its turn is small.
    fn ask<T: Clone + Send + Sync + 'static>(
        &self,
        memo: &Memo<T>,
        name: &str,
        kind: String,
        lookup: impl FnOnce(Arc<Resolver>, Name) -> BoxFuture<'static, Result<Answer<T>, Trouble>>
            + Send
            + 'static,
    ) -> Arc<Slot<T>> {
        let name = absolute(name);
        let (slot, new) = claim(memo, &self.keys, &name);
        if !new {
            return slot;
        }
        let resolver = self.resolver.clone();
        let timeout = self.timeout;
        let in_flight = self.in_flight.clone();
        let health = self.health.clone();
        let label = self.label.clone();
        let filling = slot.clone();
        tokio::spawn(async move {
            let answer = async {
                let resolver = resolver.map_err(Answer::Failed)?;
                let query = Name::from_ascii(&name).map_err(|_| {
                    Answer::Failed(Failure {
                        code: "bad-name".into(),
                        message: format!("{name} is not a DNS name certaudit can ask for"),
                    })
                })?;
                let _turn = in_flight.acquire_owned().await;
                health.alive(&name, &kind, &label)?;
                Ok(
                    match tokio::time::timeout(timeout, lookup(resolver, query)).await {
                        Err(_) => Answer::Failed(timed_out(&name, &kind, &label, timeout)),
                        Ok(Ok(answer)) => answer,
                        Ok(Err(e)) => classify(&e, &name, &kind, &label),
                    },
                )
            };
            let answer = answer.await.unwrap_or_else(|failed| failed);
            health.record(&answer);
            filling.fill(answer);
        });
        slot
    }
}

/// Whether the resolver answers at all.
#[derive(Default)]
struct Health {
    answered: std::sync::atomic::AtomicUsize,
    unanswered: std::sync::atomic::AtomicUsize,
}

impl Health {
    fn record<T>(&self, answer: &Answer<T>) {
        use std::sync::atomic::Ordering::Relaxed;
        match answer {
            Answer::Failed(f) if matches!(f.code.as_str(), "timeout" | "unreachable") => {
                self.unanswered.fetch_add(1, Relaxed);
            }
            _ => {
                self.answered.fetch_add(1, Relaxed);
            }
        }
    }

    /// `Err` (the lookup's failed answer) once the resolver is taken for dead.
    fn alive<T>(&self, name: &str, kind: &str, label: &str) -> Result<(), Answer<T>> {
        use std::sync::atomic::Ordering::Relaxed;
        let dead = self.answered.load(Relaxed) == 0 && self.unanswered.load(Relaxed) >= DEAD_AFTER;
        match dead {
            false => Ok(()),
            true => Err(Answer::Failed(Failure {
                code: "timeout".into(),
                message: format!(
                    "{kind} lookup of {name} not made: {label} answered none of the first \
                     {DEAD_AFTER} lookups"
                ),
            })),
        }
    }
}

/// One lookup's answer once it has come, and whoever waits for it.
pub struct Slot<T> {
    answer: OnceLock<Answer<T>>,
    ready: Notify,
}

impl<T: Clone> Slot<T> {
    fn new() -> Self {
        Slot {
            answer: OnceLock::new(),
            ready: Notify::new(),
        }
    }

    fn fill(&self, answer: Answer<T>) {
        let _ = self.answer.set(answer);
        self.ready.notify_waiters();
    }

    /// The answer, once it has come.
    pub async fn get(&self) -> Answer<T> {
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            // Registered before the answer is looked at: a fill in between still wakes us.
            notified.as_mut().enable();
            if let Some(answer) = self.answer.get() {
                return answer.clone();
            }
            notified.await;
        }
    }
}

/// What a scan has asked, by the name's 64-bit hash (a scan of 100,000 certificates asks some
/// 70,000 names; keeping a hash rather than the name saves megabytes, and two names of a scan
/// sharing one is a chance of about one in 10^9).
type Memo<T> = Mutex<HashMap<u64, Arc<Slot<T>>>>;

/// The slot for `name`, and whether it is new (then the caller starts its lookup).
fn claim<T: Clone>(memo: &Memo<T>, keys: &RandomState, name: &str) -> (Arc<Slot<T>>, bool) {
    let key = keys.hash_one(name);
    let mut memo = memo.lock().expect("the DNS memo lock");
    match memo.get(&key) {
        Some(slot) => (slot.clone(), false),
        None => {
            let slot = Arc::new(Slot::new());
            memo.insert(key, slot.clone());
            (slot, true)
        }
    }
}

/// A name's addresses from its AAAA and A answers, IPv6 first: either family's records are
/// an answer, whatever befell the other; without any, a failure wins over NXDOMAIN.
fn both_families(
    v6: Result<Reply, Trouble>,
    v4: Result<Reply, Trouble>,
) -> Result<Answer<Vec<std::net::IpAddr>>, Trouble> {
    let mut ips: Vec<std::net::IpAddr> = Vec::new();
    let mut nxdomain = false;
    let mut trouble = None;
    for reply in [v6, v4] {
        match reply {
            Ok(Reply::Records(records)) => ips.extend(records.iter().filter_map(|r| r.ip_addr())),
            Ok(Reply::NxDomain) => nxdomain = true,
            Err(e) => trouble = trouble.or(Some(e)),
        }
    }
    match (ips.is_empty(), trouble) {
        (false, _) => Ok(Answer::Found(ips)),
        (true, Some(trouble)) => Err(trouble),
        (true, None) if nxdomain => Ok(Answer::NxDomain),
        (true, None) => Ok(Answer::NoData),
    }
}

/// The system's resolvers (/etc/resolv.conf), and how errors name them.
fn system_servers() -> (Result<Vec<SocketAddr>, String>, String) {
    const PATH: &str = "/etc/resolv.conf";
    let servers = std::fs::read(PATH)
        .map_err(|e| format!("cannot read {PATH}: {e}"))
        .and_then(|text| nameservers(&text));
    let label = match &servers {
        Ok(servers) => {
            let ips: Vec<String> = servers.iter().map(|s| s.ip().to_string()).collect();
            format!("the system resolver ({})", ips.join(", "))
        }
        Err(_) => format!("the system resolver ({PATH})"),
    };
    (servers, label)
}

/// The first three `nameserver`s of a resolv.conf (as many as glibc asks), on port 53. Lines
/// it cannot read (an option newer than the parser) are passed over, as glibc does.
fn nameservers(text: &[u8]) -> Result<Vec<SocketAddr>, String> {
    let (config, _unread) = resolv_conf::Config::parse_with_errors(text);
    let servers: Vec<SocketAddr> = config
        .nameservers
        .into_iter()
        .take(3)
        .map(|ip| match ip {
            resolv_conf::ScopedIp::V4(ip) => SocketAddr::new(ip.into(), 53),
            resolv_conf::ScopedIp::V6(ip, scope) => {
                let scope = scope.as_deref().map_or(0, interface_index);
                std::net::SocketAddrV6::new(ip, 53, 0, scope).into()
            }
        })
        .collect();
    match servers.is_empty() {
        true => Err("it names no nameserver".into()),
        false => Ok(servers),
    }
}

/// The index of a link-local address's zone: "2", or an interface's name ("eth0"); 0 (none)
/// when there is no such interface.
fn interface_index(zone: &str) -> u32 {
    if let Ok(index) = zone.parse::<u32>() {
        return index;
    }
    match std::ffi::CString::new(zone) {
        // SAFETY: if_nametoindex reads the NUL-terminated name it is given, nothing else.
        Ok(name) => unsafe { libc::if_nametoindex(name.as_ptr()) },
        Err(_) => 0,
    }
}

/// `name` absolute and lower case: "example.com." (DNS compares names without case).
pub fn absolute(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    match name.ends_with('.') {
        true => name,
        false => format!("{name}."),
    }
}

fn timed_out(name: &str, kind: &str, label: &str, timeout: Duration) -> Failure {
    Failure {
        code: "timeout".into(),
        message: format!(
            "{kind} lookup of {name} at {label}: no answer within {} s (--dns-timeout)",
            timeout.as_secs_f64()
        ),
    }
}

/// A lookup no server answered to judge by.
fn classify<T>(trouble: &Trouble, name: &str, kind: &str, label: &str) -> Answer<T> {
    let code = match trouble {
        Trouble::Code(code) => response_code(*code),
        Trouble::Timeout => "timeout".to_string(),
        Trouble::Unreachable(_) => "unreachable".to_string(),
        Trouble::Io(_) => "io".to_string(),
        Trouble::Tcp(_) => "tcp-failed".to_string(),
        Trouble::Malformed(_) => "dns-error".to_string(),
    };
    Answer::Failed(Failure {
        message: format!("{kind} lookup of {name} at {label}: {trouble}"),
        code,
    })
}

/// The error code of an answer that is no answer: `servfail`, `refused`, `formerr`…
fn response_code(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "servfail".into(),
        ResponseCode::Refused => "refused".into(),
        ResponseCode::FormErr => "formerr".into(),
        ResponseCode::NotImp => "notimp".into(),
        other => format!("rcode-{}", u16::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_resolvers_are_the_nameservers_of_resolv_conf() {
        let text = b"# written by a DHCP client\nsearch corp.example\nnameserver 10.0.0.2\n\
                     nameserver fe80::1%2\noptions edns0 ndots:2 no-such-option-yet\n\
                     nameserver 10.0.0.3 10.0.0.4\nnameserver 10.0.0.5\nnameserver 10.0.0.6\n";
        let servers = nameservers(text).unwrap();
        let shown: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
        // The zone kept; an unknown option and a line's extra address passed over, as glibc
        // does; three servers, as many as glibc asks.
        assert_eq!(shown, ["10.0.0.2:53", "[fe80::1%2]:53", "10.0.0.3:53"]);
        let none = nameservers(b"search corp.example\n").unwrap_err();
        assert!(none.contains("no nameserver"), "{none}");
    }

    #[test]
    fn a_names_addresses_are_both_families_ipv6_first_whatever_befell_one() {
        use hickory_proto::rr::rdata::{A, AAAA};
        let v6 = || {
            Ok(Reply::Records(vec![RData::AAAA(AAAA(
                "2600:1f18::10".parse().unwrap(),
            ))]))
        };
        let v4 = || {
            Ok(Reply::Records(vec![RData::A(A("10.0.0.5"
                .parse()
                .unwrap()))]))
        };
        let shown = |answer: Result<Answer<Vec<std::net::IpAddr>>, Trouble>| match answer {
            Ok(Answer::Found(ips)) => ips
                .iter()
                .map(|ip| ip.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            Ok(Answer::NxDomain) => "NXDOMAIN".into(),
            Ok(Answer::NoData) => "NODATA".into(),
            Ok(Answer::Failed(f)) => f.code,
            Err(e) => format!("trouble: {e}"),
        };
        // A private A record does not hide the public AAAA one.
        assert_eq!(shown(both_families(v6(), v4())), "2600:1f18::10 10.0.0.5");
        assert_eq!(
            shown(both_families(Err(Trouble::Timeout), v4())),
            "10.0.0.5"
        );
        assert_eq!(
            shown(both_families(Err(Trouble::Timeout), Ok(Reply::NxDomain))),
            "trouble: no answer to any attempt within --dns-timeout"
        );
        assert_eq!(
            shown(both_families(Ok(Reply::NxDomain), Ok(Reply::NxDomain))),
            "NXDOMAIN"
        );
        assert_eq!(
            shown(both_families(
                Ok(Reply::Records(vec![])),
                Ok(Reply::NxDomain)
            )),
            "NXDOMAIN"
        );
        assert_eq!(
            shown(both_families(
                Ok(Reply::Records(vec![])),
                Ok(Reply::Records(vec![]))
            )),
            "NODATA"
        );
    }

    #[test]
    fn a_lookup_that_cannot_be_made_names_the_resolver_and_its_code() {
        let refused = classify::<()>(
            &Trouble::Code(ResponseCode::Refused),
            "x.example.",
            "CAA",
            "127.0.0.1:53",
        );
        let Answer::Failed(failure) = refused else {
            panic!("REFUSED is no answer");
        };
        assert_eq!(failure.code, "refused");
        assert!(failure
            .message
            .contains("CAA lookup of x.example. at 127.0.0.1:53"));
        let Answer::Failed(closed) = classify::<()>(
            &Trouble::Unreachable(std::io::ErrorKind::ConnectionRefused.into()),
            "x.example.",
            "CNAME",
            "127.0.0.1:53",
        ) else {
            panic!("a closed port is no answer");
        };
        assert_eq!(closed.code, "unreachable");
    }
}
