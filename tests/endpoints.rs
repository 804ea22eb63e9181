//! `certaudit endpoints` and `scan --probe` against real TLS servers on 127.0.0.1, serving
//! certificates made here with rcgen (a root, an intermediate, one that expires soon, and
//! leaves valid, expired, for the wrong name, sent without their intermediate, self-signed),
//! some of them also imported into the fabric's ACM. Every name is reached through
//! `--resolve`; no test connects anywhere but loopback.

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;

use chrono::{Datelike, Utc};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};
use support::inbox::Inbox;
use support::{json_run, Fabric};

/// Set a certificate's validity: from `from` days from now to `to` (whole days, UTC).
fn validity(params: &mut CertificateParams, from: i64, to: i64) {
    let ymd = |days: i64| {
        let d = Utc::now() + chrono::Duration::days(days);
        rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
    };
    params.not_before = ymd(from);
    params.not_after = ymd(to);
}

type Issuer = CertifiedIssuer<'static, KeyPair>;

fn authority(name: &str, days: i64, parent: Option<&Issuer>) -> Issuer {
    authority_dated(name, -30, days, parent)
}

/// A CA valid from `from` days from now to `to`.
fn authority_dated(name: &str, from: i64, to: i64, parent: Option<&Issuer>) -> Issuer {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    validity(&mut params, from, to);
    let key = KeyPair::generate().unwrap();
    match parent {
        None => CertifiedIssuer::self_signed(params, key).unwrap(),
        Some(parent) => CertifiedIssuer::signed_by(params, key, parent).unwrap(),
    }
}

/// A leaf for `names`, `days` left, signed by `issuer` (self-signed when None).
struct Leaf {
    der: CertificateDer<'static>,
    pem: String,
    key: KeyPair,
}

fn leaf(names: &[&str], days: i64, issuer: Option<&Issuer>) -> Leaf {
    leaf_dated(names, -10, days, issuer)
}

/// A leaf valid from `from` days from now to `to`.
fn leaf_dated(names: &[&str], from: i64, to: i64, issuer: Option<&Issuer>) -> Leaf {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    validity(&mut params, from, to);
    let key = KeyPair::generate().unwrap();
    let cert = match issuer {
        Some(issuer) => params.signed_by(&key, issuer).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    Leaf {
        der: cert.der().clone(),
        pem: cert.pem(),
        key,
    }
}

/// TLS servers on 127.0.0.1, one per chain, answering handshakes until the test ends.
struct Servers {
    ports: BTreeMap<String, u16>,
    _runtime: tokio::runtime::Runtime,
}

impl Servers {
    fn start(served: Vec<(&str, Vec<CertificateDer<'static>>, &KeyPair)>) -> Servers {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let ports = served
            .into_iter()
            .map(|(name, chain, key)| {
                let port =
                    support::tls::serve(&runtime, chain, key.serialize_der(), Duration::ZERO);
                (name.to_string(), port)
            })
            .collect();
        Servers {
            ports,
            _runtime: runtime,
        }
    }
}

/// `certaudit endpoints -o json --report <an empty report> ARGS` with no AWS at hand (a report
/// needs no call): the exit code, the document (Null when stdout is not one) and stderr.
fn endpoints_json(dir: &Path, args: &[String]) -> (i32, Value, String) {
    let report = dir.join("empty-report.json");
    if !report.exists() {
        let empty = certaudit::report::Report::new(Utc::now(), 45, "111111111111");
        std::fs::write(&report, serde_json::to_vec(&empty).unwrap()).unwrap();
    }
    let out = support::certaudit_at("http://127.0.0.1:1", dir)
        .args(["endpoints", "-o", "json", "--report"])
        .arg(&report)
        .args(args)
        .output()
        .unwrap();
    let document = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), document, stderr)
}

/// Write `lines` as an endpoints file in `dir`; the `--endpoints FILE` arguments.
fn endpoints_file(dir: &Path, text: &str) -> Vec<String> {
    let file = dir.join("endpoints.txt");
    std::fs::write(&file, text).unwrap();
    vec!["--endpoints".into(), file.display().to_string()]
}

/// A runtime for the test's own servers.
fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A loopback port with nothing listening.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn by_host(document: &Value) -> BTreeMap<String, Value> {
    document["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["host"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

fn findings(e: &Value) -> Vec<String> {
    e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_finding_and_status_against_local_tls_servers() {
    let root = authority("certaudit test root", 3650, None);
    let intermediate = authority("certaudit test intermediate", 1800, Some(&root));
    let short = authority("certaudit short intermediate", 10, Some(&root));
    let good = leaf(&["good.test"], 200, Some(&intermediate));
    let old = leaf(&["old.test"], -5, Some(&intermediate));
    let wrong = leaf(&["other.test"], 200, Some(&intermediate));
    let lonely = leaf(&["lonely.test"], 200, Some(&intermediate));
    let soon = leaf(&["soon.test"], 20, Some(&intermediate));
    let shortint = leaf(&["shortint.test"], 200, Some(&short));
    let own = leaf(&["selfsigned.test"], 200, None);
    let acm = leaf(&["acm.test"], 300, Some(&intermediate));
    let stale_in_acm = leaf(&["stale.test"], 300, Some(&intermediate));
    let stale_served = leaf(&["stale.test"], 90, Some(&intermediate));
    let private = leaf(&["pca.test"], 300, Some(&intermediate));
    let with = |l: &Leaf, via: &Issuer| vec![l.der.clone(), via.der().clone()];
    let servers = Servers::start(vec![
        ("good.test", with(&good, &intermediate), &good.key),
        ("old.test", with(&old, &intermediate), &old.key),
        ("wrong.test", with(&wrong, &intermediate), &wrong.key),
        ("lonely.test", vec![lonely.der.clone()], &lonely.key),
        ("soon.test", with(&soon, &intermediate), &soon.key),
        ("shortint.test", with(&shortint, &short), &shortint.key),
        ("selfsigned.test", vec![own.der.clone()], &own.key),
        ("acm.test", with(&acm, &intermediate), &acm.key),
        (
            "stale.test",
            with(&stale_served, &intermediate),
            &stale_served.key,
        ),
        ("pca.test", with(&private, &intermediate), &private.key),
    ]);

    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": [
        {"label": "wild", "domain": "*.wild.test", "type": "AMAZON_ISSUED",
         "in_use_by": ["arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/w/1"]},
    ]}]}));
    let import = |l: &Leaf, lb: &str, kind: &str| {
        fabric.change(json!({"op": "import_pem", "account": "web", "type": kind,
            "certificate": l.pem, "private_key": l.key.serialize_pem(),
            "chain": intermediate.pem(),
            "in_use_by": [format!("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/{lb}/1")]}))
    };
    let acm_arn = import(&acm, "acm", "IMPORTED");
    let stale_arn = import(&stale_in_acm, "stale", "IMPORTED");
    import(&private, "pca", "PRIVATE");

    let dir = tempfile::tempdir().unwrap();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--report-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{}", report["errors"]);
    let report_file = dir.path().join("report.json");
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root.pem()).unwrap();

    let closed = closed_port();
    let mut listed = String::from("# endpoints ACM does not know\n");
    let mut resolve = Vec::new();
    for (name, port) in &servers.ports {
        if !["acm.test", "stale.test", "pca.test"].contains(&name.as_str()) {
            listed.push_str(&format!("{name}:{port}\n"));
            resolve.push(format!("{name}:{port}:127.0.0.1"));
        }
    }
    // The inventory's names are probed on 443; the connection goes to the test's port.
    let inventory_pins: Vec<String> = ["acm.test", "stale.test", "pca.test"]
        .iter()
        .map(|name| format!("{name}:443:127.0.0.1:{}", servers.ports[*name]))
        .collect();
    resolve.extend(inventory_pins.iter().cloned());
    listed.push_str(&format!("closed.test:{closed}\n"));
    resolve.push(format!("closed.test:{closed}:127.0.0.1"));
    listed.push_str(&format!("localhost:{}\n", servers.ports["good.test"]));
    let file = dir.path().join("endpoints.txt");
    std::fs::write(&file, listed).unwrap();

    let mut args: Vec<String> = vec![
        "endpoints".into(),
        "-o".into(),
        "json".into(),
        "--report".into(),
    ];
    args.push(report_file.display().to_string());
    args.extend([
        "--endpoints".into(),
        file.display().to_string(),
        "--ca-file".into(),
        ca.display().to_string(),
    ]);
    for r in &resolve {
        args.extend(["--resolve".into(), r.clone()]);
    }
    let (code, document) = json_run(fabric.certaudit().args(&args));
    assert_eq!(code, 3, "closed.test is unreachable: {document:#}");
    let e = by_host(&document);
    let status = |h: &str| e[h]["status"].as_str().unwrap().to_string();

    assert_eq!(
        (status("good.test"), findings(&e["good.test"])),
        ("ok".into(), vec![])
    );
    assert_eq!(e["good.test"]["chain_trusted"], true);
    assert_eq!(e["good.test"]["hostname_match"], true);
    assert_eq!(e["good.test"]["address"], "127.0.0.1");
    assert_eq!(e["good.test"]["sni"], "good.test");
    assert_eq!(e["good.test"]["acm"], Value::Null, "not in the inventory");

    assert_eq!(
        (status("old.test"), findings(&e["old.test"])),
        ("critical".into(), vec!["expired".to_string()])
    );
    assert_eq!(
        e["old.test"]["chain_trusted"], true,
        "expired, not untrusted"
    );
    assert!(e["old.test"]["served"]["days_to_expiry"].as_i64().unwrap() < 0);

    assert_eq!(
        (status("wrong.test"), findings(&e["wrong.test"])),
        ("critical".into(), vec!["hostname_mismatch".to_string()])
    );
    assert_eq!(e["wrong.test"]["served"]["sans"], json!(["other.test"]));

    assert_eq!(status("lonely.test"), "critical");
    assert_eq!(
        findings(&e["lonely.test"]),
        vec!["untrusted", "incomplete_chain"]
    );

    assert_eq!(
        (status("soon.test"), findings(&e["soon.test"])),
        ("warning".into(), vec!["expiring".to_string()])
    );

    assert_eq!(status("shortint.test"), "warning");
    assert_eq!(findings(&e["shortint.test"]), vec!["intermediate_expiring"]);
    let chain_end = e["shortint.test"]["chain_not_after"].as_str().unwrap();
    let served_end = e["shortint.test"]["served"]["not_after"].as_str().unwrap();
    assert!(
        chain_end < served_end,
        "the intermediate ends first: {chain_end} < {served_end}"
    );

    assert_eq!(
        (status("selfsigned.test"), findings(&e["selfsigned.test"])),
        ("critical".into(), vec!["untrusted".to_string()])
    );

    assert_eq!(status("acm.test"), "ok", "{:#}", e["acm.test"]);
    assert_eq!(e["acm.test"]["port"], 443);
    assert_eq!(e["acm.test"]["acm"]["arn"], acm_arn);
    assert_eq!(e["acm.test"]["acm"]["match"], "same");
    assert_eq!(
        e["acm.test"]["acm"]["serial"],
        e["acm.test"]["served"]["serial"]
    );
    let in_acm = support::certificate(&report, acm_arn.as_str().unwrap())["serial"].clone();
    assert!(
        in_acm.as_str().unwrap().contains(':'),
        "ACM writes serials with colons: {in_acm}"
    );
    assert_eq!(
        (status("pca.test"), e["pca.test"]["acm"]["match"].clone()),
        ("ok".into(), json!("same"))
    );

    assert_eq!(
        (status("stale.test"), findings(&e["stale.test"])),
        ("critical".into(), vec!["mismatch".to_string()])
    );
    assert_eq!(e["stale.test"]["acm"]["arn"], stale_arn);
    assert_eq!(e["stale.test"]["acm"]["match"], "different");

    assert_eq!(status("closed.test"), "unreachable");
    assert_eq!(e["closed.test"]["error"]["code"], "connect");
    assert_eq!(
        e["closed.test"]["findings"],
        json!([]),
        "unreachable is not a certificate finding"
    );

    assert_eq!(status("localhost"), "skipped");
    assert_eq!(e["localhost"]["reason"], "private-address");
    assert_eq!(status("*.wild.test"), "skipped");
    assert!(e["*.wild.test"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("wildcard"));

    let summary = &document["summary"];
    assert_eq!(
        (
            summary["ok"].as_u64(),
            summary["unreachable"].as_u64(),
            summary["skipped"].as_u64()
        ),
        (Some(3), Some(1), Some(2))
    );

    // Exit codes: --allow-partial forgives the unreachable one; --fail-on takes findings.
    let code = |extra: &[&str]| {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(extra);
        fabric
            .certaudit()
            .args(&all)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&["--allow-partial"]), Some(0));
    assert_eq!(code(&["--allow-partial", "--fail-on", "mismatch"]), Some(4));
    assert_eq!(code(&["--fail-on", "mismatch"]), Some(3), "incomplete wins");

    // Without --ca-file the test root is unknown: the private ACM certificate's name is
    // private_ca (a warning: pass its root), the imported one's untrusted.
    let mut without: Vec<&str> = vec![
        "endpoints",
        "-o",
        "json",
        "--report",
        report_file.to_str().unwrap(),
    ];
    for pin in &inventory_pins {
        without.extend(["--resolve", pin.as_str()]);
    }
    let (code, untrusted) = json_run(fabric.certaudit().args(&without));
    assert_eq!(code, 0, "all reached: {untrusted:#}");
    let e = by_host(&untrusted);
    assert_eq!(findings(&e["acm.test"]), vec!["untrusted"]);
    assert_eq!(findings(&e["pca.test"]), vec!["private_ca"]);
    assert_eq!(e["pca.test"]["status"], "warning");
}

#[test]
fn scan_probe_adds_endpoints_to_the_report_and_endpoints_csv() {
    let root = authority("certaudit test root", 3650, None);
    let served = leaf(&["shop.test"], 120, Some(&root));
    let servers = Servers::start(vec![("shop.test", vec![served.der.clone()], &served.key)]);
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": []}]}));
    fabric.change(json!({"op": "import_pem", "account": "web",
        "certificate": served.pem, "private_key": served.key.serialize_pem(),
        "in_use_by": ["arn:aws:cloudfront::1:distribution/E1"]}));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root.pem()).unwrap();
    let pin = format!("shop.test:443:127.0.0.1:{}", servers.ports["shop.test"]);
    let out = dir.path().join("out");
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--probe",
        "--resolve",
        &pin,
        "--ca-file",
        ca.to_str().unwrap(),
        "--report-dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{report:#}");
    let endpoints = report["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0]["host"], "shop.test");
    assert_eq!(endpoints[0]["status"], "ok", "{:#}", endpoints[0]);
    assert_eq!(endpoints[0]["acm"]["match"], "same");
    let csv = std::fs::read_to_string(out.join("endpoints.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("host,port,sni,address,status,"));
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("shop.test,443,shop.test,127.0.0.1,ok,"),
        "{csv}"
    );

    // Without --probe the report has no endpoints key at all (a schema addition only).
    let (_, plain) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert!(plain.get("endpoints").is_none());
    // An in-use name that cannot be reached makes the scan incomplete.
    // An in-use name that cannot be reached makes the scan incomplete, and the SNS summary
    // says so although no certificate needs attention.
    let inbox = Inbox::new(&fabric);
    let nowhere = format!("shop.test:443:127.0.0.1:{}", closed_port());
    let pages = tempfile::tempdir().unwrap();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--probe",
        "--resolve",
        &nowhere,
        "--sns-topic-arn",
        &inbox.topic_arn,
        "--report-dir",
        pages.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    assert_eq!(report["endpoints"][0]["status"], "unreachable");
    // report.html says so too, though no account or region failed.
    let page = std::fs::read_to_string(pages.path().join("report.html")).unwrap();
    assert!(
        page.contains("id=\"incomplete\"") && page.contains("1 endpoint(s) could not be reached"),
        "the page's INCOMPLETE banner"
    );
    let messages = inbox.take();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (subject, body) = &messages[0];
    assert!(
        subject.contains("1 endpoint serving a problem"),
        "{subject}"
    );
    assert!(body.contains("ENDPOINTS SERVING A PROBLEM (1)"), "{body}");
    assert!(
        body.contains("* shop.test:443 - UNREACHABLE - connect"),
        "{body}"
    );
}

/// Every endpoint of a document as (host, address, status), in the document's order.
fn rows(document: &Value) -> Vec<(String, String, String)> {
    document["endpoints"]
        .as_array()
        .unwrap_or_else(|| panic!("no endpoints: {document:#}"))
        .iter()
        .map(|e| {
            let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
            (text(&e["host"]), text(&e["address"]), text(&e["status"]))
        })
        .collect()
}

#[test]
fn an_expired_or_not_yet_valid_intermediate_is_untrusted_whatever_the_leafs_age() {
    let root = authority("certaudit test root", 3650, None);
    let expired = authority_dated("expired intermediate", -500, -1, Some(&root));
    let early = authority_dated("not yet valid intermediate", 1, 1000, Some(&root));
    let old = leaf_dated(&["old.test"], -400, 200, Some(&expired));
    let young = leaf(&["young.test"], 200, Some(&early));
    let servers = Servers::start(vec![
        (
            "old.test",
            vec![old.der.clone(), expired.der().clone()],
            &old.key,
        ),
        (
            "young.test",
            vec![young.der.clone(), early.der().clone()],
            &young.key,
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root.pem()).unwrap();
    let mut args = vec!["--ca-file".to_string(), ca.display().to_string()];
    for (name, port) in &servers.ports {
        args.extend(["--resolve".into(), format!("{name}:443:127.0.0.1:{port}")]);
    }
    args.extend(endpoints_file(dir.path(), "old.test\nyoung.test\n"));
    let (code, document, stderr) = endpoints_json(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let e = by_host(&document);
    for host in ["old.test", "young.test"] {
        assert_eq!(e[host]["status"], "critical", "{:#}", e[host]);
        assert_eq!(e[host]["chain_trusted"], false, "{:#}", e[host]);
        assert_eq!(e[host]["chain_not_after"], Value::Null);
        assert_eq!(findings(&e[host]), vec!["untrusted"], "{:#}", e[host]);
    }
    args.extend(["--fail-on".into(), "untrusted".into()]);
    let (code, _, stderr) = endpoints_json(dir.path(), &args);
    assert_eq!(code, 4, "--fail-on untrusted fires: {stderr}");
}

#[test]
fn ipv4_mapped_in_ipv6_through_dns_is_skipped_as_private_and_never_connected() {
    let runtime = server_runtime();
    let listener = support::tls::Silent::start(&runtime);
    let dir = tempfile::tempdir().unwrap();
    // An address literal is looked up as a name is (no --resolve): the guard applies to it.
    let args = endpoints_file(
        dir.path(),
        &format!("[::ffff:127.0.0.1]:{}\n", listener.port),
    );
    let (code, document, stderr) = endpoints_json(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let e = &document["endpoints"][0];
    assert_eq!(
        (e["status"].as_str(), e["reason"].as_str()),
        (Some("skipped"), Some("private-address")),
        "{e:#}"
    );
    assert_eq!(e["address"], "::ffff:127.0.0.1");
    assert_eq!(listener.accepted(), 0, "no connection was made");

    // The address does reach the listener when asked to: the zero above is the guard's. (A
    // machine whose stack has no IPv6 sockets cannot show it; the guard is checked above.)
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let mapped = format!("[::ffff:127.0.0.1]:{}", probe.local_addr().unwrap().port());
    if std::net::TcpStream::connect(mapped).is_err() {
        return;
    }
    let mut asked = args.clone();
    asked.extend(["--probe-private".into(), "--tls-timeout".into(), "1".into()]);
    let (code, document, _) = endpoints_json(dir.path(), &asked);
    assert_eq!(
        code, 3,
        "a silent listener ends as unreachable: {document:#}"
    );
    assert_eq!(listener.accepted(), 1);
}

#[test]
fn every_address_of_a_name_is_probed_and_each_different_result_reported() {
    let root = authority("certaudit test root", 3650, None);
    let fresh = leaf(&["lb.test", "same.test", "dual.test"], 200, Some(&root));
    let stale = leaf(&["lb.test"], -3, Some(&root));
    let runtime = server_runtime();
    let key = |l: &Leaf| l.key.serialize_der();
    let serve = |ip: &str, port: u16, l: &Leaf| {
        let at = format!("{ip}:{port}").parse().unwrap();
        support::tls::serve_at(&runtime, at, vec![l.der.clone()], key(l), Duration::ZERO)
    };
    // One load balancer: the node on 127.0.0.2 still serves an expired certificate.
    let lb = serve("127.0.0.1", 0, &fresh);
    serve("127.0.0.2", lb, &stale);
    // Two nodes serving the same certificate: one row.
    let same = serve("127.0.0.1", 0, &fresh);
    serve("127.0.0.2", same, &fresh);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root.pem()).unwrap();
    let mut args = vec!["--ca-file".to_string(), ca.display().to_string()];
    for pin in [
        format!("lb.test:{lb}:127.0.0.1,127.0.0.2"),
        format!("same.test:{same}:127.0.0.1,127.0.0.2"),
        // Nothing listens on ::1 at that port: the IPv4 node is still checked.
        format!("dual.test:{lb}:[::1],127.0.0.1"),
    ] {
        args.extend(["--resolve".into(), pin]);
    }
    args.extend(endpoints_file(
        dir.path(),
        &format!("lb.test:{lb}\nsame.test:{same}\ndual.test:{lb}\n"),
    ));
    let (code, document, stderr) = endpoints_json(dir.path(), &args);
    // Nothing listens on ::1 there: refused (unreachable, exit 3); on a machine without IPv6,
    // no route (skipped, as the IPv4 address answered).
    let v6 = document["endpoints"][0]["status"]
        .as_str()
        .unwrap_or_default();
    match v6 {
        "unreachable" => assert_eq!(code, 3, "{stderr}"),
        _ => assert_eq!(
            (v6, document["endpoints"][0]["reason"].as_str(), code),
            ("skipped", Some("no-route"), 0),
            "{document:#}"
        ),
    }
    let row = |h: &str, a: &str, s: &str| (h.to_string(), a.to_string(), s.to_string());
    assert_eq!(
        rows(&document),
        vec![
            row("dual.test", "::1", v6),
            row("dual.test", "127.0.0.1", "ok"),
            row("lb.test", "127.0.0.1", "ok"),
            row("lb.test", "127.0.0.2", "critical"),
            row("same.test", "127.0.0.1", "ok"),
        ]
    );
    assert_eq!(findings(&document["endpoints"][3]), vec!["expired"]);
}

#[test]
fn bad_endpoint_lines_are_a_usage_error_before_any_probe() {
    let runtime = server_runtime();
    let listener = support::tls::Silent::start(&runtime);
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--resolve".to_string(),
        format!("good.test:443:127.0.0.1:{}", listener.port),
    ];
    args.extend(endpoints_file(
        dir.path(),
        "good.test\na.test:0\n:443\na.test:443:extra\nhost with spaces\n.\n",
    ));
    let (code, _, stderr) = endpoints_json(dir.path(), &args);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("endpoints.txt"), "names the file: {stderr}");
    for n in 2..=6 {
        assert!(stderr.contains(&format!("line {n}:")), "line {n}: {stderr}");
    }
    assert!(!stderr.contains("line 1:"), "{stderr}");
    assert!(
        stderr.contains("such as www.example.com"),
        "the fix: {stderr}"
    );
    assert_eq!(listener.accepted(), 0, "nothing was probed");
}

#[test]
fn a_bom_is_dropped_and_wildcard_lines_are_listed_as_skipped() {
    let root = authority("certaudit test root", 3650, None);
    let served = leaf(&["first.test"], 200, Some(&root));
    let servers = Servers::start(vec![("first.test", vec![served.der.clone()], &served.key)]);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root.pem()).unwrap();
    let port = servers.ports["first.test"];
    let mut args = vec![
        "--ca-file".to_string(),
        ca.display().to_string(),
        "--resolve".into(),
        format!("first.test:{port}:127.0.0.1"),
    ];
    args.extend(endpoints_file(
        dir.path(),
        &format!("\u{feff}first.test:{port}\r\n*.wild.test:8443\r\n"),
    ));
    let (code, document, stderr) = endpoints_json(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let e = by_host(&document);
    assert_eq!(e["first.test"]["status"], "ok", "{document:#}");
    assert_eq!(e["*.wild.test"]["status"], "skipped");
    assert_eq!(e["*.wild.test"]["port"], 8443);
    assert!(e["*.wild.test"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("wildcard"));
    assert_eq!(e["*.wild.test"]["address"], Value::Null, "never resolved");
}

#[test]
fn probe_concurrency_stays_within_the_open_files_limit() {
    let root = authority("certaudit test root", 3650, None);
    let served = leaf(&["*.many.test"], 200, Some(&root));
    let runtime = server_runtime();
    // Each handshake waits, so connections pile up as they would on slow endpoints.
    let port = support::tls::serve(
        &runtime,
        vec![served.der.clone()],
        served.key.serialize_der(),
        Duration::from_millis(200),
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root.pem()).unwrap();
    let report = dir.path().join("empty-report.json");
    let empty = certaudit::report::Report::new(Utc::now(), 45, "111111111111");
    std::fs::write(&report, serde_json::to_vec(&empty).unwrap()).unwrap();
    let total = 300;
    let mut listed = String::new();
    let mut command = support::certaudit_at("http://127.0.0.1:1", dir.path());
    command
        .args(["endpoints", "-o", "json", "--probe-concurrency", "1000"])
        .arg("--report")
        .arg(&report)
        .arg("--ca-file")
        .arg(&ca);
    for i in 0..total {
        listed.push_str(&format!("e{i}.many.test\n"));
        command.args(["--resolve", &format!("e{i}.many.test:443:127.0.0.1:{port}")]);
    }
    std::fs::write(dir.path().join("endpoints.txt"), listed).unwrap();
    command
        .arg("--endpoints")
        .arg(dir.path().join("endpoints.txt"));
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; the child runs nothing else before exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let document: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), document["summary"]["ok"].as_u64()),
        (Some(0), Some(total)),
        "{}\n{stderr}",
        document["summary"]
    );
    assert!(
        stderr.contains("--probe-concurrency 1000 lowered to") && stderr.contains("ulimit -n"),
        "says so: {stderr}"
    );
}

/// `certaudit endpoints` over 6 endpoints that answer and 6 that never do, stopped by
/// `signal` once the 6 have answered: exit code, document, stderr.
fn interrupted_endpoints(signal: &str) -> (Option<i32>, Value, String) {
    let root = authority("certaudit test root", 3650, None);
    let names: Vec<String> = (0..6).map(|i| format!("fast{i}.test")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let served = leaf(&names, 200, Some(&root));
    let runtime = server_runtime();
    let (fast, handshakes) = support::tls::serve_counted(
        &runtime,
        "127.0.0.1:0".parse().unwrap(),
        vec![served.der.clone()],
        served.key.serialize_der(),
        Duration::ZERO,
    );
    let slow = support::tls::Silent::start(&runtime);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root.pem()).unwrap();
    let report = dir.path().join("empty-report.json");
    let empty = certaudit::report::Report::new(Utc::now(), 45, "111111111111");
    std::fs::write(&report, serde_json::to_vec(&empty).unwrap()).unwrap();
    let mut listed = String::new();
    let mut command = support::certaudit_at("http://127.0.0.1:1", dir.path());
    command
        .args(["endpoints", "-o", "json", "--tls-timeout", "300"])
        .arg("--report")
        .arg(&report)
        .arg("--ca-file")
        .arg(&ca);
    for i in 0..6 {
        for (kind, port) in [("fast", fast), ("slow", slow.port)] {
            let name = format!("{kind}{i}.test");
            listed.push_str(&format!("{name}\n"));
            command.args(["--resolve", &format!("{name}:443:127.0.0.1:{port}")]);
        }
    }
    std::fs::write(dir.path().join("endpoints.txt"), listed).unwrap();
    command
        .arg("--endpoints")
        .arg(dir.path().join("endpoints.txt"));
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while slow.accepted() < 6 || handshakes.load(std::sync::atomic::Ordering::SeqCst) < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "the probes never began"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The fast handshakes are done; a moment for certaudit to judge them.
    std::thread::sleep(Duration::from_secs(1));
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let document = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), document, stderr)
}

#[test]
fn ctrl_c_keeps_the_endpoints_probed_and_lists_the_unfinished() {
    let (code, document, stderr) = interrupted_endpoints("INT");
    assert_eq!(code, Some(130), "{stderr}");
    for (host, _, status) in rows(&document) {
        let expected = if host.starts_with("fast") {
            "ok"
        } else {
            "skipped"
        };
        assert_eq!(status, expected, "{host}: {document:#}");
    }
    let e = by_host(&document);
    assert_eq!(e.len(), 12);
    assert_eq!(e["slow3.test"]["reason"], "interrupted");
    assert_eq!(document["summary"]["ok"], 6);
    assert!(
        stderr.contains("probing interrupted by SIGINT")
            && stderr.contains("6 endpoints not probed"),
        "{stderr}"
    );
}

#[test]
fn sigterm_keeps_the_endpoints_probed_and_exits_143() {
    let (code, document, stderr) = interrupted_endpoints("TERM");
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(document["summary"]["ok"], 6, "{document:#}");
    assert_eq!(document["summary"]["skipped"], 6);
}

#[test]
fn ctrl_c_during_scan_probe_keeps_the_endpoints_probed_in_the_report() {
    let root = authority("certaudit test root", 3650, None);
    let served = leaf(&["fast.test", "slow.test"], 120, Some(&root));
    let runtime = server_runtime();
    let fast = support::tls::serve(
        &runtime,
        vec![served.der.clone()],
        served.key.serialize_der(),
        Duration::ZERO,
    );
    let slow = support::tls::Silent::start(&runtime);
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": []}]}));
    fabric.change(json!({"op": "import_pem", "account": "web",
        "certificate": served.pem, "private_key": served.key.serialize_pem(),
        "in_use_by": ["arn:aws:cloudfront::1:distribution/E1"]}));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root.pem()).unwrap();
    let child = fabric
        .certaudit_process()
        .args(["scan", "-o", "json", "--regions", "us-east-1", "--probe"])
        .args(["--tls-timeout", "300", "--ca-file"])
        .arg(&ca)
        .args(["--resolve", &format!("fast.test:443:127.0.0.1:{fast}")])
        .args([
            "--resolve",
            &format!("slow.test:443:127.0.0.1:{}", slow.port),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while slow.accepted() < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the probes never began"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = by_host(&report);
    assert_eq!(e["fast.test"]["status"], "ok", "{report:#}");
    assert_eq!(e["slow.test"]["status"], "skipped");
    assert_eq!(e["slow.test"]["reason"], "interrupted");
    let interrupted = support::error_where(&report, |e| e["stage"] == "interrupted");
    assert!(
        interrupted["message"]
            .as_str()
            .unwrap()
            .contains("probing interrupted by SIGINT"),
        "{interrupted}"
    );
}

#[test]
fn scan_probe_findings_reach_the_table_the_page_and_the_served_fail_on_kinds() {
    // ACM holds a current certificate for old.test; the endpoint still serves an expired one.
    let root = authority("certaudit test root", 3650, None);
    let in_acm = leaf(&["old.test"], 300, Some(&root));
    let served = leaf(&["old.test"], -5, Some(&root));
    let servers = Servers::start(vec![("old.test", vec![served.der.clone()], &served.key)]);
    let fabric = Fabric::start(json!({"accounts": [{"name": "web", "certificates": []}]}));
    fabric.change(json!({"op": "import_pem", "account": "web",
        "certificate": in_acm.pem, "private_key": in_acm.key.serialize_pem(),
        "in_use_by": ["arn:aws:cloudfront::1:distribution/E1"]}));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root.pem()).unwrap();
    let pin = format!("old.test:443:127.0.0.1:{}", servers.ports["old.test"]);
    let out = dir.path().join("out");
    let probe = [
        "scan",
        "--regions",
        "us-east-1",
        "--probe",
        "--resolve",
        &pin,
        "--ca-file",
        ca.to_str().unwrap(),
    ];
    let scan = |extra: &[&str]| fabric.certaudit().args(probe).args(extra).output().unwrap();

    let table = scan(&["--report-dir", out.to_str().unwrap()]);
    assert_eq!(table.status.code(), Some(0), "no --fail-on: {table:?}");
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("Endpoints probed (1): 1 critical"),
        "the table has an endpoints section: {table}"
    );
    let row = table
        .lines()
        .find(|l| l.contains("old.test:443"))
        .unwrap_or_else(|| panic!("no row for old.test:443 in {table}"));
    assert!(
        row.contains("critical") && row.contains("expired") && row.contains("mismatch"),
        "{row}"
    );
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("data-list=\"endpoints\""),
        "the page has the section"
    );
    let at = page.find("data-list=\"endpoints\"").unwrap();
    let section = &page[at..at + page[at..].find("</table>").unwrap()];
    assert!(
        section.contains("old.test:443")
            && section.contains("expired")
            && section.contains("mismatch"),
        "{section}"
    );
    assert!(page.contains("<span data-endpoints=\"critical\">1</span>"));

    // The certificate kinds keep their meaning: ACM's certificate has not expired.
    let code = |extra: &[&str]| scan(extra).status.code();
    assert_eq!(
        code(&["-o", "json", "--fail-on", "expired,expiring"]),
        Some(0)
    );
    assert_eq!(
        code(&["-o", "json", "--fail-on", "served-expired"]),
        Some(4)
    );
    assert_eq!(
        code(&["-o", "json", "--fail-on", "served-mismatch"]),
        Some(4)
    );
    assert_eq!(
        code(&[
            "-o",
            "json",
            "--fail-on",
            "served-untrusted,served-expiring"
        ]),
        Some(0)
    );

    // Unreached, with stdout as data: stderr says which endpoint made the scan incomplete.
    let nowhere = format!("old.test:443:127.0.0.1:{}", closed_port());
    let csv = fabric
        .certaudit()
        .args([
            "scan",
            "--regions",
            "us-east-1",
            "-o",
            "csv",
            "--probe",
            "--resolve",
        ])
        .arg(&nowhere)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&csv.stderr);
    assert_eq!(csv.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("certaudit: unreachable old.test:443 connect"),
        "{stderr}"
    );

    // A served kind without --probe could never match: a usage error, not a silent 0.
    let unprobed = fabric
        .certaudit()
        .args([
            "scan",
            "--regions",
            "us-east-1",
            "--fail-on",
            "served-expired",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&unprobed.stderr);
    assert_eq!(unprobed.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--probe"), "{stderr}");

    // Without --probe neither the table nor the page has an endpoints section.
    let plain = dir.path().join("plain");
    let unprobed = fabric
        .certaudit()
        .args(["scan", "--regions", "us-east-1", "--report-dir"])
        .arg(&plain)
        .output()
        .unwrap();
    let table = String::from_utf8(unprobed.stdout).unwrap();
    assert!(!table.contains("Endpoints probed"), "{table}");
    let page = std::fs::read_to_string(plain.join("report.html")).unwrap();
    assert!(!page.contains("Endpoints probed"));
}

#[test]
fn a_leaf_not_valid_yet_and_a_root_out_of_its_dates_are_untrusted_and_a_root_expiring_is_found() {
    // Three private roots, as --ca-file gives them: current, expired 5 days ago, 10 days left.
    let root = authority("certaudit test root", 3650, None);
    let expired_root = authority_dated("expired root", -500, -5, None);
    let ending_root = authority_dated("ending root", -100, 10, None);
    let future = leaf_dated(&["future.test"], 30, 200, Some(&root));
    let orphan = leaf(&["orphan.test"], 200, Some(&expired_root));
    let ending = leaf(&["ending.test"], 200, Some(&ending_root));
    let servers = Servers::start(vec![
        ("future.test", vec![future.der.clone()], &future.key),
        ("orphan.test", vec![orphan.der.clone()], &orphan.key),
        ("ending.test", vec![ending.der.clone()], &ending.key),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("roots.pem");
    let roots = [&root, &expired_root, &ending_root]
        .map(|r| r.pem())
        .concat();
    std::fs::write(&ca, roots).unwrap();
    let mut args = vec!["--ca-file".to_string(), ca.display().to_string()];
    for (name, port) in &servers.ports {
        args.extend(["--resolve".into(), format!("{name}:443:127.0.0.1:{port}")]);
    }
    args.extend(endpoints_file(
        dir.path(),
        "future.test\norphan.test\nending.test\n",
    ));
    let (code, document, stderr) = endpoints_json(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let e = by_host(&document);
    for host in ["future.test", "orphan.test"] {
        assert_eq!(e[host]["status"], "critical", "{:#}", e[host]);
        assert_eq!(e[host]["chain_trusted"], false, "{:#}", e[host]);
        assert!(findings(&e[host]).contains(&"untrusted".to_string()));
    }
    let ending = &e["ending.test"];
    assert_eq!(ending["chain_trusted"], true, "{ending:#}");
    assert!(
        findings(ending).contains(&"intermediate_expiring".to_string()),
        "the root on the path expires in 10 days: {ending:#}"
    );
    let chain_end = ending["chain_not_after"].as_str().unwrap();
    let served_end = ending["served"]["not_after"].as_str().unwrap();
    assert!(
        chain_end < served_end,
        "{chain_end} is the root's, before {served_end}"
    );
}
