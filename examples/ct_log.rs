//! Certificate Transparency search on loopback for `make demo` and manual runs: the Cert
//! Spotter and crt.sh stand-ins of `tests/support/ct.rs`, serving certificates made with rcgen
//! as a JSON file describes them, dated from now. Prints `READY http://127.0.0.1:PORT` and
//! serves until stdin closes.
//!
//!     cargo run --example ct_log -- ct.json
//!
//! The file (every field but `issuer` and `names` optional):
//!
//!     {"page_size": 2,
//!      "issuers": {"le": {"cn": "R11", "org": "Let's Encrypt"}},
//!      "domains": {"corp.example": {
//!          "behaviour": "normal" | "html502" | "html503" | "empty404" | "truncated"
//!                     | {"slow_ms": 3000} | {"rate_limited": {"retry_after": 2, "times": 1}},
//!          "issued": [{"issuer": "le", "names": ["a.corp.example"], "days_left": 12.5,
//!                      "valid_days": 90, "serial_hex": "0a1b", "revoked": false,
//!                      "precert_too": true}]}}}
//!
//! `precert_too` puts the certificate's precertificate in the log just before it.

#[allow(dead_code)]
#[path = "../tests/support/ct.rs"]
mod ct;

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: ct_log LOG.json");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the log file {path}: {e}"));
    let spec: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
    let server = ct::CtStandIn::start(log_from(&spec, Utc::now()));
    println!("READY {}", server.url);
    // Serve until whoever started us closes our stdin (or exits).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(server);
}

/// The log `spec` describes, its dates counted from `now`.
fn log_from(spec: &Value, now: DateTime<Utc>) -> ct::CtLog {
    let issuers: BTreeMap<&str, ct::Issuer> = spec["issuers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, i)| {
            (
                key.as_str(),
                ct::Issuer::new(text(&i["cn"]), text(&i["org"])),
            )
        })
        .collect();
    let days = |d: f64| chrono::Duration::seconds((d * 86_400.0).round() as i64);
    let mut log = ct::CtLog::default();
    if let Some(size) = spec["page_size"].as_u64() {
        log.page_size = size as usize;
    }
    for (domain, d) in spec["domains"].as_object().into_iter().flatten() {
        let mut issued = Vec::new();
        for item in d["issued"].as_array().into_iter().flatten() {
            let key = text(&item["issuer"]);
            let issuer = issuers
                .get(key)
                .unwrap_or_else(|| panic!("{domain}: no issuer {key:?}"));
            let names: Vec<&str> = item["names"]
                .as_array()
                .unwrap_or_else(|| panic!("{domain}: an entry without names"))
                .iter()
                .map(text)
                .collect();
            let not_after = now + days(item["days_left"].as_f64().unwrap_or(30.0));
            let not_before = not_after - days(item["valid_days"].as_f64().unwrap_or(90.0));
            let serial = item["serial_hex"].as_str().map(unhex);
            let cert = issuer.issue(&names, not_before, not_after, serial.as_deref());
            let revoked = item["revoked"].as_bool().unwrap_or(false);
            if item["precert_too"].as_bool().unwrap_or(false) {
                let precert = cert.precertificate(issuer);
                issued.push(ct::Entry {
                    cert: precert,
                    revoked,
                });
            }
            issued.push(ct::Entry { cert, revoked });
        }
        let behaviour = behaviour(&d["behaviour"]);
        log.domains.insert(
            domain.to_ascii_lowercase(),
            ct::DomainLog { issued, behaviour },
        );
    }
    log
}

fn behaviour(spec: &Value) -> ct::Behaviour {
    match spec {
        Value::Null => ct::Behaviour::Normal,
        Value::String(name) => match name.as_str() {
            "normal" => ct::Behaviour::Normal,
            "html502" => ct::Behaviour::Html502,
            "html503" => ct::Behaviour::Html503,
            "empty404" => ct::Behaviour::Empty404,
            "truncated" => ct::Behaviour::Truncated,
            other => panic!("unknown behaviour {other:?}"),
        },
        _ if spec["slow_ms"].is_u64() => {
            ct::Behaviour::Slow(Duration::from_millis(spec["slow_ms"].as_u64().unwrap()))
        }
        _ if spec["rate_limited"].is_object() => ct::Behaviour::RateLimited {
            retry_after_secs: spec["rate_limited"]["retry_after"].as_u64().unwrap_or(1),
            times: spec["rate_limited"]["times"].as_u64().unwrap_or(1) as usize,
        },
        other => panic!("unknown behaviour {other}"),
    }
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, found {value}"))
}

/// `0a1b` or `0a:1b` as bytes.
fn unhex(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| *c != ':').collect();
    assert!(
        digits.len().is_multiple_of(2) && digits.bytes().all(|b| b.is_ascii_hexdigit()),
        "serial_hex {text:?} is not hex bytes"
    );
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}
