//! The SNS messages about one certificate that an ACM event sends: it needs attention, it no
//! longer does (resolved), or it was renewed where ACM cannot redeploy it (export it again).
//! Subjects are ASCII, one line, under 100 characters, and name the urgency, domain and account;
//! values from AWS reach the body through the control-character rule, as in the summary.

use chrono::SecondsFormat;

use super::sns::{clip_subject, entry, Message, MAX_SUBJECT_CHARS};
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
    c.label()
}

/// The fewest characters of the domain a subject keeps before the account's name gives way.
const MIN_DOMAIN_CHARS: usize = 24;

/// `certaudit: {words}: {domain} in {name} ({account ID})`, ASCII and under SNS's limit. What
/// gives way is the domain, then the account's name; never the account ID, which is what a
/// reader (or a mail filter) needs whole to know whose certificate it is.
fn subject(words: &str, c: &Certificate) -> String {
    let prefix = clip_subject(&format!("certaudit: {words}: "));
    let id = clip_subject(&c.account_id);
    let name = c.account_name.as_deref().map(clip_subject);
    let domain = clip_subject(domain(c));
    let room = |account: &str| {
        MAX_SUBJECT_CHARS.saturating_sub(prefix.len() + " in ".len() + account.len())
    };
    let account = match &name {
        Some(name) => {
            let whole = format!("{name} ({id})");
            if room(&whole) >= domain.len().min(MIN_DOMAIN_CHARS) {
                whole
            } else {
                let left = room(&format!(" ({id})")).saturating_sub(MIN_DOMAIN_CHARS);
                match shorten(name, left) {
                    short if short.is_empty() => id.clone(),
                    short => format!("{short} ({id})"),
                }
            }
        }
        None => id.clone(),
    };
    let domain = shorten(&domain, room(&account));
    clip_subject(&format!("{prefix}{domain} in {account}"))
}

/// `text` in at most `max` characters, marked with `...` where it was cut (ASCII in, so bytes
/// are characters); empty when not even the mark fits.
fn shorten(text: &str, max: usize) -> String {
    const MARK: &str = "...";
    if text.len() <= max {
        text.to_string()
    } else if max <= MARK.len() {
        String::new()
    } else {
        format!("{}{MARK}", text[..max - MARK.len()].trim_end())
    }
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
        subject: subject(&headline, c),
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
        subject: subject("resolved", c),
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
        subject: subject("renewed - export and redeploy", c),
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

    #[test]
    fn a_long_subject_clips_the_domain_never_the_account_id() {
        let mut c = cert(3);
        c.domain_name = Some(format!("pay-now.{}.attacker.example", "x".repeat(90)));
        for message in [
            attention(&c, "ACM Certificate Approaching Expiration"),
            resolved(&c, "certaudit/x"),
            export_again(&c),
        ] {
            let s = &message.subject;
            assert!(s.len() < 100 && s.is_ascii(), "{s}");
            assert!(s.ends_with(" in prod-web (111111111111)"), "{s}");
            assert!(s.contains("pay-now.xxx") && s.contains("..."), "{s}");
        }
        // A long account name gives way too, but the ID stays whole.
        c.account_name = Some("n".repeat(50).into());
        let s = export_again(&c).subject;
        assert!(s.len() < 100 && s.ends_with(" (111111111111)"), "{s}");
        assert!(s.contains("pay-now.xxx"), "{s}");
        c.account_name = None;
        let s = attention(&c, "ACM Certificate Expired").subject;
        assert!(s.len() < 100 && s.ends_with(" in 111111111111"), "{s}");
        // A short one is left as it is.
        assert_eq!(
            attention(&cert(14), "x").subject,
            "certaudit: EXPIRES IN 14 DAYS: www.example.com in prod-web (111111111111)"
        );
    }
}
