//! `certaudit doctor`: before an audit misses an account, check that every targeted account
//! can be entered and read. Per account: AssumeRole (the caller's own credentials for its own
//! account), DescribeRegions, one ListServerCertificates (IAM), then one ListCertificates and
//! one ListCertificateAuthorities with a page of one per enabled region.
//! Every failure carries the AWS error and the likely fix.
//!
//! The runner lives here; the model in `model.rs`, the fixes' words in `fix.rs`, the table and
//! JSON in `render.rs`.

mod fix;
mod model;
mod render;

use chrono::Utc;
use futures::stream::{self, StreamExt};

pub use fix::{likely_fix, RefusalContext};
pub use model::{Check, CheckKind, Diagnosis, DoctorSummary, Verdict};
pub use render::{write_json, write_table};

use crate::access::aws_error::AwsFailure;
use crate::access::{AccountAccess, Caller};
use crate::accounts::{self, AccountTarget};
use crate::cli::{DoctorArgs, TableOrJson};
use crate::outcome::{self, Stopped};
use crate::output;
use crate::plan::{Sources, Targets};
use crate::regions::{self, UNKNOWN_REGION};
use crate::report::Tool;
use model::summarize;

/// Accounts checked at once.
const ACCOUNTS_IN_FLIGHT: usize = 16;

/// `certaudit doctor`: diagnose, print, and exit 3 when any check failed.
pub fn command(args: &DoctorArgs) -> Result<u8, Stopped> {
    let targets = args.target.targets().map_err(Stopped::usage)?;
    let runtime = tokio::runtime::Runtime::new().map_err(Stopped::fatal)?;
    let diagnosis = runtime
        .block_on(async {
            let caller = Caller::identify(&targets).await?;
            let accounts = accounts::resolve(&targets, &caller).await?;
            let sources = Sources::of(&args.sources);
            anyhow::Ok(run(&targets, sources, &caller, accounts).await)
        })
        .map_err(Stopped::fatal)?;
    output::write_stdout(|out| match args.output {
        TableOrJson::Table => write_table(&diagnosis, out),
        TableOrJson::Json => write_json(&diagnosis, out),
    })
    .map_err(Stopped::fatal)?;
    Ok(if diagnosis.failed() {
        outcome::INCOMPLETE
    } else {
        outcome::OK
    })
}

pub async fn run(
    targets: &Targets,
    sources: Sources,
    caller: &Caller,
    accounts: Vec<AccountTarget>,
) -> Diagnosis {
    let generated_at = Utc::now();
    let mut per_account: Vec<Vec<Check>> = stream::iter(accounts.iter())
        .map(|account| check_account(targets, sources, caller, account))
        .buffer_unordered(ACCOUNTS_IN_FLIGHT)
        .collect()
        .await;
    per_account.sort_by(|a, b| a[0].account_id.cmp(&b[0].account_id));
    let mut checks: Vec<Check> = per_account.into_iter().flatten().collect();
    let context = RefusalContext::of(&checks, caller.external_id.is_some());
    for check in &mut checks {
        if check.result == Verdict::Failed {
            let code = check.code.as_deref().unwrap_or("");
            let message = check.message.as_deref().unwrap_or("");
            check.fix = Some(likely_fix(check.check, code, message, &context));
        }
    }
    let summary = summarize(&accounts, &checks);
    Diagnosis {
        tool: Tool::default(),
        generated_at,
        caller_account_id: caller.account_id.clone(),
        role_name: targets.role_name.clone(),
        external_id_given: caller.external_id.is_some(),
        summary,
        checks,
    }
}

struct AccountChecks<'a> {
    target: &'a AccountTarget,
    checks: Vec<Check>,
}

impl AccountChecks<'_> {
    fn push(
        &mut self,
        check: CheckKind,
        region: Option<&str>,
        result: Verdict,
        message: Option<String>,
    ) {
        self.checks.push(Check {
            account_id: self.target.id.clone(),
            account_name: self.target.name.clone(),
            check,
            region: region.map(str::to_string),
            result,
            code: None,
            message,
            fix: None,
        });
    }

    fn fail(&mut self, check: CheckKind, region: Option<&str>, failure: AwsFailure) {
        self.push(check, region, Verdict::Failed, Some(failure.message));
        self.checks.last_mut().expect("just pushed").code = Some(failure.code);
    }
}

async fn check_account(
    targets: &Targets,
    sources: Sources,
    caller: &Caller,
    target: &AccountTarget,
) -> Vec<Check> {
    let mut account = AccountChecks {
        target,
        checks: Vec::new(),
    };
    if let Some(reason) = &target.skip {
        account.push(
            CheckKind::Account,
            None,
            Verdict::Skipped,
            Some(reason.clone()),
        );
        return account.checks;
    }
    let own = target.id == caller.account_id;
    let entry = if own {
        CheckKind::CallerCredentials
    } else {
        CheckKind::AssumeRole
    };
    let access = match caller.open_account(&target.id, targets).await {
        Ok(access) => access,
        Err(failure) => {
            account.fail(entry, None, failure);
            return account.checks;
        }
    };
    let how = if own {
        "the caller's own account: its own credentials, no role assumed".to_string()
    } else {
        caller.role_arn(&target.id, &targets.role_name)
    };
    account.push(entry, None, Verdict::Ok, Some(how));
    let choice = match regions::choose(&access, targets.regions.as_deref(), &caller.partition).await
    {
        Ok(choice) => choice,
        Err(failure) => {
            account.fail(CheckKind::DescribeRegions, None, failure);
            return account.checks;
        }
    };
    let found = format!("{} region(s) to scan", choice.scan.len());
    account.push(CheckKind::DescribeRegions, None, Verdict::Ok, Some(found));
    for region in &choice.not_enabled {
        let why = "the account has not enabled this region: it holds no certificates there";
        account.push(
            CheckKind::Region,
            Some(region),
            Verdict::NotEnabled,
            Some(why.into()),
        );
    }
    for unknown in &choice.unknown {
        let failure = AwsFailure::new(UNKNOWN_REGION, unknown.message(&caller.partition));
        account.fail(CheckKind::Region, Some(&unknown.name), failure);
    }
    for (kind, region, result) in reads(&access, sources, &choice.scan).await {
        match result {
            Some(Ok(())) => account.push(kind, region, Verdict::Ok, None),
            Some(Err(failure)) => account.fail(kind, region, failure),
            None => {}
        }
    }
    account.checks
}

/// The cheap reads, one per source a scan with the same `--sources` would read: IAM once,
/// ACM and Private CA in every region; None for a source not read.
async fn reads<'r>(
    access: &AccountAccess,
    sources: Sources,
    regions: &'r [String],
) -> Vec<(CheckKind, Option<&'r str>, Option<Result<(), AwsFailure>>)> {
    let per_region = regions.iter().map(|region| async move {
        let (acm, pca) = futures::join!(
            when(sources.acm, list_one(access, region)),
            when(sources.pca, list_one_ca(access, region))
        );
        [
            (CheckKind::ListCertificates, Some(region.as_str()), acm),
            (
                CheckKind::ListCertificateAuthorities,
                Some(region.as_str()),
                pca,
            ),
        ]
    });
    let (iam, per_region) = futures::join!(
        when(sources.iam, list_one_server_certificate(access)),
        futures::future::join_all(per_region)
    );
    let mut all: Vec<_> = per_region.into_iter().flatten().collect();
    all.push((CheckKind::ListServerCertificates, None, iam));
    all
}

/// The call's answer when `on`; never made otherwise (a future does nothing until awaited).
async fn when<T>(on: bool, call: impl std::future::Future<Output = T>) -> Option<T> {
    match on {
        true => Some(call.await),
        false => None,
    }
}

/// One IAM server certificate, at most: whether the role may list them.
async fn list_one_server_certificate(access: &AccountAccess) -> Result<(), AwsFailure> {
    access
        .iam()
        .list_server_certificates()
        .max_items(1)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsFailure::from_sdk(&e))
}

/// One Private CA of the region, at most: whether the role may list them.
async fn list_one_ca(access: &AccountAccess, region: &str) -> Result<(), AwsFailure> {
    access
        .acm_pca(region)
        .list_certificate_authorities()
        .max_results(1)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsFailure::from_sdk(&e))
}

/// The cheapest ACM read there is: one certificate of the default listing.
async fn list_one(access: &AccountAccess, region: &str) -> Result<(), AwsFailure> {
    access
        .acm(region)
        .list_certificates()
        .max_items(1)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsFailure::from_sdk(&e))
}
