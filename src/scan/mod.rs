//! The scan engine: accounts opened and listed concurrently (up to `--max-accounts`), then
//! every account-region's certificates described under its own rate limiter, largest
//! account-region first, so the scan ends when the busiest account-region's quota allows and
//! not later (SPEC §5). One account's failure is recorded and the scan goes on.

mod certificates;
mod limiter;
pub mod regions;

use std::cell::RefCell;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::time::Instant;

use chrono::Utc;
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use tokio::sync::Semaphore;

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
use certificates::{describe_region, list_region, Depth, Place, RegionJob, RegionScan, Shared};
use limiter::CallLimiter;
use regions::UnknownRegion;

/// Calls in flight across the whole scan: keeps sockets and memory bounded however many
/// accounts and regions there are (every other bound is per account-region).
const CALLS_IN_FLIGHT: usize = 256;
/// Account-regions being described at once, largest first. Together they may ask for
/// 2 x --rate calls a second each; enough of them to finish the small ones while the largest
/// runs at its own rate, few enough that the largest is never starved of call slots.
const REGIONS_IN_FLIGHT: usize = 96;

/// One account's state while its regions are listed and described.
struct AccountScan {
    outcome: AccountOutcome,
    certificates: Vec<Certificate>,
    errors: Vec<ScanError>,
    /// `--regions` names that are no region at all (the same in every account).
    unknown_regions: Vec<UnknownRegion>,
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
            unknown_regions: Vec::new(),
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

    fn absorb(&mut self, region: RegionScan) {
        self.certificates.extend(region.certificates);
        self.errors.extend(region.errors);
    }
}

/// An account whose regions are listed, with the describe jobs still to run.
struct Discovered {
    scan: AccountScan,
    jobs: Vec<RegionJob>,
}

/// Jobs wait in a max-heap by size: the largest account-region starts first, because the scan
/// cannot end before it does.
struct Queued(RegionJob);

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.len().cmp(&other.0.len())
    }
}

/// Run the scan over `targets`. Stops starting new work when `interrupt` resolves, and
/// reports what was found with an `interrupted` error.
///
/// Two stages, pipelined: up to `--max-accounts` accounts at a time are opened and listed
/// (AssumeRole, DescribeRegions, ListCertificates per region); every listed account-region
/// becomes a describe job, run largest first, `REGIONS_IN_FLIGHT` at a time, each at `--rate`.
pub async fn run(
    plan: &ScanPlan,
    caller: &Caller,
    targets: impl Stream<Item = AccountTarget>,
    progress: &Progress,
    interrupt: impl std::future::Future<Output = ()>,
) -> Report {
    let started = Instant::now();
    let generated_at = Utc::now();
    let limiter = CallLimiter::new(plan.rate, plan.rate_scope);
    let calls = Semaphore::new(CALLS_IN_FLIGHT);
    let shared = Shared {
        limiter: &limiter,
        calls: &calls,
        in_flight: plan.rate.get().clamp(2, 64) as usize,
    };
    let depth = Depth {
        describe: plan.detail == Detail::Full,
        tags: plan.tags,
    };
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
    // Every target received, for Ctrl-C to list the unfinished ones.
    let received: RefCell<Vec<AccountTarget>> = RefCell::new(Vec::new());
    let discovering = targets
        .map(|target| {
            received.borrow_mut().push(target.clone());
            progress.account_found();
            discover(plan, caller, &shared, target, depth)
        })
        .buffer_unordered(plan.max_accounts);
    tokio::pin!(discovering);
    let mut discovering_done = false;
    // Accounts listed whose jobs are not all done, with the count of jobs left.
    let mut open: HashMap<String, (AccountScan, usize)> = HashMap::new();
    let mut queue: BinaryHeap<Queued> = BinaryHeap::new();
    let mut describing = FuturesUnordered::new();
    let mut found = Found::default();
    let mut in_flight_certificates = 0usize;
    tokio::pin!(interrupt);
    loop {
        while describing.len() < REGIONS_IN_FLIGHT {
            let Some(Queued(job)) = queue.pop() else {
                break;
            };
            let account = job.place.account_id.clone();
            in_flight_certificates += job.len();
            let shared = &shared;
            describing.push(async move { (account, describe_region(job, shared, depth).await) });
        }
        if discovering_done && describing.is_empty() {
            break;
        }
        tokio::select! {
            next = discovering.next(), if !discovering_done => match next {
                Some(Discovered { scan, jobs }) => {
                    if jobs.is_empty() {
                        found.finish(&mut report, scan, progress);
                    } else {
                        open.insert(scan.outcome.account_id.clone(), (scan, jobs.len()));
                        queue.extend(jobs.into_iter().map(Queued));
                    }
                }
                None => {
                    discovering_done = true;
                    let in_jobs: usize = queue.iter().map(|q| q.0.len()).sum();
                    let absorbed: usize = open.values().map(|(scan, _)| scan.certificates.len()).sum();
                    // Jobs being described are counted in their accounts once absorbed; count
                    // them now so the vector never grows.
                    found.listed(in_jobs + absorbed + in_flight_certificates);
                }
            },
            Some((account, region)) = describing.next(), if !describing.is_empty() => {
                in_flight_certificates -= region.certificates.len();
                let done = open.get_mut(&account).map(|(scan, left)| {
                    scan.absorb(region);
                    *left -= 1;
                    *left == 0
                });
                if done == Some(true) {
                    let (scan, _) = open.remove(&account).expect("open account");
                    found.finish(&mut report, scan, progress);
                }
            }
            () = &mut interrupt => {
                // What is done is kept; what is not is listed as failed, with its partial finds.
                let finished: HashSet<String> =
                    report.accounts.iter().map(|a| a.account_id.clone()).collect();
                let mut unfinished = 0;
                for target in received.borrow().iter() {
                    if finished.contains(&target.id) {
                        continue;
                    }
                    unfinished += 1;
                    let reason = Some("interrupted before this account finished".to_string());
                    let scan = match open.remove(&target.id) {
                        // Listed, describes unfinished: keep everything it found so far.
                        Some((mut partial, _)) => {
                            partial.outcome.state = AccountState::Failed;
                            partial.outcome.reason = reason;
                            partial
                        }
                        None => AccountScan::ended(target, AccountState::Failed, reason),
                    };
                    found.finish(&mut report, scan, progress);
                }
                report.errors.push(ScanError {
                    account_id: None,
                    region: None,
                    stage: Stage::Interrupted,
                    code: "interrupted".into(),
                    message: format!("scan interrupted; {unfinished} account(s) not finished"),
                });
                break;
            }
        }
    }
    progress.finish();
    // A --regions name that is no region: one error for the scan, not one per account.
    for unknown in std::mem::take(&mut found.unknown_regions) {
        report.errors.push(ScanError {
            account_id: None,
            region: Some(unknown.name.clone()),
            stage: Stage::DescribeRegions,
            code: regions::UNKNOWN_REGION.into(),
            message: unknown.message(&caller.partition),
        });
    }
    report.certificates = found.into_certificates();
    for certificate in &mut report.certificates {
        classify(certificate, generated_at, plan.expiring_days);
    }
    report.sort();
    report.tally(started.elapsed().as_millis() as u64);
    report
}

/// What finished accounts gave. Until every account is listed, certificates stay in their
/// accounts' vectors (growing one vector of 100,000 would copy it, at twice its size, at every
/// doubling); once the total is known, they go into one vector of exactly that size.
#[derive(Default)]
struct Found {
    certificates: Vec<Vec<Certificate>>,
    all: Option<Vec<Certificate>>,
    unknown_regions: BTreeSet<UnknownRegion>,
}

impl Found {
    fn finish(&mut self, report: &mut Report, scan: AccountScan, progress: &Progress) {
        tracing::info!(account = %scan.outcome.account_id, certificates = scan.certificates.len(), "account done");
        progress.account_done(scan.certificates.len(), scan.errors.len());
        report.accounts.push(scan.outcome);
        match &mut self.all {
            Some(all) => all.extend(scan.certificates),
            None => self.certificates.push(scan.certificates),
        }
        report.errors.extend(scan.errors);
        self.unknown_regions.extend(scan.unknown_regions);
    }

    /// Every account is listed: `still_open` more certificates will come.
    fn listed(&mut self, still_open: usize) {
        let done: usize = self.certificates.iter().map(Vec::len).sum();
        let mut all = Vec::with_capacity(done + still_open);
        for chunk in self.certificates.drain(..) {
            all.extend(chunk);
        }
        self.all = Some(all);
    }

    /// Every certificate in one vector of exactly the right size, each account's freed as it
    /// is moved.
    fn into_certificates(mut self) -> Vec<Certificate> {
        if self.all.is_none() {
            self.listed(0);
        }
        self.all.unwrap_or_default()
    }
}

/// Open one account and list every region it has enabled.
async fn discover(
    plan: &ScanPlan,
    caller: &Caller,
    shared: &Shared<'_>,
    target: AccountTarget,
    depth: Depth,
) -> Discovered {
    let target = &target;
    let ended = |scan| Discovered {
        scan,
        jobs: Vec::new(),
    };
    if let Some(reason) = &target.skip {
        return ended(AccountScan::ended(
            target,
            AccountState::Skipped,
            Some(reason.clone()),
        ));
    }
    let access = match caller.open_account(&target.id, &plan.target).await {
        Ok(access) => std::sync::Arc::new(access),
        Err(failure) => return ended(AccountScan::failed(target, Stage::AssumeRole, failure)),
    };
    let choice = match regions::choose(&access, plan.target.regions.as_deref(), &caller.partition)
        .await
    {
        Ok(choice) => choice,
        Err(failure) => return ended(AccountScan::failed(target, Stage::DescribeRegions, failure)),
    };
    let listings = choice.scan.iter().map(|region| {
        let place = Place {
            account_id: target.id.clone(),
            account_name: target.name.clone(),
            region: region.clone(),
        };
        list_region(&access, place, shared, depth)
    });
    let listed = futures::future::join_all(listings).await;
    let mut scan = AccountScan::ended(target, AccountState::Scanned, None);
    scan.outcome.regions = choice.scan.clone();
    scan.outcome.regions_not_enabled = choice.not_enabled;
    scan.unknown_regions = choice.unknown;
    // The account's vector will hold exactly its certificates: no doubling slack while
    // hundreds of accounts wait for their describes.
    let listed_here: usize = listed
        .iter()
        .map(|(region, job)| region.certificates.len() + job.as_ref().map_or(0, RegionJob::len))
        .sum();
    scan.certificates.reserve_exact(listed_here);
    let mut jobs = Vec::new();
    for (region, job) in listed {
        scan.absorb(region);
        jobs.extend(job.filter(|j| j.len() > 0));
    }
    Discovered { scan, jobs }
}
