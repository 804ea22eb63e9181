//! The whole scan job: who the caller is, the organization listed while its first accounts
//! are scanned, notifications sent. What is found is one `Report`, whatever failed on the way.

use anyhow::{bail, Result};

use crate::access::Caller;
use crate::accounts;
use crate::interrupt::Interrupt;
use crate::notify;
use crate::plan::ScanPlan;
use crate::progress::Progress;
use crate::report::{Report, ScanError, Stage};
use crate::scan;

/// ACM's published DescribeCertificate and ListTagsForCertificate quota per account-region.
const ACM_QUOTA_PER_SECOND: u32 = 10;

/// Run the scan the plan describes. Fails only when nothing could be scanned at all (no
/// caller, no organization, a signal before the first account); everything else is an error
/// inside the report. A signal stops every stage, notifications included.
pub async fn run(plan: &ScanPlan, show_progress: bool, interrupt: &Interrupt) -> Result<Report> {
    let Some(caller) = interrupt.or_stop(Caller::identify(&plan.target)).await else {
        bail!("interrupted before the caller was identified: nothing was scanned");
    };
    let caller = caller?;
    if plan.rate.get() > ACM_QUOTA_PER_SECOND {
        tracing::warn!(
            "--rate {} is above ACM's quota of {ACM_QUOTA_PER_SECOND} calls a second per \
             account-region: expect throttling; certaudit slows down where it is throttled",
            plan.rate
        );
    }
    tracing::info!(caller = %caller.account_id, "scanning");
    // The organization is listed while the first accounts are scanned.
    let (sender, targets) = futures::channel::mpsc::unbounded();
    let caller_ref = &caller;
    let listing = async move {
        // Owned here, so the scan's stream of accounts ends when the listing does.
        let sender = sender;
        accounts::resolve_each(&plan.target, caller_ref, &mut |target| {
            let _ = sender.unbounded_send(target);
        })
        .await
    };
    let progress = Progress::new(show_progress);
    let scanning = scan::run(plan, &caller, targets, &progress, interrupt);
    tokio::pin!(listing, scanning);
    let mut listed = None;
    let mut report = loop {
        tokio::select! {
            result = &mut listing, if listed.is_none() => listed = Some(result),
            report = &mut scanning => break report,
        }
    };
    match listed {
        // Nothing was scanned: there is no report to give.
        Some(Err(broke)) if broke.listed == 0 => return Err(broke.error),
        // Some accounts were scanned before the listing failed: report them, incomplete.
        Some(Err(broke)) => {
            let code = broke
                .failure
                .as_ref()
                .map_or("organizations", |f| f.code.as_str());
            report.add_errors([ScanError {
                account_id: None,
                region: None,
                stage: Stage::Organizations,
                code: code.to_string(),
                message: broke.part_way_message(),
            }]);
        }
        _ => {}
    }
    if plan.notify.any() && interrupt.signal().is_none() {
        let sending = notify::send(&plan.notify, &caller, &mut report);
        if interrupt.or_stop(sending).await.is_none() {
            report.add_errors([ScanError {
                account_id: None,
                region: None,
                stage: Stage::Interrupted,
                code: "interrupted".into(),
                message: "interrupted while notifying: some notifications may not have been sent"
                    .into(),
            }]);
        }
    }
    Ok(report)
}
