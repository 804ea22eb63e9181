//! The renewal check's DNS benchmark (`make bench`, `cargo bench --bench renewal`): 10,000
//! certificates with distinct names, each with its validation CNAME, judged against
//! hickory-server on loopback (the same server the tests use) by certaudit's own checker:
//! every CNAME asked, every name's CAA climb (the set sits at the parent all share). Prints
//! names, queries, wall time and the rate; fails if 10,000 names take more than 10 s.

mod common;
#[allow(dead_code)]
#[path = "../tests/support/dns.rs"]
mod dns;

use std::time::{Duration, Instant};

use certaudit::renewal::{Checker, Method, Settings, Validation, ValidationOption};
use certaudit::report::Certificate;
use common::process::thread_cpu;

const NAMES: usize = 10_000;
const TARGET: Duration = Duration::from_secs(10);
const ACCOUNT: &str = "123456789012";

fn main() {
    // `cargo test --all-targets` runs this binary too, without `--bench`: a small run that
    // checks the benchmark itself works; the measurement is for `cargo bench`.
    let measuring = std::env::args().any(|a| a == "--bench");
    let names = if measuring { NAMES } else { 200 };
    let domains: Vec<String> = (0..names).map(|i| format!("h{i:05}.bench.test")).collect();
    let mut records: Vec<String> = domains
        .iter()
        .map(|d| {
            let (name, value) = dns::validation_record(ACCOUNT, d);
            format!("{name} IN CNAME {value}")
        })
        .collect();
    records.push("bench.test. IN CAA 0 issue \"amazon.com\"".into());
    let server = dns::DnsServer::zones(&[dns::zone("test.", &records)]);
    let now = chrono::Utc::now();
    let mut certificates: Vec<Certificate> = domains
        .iter()
        .enumerate()
        .map(|(i, domain)| {
            let arn = format!("arn:aws:acm:us-east-1:{ACCOUNT}:certificate/{i:08}");
            let mut c = Certificate::new(&arn, ACCOUNT, None, "us-east-1");
            c.cert_type = Some("AMAZON_ISSUED".into());
            c.status = Some("ISSUED".into());
            c.domain_name = Some(domain.clone());
            c.not_after = Some(now + chrono::Duration::days(200));
            c.validation = Some(Box::new(Validation {
                options: vec![ValidationOption {
                    domain: domain.clone(),
                    method: Method::Dns,
                    record: Some(dns::validation_record(ACCOUNT, domain)),
                    redirect: None,
                }],
            }));
            c
        })
        .collect();
    let checker = Checker::new(&Settings {
        servers: vec![server.addr],
        timeout: Duration::from_secs(5),
        http_private: false,
    });
    // One thread, as certaudit runs its whole job.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let cpu_before = thread_cpu();
    runtime.block_on(checker.judge_all(&mut certificates, now));
    let cpu = thread_cpu() - cpu_before;
    let wall = started.elapsed();
    let errors = checker.errors();
    let ok = certificates
        .iter()
        .filter(|c| {
            c.renewal_check
                .as_ref()
                .is_some_and(|r| r.status.as_str() == "ok")
        })
        .count();
    // Per name: its validation CNAME and its own CAA; then the parents all names share once.
    let queries = names * 2 + 2;
    let met = wall <= TARGET && ok == names && errors.is_empty();
    println!(
        "renewal check, DNS: {names} distinct names, {queries} queries to hickory-server on \
         loopback, {:.2} s ({:.0} names/s), certaudit's CPU {:.0} us a query; {ok} ok, {} \
         lookup errors; target <= {} s for {NAMES} names: {}",
        wall.as_secs_f64(),
        names as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / queries as f64,
        errors.len(),
        TARGET.as_secs(),
        if met { "meets target" } else { "MISSES target" }
    );
    if !met {
        for e in errors.iter().take(5) {
            eprintln!("  {}: {}", e.code, e.message);
        }
        std::process::exit(1);
    }
}
