//! Renewal readiness (SPEC §13) against a DNS server on loopback: the real certaudit binary,
//! the real AWS SDK against the fabric (whose DescribeCertificate gives realistic validation
//! records, e-mail and HTTP validation), and hickory-server's authoritative zones answering as
//! the organization's DNS would. Every case of §13 has its certificate here. No test asks a
//! resolver other than its own.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;

use serde_json::{json, Value};
use support::dns::{cname, response_to, validation_record, zone, DnsServer};
use support::{certificate, with, Fabric};

fn issued(label: &str, domain: &str, extra: Value) -> Value {
    with(
        json!({"label": label, "domain": domain, "type": "AMAZON_ISSUED",
               "in_use_by": ["arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1"]}),
        extra,
    )
}

/// The validation CNAME of `domain` in `account` as ACM expects it: "NAME CNAME VALUE".
fn in_place(account: &str, domain: &str) -> String {
    let (name, value) = validation_record(account, domain);
    format!("{name} IN CNAME {value}")
}

fn record_name(account: &str, domain: &str) -> String {
    validation_record(account, domain).0
}

/// A loopback HTTP server: the path `/.well-known/pki-validation/ok.txt` redirects to
/// `target`, anything else is 404. Returns its port.
fn http_validation_server(target: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let response = if request.starts_with("GET /.well-known/pki-validation/ok.txt ") {
                format!("HTTP/1.1 301 Moved Permanently\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

const REDIRECT_TO: &str = "http://0123abcd.pki-validation.acm-validations.aws/ok.txt";

fn scenario(http_port: u16) -> Value {
    let redirect = |path: &str| {
        json!({"from": format!("http://web.renewal.test:{http_port}/.well-known/pki-validation/{path}"),
               "to": REDIRECT_TO})
    };
    json!({"accounts": [{"name": "app", "certificates": [
        issued("ok", "ok.renewal.test", json!({})),
        issued("wrong", "wrong.renewal.test", json!({})),
        issued("nxdomain", "nx.renewal.test", json!({})),
        issued("nodata", "nodata.renewal.test", json!({})),
        issued("chain", "chain.renewal.test", json!({})),
        issued("caa-here", "caa.renewal.test", json!({})),
        issued("caa-parent", "www.strict.test", json!({})),
        issued("caa-alias", "alias.renewal.test", json!({})),
        issued("wildcard", "*.wild.test", json!({})),
        issued("under-wild", "www.wild.test", json!({})),
        issued("closed", "www.closed.test", json!({})),
        issued("critical", "www.crit.test", json!({})),
        issued("amazon-caa", "www.allowed.test", json!({"sans": ["api.allowed.test"]})),
        issued("mail-soon", "mail.renewal.test", json!({"validation": "EMAIL", "days_left": 50})),
        issued("mail-later", "mail-later.renewal.test", json!({"validation": "EMAIL", "days_left": 200})),
        issued("http-ok", "web.renewal.test", json!({"validation": "HTTP", "http_redirect": redirect("ok.txt")})),
        issued("http-gone", "web.renewal.test", json!({"validation": "HTTP", "http_redirect": redirect("gone.txt")})),
        // Not judged: ACM does not renew these by validating names.
        {"label": "imported", "domain": "imported.renewal.test", "type": "IMPORTED"},
        {"label": "private", "domain": "private.renewal.test", "type": "PRIVATE"},
    ]}]})
}

/// The organization's DNS: every case of SPEC §13 in one zone (`test.`).
fn organization_zone(account: &str) -> String {
    let a = account;
    let records = vec![
        in_place(a, "ok.renewal.test"),
        format!(
            "{} IN CNAME _stale.old-dns-provider.example.",
            record_name(a, "wrong.renewal.test")
        ),
        // nx.renewal.test: nothing at all (NXDOMAIN).
        format!(
            "{} IN TXT \"the CNAME was replaced\"",
            record_name(a, "nodata.renewal.test")
        ),
        // A chain: the record delegates to another name, which points at the value.
        format!(
            "{} IN CNAME _acm.delegated.test.",
            record_name(a, "chain.renewal.test")
        ),
        format!(
            "_acm.delegated.test. IN CNAME {}",
            validation_record(a, "chain.renewal.test").1
        ),
        in_place(a, "caa.renewal.test"),
        "caa.renewal.test. IN CAA 0 issue \"letsencrypt.org\"".into(),
        in_place(a, "www.strict.test"),
        "strict.test. IN CAA 0 issue \"sectigo.com\"".into(),
        in_place(a, "alias.renewal.test"),
        "alias.renewal.test. IN CNAME cdn.vendor.test.".into(),
        "cdn.vendor.test. IN CAA 0 issue \"digicert.com\"".into(),
        "cdn.vendor.test. IN A 127.0.0.1".into(),
        in_place(a, "*.wild.test"),
        "wild.test. IN CAA 0 issue \"amazon.com\"".into(),
        "wild.test. IN CAA 0 issuewild \"letsencrypt.org\"".into(),
        in_place(a, "www.wild.test"),
        in_place(a, "www.closed.test"),
        "closed.test. IN CAA 0 issue \";\"".into(),
        in_place(a, "www.crit.test"),
        "crit.test. IN CAA 0 issue \"amazon.com\"".into(),
        "crit.test. IN CAA 128 tbs \"unknown-to-amazon\"".into(),
        in_place(a, "www.allowed.test"),
        in_place(a, "api.allowed.test"),
        "allowed.test. IN CAA 0 issue \"letsencrypt.org\"".into(),
        "allowed.test. IN CAA 0 issue \"amazontrust.com\"".into(),
        "allowed.test. IN CAA 0 iodef \"mailto:security@allowed.test\"".into(),
        "web.renewal.test. IN A 127.0.0.1".into(),
    ];
    zone("test.", &records)
}

fn check<'a>(report: &'a Value, fabric: &Fabric, label: &str) -> &'a Value {
    &certificate(report, &fabric.arn(label))["renewal_check"]
}

fn risks(report: &Value, fabric: &Fabric, label: &str) -> Vec<(String, String, String)> {
    check(report, fabric, label)["risks"]
        .as_array()
        .unwrap_or_else(|| panic!("{label}: {}", check(report, fabric, label)))
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
                r["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status(report: &Value, fabric: &Fabric, label: &str) -> String {
    check(report, fabric, label)["status"]
        .as_str()
        .unwrap_or_else(|| panic!("{label} was not checked: {}", check(report, fabric, label)))
        .to_string()
}

#[test]
fn every_spec_case_is_judged_from_the_organizations_dns() {
    let port = http_validation_server(REDIRECT_TO);
    let fabric = Fabric::start(scenario(port));
    let account = fabric.account("app");
    // `example.` stands for the rest of the Internet: where a stale record points, NXDOMAIN.
    let dns = DnsServer::zones(&[organization_zone(&account), zone("example.", &[])]);
    let server = dns.addr.to_string();
    // The HTTP validation stand-in is on loopback: asked only with --http-validation-private.
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--dns-server",
        &server,
        "--http-validation-private",
    ]);
    assert_eq!(
        code, 0,
        "every lookup answered: complete; {}",
        report["errors"]
    );
    assert_eq!(report["errors"], json!([]));

    for ok in [
        "ok",
        "chain",
        "under-wild",
        "amazon-caa",
        "mail-later",
        "http-ok",
    ] {
        assert_eq!(
            status(&report, &fabric, ok),
            "ok",
            "{ok}: {}",
            check(&report, &fabric, ok)
        );
        assert_eq!(
            certificate(&report, &fabric.arn(ok))["will_not_renew"],
            false,
            "{ok}"
        );
    }
    let one = |label: &str| {
        assert_eq!(status(&report, &fabric, label), "at_risk", "{label}");
        let c = certificate(&report, &fabric.arn(label));
        assert_eq!(
            c["will_not_renew"], true,
            "{label}: at risk is will not renew"
        );
        assert_eq!(c["auto_renews"], false, "{label}");
        assert_eq!(
            c["renewal_check"]["attempt_in_days"],
            json!(c["days_to_expiry"].as_i64().unwrap() - 60),
            "{label}"
        );
        let found = risks(&report, &fabric, label);
        assert_eq!(found.len(), 1, "{label}: {found:?}");
        found.into_iter().next().unwrap()
    };

    let (kind, name, detail) = one("wrong");
    assert_eq!(kind, "validation-record-wrong");
    assert_eq!(name, record_name(&account, "wrong.renewal.test"));
    assert!(
        detail.contains("_stale.old-dns-provider.example."),
        "{detail}"
    );

    let (kind, _, detail) = one("nxdomain");
    assert_eq!(
        (kind.as_str(), detail.as_str()),
        ("validation-record-missing", "NXDOMAIN")
    );
    let (kind, _, detail) = one("nodata");
    assert_eq!(
        (kind.as_str(), detail.as_str()),
        ("validation-record-missing", "no CNAME record")
    );

    let (kind, name, detail) = one("caa-here");
    assert_eq!(
        (kind.as_str(), name.as_str()),
        ("caa-forbids-amazon", "caa.renewal.test")
    );
    assert!(
        detail.contains("caa.renewal.test.") && detail.contains("letsencrypt.org"),
        "{detail}"
    );
    let (_, _, detail) = one("caa-parent");
    assert!(
        detail.contains("at strict.test.") && detail.contains("sectigo.com"),
        "{detail}"
    );
    let (_, _, detail) = one("caa-alias");
    assert!(
        detail.contains("digicert.com"),
        "the alias's target's set: {detail}"
    );
    let (kind, name, detail) = one("wildcard");
    assert_eq!(
        (kind.as_str(), name.as_str()),
        ("caa-forbids-amazon", "*.wild.test")
    );
    assert!(detail.contains("issuewild"), "{detail}");
    let (_, _, detail) = one("closed");
    assert!(detail.contains("issue \";\""), "{detail}");
    let (_, _, detail) = one("critical");
    assert!(
        detail.contains("unknown tag marked critical") && detail.contains("tbs"),
        "{detail}"
    );

    let (kind, name, _) = one("mail-soon");
    assert_eq!(
        (kind.as_str(), name.as_str()),
        ("needs-approval", "mail.renewal.test")
    );
    let (kind, name, detail) = one("http-gone");
    assert_eq!(kind, "validation-redirect-missing");
    assert!(name.ends_with("/gone.txt"), "{name}");
    assert!(detail.contains("404"), "{detail}");

    for unchecked in ["imported", "private"] {
        assert_eq!(
            check(&report, &fabric, unchecked),
            &Value::Null,
            "{unchecked}"
        );
    }
    let at_risk = [
        "wrong",
        "nxdomain",
        "nodata",
        "caa-here",
        "caa-parent",
        "caa-alias",
        "wildcard",
        "closed",
        "critical",
        "mail-soon",
        "http-gone",
    ];
    assert_eq!(report["summary"]["renewal_at_risk"], at_risk.len());

    // --fail-on renewal-at-risk: findings (4); the table names the record and the day.
    let out = fabric
        .certaudit()
        .args(["scan", "--regions", "us-east-1", "--dns-server", &server])
        .arg("--http-validation-private")
        .args(["--fail-on", "renewal-at-risk", "--list", "will-not-renew"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let table = String::from_utf8_lossy(&out.stdout);
    let wrong = certificate(&report, &fabric.arn("nxdomain"));
    let attempt = chrono::DateTime::parse_from_rfc3339(wrong["not_after"].as_str().unwrap())
        .unwrap()
        - chrono::Duration::days(60);
    let expected = format!(
        "validation CNAME {} is missing (NXDOMAIN): ACM's renewal from {} will fail",
        record_name(&account, "nx.renewal.test"),
        attempt.format("%Y-%m-%d")
    );
    assert!(
        table
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&expected),
        "the table says why, naming the record and the day:\n{table}"
    );
}

#[test]
fn a_failing_resolver_is_unknown_never_ok_nor_at_risk_and_the_scan_is_incomplete() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        issued("one", "one.renewal.test", json!({})),
        issued("two", "two.renewal.test", json!({})),
    ]}]}));
    for (server, code, timeout) in [
        (DnsServer::servfail(), "servfail", "5"),
        (DnsServer::silent(), "timeout", "1"),
    ] {
        let addr = server.addr.to_string();
        let (exit, report) = fabric.scan_json(&[
            "--regions",
            "us-east-1",
            "--dns-server",
            &addr,
            "--dns-timeout",
            timeout,
        ]);
        assert_eq!(exit, 3, "{code}: incomplete; {}", report["errors"]);
        for label in ["one", "two"] {
            assert_eq!(status(&report, &fabric, label), "unknown", "{code}");
            assert_eq!(check(&report, &fabric, label)["risks"], json!([]), "{code}");
            let c = certificate(&report, &fabric.arn(label));
            assert_eq!(c["will_not_renew"], false, "{code}: unknown is not at risk");
        }
        assert_eq!(report["summary"]["renewal_at_risk"], 0);
        let errors = report["errors"].as_array().unwrap();
        assert!(!errors.is_empty());
        for e in errors {
            assert_eq!(e["stage"], "dns", "{e}");
            assert_eq!(e["code"], code, "{e}");
            assert!(
                e["message"].as_str().unwrap().contains(&addr),
                "names the resolver: {e}"
            );
        }
        // One error per failed lookup, not per certificate: the two names share nothing but
        // their parents, and each distinct lookup fails once.
        let messages: std::collections::BTreeSet<&str> = errors
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert_eq!(messages.len(), errors.len(), "{errors:?}");
    }
    // --no-renewal-check: nothing asked, nothing judged.
    let silent = DnsServer::silent();
    let (exit, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--no-renewal-check",
        "--dns-server",
        &silent.addr.to_string(),
    ]);
    assert_eq!(exit, 0, "{}", report["errors"]);
    assert_eq!(check(&report, &fabric, "one"), &Value::Null);
}

#[test]
fn each_distinct_name_is_asked_once_per_scan() {
    // Ten certificates sharing one name's record and parents; the fabric's healthy server
    // counts what it is asked.
    let mut certificates: Vec<Value> = (0..10)
        .map(|i| {
            issued(
                &format!("c{i}"),
                "shared.renewal.test",
                json!({"sans": ["*.shared.renewal.test"]}),
            )
        })
        .collect();
    certificates.push(issued("other", "other.renewal.test", json!({})));
    let fabric =
        Fabric::start(json!({"accounts": [{"name": "app", "certificates": certificates}]}));
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    assert_eq!(code, 0, "{}", report["errors"]);
    assert_eq!(status(&report, &fabric, "c3"), "ok");
    let asked = fabric.dns.asked();
    let mut seen = std::collections::BTreeSet::new();
    for query in &asked {
        assert!(
            seen.insert(query.clone()),
            "{query:?} asked twice: {asked:?}"
        );
    }
    assert!(
        asked.contains(&("renewal.test.".to_string(), "CAA".to_string())),
        "{asked:?}"
    );
}

#[test]
fn the_event_handler_checks_its_one_certificate() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        issued("risky", "risky.renewal.test", json!({"days_left": 30})),
    ]}]}));
    let arn = fabric.arn("risky");
    let event = support::events::approaching(&arn, 30, "risky.renewal.test");
    // Its CNAME deleted: at risk, and the result says why.
    let broken = DnsServer::zones(&[zone("test.", &[])]);
    let addr = broken.addr.to_string();
    let hub = ["--security-hub-region", "us-east-1"];
    let (code, result, stderr) = support::events::run_event(
        &fabric,
        &[&["--dns-server", addr.as_str()], &hub[..]].concat(),
        &event,
    );
    assert_eq!(code, 0, "{stderr}");
    let c = &result["certificate"];
    assert_eq!(c["renewal_check"]["status"], "at_risk", "{result}");
    assert_eq!(
        c["renewal_check"]["risks"][0]["kind"],
        "validation-record-missing"
    );
    assert_eq!(c["will_not_renew"], true);
    // A resolver that never answers: the event is not fully handled (3), the check unknown.
    let silent = DnsServer::silent();
    let addr = silent.addr.to_string();
    let active = |fabric: &Fabric| {
        support::hub::findings(fabric)[&arn]
            .record_state()
            .map(|s| s.as_str().to_string())
    };
    assert_eq!(active(&fabric).as_deref(), Some("ACTIVE"));
    let (code, result, stderr) = support::events::run_event(
        &fabric,
        &[
            &["--dns-server", addr.as_str(), "--dns-timeout", "1"],
            &hub[..],
        ]
        .concat(),
        &event,
    );
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(result["action"], "failed", "{result}");
    assert_eq!(
        active(&fabric).as_deref(),
        Some("ACTIVE"),
        "a resolver outage never resolves (archives) the finding"
    );
    assert_eq!(
        result["certificate"]["renewal_check"]["status"], "unknown",
        "{result}"
    );
    assert!(
        result["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["stage"] == "dns"),
        "{result}"
    );
}

#[test]
fn http_validation_the_ca_cannot_reach_or_this_machine_cannot_ask() {
    // A port nothing listens on: asking fails here, which says nothing of what ACM's CA gets.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        issued("web", "web.renewal.test", json!({"validation": "HTTP", "http_redirect": {
            "from": format!("http://web.renewal.test:{closed}/.well-known/pki-validation/x.txt"),
            "to": REDIRECT_TO}})),
    ]}]}));
    let dns = DnsServer::zones(&[zone("test.", &["web.renewal.test. IN A 127.0.0.1".into()])]);
    let server = dns.addr.to_string();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--dns-server",
        &server,
        "--http-validation-private",
    ]);
    assert_eq!(code, 3, "{}", report["errors"]);
    assert_eq!(status(&report, &fabric, "web"), "unknown");
    let error = support::error_where(&report, |e| e["code"] == "http-error");
    assert_eq!(error["stage"], "dns");
    // By default a host that resolves only inside a network is not asked at all: ACM's CA,
    // on the Internet, cannot reach it, so the renewal will fail.
    let (code, report) = fabric.scan_json(&["--regions", "us-east-1", "--dns-server", &server]);
    assert_eq!(code, 0, "{}", report["errors"]);
    let found = risks(&report, &fabric, "web");
    assert_eq!(found[0].0, "validation-redirect-missing");
    assert!(
        found[0].2.contains("127.0.0.1") && found[0].2.contains("not asked"),
        "{found:?}"
    );
}

#[test]
fn a_dead_resolver_is_one_error_and_given_up_on() {
    let certificates: Vec<Value> = (0..30)
        .map(|i| issued(&format!("c{i}"), &format!("c{i}.dead.test"), json!({})))
        .collect();
    let fabric =
        Fabric::start(json!({"accounts": [{"name": "app", "certificates": certificates}]}));
    let silent = DnsServer::silent();
    let addr = silent.addr.to_string();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--dns-server",
        &addr,
        "--dns-timeout",
        "2",
    ]);
    assert_eq!(code, 3);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(
        errors.len(),
        1,
        "one error per resolver and code: {errors:?}"
    );
    let message = errors[0]["message"].as_str().unwrap();
    assert_eq!(errors[0]["code"], "timeout");
    assert!(
        message.contains("lookups failed (timeout)") && message.contains(&addr),
        "{message}"
    );
    assert!(
        report["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["renewal_check"]["status"] == "unknown"),
        "every check unknown"
    );
}

#[test]
fn a_signal_during_the_renewal_check_is_an_interrupted_error() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        issued("one", "one.renewal.test", json!({})),
        issued("two", "two.renewal.test", json!({})),
    ]}]}));
    let silent = DnsServer::silent();
    let mut cmd = fabric.certaudit_process();
    cmd.args([
        "scan",
        "-o",
        "json",
        "--regions",
        "us-east-1",
        "--dns-timeout",
        "120",
    ])
    .args(["--dns-server", &silent.addr.to_string()])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Every certificate described: the scan is now waiting on DNS alone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while fabric.calls_of("DescribeCertificate").len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the scan never described both"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = support::error_where(&report, |e| e["stage"] == "interrupted");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("renewal check: 2 certificates not checked"),
        "{error}"
    );
    assert_eq!(check(&report, &fabric, "one"), &Value::Null);
}

#[test]
fn stray_answers_are_passed_over_and_a_truncated_one_is_asked_again_over_tcp() {
    use hickory_server::proto::op::Message;
    use hickory_server::proto::rr::rdata::CAA;
    use hickory_server::proto::rr::{Name, RData, Record, RecordType};

    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        issued("big", "big.tcp.test", json!({})),
    ]}]}));
    let (record, value) = validation_record(&fabric.account("app"), "big.tcp.test");
    // Before every genuine UDP answer, two that are not its: the wrong ID, and the right ID
    // for another question. Each points the question's name elsewhere.
    let strays = |query: &Message| {
        let name = query.queries[0].name().to_ascii();
        let mut wrong_id = response_to(query);
        wrong_id.metadata.id = query.metadata.id.wrapping_add(1);
        wrong_id.add_answer(cname(&name, "_spoofed.elsewhere.example."));
        let mut wrong_question = response_to(query);
        wrong_question.queries[0].set_name(Name::from_ascii("other.tcp.test.").unwrap());
        wrong_question.add_answer(cname(&name, "_spoofed.elsewhere.example."));
        vec![wrong_id, wrong_question]
    };
    // big.tcp.test's CAA set is too large for UDP: truncated there, whole over TCP, where it
    // names 40 CAs but not Amazon.
    let udp = move |query: &Message| {
        let q = &query.queries[0];
        let name = q.name().to_ascii().to_ascii_lowercase();
        let mut answer = response_to(query);
        match q.query_type() {
            RecordType::CNAME if name == record => {
                answer.add_answer(cname(&record, &value));
            }
            RecordType::CAA if name == "big.tcp.test." => answer.metadata.truncation = true,
            _ => {}
        }
        let mut answers = strays(query);
        answers.push(answer);
        answers
    };
    let whole_set = |query: &Message| {
        let mut answer = response_to(query);
        for i in 0..40 {
            let ca = Name::from_ascii(format!("ca-number-{i:02}.example")).unwrap();
            answer.add_answer(Record::from_rdata(
                Name::from_ascii("big.tcp.test.").unwrap(),
                300,
                RData::CAA(CAA::new_issue(false, Some(ca), vec![])),
            ));
        }
        answer
    };
    let dns = DnsServer::scripted(udp, whole_set);
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--dns-server",
        &dns.addr.to_string(),
    ]);
    assert_eq!(code, 0, "{}", report["errors"]);
    let risks = risks(&report, &fabric, "big");
    assert_eq!(
        risks.len(),
        1,
        "the validation record as the server gave it, not as the strays did; the CAA set \
         as TCP gave it: {risks:?}"
    );
    assert_eq!(risks[0].0, "caa-forbids-amazon", "{risks:?}");
    assert!(risks[0].2.contains("ca-number-39.example"), "{risks:?}");
}

#[test]
fn a_resolver_port_nothing_listens_on_is_unreachable_at_once() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        issued("one", "one.closed-port.test", json!({})),
    ]}]}));
    // A loopback port just freed: nothing answers there, and the kernel says so.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--dns-server",
        &closed.to_string(),
    ]);
    assert_eq!(code, 3, "incomplete: {}", report["errors"]);
    assert_eq!(status(&report, &fabric, "one"), "unknown");
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e["stage"] == "dns" && e["code"] == "unreachable"),
        "a refused port is said to be one, not waited out as a silent server: {errors:?}"
    );
}

#[test]
fn an_alias_loop_is_no_answer_and_a_dead_first_server_is_passed_over() {
    use hickory_server::proto::op::Message;
    use hickory_server::proto::rr::RecordType;

    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        issued("looped", "looped.alias.test", json!({})),
        issued("fine", "fine.alias.test", json!({})),
    ]}]}));
    let account = fabric.account("app");
    let records: Vec<(String, String)> = ["looped.alias.test", "fine.alias.test"]
        .iter()
        .map(|d| validation_record(&account, d))
        .collect();
    // looped.alias.test is an alias of an alias of itself: its CAA question is answered with
    // the loop alone. ACM's CA gets no CAA set there either, and must not issue: unknown.
    let answer = move |query: &Message| {
        let mut answer = response_to(query);
        let q = &query.queries[0];
        let name = q.name().to_ascii().to_ascii_lowercase();
        match q.query_type() {
            RecordType::CNAME => {
                if let Some((record, value)) = records.iter().find(|(r, _)| *r == name) {
                    answer.add_answer(cname(record, value));
                }
            }
            RecordType::CAA if name == "looped.alias.test." => {
                answer.add_answer(cname("looped.alias.test.", "other.alias.test."));
                answer.add_answer(cname("other.alias.test.", "looped.alias.test."));
            }
            _ => {}
        }
        vec![answer]
    };
    let dns = DnsServer::scripted(answer, |query| query.clone());
    // The first server never answers: each lookup it is asked first loses its share of the
    // timeout, then the second answers; the scan is complete.
    let dead = DnsServer::silent();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--dns-server",
        &dead.addr.to_string(),
        "--dns-server",
        &dns.addr.to_string(),
        "--dns-timeout",
        "2",
    ]);
    assert_eq!(
        code, 3,
        "the loop leaves one check unknown: {}",
        report["errors"]
    );
    assert_eq!(status(&report, &fabric, "fine"), "ok");
    assert_eq!(status(&report, &fabric, "looped"), "unknown");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "only the loop: {errors:?}");
    assert_eq!(errors[0]["code"], "dns-error", "{errors:?}");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("loop"),
        "{errors:?}"
    );
}

#[test]
fn of_two_failing_servers_the_answer_is_reported_not_the_silence() {
    let fabric = Fabric::start(json!({"accounts": [{"name": "app", "certificates": [
        issued("one", "one.two-servers.test", json!({})),
    ]}]}));
    let silent = DnsServer::silent();
    let servfail = DnsServer::servfail();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--dns-server",
        &servfail.addr.to_string(),
        "--dns-server",
        &silent.addr.to_string(),
        "--dns-timeout",
        "2",
    ]);
    assert_eq!(code, 3);
    assert_eq!(status(&report, &fabric, "one"), "unknown");
    let errors = report["errors"].as_array().unwrap();
    assert!(
        !errors.is_empty() && errors.iter().all(|e| e["code"] == "servfail"),
        "the first server's SERVFAIL says more than the second one's silence after it: {errors:?}"
    );
}
