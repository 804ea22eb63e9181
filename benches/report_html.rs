//! report.html of 100,000 certificates in headless Chromium, part of `make bench` (`cargo bench
//! --bench report_html`): the page is rendered from a generated report (`common/`, with a
//! tenth of the certificates expiring or expired so every list has rows), opened from disk over
//! the DevTools protocol, and timed from navigation to the load event — by which time the
//! page's script has parsed the embedded inventory and drawn its first rows. Printed with the
//! target (5 s); fails if it is missed.
//!
//! `cargo test --all-targets` runs this binary too, without `--bench`: then 1,000 certificates,
//! checked, not measured.

// Only the timing half of the browser driver is used here.
#[allow(dead_code)]
#[path = "../tests/support/browser.rs"]
mod browser;
mod common;

use chrono::Duration;

use certaudit::output::{render, Rendering};
use certaudit::plan::{CsvCells, OutputFormat};
use common::{certificate, scan, start};

const CERTIFICATES: usize = 100_000;
const CHECK_CERTIFICATES: usize = 1_000;
const OPEN_TARGET_S: f64 = 5.0;

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let total = if measuring {
        CERTIFICATES
    } else {
        CHECK_CERTIFICATES
    };
    let certificates: Vec<_> = (0..total)
        .map(|n| {
            let mut c = certificate(n, 0, start());
            if n % 10 == 0 {
                // -20 to +99 days: expired, expiring and later.
                c.not_after = Some(start() + Duration::days((n % 120) as i64 - 20));
            }
            c
        })
        .collect();
    let report = scan(0, &certificates);
    drop(certificates);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let mut html = Vec::new();
    let rendering = Rendering {
        format: OutputFormat::Html,
        list: None,
        color: false,
        width: None,
        wide: false,
        csv_cells: CsvCells::Neutralised,
    };
    let rendered = std::time::Instant::now();
    render(&report, rendering, &mut html).unwrap();
    let render_s = rendered.elapsed().as_secs_f64();
    std::fs::write(&page, &html).unwrap();
    let mut chromium = browser::Browser::launch();
    let (took, dataset) = chromium.time_to_load(&page);
    let drawn: usize = dataset["inventoryRows"]
        .as_str()
        .unwrap_or("0")
        .parse()
        .unwrap();
    assert!(drawn > 0, "the inventory was drawn: {dataset}");
    let open_s = took.as_secs_f64();
    if !measuring {
        println!("report_html benchmark: checked ({total} certificates, {drawn} rows drawn); `cargo bench --bench report_html` measures");
        return;
    }
    let verdict = if open_s <= OPEN_TARGET_S {
        "ok"
    } else {
        "MISSED"
    };
    println!("report.html, {total} certificates");
    println!(
        "  rendered by certaudit in {render_s:.2} s, {:.1} MB",
        html.len() as f64 / 1e6
    );
    println!(
        "  opened in headless Chromium in {open_s:.2} s (target {OPEN_TARGET_S:.0} s) {verdict}; the script parsed the inventory and drew {drawn} rows in {} ms",
        dataset["inventoryMs"].as_str().unwrap_or("?")
    );
    if open_s > OPEN_TARGET_S {
        std::process::exit(1);
    }
}
