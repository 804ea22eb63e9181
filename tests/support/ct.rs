//! Certificate Transparency search on loopback, for the CT cross-check: a stand-in for
//! SSLMate's Cert Spotter API (`GET /v1/issuances`, JSON pages of issuances) and one for
//! crt.sh's JSON output (`GET /?q=%.D&output=json`), both on one port, serving real DER
//! certificates and precertificates made here with rcgen. Cert Spotter coalesces a
//! certificate and its precertificate into one issuance; the stand-in does not (every entry
//! is served on its own), so the client's own de-duplication is what a test sees. A domain
//! can misbehave as the real services do: an HTML error page from a frontend, an empty 404,
//! slowness, 429 with Retry-After, crt.sh's silent cut at 10,000 rows. The server runs on a
//! thread of its own until dropped and binds 127.0.0.1 only.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use http_body_util::Full;
use hyper::{Request, Response};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DistinguishedName,
    DnType, DnValue, IsCa, KeyPair, SerialNumber,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The CT poison extension (RFC 6962 §3.1): critical, its value ASN.1 NULL. It makes a
/// precertificate unusable as a certificate.
const CT_POISON: [u64; 10] = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 3];

/// crt.sh answers at most this many rows and says nothing when it cuts.
pub const CRT_SH_ROW_LIMIT: usize = 10_000;

/// A certificate authority made here: self-signed, its subject `C=…, O=…, CN=…` in that order
/// (as Let's Encrypt's intermediates are), so the issuer name in every leaf's DER reads as
/// both APIs write it.
pub struct Issuer {
    pub common_name: String,
    pub organization: String,
    pub country: String,
    /// The subject as the APIs write it: "C=US, O=Let's Encrypt, CN=R11".
    pub dn: String,
    /// The CA certificate.
    pub der: Vec<u8>,
    /// SHA-256 of the CA's SubjectPublicKeyInfo, lowercase hex (Cert Spotter's
    /// `issuer.pubkey_sha256`).
    pub pubkey_sha256: String,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Issuer {
    /// A CA named `cn` of organization `org`, in the US.
    pub fn new(cn: &str, org: &str) -> Issuer {
        Issuer::in_country(cn, org, "US")
    }

    /// The same in `country` (two letters, written as a PrintableString as CAs write it).
    pub fn in_country(cn: &str, org: &str, country: &str) -> Issuer {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // The default name holds a CN already; pushing onto it would keep the CN first.
        params.distinguished_name = DistinguishedName::new();
        let printable = rcgen::string::PrintableString::try_from(country)
            .unwrap_or_else(|e| panic!("the country {country:?} is not printable: {e}"));
        params
            .distinguished_name
            .push(DnType::CountryName, DnValue::PrintableString(printable));
        params
            .distinguished_name
            .push(DnType::OrganizationName, org);
        params.distinguished_name.push(DnType::CommonName, cn);
        let year = Utc::now().year();
        params.not_before = rcgen::date_time_ymd(year - 5, 1, 1);
        params.not_after = rcgen::date_time_ymd(year + 10, 1, 1);
        let key = KeyPair::generate().expect("a key for the test CA");
        let ca = CertifiedIssuer::self_signed(params, key).expect("rcgen signs the test CA");
        let der = ca.der().to_vec();
        let pubkey_sha256 = parse(&der).pubkey_sha256;
        Issuer {
            common_name: cn.to_string(),
            organization: org.to_string(),
            country: country.to_string(),
            dn: format!("C={country}, O={org}, CN={cn}"),
            der,
            pubkey_sha256,
            ca,
        }
    }

    /// A leaf this CA signed, for `names` (DNS SANs, in order; the CN is the first), valid from
    /// `not_before` to `not_after` (whole seconds: a certificate holds no fractions), with
    /// `serial` (16 random bytes when None) and a key of its own.
    pub fn issue(
        &self,
        names: &[&str],
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        serial: Option<&[u8]>,
    ) -> Issued {
        assert!(!names.is_empty(), "a certificate names at least one host");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let serial = serial.map_or_else(random_serial, <[u8]>::to_vec);
        let key = KeyPair::generate().expect("a key for the test leaf");
        let params = leaf_params(&names, not_before, not_after, &serial);
        self.sign(&params, &key, names, serial, false)
    }

    /// Sign `params` for `key` and read back what the DER holds.
    fn sign(
        &self,
        params: &CertificateParams,
        key: &KeyPair,
        names: Vec<String>,
        serial: Vec<u8>,
        precert: bool,
    ) -> Issued {
        let der = params
            .signed_by(key, &*self.ca)
            .unwrap_or_else(|e| panic!("rcgen cannot sign {names:?}: {e}"))
            .der()
            .to_vec();
        let parsed = parse(&der);
        Issued {
            serial_hex: parsed.serial_hex,
            sha256_hex: parsed.sha256_hex,
            tbs_sha256: parsed.tbs_sha256,
            pubkey_sha256: parsed.pubkey_sha256,
            names,
            not_before: parsed.not_before,
            not_after: parsed.not_after,
            issuer_dn: self.dn.clone(),
            issuer_org: self.organization.clone(),
            issuer_pubkey_sha256: self.pubkey_sha256.clone(),
            precert,
            der,
            key_pkcs8: key.serialize_der(),
            serial,
        }
    }
}

/// A certificate (or precertificate) as a CT log holds it, with what the APIs say of it.
#[derive(Clone, Debug)]
pub struct Issued {
    pub der: Vec<u8>,
    /// The serial's DER content bytes in lowercase hex, no colons: a leading 00 only where DER
    /// needs one (as crt.sh writes `serial_number`).
    pub serial_hex: String,
    /// SHA-256 of `der`, lowercase hex.
    pub sha256_hex: String,
    /// SHA-256 of the TBSCertificate without CT's extensions, lowercase hex: the same for a
    /// precertificate and its certificate (Cert Spotter's `tbs_sha256`).
    pub tbs_sha256: String,
    /// SHA-256 of the leaf's SubjectPublicKeyInfo, lowercase hex.
    pub pubkey_sha256: String,
    /// The DNS SANs, in order; the CN is the first.
    pub names: Vec<String>,
    /// The validity as the DER holds it.
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The issuer as the APIs write it: "C=US, O=Let's Encrypt, CN=R11".
    pub issuer_dn: String,
    /// The issuer's organization (Cert Spotter's `issuer.friendly_name`).
    pub issuer_org: String,
    pub issuer_pubkey_sha256: String,
    /// A precertificate (it carries the poison extension).
    pub precert: bool,
    /// The leaf's key (PKCS#8) and serial as given to rcgen: a precertificate is the same
    /// TBS re-signed, so it needs both.
    key_pkcs8: Vec<u8>,
    serial: Vec<u8>,
}

impl Issued {
    /// The precertificate of this certificate: the same subject, key, names, validity and
    /// serial, with the CT poison extension, signed by the same `issuer`. Issuer and serial
    /// are what a client has to tell the two are one issuance.
    pub fn precertificate(&self, issuer: &Issuer) -> Issued {
        assert!(
            !self.precert,
            "a precertificate is made from its certificate"
        );
        assert_eq!(
            issuer.dn, self.issuer_dn,
            "a precertificate comes from its certificate's issuer"
        );
        let mut params = leaf_params(&self.names, self.not_before, self.not_after, &self.serial);
        let mut poison = CustomExtension::from_oid_content(&CT_POISON, vec![0x05, 0x00]);
        poison.set_criticality(true);
        params.custom_extensions.push(poison);
        let key = KeyPair::try_from(self.key_pkcs8.as_slice()).expect("the leaf's own key");
        let mut precert = issuer.sign(&params, &key, self.names.clone(), self.serial.clone(), true);
        // Without the poison the two TBSCertificates are the same bytes.
        precert.tbs_sha256 = self.tbs_sha256.clone();
        precert
    }
}

/// A leaf's parameters: `names` as DNS SANs, CN the first, the validity, the serial, an
/// authority key identifier (as every public CA writes one).
fn leaf_params(
    names: &[String],
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    serial: &[u8],
) -> CertificateParams {
    let mut params = CertificateParams::new(names.to_vec())
        .unwrap_or_else(|e| panic!("rcgen refuses the names {names:?}: {e}"));
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    // rcgen takes `time`'s OffsetDateTime, which this crate does not depend on: reach it as
    // an offset from rcgen's own 1970-01-01.
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let since_epoch = |at: DateTime<Utc>| {
        let seconds = u64::try_from(at.timestamp()).expect("certificate times after 1970");
        Duration::from_secs(seconds)
    };
    params.not_before = epoch + since_epoch(not_before);
    params.not_after = epoch + since_epoch(not_after);
    params.serial_number = Some(SerialNumber::from_slice(serial));
    params.use_authority_key_identifier_extension = true;
    params
}

/// What the stand-in reads back from a certificate's DER.
struct Parsed {
    serial_hex: String,
    sha256_hex: String,
    tbs_sha256: String,
    pubkey_sha256: String,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
}

fn parse(der: &[u8]) -> Parsed {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("rcgen's certificate parses");
    let time = |seconds: i64| {
        DateTime::<Utc>::from_timestamp(seconds, 0).expect("a certificate time chrono can hold")
    };
    let tbs: &[u8] = cert.tbs_certificate.as_ref();
    Parsed {
        serial_hex: hex(cert.raw_serial()),
        sha256_hex: sha256_hex(der),
        tbs_sha256: sha256_hex(tbs),
        pubkey_sha256: sha256_hex(cert.public_key().raw),
        not_before: time(cert.validity().not_before.timestamp()),
        not_after: time(cert.validity().not_after.timestamp()),
    }
}

/// 16 random bytes, the first in 01..=7f so DER writes all 16 (positive, no leading 00). The
/// randomness is std's per-process hash keys, a counter and the clock, through SHA-256: a
/// test needs serials that differ, not secret ones.
fn random_serial() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static DRAWN: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(DRAWN.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut seed = hasher.finish().to_le_bytes().to_vec();
    seed.extend_from_slice(&nanos.to_le_bytes());
    let mut serial: Vec<u8> = Sha256::digest(&seed).iter().take(16).copied().collect();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    serial
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Standard base64 with padding (RFC 4648 §4), as Cert Spotter writes `cert_der`; written
/// here because base64 is no dependency of this crate.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let triple = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    ALPHABET[((triple >> (18 - 6 * i)) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What the stand-in serves: a log per domain (the key is the domain a client asks for,
/// lowercase) and Cert Spotter's page size.
#[derive(Clone, Debug)]
pub struct CtLog {
    pub domains: BTreeMap<String, DomainLog>,
    /// Issuances per Cert Spotter page; small by default so a test sees paging.
    pub page_size: usize,
}

impl Default for CtLog {
    fn default() -> CtLog {
        CtLog {
            domains: BTreeMap::new(),
            page_size: 2,
        }
    }
}

/// One domain's entries (in log order; Cert Spotter's ids follow it) and how both APIs
/// answer for it.
#[derive(Clone, Debug, Default)]
pub struct DomainLog {
    pub issued: Vec<Entry>,
    pub behaviour: Behaviour,
}

/// One log entry: a certificate or a precertificate (`cert.precert`), each served on its own.
#[derive(Clone, Debug)]
pub struct Entry {
    pub cert: Issued,
    pub revoked: bool,
}

impl From<Issued> for Entry {
    /// An entry not revoked.
    fn from(cert: Issued) -> Entry {
        Entry {
            cert,
            revoked: false,
        }
    }
}

/// How both APIs answer for a domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    #[default]
    Normal,
    /// 502 with a small HTML page, as crt.sh's frontends answer when its database is slow.
    Html502,
    /// 503 with a small HTML page.
    Html503,
    /// 404 with an empty body.
    Empty404,
    /// Wait this long, then answer normally (a client's timeout is what a test sees).
    Slow(Duration),
    /// 429 with `Retry-After: retry_after_secs` to the first `times` requests for the domain
    /// (both APIs counted together), then normally.
    RateLimited { retry_after_secs: u64, times: usize },
    /// crt.sh answers exactly `CRT_SH_ROW_LIMIT` rows (the domain's entries, then filler under
    /// the domain), as it does when it cuts a result; Cert Spotter answers normally.
    Truncated,
}

/// One request the stand-in received, in order of arrival.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path_and_query: String,
    pub authorization: Option<String>,
    pub at: Instant,
}

/// Both APIs on one loopback port, until dropped.
pub struct CtStandIn {
    /// `http://127.0.0.1:PORT`, the base URL of both APIs.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    log: CtLog,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// 429s answered so far, by domain (`Behaviour::RateLimited`).
    refused: Mutex<BTreeMap<String, usize>>,
}

impl CtStandIn {
    /// Serve `log` on a free port of 127.0.0.1, on a runtime of its own thread. The port is
    /// bound before this returns, so the URL answers at once.
    pub fn start(log: CtLog) -> CtStandIn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback(), "tests serve on loopback only");
        listener.set_nonblocking(true).unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let shared = Arc::new(Shared {
            log,
            seen: seen.clone(),
            refused: Mutex::default(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the CT stand-in");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let serving = tokio::task::LocalSet::new();
                serving
                    .run_until(async move {
                        tokio::select! {
                            _ = accept(listener, shared) => {}
                            _ = stopped => {}
                        }
                    })
                    .await;
            });
        });
        CtStandIn {
            url: format!("http://{addr}"),
            seen,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for CtStandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accept connections until stopped, each served over HTTP/1.1 on a task of its own.
async fn accept(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::task::spawn_local(async move {
            let service = hyper::service::service_fn(move |req| answer(shared.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let uri = req.uri().clone();
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
    let authorization = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    shared.seen.lock().unwrap().push(Seen {
        path_and_query,
        authorization,
        at: Instant::now(),
    });
    if *req.method() != hyper::Method::GET {
        return Ok(reply(405, "text/plain", "GET only"));
    }
    // form_urlencoded decodes `%25` and keeps repeated keys (`expand`).
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let response = match uri.path() {
        "/v1/issuances" => cert_spotter(&shared, &query).await,
        "/" => crt_sh(&shared, &query).await,
        _ => reply(404, "text/plain", "no such path"),
    };
    Ok(response)
}

/// `GET /v1/issuances?domain=D[&after=ID]&expand=…`: the domain's unexpired entries with
/// id > after, at most `page_size`, in id order; `[]` once there are no more. Fields behind
/// `expand` (dns_names, issuer, revocation, cert_der) are only present when asked for, as
/// Cert Spotter does.
async fn cert_spotter(shared: &Shared, query: &[(String, String)]) -> Response<Full<Bytes>> {
    let Some(domain) = first(query, "domain").map(str::to_ascii_lowercase) else {
        return json_reply(
            400,
            &json!({"code": "invalid_parameters", "message": "domain is required"}),
        );
    };
    let after = match first(query, "after").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(after)) => after,
        Some(Err(_)) => {
            return json_reply(
                400,
                &json!({"code": "invalid_parameters", "message": "after is not an issuance id"}),
            )
        }
    };
    let Some(log) = shared.log.domains.get(&domain) else {
        return json_reply(200, &json!([]));
    };
    if let Some(refusal) = misbehave(shared, &domain, &log.behaviour, Api::CertSpotter).await {
        return refusal;
    }
    let expand: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v.as_str())
        .collect();
    let now = Utc::now();
    let page: Vec<Value> = log
        .issued
        .iter()
        .enumerate()
        .map(|(index, entry)| (index + 1, entry))
        .filter(|(id, entry)| *id > after && entry.cert.not_after > now)
        .take(shared.log.page_size.max(1))
        .map(|(id, entry)| issuance(id, entry, &expand, now))
        .collect();
    json_reply(200, &Value::Array(page))
}

/// One Cert Spotter issuance object for one entry (never coalesced with its twin).
fn issuance(id: usize, entry: &Entry, expand: &[&str], now: DateTime<Utc>) -> Value {
    let cert = &entry.cert;
    let mut object = json!({
        "id": id.to_string(),
        "tbs_sha256": cert.tbs_sha256,
        "cert_sha256": cert.sha256_hex,
        "pubkey_sha256": cert.pubkey_sha256,
        "not_before": rfc3339(cert.not_before),
        "not_after": rfc3339(cert.not_after),
        "revoked": entry.revoked,
    });
    if expand.contains(&"dns_names") {
        object["dns_names"] = json!(cert.names);
    }
    if expand.contains(&"issuer") {
        object["issuer"] = json!({
            "friendly_name": cert.issuer_org,
            "name": cert.issuer_dn,
            "pubkey_sha256": cert.issuer_pubkey_sha256,
        });
    }
    if expand.contains(&"revocation") {
        // A revoked entry was revoked a day after issuance (or now, if that is later).
        let revoked_at = (cert.not_before + chrono::Duration::days(1)).min(now);
        object["revocation"] = json!({
            "time": entry.revoked.then(|| rfc3339(revoked_at)),
            "reason": Value::Null,
            "checked_at": rfc3339(now),
        });
    }
    if expand.contains(&"cert_der") {
        object["cert_der"] = json!(base64(&cert.der));
    }
    object
}

/// `GET /?q=%.D&output=json[&exclude=expired]…`: a row per entry (precertificates too, not
/// de-duplicated), then crt.sh's substring matches that are not under D; Truncated answers
/// exactly `CRT_SH_ROW_LIMIT` rows.
async fn crt_sh(shared: &Shared, query: &[(String, String)]) -> Response<Full<Bytes>> {
    let Some(q) = first(query, "q").map(str::to_ascii_lowercase) else {
        return html(400, "400 Bad Request");
    };
    if first(query, "output") != Some("json") {
        return reply(400, "text/plain", "the stand-in serves output=json only");
    }
    let domain = q.strip_prefix("%.").unwrap_or(&q).to_string();
    let Some(log) = shared.log.domains.get(&domain) else {
        return json_reply(200, &json!([]));
    };
    if let Some(refusal) = misbehave(shared, &domain, &log.behaviour, Api::CrtSh).await {
        return refusal;
    }
    let now = Utc::now();
    let unexpired_only = first(query, "exclude") == Some("expired");
    let mut rows: Vec<Value> = log
        .issued
        .iter()
        .enumerate()
        .filter(|(_, entry)| !unexpired_only || entry.cert.not_after > now)
        .map(|(index, entry)| crt_row(index + 1000, &entry.cert))
        .collect();
    if log.behaviour == Behaviour::Truncated {
        rows.truncate(CRT_SH_ROW_LIMIT);
        rows.extend(filler(&domain, now, CRT_SH_ROW_LIMIT - rows.len()));
    } else {
        rows.extend(look_alikes(&domain, now));
    }
    json_reply(200, &Value::Array(rows))
}

/// A crt.sh row for one entry.
fn crt_row(id: usize, cert: &Issued) -> Value {
    // crt.sh saw it in a log an hour after issuance.
    let logged = crt_time(cert.not_before + chrono::Duration::hours(1));
    json!({
        "issuer_ca_id": 1,
        "issuer_name": cert.issuer_dn,
        "common_name": cert.names[0],
        "name_value": cert.names.join("\n"),
        "id": id,
        "entry_timestamp": format!("{logged}.123"),
        "not_before": crt_time(cert.not_before),
        "not_after": crt_time(cert.not_after),
        "serial_number": cert.serial_hex,
        "result_count": 1,
    })
}

/// A row of a certificate no test made: crt.sh's dates, names and serials, no DER behind it.
fn synthetic_row(id: usize, name: &str, serial_hex: &str, now: DateTime<Utc>) -> Value {
    json!({
        "issuer_ca_id": 2,
        "issuer_name": "C=US, O=Look-alike Trust, CN=LT1",
        "common_name": name,
        "name_value": name,
        "id": id,
        "entry_timestamp": format!("{}.123", crt_time(now - chrono::Duration::days(10))),
        "not_before": crt_time(now - chrono::Duration::days(10)),
        "not_after": crt_time(now + chrono::Duration::days(80)),
        "serial_number": serial_hex,
        "result_count": 1,
    })
}

/// What crt.sh's `%.D` also matches that is not D nor under it: "D.evil.test" and "xD".
fn look_alikes(domain: &str, now: DateTime<Utc>) -> Vec<Value> {
    [format!("{domain}.evil.test"), format!("x{domain}")]
        .iter()
        .enumerate()
        .map(|(i, name)| synthetic_row(900_000 + i, name, &format!("7e57{i:028x}"), now))
        .collect()
}

/// `count` rows under `domain`, one name, distinct ids and serials.
fn filler(domain: &str, now: DateTime<Utc>, count: usize) -> Vec<Value> {
    let name = format!("bulk.{domain}");
    (0..count)
        .map(|i| synthetic_row(2_000_000 + i, &name, &format!("5e{i:030x}"), now))
        .collect()
}

/// Which API a misbehaving answer is for: their 429 bodies differ.
#[derive(Clone, Copy)]
enum Api {
    CertSpotter,
    CrtSh,
}

/// The answer `behaviour` gives instead of the normal one, if any (Slow waits, then None).
async fn misbehave(
    shared: &Shared,
    domain: &str,
    behaviour: &Behaviour,
    api: Api,
) -> Option<Response<Full<Bytes>>> {
    match behaviour {
        Behaviour::Normal | Behaviour::Truncated => None,
        Behaviour::Html502 => Some(html(502, "502 Bad Gateway")),
        Behaviour::Html503 => Some(html(503, "503 Service Unavailable")),
        Behaviour::Empty404 => Some(
            Response::builder()
                .status(404)
                .body(Full::new(Bytes::new()))
                .unwrap(),
        ),
        Behaviour::Slow(delay) => {
            tokio::time::sleep(*delay).await;
            None
        }
        Behaviour::RateLimited {
            retry_after_secs,
            times,
        } => {
            let refuse = {
                let mut refused = shared.refused.lock().unwrap();
                let count = refused.entry(domain.to_string()).or_insert(0);
                let refuse = *count < *times;
                if refuse {
                    *count += 1;
                }
                refuse
            };
            refuse.then(|| too_many(*retry_after_secs, api))
        }
    }
}

/// 429 with Retry-After: JSON from Cert Spotter, an HTML page from crt.sh.
fn too_many(retry_after_secs: u64, api: Api) -> Response<Full<Bytes>> {
    let (content_type, body) = match api {
        Api::CertSpotter => (
            "application/json",
            json!({"code": "rate_limited", "message": "You have exceeded the rate limit."})
                .to_string(),
        ),
        Api::CrtSh => (
            "text/html",
            "<html><body><h1>429 Too Many Requests</h1></body></html>".to_string(),
        ),
    };
    Response::builder()
        .status(429)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .header(hyper::header::RETRY_AFTER, retry_after_secs.to_string())
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn first<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .unwrap()
}

fn json_reply(status: u16, value: &Value) -> Response<Full<Bytes>> {
    reply(status, "application/json", value.to_string())
}

/// A frontend's error page: `<html><body><h1>502 Bad Gateway</h1></body></html>`.
fn html(status: u16, title: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        "text/html",
        format!("<html><body><h1>{title}</h1></body></html>"),
    )
}

/// Cert Spotter's times: "2026-01-01T00:00:00Z".
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// crt.sh's times: "2026-01-01T00:00:00", UTC without a zone.
fn crt_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}
