//! The scale benchmark: `make bench` (= `cargo bench --bench scale`, a release build).
//!
//! Each scenario is an organization served by the fast fabric (`tests/fastfabric/`) with 50 ms
//! latency on every call and ACM's real per-account-region quotas answered with real
//! ThrottlingException bodies; the release certaudit binary scans it as a user would. Printed
//! per scenario: accounts, regions, certificates, wall time, the floor (the busiest
//! account-region's DescribeCertificate calls / --rate: no scan can finish sooner), wall/floor,
//! peak RSS of the certaudit process, throttled answers, failures.
//!
//! The small scenario is also scanned on moto, and the two reports must agree.
//!
//! `BENCH_SCENARIOS=small,seed` and `BENCH_DETAIL=full` run a subset; `BENCH_RATE` overrides
//! --rate (default 8); `BENCH_CHILD_ENV=NAME=VALUE` sets one variable for certaudit.

mod common;
#[path = "../tests/fastfabric/mod.rs"]
mod fastfabric;
#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::process;
use fastfabric::{comparable, FastFabric, DEFAULT_REGIONS};
use serde_json::{json, Value};

const LATENCY: Duration = Duration::from_millis(50);
const TARGET_RATIO: f64 = 1.10;
const WIDE_TARGET_RATIO: f64 = 1.25;
const WIDE_CPU_TARGET_US: f64 = 150.0;
const RSS_TARGET_MB: f64 = 256.0;
/// The renewal check keeps its answers and each checked certificate's validation records
/// until the scan ends: a full scan with it may take this much more memory (and time) than
/// the same scan without it (SPEC §13).
const CHECK_OVERHEAD: f64 = 1.10;

struct Scenario {
    name: &'static str,
    org: Value,
    /// Wall time may be at most this times the floor (plus round trips), full detail.
    target_ratio: f64,
    /// CPU microseconds per AWS call the full-detail scan may spend, where that is the point.
    cpu_target_us: Option<f64>,
}

/// A deterministic pseudo-random stream (no dependency needed for a benchmark's dice).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `accounts` member accounts (plus the management account) × 17 regions holding `total`
/// certificates: one account-region holds `busiest`, the rest are spread with a long tail
/// (most account-regions hold a few, some dozens), none above half of `busiest`.
fn generated(accounts: usize, total: usize, busiest: usize, seed: u64) -> Value {
    let mut dice = Dice(seed);
    let slots = (accounts + 1) * DEFAULT_REGIONS.len();
    let weights: Vec<f64> = (1..slots).map(|_| dice.next().powi(4)).collect();
    let sum: f64 = weights.iter().sum();
    let rest = (total - busiest) as f64;
    let mut counts: Vec<usize> = weights
        .iter()
        .map(|w| ((w / sum * rest) as usize).min(busiest / 2))
        .collect();
    let mut missing = total - busiest - counts.iter().sum::<usize>();
    let (mut i, slots_left) = (0, counts.len());
    while missing > 0 {
        let slot = &mut counts[i % slots_left];
        if *slot < busiest / 2 {
            *slot += 1;
            missing -= 1;
        }
        i += 7;
    }
    // The busiest account-region is the last region of the last account listed: the worst
    // place for a scheduler that works through accounts in order.
    counts.push(busiest);
    organization(accounts, &counts, &mut dice)
}

/// Work spread thin: `accounts` members (plus the management account) × 17 regions, with
/// `per_region` certificates in each of the first `regions_used` regions of every account and
/// `busiest` in the last account's last used region. The floor is low and the call count high:
/// the client's CPU per call, not the quota, is what can keep such a scan from the floor.
fn wide(accounts: usize, regions_used: usize, per_region: usize, busiest: usize) -> Value {
    let mut counts = vec![0; (accounts + 1) * DEFAULT_REGIONS.len()];
    for account in 0..=accounts {
        for region in 0..regions_used {
            counts[account * DEFAULT_REGIONS.len() + region] = per_region;
        }
    }
    counts[accounts * DEFAULT_REGIONS.len() + regions_used - 1] = busiest;
    organization(accounts, &counts, &mut Dice(13))
}

/// An organization with `counts[slot]` certificates in each account-region slot (account-major,
/// 17 regions an account): 60 % imported, 10 % ECDSA, the rest ACM-issued and in use.
fn organization(accounts: usize, counts: &[usize], dice: &mut Dice) -> Value {
    let days = |d: &mut Dice| (d.next() * 420.0 - 15.0).floor() + 0.5;
    let mut per_account: Vec<Vec<Value>> = vec![Vec::new(); accounts + 1];
    for (slot, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let (account, region) = (slot / DEFAULT_REGIONS.len(), DEFAULT_REGIONS[slot % 17]);
        let imported = count * 6 / 10;
        let ecdsa = count / 10;
        let issued = count - imported - ecdsa;
        for (n, extra) in [
            (imported, json!({"type": "IMPORTED"})),
            (
                issued,
                json!({"type": "AMAZON_ISSUED", "in_use_by": ["arn:aws:elasticloadbalancing:::loadbalancer/app/x/1"]}),
            ),
            (ecdsa, json!({"type": "IMPORTED", "key": "EC_prime256v1"})),
        ] {
            if n == 0 {
                continue;
            }
            let mut spec = json!({
                "domain": format!("{}.a{account}.example.com", region),
                "region": region, "count": n, "days_left": days(dice),
                "tags": {"owner": format!("team-{}", account % 13)},
            });
            for (k, v) in extra.as_object().unwrap() {
                spec[k] = v.clone();
            }
            if n == 1 {
                spec["domain"] = json!(format!("{}.{}", n, spec["domain"].as_str().unwrap()));
            }
            per_account[account].push(spec);
        }
    }
    let management = per_account.remove(0);
    let members: Vec<Value> = per_account
        .into_iter()
        .enumerate()
        .map(|(i, certificates)| {
            // What ACM does not hold (SPEC §14): IAM server certificates in every account, and
            // in every fifth a root and an issuing CA (one expiring soon).
            let mut account = json!({
                "name": format!("member-{i:03}"), "certificates": certificates,
                "server_certificates": [{"name": "edge", "domain": format!("edge.a{i}.example.com"),
                                         "days_left": days(dice), "count": 3}],
            });
            if i % 5 == 0 {
                account["certificate_authorities"] = json!([
                    {"type": "ROOT", "common_name": format!("a{i} root"), "days_left": 3000.5},
                    {"type": "SUBORDINATE", "common_name": format!("a{i} issuing"), "days_left": 40.5},
                ]);
            }
            account
        })
        .collect();
    json!({
        "management": {"name": "management", "certificates": management},
        "accounts": members,
    })
}

fn scenarios() -> Vec<Scenario> {
    let small = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/scenarios/small.json"
    ))
    .unwrap();
    let all = vec![
        Scenario {
            name: "small",
            org: serde_json::from_str(&small).unwrap(),
            target_ratio: TARGET_RATIO,
            cpu_target_us: None,
        },
        Scenario {
            name: "seed",
            org: generated(69, 7_000, 300, 7),
            target_ratio: TARGET_RATIO,
            cpu_target_us: None,
        },
        Scenario {
            name: "large",
            org: generated(499, 100_000, 1_200, 11),
            target_ratio: TARGET_RATIO,
            cpu_target_us: None,
        },
        // Work spread thin: ~4,800 calls a second are needed to reach the floor, so the
        // client's CPU per call is the limit on a small machine.
        Scenario {
            name: "wide",
            org: wide(500, 3, 60, 300),
            target_ratio: WIDE_TARGET_RATIO,
            cpu_target_us: Some(WIDE_CPU_TARGET_US),
        },
    ];
    match std::env::var("BENCH_SCENARIOS") {
        Ok(only) => {
            let only: Vec<&str> = only.split(',').collect();
            all.into_iter().filter(|s| only.contains(&s.name)).collect()
        }
        Err(_) => all,
    }
}

struct Run {
    wall: Duration,
    /// User + system CPU time of the certaudit process.
    cpu: Duration,
    peak_rss_mb: f64,
    code: i32,
    report: Value,
}

/// Run the release binary to completion (`-o json` unless `args` say otherwise), measuring wall
/// time and its peak RSS. `report` is the JSON report, or null for another output.
fn run(endpoint: &str, args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let out_path = home.path().join("report.json");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut cmd: Command = support::certaudit_at(endpoint, home.path());
    // The renewal check asks the organization's DNS: a loopback server answering every
    // validation CNAME as it should be (`--no-renewal-check` in `args` turns it off).
    cmd.env_remove("CERTAUDIT_NO_RENEWAL_CHECK")
        .env("CERTAUDIT_DNS_SERVER", dns_server());
    if let Ok(env) = std::env::var("BENCH_CHILD_ENV") {
        if let Some((k, v)) = env.split_once('=') {
            cmd.env(k, v);
        }
    }
    let json = !args.contains(&"-o");
    cmd.args(["scan", "-q"])
        .args(if json { &["-o", "json"][..] } else { &[][..] })
        .args(args);
    // A profiler in front of certaudit (`BENCH_CHILD_WRAP="heaptrack -o /tmp/h"`): its
    // figures are then the profiler's, for reading its own output, not for the targets.
    if let Ok(wrap) = std::env::var("BENCH_CHILD_WRAP") {
        cmd = wrapped(&cmd, &wrap);
    }
    cmd.stdout(out).stderr(Stdio::inherit());
    let started = Instant::now();
    // Reaped by `until_done` (wait4, for its rusage), not by std's wait.
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().expect("cannot start certaudit");
    let (code, cpu, peak_kb) = process::until_done(child.id());
    let wall = started.elapsed();
    let report = if json {
        serde_json::from_slice(&std::fs::read(&out_path).unwrap())
            .unwrap_or_else(|e| panic!("certaudit printed no report ({e}); exit {code}"))
    } else {
        Value::Null
    };
    Run {
        wall,
        cpu,
        peak_rss_mb: peak_kb as f64 / 1024.0,
        code,
        report,
    }
}

/// How long the fabric's quota buckets (capacity: one second of their rate) take to fill.
const QUOTA_REFILL: Duration = Duration::from_millis(1500);

/// `cmd` run by the program and arguments of `wrap` (split on spaces).
fn wrapped(cmd: &Command, wrap: &str) -> Command {
    let words: Vec<&str> = wrap.split_whitespace().collect();
    let (program, args) = words
        .split_first()
        .expect("BENCH_CHILD_WRAP names a program");
    support::run_through(cmd, program, args)
}

/// The default output, a table, with every certificate listed (`--list all`): its rows are
/// written one by one, so its peak RSS must stay under the target too. Summary detail, so the
/// quota does not make it slow.
fn table_holds_memory(scenario: &Scenario, fabric: &FastFabric, rate: &str, found: usize) -> bool {
    fabric.stats.reset();
    let run = run(
        &fabric.endpoint,
        &[
            "--detail", "summary", "--rate", rate, "-o", "table", "--list", "all",
        ],
    );
    let expected_code = if expected_errors(scenario) > 0 { 3 } else { 0 };
    let met = run.peak_rss_mb < RSS_TARGET_MB && run.code == expected_code;
    let calls = fabric
        .stats
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    let (cpu_s, us_per_call) = cpu_figures(run.cpu, calls);
    print_figures(&Figures {
        name: format!("{}/table", scenario.name),
        accounts: String::new(),
        regions: String::new(),
        certificates: found,
        wall: run.wall.as_secs_f64(),
        floor: "-".into(),
        ratio: "-".into(),
        peak_mb: run.peak_rss_mb,
        cpu_s,
        us_per_call,
        throttled: String::new(),
        failures: String::new(),
        met,
        code: run.code,
        note: format!("-o table --list all: {found} rows"),
    });
    met
}

/// The small scenario has an account whose role is missing, on purpose.
fn expected_errors(scenario: &Scenario) -> usize {
    if scenario.name == "small" {
        1
    } else {
        0
    }
}

/// One line of figures, in the header's columns.
struct Figures {
    name: String,
    accounts: String,
    regions: String,
    certificates: usize,
    wall: f64,
    floor: String,
    ratio: String,
    peak_mb: f64,
    cpu_s: String,
    us_per_call: String,
    throttled: String,
    failures: String,
    met: bool,
    code: i32,
    note: String,
}

fn print_figures(f: &Figures) {
    println!(
        "{:<14} {:>8} {:>8} {:>8} {:>9.2} {:>8} {:>6} {:>9.1} {:>7} {:>8} {:>9} {:>8}  {} (exit \
         {}; {})",
        f.name,
        f.accounts,
        f.regions,
        f.certificates,
        f.wall,
        f.floor,
        f.ratio,
        f.peak_mb,
        f.cpu_s,
        f.us_per_call,
        f.throttled,
        f.failures,
        if f.met {
            "meets targets"
        } else {
            "MISSES TARGETS"
        },
        f.code,
        f.note,
    );
}

/// CPU seconds, and microseconds per AWS call the fabric answered.
fn cpu_figures(cpu: Duration, calls: u64) -> (String, String) {
    let per_call = cpu.as_secs_f64() * 1e6 / calls.max(1) as f64;
    (
        format!("{:.1}", cpu.as_secs_f64()),
        format!("{per_call:.0}"),
    )
}

/// The benchmark's one DNS server, started on first use and kept for the whole run.
fn dns_server() -> String {
    static SERVER: std::sync::OnceLock<support::dns::DnsServer> = std::sync::OnceLock::new();
    SERVER
        .get_or_init(support::dns::DnsServer::healthy)
        .addr
        .to_string()
}

fn agrees_with_moto(org: &Value, fast_report: &Value) -> String {
    let moto = support::Fabric::start(org.clone());
    let (_, moto_report) = moto.scan_json(&[]);
    let (m, f) = (comparable(&moto_report), comparable(fast_report));
    if m == f {
        format!(
            "agrees with moto ({} certificates compared field by field)",
            m["certificates"].as_array().unwrap().len()
        )
    } else {
        for part in [
            "summary",
            "accounts",
            "errors",
            "certificates",
            "certificate_authorities",
        ] {
            if m[part] != f[part] {
                eprintln!("moto {part}: {}\nfast {part}: {}", m[part], f[part]);
            }
        }
        panic!("the fast fabric DISAGREES with moto on the small scenario");
    }
}

fn main() {
    // `cargo test --all-targets` runs this binary too, without `--bench`: check the scenarios
    // are what they claim and stop; the measurements are for `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        check_scenarios();
        return;
    }
    let rate: u32 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(8);
    println!(
        "certaudit scale benchmark: fast fabric, {} ms latency per call, ACM quotas Describe 10/s, \
         List 8/s, ListTags 10/s per account-region; certaudit --rate {rate}",
        LATENCY.as_millis()
    );
    println!(
        "{:<14} {:>8} {:>8} {:>8} {:>9} {:>8} {:>6} {:>9} {:>7} {:>8} {:>9} {:>8}  verdict",
        "scenario",
        "accounts",
        "regions",
        "certs",
        "wall s",
        "floor s",
        "ratio",
        "peak MB",
        "cpu s",
        "us/call",
        "throttled",
        "failures"
    );
    let mut all_met = true;
    for scenario in scenarios() {
        let fabric = FastFabric::start(&scenario.org, LATENCY, 2);
        let details = std::env::var("BENCH_DETAIL").unwrap_or_else(|_| "full,summary".into());
        // Full detail twice: with the renewal check (the default) and without, to show what
        // the check costs (SPEC §13: within 10 %).
        let mut full_walls: (Option<f64>, Option<f64>) = (None, None);
        // Without the check first: its peak is the with-check run's reference.
        let mut unchecked_rss: Option<f64> = None;
        let mut checked_rss: Option<f64> = None;
        for run_kind in ["full-no-check", "full", "summary"] {
            let detail = run_kind.strip_suffix("-no-check").unwrap_or(run_kind);
            if !details.split(',').any(|d| d == detail) {
                continue;
            }
            // Each run starts as a scan would against ACM: with every account-region's quota
            // full. Run straight after another, the busiest region's bucket is still empty, the
            // first burst is throttled, and the SDK's adaptive retry slows that region down for
            // the rest of the run (small/full took 13-20 s after its no-check run).
            std::thread::sleep(QUOTA_REFILL);
            fabric.stats.reset();
            let rate_arg = rate.to_string();
            let mut args = vec!["--detail", detail, "--rate", &rate_arg];
            if run_kind == "full-no-check" {
                args.push("--no-renewal-check");
            }
            let started = Instant::now();
            let run = run(&fabric.endpoint, &args);
            let checked = run.report["summary"]["renewal_at_risk"].is_number()
                && run.report["certificates"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["renewal_check"]["status"] == "ok"));
            match run_kind {
                "full" => {
                    full_walls.0 = Some(run.wall.as_secs_f64());
                    checked_rss = Some(run.peak_rss_mb);
                }
                "full-no-check" => {
                    full_walls.1 = Some(run.wall.as_secs_f64());
                    unchecked_rss = Some(run.peak_rss_mb);
                }
                _ => {}
            }
            let summary = &run.report["summary"];
            let found = summary["certificates"].as_u64().unwrap_or(0) as usize;
            let errors = run.report["errors"].as_array().unwrap();
            let expected_errors = expected_errors(&scenario);
            let unrecovered = errors
                .iter()
                .filter(|e| e["code"] == "ThrottlingException")
                .count();
            let failures = errors.len() - expected_errors.min(errors.len());
            // The floor: the busiest account-region's calls of the quota-bound operation at
            // --rate. Full: one DescribeCertificate per certificate; summary: its list pages.
            let (busiest_calls, floor_rate) = if detail == "full" {
                (fabric.stats.busiest("DescribeCertificate"), rate as f64)
            } else {
                (fabric.stats.busiest("ListCertificates"), rate.min(8) as f64)
            };
            let floor = busiest_calls as f64 / floor_rate;
            // A few sequential round trips no rate can remove: the organization's pages,
            // AssumeRole, DescribeRegions, the first list page, the last describe.
            let org_pages = (fabric.accounts as f64 / 20.0).ceil();
            let round_trips = (org_pages + 4.0) * LATENCY.as_secs_f64();
            let wall = run.wall.as_secs_f64();
            let ratio = wall / floor.max(f64::EPSILON);
            // Summary mode makes one list call per account-region: no quota binds it, so there
            // is no floor to reach, only round trips; it is held to the other targets.
            let target = scenario.target_ratio * floor + round_trips;
            let fast_enough = detail == "summary" || wall <= target;
            // The scan without the check is held to the absolute target; with it, to within
            // CHECK_OVERHEAD of the same scan without it (or the absolute target, if higher).
            let rss_target = match (run_kind, unchecked_rss) {
                ("full", Some(unchecked)) => RSS_TARGET_MB.max(unchecked * CHECK_OVERHEAD),
                _ => RSS_TARGET_MB,
            };
            let calls = fabric
                .stats
                .requests
                .load(std::sync::atomic::Ordering::Relaxed);
            let cpu_per_call_us = run.cpu.as_secs_f64() * 1e6 / calls.max(1) as f64;
            let lean_enough = detail == "summary"
                || scenario
                    .cpu_target_us
                    .is_none_or(|limit| cpu_per_call_us <= limit);
            let met = fast_enough
                && lean_enough
                && unrecovered == 0
                && failures == 0
                && found == fabric.certificates + fabric.server_certificates - hidden(&scenario)
                && run.peak_rss_mb < rss_target
                // The check ran where it should, and nowhere else.
                && (run_kind == "full") == checked;
            all_met &= met;
            let (floor_text, ratio_text, note) = if detail == "full" {
                (
                    format!("{floor:.2}"),
                    format!("{ratio:.2}"),
                    format!(
                        "target {target:.2} s = {:.2} x floor + {} round trips{}",
                        scenario.target_ratio,
                        org_pages as u64 + 4,
                        scenario
                            .cpu_target_us
                            .map(|us| format!(", <= {us:.0} us CPU per call"))
                            .unwrap_or_default()
                    ),
                )
            } else {
                let calls = fabric.stats.total("ListCertificates");
                (
                    "-".into(),
                    "-".into(),
                    format!(
                        "no quota floor: {calls} list calls, {} sequential organization pages",
                        org_pages as u64
                    ),
                )
            };
            let (cpu_s, us_per_call) = cpu_figures(run.cpu, calls);
            print_figures(&Figures {
                name: format!("{}/{}", scenario.name, run_kind),
                cpu_s,
                us_per_call,
                accounts: summary["accounts_targeted"].to_string(),
                regions: summary["regions_scanned"].to_string(),
                certificates: found,
                wall,
                floor: floor_text,
                ratio: ratio_text,
                peak_mb: run.peak_rss_mb,
                throttled: fabric
                    .stats
                    .throttled
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .to_string(),
                failures: failures.to_string(),
                met,
                code: run.code,
                note,
            });
            // Where the time went: a floor-bound scan ends when its busiest account-region
            // does, which is the floor after that region's first call.
            if let Some((first, last)) = fabric
                .stats
                .busiest_span("DescribeCertificate", started)
                .filter(|_| detail == "full")
            {
                println!(
                    "{:<14} busiest account-region described from {:.2} s to {:.2} s",
                    "",
                    first.as_secs_f64(),
                    last.as_secs_f64()
                );
            }
            if detail == "summary" {
                all_met &= table_holds_memory(&scenario, &fabric, &rate_arg, found);
            }
            if scenario.name == "small" && run_kind == "full" {
                println!(
                    "{:<14} {}",
                    "",
                    agrees_with_moto(&scenario.org, &run.report)
                );
            }
        }
        if let (Some(with), Some(without)) = full_walls {
            let overhead = (with / without - 1.0) * 100.0;
            let (rss_with, rss_without) =
                (checked_rss.unwrap_or(0.0), unchecked_rss.unwrap_or(0.0));
            let rss_overhead = (rss_with / rss_without - 1.0) * 100.0;
            let met = with <= without * CHECK_OVERHEAD
                && rss_with <= RSS_TARGET_MB.max(rss_without * CHECK_OVERHEAD);
            all_met &= met;
            println!(
                "{:<14} renewal check: full scan {with:.2} s with it, {without:.2} s without: \
                 {overhead:+.1} %; peak {rss_with:.1} MB with it, {rss_without:.1} MB without: \
                 {rss_overhead:+.1} % (targets: time <= +10 %; peak <= +10 % or under \
                 {RSS_TARGET_MB:.0} MB) {}",
                "",
                if met { "meets target" } else { "MISSES target" }
            );
        }
    }
    if !all_met {
        eprintln!("some scenario missed its targets");
        std::process::exit(1);
    }
}

/// Certificates the scenario makes unreachable on purpose (an account without the role).
fn hidden(scenario: &Scenario) -> usize {
    if scenario.name == "small" {
        1
    } else {
        0
    }
}

fn check_scenarios() {
    for (accounts, total, busiest) in [(69, 7_000, 300), (499, 100_000, 1_200)] {
        let org = fastfabric::Org::from_scenario(&generated(accounts, total, busiest, 7));
        assert_eq!(org.account_count(), accounts + 1);
        assert_eq!(org.certificate_count(), total);
        assert_eq!(org.busiest_account_region(), busiest);
    }
    let org = fastfabric::Org::from_scenario(&wide(500, 3, 60, 300));
    assert_eq!(org.account_count(), 501);
    assert_eq!(org.certificate_count(), 90_420);
    assert_eq!(org.busiest_account_region(), 300);
    println!("scenarios check out; run `make bench` (cargo bench --bench scale) to measure");
}
