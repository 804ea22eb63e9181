//! One event in, one result out: what `certaudit event` does once and `certaudit lambda` does
//! for every invocation. A scheduled event runs the whole scan with its
//! notifications, report files to S3 and a metric line; an ACM certificate event from any
//! account and region reads that one certificate and converges its Security Hub finding and
//! SNS message with what the scan would say; anything else is ignored.

mod acm;
mod members;
pub mod parse;
pub mod result;
mod scheduled;

pub use scheduled::{metrics_line, Finish};

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{anyhow, Context};
use serde::Serialize;
use serde_json::Value;

use crate::access::aws_error::AwsFailure;
use crate::access::{AccountAccess, Caller};
use crate::cli::EventArgs;
use crate::interrupt::Interrupt;
use crate::outcome::{self, Stopped};
use crate::output;
use crate::plan::{AccountSource, EventPlan, Targets};
use crate::report::{printable, Summary};
use members::Standing;
use parse::{AcmEvent, Event, InvalidEvent, ScanScope};
use result::{Action, EventRef, EventResult};

/// What handling an event answers: an ACM event's result, or a scheduled scan's summary.
/// Serialized as it is, fields in their declared order.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Response {
    Event(Box<EventResult>),
    Scan(Summary),
}

/// How handling one event ended.
#[derive(Debug)]
pub enum Outcome {
    /// Handled (an ignored event too): the result. Exit 0, the Lambda's response.
    Handled(Response),
    /// Could not be handled (access denied, describe or publish failed): the result, and the
    /// AWS code and a message naming account and region. Exit 3; in Lambda, an error of
    /// that type.
    Failed {
        result: Response,
        code: String,
        message: String,
    },
    /// A scheduled scan that finished, but some notification (SNS, Security Hub, the S3
    /// report) was not delivered: exit 3. In Lambda, still the response: an incomplete
    /// scheduled scan is a successful invocation, and the metric line's `NotificationsFailed`
    /// and the ERROR lines, already written, are what alarms read.
    Undelivered { result: Response, message: String },
    /// Not an event this handler can read: exit 2; in Lambda, `InvalidEvent`.
    Invalid(InvalidEvent),
    /// Nothing can be handled at all (no credentials, no organization): exit 1.
    Fatal(anyhow::Error),
}

/// Where the scheduled scan's metric line goes: stdout in Lambda (CloudWatch Logs reads it
/// there), stderr for `certaudit event`, whose stdout is the result alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsTo {
    Stdout,
    Stderr,
}

/// Handles events with one plan; keeps the caller and each account's credentials between
/// events (a warm Lambda assumes a member account's role once, not per event).
pub struct Handler {
    plan: EventPlan,
    metrics: MetricsTo,
    caller: tokio::sync::OnceCell<Caller>,
    accounts: tokio::sync::Mutex<HashMap<String, AccountAccess>>,
    members: members::Members,
}

impl Handler {
    pub fn new(plan: EventPlan, metrics: MetricsTo) -> Handler {
        Handler {
            plan,
            metrics,
            caller: tokio::sync::OnceCell::new(),
            accounts: tokio::sync::Mutex::default(),
            members: members::Members::default(),
        }
    }

    /// Handle one event. `interrupt` stops it part way (a signal, or the Lambda invocation's
    /// deadline coming near).
    pub async fn handle(&self, event: &Value, interrupt: &Interrupt) -> Outcome {
        let event = match parse::dispatch(event) {
            Ok(event) => event,
            Err(invalid) => return Outcome::Invalid(invalid),
        };
        match event {
            Event::Scheduled(scope) => match self.scope_outside(&scope, interrupt).await {
                Ok(None) => scheduled::run(self, scope, interrupt).await,
                Ok(Some(reason)) => {
                    // A schedule that scans nothing every day is a mistake or a forgery: said
                    // at the default level, not only in the result.
                    tracing::warn!("scheduled scan not run: {}", printable(&reason));
                    self.ignored(EventRef::default(), reason)
                }
                Err(stopped) => stopped,
            },
            Event::Acm(event) => {
                let outcome = match interrupt.or_stop(self.acm(&event)).await {
                    Some(outcome) => outcome,
                    None => interrupted(&event, interrupt, self.plan.dry_run),
                };
                log_handled(&event, &outcome);
                outcome
            }
            Event::Other {
                id,
                source,
                detail_type,
                account,
                region,
                time,
                resource,
            } => {
                let reason = format!(
                    "not an event certaudit acts on (source {}, detail-type {})",
                    source.as_deref().unwrap_or("none"),
                    detail_type.as_deref().unwrap_or("none")
                );
                let event = EventRef {
                    id,
                    detail_type,
                    account,
                    region,
                    time,
                    resource,
                };
                self.ignored(event, reason)
            }
        }
    }

    /// An ACM event: in scope, in the caller's partition, in the organization, then handled.
    async fn acm(&self, event: &AcmEvent) -> Outcome {
        if let Some(reason) = self.out_of_scope(event) {
            return self.ignored(EventRef::of(event), reason);
        }
        let caller = match self.caller().await {
            Ok(caller) => caller,
            Err(e) => return Outcome::Fatal(e),
        };
        if event.partition != caller.partition {
            return Outcome::Invalid(InvalidEvent {
                field: "resources".into(),
                message: format!(
                    "the certificate `resources[0]` is in partition '{}', but certaudit runs in \
                     partition '{}': it cannot be read from here",
                    event.partition, caller.partition
                ),
            });
        }
        let target = &self.plan.scan.target;
        match self.members.standing(caller, target, &event.account).await {
            Ok(Standing::Member) => acm::handle(self, caller, event).await.into(),
            Ok(Standing::Skipped(reason) | Standing::Outside(reason)) => {
                self.ignored(EventRef::of(event), reason)
            }
            Err(e) => Outcome::Fatal(e),
        }
    }

    /// Why a Scheduler input's `accounts` may not be scanned (one is outside the
    /// organization), if they may not; a suspended or excluded one is the scan's to skip and
    /// report. `Err` is the outcome when that cannot be told.
    async fn scope_outside(
        &self,
        scope: &ScanScope,
        interrupt: &Interrupt,
    ) -> Result<Option<String>, Outcome> {
        if let Some(reason) = beyond_configuration(&self.plan.scan.target, scope) {
            return Ok(Some(reason));
        }
        if scope.accounts.is_empty() {
            return Ok(None);
        }
        let check = async {
            let caller = self.caller().await?;
            let target = &self.plan.scan.target;
            let mut outside = Vec::new();
            for account in &scope.accounts {
                if let Standing::Outside(reason) =
                    self.members.standing(caller, target, account).await?
                {
                    outside.push(reason);
                }
            }
            anyhow::Ok(outside)
        };
        match interrupt.or_stop(check).await {
            None => Err(Outcome::Failed {
                result: Response::Event(Box::new(EventResult::new(
                    EventRef::default(),
                    Action::Failed,
                    self.plan.dry_run,
                ))),
                code: "Interrupted".into(),
                message: format!(
                    "{} stopped the scan before it started",
                    interrupt.signal().map_or("a signal", |s| s.name())
                ),
            }),
            Some(Err(e)) => Err(Outcome::Fatal(e)),
            Some(Ok(outside)) if outside.is_empty() => Ok(None),
            // Not a part of the list: the list is the deployer's, and one outsider in it is a
            // mistake or a forgery either way; scanning the rest would hide it.
            Some(Ok(outside)) => Ok(Some(format!(
                "the Scheduler input's `accounts` reach outside the organization, so nothing \
                 was scanned: {}",
                outside.join("; ")
            ))),
        }
    }

    /// An event certaudit does not act on: logged, answered with why.
    fn ignored(&self, event: EventRef, reason: String) -> Outcome {
        // The event's words reach a terminal's stderr: no control characters.
        tracing::info!("ignored: {}", printable(&reason));
        let mut result = EventResult::new(event, Action::Ignored, self.plan.dry_run);
        result.reason = Some(reason);
        result.into()
    }

    /// Why an ACM event is outside what the scan covers (an excluded account, one not in an
    /// explicit account list, a region not in --regions), if it is, before any AWS call. The
    /// organization (and its OUs) is checked once the caller is known (`members`).
    fn out_of_scope(&self, event: &AcmEvent) -> Option<String> {
        let target = &self.plan.scan.target;
        if target.exclude.contains(&event.account) {
            return Some(format!("account {} is excluded (--exclude)", event.account));
        }
        if let AccountSource::Explicit(accounts) = &target.accounts {
            if !accounts.iter().any(|a| a.id == event.account) {
                return Some(format!("account {} is not among --accounts", event.account));
            }
        }
        match &target.regions {
            Some(regions) if !regions.contains(&event.region) => {
                Some(format!("region {} is not among --regions", event.region))
            }
            _ => None,
        }
    }

    /// Who runs the handler, asked once.
    async fn caller(&self) -> anyhow::Result<&Caller> {
        self.caller
            .get_or_try_init(|| Caller::identify(&self.plan.scan.target))
            .await
    }

    /// Credentials for an account, opened once and kept.
    async fn access(&self, caller: &Caller, account: &str) -> Result<AccountAccess, AwsFailure> {
        let mut accounts = self.accounts.lock().await;
        if let Some(access) = accounts.get(account) {
            return Ok(access.clone());
        }
        let access = caller.open_account(account, &self.plan.scan.target).await?;
        accounts.insert(account.to_string(), access.clone());
        Ok(access)
    }
}

impl From<EventResult> for Outcome {
    fn from(result: EventResult) -> Outcome {
        let Some(first) = result.errors.first() else {
            return Outcome::Handled(Response::Event(Box::new(result)));
        };
        // Every target that failed is named: a Security Hub refusal must not hide that the
        // SNS message went out, nor an SNS failure that the finding was imported.
        let message = result
            .errors
            .iter()
            .map(|error| {
                format!(
                    "{} {} {}: {}: {}",
                    error.account_id.as_deref().unwrap_or("-"),
                    error.region.as_deref().unwrap_or("-"),
                    error.stage.as_str(),
                    error.code,
                    error.message
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        Outcome::Failed {
            code: first.code.clone(),
            result: Response::Event(Box::new(result)),
            message,
        }
    }
}

/// A signal (or the invocation's deadline) came while the event was being handled: what
/// was under way is dropped, and the event fails so that it is retried or replayed whole.
fn interrupted(event: &AcmEvent, interrupt: &Interrupt, dry_run: bool) -> Outcome {
    let signal = interrupt.signal().map_or("a signal", |s| s.name());
    let mut result = EventResult::new(EventRef::of(event), Action::Failed, dry_run);
    result.fail(crate::report::ScanError::new(
        crate::report::Stage::Interrupted,
        Some(&event.account),
        Some(&event.region),
        "Interrupted".to_string(),
        format!("{signal} stopped the event's handling part way; replay the event"),
    ));
    result.into()
}

/// One INFO line per ACM event: what CloudWatch Logs keeps of each invocation.
fn log_handled(event: &AcmEvent, outcome: &Outcome) {
    let result = match outcome {
        Outcome::Handled(Response::Event(result))
        | Outcome::Failed {
            result: Response::Event(result),
            ..
        } => Some(result),
        _ => None,
    };
    let action = match (outcome, result) {
        (_, Some(result)) => format!("{:?}", result.action).to_lowercase(),
        (Outcome::Invalid(_), None) => "invalid".into(),
        _ => "fatal".into(),
    };
    // The event's words reach a terminal's stderr: no control characters.
    tracing::info!(
        event_id = printable(event.id.as_deref().unwrap_or("-")).as_ref(),
        detail_type = printable(&event.detail_type).as_ref(),
        account = event.account.as_str(),
        region = event.region.as_str(),
        certificate = printable(&event.resource).as_ref(),
        action,
        sns_message_id = result.and_then(|r| r.sns_message_id.as_deref()),
        finding_id = result
            .and_then(|r| r.finding_id.as_deref())
            .map(printable)
            .as_deref(),
        "ACM event handled"
    );
}

/// `certaudit event [FILE|-]`: handle one event, print the result.
pub fn command(args: &EventArgs) -> Result<u8, Stopped> {
    let plan = args.settings.plan(args.dry_run).map_err(Stopped::usage)?;
    let text = read_event(args.file.as_deref()).map_err(Stopped::usage)?;
    let event: Value = match serde_json::from_str(&text) {
        Ok(event) => event,
        Err(e) => return Err(Stopped::usage(parse::not_json(&text, &e))),
    };
    let (runtime, interrupt) = outcome::start()?;
    let handler = Handler::new(plan, MetricsTo::Stderr);
    let print = |result: &Response| {
        output::write_stdout(|out| {
            serde_json::to_writer_pretty(&mut *out, result)?;
            Ok(writeln!(out)?)
        })
        .map_err(Stopped::fatal)
    };
    let handled = runtime.block_on(handler.handle(&event, &interrupt));
    let failed = match interrupt.signal() {
        Some(signal) => signal.exit_code(),
        None => outcome::INCOMPLETE,
    };
    match handled {
        Outcome::Handled(result) => print(&result).map(|()| outcome::OK),
        Outcome::Failed {
            result, message, ..
        } => {
            print(&result)?;
            Err(Stopped {
                code: failed,
                error: anyhow!("the event could not be handled: {message}"),
            })
        }
        Outcome::Undelivered { result, message } => {
            print(&result)?;
            Err(Stopped {
                code: outcome::INCOMPLETE,
                error: anyhow!("{message}"),
            })
        }
        Outcome::Invalid(invalid) => Err(Stopped::usage(invalid)),
        Outcome::Fatal(error) => Err(Stopped::fatal(error)),
    }
}

/// The event's text: a file, or stdin for none or `-`.
fn read_event(file: Option<&Path>) -> anyhow::Result<String> {
    match file {
        Some(path) if path != Path::new("-") => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the event from {}", path.display())),
        _ => {
            if std::io::stdin().is_terminal() {
                eprintln!("certaudit: reading the event from standard input (end it with Ctrl-D)");
            }
            std::io::read_to_string(std::io::stdin())
                .context("cannot read the event from standard input")
        }
    }
}

/// Why a Scheduler input's `ou` or `regions` would reach past what the function is configured
/// to scan, if they would: the input may narrow the deployed scope, never widen it. Its OUs must
/// be among the configured `--ou` (a nested one cannot be told apart without listing the tree),
/// and none may replace an explicit `--accounts`; its regions must be among `--regions`.
fn beyond_configuration(target: &Targets, scope: &ScanScope) -> Option<String> {
    if let Some(configured) = &target.regions {
        let outside: Vec<&str> = scope
            .regions
            .iter()
            .filter(|r| !configured.contains(r))
            .map(String::as_str)
            .collect();
        if !outside.is_empty() {
            return Some(format!(
                "the Scheduler input's `regions` reach outside the configured --regions ({}), \
                 so nothing was scanned: {}",
                configured.join(","),
                outside.join(",")
            ));
        }
    }
    if scope.ou.is_empty() || !scope.accounts.is_empty() {
        return None;
    }
    match &target.accounts {
        AccountSource::Explicit(_) => Some(
            "the Scheduler input's `ou` would replace the configured --accounts, so nothing \
             was scanned: name accounts from that list in `accounts` instead"
                .to_string(),
        ),
        AccountSource::Organization { ous } if !ous.is_empty() => {
            let outside: Vec<&str> = scope
                .ou
                .iter()
                .filter(|o| !ous.contains(o))
                .map(String::as_str)
                .collect();
            (!outside.is_empty()).then(|| {
                format!(
                    "the Scheduler input's `ou` reach outside the configured --ou ({}), so \
                     nothing was scanned: {}",
                    ous.join(","),
                    outside.join(",")
                )
            })
        }
        AccountSource::Organization { .. } => None,
    }
}
