//! Judging a served chain: parse it, build a path to a trusted root (webpki, the same code
//! rustls verifies with), check the name, compare with the inventory, and name the findings.
//! Pure: the chain, the roots and the time in; the verdict out.

use std::net::IpAddr;

use chrono::{DateTime, TimeZone, Utc};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::target::Known;
use super::trust::Trust;
use crate::report::classify::days_to_expiry;
use crate::report::endpoint::{
    normalized_serial, AcmCertificate, AcmMatch, EndpointFinding, Served,
};

/// What the chain says, before the endpoint's place and status are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub served: Served,
    pub chain_trusted: bool,
    pub chain_not_after: Option<DateTime<Utc>>,
    pub hostname_match: bool,
    pub acm: Option<AcmCertificate>,
    pub findings: Vec<EndpointFinding>,
}

/// A certificate's facts, parsed from its DER.
struct Parsed {
    serial: String,
    subject: String,
    issuer: String,
    sans: Vec<String>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
}

fn time(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or_default()
}

fn parse(der: &CertificateDer<'_>) -> Result<Parsed, String> {
    let (_, cert) = X509Certificate::from_der(der.as_ref())
        .map_err(|e| format!("unreadable certificate: {e}"))?;
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(dns.to_string()),
                GeneralName::IPAddress(bytes) => Some(ip_text(bytes)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let hex: String = cert
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Parsed {
        serial: normalized_serial(&hex),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before: time(cert.validity().not_before.timestamp()),
        not_after: time(cert.validity().not_after.timestamp()),
    })
}

/// An IP SAN as people write it: dotted IPv4, RFC 5952 IPv6 (what `Ipv6Addr` displays); any
/// other length (malformed) as hex, so it still shows.
fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).unwrap_or_default()).to_string(),
        16 => IpAddr::from(<[u8; 16]>::try_from(bytes).unwrap_or_default()).to_string(),
        _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Whether a certificate's own dates hold at `at` (an unreadable one does not).
fn valid_at(der: &CertificateDer<'_>, at: DateTime<Utc>) -> bool {
    parse(der).is_ok_and(|c| c.not_before <= at && at <= c.not_after)
}

/// The not_after of each intermediate of a verified path, and of its root when the root came
/// from a certificate; or why there is no path.
fn verified_path(
    leaf: &EndEntityCert<'_>,
    intermediates: &[CertificateDer<'_>],
    trust: &Trust,
    at: DateTime<Utc>,
) -> Result<PathDates, webpki::Error> {
    let at =
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(at.timestamp().max(0) as u64));
    let path = leaf.verify_for_usage(
        trust.algorithms(),
        trust.anchors(),
        intermediates,
        at,
        KeyUsage::server_auth(),
        None,
        None,
    )?;
    Ok(PathDates {
        intermediates: path
            .intermediate_certificates()
            .filter_map(|c| parse(&c.der()).ok())
            .map(|p| p.not_after)
            .collect(),
        root: trust.not_after(path.anchor()),
    })
}

/// When the certificates above the leaf on a verified path expire.
#[derive(Default)]
struct PathDates {
    intermediates: Vec<DateTime<Utc>>,
    /// The root is on the path too: its expiry ends the chain as an intermediate's does.
    root: Option<DateTime<Utc>>,
}

impl PathDates {
    /// Every certificate above the leaf.
    fn above_leaf(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.intermediates.iter().copied().chain(self.root)
    }
}

/// Judge a chain served for `sni` at `now`. `known` are the inventory's certificates for the
/// name.
pub fn judge(
    chain: &[CertificateDer<'static>],
    sni: &str,
    trust: &Trust,
    now: DateTime<Utc>,
    expiring_days: i64,
    known: &[&Known],
) -> Result<Verdict, String> {
    let leaf_der = chain.first().ok_or("the server sent no certificate")?;
    let leaf = parse(leaf_der)?;
    let end_entity =
        EndEntityCert::try_from(leaf_der).map_err(|e| format!("unusable leaf: {e:?}"))?;
    let path = trusted_path(&end_entity, &leaf, &chain[1..], trust, now);
    let hostname_match = ServerName::try_from(sni)
        .ok()
        .is_some_and(|name| end_entity.verify_is_valid_for_subject_name(&name).is_ok());
    let chain_trusted = path.is_some();
    let dates = path.unwrap_or_default();
    let chain_not_after = chain_trusted.then(|| {
        dates
            .above_leaf()
            .chain([leaf.not_after])
            .min()
            .unwrap_or(leaf.not_after)
    });
    let acm = compare(&leaf.serial, known);
    let facts = Facts {
        days: days_to_expiry(leaf.not_after, now),
        hostname_match,
        chain_trusted,
        // Only the leaf, not self-signed, and no root signed it directly (a verified path
        // with no intermediate): clients need an intermediate they were not sent.
        incomplete: chain.len() == 1
            && leaf.issuer != leaf.subject
            && !(chain_trusted && dates.intermediates.is_empty()),
        intermediate_expiring: dates
            .above_leaf()
            .any(|t| days_to_expiry(t, now) <= expiring_days),
        private: known.iter().any(|k| k.private) && !trust.has_private_roots(),
        stale: acm
            .as_ref()
            .is_some_and(|a| a.matched == AcmMatch::Different)
            && known.iter().any(|k| k.in_use),
    };
    Ok(Verdict {
        findings: facts.findings(expiring_days),
        served: Served {
            serial: leaf.serial,
            subject: leaf.subject,
            issuer: leaf.issuer,
            sans: leaf.sans,
            not_before: leaf.not_before,
            not_after: leaf.not_after,
            days_to_expiry: facts.days,
            sha256: Sha256::digest(leaf_der.as_ref())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        },
        chain_trusted,
        chain_not_after,
        hostname_match,
        acm,
    })
}

/// The not_after of each intermediate on a path to a trusted root; None when there is none.
/// Every certificate but the leaf is judged now, as clients judge it: an intermediate that has
/// expired or is not valid yet is no link in any path. Only the leaf's own dates are set aside
/// (an expired leaf on a good chain is "expired", not "untrusted"): the path is verified at the
/// moment nearest now inside the leaf's validity, which is now itself while the leaf is valid.
/// A leaf not valid yet has no such moment: clients refuse it, so it is untrusted.
fn trusted_path(
    end_entity: &EndEntityCert<'_>,
    leaf: &Parsed,
    intermediates: &[CertificateDer<'_>],
    trust: &Trust,
    now: DateTime<Utc>,
) -> Option<PathDates> {
    let current: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .filter(|c| valid_at(c, now))
        .cloned()
        .collect();
    // A leaf not valid yet is refused by every client, and no finding but this one says so.
    if now < leaf.not_before {
        return None;
    }
    let at = now.min(leaf.not_after);
    verified_path(end_entity, &current, trust, at).ok()
}

/// What the findings are made of.
struct Facts {
    days: i64,
    hostname_match: bool,
    chain_trusted: bool,
    incomplete: bool,
    intermediate_expiring: bool,
    /// Untrusted would be "private_ca": the inventory's certificate is from a private CA and
    /// no --ca-file was given.
    private: bool,
    /// The served leaf is not the inventory's in-use certificate for the name.
    stale: bool,
}

impl Facts {
    fn findings(&self, expiring_days: i64) -> Vec<EndpointFinding> {
        let untrusted = if self.private {
            EndpointFinding::PrivateCa
        } else {
            EndpointFinding::Untrusted
        };
        let mut findings: Vec<EndpointFinding> = [
            (self.days < 0, EndpointFinding::Expired),
            (
                (0..=expiring_days).contains(&self.days),
                EndpointFinding::Expiring,
            ),
            (!self.hostname_match, EndpointFinding::HostnameMismatch),
            (!self.chain_trusted, untrusted),
            (self.incomplete, EndpointFinding::IncompleteChain),
            (
                self.intermediate_expiring,
                EndpointFinding::IntermediateExpiring,
            ),
            (self.stale, EndpointFinding::Mismatch),
        ]
        .into_iter()
        .filter_map(|(found, finding)| found.then_some(finding))
        .collect();
        findings.sort();
        findings
    }
}

/// The inventory's certificate the served leaf is, or the one it should have been.
fn compare(served_serial: &str, known: &[&Known]) -> Option<AcmCertificate> {
    let same = known.iter().find(|k| {
        k.serial
            .as_deref()
            .is_some_and(|s| normalized_serial(s) == served_serial)
    });
    let entry = |k: &Known, matched| AcmCertificate {
        arn: k.arn.clone(),
        serial: k.serial.as_deref().map(normalized_serial),
        matched,
    };
    if let Some(k) = same {
        return Some(entry(k, AcmMatch::Same));
    }
    // The one people expect served: in use first.
    let expected = known.iter().find(|k| k.in_use).or(known.first())?;
    let comparable = known.iter().any(|k| k.serial.is_some());
    Some(entry(
        expected,
        if comparable {
            AcmMatch::Different
        } else {
            AcmMatch::None
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(arn: &str, serial: Option<&str>, in_use: bool) -> Known {
        Known {
            arn: arn.into(),
            serial: serial.map(str::to_string),
            in_use,
            private: false,
        }
    }

    #[test]
    fn the_served_leaf_is_matched_by_normalised_serial_and_else_the_in_use_one_is_named() {
        let old = known("arn:old", Some("00:8f:01"), false);
        let current = known("arn:current", Some("0A:1B"), true);
        let same = compare("8f01", &[&current, &old]).unwrap();
        assert_eq!(
            (same.arn.as_str(), same.matched),
            ("arn:old", AcmMatch::Same)
        );
        let stale = compare("ffff", &[&old, &current]).unwrap();
        assert_eq!(
            (stale.arn.as_str(), stale.matched),
            ("arn:current", AcmMatch::Different)
        );
        assert_eq!(stale.serial.as_deref(), Some("0a1b"));
        let unread = known("arn:summary", None, true);
        assert_eq!(compare("ffff", &[&unread]).unwrap().matched, AcmMatch::None);
        assert_eq!(compare("ffff", &[]), None);
    }

    #[test]
    fn ip_sans_read_as_addresses_are_written() {
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "::1".to_string()])
                .unwrap();
        params.subject_alt_names.push(rcgen::SanType::IpAddress(
            "2001:db8::a:0:0:1".parse().unwrap(),
        ));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let parsed = parse(cert.der()).unwrap();
        assert_eq!(parsed.sans, ["127.0.0.1", "::1", "2001:db8::a:0:0:1"]);
        assert_eq!(ip_text(&[1, 2, 3]), "010203", "malformed: still shown");
    }
}
