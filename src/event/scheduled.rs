//! A scheduled event: the whole scan with its notifications, every report file written to
//! S3 under a dated prefix and again under `latest/`, and one CloudWatch Embedded Metric Format
//! line that the deployment's alarms read (`ScanCompleted` missing is the dead-man's switch).
//! An incomplete scan is still a handled event: its summary is the result, and
//! `AccountsFailed` in the metric line is what alarms on it. A notification that was not
//! delivered (SNS, Security Hub, the S3 report) is never silent: an ERROR line naming its
//! target, `NotificationsFailed` in the metric line, and exit 3 from `certaudit event`.
//! Only the scan the function is configured for, finished, replaces `latest/` and counts as
//! `ScanCompleted`: a narrowed one (Scheduler input with `accounts`, `ou` or `regions`) must
//! neither shrink the latest report nor stand in for a stopped organization-wide schedule.

use std::io::Write;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};

use super::parse::ScanScope;
use super::{Handler, MetricsTo, Outcome, Response};
use crate::access::aws_error::AwsFailure;
use crate::access::Caller;
use crate::audit;
use crate::interrupt::{Interrupt, Signal};
use crate::plan::{AccountSource, CsvCells, NamedAccount, Notify, S3Location, Targets};
use crate::report::{printable, Report, Stage};

/// Whether the event scans what the function is configured for, or less.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coverage {
    Configured,
    /// The Scheduler input named accounts, OUs or regions.
    Narrowed,
}

/// How a scheduled scan ended, as the metric line says it besides the report's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finish {
    /// The configured scan ran to its end: `ScanCompleted` is 1. Otherwise it is absent, not
    /// 0, so no statistic of the dead-man's switch can count it as a scan.
    pub completed: bool,
    /// SNS publishes, Security Hub imports and S3 report writes that failed.
    pub notifications_failed: usize,
}

/// A notification that did not reach its target.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Undelivered {
    /// `SNS topic ARN`, `Security Hub in REGION` or `s3://bucket/prefix/`.
    target: String,
    code: String,
    message: String,
}

pub(super) async fn run(handler: &Handler, scope: ScanScope, interrupt: &Interrupt) -> Outcome {
    let mut plan = handler.plan.scan.clone();
    let coverage = narrow(&mut plan.target, scope);
    if handler.plan.dry_run {
        plan.notify = Notify::default();
    }
    let report = match audit::run(&plan, audit::Stages::default(), interrupt).await {
        Ok(report) => report,
        Err(error) => return Outcome::Fatal(error),
    };
    tracing::info!(
        certificates = report.summary.certificates,
        accounts_failed = report.summary.accounts_failed,
        errors = report.summary.errors,
        narrowed = coverage == Coverage::Narrowed,
        "scheduled scan done"
    );
    // A cut scan is not a completed one: no ScanCompleted, and its files only under its date,
    // never as the latest report. Nor is a narrowed one.
    let cut = interrupt.signal();
    let completed = cut.is_none() && coverage == Coverage::Configured;
    let location = handler
        .plan
        .report_s3
        .as_ref()
        .filter(|_| !handler.plan.dry_run);
    let written = match location {
        None => Ok(None),
        Some(location) => match handler.caller().await {
            Ok(caller) => write_to_s3(caller, location, &report, coverage, completed)
                .await
                .map(Some),
            Err(e) => return Outcome::Fatal(e),
        },
    };
    let mut undelivered = undelivered_notifications(&report, &plan.notify);
    if let (Some(location), Err(failure)) = (location, &written) {
        undelivered.push(Undelivered {
            target: location_uri(location),
            code: failure.code.clone(),
            message: format!("the report files were not written: {}", failure.message),
        });
    }
    for failure in &undelivered {
        failure.log();
    }
    if cut.is_none() {
        let finish = Finish {
            completed,
            notifications_failed: undelivered.len(),
        };
        emit_metrics(&report, finish, handler.metrics);
    }
    let summary = Response::Scan(report.summary.clone());
    outcome(summary, cut, written, &undelivered)
}

/// What the scheduled scan tells its caller: handled, cut by a signal (and where its files
/// went), or finished with notifications not delivered.
fn outcome(
    summary: Response,
    cut: Option<Signal>,
    written: Result<Option<String>, AwsFailure>,
    undelivered: &[Undelivered],
) -> Outcome {
    match (cut, undelivered.first()) {
        (None, None) => Outcome::Handled(summary),
        (Some(signal), _) => {
            let files = match written {
                Ok(Some(at)) => format!("; what it found is in {at}"),
                Ok(None) => String::new(),
                Err(failure) => format!("; its report files were not written: {failure}"),
            };
            Outcome::Failed {
                result: summary,
                code: "Interrupted".into(),
                message: format!("{} stopped the scan part way{files}", signal.name()),
            }
        }
        (None, Some(first)) => Outcome::Undelivered {
            result: summary,
            message: format!(
                "the scan finished, but {} notification(s) were not delivered; the first, to \
                 {}: {}: {}",
                undelivered.len(),
                first.target,
                first.code,
                first.message
            ),
        },
    }
}

impl Undelivered {
    /// One ERROR line naming the target and the AWS code. CloudWatch Logs and a terminal read
    /// it as text: AWS's words go through the control-character rule.
    fn log(&self) {
        tracing::error!(
            "notification not delivered to {}: {}: {}",
            printable(&self.target),
            printable(&self.code),
            printable(&self.message)
        );
    }
}

/// The Scheduler input's `accounts`, `ou` and `regions` replace the configured ones.
fn narrow(target: &mut Targets, scope: ScanScope) -> Coverage {
    let narrowed = !(scope.accounts.is_empty() && scope.ou.is_empty() && scope.regions.is_empty());
    if !scope.accounts.is_empty() {
        let accounts = scope
            .accounts
            .into_iter()
            .map(|id| NamedAccount { id, name: None });
        target.accounts = AccountSource::Explicit(accounts.collect());
    } else if !scope.ou.is_empty() {
        target.accounts = AccountSource::Organization { ous: scope.ou };
    }
    if !scope.regions.is_empty() {
        target.regions = Some(scope.regions);
    }
    if narrowed {
        Coverage::Narrowed
    } else {
        Coverage::Configured
    }
}

/// The report's SNS and Security Hub errors, each named by its target.
fn undelivered_notifications(report: &Report, notify: &Notify) -> Vec<Undelivered> {
    report
        .errors
        .iter()
        .filter_map(|e| {
            let target = match e.stage {
                Stage::Sns => format!(
                    "SNS topic {}",
                    notify.sns_topic_arn.as_deref().unwrap_or("(unknown)")
                ),
                Stage::SecurityHub => {
                    format!("Security Hub in {}", e.region.as_deref().unwrap_or("?"))
                }
                _ => return None,
            };
            Some(Undelivered {
                target,
                code: e.code.clone(),
                message: e.message.clone(),
            })
        })
        .collect()
}

fn location_uri(location: &S3Location) -> String {
    format!("s3://{}/{}", location.bucket, location.key("", ""))
}

/// The metric line: namespace `certaudit`, no dimensions, one value per metric.
pub fn metrics_line(report: &Report, finish: Finish) -> Value {
    let s = &report.summary;
    let completed = finish.completed.then_some(("ScanCompleted", 1));
    let values: Vec<(&str, usize)> = completed
        .into_iter()
        .chain([
            ("Certificates", s.certificates),
            ("Expiring", s.expiring),
            ("Expired", s.expired),
            ("WillNotRenew", s.will_not_renew),
            ("AccountsFailed", s.accounts_failed),
            ("Errors", s.errors),
            ("NotificationsFailed", finish.notifications_failed),
        ])
        .collect();
    let metrics: Vec<Value> = values
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut line = json!({
        "_aws": {
            "Timestamp": report.generated_at.timestamp_millis(),
            "CloudWatchMetrics": [
                {"Namespace": "certaudit", "Dimensions": [[]], "Metrics": metrics}
            ]
        }
    });
    for (name, value) in values {
        line[name] = json!(value);
    }
    line
}

fn emit_metrics(report: &Report, finish: Finish, to: MetricsTo) {
    let line = metrics_line(report, finish).to_string();
    // A metric line that cannot be written is logged; the scan's result stands.
    let written = match to {
        MetricsTo::Stdout => writeln!(std::io::stdout().lock(), "{line}"),
        MetricsTo::Stderr => writeln!(std::io::stderr().lock(), "{line}"),
    };
    if let Err(e) = written {
        tracing::warn!("cannot write the metric line: {e}");
    }
}

/// Every report file to `prefix/YYYY/MM/DD/<generated_at>/` (a narrowed scan's folder also
/// names its scope), and when `latest`, to `prefix/latest/` too. Returns where the dated copy
/// is.
async fn write_to_s3(
    caller: &Caller,
    location: &S3Location,
    report: &Report,
    coverage: Coverage,
    latest: bool,
) -> Result<String, AwsFailure> {
    let dir = tempfile::tempdir().map_err(|e| AwsFailure::new("LocalIo", e.to_string()))?;
    crate::output::write_artifacts(report, dir.path(), CsvCells::raw_if(false))
        .map_err(|e| AwsFailure::new("LocalIo", format!("{e:#}")))?;
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .map_err(|e| AwsFailure::new("LocalIo", e.to_string()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let client = aws_sdk_s3::Client::new(&caller.config);
    let dated = dated_folder(report, coverage);
    let folders = if latest {
        vec![dated.as_str(), "latest"]
    } else {
        vec![dated.as_str()]
    };
    for folder in folders {
        for name in &names {
            let key = location.key(folder, name);
            let body = ByteStream::from_path(dir.path().join(name))
                .await
                .map_err(|e| AwsFailure::new("LocalIo", e.to_string()))?;
            client
                .put_object()
                .bucket(&location.bucket)
                .key(&key)
                .content_type(content_type(name))
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    let failure = AwsFailure::from_sdk(&e);
                    AwsFailure::new(&failure.code, format!("{key}: {}", failure.message))
                })?;
        }
    }
    tracing::info!(bucket = %location.bucket, files = names.len(), "report written to S3");
    Ok(format!(
        "s3://{}/{}/",
        location.bucket,
        location.key(&dated, "")
    ))
}

/// `YYYY/MM/DD/<generated_at>`, whole seconds. A narrowed scan started in the same second as
/// the whole one (or as another narrowed one) would overwrite its files: its folder gains
/// `-narrowed-` and a digest of its scope.
fn dated_folder(report: &Report, coverage: Coverage) -> String {
    use sha2::{Digest, Sha256};
    let at = report
        .generated_at
        .format("%Y/%m/%d/%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    match coverage {
        Coverage::Configured => at,
        Coverage::Narrowed => {
            let scope = serde_json::to_string(&report.scope).unwrap_or_default();
            let digest = Sha256::digest(scope.as_bytes());
            let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
            format!("{at}-narrowed-{short}")
        }
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("json") => "application/json",
        Some("csv") => "text/csv; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_line_is_embedded_metric_format() {
        let mut report = Report::new(chrono::Utc::now(), 45, "123456789012");
        report.summary.accounts_failed = 2;
        let finish = Finish {
            completed: true,
            notifications_failed: 3,
        };
        let line = metrics_line(&report, finish);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "certaudit");
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in &names {
            assert!(line[name].is_number(), "{name} has no value");
        }
        assert_eq!(line["ScanCompleted"], 1);
        assert_eq!(line["AccountsFailed"], 2);
        assert!(names.contains(&"WillNotRenew"));
        assert_eq!(line["NotificationsFailed"], 3);
    }

    #[test]
    fn a_scan_that_is_not_the_configured_one_finished_has_no_scan_completed_at_all() {
        let report = Report::new(chrono::Utc::now(), 45, "123456789012");
        let finish = Finish {
            completed: false,
            notifications_failed: 0,
        };
        let line = metrics_line(&report, finish);
        assert!(line.get("ScanCompleted").is_none(), "{line}");
        let named = line["_aws"]["CloudWatchMetrics"][0]["Metrics"].to_string();
        assert!(!named.contains("ScanCompleted"), "{named}");
        assert_eq!(line["Certificates"], 0, "its other metrics are kept");
    }

    #[test]
    fn scheduler_input_with_accounts_ou_or_regions_is_a_narrowed_scan() {
        let target = || Targets {
            accounts: AccountSource::Organization { ous: Vec::new() },
            exclude: Default::default(),
            regions: Some(vec!["us-east-1".into()]),
            role_name: "CertAuditReadOnly".into(),
            external_id: None,
            external_id_parameter: None,
            profile: None,
            region: None,
            timeout: std::time::Duration::from_secs(60),
        };
        let scope = |accounts: &[&str], ou: &[&str], regions: &[&str]| ScanScope {
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            ou: ou.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
        };
        let mut configured = target();
        assert_eq!(
            narrow(&mut configured, scope(&[], &[], &[])),
            Coverage::Configured
        );
        assert_eq!(
            configured.regions,
            target().regions,
            "the configured regions stay"
        );
        for narrowed in [
            scope(&["111111111111"], &[], &[]),
            scope(&[], &["ou-ab12-cdef3456"], &[]),
            scope(&[], &[], &["eu-west-1"]),
        ] {
            assert_eq!(narrow(&mut target(), narrowed), Coverage::Narrowed);
        }
    }

    #[test]
    fn narrowed_scans_of_the_same_second_write_to_folders_of_their_own() {
        let at = chrono::Utc::now();
        let with = |accounts: &[&str]| {
            let mut report = Report::new(at, 45, "123456789012");
            report.scope = Some(crate::report::ScanScope {
                accounts: Some(accounts.iter().map(|a| a.to_string()).collect()),
                ..Default::default()
            });
            report
        };
        let whole = dated_folder(&Report::new(at, 45, "123456789012"), Coverage::Configured);
        let one = dated_folder(&with(&["111111111111"]), Coverage::Narrowed);
        let other = dated_folder(&with(&["222222222222"]), Coverage::Narrowed);
        assert!(
            one.starts_with(&whole) && one.contains("-narrowed-"),
            "{one}"
        );
        assert_ne!(one, whole);
        assert_ne!(one, other);
    }
}
