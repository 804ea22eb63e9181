//! Organizations listing: every page of `ListAccounts` (pages may be empty while more
//! remain), or a recursive walk of OUs (`ListAccountsForParent` returns direct children only).

use std::collections::BTreeSet;

use aws_sdk_organizations::types::Account;
use aws_sdk_organizations::Client;

use super::{skip_reason, AccountTarget};
use crate::access::aws_error::AwsFailure;
use crate::report::FailureKind;

/// Organizations' largest page.
const PAGE_SIZE: i32 = 20;

fn target(account: &Account) -> AccountTarget {
    AccountTarget {
        id: account.id().unwrap_or_default().to_string(),
        name: account.name().map(str::to_string),
        skip: skip_reason(
            account.state().map(|s| s.as_str()),
            #[allow(deprecated)]
            account.status().map(|s| s.as_str()),
        ),
    }
}

/// Every account of the organization, handed to `found` page by page.
pub async fn list_all(
    client: &Client,
    found: &mut dyn FnMut(AccountTarget),
) -> Result<(), AwsFailure> {
    let mut pages = client
        .list_accounts()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsFailure::from_sdk(&e))?;
        page.accounts().iter().map(target).for_each(&mut *found);
    }
    Ok(())
}

/// Every account under these OUs or roots, at any depth, each once, handed to `found` page by
/// page.
pub async fn list_under(
    client: &Client,
    parents: &[String],
    found: &mut dyn FnMut(AccountTarget),
) -> Result<(), AwsFailure> {
    // Every OU given must exist before any account is handed over: a typo in one of them is
    // the same fatal error whatever its place in the list, never a part-way listing.
    for parent in parents {
        client
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .max_results(1)
            .send()
            .await
            .map_err(|e| naming_parent(AwsFailure::from_sdk(&e), parent))?;
    }
    let mut seen_accounts = BTreeSet::new();
    let mut seen_ous = BTreeSet::new();
    let mut stack: Vec<String> = parents.to_vec();
    while let Some(parent) = stack.pop() {
        if !seen_ous.insert(parent.clone()) {
            continue;
        }
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| naming_parent(AwsFailure::from_sdk(&e), &parent))?;
            let fresh = page.accounts().iter().map(target);
            fresh
                .filter(|t| seen_accounts.insert(t.id.clone()))
                .for_each(&mut *found);
        }
        let mut pages = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| naming_parent(AwsFailure::from_sdk(&e), &parent))?;
            stack.extend(
                page.organizational_units()
                    .iter()
                    .filter_map(|ou| ou.id().map(str::to_string)),
            );
        }
    }
    Ok(())
}

/// AWS's ParentNotFoundException does not say which parent; only one given with --ou can be
/// missing (the rest come from the API), so name it.
fn naming_parent(mut failure: AwsFailure, parent: &str) -> AwsFailure {
    if failure.kind() == FailureKind::NotFound {
        failure.message = format!("{parent} is not an OU or root of this organization");
    }
    failure
}
