//! The SNS summary: one plain-text message per scan listing every certificate that needs
//! attention, grouped by urgency, readable in an email client. A body over SNS's 256 KiB is
//! split into numbered parts at certificate boundaries, never truncated. Every value from AWS
//! goes in through the control-character rule (`printable`): a line break or escape in a
//! domain, a name or an error message cannot forge a line of the message.

use aws_config::Region;

use crate::access::aws_error::AwsFailure;
use crate::access::Caller;
use crate::diff::Diff;
use crate::plan::{Notify, NotifyOn};
use crate::report::attention::{attention, console_url, days_left, why, Urgency};
use crate::report::ct::Shadow;
use crate::report::endpoint::{Endpoint, EndpointStatus};
use crate::report::{is_control_character, printable, Certificate, CertificateAuthority, Report};

/// SNS's largest message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Room kept in every part for its "Part i of n" line.
const PART_LINE_RESERVE: usize = 64;
/// Errors listed in each message's header; the rest are counted (the report has them all).
const ERRORS_LISTED: usize = 20;
/// Changes listed at the head of a `--notify-on changes` message; the rest are counted.
const CHANGES_LISTED: usize = 50;
/// SNS subjects: ASCII, no line breaks, under 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub body: String,
}

/// The messages `--notify-on` calls for: with `changes`, none when nothing changed and the
/// scan was complete (unless `always`), else the usual summary led by the changes.
pub fn messages(report: &Report, notify: &Notify, changes: Option<&Diff>) -> Vec<Message> {
    match (notify.on, changes) {
        (NotifyOn::Changes, Some(diff)) => {
            if diff.changes.is_empty() && !report.is_incomplete() && !notify.always {
                return Vec::new();
            }
            compose_led_by(report, true, Some(diff))
        }
        _ => compose(report, notify.always),
    }
}

/// The messages to publish for a report: none when nothing needs attention and the scan was
/// complete (unless `always`).
pub fn compose(report: &Report, always: bool) -> Vec<Message> {
    compose_led_by(report, always, None)
}

fn compose_led_by(report: &Report, always: bool, changes: Option<&Diff>) -> Vec<Message> {
    let certificates = attention(report);
    let endpoints = endpoint_problems(report);
    let authorities = authorities_needing_attention(report);
    let shadows = expiring_shadows(report);
    let quiet =
        certificates.is_empty() && endpoints.is_empty() && authorities == 0 && shadows.is_empty();
    if quiet && !report.is_incomplete() && !always {
        return Vec::new();
    }
    let mut header = header(report, &certificates);
    if let Some(diff) = changes {
        header.insert_str(0, &changes_section(diff));
    }
    let mut parts: Vec<String> = Vec::new();
    let mut current = header.clone();
    let budget = MAX_MESSAGE_BYTES - PART_LINE_RESERVE;
    let mut group: Option<String> = None;
    for (title, count, entry) in entries(report, &certificates, &endpoints) {
        let heading = |continued: bool| {
            let more = if continued { ", continued" } else { "" };
            format!("\n{title} ({count}{more})\n")
        };
        let same_group = group.as_deref() == Some(title.as_str());
        let mut addition = String::new();
        if !same_group {
            addition.push_str(&heading(false));
        }
        addition.push_str(&entry);
        if current.len() + addition.len() > budget && current.len() > header.len() {
            parts.push(std::mem::replace(&mut current, header.clone()));
            addition = heading(same_group) + &entry;
        }
        current.push_str(&addition);
        group = Some(title);
    }
    if quiet {
        current.push_str("\nNo certificate needs attention.\n");
    }
    parts.push(current);
    let total = parts.len();
    let mut subject = Subject::new(
        report,
        &certificates,
        endpoints.len(),
        (authorities, shadows.len()),
    );
    if let Some(diff) = changes {
        let changed = crate::report::counted(diff.changes.len(), "change");
        subject.lead = format!("{changed}; ");
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            if total == 1 {
                Message {
                    subject: subject.render(None),
                    body,
                }
            } else {
                Message {
                    subject: subject.render(Some((i + 1, total))),
                    body: format!("Part {} of {total}.\n{body}", i + 1),
                }
            }
        })
        .collect()
}

fn renewal_at_risk(c: &Certificate) -> bool {
    c.renewal_check.as_ref().is_some_and(|r| r.at_risk())
}

fn count(certificates: &[&Certificate], keep: impl Fn(&Certificate) -> bool) -> usize {
    certificates.iter().filter(|c| keep(c)).count()
}

/// Certificates CT shows for the organization's names, in no inventory, expiring (`--ct`).
fn expiring_shadows(report: &Report) -> Vec<&Shadow> {
    report
        .ct
        .iter()
        .flat_map(|ct| &ct.shadow)
        .filter(|s| s.is_expiring_shadow())
        .collect()
}

/// One shadow certificate's lines.
fn shadow_entry(s: &Shadow) -> String {
    let mut text = String::from("\n");
    let headline = format!(
        "* {} - {} days left - issued by {}",
        s.names.join(", "),
        s.days_to_expiry,
        s.issuer
    );
    push_line(&mut text, &headline);
    let detail = format!(
        "  In no scanned inventory (domain {}), serial {}, not after {}{}",
        s.domain,
        s.serial,
        s.not_after.format("%Y-%m-%d"),
        if s.revoked == Some(true) {
            ", REVOKED"
        } else {
            ""
        }
    );
    push_line(&mut text, &detail);
    push_line(&mut text, &format!("  {}", s.link));
    text
}

fn authorities_needing_attention(report: &Report) -> usize {
    report
        .certificate_authorities
        .iter()
        .filter(|a| a.needs_attention)
        .count()
}

/// A summary subject's parts: what always stays, the clauses that give way (last first) when
/// SNS's limit is near, and whether the scan was incomplete (which never gives way).
struct Subject {
    /// `{N} changes; `, when a diff came with the scan.
    lead: String,
    clauses: Vec<String>,
    incomplete: bool,
}

impl Subject {
    /// `others`: private CAs needing attention, and expiring shadow certificates (CT).
    fn new(
        report: &Report,
        certificates: &[&Certificate],
        endpoints: usize,
        (authorities, shadows): (usize, usize),
    ) -> Subject {
        let mut clauses = Vec::new();
        if !certificates.is_empty() {
            let expired = count(certificates, |c| c.expired);
            let expiring = count(certificates, |c| c.expiring && !c.expired);
            let will_not_renew = count(certificates, |c| c.will_not_renew);
            let mut counts =
                format!("{expired} expired, {expiring} expiring, {will_not_renew} will not renew");
            let at_risk = count(certificates, renewal_at_risk);
            if at_risk > 0 {
                counts.push_str(&format!(" ({at_risk} renewal at risk)"));
            }
            clauses.push(counts);
        }
        if authorities > 0 {
            let authorities = crate::report::counted(authorities, "private CA");
            clauses.push(format!("{authorities} needing attention"));
        }
        if shadows > 0 {
            let shadows = crate::report::counted(shadows, "shadow certificate");
            clauses.push(format!("{shadows} expiring (CT)"));
        }
        if endpoints > 0 {
            let serving = crate::report::counted(endpoints, "endpoint");
            clauses.push(format!("{serving} serving a problem"));
        }
        if clauses.is_empty() {
            clauses.push("no certificate needs attention".into());
        }
        Subject {
            lead: String::new(),
            clauses,
            incomplete: report.is_incomplete(),
        }
    }

    /// Under SNS's limit with every clause whole: those that do not fit give way to `, ...`,
    /// and ` - scan INCOMPLETE` and the part number are always kept.
    fn render(&self, part: Option<(usize, usize)>) -> String {
        let mut tail = String::new();
        if self.incomplete {
            tail.push_str(" - scan INCOMPLETE");
        }
        if let Some((i, total)) = part {
            tail.push_str(&format!(" (part {i} of {total})"));
        }
        let tail = clip_subject(&tail);
        let room = MAX_SUBJECT_CHARS - tail.len();
        let mut text = clip_subject(&format!("certaudit: {}{}", self.lead, self.clauses[0]));
        text.truncate(room);
        for (n, clause) in self.clauses.iter().enumerate().skip(1) {
            let more = n + 1 < self.clauses.len();
            let fits = |extra: usize| text.len() + extra <= room;
            if fits(", ".len() + clause.len() + if more { ", ...".len() } else { 0 }) {
                text.push_str(", ");
                text.push_str(clause);
            } else {
                if fits(", ...".len()) {
                    text.push_str(", ...");
                }
                break;
            }
        }
        clip_subject(&format!("{text}{tail}"))
    }
}

/// ASCII, one line, under 100 characters: control characters and everything beyond ASCII
/// become spaces.
pub fn clip_subject(subject: &str) -> String {
    subject
        .chars()
        .map(|c| {
            if c.is_ascii() && !is_control_character(c) {
                c
            } else {
                ' '
            }
        })
        .take(MAX_SUBJECT_CHARS)
        .collect()
}

fn header(report: &Report, certificates: &[&Certificate]) -> String {
    let s = &report.summary;
    let mut text = format!(
        "certaudit found {} certificate(s) that need attention: {} expired, {} expiring within {} \
         days, {} will not renew.\n\
         Scan of {} account(s) ({} scanned, {} failed, {} skipped; {} regions; {} certificates) \
         by account {} at {}.\n",
        certificates.len(),
        count(certificates, |c| c.expired),
        count(certificates, |c| c.expiring && !c.expired),
        report.expiring_days,
        count(certificates, |c| c.will_not_renew),
        s.accounts_targeted,
        s.accounts_scanned,
        s.accounts_failed,
        s.accounts_skipped,
        s.regions_scanned,
        s.certificates,
        report.caller_account_id,
        report.generated_at.format("%Y-%m-%d %H:%M UTC"),
    );
    let at_risk = count(certificates, renewal_at_risk);
    if at_risk > 0 {
        text.push_str(&format!(
            "{at_risk} certificate(s) will not renew because ACM's next renewal will fail \
             (validation record, CAA, e-mail or HTTP validation): each line says why.\n"
        ));
    }
    if let Some(ct) = &report.ct {
        text.push_str(&format!(
            "Certificate Transparency ({}): {} shadow certificate(s) for your names in no \
             inventory, {} expiring within {} days.\n",
            ct.source,
            ct.shadow_count(),
            ct.expiring_count(),
            report.expiring_days
        ));
    }
    if report.is_incomplete() {
        text.push_str(&format!(
            "WARNING: the scan was INCOMPLETE ({} error(s)); certificates in these places are not \
             listed, or (stage dns) their renewal could not be checked:\n",
            report.errors.len()
        ));
        for e in report.errors.iter().take(ERRORS_LISTED) {
            let line = format!(
                "  - {} {}: {} {}",
                report.error_place(e),
                e.stage.as_str(),
                e.code,
                e.message
            );
            push_line(&mut text, &line);
        }
        if report.errors.len() > ERRORS_LISTED {
            text.push_str(&format!(
                "  - and {} more: see the report's errors\n",
                report.errors.len() - ERRORS_LISTED
            ));
        }
    }
    text
}

/// What changed since the previous scan, first in the message: one line per change (the
/// first `CHANGES_LISTED`), then what could not be compared.
fn changes_section(diff: &Diff) -> String {
    let mut text = format!(
        "{} since the scan of {}:\n",
        crate::report::counted(diff.changes.len(), "change"),
        diff.from.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    for c in diff.changes.iter().take(CHANGES_LISTED) {
        let place = [
            c.domain_name.clone().unwrap_or_default(),
            c.account_label(),
            c.region.clone().unwrap_or_default(),
            c.detail(),
        ];
        let place: Vec<String> = place.into_iter().filter(|p| !p.is_empty()).collect();
        let line = format!(
            "  {} {}: {}",
            c.kind.marker(),
            c.kind.as_str(),
            place.join("  ")
        );
        push_line(&mut text, &line);
    }
    if diff.changes.len() > CHANGES_LISTED {
        text.push_str(&format!(
            "  and {} more: see `certaudit diff --history`\n",
            diff.changes.len() - CHANGES_LISTED
        ));
    }
    if diff.is_incomplete() {
        text.push_str(&format!(
            "Not compared ({} account-region(s)): a scan could not read them, so their \
             certificates are not listed as changes.\n",
            diff.scope.not_compared.len()
        ));
    }
    text.push('\n');
    text
}

/// Every entry of the message in order: (group title, entries in the group, entry text) —
/// the certificates by urgency, then the endpoints a `--probe` scan found serving a problem.
fn entries(
    report: &Report,
    certificates: &[&Certificate],
    endpoints: &[&Endpoint],
) -> Vec<(String, usize, String)> {
    let mut counts: std::collections::BTreeMap<Urgency, usize> = Default::default();
    for c in certificates {
        *counts.entry(Urgency::of(c)).or_default() += 1;
    }
    let mut all: Vec<(String, usize, String)> = certificates
        .iter()
        .map(|c| {
            let urgency = Urgency::of(c);
            (group_title(urgency, report), counts[&urgency], entry(c))
        })
        .collect();
    let authorities: Vec<_> = report
        .certificate_authorities
        .iter()
        .filter(|a| a.needs_attention)
        .collect();
    all.extend(authorities.iter().map(|a| {
        let title = "PRIVATE CAS THAT CERTIFICATES DEPEND ON".to_string();
        (title, authorities.len(), authority_entry(a))
    }));
    let shadows = expiring_shadows(report);
    all.extend(shadows.iter().map(|s| {
        let title = "SHADOW CERTIFICATES EXPIRING (CERTIFICATE TRANSPARENCY)".to_string();
        (title, shadows.len(), shadow_entry(s))
    }));
    all.extend(endpoints.iter().map(|e| {
        let title = "ENDPOINTS SERVING A PROBLEM".to_string();
        (title, endpoints.len(), endpoint_entry(e))
    }));
    all
}

/// What `--probe` found served wrongly, unreachable or close to expiry, worst first.
fn endpoint_problems(report: &Report) -> Vec<&Endpoint> {
    let mut problems: Vec<&Endpoint> = report
        .endpoints
        .iter()
        .flatten()
        .filter(|e| {
            matches!(
                e.status,
                EndpointStatus::Critical | EndpointStatus::Unreachable | EndpointStatus::Warning
            )
        })
        .collect();
    problems.sort_by_key(|e| e.status);
    problems
}

/// One private CA's lines: what it is, why it needs attention, where it is.
fn authority_entry(a: &CertificateAuthority) -> String {
    let mut text = String::from("\n");
    let name = a.subject.as_deref().unwrap_or("(no subject)");
    push_line(&mut text, &format!("* {name} - {}", a.why()));
    let place = format!(
        "  {} {} - {} CA, {}",
        a.account_label(),
        a.region,
        a.ca_type.as_deref().unwrap_or("unknown type"),
        a.not_after
            .map_or("no CA certificate yet".into(), |t| format!(
                "expires {}",
                t.format("%Y-%m-%d")
            ))
    );
    push_line(&mut text, &place);
    push_line(&mut text, &format!("  {}", a.arn));
    push_line(&mut text, &format!("  {}", a.console_url()));
    text
}

fn endpoint_entry(e: &Endpoint) -> String {
    let what = match &e.error {
        Some(error) => format!("{}: {}", error.code, error.message),
        None => e
            .findings
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut text = String::from("\n");
    let status = e.status.as_str().to_uppercase();
    push_line(&mut text, &format!("* {} - {status} - {what}", e.place()));
    if let Some(served) = &e.served {
        let line = format!(
            "  Serves: {} (issuer {}), {} days left, serial {}",
            served.subject, served.issuer, served.days_to_expiry, served.serial
        );
        push_line(&mut text, &line);
    }
    if let Some(acm) = &e.acm {
        push_line(&mut text, &format!("  ACM: {}", acm.arn));
    }
    text
}

fn group_title(urgency: Urgency, report: &Report) -> String {
    match urgency {
        Urgency::Expired => "EXPIRED".into(),
        Urgency::Within7 => "EXPIRING WITHIN 7 DAYS".into(),
        Urgency::Within15 => "EXPIRING WITHIN 15 DAYS".into(),
        Urgency::Within30 => "EXPIRING WITHIN 30 DAYS".into(),
        Urgency::Expiring => format!("EXPIRING WITHIN {} DAYS", report.expiring_days),
        Urgency::Later => "WILL NOT RENEW".into(),
    }
}

/// One certificate's lines in a message.
pub fn entry(c: &Certificate) -> String {
    let mut text = String::from("\n");
    let headline = format!(
        "* {domain} - {days} - {kind}",
        domain = c.label(),
        days = days_left(c),
        kind = c.cert_type.as_deref().unwrap_or("unknown type"),
    );
    push_line(&mut text, &headline);
    let place = format!(
        "  Account: {}   Region: {}",
        c.account_label(),
        c.region_label()
    );
    push_line(&mut text, &place);
    let why = why(c);
    if !why.is_empty() {
        push_line(&mut text, &format!("  Why: {why}"));
    }
    push_line(&mut text, &format!("  ARN: {}", c.arn));
    push_line(&mut text, &format!("  Console: {}", console_url(c)));
    text
}

/// One line of a message: its values from AWS may hold line breaks and escapes, which must
/// not make a second line (a forged "all clear") or reach the reader's terminal.
fn push_line(text: &mut String, line: &str) {
    text.push_str(&printable(line));
    text.push('\n');
}

/// An SNS client in the topic's region.
pub fn client(caller: &Caller, topic_arn: &str) -> aws_sdk_sns::Client {
    let region = topic_arn.split(':').nth(3).unwrap_or_default().to_string();
    let config = aws_sdk_sns::config::Builder::from(&caller.config)
        .region(Region::new(region))
        .build();
    aws_sdk_sns::Client::from_conf(config)
}

/// Publish one message; `dedup_id` names it on a FIFO topic. Returns SNS's MessageId.
pub async fn publish_one(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    message: Message,
    dedup_id: &str,
) -> Result<String, AwsFailure> {
    let mut request = client
        .publish()
        .topic_arn(topic_arn)
        .subject(message.subject)
        .message(message.body);
    if topic_arn.ends_with(".fifo") {
        request = request
            .message_group_id("certaudit")
            .message_deduplication_id(dedup_id);
    }
    let out = request.send().await.map_err(|e| AwsFailure::from_sdk(&e))?;
    Ok(out.message_id().unwrap_or_default().to_string())
}

/// Publish the messages to the topic, every part of them.
pub async fn publish(
    caller: &Caller,
    topic_arn: &str,
    report: &Report,
    messages: Vec<Message>,
) -> Result<(), AwsFailure> {
    if messages.is_empty() {
        tracing::info!(topic = topic_arn, "nothing needs attention: no SNS message");
        return Ok(());
    }
    let client = client(caller, topic_arn);
    let total = messages.len();
    for (i, message) in messages.into_iter().enumerate() {
        let id = format!("certaudit-{}-{i}", report.generated_at.timestamp_millis());
        publish_one(&client, topic_arn, message, &id)
            .await
            .map_err(|failure| {
                AwsFailure::new(
                    &failure.code,
                    format!(
                        "SNS Publish to {topic_arn} failed at part {} of {total}: {}",
                        i + 1,
                        failure.message
                    ),
                )
            })?;
    }
    tracing::info!(topic = topic_arn, parts = total, "SNS summary published");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::attention::tests::cert;

    fn report(certificates: Vec<Certificate>) -> Report {
        let mut report = Report::new(chrono::Utc::now(), 45, "123456789012");
        report.certificates = certificates;
        report.tally(0);
        report
    }

    fn at_risk(days: i64) -> Certificate {
        use crate::renewal::{CheckStatus, RenewalCheck, Risk, RiskKind};
        let mut c = cert(days);
        c.expiring = false;
        c.will_not_renew = true;
        c.renewal_check = Some(Box::new(RenewalCheck {
            status: CheckStatus::AtRisk,
            risks: vec![Risk {
                kind: RiskKind::ValidationRecordMissing,
                name: "_x.www.example.com.".into(),
                detail: "NXDOMAIN".into(),
            }],
            attempt_in_days: Some(days - 60),
        }));
        c
    }

    /// Every clause at once, numbers at their widest, in part 12 of 12 of an incomplete scan
    /// with changes: the subject keeps "scan INCOMPLETE" and the part, and cuts no clause.
    #[test]
    fn a_long_subject_drops_whole_clauses_and_never_the_incomplete_flag() {
        let subject = Subject {
            lead: "123456 changes; ".into(),
            clauses: vec![
                "100000 expired, 100000 expiring, 100000 will not renew (100000 renewal at risk)"
                    .into(),
                "12 private CAs needing attention".into(),
                "3 shadow certificates expiring (CT)".into(),
                "4 endpoints serving a problem".into(),
            ],
            incomplete: true,
        };
        let text = subject.render(Some((12, 12)));
        assert!(text.len() <= MAX_SUBJECT_CHARS, "{text}");
        assert!(
            text.ends_with(" - scan INCOMPLETE (part 12 of 12)"),
            "{text}"
        );
        // 99 characters exactly: every clause kept.
        let exact = Subject {
            lead: String::new(),
            clauses: vec![
                "10 expired, 0 expiring, 0 will not renew".into(),
                "1 endpoint serving a problem".into(),
            ],
            incomplete: true,
        };
        let text = exact.render(None);
        assert_eq!(
            text,
            "certaudit: 10 expired, 0 expiring, 0 will not renew, 1 endpoint serving a problem \
             - scan INCOMPLETE"
        );
        assert_eq!(text.len(), MAX_SUBJECT_CHARS);
        // One clause more: the one that fitted gives way too, to say there is more.
        let mut more = exact;
        more.clauses
            .push("2 shadow certificates expiring (CT)".into());
        assert_eq!(
            more.render(None),
            "certaudit: 10 expired, 0 expiring, 0 will not renew, ... - scan INCOMPLETE"
        );
    }

    #[test]
    fn the_summary_counts_renewals_at_risk_and_says_why() {
        let messages = compose(&report(vec![at_risk(120)]), false);
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].subject.contains("(1 renewal at risk)"),
            "{}",
            messages[0].subject
        );
        assert!(messages[0]
            .body
            .contains("1 certificate(s) will not renew because ACM's next renewal will fail"));
        assert!(
            messages[0]
                .body
                .contains("validation CNAME _x.www.example.com. is missing (NXDOMAIN)"),
            "{}",
            messages[0].body
        );
    }

    #[test]
    fn endpoints_serving_a_problem_are_reported_even_when_no_certificate_needs_attention() {
        use crate::report::endpoint::{EndpointFinding, EndpointStatus};
        let mut probed = report(vec![cert(300)]);
        let mut wrong = Endpoint::unprobed(
            "shop.example.com",
            443,
            "shop.example.com",
            EndpointStatus::Critical,
        );
        wrong.findings = vec![EndpointFinding::Mismatch, EndpointFinding::Expiring];
        let fine = Endpoint::unprobed(
            "www.example.com",
            443,
            "www.example.com",
            EndpointStatus::Ok,
        );
        let skipped = Endpoint::unprobed(
            "*.example.com",
            443,
            "*.example.com",
            EndpointStatus::Skipped,
        );
        probed.endpoints = Some(vec![fine, wrong, skipped]);
        let messages = compose(&probed, false);
        assert_eq!(messages.len(), 1);
        assert_eq!(
            messages[0].subject,
            "certaudit: 1 endpoint serving a problem"
        );
        let body = &messages[0].body;
        assert!(body.contains("ENDPOINTS SERVING A PROBLEM (1)"), "{body}");
        assert!(
            body.contains("* shop.example.com:443 - CRITICAL - mismatch, expiring"),
            "{body}"
        );
        assert!(
            !body.contains("www.example.com:443"),
            "an ok endpoint is not listed: {body}"
        );
        probed.endpoints = Some(Vec::new());
        assert!(compose(&probed, false).is_empty(), "nothing to say");
    }

    #[test]
    fn control_and_bidi_characters_from_aws_cannot_forge_a_line_of_the_message() {
        let mut c = cert(3);
        c.domain_name = Some("www.example.com\r\nFAKE: all clear\u{1b}[2J\u{202E}".into());
        c.account_name = Some("ops\u{2066}\nFAKE: account".into());
        let mut failed = report(vec![c]);
        failed.errors.push(crate::report::ScanError::new(
            crate::report::Stage::ListCertificates,
            Some("111111111111"),
            Some("eu-west-1"),
            "AccessDenied",
            "denied\nFAKE: error \u{200F}",
        ));
        let messages = compose(&failed, false);
        assert_eq!(messages.len(), 1);
        let body = &messages[0].body;
        assert!(
            !body.lines().any(|l| l.starts_with("FAKE")),
            "a forged line: {body}"
        );
        assert!(
            !body.chars().any(|c| c != '\n' && is_control_character(c)),
            "{body:?}"
        );
        assert!(
            body.contains("www.example.com\u{FFFD}\u{FFFD}FAKE: all clear"),
            "{body}"
        );
        let subject = &messages[0].subject;
        assert!(subject.is_ascii() && !subject.chars().any(is_control_character));
    }

    #[test]
    fn nothing_to_report_sends_nothing_unless_always() {
        let quiet = report(vec![cert(300)]);
        assert!(compose(&quiet, false).is_empty());
        let always = compose(&quiet, true);
        assert_eq!(always.len(), 1);
        assert_eq!(
            always[0].subject,
            "certaudit: no certificate needs attention"
        );
    }

    #[test]
    fn groups_come_most_urgent_first() {
        let body = &compose(&report(vec![cert(20), cert(-2), cert(5)]), false)[0].body;
        let at = |t: &str| {
            body.find(t)
                .unwrap_or_else(|| panic!("{t} missing:\n{body}"))
        };
        assert!(at("EXPIRED (1)") < at("EXPIRING WITHIN 7 DAYS (1)"));
        assert!(at("EXPIRING WITHIN 7 DAYS (1)") < at("EXPIRING WITHIN 30 DAYS (1)"));
        assert!(
            body.contains("EXPIRED (-2 days)"),
            "days_to_expiry -2, as the report says it"
        );
    }

    #[test]
    fn a_large_body_is_split_into_parts_and_nothing_is_lost() {
        let many: Vec<Certificate> = (0..2000)
            .map(|i| {
                let mut c = cert(i % 40);
                c.arn = format!("arn:aws:acm:eu-west-1:111111111111:certificate/{i:08}");
                c
            })
            .collect();
        let messages = compose(&report(many), false);
        assert!(messages.len() > 1, "2000 entries exceed 256 KiB");
        for (i, m) in messages.iter().enumerate() {
            assert!(
                m.body.len() <= MAX_MESSAGE_BYTES,
                "part {i} is {} bytes",
                m.body.len()
            );
            assert!(m.subject.len() < 100 && m.subject.is_ascii() && !m.subject.contains('\n'));
            assert!(m
                .subject
                .ends_with(&format!("(part {} of {})", i + 1, messages.len())));
        }
        let all: String = messages.iter().map(|m| m.body.as_str()).collect();
        for i in 0..2000 {
            let arn = format!("certificate/{i:08}\n");
            assert_eq!(all.matches(&arn).count(), 1, "{arn} listed exactly once");
        }
    }
}
