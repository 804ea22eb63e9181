//! report.html in a real browser: Debian's Chromium, headless (`make test` installs it when
//! missing). A scan of the fabric writes the page; Chromium loads it from disk with script on
//! and off and prints the DOM it built. The counts it shows must be report.json's, a tag
//! written to attack the page must render as text, nothing may reach the console, and a
//! screenshot is kept in the test output directory.

mod support;

use std::path::{Path, PathBuf};

use certaudit::output::{render, Rendering};
use certaudit::plan::{CsvCells, OutputFormat};
use certaudit::report::classify::classify;
use certaudit::report::endpoint::{Endpoint, EndpointFinding, EndpointStatus};
use certaudit::report::{Certificate, Report, Tags};
use serde_json::{json, Value};
use support::browser::{output_dir, screenshot, Browser};
use support::{cert, with, Fabric};

const SCRIPT_TAG: &str = "<script>document.body.dataset.pwned='script'</script>";
const IMG_TAG: &str = "<img src=x onerror=\"document.body.dataset.pwned='img'\">";
const CLOSING: &str = "</script><script>document.body.dataset.pwned='json'</script>";

/// The number a summary card shows: `<span class="value" data-count="KEY">N</span>`.
fn card(dom: &str, key: &str) -> u64 {
    let marker = format!("data-count=\"{key}\">");
    let at = dom.find(&marker).unwrap_or_else(|| panic!("no {key} card")) + marker.len();
    dom[at..].split('<').next().unwrap().parse().unwrap()
}

/// The rows of the action list `id` (a real table, there without script).
fn list_rows(dom: &str, id: &str) -> usize {
    let marker = format!("data-list=\"{id}\"");
    let Some(at) = dom.find(&marker) else {
        return 0;
    };
    let table = &dom[at..dom[at..].find("</table>").unwrap() + at];
    table.matches("<tr").count() - 1
}

fn organization() -> Value {
    let acm = |label: &str, extra: Value| with(cert(label, &format!("{label}.example.com")), extra);
    json!({"accounts": [
        {"name": "web", "certificates": [
            acm("soon", json!({"days_left": 5, "tags": {"owner": SCRIPT_TAG, "note": IMG_TAG}})),
            acm("month", json!({"days_left": 25, "type": "AMAZON_ISSUED"})),
            acm("later", json!({"days_left": 80, "tags": {"x": CLOSING}})),
            acm("gone", json!({"days_left": -3})),
            acm("fine", json!({"days_left": 300, "type": "AMAZON_ISSUED",
                "in_use_by": ["arn:aws:cloudfront::1:distribution/E1"]})),
        ]},
        {"name": "locked", "role": "missing"},
    ]})
}

#[test]
fn the_report_page_in_a_real_browser() {
    let fabric = Fabric::start(organization());
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = fabric.scan_json(&[
        "--regions",
        "us-east-1",
        "--report-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "the locked account makes it incomplete");
    let page = dir.path().join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    self_contained(&html);

    let mut browser = Browser::launch();
    let shown = browser.load(&page, true);
    assert_eq!(
        shown.console,
        Vec::<String>::new(),
        "nothing on the console"
    );
    let summary = &report["summary"];
    for key in [
        "certificates",
        "expired",
        "expiring",
        "imported",
        "will_not_renew",
        "accounts_scanned",
        "accounts_failed",
        "errors",
    ] {
        assert_eq!(
            card(&shown.dom, key),
            summary[key].as_u64().unwrap(),
            "{key}"
        );
    }
    let dom = &shown.dom;
    assert!(dom.contains("id=\"incomplete\""), "the INCOMPLETE banner");
    assert!(
        !dom.contains("data-pwned"),
        "no injected script or handler ran"
    );
    assert!(
        dom.contains("owner=&lt;script&gt;document.body.dataset.pwned="),
        "the tag shows as text"
    );
    assert!(
        dom.contains("x=&lt;/script&gt;&lt;script&gt;"),
        "a closing tag in the JSON stays text"
    );
    let certificates = summary["certificates"].as_u64().unwrap() as usize;
    assert!(
        dom.contains(&format!("data-inventory-rows=\"{certificates}\"")),
        "every certificate is in the inventory"
    );
    assert_eq!(
        list_rows(dom, "expiring"),
        summary["expiring"].as_u64().unwrap() as usize
    );
    assert!(dom.contains(
        "https://us-east-1.console.aws.amazon.com/acm/home?region=us-east-1#/certificates/"
    ));

    let plain = browser.load(&page, false);
    assert_eq!(plain.console, Vec::<String>::new());
    assert!(!plain.dom.contains("data-inventory-rows"), "script is off");
    assert_eq!(
        list_rows(&plain.dom, "imported"),
        summary["imported"].as_u64().unwrap() as usize,
        "the action lists are real tables"
    );
    assert!(plain.dom.contains("data-count=\"certificates\""));
    assert!(!plain.dom.contains("data-pwned"));

    assert!(
        plain.dom.contains("inventory.csv beside this file"),
        "the noscript note shows"
    );

    filter_and_sort_work(&mut browser, &page, &report);

    // For people to look at: the test output directory (target/tmp).
    let png = output_dir().join("report-screenshot.png");
    screenshot(&page, &png, 1280, 1600);
    let png = std::fs::read(&png).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
}

/// No request to any other host: no external script, style, image or font, and a policy that
/// forbids them; the only addresses are the ACM console links.
fn self_contained(html: &str) {
    assert!(
        html.contains("default-src 'none'"),
        "the page's content security policy"
    );
    for banned in ["<link", " src=\"http", "url(", "@import"] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    let addresses = html.matches("https://").count();
    let console_links = html.matches("href=\"https://").count();
    assert_eq!(
        addresses, console_links,
        "every address is a link, not a load"
    );
}

/// Typing in the filter box narrows the inventory; a column's button sorts it, again reverses.
fn filter_and_sort_work(browser: &mut Browser, page: &std::path::Path, report: &Value) {
    let rows = "document.querySelectorAll('#inventory tbody tr').length";
    let first_domain = "document.querySelector('#inventory tbody tr td:nth-child(2)').textContent";
    let typed = |text: &str| {
        format!(
            "(() => {{ const f = document.getElementById('filter'); f.value = '{text}'; \
             f.dispatchEvent(new Event('input')); return {rows}; }})()"
        )
    };
    let click_days = "document.querySelector('#inventory th button[data-key=\"0\"]').click()";
    let values = browser.run(
        page,
        &[
            rows,
            &typed("soon.example"),
            &typed("owner=<script>"),
            &typed(""),
            click_days,
            first_domain,
            click_days,
            first_domain,
        ],
    );
    let all = report["summary"]["certificates"].as_u64().unwrap();
    assert_eq!(values[0], all, "every certificate, unfiltered");
    assert_eq!(values[1], 1, "one domain matches");
    assert_eq!(values[2], 1, "tags are searched as text");
    assert_eq!(values[3], all, "an empty filter shows all again");
    assert_eq!(values[5], "gone.example.com", "fewest days first");
    assert_eq!(values[7], "fine.example.com", "then most days first");
}

/// A page of six certificates, one of them with a 190-character DNS name and a 256-character
/// tag value: what anyone who can import or tag a certificate may set.
fn long_values_page(dir: &Path) -> (PathBuf, String) {
    let at = chrono::Utc::now();
    let label = "a".repeat(59);
    let long_name = format!("{}.{label}.{label}.example.org", &label[1..]);
    assert_eq!(long_name.len(), 190);
    let mut report = Report::new(at, 45, "111111111111");
    for i in 0..6 {
        let arn = format!(
            "arn:aws:acm:us-east-1:111111111111:certificate/0000000{i}-aaaa-bbbb-cccc-dddddddddddd"
        );
        let mut c = Certificate::new(&arn, "111111111111", Some("web"), "us-east-1");
        c.domain_name = Some(match i {
            0 => long_name.clone(),
            _ => format!("site{i}.example.com"),
        });
        c.cert_type = Some("IMPORTED".into());
        c.not_after = Some(at + chrono::Duration::days(5 + i));
        let mut tags = Tags::default();
        tags.insert("team".into(), "web".into());
        if i == 0 {
            tags.insert("note".into(), "x".repeat(256));
        }
        c.tags = Some(tags);
        classify(&mut c, at, 45);
        report.certificates.push(c);
    }
    // What `scan --probe` found at the long name, beside an endpoint with a short one.
    let mut long = Endpoint::unprobed(&long_name, 443, &long_name, EndpointStatus::Critical);
    long.findings = vec![EndpointFinding::Expired];
    let short = "site1.example.com";
    let fine = Endpoint::unprobed(short, 443, short, EndpointStatus::Ok);
    report.endpoints = Some(vec![fine, long]);
    report.sort();
    report.tally(0);
    let mut html = Vec::new();
    let rendering = Rendering {
        format: OutputFormat::Html,
        list: None,
        color: false,
        width: None,
        wide: false,
        csv_cells: CsvCells::Neutralised,
    };
    render(&report, rendering, &mut html).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, html).unwrap();
    (page, long_name)
}

#[test]
fn a_long_name_or_tag_wraps_in_its_cell_and_every_column_keeps_a_usable_width() {
    let dir = tempfile::tempdir().unwrap();
    let (page, long_name) = long_values_page(dir.path());
    // A row's height and its ARN cell's width, in CSS pixels: in the expiring list (a real
    // table) the row of the long name, in the inventory (drawn by script) the row of the tag.
    let measure = |table: &str, text: &str| {
        format!(
            "(() => {{ const row = [...document.querySelectorAll('{table} tbody tr')]
                 .find(r => r.textContent.includes('{text}'));
               const arn = row.querySelector('td.arn').getBoundingClientRect();
               return [Math.round(row.getBoundingClientRect().height), Math.round(arn.width)]; }})()"
        )
    };
    let long_tag = "x".repeat(256);
    let rows = [
        (
            "expiring list",
            "table[data-list=expiring]",
            long_name.as_str(),
        ),
        ("inventory", "#inventory", long_tag.as_str()),
    ];
    let expressions: Vec<String> = rows
        .iter()
        .flat_map(|(_, table, long)| [measure(table, long), measure(table, "site1.example.com")])
        .collect();
    let expressions: Vec<&str> = expressions.iter().map(String::as_str).collect();
    // A column heading stays on one line (its sort button's text is not broken).
    let headings = "Math.max(...[...document.querySelectorAll('th')].map(th => \
                    Math.round(th.getBoundingClientRect().height)))";
    let endpoint = |text: &str| {
        format!(
            "(() => {{ const row = [...document.querySelectorAll('table[data-list=endpoints] tbody tr')]
                 .find(r => r.textContent.includes('{text}'));
               return Math.round(row.getBoundingClientRect().height); }})()"
        )
    };
    let endpoints = [endpoint(&long_name), endpoint("site1.example.com:443")];
    let expressions: Vec<&str> = expressions
        .into_iter()
        .chain(endpoints.iter().map(String::as_str))
        .chain([headings])
        .collect();
    let mut browser = Browser::launch();
    let values = browser.run_at(&page, Some((1280, 900)), &expressions);
    let heading = values.last().unwrap().as_u64().unwrap();
    let (long_endpoint, short_endpoint) = (&values[4], &values[5]);
    assert!(
        long_endpoint.as_u64().unwrap() <= 250 && short_endpoint.as_u64().unwrap() <= 80,
        "the endpoints section: {long_endpoint} px for the long name, {short_endpoint} px beside it"
    );
    assert!(
        heading <= 40,
        "a column heading is {heading} px tall: broken"
    );
    let pair = |v: &Value| (v[0].as_u64().unwrap(), v[1].as_u64().unwrap());
    for (i, (what, _, _)) in rows.iter().enumerate() {
        let (long_height, arn) = pair(&values[2 * i]);
        let (height, _) = pair(&values[2 * i + 1]);
        assert!(
            arn >= 180,
            "{what}: the ARN column is {arn} px wide, squeezed by the long value"
        );
        assert!(
            height <= 80,
            "{what}: a row of short values is {height} px tall beside the long value"
        );
        assert!(
            long_height <= 250,
            "{what}: the long value's own row is {long_height} px tall: it does not wrap"
        );
    }

    // For people to look at: the test output directory (target/tmp).
    let png = output_dir().join("report-long-values.png");
    screenshot(&page, &png, 1280, 2800);
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
}
