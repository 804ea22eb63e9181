//! A scheduled event: the whole scan with its notifications, every report file written to
//! S3 under a dated prefix and again under `latest/`, and one CloudWatch Embedded Metric Format
//! line that the deployment's alarms read (`ScanCompleted` missing is the dead-man's switch).
//! An incomplete scan is still a handled event: its summary is the result, and
//! `AccountsFailed` in the metric line is what alarms on it.

use std::io::Write;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};

use super::parse::ScanScope;
use super::{Handler, MetricsTo, Outcome, Response};
use crate::access::aws_error::AwsFailure;
use crate::access::Caller;
use crate::audit;
use crate::interrupt::Interrupt;
use crate::plan::{AccountSource, CsvCells, NamedAccount, Notify, S3Location, Targets};
use crate::report::Report;

pub(super) async fn run(handler: &Handler, scope: ScanScope, interrupt: &Interrupt) -> Outcome {
    let mut plan = handler.plan.scan.clone();
    narrow(&mut plan.target, scope);
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
        "scheduled scan done"
    );
    // A cut scan is not a completed one: no ScanCompleted, and its files only under its date,
    // never as the latest report.
    let cut = interrupt.signal();
    if cut.is_none() {
        emit_metrics(&report, handler.metrics);
    }
    let summary = Response::Scan(report.summary.clone());
    let written = match handler
        .plan
        .report_s3
        .as_ref()
        .filter(|_| !handler.plan.dry_run)
    {
        None => Ok(None),
        Some(location) => match handler.caller().await {
            Ok(caller) => write_to_s3(caller, location, &report, cut.is_none())
                .await
                .map(Some),
            Err(e) => return Outcome::Fatal(e),
        },
    };
    match (cut, written) {
        (None, Ok(_)) => Outcome::Handled(summary),
        (Some(signal), written) => {
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
        (None, Err(failure)) => Outcome::Failed {
            result: summary,
            code: failure.code,
            message: format!(
                "the scan finished and notified, but its report files were not written to S3: {}",
                failure.message
            ),
        },
    }
}

/// The Scheduler input's `accounts`, `ou` and `regions` replace the configured ones.
fn narrow(target: &mut Targets, scope: ScanScope) {
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
}

/// The metric line: namespace `certaudit`, no dimensions, one value per metric.
pub fn metrics_line(report: &Report) -> Value {
    let s = &report.summary;
    let values = [
        ("ScanCompleted", 1),
        ("Certificates", s.certificates),
        ("Expiring", s.expiring),
        ("Expired", s.expired),
        ("WillNotRenew", s.will_not_renew),
        ("AccountsFailed", s.accounts_failed),
        ("Errors", s.errors),
    ];
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

fn emit_metrics(report: &Report, to: MetricsTo) {
    let line = metrics_line(report).to_string();
    // A metric line that cannot be written is logged; the scan's result stands.
    let written = match to {
        MetricsTo::Stdout => writeln!(std::io::stdout().lock(), "{line}"),
        MetricsTo::Stderr => writeln!(std::io::stderr().lock(), "{line}"),
    };
    if let Err(e) = written {
        tracing::warn!("cannot write the metric line: {e}");
    }
}

/// Every report file to `prefix/YYYY/MM/DD/<generated_at>/`, and when `latest`, to
/// `prefix/latest/` too. Returns where the dated copy is.
async fn write_to_s3(
    caller: &Caller,
    location: &S3Location,
    report: &Report,
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
    let dated = report
        .generated_at
        .format("%Y/%m/%d/%Y-%m-%dT%H:%M:%SZ")
        .to_string();
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
        let line = metrics_line(&report);
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
    }
}
