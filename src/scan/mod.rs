//! The scan engine: accounts opened and listed concurrently (up to `--max-accounts`), then
//! every account-region's certificates described under its own rate limiter, largest
//! account-region first, so the scan ends when the busiest account-region's quota allows and
//! not later. One account's failure is recorded and the scan goes on.

mod certificates;
mod limiter;
mod sources;

use std::cell::RefCell;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Timelike, Utc};
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use tokio::sync::Semaphore;

use crate::access::aws_error::AwsFailure;
use crate::access::{AccountAccess, Caller};
use crate::accounts::AccountTarget;
use crate::interrupt::{Interrupt, Signal};
use crate::plan::ScanPlan;
use crate::progress::Progress;
use crate::regions::{self, UnknownRegion};
use crate::renewal::issuing_ca::{self, ReadCas};
use crate::renewal::Checker;
use crate::report::classify::classify;
use crate::report::UNFINISHED;
use crate::report::{
    account_label, counted, AccountOutcome, AccountState, Certificate, CertificateAuthority,
    Report, ScanError, Stage,
};
use certificates::{
    describe_region, list_region, AccountRegion, CallBudget, RegionJob, RegionScan,
};
use limiter::CallLimiter;

pub use certificates::{describe_one, OneCertificate};

/// Calls in flight across the whole scan: keeps sockets and memory bounded however many
/// accounts and regions there are (every other bound is per account-region). At 50 ms a call,
/// 256 slots carry ~5,000 calls a second; 512 cost ~40 MB more (connections and their buffers)
/// for no measured gain.
const CALLS_IN_FLIGHT: usize = 256;
/// ListCertificates calls may also take one of these slots, which describes never take: an
/// account's listing is how the scan learns where its largest account-regions are, and queued
/// behind thousands of describe calls for a slot it came late. In an organization of 500
/// accounts whose busiest account-region was in the last listed account, that region started
/// 11-13 s into the scan; with these, 8-10 s (`make bench`, wide).
const LIST_CALLS_IN_FLIGHT: usize = 32;
/// Account-regions being described at once, largest first. Each asks for 2 x --rate calls a
/// second, so this bounds the scan's pace when the work is spread thin: 96 regions at the
/// default rate made ~1,500 calls a second, and an organization of 1,500 account-regions of 60
/// certificates took almost three times its floor. 256 ask for ~4,000 a second; the largest
/// account-region, started first, keeps its share of the call slots.
const REGIONS_IN_FLIGHT: usize = 256;

/// One account's state while its regions are listed and described.
struct AccountScan {
    outcome: AccountOutcome,
    certificates: Vec<Certificate>,
    errors: Vec<ScanError>,
    /// `--regions` names that are no region at all (the same in every account).
    unknown_regions: Vec<UnknownRegion>,
    /// Private CAs of the account's regions.
    authorities: Vec<CertificateAuthority>,
    /// Regions whose Private CAs were listed completely.
    authorities_read: Vec<String>,
    /// Described certificates, handed to the scan's gathering as each region came back.
    handed_over: usize,
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
            authorities: Vec::new(),
            authorities_read: Vec::new(),
            handed_over: 0,
        }
    }

    fn failed(target: &AccountTarget, stage: Stage, failure: AwsFailure) -> Self {
        let reason = format!("{}: {}", stage.as_str(), failure);
        let mut scan = Self::ended(target, AccountState::Failed, Some(reason));
        scan.errors.push(failure.at(stage, Some(&target.id), None));
        scan
    }

    /// The other sources' certificates, CAs and errors. A region's CAs count as read when its
    /// listing ended without error and without a signal cutting it short.
    fn absorb_others(&mut self, others: Others, stopped: bool) {
        self.certificates.extend(others.server_certificates);
        self.errors.extend(others.server_certificates_error);
        for (region, found, error) in others.authorities {
            match error {
                Some(error) => self.errors.push(error),
                None if !stopped => self.authorities_read.push(region),
                None => {}
            }
            self.authorities.extend(found);
        }
    }

    fn absorb(&mut self, region: RegionScan) {
        self.certificates.extend(region.certificates);
        self.errors.extend(region.errors);
    }
}

/// What an account's other sources gave (SPEC §14): its IAM server certificates, and each
/// listed region's Private CAs, with the error that stopped each listing.
#[derive(Default)]
struct Others {
    server_certificates: Vec<Certificate>,
    server_certificates_error: Option<ScanError>,
    authorities: Vec<(String, Vec<CertificateAuthority>, Option<ScanError>)>,
}

/// List the account's IAM server certificates (when `iam`) and the Private CAs of `regions`,
/// at once; `at` makes each place's budget.
async fn list_others(
    access: &AccountAccess,
    iam: bool,
    regions: &[String],
    at: &impl Fn(&str) -> AccountRegion,
    budget: &CallBudget<'_>,
) -> Others {
    let authorities = regions.iter().map(|region| async move {
        let at = at(region);
        let (found, error) = sources::list_certificate_authorities(access, &at, budget).await;
        (at.region, found, error)
    });
    let server_certificates = async {
        match iam {
            true => sources::list_server_certificates(access, &at(""), budget).await,
            false => (Vec::new(), None),
        }
    };
    let ((server_certificates, server_certificates_error), authorities) =
        futures::join!(server_certificates, futures::future::join_all(authorities));
    Others {
        server_certificates,
        server_certificates_error,
        authorities,
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

/// Run the scan over `targets`. When `interrupt` comes, no new work starts, calls in flight are
/// dropped, and everything found so far is reported — every listed certificate, described or
/// not — with an `interrupted` error naming the accounts that did not finish.
///
/// Two stages, pipelined: up to `--max-accounts` accounts at a time are opened and listed
/// (AssumeRole, DescribeRegions, ListCertificates per region); every listed account-region
/// becomes a describe job, run largest first, `REGIONS_IN_FLIGHT` at a time, each at `--rate`.
pub async fn run(
    plan: &ScanPlan,
    caller: &Caller,
    targets: impl Stream<Item = AccountTarget>,
    progress: &Progress,
    interrupt: &Interrupt,
) -> Report {
    let started = Instant::now();
    let generated_at = whole_seconds(Utc::now());
    let limiter = CallLimiter::new(plan.rate, plan.rate_scope);
    let calls = Semaphore::new(CALLS_IN_FLIGHT);
    let lists = Semaphore::new(LIST_CALLS_IN_FLIGHT);
    let checker = plan.renewal.as_ref().map(Checker::new);
    let budget = CallBudget {
        limiter: &limiter,
        calls: &calls,
        lists: &lists,
        in_flight: plan.rate.get().clamp(2, 64) as usize,
        interrupt,
        renewal: checker.as_ref(),
    };
    // Every target received, for an interrupt to name the unfinished ones.
    let received: RefCell<Vec<AccountTarget>> = RefCell::new(Vec::new());
    let discovering = targets
        .take_until(interrupt.wait())
        .map(|target| {
            received.borrow_mut().push(target.clone());
            progress.account_found();
            discover(plan, caller, &budget, target)
        })
        .buffer_unordered(plan.max_accounts);
    tokio::pin!(discovering);
    let mut discovering_done = false;
    let mut engine = Engine::new(progress, interrupt);
    let mut describing = FuturesUnordered::new();
    let stop = interrupt.wait();
    tokio::pin!(stop);
    let mut stop_seen = false;
    loop {
        while let Some(job) = engine.startable(describing.len()) {
            let account = job.at.account_id.clone();
            let budget = &budget;
            describing
                .push(async move { (account, describe_region(job, budget, plan.tags).await) });
        }
        if discovering_done && describing.is_empty() {
            break;
        }
        tokio::select! {
            next = discovering.next(), if !discovering_done => match next {
                Some(discovered) => engine.on_discovered(discovered),
                None => {
                    discovering_done = true;
                    engine.all_listed();
                }
            },
            Some((account, region)) = describing.next(), if !describing.is_empty() => {
                engine.on_described(&account, region);
            }
            // Wakes the loop; from now on nothing new starts (`engine.stopped()`).
            _ = &mut stop, if !stop_seen => stop_seen = true,
        }
    }
    progress.finish();
    let header = Report::new(generated_at, plan.expiring_days, &caller.account_id);
    let (mut report, read) = engine.into_report(&received.borrow(), &caller.partition, header);
    if let Some(checker) = &checker {
        check_renewals(checker, &mut report, generated_at, interrupt).await;
    }
    judge(plan, &mut report, &read, generated_at);
    report.sort();
    report.tally(started.elapsed().as_millis() as u64);
    report
}

/// Every certificate's place against its issuing CA and its classification, as of
/// `generated_at`.
fn judge(plan: &ScanPlan, report: &mut Report, read: &ReadCas, generated_at: DateTime<Utc>) {
    // Without the `pca` source no CA was read: the check is not made (null), rather than
    // unknown for every PRIVATE certificate of a scan that chose not to look.
    let judging = issuing_ca::Judging {
        check: plan.renewal.is_some() && plan.sources.pca,
        dependents_known: plan.sources.acm && plan.detail == crate::plan::Detail::Full,
        generated_at,
        expiring_days: plan.expiring_days,
    };
    issuing_ca::judge(report, read, judging);
    for certificate in &mut report.certificates {
        classify(certificate, generated_at, plan.expiring_days);
    }
}

/// Judge every described certificate's renewal (SPEC §13) and add the lookups' errors. Most
/// lookups were answered while the scan waited on AWS. Interrupted: the certificates not yet
/// judged stay unchecked (null), and an `interrupted` error says how many, as the scan's other
/// unfinished work does.
async fn check_renewals(
    checker: &Checker,
    report: &mut Report,
    generated_at: DateTime<Utc>,
    interrupt: &Interrupt,
) {
    let judging = checker.judge_all(&mut report.certificates, generated_at);
    let judged = interrupt.or_stop(judging).await.is_some();
    report.errors.extend(checker.errors());
    let interrupted_before = report.errors.iter().any(|e| e.stage == Stage::Interrupted);
    if !judged && !interrupted_before {
        // The scan itself finished: say what the signal left unchecked, or the report would
        // read as complete.
        let unchecked = report
            .certificates
            .iter()
            .filter(|c| Checker::applies(c) && c.renewal_check.is_none())
            .count();
        report.errors.push(ScanError::interrupted(format!(
            "interrupted during the renewal check: {} not checked (renewal_check null)",
            crate::report::counted(unchecked, "certificate")
        )));
    }
}

/// Reports show times in whole seconds: jq's `fromdateiso8601` rejects fractions.
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

/// The engine's state between events: accounts listed whose describe jobs are not all done,
/// the jobs waiting (largest first), and what finished accounts gave.
struct Engine<'p> {
    progress: &'p Progress,
    /// Listed accounts with jobs still to finish, and how many.
    open: HashMap<String, (AccountScan, usize)>,
    queue: BinaryHeap<Queued>,
    /// Certificates of jobs being described (counted before their accounts absorb them).
    in_flight_certificates: usize,
    accounts: Vec<AccountOutcome>,
    errors: Vec<ScanError>,
    gathered: Gathered,
    /// Once a signal has come, nothing new starts, and every account that finishes from then
    /// on is reported as failed: its work may have been cut short anywhere.
    interrupt: &'p Interrupt,
}

impl<'p> Engine<'p> {
    fn new(progress: &'p Progress, interrupt: &'p Interrupt) -> Self {
        Engine {
            progress,
            open: HashMap::new(),
            queue: BinaryHeap::new(),
            in_flight_certificates: 0,
            accounts: Vec::new(),
            errors: Vec::new(),
            gathered: Gathered::default(),
            interrupt,
        }
    }

    fn stopped(&self) -> Option<Signal> {
        self.interrupt.signal()
    }

    /// The largest waiting job, counted as in flight, if another may start while `describing`
    /// are running: none once a signal has come.
    fn startable(&mut self, describing: usize) -> Option<RegionJob> {
        if describing >= REGIONS_IN_FLIGHT || self.stopped().is_some() {
            return None;
        }
        let Queued(job) = self.queue.pop()?;
        self.in_flight_certificates += job.len();
        Some(job)
    }

    fn on_discovered(&mut self, Discovered { scan, jobs }: Discovered) {
        if jobs.is_empty() {
            self.finish(scan);
        } else {
            self.open
                .insert(scan.outcome.account_id.clone(), (scan, jobs.len()));
            self.queue.extend(jobs.into_iter().map(Queued));
        }
    }

    fn on_described(&mut self, account: &str, region: RegionScan) {
        self.in_flight_certificates -= region.certificates.len();
        self.absorb(account, region);
    }

    /// One job's certificates, straight into the scan's gathering (moved as each region
    /// comes back, not with its account: accounts finish together at the end of the bulk of a
    /// scan, and moving most certificates at once held them twice until the allocator
    /// returned the old pages: a 30 MB spike on large); the account finishes with its last job.
    fn absorb(&mut self, account: &str, region: RegionScan) {
        let RegionScan {
            certificates,
            errors,
        } = region;
        let described = certificates.len();
        self.gathered.add(certificates, Vec::new());
        let done = self.open.get_mut(account).map(|(scan, left)| {
            scan.errors.extend(errors);
            scan.handed_over += described;
            *left -= 1;
            *left == 0
        });
        if done == Some(true) {
            let (scan, _) = self.open.remove(account).expect("open account");
            self.finish(scan);
        }
    }

    /// Every account is listed: the final number of certificates is known.
    fn all_listed(&mut self) {
        let in_jobs: usize = self.queue.iter().map(|q| q.0.len()).sum();
        let absorbed: usize = self.open.values().map(|(s, _)| s.certificates.len()).sum();
        self.gathered
            .listed(in_jobs + absorbed + self.in_flight_certificates);
    }

    fn finish(&mut self, mut scan: AccountScan) {
        if self.stopped().is_some() && scan.outcome.state != AccountState::Skipped {
            scan.outcome.state = AccountState::Failed;
            scan.outcome.reason = Some(UNFINISHED.into());
        }
        let outcome = &scan.outcome;
        let certificates = scan.certificates.len() + scan.handed_over;
        tracing::info!(
            account = %outcome.account_id,
            state = ?outcome.state,
            reason = outcome.reason.as_deref().unwrap_or(""),
            certificates,
            "account done"
        );
        self.progress.account_done(certificates, scan.errors.len());
        for region in scan.authorities_read {
            self.gathered
                .authorities_read
                .insert((scan.outcome.account_id.clone(), region));
        }
        self.gathered.authorities.extend(scan.authorities);
        self.accounts.push(scan.outcome);
        self.errors.extend(scan.errors);
        self.gathered.add(scan.certificates, scan.unknown_regions);
    }

    /// After a stop: jobs never started keep their certificates as listed, and every account
    /// received but not finished is reported, failed, with what it gathered.
    fn end_interrupted(&mut self, signal: Signal, received: &[AccountTarget]) {
        while let Some(Queued(job)) = self.queue.pop() {
            let account = job.at.account_id.clone();
            let region = RegionScan {
                certificates: job.certificates,
                errors: Vec::new(),
            };
            self.absorb(&account, region);
        }
        let open: Vec<String> = self.open.keys().cloned().collect();
        for id in open {
            let (scan, _) = self.open.remove(&id).expect("open account");
            self.finish(scan);
        }
        let finished: HashSet<String> =
            self.accounts.iter().map(|a| a.account_id.clone()).collect();
        for target in received.iter().filter(|t| !finished.contains(&t.id)) {
            self.finish(AccountScan::ended(target, AccountState::Failed, None));
        }
        let unfinished: Vec<String> = self
            .accounts
            .iter()
            .filter(|a| a.reason.as_deref() == Some(UNFINISHED))
            .map(|a| account_label(&a.account_id, a.account_name.as_deref()))
            .collect();
        self.errors.push(ScanError::interrupted(interrupted_message(
            signal,
            &unfinished,
        )));
    }

    /// `report` (its header filled in) with everything the engine gathered, and the
    /// account-regions whose Private CAs were listed completely.
    fn into_report(
        mut self,
        received: &[AccountTarget],
        partition: &str,
        mut report: Report,
    ) -> (Report, ReadCas) {
        if let Some(signal) = self.stopped() {
            self.end_interrupted(signal, received);
        }
        // A --regions name that is no region: one error for the scan, not one per account.
        for unknown in std::mem::take(&mut self.gathered.unknown_regions) {
            self.errors.push(ScanError::new(
                Stage::DescribeRegions,
                None,
                Some(&unknown.name),
                regions::UNKNOWN_REGION,
                unknown.message(partition),
            ));
        }
        report.accounts = self.accounts;
        report.certificate_authorities = std::mem::take(&mut self.gathered.authorities);
        let read = std::mem::take(&mut self.gathered.authorities_read);
        report.certificates = self.gathered.into_certificates();
        report.errors = self.errors;
        (report, read)
    }
}

/// How many unfinished accounts an interrupted error names before it counts the rest.
const NAMED_UNFINISHED: usize = 10;

fn interrupted_message(signal: Signal, unfinished: &[String]) -> String {
    let mut message = format!(
        "scan interrupted by {}: {} not finished",
        signal.name(),
        counted(unfinished.len(), "account")
    );
    if !unfinished.is_empty() {
        let named = &unfinished[..unfinished.len().min(NAMED_UNFINISHED)];
        message.push_str(&format!(" ({}", named.join(", ")));
        if unfinished.len() > named.len() {
            message.push_str(&format!(" and {} more", unfinished.len() - named.len()));
        }
        message.push(')');
    }
    message.push_str("; their certificates listed so far are reported, some not described");
    message
}

/// What described regions and finished accounts gave. Until every account is listed,
/// certificates stay in the vectors they came in (growing one vector of 100,000 would copy
/// it, at twice its size, at every doubling); once the total is known, they go into one
/// vector of exactly that size.
#[derive(Default)]
struct Gathered {
    certificates: Vec<Vec<Certificate>>,
    all: Option<Vec<Certificate>>,
    unknown_regions: BTreeSet<UnknownRegion>,
    authorities: Vec<CertificateAuthority>,
    authorities_read: ReadCas,
}

impl Gathered {
    fn add(&mut self, certificates: Vec<Certificate>, unknown_regions: Vec<UnknownRegion>) {
        match &mut self.all {
            Some(all) => all.extend(certificates),
            None => self.certificates.push(certificates),
        }
        self.unknown_regions.extend(unknown_regions);
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
    budget: &CallBudget<'_>,
    target: AccountTarget,
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
    // Cut short by an interrupt: the engine reports the account as unfinished.
    let cut = || ended(AccountScan::ended(target, AccountState::Failed, None));
    let opening = caller.open_account(&target.id, &plan.target);
    let access = match budget.interrupt.or_stop(opening).await {
        None => return cut(),
        Some(Ok(access)) => std::sync::Arc::new(access),
        Some(Err(failure)) => {
            return ended(AccountScan::failed(target, Stage::AssumeRole, failure))
        }
    };
    let choosing = regions::choose(&access, plan.target.regions.as_deref(), &caller.partition);
    let choice = match budget.interrupt.or_stop(choosing).await {
        None => return cut(),
        Some(Ok(choice)) => choice,
        Some(Err(failure)) => {
            return ended(AccountScan::failed(target, Stage::DescribeRegions, failure))
        }
    };
    let at = |region: &str| AccountRegion {
        account_id: target.id.clone(),
        account_name: target.name.clone(),
        region: region.to_string(),
        budget_key: budget.limiter.key(&target.id, region),
    };
    let chosen = plan.sources;
    let access = &access;
    let listings = choice
        .scan
        .iter()
        .filter(|_| chosen.acm)
        .map(|region| list_region(access, at(region), budget, plan.detail));
    let pca_regions: &[String] = if chosen.pca { &choice.scan } else { &[] };
    let (listed, others) = futures::join!(
        futures::future::join_all(listings),
        list_others(access, chosen.iam, pca_regions, &at, budget)
    );
    let mut scan = AccountScan::ended(target, AccountState::Scanned, None);
    scan.outcome.regions = choice.scan.clone();
    scan.outcome.regions_not_enabled = choice.not_enabled;
    scan.unknown_regions = choice.unknown;
    // The account's vector holds exactly the certificates it keeps (listed without a describe
    // job, and IAM's): no doubling slack while hundreds of accounts wait for their describes.
    let listed_here: usize = listed
        .iter()
        .map(|(region, _)| region.certificates.len())
        .sum();
    scan.certificates
        .reserve_exact(listed_here + others.server_certificates.len());
    scan.absorb_others(others, budget.interrupt.signal().is_some());
    let mut jobs = Vec::new();
    for (region, job) in listed {
        scan.absorb(region);
        jobs.extend(job.filter(|j| j.len() > 0));
    }
    Discovered { scan, jobs }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::access::AccountAccess;

    fn target(id: &str) -> AccountTarget {
        AccountTarget {
            id: id.into(),
            name: Some(format!("name-{id}")),
            skip: None,
        }
    }

    fn job(account: &str, region: &str, certificates: usize) -> RegionJob {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        RegionJob {
            at: AccountRegion {
                account_id: account.into(),
                account_name: None,
                region: region.into(),
                budget_key: (account.into(), Some(region.into())),
            },
            access: Arc::new(AccountAccess::new(account, config)),
            certificates: (0..certificates)
                .map(|i| {
                    let arn = format!("arn:aws:acm:{region}:{account}:certificate/{i}");
                    Certificate::new(&arn, account, None, region)
                })
                .collect(),
        }
    }

    fn header() -> Report {
        Report::new(Utc::now(), 45, "999999999999")
    }

    fn discovered(account: &str, jobs: Vec<RegionJob>) -> Discovered {
        let mut scan = AccountScan::ended(&target(account), AccountState::Scanned, None);
        scan.outcome.regions = jobs.iter().map(|j| j.at.region.clone()).collect();
        Discovered { scan, jobs }
    }

    /// A job's certificates as the describe stage hands them back.
    fn described(job: RegionJob) -> RegionScan {
        RegionScan {
            certificates: job.certificates,
            errors: Vec::new(),
        }
    }

    #[test]
    fn the_largest_account_region_starts_first() {
        let progress = Progress::new(false);
        let never = Interrupt::never();
        let mut engine = Engine::new(&progress, &never);
        engine.on_discovered(discovered("1", vec![job("1", "a", 3), job("1", "b", 10)]));
        engine.on_discovered(discovered("2", vec![job("2", "c", 5)]));
        let sizes: Vec<usize> = std::iter::from_fn(|| engine.startable(0))
            .map(|j| j.len())
            .collect();
        assert_eq!(sizes, [10, 5, 3]);
        assert_eq!(engine.in_flight_certificates, 18);
    }

    #[test]
    fn no_job_starts_past_the_regions_in_flight_bound() {
        let progress = Progress::new(false);
        let never = Interrupt::never();
        let mut engine = Engine::new(&progress, &never);
        engine.on_discovered(discovered("1", vec![job("1", "a", 1)]));
        assert!(engine.startable(REGIONS_IN_FLIGHT).is_none());
        assert!(engine.startable(REGIONS_IN_FLIGHT - 1).is_some());
    }

    #[test]
    fn an_account_finishes_with_its_last_region_and_keeps_every_certificate() {
        let progress = Progress::new(false);
        let never = Interrupt::never();
        let mut engine = Engine::new(&progress, &never);
        engine.on_discovered(discovered("1", vec![job("1", "a", 2), job("1", "b", 3)]));
        let first = engine.startable(0).unwrap();
        let second = engine.startable(0).unwrap();
        engine.on_described("1", described(first));
        assert!(engine.accounts.is_empty(), "one region still out");
        engine.on_described("1", described(second));
        assert_eq!(engine.accounts.len(), 1);
        assert_eq!(engine.accounts[0].state, AccountState::Scanned);
        assert_eq!(engine.in_flight_certificates, 0);
        let (report, _) = engine.into_report(&[target("1")], "aws", header());
        assert_eq!(report.certificates.len(), 5);
        assert!(report.errors.is_empty());
    }

    #[test]
    fn an_interrupt_keeps_listed_certificates_and_names_every_unfinished_account() {
        let progress = Progress::new(false);
        let interrupt = Interrupt::already(Signal::Terminate);
        let mut engine = Engine::new(&progress, &interrupt);
        engine.on_discovered(discovered("1", vec![job("1", "a", 4), job("1", "b", 2)]));
        assert!(
            engine.startable(0).is_none(),
            "nothing starts after a signal"
        );
        // Account 2 was received but never listed; account 1's jobs never started.
        let (report, _) = engine.into_report(&[target("1"), target("2")], "aws", header());
        assert_eq!(
            report.certificates.len(),
            6,
            "listed, not described: still reported"
        );
        for account in &report.accounts {
            assert_eq!(account.state, AccountState::Failed, "{account:?}");
            assert_eq!(account.reason.as_deref(), Some(UNFINISHED));
        }
        assert_eq!(report.accounts.len(), 2);
        let interrupted = &report.errors[0];
        assert_eq!(interrupted.stage, Stage::Interrupted);
        for expected in ["SIGTERM", "name-1 (1)", "name-2 (2)"] {
            assert!(
                interrupted.message.contains(expected),
                "{}",
                interrupted.message
            );
        }
    }
}
