//! `certaudit lambda`: the AWS Lambda custom-runtime loop (crate `lambda_runtime`), each
//! invocation one `event`. The deployment zip holds this binary as `bootstrap`: run with no
//! arguments while `AWS_LAMBDA_RUNTIME_API` is set, it runs this mode. Configuration comes
//! from `CERTAUDIT_*` variables (each flag's), with the seed Lambda's `EXPIRY_DAYS`,
//! `SNS_TOPIC_ARN` and `SECURITY_HUB_REGION` as fallbacks. An event that cannot be handled is
//! an invocation error (`InvalidEvent`, or the AWS code) — never a panic, never a crash loop.
//! A scheduled scan that would outlive the invocation stops before its deadline and says so
//! (`Interrupted`), keeping what it found under its date in S3.

use std::ffi::OsString;
use std::time::Duration;

use anyhow::anyhow;
use std::task::{Context, Poll};

use lambda_runtime::tower::layer::layer_fn;
use lambda_runtime::{
    layers, service_fn, Diagnostic, LambdaEvent, LambdaInvocation, Runtime, Service,
};
use serde_json::Value;

use crate::cli::LambdaArgs;
use crate::event::{Handler, MetricsTo, Outcome, Response};
use crate::interrupt::Interrupt;
use crate::outcome::{self, Stopped};
use crate::report::printable;

/// The seed Lambda's variable names, and the flags they stand for when the `CERTAUDIT_*`
/// variable is not set.
const FALLBACKS: [(&str, &str, &str); 3] = [
    ("EXPIRY_DAYS", "CERTAUDIT_EXPIRING_DAYS", "--expiring-days"),
    (
        "SNS_TOPIC_ARN",
        "CERTAUDIT_SNS_TOPIC_ARN",
        "--sns-topic-arn",
    ),
    (
        "SECURITY_HUB_REGION",
        "CERTAUDIT_SECURITY_HUB_REGION",
        "--security-hub-region",
    ),
];

/// What the Runtime API needs; `lambda_runtime` panics without them, so they are checked first.
const RUNTIME_VARIABLES: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// The command line to parse: `certaudit lambda` when started as a bootstrap (no arguments,
/// under the Runtime API), and for `lambda`, the seed Lambda's variables as flags.
pub fn arguments(mut args: Vec<OsString>, env: impl Fn(&str) -> Option<OsString>) -> Vec<OsString> {
    if args.len() == 1 && env("AWS_LAMBDA_RUNTIME_API").is_some() {
        args.push("lambda".into());
    }
    if args.get(1).is_some_and(|a| a == "lambda") {
        for (seed, ours, flag) in FALLBACKS {
            if let (None, Some(value)) = (env(ours), env(seed)) {
                let mut argument = OsString::from(format!("{flag}="));
                argument.push(value);
                args.push(argument);
            }
        }
    }
    args
}

/// `certaudit lambda`: serve invocations until the Runtime API goes away.
pub fn command(args: &LambdaArgs) -> Result<u8, Stopped> {
    if let Some(missing) = RUNTIME_VARIABLES
        .iter()
        .find(|v| std::env::var_os(v).is_none())
    {
        return Err(Stopped::usage(anyhow!(
            "{missing} is not set: `certaudit lambda` runs inside AWS Lambda (or under a Runtime \
             API emulator); to handle one event here, use `certaudit event FILE`"
        )));
    }
    let plan = args.settings.plan(false).map_err(Stopped::usage)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Stopped::fatal)?;
    let handler = Handler::new(plan, MetricsTo::Stdout);
    let handler = &handler;
    let service = service_fn(move |event: LambdaEvent<Value>| invoke(handler, event));
    runtime
        .block_on(
            Runtime::new(service)
                .layer(layer_fn(JsonPayload))
                .layer(layers::TracingLayer::new())
                .run(),
        )
        .map_err(|e| Stopped::fatal(anyhow!("the Lambda Runtime API loop stopped: {e}")))?;
    Ok(outcome::OK)
}

/// A payload that is not JSON reaches the handler as a JSON string of its text, so it is
/// refused as InvalidEvent like any other unreadable event (lambda_runtime would otherwise
/// answer with its own deserialization error before the handler runs). Lambda's Invoke API
/// refuses such payloads itself; a runtime emulator or a hand-made call may not.
struct JsonPayload<S>(S);

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for JsonPayload<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        if serde_json::from_slice::<serde::de::IgnoredAny>(&invocation.body).is_err() {
            let text = String::from_utf8_lossy(&invocation.body).into_owned();
            invocation.body = Value::String(text).to_string().into();
        }
        self.0.call(invocation)
    }
}

/// When a scan stops so the invocation can still answer: before its deadline (milliseconds
/// since the epoch) by a fifth of the time left, at least 5 s and at most 60 s. A scan Lambda
/// kills at the timeout says nothing; one stopped here says what it did not finish.
fn stop_before(deadline_ms: u64) -> tokio::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    let margin = (left / 5).clamp(Duration::from_secs(5), Duration::from_secs(60));
    tokio::time::Instant::now() + left.saturating_sub(margin)
}

/// One invocation: the result as the response, or an error the Runtime API records.
async fn invoke(handler: &Handler, event: LambdaEvent<Value>) -> Result<Response, Diagnostic> {
    let request_id = event.context.request_id.clone();
    let interrupt = Interrupt::at(stop_before(event.context.deadline));
    match handler.handle(&event.payload, &interrupt).await {
        // Undelivered notifications were logged as ERROR lines and counted in the metric line.
        Outcome::Handled(result) | Outcome::Undelivered { result, .. } => Ok(result),
        Outcome::Failed {
            result,
            code,
            message,
        } => {
            let result = serde_json::to_string(&result).unwrap_or_default();
            // The log is read as text: AWS's words through the control-character rule.
            tracing::error!(request_id, result, "{}", printable(&message));
            Err(Diagnostic {
                error_type: code,
                error_message: message,
            })
        }
        Outcome::Invalid(invalid) => {
            let text = invalid.to_string();
            tracing::error!(request_id, field = invalid.field, "{}", printable(&text));
            Err(Diagnostic {
                error_type: "InvalidEvent".into(),
                error_message: invalid.message,
            })
        }
        Outcome::Fatal(error) => {
            tracing::error!(request_id, "{}", printable(&format!("{error:#}")));
            Err(Diagnostic {
                error_type: "Fatal".into(),
                error_message: format!("{error:#}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn bootstrap_with_no_arguments_runs_lambda_with_the_seed_variables() {
        let vars = env(&[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("EXPIRY_DAYS", "30"),
            ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:old"),
            (
                "CERTAUDIT_SNS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:new",
            ),
        ]);
        let args = arguments(vec!["/var/task/bootstrap".into()], vars);
        assert_eq!(
            args,
            ["/var/task/bootstrap", "lambda", "--expiring-days=30"]
        );
    }

    #[test]
    fn other_commands_are_left_alone() {
        let vars = env(&[("AWS_LAMBDA_RUNTIME_API", "x"), ("EXPIRY_DAYS", "30")]);
        let args = arguments(vec!["certaudit".into(), "scan".into()], vars);
        assert_eq!(args, ["certaudit", "scan"]);
        let none = env(&[]);
        assert_eq!(arguments(vec!["certaudit".into()], none), ["certaudit"]);
    }
}
