//! Which accounts an event may act on: the organization's (those under `--ou` when given), or
//! with `--accounts` exactly those. An event names its account itself, and whoever can put an
//! event on the bus (or write the Scheduler input) could name any account; acting there would
//! assume a role in it (the ExternalId then sits in that account's CloudTrail), import a finding
//! and send a message about a certificate nobody here owns. The list is read once and kept for
//! the process, so a warm Lambda does not list the organization per event.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::access::Caller;
use crate::accounts;
use crate::plan::{AccountSource, Targets};

/// How old the kept list may be before it is read again, whatever account the event names: an
/// account that joined the organization is acted on, and one that left (or was suspended) is
/// no longer entered, within this time; a warm function lists at most once per period.
const RELIST_AFTER: Duration = Duration::from_secs(10 * 60);

/// The accounts listed, each with why it is not scanned (suspended, excluded), if it is not.
struct Listed {
    accounts: BTreeMap<String, Option<String>>,
    at: Instant,
}

impl Listed {
    /// Too old to decide on, for a member as for an outsider: a member may have left.
    fn stale(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.at) >= RELIST_AFTER
    }
}

/// Where an account stands with the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Standing {
    /// An account the scan covers.
    Member,
    /// An account of the organization that the scan skips (suspended, excluded): why.
    Skipped(String),
    /// Not an account of the organization (or not among `--accounts`): why.
    Outside(String),
}

/// The organization's accounts, listed on first need and kept.
#[derive(Default)]
pub(super) struct Members {
    listed: tokio::sync::Mutex<Option<Listed>>,
}

impl Members {
    /// Where `account` stands. An error when the accounts cannot be listed (Organizations
    /// unavailable): nothing can be decided.
    pub(super) async fn standing(
        &self,
        caller: &Caller,
        targets: &Targets,
        account: &str,
    ) -> anyhow::Result<Standing> {
        let mut listed = self.listed.lock().await;
        let stale = listed
            .as_ref()
            .is_none_or(|known| known.stale(Instant::now()));
        if stale {
            *listed = Some(list(caller, targets).await?);
        }
        let known = listed.as_ref().expect("listed above");
        Ok(match known.accounts.get(account) {
            Some(None) => Standing::Member,
            Some(Some(skip)) => {
                Standing::Skipped(format!("account {account} is not scanned: {skip}"))
            }
            None => Standing::Outside(format!(
                "account {account} is not {}: certaudit does not act on it",
                match &targets.accounts {
                    AccountSource::Explicit(_) => "among --accounts",
                    AccountSource::Organization { ous } if !ous.is_empty() => {
                        "an account of the organization under --ou"
                    }
                    AccountSource::Organization { .. } => "an account of the organization",
                }
            )),
        })
    }
}

async fn list(caller: &Caller, targets: &Targets) -> anyhow::Result<Listed> {
    let targets = accounts::resolve(targets, caller).await?;
    tracing::info!(
        accounts = targets.len(),
        "listed the accounts events may act on"
    );
    Ok(Listed {
        accounts: targets.into_iter().map(|t| (t.id, t.skip)).collect(),
        at: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_list_is_read_again_after_the_period_even_for_an_account_it_holds() {
        let now = Instant::now();
        let listed = |age: Duration| Listed {
            accounts: BTreeMap::from([("111111111111".to_string(), None)]),
            at: now.checked_sub(age).expect("the clock is past the age"),
        };
        assert!(!listed(Duration::from_secs(60)).stale(now));
        // An account that left the organization since is no longer entered by a warm function.
        assert!(listed(RELIST_AFTER + Duration::from_secs(1)).stale(now));
    }
}
