//! The two CT search APIs, each read into the same `Issuance`s. Cert Spotter (SSLMate) by
//! default: `/v1/issuances`, paged by `after`, each issuance with its DER, from which the
//! serial, the hash, the names and whether it is a precertificate are read. crt.sh with
//! `--ct-source crtsh`: one JSON answer of rows (no DER: its serial, names and dates as
//! written), substring-matched, so names not equal to or under the domain are dropped, and a
//! result at its 10,000-row cap is truncated.

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::domains::under;
use super::http::{Failure, Http};

/// Cert Spotter's API.
pub const CERTSPOTTER: &str = "https://api.certspotter.com";
/// crt.sh.
pub const CRTSH: &str = "https://crt.sh";
/// crt.sh answers at most this many rows: a result this large is cut.
pub const CRTSH_ROW_CAP: usize = 10_000;
/// Pages of one domain before the listing is taken as broken (a source that never ends).
const MAX_PAGES: usize = 10_000;
/// The CT poison extension: a precertificate.
const POISON: &str = "1.3.6.1.4.1.11129.2.4.3";

pub use crate::report::ct::Issuance;

/// What one domain gave: its issuances, the last Cert Spotter ID read, and whether the answer
/// is whole (`Err`: what stopped it, with what was read before).
pub struct Fetched {
    pub issuances: Vec<Issuance>,
    pub cursor: Option<String>,
    pub failure: Option<Failure>,
    /// crt.sh's row cap reached: the answer is a part.
    pub truncated: bool,
}

/// Which API, where.
pub enum Source {
    CertSpotter { base: String },
    Crtsh { base: String, pace: Pace },
}

pub use super::http::Pace;

impl Source {
    pub fn name(&self) -> &'static str {
        match self {
            Source::CertSpotter { .. } => "certspotter",
            Source::Crtsh { .. } => "crtsh",
        }
    }

    /// Every unexpired issuance for `domain` and its subdomains; Cert Spotter from after
    /// `after` when given (a previous run's cursor).
    pub async fn fetch(&self, http: &Http, domain: &str, after: Option<&str>) -> Fetched {
        match self {
            Source::CertSpotter { base } => certspotter(http, base, domain, after).await,
            Source::Crtsh { base, pace } => crtsh(http, base, pace, domain).await,
        }
    }
}

async fn certspotter(http: &Http, base: &str, domain: &str, after: Option<&str>) -> Fetched {
    let mut fetched = Fetched::from(after);
    for _ in 0..MAX_PAGES {
        let mut url = format!(
            "{}/v1/issuances?domain={}&include_subdomains=true&match_wildcards=true&\
             expand=dns_names&expand=issuer&expand=cert_der&expand=revocation",
            base.trim_end_matches('/'),
            encode(domain)
        );
        if let Some(after) = &fetched.cursor {
            url.push_str(&format!("&after={}", encode(after)));
        }
        let page = match get_list(http, &url, None).await {
            Ok(items) => items,
            Err(failure) => return fetched.failed(failure),
        };
        let Some(last) = page.last() else {
            return fetched;
        };
        let Some(last_id) = last["id"].as_str().map(str::to_string) else {
            return fetched.failed(Failure::new(
                "malformed",
                format!("an issuance without a string id: {}", excerpt(last)),
            ));
        };
        let last_id = Some(last_id);
        if last_id == fetched.cursor {
            return fetched.failed(Failure::new(
                "repeated-page",
                "Cert Spotter answered the same page again: the listing stopped there",
            ));
        }
        for item in &page {
            match issuance_of(item) {
                Ok(issuance) => fetched.issuances.push(issuance),
                Err(failure) => {
                    return fetched.failed(failure);
                }
            }
        }
        fetched.cursor = last_id;
    }
    fetched.failure = Some(Failure::new(
        "too-many-pages",
        format!("more than {MAX_PAGES} pages: the listing stopped there"),
    ));
    fetched
}

/// One Cert Spotter issuance, read from its DER (`expand=cert_der`).
fn issuance_of(item: &Value) -> Result<Issuance, Failure> {
    let malformed = |what: &str| {
        Failure::new(
            "malformed",
            format!("an issuance without {what}: {}", excerpt(item)),
        )
    };
    let der = item["cert_der"]
        .as_str()
        .and_then(|b64| aws_smithy_types::base64::decode(b64).ok())
        .ok_or_else(|| malformed("a readable cert_der"))?;
    let mut issuance = from_der(&der).ok_or_else(|| malformed("a parsable certificate"))?;
    if issuance.names.is_empty() {
        issuance.names = item["dns_names"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
    }
    issuance.revoked = item["revoked"].as_bool();
    Ok(issuance)
}

/// What a certificate says of itself: names (SANs, else the CN), issuer, dates, serial, hash,
/// and whether it carries the CT poison (a precertificate).
pub fn from_der(der: &[u8]) -> Option<Issuance> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut names: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        names.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(str::to_string)),
        );
    }
    let time = |t: x509_parser::time::ASN1Time| DateTime::from_timestamp(t.timestamp(), 0);
    let sha256 = hex(&Sha256::digest(der));
    Some(Issuance {
        names,
        issuer: cert.issuer().to_string(),
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
        serial: normalise_serial(&hex(cert.raw_serial())),
        precert: cert
            .extensions()
            .iter()
            .any(|e| e.oid.to_id_string() == POISON),
        link: format!("https://crt.sh/?sha256={sha256}"),
        sha256: Some(sha256),
        revoked: None,
    })
}

async fn crtsh(http: &Http, base: &str, pace: &Pace, domain: &str) -> Fetched {
    let url = format!(
        "{}/?q={}&output=json&exclude=expired&deduplicate=Y",
        base.trim_end_matches('/'),
        encode(&format!("%.{domain}"))
    );
    let mut fetched = Fetched::from(None);
    let rows = match get_list(http, &url, Some(pace)).await {
        Ok(rows) => rows,
        Err(failure) => return fetched.failed(failure),
    };
    if rows.len() >= CRTSH_ROW_CAP {
        fetched.truncated = true;
        fetched.failure = Some(Failure::new(
            "truncated",
            format!(
                "crt.sh answered {} rows, its cap: the answer is cut, some issuances are \
                 missing (ask Cert Spotter, or narrower --ct-domains)",
                rows.len()
            ),
        ));
    }
    for row in &rows {
        // crt.sh matches substrings: `%.corp.example` finds `corp.example.evil.test` too.
        let names: Vec<String> = row["name_value"]
            .as_str()
            .unwrap_or_default()
            .split('\n')
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| under(n, domain))
            .collect();
        if names.is_empty() {
            continue;
        }
        let date = |key: &str| {
            row[key]
                .as_str()
                .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").ok())
                .map(|t| t.and_utc())
        };
        let hex_serial = row["serial_number"].as_str().filter(|s| {
            !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_hexdigit())
        });
        let (Some(not_before), Some(not_after), Some(serial)) =
            (date("not_before"), date("not_after"), hex_serial)
        else {
            fetched.failure = Some(Failure::new(
                "malformed",
                format!("a crt.sh row without dates or serial: {}", excerpt(row)),
            ));
            continue;
        };
        fetched.issuances.push(Issuance {
            names,
            issuer: row["issuer_name"].as_str().unwrap_or_default().to_string(),
            not_before,
            not_after,
            serial: normalise_serial(serial),
            sha256: None,
            revoked: None,
            precert: false,
            link: match row["id"].as_u64() {
                Some(id) => format!("https://crt.sh/?id={id}"),
                None => format!("https://crt.sh/?serial={serial}"),
            },
        });
    }
    fetched
}

/// A JSON list, as both sources answer; anything else is `not-json`.
async fn get_list(http: &Http, url: &str, pace: Option<&Pace>) -> Result<Vec<Value>, Failure> {
    match http.get_json(url, pace).await? {
        Value::Array(items) => Ok(items),
        other => Err(Failure::new(
            "not-json",
            format!("expected a JSON list, got {}", excerpt(&other)),
        )),
    }
}

impl Fetched {
    /// Nothing read yet, from `after` (Cert Spotter's cursor).
    pub fn from(after: Option<&str>) -> Fetched {
        Fetched {
            issuances: Vec::new(),
            cursor: after.map(str::to_string),
            failure: None,
            truncated: false,
        }
    }

    /// What was read, stopped by `failure`.
    pub fn failed(mut self, failure: Failure) -> Fetched {
        self.failure = Some(failure);
        self
    }
}

fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    let cut: String = text.chars().take(160).collect();
    crate::report::printable(&cut).into_owned()
}

/// A serial as certaudit compares them: lowercase hex, no separators, no leading zeros (ACM
/// writes `0a:1b:…`, DER keeps a leading zero byte for a high bit, crt.sh writes plain hex).
pub fn normalise_serial(serial: &str) -> String {
    let digits: String = serial
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let trimmed = digits.trim_start_matches('0');
    match trimmed.is_empty() {
        true => "0".into(),
        false => trimmed.into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A query-string value.
fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_compare_whatever_their_spelling() {
        assert_eq!(normalise_serial("0A:1b:FF"), "a1bff");
        assert_eq!(normalise_serial("00a1bff"), "a1bff");
        assert_eq!(normalise_serial("00"), "0");
    }
}
