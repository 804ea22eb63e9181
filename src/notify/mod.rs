//! Notifications: one SNS summary per scan, and consolidated Security Hub findings.
//! They run after the scan, from the finished report; a failure to notify becomes an error in
//! the report (exit 3), never a lost report.

pub mod access_finding;
pub mod authority_finding;
pub mod certificate;
pub mod finding;
pub mod security_hub;
pub mod sns;

use chrono::{DateTime, Utc};

use crate::access::Caller;
use crate::diff::Diff;
use crate::plan::Notify;
use crate::report::{Report, ScanError, Stage};

/// Send every notification asked for. `changes` is the diff against the previous stored scan
/// (`--notify-on changes`; none on a history's first scan); `started` is when the scan began,
/// before it read anything. Failures are added to the report's errors.
pub async fn send(
    notify: &Notify,
    caller: &Caller,
    report: &mut Report,
    changes: Option<&Diff>,
    started: DateTime<Utc>,
) {
    let mut errors: Vec<ScanError> = Vec::new();
    if let Some(topic) = &notify.sns_topic_arn {
        let messages = sns::messages(report, notify, changes);
        if let Err(failure) = sns::publish(caller, topic, report, messages).await {
            let region = topic.split(':').nth(3);
            errors.push(failure.at(Stage::Sns, Some(&caller.account_id), region));
        }
    }
    if let Some(region) = &notify.security_hub_region {
        errors.extend(security_hub::import(caller, region, report, started).await);
    }
    if !errors.is_empty() {
        report.add_errors(errors);
    }
}
