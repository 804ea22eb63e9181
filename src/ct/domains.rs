//! Which domains to ask Certificate Transparency about: the registrable domain of every DNS
//! name in the inventory (public-suffix aware, with the `psl` crate's compiled list: never "the
//! last two labels", which would ask about `co.uk`), plus `--ct-domains`, minus
//! `--ct-exclude-domains`.

use std::collections::BTreeSet;

use crate::report::Report;

/// The registrable domain of a DNS name (`*.shop.example.co.uk` → `example.co.uk`); None for
/// what has none: an IP address, a bare public suffix, a name that is no DNS name.
pub fn registrable(name: &str) -> Option<String> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let name = name.strip_prefix("*.").unwrap_or(&name);
    if name.is_empty() || name.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let valid = name
        .split('.')
        .all(|label| !label.is_empty() && label.len() <= 63 && label.bytes().all(dns_byte));
    if !valid || !name.contains('.') {
        return None;
    }
    let domain = psl::domain_str(name)?;
    // Names of a private network are no public CA's business: never sent to a public log
    // search.
    let tld = domain.rsplit('.').next().unwrap_or_default();
    if INTERNAL_TLDS.contains(&tld) || domain.ends_with("home.arpa") {
        return None;
    }
    Some(domain.to_string())
}

/// Top-level names used inside networks (RFC 6762, RFC 2606 and common practice): none is a
/// public domain CT could hold certificates for.
const INTERNAL_TLDS: [&str; 9] = [
    "local",
    "localhost",
    "internal",
    "lan",
    "intranet",
    "private",
    "home",
    "invalid",
    "test",
];

/// AWS's own domains (load balancer and distribution names): an inventory name under one is
/// AWS's certificate to mind, and asking CT about all of amazonaws.com is no question.
const AWS_DOMAINS: [&str; 3] = [
    "amazonaws.com",
    "cloudfront.net",
    "awsglobalaccelerator.com",
];

fn dns_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The domains a run asks about, sorted: the inventory's, `extra`'s, less `exclude` (a name
/// excluded also excludes what is under it).
pub fn of(report: &Report, extra: &[String], exclude: &[String]) -> Vec<String> {
    let mut domains: BTreeSet<String> = report
        .certificates
        .iter()
        .flat_map(|c| c.domain_name.iter().chain(&c.subject_alternative_names))
        .filter_map(|name| registrable(name))
        .filter(|d| !AWS_DOMAINS.contains(&d.as_str()))
        .collect();
    domains.extend(extra.iter().map(|d| normalise(d)));
    let exclude: Vec<String> = exclude.iter().map(|d| normalise(d)).collect();
    let kept: Vec<String> = domains
        .into_iter()
        .filter(|d| !exclude.iter().any(|x| under(d, x)))
        .collect();
    // A domain under another asked domain is in that one's answer already (subdomains
    // included): asking it again would list its certificates twice.
    kept.iter()
        .filter(|d| !kept.iter().any(|other| other != *d && under(d, other)))
        .cloned()
        .collect()
}

/// A domain as given on the command line, compared as names are (`*.x` is `x`).
pub fn normalise(domain: &str) -> String {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    match domain.strip_prefix("*.") {
        Some(rest) => rest.to_string(),
        None => domain,
    }
}

/// `name` is `domain` or a name under it (`a.b.example.com` under `example.com`; not
/// `badexample.com`).
pub fn under(name: &str, domain: &str) -> bool {
    let name = normalise(name);
    let name = name.strip_prefix("*.").unwrap_or(&name);
    name == domain
        || name
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// `--ct-domains`: a registrable domain (or a name under one), never a public suffix alone.
pub fn parse_domain(value: &str) -> Result<String, String> {
    let domain = normalise(value);
    match registrable(&domain) {
        Some(_) => Ok(domain),
        None => Err(format!(
            "'{value}' is not a domain Certificate Transparency can be asked about: give a \
             registrable domain such as example.com (not a public suffix such as co.uk)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Certificate;

    #[test]
    fn registrable_domains_follow_the_public_suffix_list_not_the_last_two_labels() {
        assert_eq!(
            registrable("www.example.co.uk").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(
            registrable("*.shop.example.com.").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            registrable("a.b.example.com.au").as_deref(),
            Some("example.com.au")
        );
        assert_eq!(
            registrable("api.corp.github.io").as_deref(),
            Some("corp.github.io")
        );
        assert_eq!(registrable("co.uk"), None, "a public suffix alone");
        assert_eq!(registrable("10.0.0.1"), None);
        assert_eq!(registrable("localhost"), None);
        assert_eq!(registrable("bad..example.com"), None);
        assert_eq!(registrable("evil/example.com"), None);
    }

    #[test]
    fn the_run_asks_each_domain_once_with_extras_and_without_exclusions() {
        let mut report = Report::new(chrono::Utc::now(), 45, "1");
        let mut c = Certificate::new("arn:a", "1", None, "us-east-1");
        c.domain_name = Some("www.corp.example.co.uk".into());
        c.subject_alternative_names = vec!["corp.example.co.uk".into(), "*.intra.test.com".into()];
        report.certificates.push(c);
        let got = of(
            &report,
            &[
                "Extra.ORG".into(),
                "shop.extra.org".into(),
                "*.more.net".into(),
            ],
            &["test.com".into()],
        );
        assert_eq!(
            got,
            ["example.co.uk", "extra.org", "more.net"],
            "nested asked once"
        );
        assert_eq!(registrable("printer.office.local"), None, "internal");
        assert_eq!(registrable("db.corp.internal"), None);
        assert!(under("a.b.example.com", "example.com"));
        assert!(!under("badexample.com", "example.com"));
        assert!(parse_domain("co.uk").is_err());
    }
}
