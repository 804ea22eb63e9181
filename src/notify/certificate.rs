//! The SNS messages about one certificate that an ACM event sends: it needs attention, it no
//! longer does (resolved), or it was renewed where ACM cannot redeploy it (export it again).
//! Subjects are ASCII, one line, under 100 characters, and name the urgency, domain and account;
//! values from AWS reach the body through the control-character rule, as in the summary.

use chrono::SecondsFormat;

use super::sns::{clip_subject, entry, Message};
use crate::report::attention::renewal_failed;
use crate::report::{printable, Certificate};

/// How urgent, in the subject's words.
fn headline(c: &Certificate) -> String {
    match c.days_to_expiry {
        _ if c.expired => "EXPIRED".into(),
        Some(0) if c.expiring => "EXPIRES TODAY".into(),
        Some(1) if c.expiring => "EXPIRES IN 1 DAY".into(),
        Some(d) if c.expiring => format!("EXPIRES IN {d} DAYS"),
        _ if renewal_failed(c) => "RENEWAL FAILED".into(),
        _ => "WILL NOT RENEW".into(),
    }
}

fn domain(c: &Certificate) -> &str {
    c.domain_name.as_deref().unwrap_or("(no domain)")
}

fn not_after(c: &Certificate) -> String {
    c.not_after
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| "unknown".into())
}

/// The certificate needs attention.
pub fn attention(c: &Certificate, detail_type: &str) -> Message {
    let headline = headline(c);
    Message {
        subject: clip_subject(&format!(
            "certaudit: {headline}: {} in {}",
            domain(c),
            c.account_label()
        )),
        body: format!(
            "{headline}: an ACM certificate needs attention (event: {detail_type}).\n{}\
             Not after: {}\n",
            entry(c),
            not_after(c)
        ),
    }
}

/// The certificate no longer needs attention; its finding was archived.
pub fn resolved(c: &Certificate, finding_id: &str) -> Message {
    Message {
        subject: clip_subject(&format!(
            "certaudit: resolved: {} in {}",
            domain(c),
            c.account_label()
        )),
        body: format!(
            "RESOLVED: this ACM certificate no longer needs attention (renewed, re-imported or \
             fixed); its Security Hub finding {} is archived.\n{}Not after: {}\n",
            printable(finding_id),
            entry(c),
            not_after(c)
        ),
    }
}

/// Renewed, but private or exported: ACM cannot install the new certificate where it was
/// exported to.
pub fn export_again(c: &Certificate) -> Message {
    Message {
        subject: clip_subject(&format!(
            "certaudit: renewed - export and redeploy: {} in {}",
            domain(c),
            c.account_label()
        )),
        body: format!(
            "RENEWED - EXPORT THE NEW CERTIFICATE AND REDEPLOY IT.\n\
             ACM renewed this certificate, but it is {why}: ACM cannot install the renewed \
             certificate where it was exported to (a web server, a device). Until it is \
             exported and redeployed there, the old one is served and expires.\n{entry}\
             New not after: {not_after}\n\n\
             Export it (the private key comes encrypted with the passphrase):\n  \
             aws acm export-certificate --region {region} --certificate-arn {arn} \
             --passphrase fileb://passphrase.txt\n",
            why = if c.cert_type.as_deref() == Some("PRIVATE") {
                "a private certificate"
            } else {
                "exported"
            },
            entry = entry(c),
            not_after = not_after(c),
            region = printable(&c.region),
            arn = printable(&c.arn),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::attention::tests::cert;

    #[test]
    fn subjects_name_urgency_domain_and_account_in_ascii_under_100() {
        let mut c = cert(14);
        assert_eq!(
            attention(&c, "ACM Certificate Approaching Expiration").subject,
            "certaudit: EXPIRES IN 14 DAYS: www.example.com in prod-web (111111111111)"
        );
        c.domain_name = Some(format!("{}.ünïcode.example.com", "x".repeat(120)));
        let subject = attention(&c, "ACM Certificate Expired").subject;
        assert!(subject.len() < 100 && subject.is_ascii(), "{subject}");
        assert_eq!(headline(&cert(-2)), "EXPIRED");
        assert_eq!(headline(&cert(0)), "EXPIRES TODAY");
        let mut later = cert(200);
        later.will_not_renew = true;
        assert_eq!(headline(&later), "WILL NOT RENEW");
    }

    #[test]
    fn export_message_carries_the_export_command() {
        let c = cert(395);
        let message = export_again(&c);
        assert!(message
            .subject
            .starts_with("certaudit: renewed - export and redeploy"));
        assert!(
            message.body.contains(&format!(
                "aws acm export-certificate --region eu-west-1 --certificate-arn {}",
                c.arn
            )),
            "{}",
            message.body
        );
    }
}
