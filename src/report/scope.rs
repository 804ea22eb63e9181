//! What a scan set out to cover: the whole organization, or some of its accounts, OUs and
//! regions. Two scans compare account by account only where both meant to look; a narrower
//! scan must not read as the rest of the organization disappearing.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The accounts and regions a scan targeted, as the command line chose them (not as they
/// turned out: an account that failed was still in scope).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScanScope {
    /// Exactly these account IDs (`--accounts`, `--accounts-file`); null: the organization's.
    pub accounts: Option<BTreeSet<String>>,
    /// Only the organization's accounts under these OUs or roots; empty: all of them.
    #[serde(default)]
    pub ous: BTreeSet<String>,
    /// Accounts left out (`--exclude`).
    #[serde(default)]
    pub exclude: BTreeSet<String>,
    /// Only these regions (`--regions`); null: every region each account has enabled.
    pub regions: Option<BTreeSet<String>>,
    /// The sources read (`--sources`: `acm`, `iam`, `pca`). Absent in a report from before
    /// certaudit read IAM and Private CA, which read ACM alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<BTreeSet<String>>,
}

impl ScanScope {
    /// The whole organization, every enabled region.
    pub fn organization() -> Self {
        ScanScope::default()
    }

    /// Whether a scan of this scope set out to read this account. For OUs the membership at
    /// the time is unknown: an account is taken as in scope when `other`, the scan it is
    /// compared with, chose the same OUs (then the organization moved it, not the flags).
    pub fn targets_account(&self, account_id: &str, other: Option<&ScanScope>) -> bool {
        if self.exclude.contains(account_id) {
            return false;
        }
        if let Some(accounts) = &self.accounts {
            return accounts.contains(account_id);
        }
        self.ous.is_empty() || other.is_some_and(|o| o.accounts.is_none() && o.ous == self.ous)
    }

    /// Whether a scan of this scope read IAM server certificates.
    pub fn reads_iam(&self) -> bool {
        self.sources.as_ref().is_some_and(|s| s.contains("iam"))
    }

    /// Whether a scan of this scope read ACM.
    pub fn reads_acm(&self) -> bool {
        self.sources.as_ref().is_none_or(|s| s.contains("acm"))
    }

    /// Whether a scan of this scope set out to read this region.
    pub fn targets_region(&self, region: &str) -> bool {
        self.regions.as_ref().is_none_or(|r| r.contains(region))
    }

    /// In a few words, for `certaudit history` and messages: `organization`,
    /// `accounts 111…, 222…`, `OUs ou-…`, with `; regions …` and `; excluding …` when set.
    pub fn describe(&self) -> String {
        let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
        let mut words = match (&self.accounts, self.ous.is_empty()) {
            (Some(accounts), _) => format!("accounts {}", list(accounts)),
            (None, false) => format!("OUs {}", list(&self.ous)),
            (None, true) => "organization".to_string(),
        };
        if !self.exclude.is_empty() {
            words.push_str(&format!("; excluding {}", list(&self.exclude)));
        }
        if let Some(regions) = &self.regions {
            words.push_str(&format!("; regions {}", list(regions)));
        }
        // Every source is the default and goes unsaid; fewer are a narrower scope.
        if let Some(sources) = self.sources.as_ref().filter(|s| s.len() < 3) {
            words.push_str(&format!("; sources {}", list(sources)));
        }
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_account_list_targets_only_its_accounts_and_the_organization_all_but_excluded() {
        let one = ScanScope {
            accounts: Some(set(&["111111111111"])),
            ..ScanScope::default()
        };
        assert!(one.targets_account("111111111111", None));
        assert!(!one.targets_account("222222222222", None));
        let org = ScanScope {
            exclude: set(&["333333333333"]),
            ..ScanScope::organization()
        };
        assert!(org.targets_account("222222222222", Some(&one)));
        assert!(!org.targets_account("333333333333", None));
    }

    #[test]
    fn an_ou_scope_targets_an_unknown_account_only_against_the_same_ous() {
        let ou = ScanScope {
            ous: set(&["ou-ab12-cdef3456"]),
            ..ScanScope::default()
        };
        assert!(ou.targets_account("222222222222", Some(&ou.clone())));
        assert!(!ou.targets_account("222222222222", Some(&ScanScope::organization())));
        assert!(!ou.targets_account("222222222222", None));
    }

    #[test]
    fn regions_null_means_every_enabled_region() {
        let some = ScanScope {
            regions: Some(set(&["us-east-1"])),
            ..ScanScope::default()
        };
        assert!(some.targets_region("us-east-1") && !some.targets_region("eu-west-1"));
        assert!(ScanScope::organization().targets_region("eu-west-1"));
        assert_eq!(some.describe(), "organization; regions us-east-1");
    }

    #[test]
    fn fewer_sources_are_said_and_all_of_them_go_unsaid() {
        let set = |s: &[&str]| Some(s.iter().map(|x| x.to_string()).collect());
        let all = ScanScope {
            sources: set(&["acm", "iam", "pca"]),
            ..ScanScope::default()
        };
        assert_eq!(all.describe(), "organization");
        let acm = ScanScope {
            sources: set(&["acm"]),
            ..ScanScope::default()
        };
        assert_eq!(acm.describe(), "organization; sources acm");
        assert!(all.reads_iam() && !acm.reads_iam());
        assert!(
            !ScanScope::default().reads_iam(),
            "a report from before read ACM alone"
        );
        assert!(ScanScope::default().reads_acm());
    }
}
