//! The fast fabric: a purpose-built AWS stand-in for the scale benchmark, where moto
//! (Python, one request at a time per thread) cannot serve thousands of calls a second. It
//! speaks the same wire protocols the SDK uses — STS and EC2 query/XML, Organizations and ACM
//! JSON 1.1 — for exactly the calls certaudit makes, seeded from the same scenario format as
//! the moto fabric (accounts, states, roles, certificates and their `count`), with:
//! - ACM's real per-account-region quotas (DescribeCertificate 10/s, ListCertificates 8/s,
//!   ListTagsForCertificate 10/s) answered with real `ThrottlingException` bodies;
//! - a fixed latency on every call;
//! - AssumeRole trust (role name and ExternalId), ListAccounts ≤ 20 per page, ListCertificates
//!   pages and key-type filters, the 17 regions AWS enables by default;
//! - IAM ListServerCertificates (query/XML, `Marker` pages of `iam_page_size`) and ACM Private
//!   CA ListCertificateAuthorities (JSON, `NextToken` pages of `pca_page_size`), from the
//!   scenario's `server_certificates` and `certificate_authorities`; a PRIVATE certificate's
//!   `issuing_ca` (a CA label) or `issuing_ca_arn` in its DescribeCertificate;
//! - counters: calls per (account, region, operation) and throttled answers.
//!
//! `tests/fast_fabric.rs` proves that a small scenario scanned here and on moto gives the same
//! report.

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

pub const MANAGEMENT_ACCOUNT: &str = "123456789012";
pub const DEFAULT_EXTERNAL_ID: &str = "certaudit-test-external-id";
pub const DEFAULT_ROLE: &str = "CertAuditReadOnly";
/// The regions AWS enables in every new account.
pub const DEFAULT_REGIONS: [&str; 17] = [
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];
const OPT_IN_REGIONS: [&str; 6] = [
    "af-south-1",
    "ap-east-1",
    "ap-southeast-3",
    "eu-south-1",
    "me-central-1",
    "me-south-1",
];
const DEFAULT_KEY_TYPES: [&str; 2] = ["RSA_1024", "RSA_2048"];
const DAY: f64 = 86_400.0;

/// ACM's per-account-region request quotas, per second.
pub fn quota(operation: &str) -> Option<f64> {
    match operation {
        "DescribeCertificate" => Some(10.0),
        "ListCertificates" => Some(8.0),
        "ListTagsForCertificate" => Some(10.0),
        _ => None,
    }
}

#[derive(Debug, Clone)]
struct Cert {
    arn: String,
    domain: String,
    sans: Vec<String>,
    kind: String,
    status: String,
    key: String,
    origin: String,
    not_before: f64,
    not_after: f64,
    created: f64,
    in_use_by: Vec<String>,
    exported: bool,
    eligibility: String,
    renewal_status: Option<String>,
    renewal_reason: Option<String>,
    managed_by: Option<String>,
    issuer: String,
    serial: String,
    tags: Vec<(String, String)>,
    /// The Private CA that issued a PRIVATE certificate.
    ca_arn: Option<String>,
}

/// An IAM server certificate.
#[derive(Debug, Clone)]
struct ServerCert {
    name: String,
    path: String,
    id: String,
    arn: String,
    uploaded: f64,
    expiration: f64,
}

/// An ACM Private CA.
#[derive(Debug, Clone)]
struct Ca {
    arn: String,
    kind: String,
    status: String,
    usage_mode: String,
    common_name: String,
    not_before: f64,
    not_after: f64,
}

#[derive(Debug, Clone)]
struct Account {
    id: String,
    name: String,
    state: String,
    role: bool,
    external_id: String,
    opt_in: Vec<String>,
}

/// An organization built from a scenario.
pub struct Org {
    accounts: Vec<Account>,
    by_id: HashMap<String, usize>,
    /// (account, region) → certificates in ARN order.
    certs: HashMap<(String, String), Vec<Cert>>,
    arns: HashMap<String, (String, String, usize)>,
    role_name: String,
    page_size: usize,
    /// Account → its IAM server certificates.
    server_certs: HashMap<String, Vec<ServerCert>>,
    iam_page_size: usize,
    /// (account, region) → its Private CAs.
    cas: HashMap<(String, String), Vec<Ca>>,
    pca_page_size: usize,
    management_name: String,
    management_opt_in: Vec<String>,
    /// Labels → ARNs, as the moto fabric's state reports them.
    pub labels: HashMap<String, String>,
    pub accounts_by_name: HashMap<String, String>,
}

impl Org {
    pub fn certificate_count(&self) -> usize {
        self.arns.len()
    }

    /// IAM server certificates, every account's.
    pub fn server_certificate_count(&self) -> usize {
        self.server_certs.values().map(Vec::len).sum()
    }

    pub fn account_count(&self) -> usize {
        self.accounts.len() + 1
    }

    /// The most certificates in one account-region.
    pub fn busiest_account_region(&self) -> usize {
        self.certs.values().map(Vec::len).max().unwrap_or(0)
    }

    pub fn from_scenario(scenario: &Value) -> Org {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let external_id = scenario["external_id"]
            .as_str()
            .unwrap_or(DEFAULT_EXTERNAL_ID)
            .to_string();
        let mut org = Org {
            accounts: Vec::new(),
            by_id: HashMap::new(),
            certs: HashMap::new(),
            arns: HashMap::new(),
            role_name: scenario["role_name"]
                .as_str()
                .unwrap_or(DEFAULT_ROLE)
                .to_string(),
            page_size: scenario["acm_page_size"].as_u64().unwrap_or(1000) as usize,
            server_certs: HashMap::new(),
            iam_page_size: scenario["iam_page_size"].as_u64().unwrap_or(100) as usize,
            cas: HashMap::new(),
            pca_page_size: scenario["pca_page_size"].as_u64().unwrap_or(20) as usize,
            labels: HashMap::new(),
            accounts_by_name: HashMap::new(),
            management_name: scenario["management"]["name"]
                .as_str()
                .unwrap_or("management")
                .to_string(),
            management_opt_in: strings(&scenario["management"]["opt_in_regions"]),
        };
        let management = &scenario["management"];
        let mut owners: Vec<(String, Value)> = vec![(
            MANAGEMENT_ACCOUNT.to_string(),
            management["certificates"].clone(),
        )];
        let mut others: Vec<(String, Value)> =
            vec![(MANAGEMENT_ACCOUNT.into(), management.clone())];
        let accounts = scenario["accounts"].as_array().cloned().unwrap_or_default();
        for (i, spec) in accounts.iter().enumerate() {
            let id = format!("{}", 200_000_000_000u64 + i as u64 * 7_919);
            let name = spec["name"].as_str().unwrap_or("account").to_string();
            org.by_id.insert(id.clone(), org.accounts.len());
            org.accounts_by_name.insert(name.clone(), id.clone());
            org.accounts.push(Account {
                id: id.clone(),
                name,
                state: spec["state"].as_str().unwrap_or("ACTIVE").to_string(),
                role: spec["role"].as_str().unwrap_or("present") == "present",
                external_id: spec["external_id"]
                    .as_str()
                    .unwrap_or(&external_id)
                    .to_string(),
                opt_in: strings(&spec["opt_in_regions"]),
            });
            owners.push((id.clone(), spec["certificates"].clone()));
            others.push((id, spec.clone()));
        }
        // CAs first: certificates name them by label.
        // Label → (ARN, common name).
        let mut ca_labels: HashMap<String, (String, String)> = HashMap::new();
        let mut serial = 1u64;
        for (account, spec) in &others {
            for ca in spec["certificate_authorities"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let made = make_ca(account, ca, now, serial);
                serial += 1;
                let label = ca["label"]
                    .as_str()
                    .unwrap_or(&made.common_name)
                    .to_string();
                ca_labels.insert(label.clone(), (made.arn.clone(), made.common_name.clone()));
                org.labels.insert(label, made.arn.clone());
                let region = ca["region"].as_str().unwrap_or("us-east-1").to_string();
                org.cas
                    .entry((account.clone(), region))
                    .or_default()
                    .push(made);
            }
            for server in expand_named(
                spec["server_certificates"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            ) {
                let made = make_server_cert(account, &server, now, serial);
                serial += 1;
                let label = server["label"].as_str().unwrap_or(&made.name).to_string();
                org.labels.insert(label, made.arn.clone());
                org.server_certs
                    .entry(account.clone())
                    .or_default()
                    .push(made);
            }
        }
        for (account, certificates) in owners {
            for spec in expand(certificates.as_array().cloned().unwrap_or_default()) {
                let mut cert = make_cert(&account, &spec, now, serial);
                serial += 1;
                // As the moto fabric's seed: issued by the CA, named after it.
                if let Some((arn, name)) = spec["issuing_ca"].as_str().map(|l| &ca_labels[l]) {
                    cert.ca_arn = Some(arn.clone());
                    if spec["issuer"].is_null() {
                        cert.issuer = name.clone();
                    }
                }
                if let Some(arn) = spec["issuing_ca_arn"].as_str() {
                    cert.ca_arn = Some(arn.to_string());
                }
                let region = spec["region"].as_str().unwrap_or("us-east-1").to_string();
                if let Some(label) = spec["label"].as_str() {
                    org.labels.insert(label.to_string(), cert.arn.clone());
                }
                let list = org
                    .certs
                    .entry((account.clone(), region.clone()))
                    .or_default();
                org.arns
                    .insert(cert.arn.clone(), (account.clone(), region, list.len()));
                list.push(cert);
            }
        }
        org
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `count: N` repeats a spec N times with numbered domains, as the moto fabric's seed does.
fn expand(specs: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for spec in specs {
        let count = spec["count"].as_u64().unwrap_or(1);
        if count == 1 {
            out.push(spec);
            continue;
        }
        for i in 0..count {
            let mut one = spec.clone();
            one["domain"] = json!(format!("n{i:04}.{}", spec["domain"].as_str().unwrap()));
            one["count"] = json!(1);
            out.push(one);
        }
    }
    out
}

/// `count: N` repeats a server certificate N times with numbered names, labels and domains, as
/// the moto fabric's seed does.
fn expand_named(specs: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for spec in specs {
        let count = spec["count"].as_u64().unwrap_or(1);
        if count == 1 {
            out.push(spec);
            continue;
        }
        for i in 0..count {
            let mut one = spec.clone();
            for key in ["name", "label"] {
                if let Some(v) = spec[key].as_str() {
                    one[key] = json!(format!("{v}-{i:04}"));
                }
            }
            one["count"] = json!(1);
            out.push(one);
        }
    }
    out
}

fn make_server_cert(account: &str, spec: &Value, now: f64, serial: u64) -> ServerCert {
    let name = spec["name"].as_str().unwrap_or("server").to_string();
    let path = spec["path"].as_str().unwrap_or("/").to_string();
    let days_left = spec["days_left"].as_f64().unwrap_or(200.0);
    ServerCert {
        arn: format!("arn:aws:iam::{account}:server-certificate{path}{name}"),
        id: format!("ASCA{serial:017X}"),
        name,
        path,
        uploaded: (now - spec["uploaded_days_ago"].as_f64().unwrap_or(0.0) * DAY).floor(),
        expiration: (now + days_left * DAY).floor(),
    }
}

fn make_ca(account: &str, spec: &Value, now: f64, serial: u64) -> Ca {
    let region = spec["region"].as_str().unwrap_or("us-east-1");
    let not_after = (now + spec["days_left"].as_f64().unwrap_or(3000.0) * DAY).floor();
    let valid_days = spec["valid_days"].as_f64().unwrap_or(3650.0);
    Ca {
        arn: format!(
            "arn:aws:acm-pca:{region}:{account}:certificate-authority/{:08x}-0000-4000-8000-{serial:012x}",
            serial as u32
        ),
        kind: spec["type"].as_str().unwrap_or("ROOT").to_string(),
        status: spec["status"].as_str().unwrap_or("ACTIVE").to_string(),
        usage_mode: spec["usage_mode"]
            .as_str()
            .unwrap_or("GENERAL_PURPOSE")
            .to_string(),
        common_name: spec["common_name"].as_str().unwrap_or("certaudit CA").to_string(),
        not_before: (now - DAY).min(not_after - valid_days * DAY).floor(),
        not_after,
    }
}

fn make_cert(account: &str, spec: &Value, now: f64, serial: u64) -> Cert {
    let kind = spec["type"].as_str().unwrap_or("IMPORTED").to_string();
    let region = spec["region"].as_str().unwrap_or("us-east-1");
    let days_left = spec["days_left"].as_f64().unwrap_or(200.0);
    let not_after = (now + days_left * DAY).floor();
    let valid_days = spec["valid_days"].as_f64().unwrap_or(395.0);
    let not_before = (now - DAY).min(not_after - valid_days * DAY).floor();
    let domain = spec["domain"].as_str().unwrap_or("example.com").to_string();
    let mut sans = vec![domain.clone()];
    sans.extend(strings(&spec["sans"]).into_iter().filter(|s| *s != domain));
    let in_use_by = strings(&spec["in_use_by"]);
    let exported = spec["exported"].as_bool().unwrap_or(false);
    let eligible = kind != "IMPORTED" && (!in_use_by.is_empty() || exported);
    let status = spec["status"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            if not_after < now {
                "EXPIRED".into()
            } else {
                "ISSUED".into()
            }
        });
    let issuer = spec["issuer"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            match kind.as_str() {
                "AMAZON_ISSUED" => "Amazon RSA 2048 M03",
                "PRIVATE" => "certaudit demo private CA",
                _ => "certaudit demo external CA",
            }
            .to_string()
        });
    let origin = spec["origin"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            if kind == "IMPORTED" {
                "CUSTOMER_PROVIDED".into()
            } else {
                "AWS_MANAGED".into()
            }
        });
    let tags = spec["tags"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Cert {
        arn: format!(
            "arn:aws:acm:{region}:{account}:certificate/{:08x}-0000-4000-8000-{serial:012x}",
            serial as u32
        ),
        domain,
        sans,
        status,
        key: spec["key"].as_str().unwrap_or("RSA_2048").to_string(),
        origin,
        not_before,
        not_after,
        created: now - 3_600.0,
        in_use_by,
        exported,
        eligibility: spec["renewal_eligibility"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| if eligible { "ELIGIBLE" } else { "INELIGIBLE" }.into()),
        renewal_status: spec["renewal_status"].as_str().map(str::to_string),
        renewal_reason: spec["renewal_status_reason"].as_str().map(str::to_string),
        managed_by: spec["managed_by"].as_str().map(str::to_string),
        issuer,
        // As ACM writes serials: colon-separated hex bytes.
        serial: format!("{serial:040x}")
            .as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect::<Vec<_>>()
            .join(":"),
        tags,
        kind,
        ca_arn: None,
    }
}

/// What the fabric saw.
#[derive(Default)]
pub struct Stats {
    calls: Mutex<HashMap<(String, String, String), Calls>>,
    pub throttled: AtomicU64,
    pub requests: AtomicU64,
}

/// One account-region's calls of one operation: how many, the first and the last.
struct Calls {
    n: u64,
    first: Instant,
    last: Instant,
}

impl Stats {
    /// The most calls of `operation` one account-region received (throttled ones included).
    pub fn busiest(&self, operation: &str) -> u64 {
        self.per_account_region(operation)
            .into_iter()
            .max()
            .unwrap_or(0)
    }

    /// When the account-region with the most calls of `operation` made its first and its last,
    /// as offsets from `since`: a scan reaches its floor only when that region starts at once.
    pub fn busiest_span(&self, operation: &str, since: Instant) -> Option<(Duration, Duration)> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|((_, _, op), _)| op == operation)
            .max_by_key(|(_, c)| c.n)
            .map(|(_, c)| (c.first - since, c.last - since))
    }

    pub fn total(&self, operation: &str) -> u64 {
        self.per_account_region(operation).into_iter().sum()
    }

    /// Calls of `operation`, one count per account-region.
    fn per_account_region(&self, operation: &str) -> Vec<u64> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|((_, _, op), _)| op == operation)
            .map(|(_, c)| c.n)
            .collect()
    }

    pub fn reset(&self) {
        self.calls.lock().unwrap().clear();
        self.throttled.store(0, Ordering::Relaxed);
        self.requests.store(0, Ordering::Relaxed);
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

struct State {
    org: Org,
    latency: Duration,
    stats: Arc<Stats>,
    buckets: Mutex<HashMap<(String, String, &'static str), Bucket>>,
}

impl State {
    fn take(&self, account: &str, region: &str, operation: &'static str, rate: f64) -> bool {
        let mut buckets = self.buckets.lock().unwrap();
        let now = Instant::now();
        let bucket = buckets
            .entry((account.to_string(), region.to_string(), operation))
            .or_insert(Bucket {
                tokens: rate,
                updated: now,
            });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A running fast fabric. Dropping it stops the server.
pub struct FastFabric {
    pub endpoint: String,
    pub stats: Arc<Stats>,
    pub labels: HashMap<String, String>,
    pub accounts_by_name: HashMap<String, String>,
    pub certificates: usize,
    /// IAM server certificates (reported among the certificates).
    pub server_certificates: usize,
    pub accounts: usize,
    pub busiest_account_region: usize,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FastFabric {
    pub fn start(scenario: &Value, latency: Duration, workers: usize) -> FastFabric {
        let org = Org::from_scenario(scenario);
        let stats = Arc::new(Stats::default());
        let (labels, accounts_by_name) = (org.labels.clone(), org.accounts_by_name.clone());
        let server_certificates = org.server_certificate_count();
        let (certificates, accounts, busiest) = (
            org.certificate_count(),
            org.account_count(),
            org.busiest_account_region(),
        );
        let state = Arc::new(State {
            org,
            latency,
            stats: stats.clone(),
            buckets: Mutex::new(HashMap::new()),
        });
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve(state, addr_tx, stop_rx));
        });
        let addr: SocketAddr = addr_rx.recv().expect("fast fabric did not start");
        FastFabric {
            endpoint: format!("http://{addr}"),
            stats,
            labels,
            accounts_by_name,
            certificates,
            server_certificates,
            accounts,
            busiest_account_region: busiest,
            shutdown: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for FastFabric {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    state: Arc<State>,
    addr_tx: std::sync::mpsc::Sender<SocketAddr>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    addr_tx.send(listener.local_addr().unwrap()).unwrap();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stop => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

type Answer = Response<Full<Bytes>>;

fn answer(status: u16, content_type: &str, body: String) -> Answer {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", "00000000-0000-0000-0000-000000000000")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn json_ok(body: Value) -> Answer {
    answer(200, "application/x-amz-json-1.1", body.to_string())
}

fn json_error(status: u16, code: &str, message: &str) -> Answer {
    let body = json!({"__type": code, "message": message}).to_string();
    let mut r = answer(status, "application/x-amz-json-1.1", body);
    r.headers_mut()
        .insert("x-amzn-errortype", code.parse().unwrap());
    r
}

fn xml_ok(body: String) -> Answer {
    answer(200, "text/xml", body)
}

fn query_error(status: u16, code: &str, message: &str) -> Answer {
    answer(
        status,
        "text/xml",
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{message}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
        ),
    )
}

/// `Credential=AKID/date/region/service/aws4_request` of the SigV4 Authorization header.
fn credential(req: &Request<Incoming>) -> Option<(String, String, String)> {
    let auth = req.headers().get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    let mut parts = scope.split('/');
    let akid = parts.next()?.to_string();
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    Some((akid, region, service))
}

/// Assumed-role keys carry their account: `ASIA` + 12 digits + a suffix.
fn account_of(akid: &str) -> String {
    match akid.strip_prefix("ASIA") {
        Some(rest) if rest.len() >= 12 => rest[..12].to_string(),
        _ => MANAGEMENT_ACCOUNT.to_string(),
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Answer, Infallible> {
    tokio::time::sleep(state.latency).await;
    let Some((akid, region, _service)) = credential(&req) else {
        return Ok(json_error(
            403,
            "MissingAuthenticationToken",
            "no signature",
        ));
    };
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_string());
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let account = account_of(&akid);
    state.stats.requests.fetch_add(1, Ordering::Relaxed);
    let answer = match target {
        Some(operation) => {
            let params: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
            json_call(&state, &account, &region, &operation, &params)
        }
        None => {
            let form: HashMap<String, String> =
                form_urlencoded::parse(&body).into_owned().collect();
            let operation = form.get("Action").cloned().unwrap_or_default();
            count(&state, &account, &region, &operation);
            query_call(&state, &account, &operation, &form)
        }
    };
    Ok(answer)
}

fn count(state: &State, account: &str, region: &str, operation: &str) {
    let now = Instant::now();
    let mut calls = state.stats.calls.lock().unwrap();
    let calls = calls
        .entry((
            account.to_string(),
            region.to_string(),
            operation.to_string(),
        ))
        .or_insert(Calls {
            n: 0,
            first: now,
            last: now,
        });
    calls.n += 1;
    calls.last = now;
}

fn json_call(state: &State, account: &str, region: &str, operation: &str, p: &Value) -> Answer {
    count(state, account, region, operation);
    if let Some(rate) = quota(operation) {
        let key: &'static str = match operation {
            "DescribeCertificate" => "DescribeCertificate",
            "ListCertificates" => "ListCertificates",
            _ => "ListTagsForCertificate",
        };
        if !state.take(account, region, key, rate) {
            state.stats.throttled.fetch_add(1, Ordering::Relaxed);
            return json_error(400, "ThrottlingException", "Rate exceeded");
        }
    }
    let org = &state.org;
    match operation {
        "ListAccounts" => list_accounts(org, account, p),
        "ListCertificates" => list_certificates(org, account, region, p),
        "ListCertificateAuthorities" => list_certificate_authorities(org, account, region, p),
        "DescribeCertificate" | "ListTagsForCertificate" => {
            let arn = p["CertificateArn"].as_str().unwrap_or_default();
            let Some(cert) = org
                .arns
                .get(arn)
                .filter(|(a, r, _)| a == account && r == region)
                .map(|(a, r, i)| &org.certs[&(a.clone(), r.clone())][*i])
            else {
                return json_error(
                    400,
                    "ResourceNotFoundException",
                    &format!("Could not find certificate {arn}."),
                );
            };
            if operation == "DescribeCertificate" {
                json_ok(json!({"Certificate": detail(cert)}))
            } else {
                let tags: Vec<Value> = cert
                    .tags
                    .iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect();
                json_ok(json!({"Tags": tags}))
            }
        }
        other => json_error(400, "UnknownOperationException", other),
    }
}

fn list_accounts(org: &Org, caller: &str, p: &Value) -> Answer {
    if caller != MANAGEMENT_ACCOUNT {
        return json_error(400, "AccessDeniedException", "not the management account");
    }
    let mut all: Vec<Value> = vec![json!({
        "Id": MANAGEMENT_ACCOUNT, "Name": org.management_name, "State": "ACTIVE",
        "Arn": format!("arn:aws:organizations::{MANAGEMENT_ACCOUNT}:account/o-fast/{MANAGEMENT_ACCOUNT}"),
        "Email": "management@example.com", "JoinedMethod": "CREATED", "JoinedTimestamp": 1.7e9,
    })];
    all.extend(org.accounts.iter().map(|a| {
        json!({
            "Id": a.id, "Name": a.name, "State": a.state,
            "Arn": format!("arn:aws:organizations::{MANAGEMENT_ACCOUNT}:account/o-fast/{}", a.id),
            "Email": format!("{}@example.com", a.name), "JoinedMethod": "CREATED",
            "JoinedTimestamp": 1.7e9,
        })
    }));
    let page = p["MaxResults"].as_u64().unwrap_or(20).min(20) as usize;
    let offset: usize = p["NextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let mut body = json!({"Accounts": all[offset.min(all.len())..(offset + page).min(all.len())]});
    if offset + page < all.len() {
        body["NextToken"] = json!((offset + page).to_string());
    }
    json_ok(body)
}

fn list_certificates(org: &Org, account: &str, region: &str, p: &Value) -> Answer {
    let max_items = p["MaxItems"].as_u64().unwrap_or(1000);
    if !(1..=1000).contains(&max_items) {
        return json_error(
            400,
            "ValidationException",
            "MaxItems must be between 1 and 1000",
        );
    }
    let key_types = match strings(&p["Includes"]["keyTypes"]) {
        k if k.is_empty() => DEFAULT_KEY_TYPES.iter().map(|s| s.to_string()).collect(),
        k => k,
    };
    let origins = strings(&p["CertificateKeyPairOrigins"]);
    let empty = Vec::new();
    let certs = org
        .certs
        .get(&(account.to_string(), region.to_string()))
        .unwrap_or(&empty);
    let matched: Vec<&Cert> = certs
        .iter()
        .filter(|c| key_types.contains(&c.key))
        .filter(|c| {
            if origins.is_empty() {
                c.origin != "ACME"
            } else {
                origins.contains(&c.origin)
            }
        })
        .collect();
    let page = (max_items as usize).min(org.page_size);
    let offset: usize = p["NextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let list: Vec<Value> = matched
        .iter()
        .skip(offset)
        .take(page)
        .map(|c| summary(c))
        .collect();
    let mut body = json!({ "CertificateSummaryList": list });
    if offset + page < matched.len() {
        body["NextToken"] = json!((offset + page).to_string());
    }
    json_ok(body)
}

fn list_certificate_authorities(org: &Org, account: &str, region: &str, p: &Value) -> Answer {
    let empty = Vec::new();
    let cas = org
        .cas
        .get(&(account.to_string(), region.to_string()))
        .unwrap_or(&empty);
    let page = (p["MaxResults"].as_u64().unwrap_or(1000) as usize).min(org.pca_page_size);
    let offset: usize = p["NextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let list: Vec<Value> = cas
        .iter()
        .skip(offset)
        .take(page)
        .map(|ca| {
            json!({
                "Arn": ca.arn, "OwnerAccount": account, "CreatedAt": ca.not_before,
                "Type": ca.kind, "Status": ca.status, "UsageMode": ca.usage_mode,
                "NotBefore": ca.not_before, "NotAfter": ca.not_after,
                "KeyStorageSecurityStandard": "FIPS_140_2_LEVEL_3_OR_HIGHER",
                "CertificateAuthorityConfiguration": {
                    "KeyAlgorithm": "RSA_2048", "SigningAlgorithm": "SHA256WITHRSA",
                    "Subject": {"CommonName": ca.common_name},
                },
            })
        })
        .collect();
    let mut body = json!({ "CertificateAuthorities": list });
    if offset + page < cas.len() {
        body["NextToken"] = json!((offset + page).to_string());
    }
    json_ok(body)
}

/// IAM's answer: XML, `Marker` pages.
fn list_server_certificates(org: &Org, account: &str, form: &HashMap<String, String>) -> Answer {
    let empty = Vec::new();
    let all = org.server_certs.get(account).unwrap_or(&empty);
    let max: usize = form
        .get("MaxItems")
        .and_then(|m| m.parse().ok())
        .unwrap_or(100);
    let page = max.min(org.iam_page_size);
    let offset: usize = form.get("Marker").and_then(|m| m.parse().ok()).unwrap_or(0);
    let time = |t: f64| {
        chrono::DateTime::<chrono::Utc>::from_timestamp(t as i64, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let members: String = all
        .iter()
        .skip(offset)
        .take(page)
        .map(|s| {
            format!(
                "<member><Path>{}</Path><ServerCertificateName>{}</ServerCertificateName>\
                 <ServerCertificateId>{}</ServerCertificateId><Arn>{}</Arn>\
                 <UploadDate>{}</UploadDate><Expiration>{}</Expiration></member>",
                s.path,
                s.name,
                s.id,
                s.arn,
                time(s.uploaded),
                time(s.expiration)
            )
        })
        .collect();
    let more = offset + page < all.len();
    let marker = match more {
        true => format!("<Marker>{}</Marker>", offset + page),
        false => String::new(),
    };
    xml_ok(format!(
        "<ListServerCertificatesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <ListServerCertificatesResult><IsTruncated>{more}</IsTruncated>{marker}\
         <ServerCertificateMetadataList>{members}</ServerCertificateMetadataList>\
         </ListServerCertificatesResult><ResponseMetadata><RequestId>0</RequestId>\
         </ResponseMetadata></ListServerCertificatesResponse>"
    ))
}

fn summary(c: &Cert) -> Value {
    let mut s = json!({
        "CertificateArn": c.arn, "DomainName": c.domain,
        "SubjectAlternativeNameSummaries": c.sans.iter().take(100).collect::<Vec<_>>(),
        "HasAdditionalSubjectAlternativeNames": c.sans.len() > 100,
        "Status": c.status, "Type": c.kind, "KeyAlgorithm": c.key,
        "KeyUsages": ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
        "ExtendedKeyUsages": ["TLS_WEB_SERVER_AUTHENTICATION"],
        "InUse": !c.in_use_by.is_empty(), "Exported": c.exported,
        "RenewalEligibility": c.eligibility, "NotBefore": c.not_before, "NotAfter": c.not_after,
        "CreatedAt": c.created, "CertificateKeyPairOrigin": c.origin,
    });
    if c.kind == "IMPORTED" {
        s["ImportedAt"] = json!(c.created);
    } else {
        s["IssuedAt"] = json!(c.created);
    }
    if let Some(m) = &c.managed_by {
        s["ManagedBy"] = json!(m);
    }
    s
}

fn detail(c: &Cert) -> Value {
    let mut d = json!({
        "CertificateArn": c.arn, "DomainName": c.domain, "SubjectAlternativeNames": c.sans,
        "Serial": c.serial, "Subject": format!("CN={}", c.domain), "Issuer": c.issuer,
        "CreatedAt": c.created, "Status": c.status, "NotBefore": c.not_before,
        "NotAfter": c.not_after, "KeyAlgorithm": c.key, "SignatureAlgorithm": "SHA256WITHRSA",
        "InUseBy": c.in_use_by, "Type": c.kind, "RenewalEligibility": c.eligibility,
        "CertificateKeyPairOrigin": c.origin,
        "KeyUsages": [{"Name": "DIGITAL_SIGNATURE"}, {"Name": "KEY_ENCIPHERMENT"}],
        "ExtendedKeyUsages": [{"Name": "TLS_WEB_SERVER_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.1"}],
        "Options": {"CertificateTransparencyLoggingPreference": "ENABLED"},
    });
    if c.kind == "IMPORTED" {
        d["ImportedAt"] = json!(c.created);
    } else {
        d["IssuedAt"] = json!(c.created);
    }
    if let Some(m) = &c.managed_by {
        d["ManagedBy"] = json!(m);
    }
    if let Some(ca) = &c.ca_arn {
        d["CertificateAuthorityArn"] = json!(ca);
    }
    // As large as AWS's: one validation option per name, with its CNAME (derived as the moto
    // fabric's are, so the fabric's healthy DNS server answers them).
    let account = c.arn.split(':').nth(4).unwrap_or_default();
    let validation: Vec<Value> = c
        .sans
        .iter()
        .map(|name| {
            let (record, value) = crate::support::dns::validation_record(account, name);
            json!({"DomainName": name, "ValidationDomain": name, "ValidationStatus": "SUCCESS",
                   "ValidationMethod": "DNS",
                   "ResourceRecord": {"Name": record, "Type": "CNAME", "Value": value}})
        })
        .collect();
    if c.kind == "AMAZON_ISSUED" {
        d["DomainValidationOptions"] = json!(validation);
    }
    if let Some(status) = &c.renewal_status {
        let mut r = json!({"RenewalStatus": status, "DomainValidationOptions": validation,
                           "UpdatedAt": c.created});
        if let Some(reason) = &c.renewal_reason {
            r["RenewalStatusReason"] = json!(reason);
        }
        d["RenewalSummary"] = r;
    }
    d
}

fn query_call(
    state: &State,
    caller: &str,
    operation: &str,
    form: &HashMap<String, String>,
) -> Answer {
    let org = &state.org;
    match operation {
        "GetCallerIdentity" => xml_ok(format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult><Arn>arn:aws:iam::{caller}:user/certaudit</Arn>\
             <UserId>AIDAFASTFABRIC</UserId><Account>{caller}</Account></GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>0</RequestId></ResponseMetadata>\
             </GetCallerIdentityResponse>"
        )),
        "AssumeRole" => {
            let arn = form.get("RoleArn").cloned().unwrap_or_default();
            let target = arn.split(':').nth(4).unwrap_or_default().to_string();
            let role = arn.rsplit('/').next().unwrap_or_default();
            let denied = format!(
                "User: arn:aws:iam::{caller}:user/certaudit is not authorized to perform: \
                 sts:AssumeRole on resource: {arn}"
            );
            let Some(account) = org.by_id.get(&target).map(|i| &org.accounts[*i]) else {
                return query_error(403, "AccessDenied", &denied);
            };
            if !account.role
                || role != org.role_name
                || form.get("ExternalId") != Some(&account.external_id)
            {
                return query_error(403, "AccessDenied", &denied);
            }
            let expires = SystemTime::now() + Duration::from_secs(3600);
            let expires = chrono::DateTime::<chrono::Utc>::from(expires)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            xml_ok(format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <AssumeRoleResult><Credentials><AccessKeyId>ASIA{target}FAST</AccessKeyId>\
                 <SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>\
                 <Expiration>{expires}</Expiration></Credentials><AssumedRoleUser>\
                 <AssumedRoleId>AROAFAST:certaudit</AssumedRoleId>\
                 <Arn>arn:aws:sts::{target}:assumed-role/{role}/certaudit</Arn>\
                 </AssumedRoleUser></AssumeRoleResult>\
                 <ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></AssumeRoleResponse>"
            ))
        }
        "DescribeRegions" => {
            let opted = org
                .by_id
                .get(caller)
                .map(|i| org.accounts[*i].opt_in.clone())
                .unwrap_or_else(|| org.management_opt_in.clone());
            let all = form.get("AllRegions").is_some_and(|v| v == "true");
            let mut items = String::new();
            let regions = DEFAULT_REGIONS
                .iter()
                .map(|r| (*r, "opt-in-not-required"))
                .chain(OPT_IN_REGIONS.iter().map(|r| {
                    let status = if opted.iter().any(|o| o == r) {
                        "opted-in"
                    } else {
                        "not-opted-in"
                    };
                    (*r, status)
                }));
            for (name, status) in regions {
                if status == "not-opted-in" && !all {
                    continue;
                }
                items.push_str(&format!(
                    "<item><regionName>{name}</regionName>\
                     <regionEndpoint>ec2.{name}.amazonaws.com</regionEndpoint>\
                     <optInStatus>{status}</optInStatus></item>"
                ));
            }
            xml_ok(format!(
                "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                 <requestId>0</requestId><regionInfo>{items}</regionInfo></DescribeRegionsResponse>"
            ))
        }
        "ListServerCertificates" => list_server_certificates(org, caller, form),
        other => query_error(400, "InvalidAction", other),
    }
}

/// What two fabrics serving the same scenario must agree on in certaudit's report: everything
/// but what is random per fabric (account IDs, ARNs, serials, exact timestamps, durations).
pub fn comparable(report: &Value) -> Value {
    let names: HashMap<&str, &str> = report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["account_id"].as_str().unwrap(),
                a["account_name"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    let name = |id: &Value| json!(id.as_str().and_then(|i| names.get(i).copied()));
    let mut certificates: Vec<Value> = report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            let object = c.as_object_mut().unwrap();
            for random in [
                "arn",
                "account_id",
                "serial",
                "not_before",
                "not_after",
                "certificate_authority_arn",
            ] {
                object.remove(random);
            }
            // A PRIVATE certificate's risk names its CA (ARNs are random per fabric) and the
            // dates (seeded a moment apart).
            for risk in object
                .get_mut("renewal_check")
                .and_then(|r| r.get_mut("risks"))
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if risk["kind"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("issuing-ca"))
                {
                    risk["name"] = json!("(CA)");
                    risk["detail"] = json!("(dates)");
                }
            }
            if let Some(server) = object
                .get_mut("server_certificate")
                .and_then(Value::as_object_mut)
            {
                server.remove("id");
                server.remove("upload_date");
            }
            c
        })
        .collect();
    let mut authorities: Vec<Value> = report["certificate_authorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut a = a.clone();
            let object = a.as_object_mut().unwrap();
            for random in ["arn", "account_id", "not_before", "not_after"] {
                object.remove(random);
            }
            a
        })
        .collect();
    authorities.sort_by_key(|a| a.to_string());
    certificates.sort_by_key(|c| c.to_string());
    let mut accounts: Vec<Value> = report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!({"name": a["account_name"], "state": a["state"], "regions": a["regions"]}))
        .collect();
    accounts.sort_by_key(|a| a.to_string());
    let mut errors: Vec<Value> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            json!({"account": name(&e["account_id"]), "region": e["region"],
                        "stage": e["stage"], "code": e["code"]})
        })
        .collect();
    errors.sort_by_key(|e| e.to_string());
    let mut summary = report["summary"].clone();
    summary.as_object_mut().unwrap().remove("duration_ms");
    json!({"summary": summary, "accounts": accounts, "certificates": certificates,
           "certificate_authorities": authorities, "errors": errors})
}
