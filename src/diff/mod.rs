//! What changed between two scans: one engine for two report files and for two scans of a
//! history database. Pure: two `Report`s in, one `Diff` out. The scope rule is the heart of
//! it — certificates are compared only where both scans read an account-region completely, so
//! a role that stopped answering never reads as "all its certificates were deleted".

mod certificate;
mod scope;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;

use crate::report::{account_label, AccountOutcome, AccountState, Certificate, Report, UNFINISHED};

pub use scope::{Coverage, NotCompared};

pub const SCHEMA_VERSION: u32 = 1;

/// The kinds of change, in the order the summary lists them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Renewed,
    Reimported,
    #[value(alias = "became-expiring")]
    BecameExpiring,
    #[value(alias = "became-expired")]
    BecameExpired,
    #[value(alias = "renewal-failed")]
    RenewalFailed,
    #[value(alias = "will-not-renew")]
    WillNotRenew,
    #[value(alias = "renewal-at-risk")]
    RenewalAtRisk,
    #[value(alias = "renewal-risk-resolved")]
    RenewalRiskResolved,
    #[value(alias = "in-use-changed")]
    InUseChanged,
    Changed,
    #[value(alias = "account-failed")]
    AccountFailed,
    #[value(alias = "account-recovered")]
    AccountRecovered,
    #[value(alias = "account-added")]
    AccountAdded,
    #[value(alias = "account-removed")]
    AccountRemoved,
    #[value(alias = "shadow-added")]
    ShadowAdded,
    #[value(alias = "shadow-gone")]
    ShadowGone,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 18] = [
        ChangeKind::Added,
        ChangeKind::Removed,
        ChangeKind::Renewed,
        ChangeKind::Reimported,
        ChangeKind::BecameExpiring,
        ChangeKind::BecameExpired,
        ChangeKind::RenewalFailed,
        ChangeKind::WillNotRenew,
        ChangeKind::RenewalAtRisk,
        ChangeKind::RenewalRiskResolved,
        ChangeKind::InUseChanged,
        ChangeKind::Changed,
        ChangeKind::AccountFailed,
        ChangeKind::AccountRecovered,
        ChangeKind::AccountAdded,
        ChangeKind::AccountRemoved,
        ChangeKind::ShadowAdded,
        ChangeKind::ShadowGone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Renewed => "renewed",
            ChangeKind::Reimported => "reimported",
            ChangeKind::BecameExpiring => "became_expiring",
            ChangeKind::BecameExpired => "became_expired",
            ChangeKind::RenewalFailed => "renewal_failed",
            ChangeKind::WillNotRenew => "will_not_renew",
            ChangeKind::RenewalAtRisk => "renewal_at_risk",
            ChangeKind::RenewalRiskResolved => "renewal_risk_resolved",
            ChangeKind::InUseChanged => "in_use_changed",
            ChangeKind::Changed => "changed",
            ChangeKind::AccountFailed => "account_failed",
            ChangeKind::AccountRecovered => "account_recovered",
            ChangeKind::AccountAdded => "account_added",
            ChangeKind::AccountRemoved => "account_removed",
            ChangeKind::ShadowAdded => "shadow_added",
            ChangeKind::ShadowGone => "shadow_gone",
        }
    }

    /// The table's marker: `+` added, `-` removed, `~` renewed or changed, `!` needs attention.
    pub fn marker(self) -> char {
        match self {
            ChangeKind::Added | ChangeKind::AccountAdded | ChangeKind::ShadowAdded => '+',
            ChangeKind::Removed | ChangeKind::AccountRemoved | ChangeKind::ShadowGone => '-',
            ChangeKind::BecameExpiring
            | ChangeKind::BecameExpired
            | ChangeKind::RenewalFailed
            | ChangeKind::WillNotRenew
            | ChangeKind::RenewalAtRisk
            | ChangeKind::AccountFailed => '!',
            ChangeKind::Renewed
            | ChangeKind::RenewalRiskResolved
            | ChangeKind::Reimported
            | ChangeKind::InUseChanged
            | ChangeKind::Changed
            | ChangeKind::AccountRecovered => '~',
        }
    }
}

/// One scan of the two: when, which stored scan (null for a report file), and where from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Side {
    pub generated_at: DateTime<Utc>,
    pub scan_id: Option<i64>,
    /// The report file's path, or the history database's.
    pub source: String,
}

/// One change. Account-level changes have no ARN, region or domain.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    pub kind: ChangeKind,
    pub arn: Option<String>,
    pub account_id: String,
    pub account_name: Option<String>,
    pub region: Option<String>,
    pub domain_name: Option<String>,
    /// The field the change is about (`not_after` for renewed, `serial` for reimported…).
    pub field: Option<String>,
    pub before: Value,
    pub after: Value,
}

impl Change {
    pub fn account_label(&self) -> String {
        account_label(&self.account_id, self.account_name.as_deref())
    }

    /// The change in a few words, as the table and the SNS message say it:
    /// `not_after 2026-12-01T00:00:00Z → 2027-12-30T00:00:00Z`, `failed: AccessDenied…`.
    pub fn detail(&self) -> String {
        match self.kind {
            ChangeKind::Added | ChangeKind::Removed | ChangeKind::AccountRemoved => String::new(),
            ChangeKind::ShadowAdded | ChangeKind::ShadowGone => format!(
                "in CT, in no inventory: issued by {}, {} days left",
                words(&self.after["issuer"]),
                words(&self.after["days_to_expiry"])
            ),
            ChangeKind::AccountAdded | ChangeKind::AccountFailed | ChangeKind::AccountRecovered => {
                let state = |v: &Value| words(&v["state"]);
                match &self.after["reason"] {
                    Value::Null => state(&self.after),
                    reason => format!("{}: {}", state(&self.after), words(reason)),
                }
            }
            ChangeKind::Changed if self.arn.is_none() => {
                let state = |v: &Value| words(&v["state"]);
                format!("state {} → {}", state(&self.before), state(&self.after))
            }
            _ => {
                let field = self.field.as_deref().unwrap_or_default();
                let (before, after) = (words(&self.before), words(&self.after));
                format!("{field} {before} → {after}")
            }
        }
    }
}

/// A value in words: strings bare, null as `none`, lists joined, objects as JSON.
fn words(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) => items.iter().map(words).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scope {
    /// Account-regions whose certificates were compared.
    pub compared: usize,
    /// One entry per account-region the earlier scan covered that could not be compared.
    pub not_compared: Vec<NotCompared>,
}

/// The diff document. Field names are a contract, as the report's are: add, never rename.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Diff {
    pub schema_version: u32,
    pub from: Side,
    pub to: Side,
    /// Every kind, with its count (zero included, so scripts can read any key).
    pub summary: BTreeMap<ChangeKind, usize>,
    pub scope: Scope,
    pub changes: Vec<Change>,
}

impl Diff {
    /// True when some account-region could not be compared: exit 3.
    pub fn is_incomplete(&self) -> bool {
        !self.scope.not_compared.is_empty()
    }

    pub fn count(&self, kind: ChangeKind) -> usize {
        self.summary.get(&kind).copied().unwrap_or(0)
    }
}

/// Compare two scans. `expiring_days` is the threshold `became_expiring` crosses (both scans'
/// certificates are judged by it, whatever each scan used).
pub fn diff(old: &Report, new: &Report, from: Side, to: Side, expiring_days: i64) -> Diff {
    let coverage = scope::compare(old, new);
    let mut changes = account_changes(old, new);
    let in_scope = |c: &Certificate| coverage.compares(&c.account_id, &c.region);
    let before: HashMap<&str, &Certificate> = old
        .certificates
        .iter()
        .filter(|c| in_scope(c))
        .map(|c| (c.arn.as_str(), c))
        .collect();
    let mut seen = std::collections::HashSet::with_capacity(before.len());
    for c in new.certificates.iter().filter(|c| in_scope(c)) {
        match before.get(c.arn.as_str()) {
            Some(o) => {
                seen.insert(c.arn.as_str());
                for found in certificate::changes(o, c, expiring_days) {
                    changes.push(cert_change(c, found));
                }
            }
            None => changes.push(cert_change(c, certificate::whole(ChangeKind::Added))),
        }
    }
    for (arn, o) in &before {
        if !seen.contains(arn) {
            changes.push(cert_change(o, certificate::whole(ChangeKind::Removed)));
        }
    }
    changes.extend(shadow_changes(old, new));
    changes.sort_by(|a, b| {
        (&a.account_id, &a.region, &a.arn, a.kind).cmp(&(&b.account_id, &b.region, &b.arn, b.kind))
    });
    let mut summary: BTreeMap<ChangeKind, usize> =
        ChangeKind::ALL.iter().map(|k| (*k, 0)).collect();
    for c in &changes {
        *summary.entry(c.kind).or_default() += 1;
    }
    Diff {
        schema_version: SCHEMA_VERSION,
        from,
        to,
        summary,
        scope: Scope {
            compared: coverage.compared,
            not_compared: coverage.not_compared,
        },
        changes,
    }
}

/// Shadow certificates (CT, SPEC §12) that appeared or went, in the domains both scans asked
/// completely: a domain either could not answer says nothing of what is there.
fn shadow_changes(old: &Report, new: &Report) -> Vec<Change> {
    use crate::report::ct::{CtStatus, Shadow, ShadowKind};
    let (Some(before), Some(after)) = (&old.ct, &new.ct) else {
        return Vec::new();
    };
    // With part of the inventory unread, a certificate in it reads as a shadow one: no change
    // is claimed from such a scan.
    if !before.inventory_complete || !after.inventory_complete {
        return Vec::new();
    }
    let complete = |section: &crate::report::ct::CtSection| -> std::collections::HashSet<String> {
        section
            .domains
            .iter()
            .filter(|d| d.status == CtStatus::Complete)
            .map(|d| d.domain.clone())
            .collect()
    };
    let (was, is) = (complete(before), complete(after));
    let shadows = |section: &crate::report::ct::CtSection| -> BTreeMap<String, Shadow> {
        section
            .shadow
            .iter()
            .filter(|s| s.kind == ShadowKind::Shadow)
            .filter(|s| was.contains(&s.domain) && is.contains(&s.domain))
            .map(|s| (s.key(), s.clone()))
            .collect()
    };
    let (then, now) = (shadows(before), shadows(after));
    let change = |kind, s: &Shadow| Change {
        kind,
        arn: None,
        account_id: String::new(),
        account_name: None,
        region: None,
        domain_name: Some(s.names.join(", ")),
        field: Some("ct".into()),
        before: Value::Null,
        after: serde_json::json!({"issuer": s.issuer, "not_after": s.not_after,
                                  "days_to_expiry": s.days_to_expiry, "link": s.link}),
    };
    let added = now
        .iter()
        .filter(|(k, _)| !then.contains_key(*k))
        .map(|(_, s)| change(ChangeKind::ShadowAdded, s));
    let gone = then
        .iter()
        .filter(|(k, _)| !now.contains_key(*k))
        .map(|(_, s)| change(ChangeKind::ShadowGone, s));
    added.chain(gone).collect()
}

fn cert_change(c: &Certificate, found: certificate::Found) -> Change {
    Change {
        kind: found.kind,
        arn: Some(c.arn.clone()),
        account_id: c.account_id.to_string(),
        account_name: c.account_name.as_ref().map(ToString::to_string),
        // IAM server certificates are global (null), and go by their name.
        region: (!c.region.is_empty()).then(|| c.region.to_string()),
        domain_name: c
            .domain_name
            .clone()
            .or_else(|| c.server_certificate.as_ref().map(|s| s.name.clone())),
        field: found.field.map(str::to_string),
        before: found.before,
        after: found.after,
    }
}

/// An account an interrupt cut short in its scan.
fn cut_short(account: &AccountOutcome) -> bool {
    account.state == AccountState::Failed && account.reason.as_deref() == Some(UNFINISHED)
}

/// Accounts that appeared, disappeared, started or stopped failing.
fn account_changes(old: &Report, new: &Report) -> Vec<Change> {
    let before: HashMap<&str, &AccountOutcome> = old
        .accounts
        .iter()
        .map(|a| (a.account_id.as_str(), a))
        .collect();
    let after: HashMap<&str, &AccountOutcome> = new
        .accounts
        .iter()
        .map(|a| (a.account_id.as_str(), a))
        .collect();
    let mut changes = Vec::new();
    for a in &new.accounts {
        let found = match before.get(a.account_id.as_str()) {
            // Outside the earlier scan's scope: not compared, not new to the organization.
            None if !scope::targeted(old, new, &a.account_id) => None,
            // Stopped by whoever ran a scan (Ctrl-C), in either scan: unknown, not failed nor
            // recovered; its regions are not compared.
            Some(o) if cut_short(o) || cut_short(a) => None,
            None if cut_short(a) => None,
            None => Some((ChangeKind::AccountAdded, None, Some(a))),
            Some(o) => match (o.state, a.state) {
                (AccountState::Scanned, AccountState::Failed) => {
                    Some((ChangeKind::AccountFailed, Some(*o), Some(a)))
                }
                (AccountState::Failed, AccountState::Scanned) => {
                    Some((ChangeKind::AccountRecovered, Some(*o), Some(a)))
                }
                (x, y) if x != y => Some((ChangeKind::Changed, Some(*o), Some(a))),
                _ => None,
            },
        };
        if let Some((kind, o, n)) = found {
            changes.push(account_change(kind, o, n));
        }
    }
    // An account missing from a later scan whose organization listing broke, or that the later
    // scan did not set out to read, is unknown, not removed: `scope` lists it as not compared.
    if !scope::listing_broke(new) {
        for o in old.accounts.iter().filter(|o| {
            !after.contains_key(o.account_id.as_str()) && scope::targeted(new, old, &o.account_id)
        }) {
            changes.push(account_change(ChangeKind::AccountRemoved, Some(o), None));
        }
    }
    changes
}

/// An account's state as a change shows it: `{"state", "reason"}`, null when absent.
fn account_state(a: Option<&AccountOutcome>) -> Value {
    a.map_or(
        Value::Null,
        |a| serde_json::json!({"state": a.state, "reason": a.reason}),
    )
}

fn account_change(
    kind: ChangeKind,
    old: Option<&AccountOutcome>,
    new: Option<&AccountOutcome>,
) -> Change {
    let a = new.or(old).expect("an account change has an account");
    Change {
        kind,
        arn: None,
        account_id: a.account_id.clone(),
        account_name: new
            .and_then(|n| n.account_name.clone())
            .or_else(|| old.and_then(|o| o.account_name.clone())),
        region: None,
        domain_name: None,
        field: (kind == ChangeKind::Changed).then(|| "state".to_string()),
        before: account_state(old),
        after: account_state(new),
    }
}

#[cfg(test)]
mod tests;
