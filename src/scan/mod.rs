//! The scan engine: accounts concurrently (up to `--max-accounts`), each account's regions
//! concurrently, each region's describes concurrently under its rate limiter. One account's
//! failure is recorded and the scan goes on.

mod certificates;
mod limiter;
pub mod regions;

use std::time::Instant;

use chrono::Utc;
use futures::stream::{self, StreamExt};

use crate::access::aws_error::AwsFailure;
use crate::access::Caller;
use crate::accounts::AccountTarget;
use crate::cli::Detail;
use crate::plan::ScanPlan;
use crate::progress::Progress;
use crate::report::classify::classify;
use crate::report::{
    AccountOutcome, AccountState, Certificate, Report, ScanError, Stage, Summary, Tool,
};
use certificates::{Depth, RegionTarget};
use limiter::CallLimiter;

/// Everything one account contributed.
struct AccountScan {
    outcome: AccountOutcome,
    certificates: Vec<Certificate>,
    errors: Vec<ScanError>,
}

impl AccountScan {
    fn ended(target: &AccountTarget, state: AccountState, reason: Option<String>) -> Self {
        AccountScan {
            outcome: AccountOutcome {
                account_id: target.id.clone(),
                account_name: target.name.clone(),
                state,
                reason,
                regions: Vec::new(),
                regions_not_enabled: Vec::new(),
            },
            certificates: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn failed(target: &AccountTarget, stage: Stage, failure: AwsFailure) -> Self {
        let reason = format!("{}: {}", stage.as_str(), failure);
        let mut scan = Self::ended(target, AccountState::Failed, Some(reason));
        scan.errors.push(ScanError {
            account_id: Some(target.id.clone()),
            region: None,
            stage,
            code: failure.code,
            message: failure.message,
        });
        scan
    }
}

/// Run the scan over `targets`. Stops starting new work when `interrupt` resolves, and
/// reports what was found with an `interrupted` error.
pub async fn run(
    plan: &ScanPlan,
    caller: &Caller,
    targets: Vec<AccountTarget>,
    progress: &Progress,
    interrupt: impl std::future::Future<Output = ()>,
) -> Report {
    let started = Instant::now();
    let generated_at = Utc::now();
    let limiter = CallLimiter::new(plan.rate, plan.rate_scope);
    let mut report = Report {
        schema_version: crate::report::SCHEMA_VERSION,
        tool: Tool::default(),
        generated_at,
        expiring_days: plan.expiring_days,
        caller_account_id: caller.account_id.clone(),
        summary: Summary::default(),
        accounts: Vec::new(),
        certificates: Vec::new(),
        errors: Vec::new(),
    };
    let mut pending: Vec<AccountTarget> = targets.clone();
    let mut scans = stream::iter(targets.iter())
        .map(|target| scan_account(plan, caller, &limiter, target))
        .buffer_unordered(plan.max_accounts);
    tokio::pin!(interrupt);
    loop {
        tokio::select! {
            next = scans.next() => match next {
                Some(scan) => {
                    pending.retain(|t| t.id != scan.outcome.account_id);
                    tracing::info!(account = %scan.outcome.account_id, certificates = scan.certificates.len(), "account done");
                    progress.account_done(scan.certificates.len(), scan.errors.len());
                    report.accounts.push(scan.outcome);
                    report.certificates.extend(scan.certificates);
                    report.errors.extend(scan.errors);
                }
                None => break,
            },
            () = &mut interrupt => {
                for target in &pending {
                    let reason = Some("interrupted before this account finished".to_string());
                    report.accounts.push(AccountScan::ended(target, AccountState::Failed, reason).outcome);
                }
                report.errors.push(ScanError {
                    account_id: None,
                    region: None,
                    stage: Stage::Interrupted,
                    code: "interrupted".into(),
                    message: format!("scan interrupted; {} account(s) not finished", pending.len()),
                });
                break;
            }
        }
    }
    progress.finish();
    for certificate in &mut report.certificates {
        classify(certificate, generated_at, plan.expiring_days);
    }
    report.sort();
    report.tally(started.elapsed().as_millis() as u64);
    report
}

async fn scan_account(
    plan: &ScanPlan,
    caller: &Caller,
    limiter: &CallLimiter,
    target: &AccountTarget,
) -> AccountScan {
    if let Some(reason) = &target.skip {
        return AccountScan::ended(target, AccountState::Skipped, Some(reason.clone()));
    }
    let access = match caller.open_account(&target.id, &plan.target).await {
        Ok(access) => access,
        Err(failure) => return AccountScan::failed(target, Stage::AssumeRole, failure),
    };
    let choice =
        match regions::choose(&access, plan.target.regions.as_deref(), &caller.partition).await {
            Ok(choice) => choice,
            Err(failure) => return AccountScan::failed(target, Stage::DescribeRegions, failure),
        };
    let depth = Depth {
        describe: plan.detail == Detail::Full,
        tags: plan.tags,
    };
    let region_scans = choice.scan.iter().map(|region| {
        let region_target = RegionTarget {
            access: &access,
            account_name: target.name.as_deref(),
            region,
            limiter,
        };
        async move { certificates::scan_region(&region_target, depth).await }
    });
    let results = futures::future::join_all(region_scans).await;
    let mut scan = AccountScan::ended(target, AccountState::Scanned, None);
    scan.outcome.regions = choice.scan.clone();
    scan.outcome.regions_not_enabled = choice.not_enabled;
    for result in results {
        scan.certificates.extend(result.certificates);
        scan.errors.extend(result.errors);
    }
    scan
}
