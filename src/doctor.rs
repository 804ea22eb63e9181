//! `certaudit doctor`: before an audit misses an account, check that every targeted account
//! can be entered and read. Per account: AssumeRole (the caller's own credentials for its own
//! account), DescribeRegions, then one ListCertificates with MaxItems=1 per enabled region.
//! Every failure carries the AWS error and the likely fix.

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::access::aws_error::AwsFailure;
use crate::access::{AccountAccess, Caller};
use crate::accounts::AccountTarget;
use crate::plan::Targets;
use crate::report::Tool;
use crate::scan::regions::{self, UNKNOWN_REGION};

/// Accounts checked at once.
const ACCOUNTS_IN_FLIGHT: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The account was not checked (suspended, excluded).
    Account,
    AssumeRole,
    /// The caller's own account: its own credentials, no role.
    CallerCredentials,
    DescribeRegions,
    /// A region asked for with `--regions` that the account has not enabled.
    Region,
    ListCertificates,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Account => "account",
            CheckKind::AssumeRole => "assume_role",
            CheckKind::CallerCredentials => "caller_credentials",
            CheckKind::DescribeRegions => "describe_regions",
            CheckKind::Region => "region",
            CheckKind::ListCertificates => "list_certificates",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Failed,
    Skipped,
    NotEnabled,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Failed => "FAILED",
            Verdict::Skipped => "skipped",
            Verdict::NotEnabled => "not enabled",
        }
    }
}

/// One thing tried in one account (and region).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub account_id: String,
    pub account_name: Option<String>,
    pub check: CheckKind,
    pub region: Option<String>,
    pub result: Verdict,
    /// The AWS error code of a failure.
    pub code: Option<String>,
    /// The AWS error message of a failure, or what was found.
    pub message: Option<String>,
    /// What to do about it.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DoctorSummary {
    pub accounts_targeted: usize,
    pub accounts_ok: usize,
    pub accounts_failed: usize,
    pub accounts_skipped: usize,
    pub checks: usize,
    pub checks_failed: usize,
}

/// Everything `doctor` found, in account order.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub tool: Tool,
    pub generated_at: DateTime<Utc>,
    pub caller_account_id: String,
    pub role_name: String,
    pub external_id_given: bool,
    pub summary: DoctorSummary,
    pub checks: Vec<Check>,
}

impl Check {
    /// A `--regions` name that is no region: a mistake in the flags, not in the account, so
    /// it fails the check but not the account.
    pub fn is_unknown_region(&self) -> bool {
        self.code.as_deref() == Some(UNKNOWN_REGION)
    }
}

impl Diagnosis {
    pub fn failed(&self) -> bool {
        self.summary.checks_failed > 0
    }
}

pub async fn run(targets: &Targets, caller: &Caller, accounts: Vec<AccountTarget>) -> Diagnosis {
    let generated_at = Utc::now();
    let mut per_account: Vec<Vec<Check>> = stream::iter(accounts.iter())
        .map(|account| check_account(targets, caller, account))
        .buffer_unordered(ACCOUNTS_IN_FLIGHT)
        .collect()
        .await;
    per_account.sort_by(|a, b| a[0].account_id.cmp(&b[0].account_id));
    let mut checks: Vec<Check> = per_account.into_iter().flatten().collect();
    let context = RefusalContext::of(&checks, targets.external_id.is_some());
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
        external_id_given: targets.external_id.is_some(),
        summary,
        checks,
    }
}

fn summarize(accounts: &[AccountTarget], checks: &[Check]) -> DoctorSummary {
    let failed_accounts: std::collections::BTreeSet<&str> = checks
        .iter()
        .filter(|c| c.result == Verdict::Failed && !c.is_unknown_region())
        .map(|c| c.account_id.as_str())
        .collect();
    let skipped = accounts.iter().filter(|a| a.skip.is_some()).count();
    DoctorSummary {
        accounts_targeted: accounts.len(),
        accounts_ok: accounts.len() - skipped - failed_accounts.len(),
        accounts_failed: failed_accounts.len(),
        accounts_skipped: skipped,
        checks: checks.len(),
        checks_failed: checks
            .iter()
            .filter(|c| c.result == Verdict::Failed)
            .count(),
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

async fn check_account(targets: &Targets, caller: &Caller, target: &AccountTarget) -> Vec<Check> {
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
    let reads = choice.scan.iter().map(|region| list_one(&access, region));
    for (region, result) in choice
        .scan
        .iter()
        .zip(futures::future::join_all(reads).await)
    {
        match result {
            Ok(()) => account.push(CheckKind::ListCertificates, Some(region), Verdict::Ok, None),
            Err(failure) => account.fail(CheckKind::ListCertificates, Some(region), failure),
        }
    }
    account.checks
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

/// What the other accounts' AssumeRole answers say about one refusal: AWS gives the same
/// AccessDenied for a missing role and a wrong ExternalId, so the pattern is the clue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalContext {
    pub external_id_given: bool,
    /// More than one role tried and none accepted us.
    pub every_role_refused: bool,
}

impl RefusalContext {
    fn of(checks: &[Check], external_id_given: bool) -> Self {
        let tried: Vec<&Check> = checks
            .iter()
            .filter(|c| c.check == CheckKind::AssumeRole)
            .collect();
        RefusalContext {
            external_id_given,
            every_role_refused: tried.len() > 1
                && tried.iter().all(|c| c.result == Verdict::Failed),
        }
    }
}

const DEPLOY_ROLE: &str = "deploy stacksets/certaudit-role.yaml to it as a service-managed \
StackSet covering its OU (the management account needs a plain stack; see the README's \
\"Giving certaudit access\")";
const UPDATE_PERMISSIONS: &str = "update the role's permissions from \
iam/member-permissions-policy.json (update the StackSet so every account gets it)";

/// The likely fix for one failed check, from the AWS error code and message.
pub fn likely_fix(check: CheckKind, code: &str, message: &str, context: &RefusalContext) -> String {
    if message.contains("service control policy") {
        return "a service control policy denies this call: ask the organization's \
                administrators to exempt the certaudit role from it"
            .into();
    }
    match (check, code) {
        (CheckKind::AssumeRole, "AccessDenied" | "AccessDeniedException") => {
            if !context.external_id_given {
                "no ExternalId was given: set CERTAUDIT_EXTERNAL_ID (or --external-id) to the \
                 ExternalId the StackSet was deployed with"
                    .into()
            } else if context.every_role_refused {
                "no account accepted the role: check that CERTAUDIT_EXTERNAL_ID matches the \
                 StackSet's ExternalId parameter, that --role-name matches its RoleName, and that \
                 the caller may sts:AssumeRole it (iam/hub-policy.json)"
                    .into()
            } else {
                format!(
                    "the role is missing here or no longer trusts this caller: {DEPLOY_ROLE}; if \
                     the role exists, check that its trust policy's sts:ExternalId matches \
                     CERTAUDIT_EXTERNAL_ID and its principal is the caller's account"
                )
            }
        }
        (CheckKind::AssumeRole, "RegionDisabledException") => {
            "STS is deactivated in the caller's region: activate it in IAM account settings, \
             or pass --region with an active one"
                .into()
        }
        (
            _,
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "credentials"
            | "UnrecognizedClientException",
        ) if check != CheckKind::ListCertificates => {
            "the caller's credentials are missing, invalid or expired: refresh them (--profile, \
             AWS_PROFILE, or the AWS_* environment variables)"
                .into()
        }
        (CheckKind::DescribeRegions, "UnauthorizedOperation" | "AccessDenied") => {
            format!("the role may not call ec2:DescribeRegions: {UPDATE_PERMISSIONS}")
        }
        (CheckKind::ListCertificates, "AccessDeniedException" | "AccessDenied") => {
            format!("the role may not call acm:ListCertificates: {UPDATE_PERMISSIONS}")
        }
        (CheckKind::ListCertificates, "UnrecognizedClientException" | "InvalidClientTokenId") => {
            "the region rejects the role's credentials: if the account enabled this region \
              recently, wait a few minutes; else scan without it (--regions)"
                .into()
        }
        (_, "ThrottlingException" | "Throttling" | "TooManyRequestsException") => {
            "throttled past every retry: something else is using this account's quota; try \
             again later"
                .into()
        }
        (_, "timeout" | "dispatch") => {
            "the endpoint did not answer: check network access to AWS (proxy, VPC endpoints, \
             AWS_ENDPOINT_URL)"
                .into()
        }
        (CheckKind::Region, UNKNOWN_REGION) => {
            "fix the name in --regions (aws ec2 describe-regions --all-regions lists them)".into()
        }
        _ => "see the AWS error message".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOME_REFUSED: RefusalContext = RefusalContext {
        external_id_given: true,
        every_role_refused: false,
    };

    #[test]
    fn one_refused_role_points_at_the_stackset_and_the_external_id() {
        let fix = likely_fix(CheckKind::AssumeRole, "AccessDenied", "", &SOME_REFUSED);
        assert!(fix.contains("StackSet"), "{fix}");
        assert!(fix.contains("CERTAUDIT_EXTERNAL_ID"), "{fix}");
    }

    #[test]
    fn every_role_refused_points_at_the_external_id_first() {
        let all = RefusalContext {
            every_role_refused: true,
            ..SOME_REFUSED
        };
        let fix = likely_fix(CheckKind::AssumeRole, "AccessDenied", "", &all);
        assert!(fix.starts_with("no account accepted the role"), "{fix}");
        let none = RefusalContext {
            external_id_given: false,
            ..all
        };
        let fix = likely_fix(CheckKind::AssumeRole, "AccessDenied", "", &none);
        assert!(fix.starts_with("no ExternalId was given"), "{fix}");
    }

    #[test]
    fn missing_permissions_and_scps_are_told_apart() {
        let fix = likely_fix(
            CheckKind::ListCertificates,
            "AccessDeniedException",
            "not authorized to perform: acm:ListCertificates",
            &SOME_REFUSED,
        );
        assert!(fix.contains("iam/member-permissions-policy.json"), "{fix}");
        let fix = likely_fix(
            CheckKind::ListCertificates,
            "AccessDeniedException",
            "with an explicit deny in a service control policy",
            &SOME_REFUSED,
        );
        assert!(fix.starts_with("a service control policy"), "{fix}");
    }
}
