//! One shape for every AWS failure: the AWS error code when there is one, else a short
//! kebab-case word (`timeout`, `dispatch`), and a message a person can act on.

use aws_sdk_acm::error::{ProvideErrorMetadata, SdkError};

use crate::report::{FailureKind, ScanError, Stage};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFailure {
    pub code: String,
    pub message: String,
}

impl AwsFailure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        AwsFailure {
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn kind(&self) -> FailureKind {
        FailureKind::of(&self.code)
    }

    /// This failure as the report records it, where it happened.
    pub fn at(self, stage: Stage, account_id: Option<&str>, region: Option<&str>) -> ScanError {
        ScanError::new(stage, account_id, region, self.code, self.message)
    }

    pub fn from_sdk<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let context = causes(err);
        let code = match err {
            SdkError::ServiceError(_) => err.code().unwrap_or("unknown").to_string(),
            SdkError::TimeoutError(_) => "timeout".into(),
            SdkError::DispatchFailure(d) if d.is_timeout() => "timeout".into(),
            // Credentials that could not be loaded or refreshed fail at dispatch too.
            SdkError::DispatchFailure(d) if !d.is_io() && context.contains("credential") => {
                credentials_code(&context)
            }
            SdkError::DispatchFailure(_) => "dispatch".into(),
            SdkError::ResponseError(_) => "response".into(),
            SdkError::ConstructionFailure(_) => credentials_code(&context),
            _ => "unknown".into(),
        };
        let message = match err {
            SdkError::ServiceError(_) => err.message().map(str::to_string).unwrap_or(context),
            _ => context,
        };
        AwsFailure { code, message }
    }
}

/// The error and its sources, each as it displays itself, joined: "dispatch failure: io error:
/// … Connection refused (os error 111)". (The SDK's DisplayErrorContext appends the whole Debug
/// tree, which nobody can act on.) Multi-line causes are folded onto one line.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// A request that could not be built is, in practice, an account whose credentials could not
/// be refreshed: say so rather than "construction". "credential", not "credentials": a named
/// profile with no profile file at all fails as "the credential provider was not enabled".
fn credentials_code(context: &str) -> String {
    if context.contains("AccessDenied") {
        "AccessDenied".into()
    } else if context.contains("credential") || context.contains("identity") {
        "credentials".into()
    } else {
        "construction".into()
    }
}

impl std::fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
impl std::error::Error for AwsFailure {}
