//! `report.html`: one self-contained page (inline CSS, JS and SVG; no request to any host)
//! that reads without JavaScript — summary, expiry timeline, the three action lists, the
//! endpoints `--probe` judged, failed and skipped accounts, errors as real tables — plus the
//! whole inventory, rendered on demand
//! from embedded JSON with a filter box and sortable columns. Every value from AWS goes
//! through the template engine's HTML escaping, or into the page as JSON read by script and
//! written with `textContent`.

use std::io::Write;

use anyhow::Result;
use askama::Template;
use serde::Serialize;

use super::endpoints::{acm_match, detail, EndpointSummary};
use crate::report::attention::{console_url, days_left, why, Urgency};
use crate::report::endpoint::{Endpoint, EndpointStatus};
use crate::report::{account_label, printable, AccountState, Certificate, Report};

/// Rows each action list shows in the page; the rest are counted (the inventory and the CSV
/// files have them all). A list of 100,000 rows would make the page too slow to open.
const LIST_ROWS: usize = 2_000;
/// Weeks the timeline shows after "expired".
const WEEKS: usize = 13;

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    report: &'a Report,
    generated: String,
    incomplete: bool,
    /// `scan --probe`'s endpoints that could not be reached: the run is incomplete for them too.
    unreachable: usize,
    cards: Vec<Card>,
    timeline: Timeline,
    lists: Vec<List>,
    failed: Vec<AccountRow>,
    skipped: Vec<AccountRow>,
    errors: Vec<ErrorRow>,
    /// What `scan --probe` found; None when the scan did not probe.
    endpoints: Option<EndpointList>,
    /// Private CAs that certificates depend on and that need attention (SPEC §14); None when
    /// the scan read no CA.
    authorities: Option<Vec<AuthorityRow>>,
    /// Certificate Transparency's shadow certificates (`--ct`); None when not asked.
    shadow: Option<ShadowList>,
    inventory: String,
}

/// The endpoints probed, worst first, as a real table (the first `LIST_ROWS`).
struct EndpointList {
    total: usize,
    counts: EndpointSummary,
    rows: Vec<EndpointRow>,
}

impl EndpointList {
    fn more(&self) -> usize {
        self.total - self.rows.len()
    }
}

struct EndpointRow {
    status: &'static str,
    tone: &'static str,
    endpoint: String,
    address: String,
    days: String,
    acm: String,
    issuer: String,
    findings: String,
}

struct ShadowList {
    heading: String,
    rows: Vec<ShadowRow>,
}

struct ShadowRow {
    days: String,
    tone: &'static str,
    names: String,
    kind: &'static str,
    issuer: String,
    link: String,
}

fn shadow_list(report: &Report) -> Option<ShadowList> {
    let section = report.ct.as_ref()?;
    let rows = section
        .shadow
        .iter()
        .take(LIST_ROWS)
        .map(|s| ShadowRow {
            days: s.days_to_expiry.to_string(),
            tone: match s.kind {
                crate::report::ct::ShadowKind::Shadow if s.days_to_expiry <= 7 => "critical",
                crate::report::ct::ShadowKind::Shadow if s.expiring => "warning",
                _ => "",
            },
            names: printable(&s.names.join(", ")).into_owned(),
            kind: s.kind.as_str(),
            issuer: printable(&s.issuer).into_owned(),
            link: s.link.clone(),
        })
        .collect();
    Some(ShadowList {
        heading: super::ct::heading(section),
        rows,
    })
}

struct AuthorityRow {
    days: String,
    tone: &'static str,
    subject: String,
    account: String,
    region: String,
    status: String,
    why: String,
    console: String,
    arn: String,
}

fn authority_rows(report: &Report) -> Option<Vec<AuthorityRow>> {
    if report.certificate_authorities.is_empty() {
        return None;
    }
    let rows = report
        .certificate_authorities
        .iter()
        .filter(|a| a.needs_attention)
        .map(|a| AuthorityRow {
            days: a.days_to_expiry.map_or("-".into(), |d| d.to_string()),
            tone: match a.days_to_expiry {
                _ if a.expired => "critical",
                Some(d) if d <= 7 => "critical",
                _ => "warning",
            },
            // Escaped by the template; bidi and control characters shown as the table does.
            subject: printable(a.subject.as_deref().unwrap_or("(no subject)")).into_owned(),
            account: printable(&a.account_label()).into_owned(),
            region: a.region.to_string(),
            status: printable(a.status.as_deref().unwrap_or("-")).into_owned(),
            why: printable(&a.why()).into_owned(),
            console: a.console_url(),
            arn: a.arn.clone(),
        })
        .collect();
    Some(rows)
}

struct Card {
    key: &'static str,
    label: &'static str,
    value: usize,
    tone: &'static str,
}

struct List {
    id: &'static str,
    title: String,
    total: usize,
    rows: Vec<Row>,
}

impl List {
    fn more(&self) -> usize {
        self.total - self.rows.len()
    }
}

struct Row {
    days: String,
    tone: &'static str,
    domain: String,
    account: String,
    region: String,
    why: String,
    console: String,
    arn: String,
}

struct AccountRow {
    account: String,
    reason: String,
}

struct ErrorRow {
    place: String,
    stage: &'static str,
    code: String,
    message: String,
}

/// The expiry timeline as SVG shapes, computed here so the page needs no script for it.
struct Timeline {
    width: usize,
    bar_width: usize,
    height: usize,
    bars: Vec<Bar>,
    legend: Vec<(&'static str, &'static str)>,
}

struct Bar {
    x: usize,
    /// Where its labels are centred.
    center: usize,
    label: String,
    total: usize,
    label_y: usize,
    segments: Vec<Segment>,
}

struct Segment {
    y: usize,
    height: usize,
    class: &'static str,
    count: usize,
    kind: &'static str,
}

/// One inventory row as the page's script reads it: an array, not an object, so 100,000 rows
/// stay small.
#[derive(Serialize)]
struct InventoryRow<'a>(
    Option<i64>,
    &'a str,
    String,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    String,
    &'a str,
);

fn tone(c: &Certificate) -> &'static str {
    match Urgency::of(c) {
        Urgency::Expired | Urgency::Within7 => "critical",
        Urgency::Within15 | Urgency::Within30 => "warning",
        Urgency::Expiring | Urgency::Later => "",
    }
}

fn row(c: &Certificate) -> Row {
    Row {
        days: days_left(c),
        tone: tone(c),
        domain: c.label().to_string(),
        account: c.account_label(),
        region: c.region_label().to_string(),
        why: why(c),
        console: console_url(c),
        arn: c.arn.clone(),
    }
}

fn list(report: &Report, id: &'static str, title: String, keep: fn(&Certificate) -> bool) -> List {
    let all = report.certificates.iter().filter(|c| keep(c));
    let total = all.clone().count();
    List {
        id,
        title,
        total,
        rows: all.take(LIST_ROWS).map(row).collect(),
    }
}

fn cards(report: &Report) -> Vec<Card> {
    let s = &report.summary;
    let card = |key, label, value, tone| Card {
        key,
        label,
        value,
        tone,
    };
    let flag = |n: usize, tone: &'static str| if n > 0 { tone } else { "" };
    vec![
        card("certificates", "Certificates", s.certificates, ""),
        card("expired", "Expired", s.expired, flag(s.expired, "critical")),
        card(
            "expiring",
            "Expiring",
            s.expiring,
            flag(s.expiring, "warning"),
        ),
        card("imported", "Imported", s.imported, ""),
        card(
            "will_not_renew",
            "Will not renew",
            s.will_not_renew,
            flag(s.will_not_renew, "warning"),
        ),
        card(
            "renewal_at_risk",
            "Renewal at risk",
            s.renewal_at_risk,
            flag(s.renewal_at_risk, "warning"),
        ),
        card(
            "iam_server_certificates",
            "IAM server certificates",
            s.iam_server_certificates,
            "",
        ),
        card(
            "certificate_authorities_attention",
            "Private CAs needing attention",
            s.certificate_authorities_attention,
            flag(s.certificate_authorities_attention, "warning"),
        ),
        card(
            "accounts_scanned",
            "Accounts scanned",
            s.accounts_scanned,
            "",
        ),
        card(
            "accounts_failed",
            "Accounts failed",
            s.accounts_failed,
            flag(s.accounts_failed, "critical"),
        ),
        card(
            "accounts_skipped",
            "Accounts skipped",
            s.accounts_skipped,
            "",
        ),
        card("errors", "Errors", s.errors, flag(s.errors, "critical")),
    ]
}

const KINDS: [(&str, &str, &str); 4] = [
    ("AMAZON_ISSUED", "amazon", "ACM-issued"),
    ("IMPORTED", "imported", "Imported"),
    ("PRIVATE", "private", "Private CA"),
    ("", "other", "Other"),
];

fn kind_of(c: &Certificate) -> usize {
    let t = c.cert_type.as_deref().unwrap_or_default();
    KINDS
        .iter()
        .position(|(k, _, _)| *k == t)
        .unwrap_or(KINDS.len() - 1)
}

/// Certificates per week for the next `WEEKS` weeks, after one bar of the expired, by type.
fn timeline(report: &Report) -> Timeline {
    let mut counts = vec![[0usize; KINDS.len()]; WEEKS + 1];
    for c in &report.certificates {
        let bucket = match c.days_to_expiry {
            _ if c.expired => Some(0),
            Some(d) if d < 0 => Some(0),
            Some(d) if (d as usize) < WEEKS * 7 => Some(d as usize / 7 + 1),
            _ => None,
        };
        if let Some(b) = bucket {
            counts[b][kind_of(c)] += 1;
        }
    }
    let (top, plot, step, bar_width) = (24, 160, 52, 36);
    let most = counts
        .iter()
        .map(|k| k.iter().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, kinds)| {
            let mut y = top + plot;
            let segments = kinds
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| {
                    let height = (n * plot).div_ceil(most);
                    y -= height;
                    Segment {
                        y,
                        height,
                        class: KINDS[k].1,
                        count: *n,
                        kind: KINDS[k].2,
                    }
                })
                .collect();
            Bar {
                x: 40 + i * step,
                center: 40 + i * step + bar_width / 2,
                label: if i == 0 {
                    "Expired".into()
                } else {
                    format!("Week {i}")
                },
                total: kinds.iter().sum(),
                label_y: y.saturating_sub(6),
                segments,
            }
        })
        .collect();
    Timeline {
        width: 40 + (WEEKS + 1) * step,
        bar_width,
        height: top + plot + 36,
        bars,
        legend: KINDS
            .iter()
            .map(|(_, class, label)| (*class, *label))
            .collect(),
    }
}

/// The inventory as JSON that is safe inside a `<script>` element: `<`, `>` and `&` (so no
/// `</script>` or `<!--` can end or change it) and the two JavaScript line separators are
/// written as `\u` escapes, which JSON reads back as the same characters.
fn inventory_json(report: &Report) -> Result<String> {
    let rows: Vec<InventoryRow> = report
        .certificates
        .iter()
        .map(|c| {
            let tags = c
                .tags
                .as_ref()
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            InventoryRow(
                c.days_to_expiry,
                c.label(),
                c.account_label(),
                c.region_label(),
                c.cert_type.as_deref().unwrap_or("-"),
                c.status.as_deref().unwrap_or("-"),
                c.renewal_status
                    .as_deref()
                    .or(c.renewal_eligibility.as_deref())
                    .unwrap_or("-"),
                tone(c),
                tags,
                &c.arn,
            )
        })
        .collect();
    let json = serde_json::to_string(&rows)?;
    let mut safe = String::with_capacity(json.len() + json.len() / 50);
    for ch in json.chars() {
        match ch {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\u{2028}' => safe.push_str("\\u2028"),
            '\u{2029}' => safe.push_str("\\u2029"),
            c => safe.push(c),
        }
    }
    Ok(safe)
}

fn endpoint_row(e: &Endpoint) -> EndpointRow {
    let served = e.served.as_ref();
    EndpointRow {
        status: e.status.as_str(),
        tone: match e.status {
            EndpointStatus::Critical | EndpointStatus::Unreachable => "critical",
            EndpointStatus::Warning => "warning",
            EndpointStatus::Ok | EndpointStatus::Skipped => "",
        },
        endpoint: format!("{}:{}", e.host, e.port),
        address: e.address.clone().unwrap_or_else(|| "-".into()),
        days: served.map_or("-".into(), |s| s.days_to_expiry.to_string()),
        acm: acm_match(e),
        issuer: served.map_or("-".into(), |s| s.issuer.clone()),
        findings: detail(e),
    }
}

fn endpoint_list(endpoints: &[Endpoint]) -> EndpointList {
    let mut sorted: Vec<&Endpoint> = endpoints.iter().collect();
    sorted.sort_by_key(|e| e.status);
    EndpointList {
        total: endpoints.len(),
        counts: EndpointSummary::of(endpoints),
        rows: sorted
            .into_iter()
            .take(LIST_ROWS)
            .map(endpoint_row)
            .collect(),
    }
}

fn accounts(report: &Report, state: AccountState) -> Vec<AccountRow> {
    report
        .accounts
        .iter()
        .filter(|a| a.state == state)
        .map(|a| AccountRow {
            account: account_label(&a.account_id, a.account_name.as_deref()),
            reason: a.reason.clone().unwrap_or_default(),
        })
        .collect()
}

fn page(report: &Report) -> Result<Page<'_>> {
    let expiring = format!("Expiring within {} days", report.expiring_days);
    Ok(Page {
        report,
        generated: report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        incomplete: report.is_incomplete(),
        unreachable: report
            .endpoints
            .iter()
            .flatten()
            .filter(|e| e.status == EndpointStatus::Unreachable)
            .count(),
        cards: cards(report),
        timeline: timeline(report),
        lists: vec![
            list(report, "expiring", expiring, |c| c.expiring),
            list(
                report,
                "imported",
                "Imported — never auto-renew".into(),
                |c| c.imported,
            ),
            list(report, "will-not-renew", "Will not renew".into(), |c| {
                c.will_not_renew
            }),
        ],
        failed: accounts(report, AccountState::Failed),
        skipped: accounts(report, AccountState::Skipped),
        errors: report
            .error_groups()
            .iter()
            .map(|g| ErrorRow {
                place: report.error_place(g.first),
                stage: g.first.stage.as_str(),
                code: g.first.code.clone(),
                message: g.message(),
            })
            .collect(),
        endpoints: report.endpoints.as_deref().map(endpoint_list),
        authorities: authority_rows(report),
        shadow: shadow_list(report),
        inventory: inventory_json(report)?,
    })
}

pub fn write(report: &Report, out: &mut dyn Write) -> Result<()> {
    let html = page(report)?.render()?;
    out.write_all(html.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AccountOutcome, Tags};

    fn hostile() -> Report {
        let at = chrono::Utc::now();
        let mut report = Report::new(at, 45, "111111111111");
        report.accounts.push(AccountOutcome {
            account_id: "111111111111".into(),
            account_name: Some("\"><img src=x onerror=alert(1)>".into()),
            state: AccountState::Scanned,
            reason: None,
            regions: vec!["us-east-1".into()],
            regions_not_enabled: Vec::new(),
        });
        let arn = "arn:aws:acm:us-east-1:111111111111:certificate/1";
        let name = report.accounts[0].account_name.as_deref();
        let mut c = Certificate::new(arn, "111111111111", name, "us-east-1");
        c.domain_name = Some("<script>alert(1)</script>".into());
        c.cert_type = Some("IMPORTED".into());
        c.not_after = Some(at + chrono::Duration::days(3));
        let mut tags = Tags::default();
        tags.insert(
            "x".into(),
            "</script><script>alert(2)</script>\u{2028}".into(),
        );
        c.tags = Some(tags);
        crate::report::classify::classify(&mut c, at, 45);
        report.certificates.push(c);
        report.tally(0);
        report
    }

    #[test]
    fn values_from_aws_cannot_become_markup_or_end_the_script() {
        let mut out = Vec::new();
        write(&hostile(), &mut out).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(
            !html.contains("<script>alert"),
            "a script element from AWS text"
        );
        assert!(
            !html.contains("<img src=x"),
            "an element from an account name"
        );
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "escaped in the lists"
        );
        assert!(
            html.contains(r"\u003c/script\u003e\u003cscript\u003ealert(2)"),
            "escaped in the JSON"
        );
        assert!(
            html.contains(r"\u2028"),
            "a line separator cannot break the script"
        );
        // The page's own two scripts and nothing else.
        assert_eq!(html.matches("<script").count(), 2);
        assert_eq!(html.matches("</script>").count(), 2);
    }

    #[test]
    fn the_timeline_counts_the_expired_and_each_week_by_type() {
        let report = hostile();
        let timeline = timeline(&report);
        assert_eq!(timeline.bars.len(), WEEKS + 1);
        assert_eq!(timeline.bars[1].total, 1, "3 days left: week 1");
        assert_eq!(timeline.bars[1].segments[0].kind, "Imported");
        assert_eq!(timeline.bars.iter().map(|b| b.total).sum::<usize>(), 1);
    }
}
