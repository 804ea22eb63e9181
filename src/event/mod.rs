//! One event in, one result out: what `certaudit event` does once and `certaudit lambda` does
//! for every invocation. A scheduled event runs the whole scan with its
//! notifications, report files to S3 and a metric line; an ACM certificate event from any
//! account and region reads that one certificate and converges its Security Hub finding and
//! SNS message with what the scan would say; anything else is ignored.

mod acm;
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
use crate::plan::{AccountSource, EventPlan};
use crate::report::{printable, Summary};
use parse::{AcmEvent, Event, InvalidEvent};
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
}

impl Handler {
    pub fn new(plan: EventPlan, metrics: MetricsTo) -> Handler {
        Handler {
            plan,
            metrics,
            caller: tokio::sync::OnceCell::new(),
            accounts: tokio::sync::Mutex::default(),
        }
    }

    /// Handle one event. `interrupt` stops a scheduled scan part way (a signal, or the Lambda
    /// invocation's deadline coming near).
    pub async fn handle(&self, event: &Value, interrupt: &Interrupt) -> Outcome {
        let event = match parse::dispatch(event) {
            Ok(event) => event,
            Err(invalid) => return Outcome::Invalid(invalid),
        };
        match event {
            Event::Scheduled(scope) => scheduled::run(self, scope, interrupt).await,
            Event::Acm(event) => {
                if let Some(reason) = self.out_of_scope(&event) {
                    return self.ignored(EventRef::of(&event), reason);
                }
                match self.caller().await {
                    Ok(caller) => acm::handle(self, caller, &event).await.into(),
                    Err(e) => Outcome::Fatal(e),
                }
            }
            Event::Other {
                id,
                source,
                detail_type,
                account,
                region,
                time,
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
                    resource: None,
                };
                self.ignored(event, reason)
            }
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
    /// explicit account list, a region not in --regions), if it is. An organization narrowed by
    /// OUs is not checked here: that would take Organizations calls per event.
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
        match (result.action, result.errors.first().cloned()) {
            (Action::Failed, Some(error)) => Outcome::Failed {
                result: Response::Event(Box::new(result)),
                code: error.code.clone(),
                message: format!(
                    "{} {} {}: {}: {}",
                    error.account_id.as_deref().unwrap_or("-"),
                    error.region.as_deref().unwrap_or("-"),
                    error.stage.as_str(),
                    error.code,
                    error.message
                ),
            },
            _ => Outcome::Handled(Response::Event(Box::new(result))),
        }
    }
}

/// `certaudit event [FILE|-]`: handle one event, print the result.
pub fn command(args: &EventArgs) -> Result<u8, Stopped> {
    let plan = args.settings.plan(args.dry_run).map_err(Stopped::usage)?;
    let text = read_event(args.file.as_deref()).map_err(Stopped::usage)?;
    let event: Value = match serde_json::from_str(&text) {
        Ok(event) => event,
        Err(e) => return Err(Stopped::usage(parse::not_json(&e))),
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
