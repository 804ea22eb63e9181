//! Certificate Transparency end to end (SPEC §12): the fabric's inventory, a loopback stand-in
//! serving both search APIs' shapes from real DER certificates (one sharing a serial with a
//! fabric certificate), and every way a source answers badly. No test reaches the real
//! services.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use support::ct::{Behaviour, CtLog, CtStandIn, DomainLog, Entry, Issued, Issuer};
use support::inbox::Inbox;
use support::{acm, certificate, Fabric};

const TOKEN: &str = "cs-token-4f1c9a7e2b";

fn days(n: f64) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::seconds((n * 86_400.0) as i64)
}

/// The fabric's organization: certificates for corp.example and shop.example.co.uk.
fn organization() -> Value {
    json!({"accounts": [{"name": "web", "certificates": [
        acm("www", json!({"domain": "www.corp.example", "days_left": 200})),
        acm("shop", json!({"domain": "shop.example.co.uk", "days_left": 200})),
    ]}]})
}

/// A serial as bytes, from the report's `aa:bb:…`.
fn serial_bytes(serial: &str) -> Vec<u8> {
    serial
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

struct Issuers {
    le: Issuer,
    amazon: Issuer,
    cdn: Issuer,
}

fn issuers() -> Issuers {
    Issuers {
        le: Issuer::new("R11", "Let's Encrypt"),
        amazon: Issuer::new("Amazon RSA 2048 M03", "Amazon"),
        cdn: Issuer::new("GlobalSign Atlas R3 DV TLS CA", "GlobalSign"),
    }
}

fn entry(cert: Issued) -> Entry {
    Entry {
        cert,
        revoked: false,
    }
}

/// corp.example's log: the fabric's own certificate (by serial, from its issuer — the fabric's
/// ACM certificates name "Amazon RSA 2048 M03"), a precertificate and its
/// certificate for one forgotten host (expiring), a replaced pair, an Amazon issuance from
/// an account outside the scan, a CDN's, an expired one — over several pages.
fn corp_log(i: &Issuers, (known_serial, known_issuer): &(Vec<u8>, Issuer)) -> DomainLog {
    let forgotten =
        i.le.issue(&["staging.corp.example"], days(-80.0), days(9.5), None);
    let old_shop =
        i.le.issue(&["blog.corp.example"], days(-85.0), days(5.5), None);
    let new_shop =
        i.le.issue(&["blog.corp.example"], days(-10.0), days(80.5), None);
    DomainLog {
        issued: vec![
            entry(known_issuer.issue(
                &["www.corp.example"],
                days(-10.0),
                days(80.0),
                Some(known_serial.as_slice()),
            )),
            entry(forgotten.precertificate(&i.le)),
            entry(forgotten),
            entry(old_shop),
            entry(new_shop),
            entry(
                i.amazon
                    .issue(&["api.corp.example"], days(-30.0), days(300.5), None),
            ),
            entry(
                i.cdn
                    .issue(&["cdn.corp.example"], days(-30.0), days(20.5), None),
            ),
            entry(i.le.issue(&["gone.corp.example"], days(-100.0), days(-10.0), None)),
        ],
        behaviour: Behaviour::Normal,
    }
}

fn log(domains: Vec<(&str, DomainLog)>) -> CtLog {
    CtLog {
        domains: domains
            .into_iter()
            .map(|(d, l)| (d.to_string(), l))
            .collect::<BTreeMap<_, _>>(),
        page_size: 2,
    }
}

/// The serial of the fabric's www.corp.example, as the scan reads it, and a CA named as its
/// issuer is (a serial is known only from its own issuer).
fn known_serial(fabric: &Fabric) -> (Vec<u8>, Issuer) {
    let (_, report) = fabric.scan_json(&["--regions", "us-east-1"]);
    let www = certificate(&report, &fabric.arn("www"));
    let issuer = Issuer::new(www["issuer"].as_str().unwrap(), "certaudit demo");
    (serial_bytes(www["serial"].as_str().unwrap()), issuer)
}

fn stand_in_requests_have_no_token(stand_in: &CtStandIn) -> bool {
    stand_in
        .requests()
        .iter()
        .all(|r| r.authorization.is_none())
}

/// `certaudit diff --history DB -o json`: the last two scans.
fn diff_json(fabric: &Fabric, db: &str) -> Value {
    let out = fabric
        .certaudit()
        .args(["diff", "--history", db, "-o", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn by_names<'a>(shadow: &'a [Value], name: &str) -> Vec<&'a Value> {
    shadow
        .iter()
        .filter(|s| s["names"].as_array().unwrap().iter().any(|n| n == name))
        .collect()
}

#[test]
fn cert_spotter_finds_the_certificates_no_inventory_holds() {
    let fabric = Fabric::start(organization());
    let i = issuers();
    let stand_in = CtStandIn::start(log(vec![
        ("corp.example", corp_log(&i, &known_serial(&fabric))),
        (
            "example.co.uk",
            DomainLog {
                issued: vec![entry(i.le.issue(
                    &["x.example.co.uk"],
                    days(-1.0),
                    days(60.5),
                    None,
                ))],
                behaviour: Behaviour::Normal,
            },
        ),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let out = fabric
        .certaudit()
        .args(["scan", "-o", "json", "--regions", "us-east-1", "--ct"])
        .args([
            "--ct-endpoint",
            &stand_in.url,
            "--ct-allow-issuers",
            "globalsign",
        ])
        .args(["--fail-on", "shadow-expiring", "--report-dir"])
        .arg(dir.path())
        .env("CERTAUDIT_CT_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a shadow certificate is expiring: {stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ct = &report["ct"];
    assert_eq!(ct["source"], "certspotter");
    let domains: Vec<(&str, &str)> = ct["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["domain"].as_str().unwrap(), d["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        domains,
        [("corp.example", "complete"), ("example.co.uk", "complete")],
        "registrable domains, public-suffix aware (not co.uk)"
    );
    let corp = &ct["domains"][0];
    assert_eq!(
        corp["issuances"], 6,
        "the precertificate and its certificate are one; the expired one is gone"
    );
    // The expired one (ID 8) is not served: Cert Spotter lists unexpired issuances only.
    assert_eq!(
        corp["cursor"], "7",
        "the last issuance ID read, over four pages"
    );

    let shadow = ct["shadow"].as_array().unwrap();
    assert!(
        by_names(shadow, "www.corp.example").is_empty(),
        "its serial is in the inventory"
    );
    assert!(
        by_names(shadow, "cdn.corp.example").is_empty(),
        "--ct-allow-issuers"
    );
    assert!(by_names(shadow, "gone.corp.example").is_empty(), "expired");
    let forgotten = by_names(shadow, "staging.corp.example");
    assert_eq!(
        forgotten.len(),
        1,
        "one issuance, not a precertificate and a certificate"
    );
    let forgotten = forgotten[0];
    assert_eq!(forgotten["kind"], "shadow");
    assert_eq!(forgotten["days_to_expiry"], 9);
    assert_eq!(forgotten["expiring"], true);
    assert_eq!(forgotten["issuer"], "C=US, O=Let's Encrypt, CN=R11");
    assert_eq!(forgotten["revoked"], false);
    assert!(forgotten["link"]
        .as_str()
        .unwrap()
        .starts_with("https://crt.sh/?sha256="));
    let blog = by_names(shadow, "blog.corp.example");
    let kinds: Vec<(&str, bool)> = blog
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap(),
                s["expiring"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(
        kinds.contains(&("superseded", false)),
        "the old one is no alarm: {kinds:?}"
    );
    assert!(kinds.contains(&("shadow", false)), "{kinds:?}");
    let amazon = by_names(shadow, "api.corp.example");
    assert_eq!(amazon[0]["kind"], "amazon-not-in-inventory");
    assert_eq!(
        report["summary"]["shadow"], 3,
        "staging, the new blog, x.example.co.uk"
    );
    assert_eq!(report["summary"]["shadow_expiring"], 1);

    // Paging by `after`, every issuance's DER asked for, the token as a Bearer header.
    let seen = stand_in.requests();
    let corp: Vec<&str> = seen
        .iter()
        .filter(|r| r.path_and_query.contains("domain=corp.example"))
        .map(|r| r.path_and_query.as_str())
        .collect();
    assert_eq!(corp.len(), 5, "four pages and the empty one: {corp:?}");
    assert!(
        corp[1].contains("after=2") && corp[4].contains("after=7"),
        "{corp:?}"
    );
    assert!(corp[0].contains("expand=cert_der") && corp[0].contains("include_subdomains=true"));
    assert!(seen
        .iter()
        .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")[..])));
    assert!(!stderr.contains(TOKEN) && !String::from_utf8_lossy(&out.stdout).contains(TOKEN));

    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("Not in your inventory (CT)") && html.contains("staging.corp.example"));
    let csv = std::fs::read_to_string(dir.path().join("ct_shadow.csv")).unwrap();
    assert!(csv.starts_with("kind,domain,names,issuer,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + shadow.len());
    let inbox = Inbox::new(&fabric);
    let table = fabric
        .certaudit()
        .args([
            "scan",
            "--regions",
            "us-east-1",
            "--ct",
            "--ct-endpoint",
            &stand_in.url,
        ])
        .args(["--sns-topic-arn", &inbox.topic_arn])
        .env("CERTAUDIT_CT_TOKEN", TOKEN)
        .output()
        .unwrap();
    let messages = inbox.take();
    assert_eq!(messages.len(), 1);
    let (subject, body) = &messages[0];
    // The CDN's too, here: no --ct-allow-issuers.
    assert_eq!(subject, "certaudit: 2 shadow certificates expiring (CT)");
    assert!(
        body.contains("SHADOW CERTIFICATES EXPIRING (CERTIFICATE TRANSPARENCY) (2)"),
        "{body}"
    );
    assert!(
        body.contains("* staging.corp.example - 9 days left"),
        "{body}"
    );
    assert!(!body.contains(TOKEN));
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("Not in your inventory (CT)"), "{table}");
    assert!(table.contains("staging.corp.example"), "{table}");
}

#[test]
fn a_failing_domain_is_an_error_for_that_domain_and_never_no_certificates() {
    let fabric = Fabric::start(organization());
    let i = issuers();
    let one = |name: &str| DomainLog {
        issued: vec![entry(i.le.issue(&[name], days(-1.0), days(10.5), None))],
        behaviour: Behaviour::Normal,
    };
    let with = |mut l: DomainLog, b: Behaviour| {
        l.behaviour = b;
        l
    };
    let cases = [
        (Behaviour::Html503, "http-503"),
        (Behaviour::Html502, "http-502"),
        (Behaviour::Empty404, "http-404"),
        (Behaviour::Slow(Duration::from_secs(4)), "timeout"),
        (
            Behaviour::RateLimited {
                retry_after_secs: 600,
                times: 1,
            },
            "rate-limited",
        ),
    ];
    for (behaviour, code) in cases {
        let stand_in = CtStandIn::start(log(vec![
            (
                "corp.example",
                with(one("a.corp.example"), behaviour.clone()),
            ),
            ("example.co.uk", one("b.example.co.uk")),
        ]));
        let (status, report) = fabric.scan_json(&[
            "--regions",
            "us-east-1",
            "--ct",
            "--ct-endpoint",
            &stand_in.url,
            "--timeout",
            "2",
            "--allow-partial",
        ]);
        assert_eq!(
            status, 3,
            "{code}: not forgiven by --allow-partial: {}",
            report["errors"]
        );
        let domains = report["ct"]["domains"].as_array().unwrap();
        assert_eq!(domains[0]["status"], "failed", "{code}: {domains:?}");
        assert!(domains[0]["error"]
            .as_str()
            .unwrap()
            .contains("corp.example"));
        assert_eq!(
            domains[1]["status"], "complete",
            "{code}: the other domain still asked"
        );
        let error = support::error_where(&report, |e| e["stage"] == "ct");
        assert_eq!(error["code"], code, "{error}");
        let shadow = report["ct"]["shadow"].as_array().unwrap();
        assert_eq!(shadow.len(), 1, "{code}: the other domain's: {shadow:?}");
    }

    // 429 with a Retry-After that fits: waited out, then answered.
    let stand_in = CtStandIn::start(log(vec![(
        "corp.example",
        with(
            one("a.corp.example"),
            Behaviour::RateLimited {
                retry_after_secs: 1,
                times: 1,
            },
        ),
    )]));
    let started = std::time::Instant::now();
    let (status, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--ct",
        "--ct-endpoint",
        &stand_in.url,
        "--ct-domains",
        "corp.example",
        "--ct-exclude-domains",
        "example.co.uk",
    ]);
    assert_eq!(status, 0, "{}", report["errors"]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(
        report["ct"]["domains"].as_array().unwrap().len(),
        1,
        "excluded"
    );
}

#[test]
fn crt_sh_rows_are_filtered_exactly_paced_and_a_capped_answer_is_truncated() {
    let fabric = Fabric::start(organization());
    let i = issuers();
    let forgotten =
        i.le.issue(&["staging.corp.example"], days(-80.0), days(9.5), None);
    let stand_in = CtStandIn::start(log(vec![
        (
            "corp.example",
            DomainLog {
                issued: vec![entry(forgotten.precertificate(&i.le)), entry(forgotten)],
                behaviour: Behaviour::Normal,
            },
        ),
        (
            "example.co.uk",
            DomainLog {
                issued: vec![],
                behaviour: Behaviour::Truncated,
            },
        ),
    ]));
    let (status, report) =
        support::json_run(fabric.certaudit().env("CERTAUDIT_CT_TOKEN", TOKEN).args([
            "scan",
            "-o",
            "json",
            "--regions",
            "us-east-1",
            "--ct",
            "--ct-source",
            "crtsh",
            "--ct-endpoint",
            &stand_in.url,
            "--ct-crtsh-per-minute",
            "30",
        ]));
    assert!(
        stand_in_requests_have_no_token(&stand_in),
        "Cert Spotter's token is never sent to crt.sh"
    );
    assert_eq!(
        status, 3,
        "a truncated domain is incomplete: {}",
        report["errors"]
    );
    let ct = &report["ct"];
    assert_eq!(ct["source"], "crtsh");
    let shadow = ct["shadow"].as_array().unwrap();
    let names: Vec<&str> = shadow
        .iter()
        .flat_map(|s| s["names"].as_array().unwrap())
        .filter_map(|n| n.as_str())
        .filter(|n| n.contains("corp.example"))
        .collect();
    assert_eq!(
        names,
        ["staging.corp.example"],
        "look-alikes dropped; one issuance: {shadow:?}"
    );
    assert!(shadow[0]["link"]
        .as_str()
        .unwrap()
        .starts_with("https://crt.sh/?id="));
    let uk = &ct["domains"][1];
    assert_eq!(uk["status"], "truncated", "{uk}");
    let error = support::error_where(&report, |e| e["code"] == "truncated");
    assert!(
        error["message"].as_str().unwrap().contains("example.co.uk"),
        "{error}"
    );
    // Paced: 30 a minute is one every 2 s.
    let at: Vec<std::time::Instant> = stand_in.requests().iter().map(|r| r.at).collect();
    assert_eq!(at.len(), 2);
    assert!(
        at[1] - at[0] >= Duration::from_millis(1900),
        "{:?}",
        at[1] - at[0]
    );
    let asked = &stand_in.requests()[0].path_and_query;
    assert!(
        asked.contains("q=%25.corp.example") && asked.contains("exclude=expired"),
        "{asked}"
    );
}

#[test]
fn ct_reads_a_report_without_aws_and_a_history_continues_from_its_cursors() {
    let fabric = Fabric::start(organization());
    let i = issuers();
    let known = known_serial(&fabric);
    let first = corp_log(&i, &known);
    let stand_in = CtStandIn::start(log(vec![("corp.example", first.clone())]));
    let history = tempfile::tempdir().unwrap();
    let db = history.path().join("h.db");
    let db = db.to_str().unwrap();
    let args = |url: &str| {
        vec![
            "--regions".to_string(),
            "us-east-1".into(),
            "--ct".into(),
            "--ct-endpoint".into(),
            url.into(),
            "--ct-exclude-domains".into(),
            "example.co.uk".into(),
            "--history".into(),
            db.into(),
            "--ct-token".into(),
            TOKEN.into(),
        ]
    };
    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let (status, report) = fabric.scan_json(&refs(&args(&stand_in.url)));
    assert_eq!(status, 0, "{}", report["errors"]);
    assert_eq!(report["ct"]["domains"][0]["cursor"], "7");

    // A day later the log has one more issuance: asked for after the cursor only, and what
    // the first run found is carried over.
    let mut second = first;
    second.issued.push(entry(i.le.issue(
        &["new.corp.example"],
        days(-1.0),
        days(89.5),
        None,
    )));
    let stand_in2 = CtStandIn::start(log(vec![("corp.example", second)]));
    let (status, report) = fabric.scan_json(&refs(&args(&stand_in2.url)));
    assert_eq!(status, 0, "{}", report["errors"]);
    let asked: Vec<String> = stand_in2
        .requests()
        .iter()
        .map(|r| r.path_and_query.clone())
        .collect();
    assert!(asked[0].contains("after=7"), "{asked:?}");
    let shadow = report["ct"]["shadow"].as_array().unwrap();
    assert_eq!(by_names(shadow, "new.corp.example").len(), 1);
    assert_eq!(
        by_names(shadow, "staging.corp.example").len(),
        1,
        "carried over"
    );
    assert_eq!(report["ct"]["domains"][0]["cursor"], "9");

    let diff = diff_json(&fabric, db);
    assert_eq!(diff["summary"]["shadow_added"], 1, "{}", diff["changes"]);
    assert_eq!(diff["summary"]["shadow_gone"], 0);

    // Silenced from now on: gone from the list, carried over or not.
    let mut silenced = args(&stand_in2.url);
    silenced.extend(["--ct-ignore-names".into(), "staging.*".into()]);
    let (status, report) = fabric.scan_json(&refs(&silenced));
    assert_eq!(status, 0, "{}", report["errors"]);
    let diff = diff_json(&fabric, db);
    assert_eq!(diff["summary"]["shadow_gone"], 1, "{}", diff["changes"]);
    assert_eq!(diff["summary"]["shadow_added"], 0);

    // Not silenced any more: back, though the cursor is past it (every issuance seen is
    // kept and judged again, not only the shadow ones).
    let (status, report) = fabric.scan_json(&refs(&args(&stand_in2.url)));
    assert_eq!(status, 0, "{}", report["errors"]);
    let shadow = report["ct"]["shadow"].as_array().unwrap();
    assert_eq!(
        by_names(shadow, "staging.corp.example").len(),
        1,
        "{shadow:?}"
    );
    assert_eq!(diff_json(&fabric, db)["summary"]["shadow_added"], 1);
    let stored = std::fs::read(history.path().join("h.db")).unwrap();
    assert!(
        !stored.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
        "the token is never stored"
    );

    // `certaudit ct --report`: no AWS call, the report's inventory.
    let file = history.path().join("report.json");
    std::fs::write(&file, serde_json::to_vec(&report).unwrap()).unwrap();
    let out = support::certaudit_at("http://127.0.0.1:9", history.path())
        .args(["ct", "--report"])
        .arg(&file)
        .args([
            "--ct-endpoint",
            &stand_in.url,
            "-o",
            "json",
            "--fail-on",
            "shadow-expiring",
        ])
        .args(["--ct-exclude-domains", "example.co.uk"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let section: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(by_names(section["shadow"].as_array().unwrap(), "www.corp.example").is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no Cert Spotter token"), "{stderr}");
}
