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
    /// From `--resolve`: connect to each of these, whatever DNS says (empty: ask DNS).
    pub pinned: Vec<SocketAddr>,
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
pub fn from_report(report: &Report) -> (Vec<Target>, BTreeSet<(String, u16)>) {
    let mut targets = Vec::new();
    let mut wildcards = BTreeSet::new();
    for c in report
        .certificates
        .iter()
        .filter(|c| c.in_use == Some(true))
    {
        for name in names(c) {
            if name.starts_with("*.") {
                wildcards.insert((name, DEFAULT_PORT));
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
        pinned: Vec::new(),
    }
}

/// What one line of an endpoints file names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Endpoint(String, u16),
    /// `*.example.com`: no host to connect to; listed as skipped.
    Wildcard(String, u16),
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` (a bare IPv6 address too); why not, in words.
fn parse_line(text: &str) -> Result<Line, String> {
    if text.chars().any(char::is_whitespace) {
        return Err("a host name has no spaces (one endpoint per line)".into());
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("an unclosed [")?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("[{host}] is not an IPv6 address"));
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("'{after}' after ] is not :port")),
            },
        }
    } else if text.parse::<std::net::Ipv6Addr>().is_ok() {
        (text, None)
    } else {
        match text.split(':').collect::<Vec<_>>()[..] {
            [host] => (host, None),
            [host, port] => (host, Some(port)),
            _ => return Err("more than one ':' (an IPv6 address goes in brackets)".into()),
        }
    };
    let port = match port {
        None => DEFAULT_PORT,
        // Digits only: u16's parser also takes "+443".
        Some(port) => Some(port)
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("port '{port}' is not a number from 1 to 65535"))?,
    };
    match host.strip_prefix("*.") {
        Some(parent) => {
            host_problem(parent)?;
            Ok(Line::Wildcard(host.to_ascii_lowercase(), port))
        }
        None => {
            host_problem(host)?;
            Ok(Line::Endpoint(host.to_string(), port))
        }
    }
}

/// Whether `host` is an IP address or a DNS name (letters, digits, '-' and '_' in labels of
/// at most 63, at most 253 in all, a final dot allowed); why not, in words.
fn host_problem(host: &str) -> Result<(), String> {
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return Err("no host".into());
    }
    if name.len() > 253 {
        return Err("a host name has at most 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("'{host}' has an empty label (two dots in a row)"));
        }
        if label.len() > 63 {
            return Err(format!("'{label}' is longer than a label's 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(if c.is_ascii() || c == '\u{feff}' {
                format!("'{}' cannot be in a host name", c.escape_default())
            } else {
                "an internationalised name goes in its xn-- form".into()
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("the label '{label}' starts or ends with '-'"));
        }
    }
    Ok(())
}

/// The endpoints an endpoints file lists, and the wildcard names it lists (not probed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    pub targets: Vec<Target>,
    pub wildcards: Vec<(String, u16)>,
}

/// At most this many bad lines are named in the error: the fix is the same for the rest.
const BAD_LINES_SHOWN: usize = 10;

/// An endpoints file: `host[:port]` per line, `#` comments, blank lines ignored, a UTF-8 byte
/// order mark (Windows editors write one) dropped. Any bad line stops the command before a
/// probe, each named with its number: a typo probed as a host only ends as "unreachable".
pub fn read_file(path: &Path) -> Result<Listed> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read --endpoints {} (it must be UTF-8 text)",
            path.display()
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut listed = Listed::default();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(Line::Endpoint(host, port)) => listed.targets.push(target(&host, port)),
            Ok(Line::Wildcard(name, port)) => listed.wildcards.push((name, port)),
            Err(why) => bad.push(format!(
                "line {}: '{}' is not host[:port]: {why}",
                n + 1,
                shown(line)
            )),
        }
    }
    if !bad.is_empty() {
        let more = bad.len().saturating_sub(BAD_LINES_SHOWN);
        bad.truncate(BAD_LINES_SHOWN);
        if more > 0 {
            bad.push(format!("and {more} more lines"));
        }
        // One line: the error printer shows a newline as a replacement character.
        bail!(
            "--endpoints {}: {}; write one endpoint per line, such as www.example.com or \
             www.example.com:8443 ([2001:db8::1]:443 for IPv6)",
            path.display(),
            bad.join("; ")
        );
    }
    Ok(listed)
}

/// A bad line as the error shows it: escaped, and cut short (a line can be a whole binary).
fn shown(line: &str) -> String {
    const SHOWN: usize = 80;
    let mut text: String = line.chars().take(SHOWN).collect();
    if line.chars().nth(SHOWN).is_some() {
        text.push('…');
    }
    text.escape_debug().to_string()
}

/// Curl caps a name's addresses likewise: a pin is for a few nodes, not a network.
pub const MAX_ADDRESSES: usize = 8;

/// One `--resolve host:port:addr[,addr…]` (curl's syntax; an IPv6 address in brackets). Each
/// address may carry its own port (`127.0.0.1:8443`, `[::1]:8443`), as curl's `--connect-to`
/// does: the endpoint keeps its name and port, the connection goes there. Every address is
/// probed.
pub fn parse_resolve(value: &str) -> Result<((String, u16), Vec<SocketAddr>), String> {
    let fail = || {
        format!(
            "'{value}' is not host:port:address[,address…] (curl's --resolve, such as \
             www.example.com:443:127.0.0.1, with the port to connect to: \
             www.example.com:443:127.0.0.1:8443, several nodes: \
             www.example.com:443:127.0.0.1,[::1])"
        )
    };
    let (host, rest) = value.split_once(':').ok_or_else(fail)?;
    let (port, listed) = rest.split_once(':').ok_or_else(fail)?;
    let port: u16 = port.parse().map_err(|_| fail())?;
    let mut addresses = Vec::new();
    for addr in listed.split(',') {
        let address = pinned_address(addr.trim(), port).ok_or_else(fail)?;
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if host.is_empty() || host_problem(host).is_err() || addresses.len() > MAX_ADDRESSES {
        return Err(fail());
    }
    // As the targets are keyed: `www.example.com.` is the same name, and the pin must hold.
    Ok((
        (host.trim_end_matches('.').to_ascii_lowercase(), port),
        addresses,
    ))
}

/// `addr`, `addr:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address.
fn pinned_address(addr: &str, port: u16) -> Option<SocketAddr> {
    addr.parse::<SocketAddr>().ok().or_else(|| {
        let ip: IpAddr = addr
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(addr)
            .parse()
            .ok()?;
        Some(SocketAddr::new(ip, port))
    })
}

/// Deduplicate on (host, port, SNI) and apply the pinned addresses.
pub fn settle(
    targets: impl IntoIterator<Item = Target>,
    pins: &[((String, u16), Vec<SocketAddr>)],
) -> Vec<Target> {
    let pins: BTreeMap<&(String, u16), &Vec<SocketAddr>> =
        pins.iter().map(|(k, v)| (k, v)).collect();
    let mut settled: Vec<Target> = targets
        .into_iter()
        .map(|mut t| {
            t.pinned = pins
                .get(&(t.host.clone(), t.port))
                .map(|a| a.to_vec())
                .unwrap_or_default();
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

    fn line(text: &str) -> Result<Line, String> {
        parse_line(text)
    }

    #[test]
    fn host_port_lines_and_resolve_pins() {
        let endpoint = |h: &str, p| Ok(Line::Endpoint(h.into(), p));
        assert_eq!(line("a.example.com"), endpoint("a.example.com", 443));
        assert_eq!(line("a.example.com:8443"), endpoint("a.example.com", 8443));
        assert_eq!(line("[::1]:9443"), endpoint("::1", 9443));
        assert_eq!(line("[2001:db8::1]"), endpoint("2001:db8::1", 443));
        assert_eq!(line("2001:db8::1"), endpoint("2001:db8::1", 443));
        assert_eq!(line("10.0.0.1:8443"), endpoint("10.0.0.1", 8443));
        assert_eq!(line("www.example.com."), endpoint("www.example.com.", 443));
        assert!(line("a.example.com:https").is_err());
        let ((host, port), addr) = parse_resolve("WWW.example.com:443:127.0.0.1").unwrap();
        assert_eq!(
            (host.as_str(), port, addr[0].to_string().as_str()),
            ("www.example.com", 443, "127.0.0.1:443")
        );
        let (_, elsewhere) = parse_resolve("a.test:443:127.0.0.1:8443").unwrap();
        assert_eq!(elsewhere[0].to_string(), "127.0.0.1:8443");
        let (_, v6) = parse_resolve("a.test:443:[::1]").unwrap();
        assert_eq!(v6[0].to_string(), "[::1]:443");
        assert!(parse_resolve("www.example.com:443").is_err());
        assert!(parse_resolve("www.example.com:x:127.0.0.1").is_err());
    }

    #[test]
    fn resolve_takes_a_comma_list_of_addresses_as_curl_does() {
        let (_, nodes) = parse_resolve("lb.test:443:127.0.0.1,127.0.0.2:8443,[::1]").unwrap();
        let nodes: Vec<String> = nodes.iter().map(ToString::to_string).collect();
        assert_eq!(nodes, ["127.0.0.1:443", "127.0.0.2:8443", "[::1]:443"]);
        assert!(
            parse_resolve("lb.test:443:127.0.0.1,").is_err(),
            "an empty one"
        );
        assert!(parse_resolve("lb.test:443:127.0.0.1,nowhere").is_err());
        let (_, twice) = parse_resolve("lb.test:443:127.0.0.1,127.0.0.1").unwrap();
        assert_eq!(twice.len(), 1, "each address once");
        let nine: Vec<String> = (1..=MAX_ADDRESSES + 1)
            .map(|i| format!("127.0.0.{i}"))
            .collect();
        let nine = nine.join(",");
        assert!(parse_resolve(&format!("lb.test:443:{nine}")).is_err());
    }

    #[test]
    fn bad_endpoint_lines_are_refused_with_why() {
        for (text, why) in [
            ("a.test:0", "from 1 to 65535"),
            ("a.test:65536", "from 1 to 65535"),
            ("a.test:+443", "from 1 to 65535"),
            ("a.test:", "from 1 to 65535"),
            (":443", "no host"),
            (".", "no host"),
            ("[]:443", "not an IPv6 address"),
            ("a.test:443:extra", "more than one ':'"),
            ("host with spaces", "no spaces"),
            ("\u{feff}a.test", "cannot be in a host name"),
            ("a..test", "empty label"),
            ("a/b.test", "'/' cannot be"),
            ("bücher.test", "xn--"),
            ("-a.test", "starts or ends with '-'"),
            ("[::1]x", "is not :port"),
            ("*.*.test", "cannot be in a host name"),
            ("a.*.test", "cannot be in a host name"),
        ] {
            let error = line(text).expect_err(text);
            assert!(error.contains(why), "{text}: {error}");
        }
        assert_eq!(
            line("*.Example.com:8443"),
            Ok(Line::Wildcard("*.example.com".into(), 8443))
        );
    }

    #[test]
    fn an_endpoints_file_drops_a_bom_and_names_every_bad_line_before_any_probe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.txt");
        std::fs::write(
            &path,
            "\u{feff}first.test\r\n# note\n*.wild.test\nb.test:8443 # b\n",
        )
        .unwrap();
        let listed = read_file(&path).unwrap();
        let hosts: Vec<(&str, u16)> = listed
            .targets
            .iter()
            .map(|t| (t.host.as_str(), t.port))
            .collect();
        assert_eq!(hosts, [("first.test", 443), ("b.test", 8443)]);
        assert_eq!(listed.wildcards, [("*.wild.test".to_string(), 443)]);

        std::fs::write(&path, "ok.test\na.test:0\n\nhost with spaces\n").unwrap();
        let error = read_file(&path).unwrap_err().to_string();
        assert!(error.contains(&path.display().to_string()), "{error}");
        assert!(error.contains("line 2: 'a.test:0'"), "{error}");
        assert!(error.contains("line 4: 'host with spaces'"), "{error}");
        assert!(
            error.contains("such as www.example.com"),
            "the fix: {error}"
        );
        assert!(!error.contains("line 1"), "{error}");
        assert!(
            !error.contains('\n'),
            "one line, as the error printer needs: {error}"
        );

        std::fs::write(&path, "x".repeat(100_000) + " y\n").unwrap();
        let error = read_file(&path).unwrap_err().to_string();
        assert!(
            error.len() < 500,
            "a huge line is cut short: {} bytes",
            error.len()
        );
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
        assert_eq!(
            wildcards.into_iter().collect::<Vec<_>>(),
            [("*.example.com".to_string(), 443)]
        );
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
        assert_eq!(settled[0].pinned[0].to_string(), "127.0.0.1:443");
        assert!(settled[1].pinned.is_empty());
    }

    #[test]
    fn a_pin_for_a_name_with_a_trailing_dot_is_the_names_pin() {
        let ((host, port), _) = parse_resolve("LocalHost.:9441:127.0.0.1").unwrap();
        assert_eq!((host.as_str(), port), ("localhost", 9441));
    }
}
