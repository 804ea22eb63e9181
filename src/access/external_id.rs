//! The ExternalId kept in SSM Parameter Store (`--external-id-parameter`): read once per
//! process, decrypted, so a deployed function holds it in memory only — a variable in its
//! environment is readable by anyone allowed `lambda:GetFunctionConfiguration`.

use anyhow::{anyhow, Result};
use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use super::aws_error::AwsFailure;
use crate::plan::check_external_id;
use crate::report::FailureKind;
use crate::secret::Secret;

/// The parameter's name and value, read at the first use: a warm Lambda's later invocations
/// (each scheduled scan identifies the caller again) do not call SSM again.
static READ: OnceCell<(String, Secret)> = OnceCell::const_new();

/// The ExternalId stored in `name` (a parameter name or ARN), as the caller's credentials read it.
pub async fn from_parameter(config: &SdkConfig, name: &str) -> Result<Secret> {
    let (read_name, value) = READ.get_or_try_init(|| read(config, name)).await?;
    if read_name == name {
        return Ok(value.clone());
    }
    // A process configured with a second name (none is, today) reads that one too.
    read(config, name).await.map(|(_, value)| value)
}

async fn read(config: &SdkConfig, name: &str) -> Result<(String, Secret)> {
    let answer = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| unreadable(name, &AwsFailure::from_sdk(&e)))?;
    // A plain String parameter is readable by anyone allowed ssm:GetParameter*, without the
    // key: the secret would sit where the whole point was not to leave it.
    let kind = answer.parameter().and_then(|p| p.r#type());
    if kind != Some(&aws_sdk_ssm::types::ParameterType::SecureString) {
        return Err(anyhow!(
            "the ExternalId parameter {name} is a {} parameter, not a SecureString: store it \
             with `aws ssm put-parameter --name {name} --type SecureString --overwrite --value \
             EXTERNAL_ID`",
            kind.map_or("typeless", |k| k.as_str())
        ));
    }
    let value = answer
        .parameter()
        .and_then(|p| p.value())
        .ok_or_else(|| anyhow!("the ExternalId parameter {name} has no value in SSM"))?;
    // A secret from here on: kept out of every log line.
    let value = Secret::new(value);
    check_external_id(value.expose())
        .map_err(|why| anyhow!("the ExternalId parameter {name} is not usable: {why}"))?;
    Ok((name.to_string(), value))
}

/// Why the parameter could not be read, and the fix: create it, or grant reading it.
fn unreadable(name: &str, failure: &AwsFailure) -> anyhow::Error {
    let fix = match (failure.code.as_str(), failure.kind()) {
        ("ParameterNotFound", _) => format!(
            "create it with `aws ssm put-parameter --name {name} --type SecureString --value \
             EXTERNAL_ID` in the function's region, or point --external-id-parameter \
             (CERTAUDIT_EXTERNAL_ID_PARAMETER) at the parameter that holds it"
        ),
        (_, FailureKind::AccessDenied) => "grant ssm:GetParameter on this parameter (and \
            kms:Decrypt on its key, when it is not the default aws/ssm key) to the role \
            certaudit runs as"
            .to_string(),
        _ => "check that SSM is reachable from here and retry".to_string(),
    };
    anyhow!(
        "cannot read the ExternalId parameter {name} from SSM Parameter Store ({failure}): {fix}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_parameter_names_it_and_the_put_parameter_fix() {
        let failure = AwsFailure::new("ParameterNotFound", "");
        let text = unreadable("/certaudit/external-id", &failure).to_string();
        assert!(text.contains("/certaudit/external-id"), "{text}");
        assert!(text.contains("put-parameter"), "{text}");
        assert!(text.contains("--type SecureString"), "{text}");
    }

    #[test]
    fn a_denied_read_names_the_permission_to_grant() {
        let failure = AwsFailure::new("AccessDeniedException", "not authorized");
        let text = unreadable("/certaudit/external-id", &failure).to_string();
        assert!(text.contains("ssm:GetParameter"), "{text}");
        assert!(text.contains("kms:Decrypt"), "{text}");
    }
}
