//! The whole scan job: who the caller is, the organization listed while its first accounts
//! are scanned, notifications sent. What is found is one `Report`, whatever failed on the way.

use anyhow::Result;

use crate::access::Caller;
use crate::accounts;
use crate::notify;
use crate::plan::ScanPlan;
use crate::progress::Progress;
use crate::report::{Report, ScanError, Stage};
use crate::scan;

/// Run the scan the plan describes. Fails only when nothing could be scanned at all (no
/// caller, no organization); everything else is an error inside the report.
pub async fn run(plan: &ScanPlan, show_progress: bool) -> Result<Report> {
    let caller = Caller::identify(&plan.target).await?;
    tracing::info!(caller = %caller.account_id, "scanning");
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
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
        Some(Err((e, 0))) => return Err(e),
        // Some accounts were scanned before the listing failed: report them, incomplete.
        Some(Err((e, _))) => {
            let code = e
                .downcast_ref::<accounts::ListingFailed>()
                .map_or("organizations", |listing| listing.failure.code.as_str());
            report.add_errors([ScanError {
                account_id: None,
                region: None,
                stage: Stage::Organizations,
                code: code.to_string(),
                message: format!("{e:#}; accounts listed after the failure were not scanned"),
            }]);
        }
        _ => {}
    }
    if plan.notify.any() && !report.interrupted() {
        notify::send(&plan.notify, &caller, &mut report).await;
    }
    Ok(report)
}
