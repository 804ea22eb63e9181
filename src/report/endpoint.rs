//! What a TLS handshake found at one endpoint: the certificate actually served, whether its
//! chain is trusted and names the host, how it compares with the ACM inventory, and the
//! findings people act on. The words here are shared by every rendering, as `attention`'s are.

use chrono::{DateTime, Utc};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// The endpoint's state, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointStatus {
    Critical,
    Unreachable,
    Warning,
    Ok,
    Skipped,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Critical => "critical",
            EndpointStatus::Unreachable => "unreachable",
            EndpointStatus::Warning => "warning",
            EndpointStatus::Ok => "ok",
            EndpointStatus::Skipped => "skipped",
        }
    }
}

/// A problem with what an endpoint serves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum EndpointFinding {
    Expired,
    Expiring,
    /// The name belongs to an in-use ACM certificate, but the served leaf is none of the
    /// inventory's certificates for that name.
    Mismatch,
    #[value(alias = "hostname-mismatch")]
    HostnameMismatch,
    Untrusted,
    /// Untrusted, and the inventory's certificate for the name is from a private CA: pass
    /// its root with --ca-file.
    #[value(alias = "private-ca")]
    PrivateCa,
    /// Only the leaf was sent, and it is not self-signed: clients without the intermediate
    /// cached fail.
    #[value(alias = "incomplete-chain")]
    IncompleteChain,
    /// A certificate on the verified path other than the leaf expires within the threshold.
    #[value(alias = "intermediate-expiring")]
    IntermediateExpiring,
}

impl EndpointFinding {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointFinding::Expired => "expired",
            EndpointFinding::Expiring => "expiring",
            EndpointFinding::Mismatch => "mismatch",
            EndpointFinding::HostnameMismatch => "hostname_mismatch",
            EndpointFinding::Untrusted => "untrusted",
            EndpointFinding::PrivateCa => "private_ca",
            EndpointFinding::IncompleteChain => "incomplete_chain",
            EndpointFinding::IntermediateExpiring => "intermediate_expiring",
        }
    }

    /// Critical findings take a site down for every client; the rest for some, or soon.
    pub fn is_critical(self) -> bool {
        matches!(
            self,
            EndpointFinding::Expired
                | EndpointFinding::Mismatch
                | EndpointFinding::HostnameMismatch
                | EndpointFinding::Untrusted
        )
    }
}

/// The leaf certificate the endpoint served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Served {
    /// Lowercase hex, no separators, no leading zero bytes.
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub days_to_expiry: i64,
    /// SHA-256 of the certificate's DER, lowercase hex.
    pub sha256: String,
}

/// How the served leaf compares with the inventory's certificates for the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcmMatch {
    /// The served leaf is this ACM certificate.
    Same,
    /// The inventory has certificates for the name; the served leaf is none of them.
    Different,
    /// The inventory's certificates for the name have no serial to compare (`--detail
    /// summary`).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmCertificate {
    pub arn: String,
    pub serial: Option<String>,
    #[serde(rename = "match")]
    pub matched: AcmMatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointError {
    pub code: String,
    pub message: String,
}

/// One endpoint, probed or not. Absent values are null, never omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub sni: String,
    pub address: Option<String>,
    pub status: EndpointStatus,
    /// Why it was skipped (`private-address`, `wildcard`), or the critical finding's words.
    pub reason: Option<String>,
    pub tls_version: Option<String>,
    pub served: Option<Served>,
    pub chain_trusted: bool,
    /// The earliest not_after on the verified path; null when no path was verified.
    pub chain_not_after: Option<DateTime<Utc>>,
    pub hostname_match: bool,
    pub acm: Option<AcmCertificate>,
    pub findings: Vec<EndpointFinding>,
    pub error: Option<EndpointError>,
}

impl Endpoint {
    /// An endpoint not probed, or not reached: nothing served is known.
    pub fn unprobed(host: &str, port: u16, sni: &str, status: EndpointStatus) -> Endpoint {
        Endpoint {
            host: host.to_string(),
            port,
            sni: sni.to_string(),
            address: None,
            status,
            reason: None,
            tls_version: None,
            served: None,
            chain_trusted: false,
            chain_not_after: None,
            hostname_match: false,
            acm: None,
            findings: Vec::new(),
            error: None,
        }
    }

    /// `host:port` as people type it: an IPv6 address in brackets (`[::1]:443`).
    pub fn place(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The status its findings call for (a probed endpoint).
    pub fn status_of(findings: &[EndpointFinding]) -> EndpointStatus {
        if findings.iter().any(|f| f.is_critical()) {
            EndpointStatus::Critical
        } else if findings.is_empty() {
            EndpointStatus::Ok
        } else {
            EndpointStatus::Warning
        }
    }
}

/// A certificate serial as the endpoint report compares them: lowercase hex, no separators
/// (`:`, spaces), no leading zero bytes. ACM writes `0a:1b:…`; a certificate's DER may carry a
/// leading `00` to keep the number positive.
pub fn normalized_serial(serial: &str) -> String {
    let hex: String = serial
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let hex = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex
    };
    let mut rest = hex.as_str();
    while rest.len() > 2 && rest.starts_with("00") {
        rest = &rest[2..];
    }
    rest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_compare_without_separators_case_or_leading_zero_bytes() {
        assert_eq!(normalized_serial("0A:1B:ff"), "0a1bff");
        assert_eq!(normalized_serial("00:8f:01"), "8f01");
        assert_eq!(normalized_serial("008F01"), "8f01");
        assert_eq!(normalized_serial("f01"), "0f01");
        assert_eq!(normalized_serial("00"), "00");
    }

    #[test]
    fn critical_findings_make_a_critical_endpoint() {
        use EndpointFinding::*;
        assert_eq!(Endpoint::status_of(&[]), EndpointStatus::Ok);
        assert_eq!(
            Endpoint::status_of(&[Expiring, IncompleteChain]),
            EndpointStatus::Warning
        );
        assert_eq!(
            Endpoint::status_of(&[Expiring, Mismatch]),
            EndpointStatus::Critical
        );
        assert_eq!(Endpoint::status_of(&[PrivateCa]), EndpointStatus::Warning);
    }

    #[test]
    fn an_ipv6_endpoint_is_written_with_its_address_in_brackets() {
        let v6 = Endpoint::unprobed("::1", 5527, "::1", EndpointStatus::Ok);
        assert_eq!(v6.place(), "[::1]:5527");
        let named = Endpoint::unprobed("a.test", 443, "a.test", EndpointStatus::Ok);
        assert_eq!(named.place(), "a.test:443");
    }
}
