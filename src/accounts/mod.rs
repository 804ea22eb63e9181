//! Which accounts are scanned: the organization's (optionally under some OUs) or an explicit
//! list, minus `--exclude`. Accounts that are not ACTIVE, and excluded ones, are kept as
//! *skipped* with the reason, so nothing is ever dropped silently.

mod organizations;

use anyhow::Result;

use crate::access::aws_error::AwsFailure;
use crate::access::Caller;
use crate::plan::{AccountSource, Targets};
use crate::report::FailureKind;

/// One account the scan targets, and whether it will be skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTarget {
    pub id: String,
    pub name: Option<String>,
    /// `Some(reason)` when the account is not scanned (suspended, excluded).
    pub skip: Option<String>,
}

/// List the target accounts. Organizations being unavailable without an explicit list is
/// fatal: there is nothing to scan.
pub async fn resolve(targets: &Targets, caller: &Caller) -> Result<Vec<AccountTarget>> {
    let mut all = Vec::new();
    resolve_each(targets, caller, &mut |target| all.push(target))
        .await
        .map_err(|broke| broke.error)?;
    Ok(all)
}

/// The account listing stopped: why (with the fix), the AWS failure behind it when there is
/// one, and how many accounts had been handed over before it.
#[derive(Debug)]
pub struct ListingBroke {
    pub error: anyhow::Error,
    pub failure: Option<AwsFailure>,
    pub listed: usize,
}

impl ListingBroke {
    /// The listing broke after some accounts were handed over: those are scanned, the rest
    /// are unknown. Says so, with the AWS error, instead of the advice for an organization that
    /// cannot be listed at all.
    pub fn part_way_message(&self) -> String {
        let cause = match &self.failure {
            Some(failure) => failure.to_string(),
            None => format!("{:#}", self.error),
        };
        format!(
            "the organization's account listing broke after {} ({cause}): accounts not yet \
             listed were not scanned, so the set of accounts is unknown; run again, or pass \
             --accounts / --accounts-file",
            crate::report::counted(self.listed, "account")
        )
    }
}

/// List the target accounts, handing each to `found` as its page arrives, so a scan starts on
/// the first page while later ones load. On failure, also says how many were handed over.
pub async fn resolve_each(
    targets: &Targets,
    caller: &Caller,
    found: &mut dyn FnMut(AccountTarget),
) -> Result<usize, ListingBroke> {
    let mut count = 0;
    let mut excluded = std::collections::BTreeSet::new();
    let mut each = |mut target: AccountTarget| {
        if targets.exclude.contains(&target.id) {
            target.skip = Some("excluded by --exclude".into());
            excluded.insert(target.id.clone());
        }
        count += 1;
        found(target);
    };
    match &targets.accounts {
        AccountSource::Explicit(named) => named.iter().for_each(|a| {
            each(AccountTarget {
                id: a.id.clone(),
                name: a.name.clone(),
                skip: None,
            })
        }),
        AccountSource::Organization { ous } => {
            let client = aws_sdk_organizations::Client::new(&caller.config);
            let listed = if ous.is_empty() {
                organizations::list_all(&client, &mut each).await
            } else {
                organizations::list_under(&client, ous, &mut each).await
            };
            if let Err(failure) = listed {
                return Err(ListingBroke {
                    error: organizations_unavailable(&failure, caller, ous),
                    failure: Some(failure),
                    listed: count,
                });
            }
        }
    }
    for id in targets.exclude.difference(&excluded) {
        tracing::warn!("--exclude {id}: no such account among those targeted; nothing excluded");
    }
    if count == 0 {
        let none = anyhow::anyhow!(
            "no accounts to scan: the organization (or the OUs given) holds no accounts"
        );
        return Err(ListingBroke {
            error: none,
            failure: None,
            listed: 0,
        });
    }
    Ok(count)
}

/// Organizations could not be listed: what to tell people.
fn organizations_unavailable(
    failure: &AwsFailure,
    caller: &Caller,
    ous: &[String],
) -> anyhow::Error {
    let failed = |advice: String| anyhow::anyhow!(advice);
    let kind = failure.kind();
    if kind == FailureKind::NotFound && !ous.is_empty() {
        return failed(format!(
            "--ou: {} ({}); check the IDs with `aws organizations list-roots` and \
             `aws organizations list-organizational-units-for-parent`",
            failure.message, failure.code
        ));
    }
    let cause = match kind {
        FailureKind::NotFound => format!(
            "account {} is not a member of an AWS Organization",
            caller.account_id
        ),
        FailureKind::AccessDenied => format!(
            "account {} may not list the organization's accounts (it is neither the management \
             account nor a delegated administrator, or lacks organizations:ListAccounts)",
            caller.account_id
        ),
        _ => format!("Organizations could not be listed ({failure})"),
    };
    failed(format!(
        "{cause}; pass --accounts ID,... or --accounts-file PATH to scan without Organizations, \
         or run from the management account"
    ))
}

/// The account's lifecycle state: `State`, falling back to the retired `Status` only when
/// `State` is absent (Status stopped being returned on 2026-09-09).
pub(crate) fn skip_reason(state: Option<&str>, status: Option<&str>) -> Option<String> {
    match state.or(status) {
        Some("ACTIVE") => None,
        Some(other) => Some(format!("account state is {other}")),
        None => Some("account state unknown (neither State nor Status returned)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::skip_reason;

    #[test]
    fn state_wins_over_retired_status() {
        assert_eq!(skip_reason(Some("ACTIVE"), Some("SUSPENDED")), None);
        assert_eq!(
            skip_reason(Some("SUSPENDED"), None).as_deref(),
            Some("account state is SUSPENDED")
        );
    }

    #[test]
    fn status_is_the_fallback_when_state_is_absent() {
        assert_eq!(skip_reason(None, Some("ACTIVE")), None);
        assert!(skip_reason(None, Some("PENDING_CLOSURE")).is_some());
        assert!(skip_reason(None, None).is_some());
    }
}
