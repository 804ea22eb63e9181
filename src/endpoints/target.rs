//! What to probe: the names of every in-use certificate of a report (domain and SANs, port
//! 443), and `host[:port]` lines of an endpoints file; `--resolve host:port:addr` pins an
//! address. Deduplicated on (host, port, SNI). Wildcard names cannot be connected to: they are
//! listed as skipped unless a file names a real host under them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::report::{Certificate, Report};

pub const DEFAULT_PORT: u16 = 443;

/// One endpoint to probe.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub sni: String,
    /// From `--resolve`: connect here, whatever DNS says.
    pub pinned: Option<SocketAddr>,
}

/// The inventory's certificates for one name, to compare the served leaf with.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    by_name: BTreeMap<String, Vec<Known>>,
}

/// What the comparison needs of an ACM certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub arn: String,
    pub serial: Option<String>,
    pub in_use: bool,
    pub private: bool,
}

impl Inventory {
    pub fn of(report: &Report) -> Inventory {
        let mut by_name: BTreeMap<String, Vec<Known>> = BTreeMap::new();
        for c in &report.certificates {
            for name in names(c) {
                by_name
                    .entry(name.to_ascii_lowercase())
                    .or_default()
                    .push(Known {
                        arn: c.arn.clone(),
                        serial: c.serial.clone(),
                        in_use: c.in_use == Some(true),
                        private: c.cert_type.as_deref() == Some("PRIVATE"),
                    });
            }
        }
        Inventory { by_name }
    }

    /// The certificates that name this host, exactly or by a wildcard one label up.
    pub fn for_host(&self, host: &str) -> Vec<&Known> {
        let host = host.to_ascii_lowercase();
        let wildcard = host
            .split_once('.')
            .map(|(_, parent)| format!("*.{parent}"));
        [Some(host), wildcard]
            .into_iter()
            .flatten()
            .filter_map(|name| self.by_name.get(&name))
            .flatten()
            .collect()
    }
}

/// A certificate's names: its domain and its SANs, each once.
fn names(c: &Certificate) -> BTreeSet<String> {
    c.domain_name
        .iter()
        .chain(&c.subject_alternative_names)
        .cloned()
        .collect()
}

/// Targets from a report: every name of every in-use certificate, on port 443; and the
/// wildcard names, which cannot be probed, apart.
pub fn from_report(report: &Report) -> (Vec<Target>, BTreeSet<String>) {
    let mut targets = Vec::new();
    let mut wildcards = BTreeSet::new();
    for c in report
        .certificates
        .iter()
        .filter(|c| c.in_use == Some(true))
    {
        for name in names(c) {
            if name.starts_with("*.") {
                wildcards.insert(name);
            } else {
                targets.push(target(&name, DEFAULT_PORT));
            }
        }
    }
    (targets, wildcards)
}

fn target(host: &str, port: u16) -> Target {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    Target {
        sni: host.clone(),
        host,
        port,
        pinned: None,
    }
}

/// `host`, `host:port`, `[v6]:port`.
fn parse_host_port(text: &str) -> Result<(String, u16)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').context("an unclosed [")?;
        let port = after.strip_prefix(':').map(str::parse).transpose()?;
        (host.to_string(), port)
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host.to_string(), Some(port.parse()?)),
            _ => (text.to_string(), None),
        }
    };
    if host.is_empty() {
        bail!("no host");
    }
    Ok((host, port.unwrap_or(DEFAULT_PORT)))
}

/// An endpoints file: `host[:port]` per line, `#` comments, blank lines ignored.
pub fn read_file(path: &Path) -> Result<Vec<Target>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --endpoints {}", path.display()))?;
    let mut targets = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (host, port) = parse_host_port(line).with_context(|| {
            format!(
                "{} line {}: '{line}' is not host[:port] (such as www.example.com:8443)",
                path.display(),
                n + 1
            )
        })?;
        targets.push(target(&host, port));
    }
    Ok(targets)
}

/// One `--resolve host:port:addr` (curl's syntax; an IPv6 address in brackets). The address
/// may carry its own port (`127.0.0.1:8443`, `[::1]:8443`), as curl's `--connect-to` does: the
/// endpoint keeps its name and port, the connection goes there.
pub fn parse_resolve(value: &str) -> Result<((String, u16), SocketAddr), String> {
    let fail = || {
        format!(
            "'{value}' is not host:port:address (curl's --resolve, such as \
             www.example.com:443:127.0.0.1, or with the port to connect to: \
             www.example.com:443:127.0.0.1:8443)"
        )
    };
    let (host, rest) = value.split_once(':').ok_or_else(fail)?;
    let (port, addr) = rest.split_once(':').ok_or_else(fail)?;
    let port: u16 = port.parse().map_err(|_| fail())?;
    let connect = match addr.parse::<SocketAddr>() {
        Ok(with_port) => with_port,
        Err(_) => {
            let ip: IpAddr = addr
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| fail())?;
            SocketAddr::new(ip, port)
        }
    };
    if host.is_empty() {
        return Err(fail());
    }
    Ok(((host.to_ascii_lowercase(), port), connect))
}

/// Deduplicate on (host, port, SNI) and apply the pinned addresses.
pub fn settle(
    targets: impl IntoIterator<Item = Target>,
    pins: &[((String, u16), SocketAddr)],
) -> Vec<Target> {
    let pins: BTreeMap<&(String, u16), &SocketAddr> = pins.iter().map(|(k, v)| (k, v)).collect();
    let mut settled: Vec<Target> = targets
        .into_iter()
        .map(|mut t| {
            t.pinned = pins.get(&(t.host.clone(), t.port)).map(|a| **a);
            t
        })
        .collect();
    settled.sort();
    settled.dedup_by(|a, b| (&a.host, a.port, &a.sni) == (&b.host, b.port, &b.sni));
    settled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_lines_and_resolve_pins() {
        assert_eq!(
            parse_host_port("a.example.com").unwrap(),
            ("a.example.com".into(), 443)
        );
        assert_eq!(
            parse_host_port("a.example.com:8443").unwrap(),
            ("a.example.com".into(), 8443)
        );
        assert_eq!(parse_host_port("[::1]:9443").unwrap(), ("::1".into(), 9443));
        assert!(parse_host_port("a.example.com:https").is_err());
        let ((host, port), addr) = parse_resolve("WWW.example.com:443:127.0.0.1").unwrap();
        assert_eq!(
            (host.as_str(), port, addr.to_string().as_str()),
            ("www.example.com", 443, "127.0.0.1:443")
        );
        let (_, elsewhere) = parse_resolve("a.test:443:127.0.0.1:8443").unwrap();
        assert_eq!(elsewhere.to_string(), "127.0.0.1:8443");
        let (_, v6) = parse_resolve("a.test:443:[::1]").unwrap();
        assert_eq!(v6.to_string(), "[::1]:443");
        assert!(parse_resolve("www.example.com:443").is_err());
        assert!(parse_resolve("www.example.com:x:127.0.0.1").is_err());
    }

    #[test]
    fn in_use_names_are_targets_and_wildcards_are_set_apart() {
        let mut report = Report::new(chrono::Utc::now(), 45, "111111111111");
        let mut used = Certificate::new("arn:1", "111111111111", None, "us-east-1");
        used.domain_name = Some("www.example.com".into());
        used.subject_alternative_names = vec!["www.example.com".into(), "*.example.com".into()];
        used.in_use = Some(true);
        let mut idle = Certificate::new("arn:2", "111111111111", None, "us-east-1");
        idle.domain_name = Some("idle.example.com".into());
        idle.in_use = Some(false);
        report.certificates = vec![used, idle];
        let (targets, wildcards) = from_report(&report);
        let hosts: Vec<&str> = targets.iter().map(|t| t.host.as_str()).collect();
        assert_eq!(hosts, ["www.example.com"]);
        assert_eq!(wildcards.into_iter().collect::<Vec<_>>(), ["*.example.com"]);
        let inventory = Inventory::of(&report);
        assert_eq!(
            inventory.for_host("API.example.com").len(),
            1,
            "by the wildcard"
        );
        assert_eq!(
            inventory.for_host("www.example.com").len(),
            2,
            "by name and by wildcard"
        );
        assert!(
            inventory.for_host("a.b.example.com").is_empty(),
            "one label only"
        );
    }

    #[test]
    fn targets_are_deduplicated_and_pinned() {
        let pins = vec![parse_resolve("a.test:443:127.0.0.1").unwrap()];
        let settled = settle(
            [
                target("a.test", 443),
                target("A.test.", 443),
                target("b.test", 443),
            ],
            &pins,
        );
        assert_eq!(settled.len(), 2);
        assert_eq!(settled[0].pinned.unwrap().to_string(), "127.0.0.1:443");
        assert_eq!(settled[1].pinned, None);
    }
}
