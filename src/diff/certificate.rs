//! How one certificate changed between two scans: the named kinds first (renewed, reimported,
//! crossed a threshold, renewal failed…), then `changed` for every other field that differs.
//! Fields derived from the scan's time (days_to_expiry, expiring, expired) never count as a
//! change by themselves: they move every day.

use serde::Serialize;
use serde_json::Value;

use super::ChangeKind;
use crate::report::Certificate;

/// Renewal states that mean ACM's renewal is stuck and a human must act.
const RENEWAL_STUCK: [&str; 2] = ["FAILED", "PENDING_VALIDATION"];

/// One change found in a certificate, before it is placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub kind: ChangeKind,
    pub field: Option<&'static str>,
    pub before: Value,
    pub after: Value,
}

/// A change about the whole certificate (added, removed).
pub fn whole(kind: ChangeKind) -> Found {
    Found {
        kind,
        field: None,
        before: Value::Null,
        after: Value::Null,
    }
}

fn found<T: Serialize>(kind: ChangeKind, field: &'static str, before: T, after: T) -> Found {
    let value = |v: T| serde_json::to_value(v).unwrap_or(Value::Null);
    Found {
        kind,
        field: Some(field),
        before: value(before),
        after: value(after),
    }
}

fn expiring(c: &Certificate, expiring_days: i64) -> bool {
    c.expired || c.days_to_expiry.is_some_and(|d| d <= expiring_days)
}

fn stuck(c: &Certificate) -> bool {
    c.renewal_status
        .as_deref()
        .is_some_and(|s| RENEWAL_STUCK.contains(&s))
}

/// Whether `n` is a new certificate in `o`'s place, and how it came: uploaded again (an IAM
/// server certificate: IAM lists no serial, the upload gets a new ID; nothing renews it),
/// re-imported (a new serial), or renewed (a later expiry). The flag: a new serial or a
/// renewal, which explains the other fields that come with a new certificate.
fn replaced(o: &Certificate, n: &Certificate) -> Option<(Found, bool)> {
    let server_id = |c: &Certificate| c.server_certificate.as_ref().map(|s| s.id.clone());
    if n.is_iam() && server_id(o).is_some() && server_id(o) != server_id(n) {
        let f = found(
            ChangeKind::Reimported,
            "server_certificate.id",
            server_id(o),
            server_id(n),
        );
        return Some((f, false));
    }
    if n.imported && o.serial.is_some() && n.serial.is_some() && o.serial != n.serial {
        let f = found(ChangeKind::Reimported, "serial", &o.serial, &n.serial);
        return Some((f, true));
    }
    let later = matches!((o.not_after, n.not_after), (Some(before), Some(after)) if after > before);
    let f = || found(ChangeKind::Renewed, "not_after", o.not_after, n.not_after);
    (later && !n.is_iam()).then(|| (f(), true))
}

/// Every change from `o` to `n` (the same ARN), named kinds first.
pub fn changes(o: &Certificate, n: &Certificate, expiring_days: i64) -> Vec<Found> {
    let replacement = replaced(o, n);
    let new_certificate = replacement.as_ref().is_some_and(|(_, new)| *new);
    let mut out: Vec<Found> = replacement.into_iter().map(|(f, _)| f).collect();
    let days = |kind| found(kind, "days_to_expiry", o.days_to_expiry, n.days_to_expiry);
    if n.expired && !o.expired {
        out.push(days(ChangeKind::BecameExpired));
    } else if expiring(n, expiring_days) && !expiring(o, expiring_days) {
        out.push(days(ChangeKind::BecameExpiring));
    }
    // Only DescribeCertificate reads these; a `--detail summary` scan leaves them null.
    let described = o.in_use_by.is_some() && n.in_use_by.is_some();
    let renewal_failed = described && stuck(n) && o.renewal_status != n.renewal_status;
    if renewal_failed {
        let (before, after) = (&o.renewal_status, &n.renewal_status);
        out.push(found(
            ChangeKind::RenewalFailed,
            "renewal_status",
            before,
            after,
        ));
    }
    // Derived from the renewal status too, which only a description reads: between a summary
    // scan and a full one it would turn true for a renewal that failed long ago. Two scans that
    // read the same fields (both full, or both summary) compare it.
    let same_reading = o.in_use_by.is_some() == n.in_use_by.is_some();
    let risk_found = renewal_check(o, n, &mut out);
    if same_reading && n.will_not_renew && !o.will_not_renew && !risk_found {
        out.push(found(
            ChangeKind::WillNotRenew,
            "will_not_renew",
            false,
            true,
        ));
    }
    // Null is "not read" (--detail summary): only two readings can differ.
    if let (Some(before), Some(after)) = (&o.in_use_by, &n.in_use_by) {
        if before != after {
            out.push(found(ChangeKind::InUseChanged, "in_use_by", before, after));
        }
    } else if o.in_use.is_some() && n.in_use.is_some() && o.in_use != n.in_use {
        out.push(found(
            ChangeKind::InUseChanged,
            "in_use",
            o.in_use,
            n.in_use,
        ));
    }
    let explained = Explained {
        described,
        certificate: new_certificate,
        renewal_status: renewal_failed,
        status: n.expired && !o.expired,
    };
    other_fields(o, n, explained, &mut out);
    out
}

/// The renewal check (SPEC §13), when both scans made it: a risk found, or one gone (an
/// unknown check resolves nothing). True when a risk was found.
fn renewal_check(o: &Certificate, n: &Certificate, out: &mut Vec<Found>) -> bool {
    let (Some(before), Some(after)) = (&o.renewal_check, &n.renewal_check) else {
        return false;
    };
    let risks = |r: &crate::renewal::RenewalCheck| {
        r.risks
            .iter()
            .map(|r| format!("{} {}", r.kind.as_str(), r.name))
            .collect::<Vec<_>>()
    };
    if after.at_risk() && !before.at_risk() {
        out.push(found(
            ChangeKind::RenewalAtRisk,
            "renewal_check",
            risks(before),
            risks(after),
        ));
        return true;
    }
    if before.at_risk() && after.status == crate::renewal::CheckStatus::Ok {
        out.push(found(
            ChangeKind::RenewalRiskResolved,
            "renewal_check",
            risks(before),
            risks(after),
        ));
    }
    false
}

/// Fields a named kind already reports, so `changed` does not say them twice; and whether
/// both scans described the certificate (else what only a description reads is unknown).
struct Explained {
    described: bool,
    /// Renewed or reimported: a new certificate, so its serial and validity are new too.
    certificate: bool,
    renewal_status: bool,
    /// Became expired: ACM's status turns EXPIRED with it.
    status: bool,
}

/// `changed`, one per field that differs and no named kind explains.
fn other_fields(o: &Certificate, n: &Certificate, explained: Explained, out: &mut Vec<Found>) {
    macro_rules! field {
        ($name:literal, $field:ident) => {
            if o.$field != n.$field {
                out.push(found(ChangeKind::Changed, $name, &o.$field, &n.$field));
            }
        };
    }
    field!("domain_name", domain_name);
    if explained.described {
        field!("subject_alternative_names", subject_alternative_names);
        field!("issuer", issuer);
        field!("renewal_status_reason", renewal_status_reason);
        field!("failure_reason", failure_reason);
    }
    field!("type", cert_type);
    if !explained.status {
        field!("status", status);
    }
    field!("key_algorithm", key_algorithm);
    field!("key_pair_origin", key_pair_origin);
    if !explained.certificate {
        if explained.described {
            field!("serial", serial);
        }
        field!("not_before", not_before);
        field!("not_after", not_after);
    }
    field!("renewal_eligibility", renewal_eligibility);
    if explained.described && !explained.renewal_status {
        field!("renewal_status", renewal_status);
    }
    field!("managed_by", managed_by);
    if o.tags.is_some() && n.tags.is_some() {
        field!("tags", tags);
    }
}
