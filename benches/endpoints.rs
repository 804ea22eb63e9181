//! Probing 1,000 endpoints, part of `make bench` (`cargo bench --bench endpoints`): one TLS
//! server on 127.0.0.1 answering every name under `*.bench.test` after a 50 ms delay (a
//! round trip's worth), 1,000 names pinned to it with `--resolve`, the release certaudit
//! probing them at `--probe-concurrency 32`. No probe can finish sooner than the **floor**:
//! ceil(1,000 / 32) rounds of 50 ms. Printed: wall time against the floor, peak RSS and CPU of
//! the certaudit process; fails if wall exceeds 1.5 × floor + 1 s or RSS 128 MB.
//!
//! `cargo test --all-targets` runs this binary too, without `--bench`: 20 endpoints, checked.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

const ENDPOINTS: usize = 1_000;
const CHECK_ENDPOINTS: usize = 20;
const CONCURRENCY: usize = 32;
const LATENCY: Duration = Duration::from_millis(50);
const RSS_TARGET_MB: f64 = 128.0;

fn ymd(days: i64) -> (i32, u8, u8) {
    let d = Utc::now() + chrono::Duration::days(days);
    (d.year(), d.month() as u8, d.day() as u8)
}

/// A root (PEM, for --ca-file), and the chain and key of a `*.bench.test` leaf it issued.
fn pki() -> (
    String,
    Vec<rustls::pki_types::CertificateDer<'static>>,
    KeyPair,
) {
    let (from, to) = (ymd(-1), ymd(365));
    let mut root = CertificateParams::new(Vec::<String>::new()).unwrap();
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.distinguished_name
        .push(DnType::CommonName, "certaudit bench root");
    root.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    root.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
    let root = CertifiedIssuer::self_signed(root, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(vec!["*.bench.test".to_string()]).unwrap();
    leaf.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    leaf.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &root).unwrap();
    (root.pem(), vec![cert.der().clone()], key)
}

/// The server: every connection waits `LATENCY`, then shakes hands.
fn serve(runtime: &tokio::runtime::Runtime) -> (u16, String) {
    let (root_pem, chain, key) = pki();
    let port = support::tls::serve(runtime, chain, key.serialize_der(), LATENCY);
    (port, root_pem)
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let total = if measuring {
        ENDPOINTS
    } else {
        CHECK_ENDPOINTS
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (port, root_pem) = serve(&runtime);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root_pem).unwrap();
    let report = dir.path().join("report.json");
    let empty = certaudit::report::Report::new(Utc::now(), 45, "111111111111");
    std::fs::write(&report, serde_json::to_vec(&empty).unwrap()).unwrap();
    let listed = dir.path().join("endpoints.txt");
    let mut file = std::fs::File::create(&listed).unwrap();
    let mut args: Vec<String> = vec![
        "endpoints".into(),
        "-o".into(),
        "json".into(),
        "--report".into(),
        report.display().to_string(),
        "--endpoints".into(),
        listed.display().to_string(),
        "--ca-file".into(),
        ca.display().to_string(),
        "--probe-concurrency".into(),
        CONCURRENCY.to_string(),
    ];
    for i in 0..total {
        writeln!(file, "e{i}.bench.test:443").unwrap();
        args.push("--resolve".into());
        args.push(format!("e{i}.bench.test:443:127.0.0.1:{port}"));
    }
    drop(file);
    let out_path = dir.path().join("out.json");
    let mut cmd = support::certaudit_at("http://127.0.0.1:1", dir.path());
    cmd.args(&args)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::process::Stdio::inherit());
    let started = Instant::now();
    // Reaped by `until_done` (wait4, for its rusage), not by std's wait.
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().expect("cannot start certaudit");
    let (code, cpu, peak_kb) = common::process::until_done(child.id());
    let wall = started.elapsed().as_secs_f64();
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    let ok = document["summary"]["ok"].as_u64().unwrap_or(0) as usize;
    assert_eq!(
        (code, ok),
        (0, total),
        "every endpoint probed and ok: {}",
        document["summary"]
    );
    if !measuring {
        println!("endpoints benchmark: checked ({total} endpoints ok); `cargo bench --bench endpoints` measures");
        return;
    }
    let rounds = total.div_ceil(CONCURRENCY);
    let floor = rounds as f64 * LATENCY.as_secs_f64();
    let peak_mb = peak_kb as f64 / 1024.0;
    let within = wall <= 1.5 * floor + 1.0 && peak_mb <= RSS_TARGET_MB;
    println!(
        "endpoints: {total} probed at --probe-concurrency {CONCURRENCY}, {} ms before each handshake",
        LATENCY.as_millis()
    );
    println!(
        "  wall {wall:.2} s, floor {floor:.2} s ({rounds} rounds × {} ms), ratio {:.2}; peak RSS {peak_mb:.1} MB (target ≤ {RSS_TARGET_MB:.0}); CPU {:.2} s ({:.0} µs per endpoint)  {}",
        LATENCY.as_millis(),
        wall / floor,
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / total as f64,
        if within { "ok" } else { "MISSED" }
    );
    if !within {
        std::process::exit(1);
    }
}
