//! The scope rule: which account-regions two scans both read completely. Only there can a
//! missing certificate mean "removed" (or a new one "added"); every other account-region
//! either scan covered is listed as not compared, with the reason.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::report::{AccountOutcome, AccountState, Report, ScanError, ScanScope, Stage};

/// The "region" of an account's IAM server certificates, which are global: their `region`.
const IAM: &str = "";

/// An account-region whose certificates were not compared, and why. `region` is null when
/// the account had no region read in the earlier scan (it failed there).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotCompared {
    pub account_id: String,
    pub region: Option<String>,
    pub reason: String,
    /// For people (the table's `?` line); the JSON keeps the contract's three fields.
    #[serde(skip)]
    pub account_name: Option<String>,
}

/// Which account-regions compare, and which of the earlier scan's do not.
#[derive(Debug, Default)]
pub struct Coverage {
    regions: HashMap<String, HashSet<String>>,
    pub compared: usize,
    pub not_compared: Vec<NotCompared>,
}

impl Coverage {
    /// Whether certificates in this account-region are compared.
    pub fn compares(&self, account_id: &str, region: &str) -> bool {
        self.regions
            .get(account_id)
            .is_some_and(|regions| regions.contains(region))
    }

    fn compare(&mut self, account_id: &str, region: &str) {
        self.compared += 1;
        self.regions
            .entry(account_id.to_string())
            .or_default()
            .insert(region.to_string());
    }

    fn skip(&mut self, account: &AccountOutcome, region: Option<&str>, reason: String) {
        self.not_compared.push(NotCompared {
            account_id: account.account_id.clone(),
            region: region.map(str::to_string),
            reason,
            account_name: account.account_name.clone(),
        });
    }
}

/// True when the scan's organization listing broke part-way: an account missing from it may
/// still exist.
pub fn listing_broke(report: &Report) -> bool {
    report
        .errors
        .iter()
        .any(|e| e.stage == Stage::Organizations)
}

/// Whether `scan` set out to read this account; `other` is the scan it is compared with. A
/// report that does not say its scope (written before certaudit recorded it) is taken as the
/// whole organization's.
pub fn targeted(scan: &Report, other: &Report, account_id: &str) -> bool {
    scan.scope
        .as_ref()
        .is_none_or(|s| s.targets_account(account_id, other.scope.as_ref()))
}

/// Whether `scan` set out to read this region (no recorded scope: every enabled region).
fn region_targeted(scope: Option<&ScanScope>, region: &str) -> bool {
    scope.is_none_or(|s| s.targets_region(region))
}

/// The first error of each account and of each account-region, for the stages that read
/// certificates (notification errors say nothing about what was read).
struct Gaps<'a> {
    accounts: HashMap<&'a str, &'a AccountOutcome>,
    errors: HashMap<(&'a str, Option<&'a str>), &'a ScanError>,
    scope: Option<&'a ScanScope>,
}

impl<'a> Gaps<'a> {
    fn of(report: &'a Report) -> Self {
        let mut errors = HashMap::new();
        for e in &report.errors {
            let reads = !matches!(
                e.stage,
                Stage::Organizations
                    | Stage::Sns
                    | Stage::SecurityHub
                    | Stage::ReportS3
                    | Stage::Probe
                    | Stage::Dns
                    // CAs are no certificates: their listing leaves the inventory whole.
                    | Stage::ListCertificateAuthorities
            );
            // IAM's listing failing leaves the account's IAM "region" unread, not its ACM ones.
            let region = match e.stage {
                Stage::ListServerCertificates => Some(IAM),
                _ => e.region.as_deref(),
            };
            if let (true, Some(account)) = (reads, e.account_id.as_deref()) {
                errors.entry((account, region)).or_insert(e);
            }
        }
        let accounts = report
            .accounts
            .iter()
            .map(|a| (a.account_id.as_str(), a))
            .collect();
        Gaps {
            accounts,
            errors,
            scope: report.scope.as_ref(),
        }
    }

    /// Why this scan did not read the account-region completely; None when it did. `IAM`
    /// stands for the account's IAM server certificates.
    fn gap(&self, account: &AccountOutcome, region: &str) -> Option<String> {
        if account.state != AccountState::Scanned {
            return Some(account_gap(account));
        }
        let id = account.account_id.as_str();
        if region == IAM {
            if !self.scope.is_some_and(ScanScope::reads_iam) {
                return Some("IAM server certificates not read (--sources)".into());
            }
            let error = self
                .errors
                .get(&(id, None))
                .or_else(|| self.errors.get(&(id, Some(IAM))))?;
            return Some(format!("{} {}", error.stage.as_str(), error.code));
        }
        if !self.scope.is_none_or(ScanScope::reads_acm) {
            return Some("ACM not read (--sources)".into());
        }
        if !account.regions.iter().any(|r| r == region) {
            return Some(if region_targeted(self.scope, region) {
                "region not scanned".into()
            } else {
                "region outside its scope (--regions)".into()
            });
        }
        let error = self
            .errors
            .get(&(id, None))
            .or_else(|| self.errors.get(&(id, Some(region))))?;
        Some(format!("{} {}", error.stage.as_str(), error.code))
    }

    fn reads_iam(&self) -> bool {
        self.scope.is_some_and(ScanScope::reads_iam)
    }

    fn account(&self, id: &str) -> Option<&'a AccountOutcome> {
        self.accounts.get(id).copied()
    }
}

fn account_gap(account: &AccountOutcome) -> String {
    let state = match account.state {
        AccountState::Scanned => "scanned",
        AccountState::Failed => "account failed",
        AccountState::Skipped => "account skipped",
    };
    match &account.reason {
        Some(reason) => format!("{state}: {reason}"),
        None => state.to_string(),
    }
}

/// Apply the scope rule to every account either scan listed. It is symmetric: an account or
/// region only one scan set out to read is not compared, whichever scan it was, so a narrower
/// scan never reads as the rest of the organization removed, nor a wider one as all of it added.
pub fn compare(old: &Report, new: &Report) -> Coverage {
    let (before, after) = (Gaps::of(old), Gaps::of(new));
    let mut coverage = Coverage::default();
    let ids: BTreeSet<&str> = old
        .accounts
        .iter()
        .chain(&new.accounts)
        .map(|a| a.account_id.as_str())
        .collect();
    for id in ids {
        match (before.account(id), after.account(id)) {
            (Some(o), Some(n)) => both(&mut coverage, (&before, o), (&after, n)),
            (Some(o), None) => {
                let reason = if !targeted(new, old, id) {
                    "outside the later scan's scope"
                } else if listing_broke(new) {
                    "not in the later scan: its organization listing broke before this account"
                } else {
                    "account not in the later scan"
                };
                earlier_regions(&mut coverage, o, |_| Some(reason.to_string()));
            }
            (None, Some(n)) if !targeted(old, new, id) => {
                later_regions(&mut coverage, n, "outside the earlier scan's scope");
            }
            (None, Some(n)) => {
                // New to the organization: what the later scan read completely is new to the
                // audit; what it could not read, its own errors already say.
                for region in n.regions.iter().map(String::as_str).chain([IAM]) {
                    if after.gap(n, region).is_none() {
                        coverage.compare(id, region);
                    }
                }
            }
            (None, None) => {}
        }
    }
    coverage
}

/// An account only the later scan set out to read: each region it read is listed, none is
/// compared (an account it failed to read is one entry with a null region).
fn later_regions(coverage: &mut Coverage, n: &AccountOutcome, reason: &str) {
    if n.regions.is_empty() && n.state == AccountState::Failed {
        coverage.skip(n, None, reason.to_string());
    }
    for region in &n.regions {
        coverage.skip(n, Some(region), reason.to_string());
    }
}

/// An account both scans targeted: each region either compares or is listed with the reasons
/// from either side. A region only the later scan read compares when it read it completely
/// (its certificates are new to the audit).
fn both(
    coverage: &mut Coverage,
    (before, o): (&Gaps, &AccountOutcome),
    (after, n): (&Gaps, &AccountOutcome),
) {
    let reasons = |region: &str| {
        let mut why = Vec::new();
        if let Some(gap) = before.gap(o, region) {
            why.push(format!("earlier scan: {gap}"));
        }
        if let Some(gap) = after.gap(n, region) {
            why.push(format!("later scan: {gap}"));
        }
        (!why.is_empty()).then(|| why.join("; "))
    };
    earlier_regions(coverage, o, |region| match region {
        Some(region) => reasons(region),
        None => Some(match n.state {
            AccountState::Scanned => format!("earlier scan: {}", account_gap(o)),
            _ => format!(
                "earlier scan: {}; later scan: {}",
                account_gap(o),
                account_gap(n)
            ),
        }),
    });
    // The account's IAM server certificates: compared when both scans read them, in full.
    if o.state == AccountState::Scanned && n.state == AccountState::Scanned {
        match reasons(IAM) {
            None => coverage.compare(&n.account_id, IAM),
            // Neither scan read IAM (--sources, or both from before it was read): nothing to
            // say about certificates neither has.
            Some(_) if !before.reads_iam() && !after.reads_iam() => {}
            Some(reason) => coverage.skip(n, Some("global (IAM)"), reason),
        }
    }
    for region in n.regions.iter().filter(|r| !o.regions.contains(r)) {
        if !region_targeted(before.scope, region) {
            let reason = "earlier scan: region outside its scope (--regions)".to_string();
            coverage.skip(n, Some(region), reason);
        } else if o.state != AccountState::Failed && after.gap(n, region).is_none() {
            // Skipped before (suspended, say) or newly enabled: its certificates are new to
            // the audit.
            coverage.compare(&n.account_id, region);
        }
    }
}

/// Every region the earlier scan read in this account, compared when `why` has no reason.
/// An account it tried and failed to read is one entry with a null region; one it skipped
/// on purpose (suspended) or found no region enabled in covered nothing to compare.
fn earlier_regions(
    coverage: &mut Coverage,
    o: &AccountOutcome,
    why: impl Fn(Option<&str>) -> Option<String>,
) {
    if o.regions.is_empty() {
        if let (AccountState::Failed, Some(reason)) = (o.state, why(None)) {
            coverage.skip(o, None, reason);
        }
        return;
    }
    for region in &o.regions {
        match why(Some(region)) {
            None => coverage.compare(&o.account_id, region),
            Some(reason) => coverage.skip(o, Some(region), reason),
        }
    }
}
