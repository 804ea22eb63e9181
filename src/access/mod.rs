//! How we get into an account: the caller's own credentials for its own account, AssumeRole
//! with ExternalId into every other. Each account gets its own credential cache and each
//! account-region its own retry partition, so hundreds of accounts neither re-assume the role
//! on every call nor spend one shared retry budget and sending rate.

mod assumed_role;
pub mod aws_error;
mod external_id;

use anyhow::{anyhow, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_acm::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_acm::config::timeout::TimeoutConfig;
use aws_sdk_acm::config::IdentityCache;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;

pub use assumed_role::AssumedRole;
use aws_error::AwsFailure;

use crate::plan::Targets;
use crate::report::FailureKind;

/// Region used for the caller's own calls when none is configured.
const FALLBACK_REGION: &str = "us-east-1";
/// Attempts per call, first included; throttling is retried with exponential backoff.
const MAX_ATTEMPTS: u32 = 8;
/// Attempts at GetCallerIdentity, the first call of every run.
const IDENTIFY_ATTEMPTS: u32 = 3;
/// Opening a connection; a refused or black-holed endpoint fails fast and is retried.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the caller could not be identified, and what to do: no credentials, a network that does
/// not reach AWS, or credentials AWS refuses are three different fixes.
/// `profile` is how the caller named a profile, `--profile NAME` or `AWS_PROFILE=NAME`, and the
/// name.
fn unidentified(failure: &AwsFailure, profile: Option<(&str, &str)>) -> anyhow::Error {
    // The SDK words a profile it cannot load in ways that need not name it ("the credential
    // provider was not enabled" when no profile file exists at all): say which, and where.
    let unloadable =
        failure.kind() == FailureKind::NoCredentials || failure.message.contains("profile");
    if let Some((named, profile)) = profile.filter(|_| unloadable) {
        return anyhow!(
            "cannot use {named}: its credentials could not be loaded ({}). {}",
            failure.message,
            profile_fix(profile, &ProfileFiles::from_env())
        );
    }
    let fix = match failure.kind() {
        FailureKind::NoCredentials => {
            "No AWS credentials were found: pass --profile (or set AWS_PROFILE), set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them"
        }
        FailureKind::Unreachable => {
            "AWS could not be reached: check network access, proxy settings (HTTPS_PROXY), \
             VPC endpoints, and AWS_ENDPOINT_URL if set"
        }
        _ => {
            "AWS refused the credentials: check that they are current (--profile, AWS_PROFILE, \
             AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)"
        }
    };
    anyhow!("cannot tell who the caller is: sts:GetCallerIdentity failed ({failure}). {fix}")
}

/// Where the SDK reads named profiles from, as this process's environment says.
struct ProfileFiles {
    config: Option<std::path::PathBuf>,
    credentials: Option<std::path::PathBuf>,
}

impl ProfileFiles {
    fn from_env() -> ProfileFiles {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let home = || var("HOME").map(std::path::PathBuf::from);
        // As the SDK reads them: a leading `~/` is the home directory.
        let expand = |value: std::ffi::OsString| match value.to_str() {
            Some(path) if path.starts_with("~/") => home().map(|h| h.join(&path[2..])),
            _ => Some(std::path::PathBuf::from(value)),
        };
        let at = |variable, default: &str| match var(variable) {
            Some(value) => expand(value),
            None => Some(home()?.join(".aws").join(default)),
        };
        ProfileFiles {
            config: at("AWS_CONFIG_FILE", "config"),
            credentials: at("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        }
    }
}

/// What to do about a named profile that could not be loaded: create it when no profile file
/// exists, else check its name among the files'.
fn profile_fix(profile: &str, files: &ProfileFiles) -> String {
    let shown = |path: &Option<std::path::PathBuf>, variable: &str| match path {
        Some(path) => path.display().to_string(),
        None => format!("{variable} (not set, and no HOME)"),
    };
    let config = shown(&files.config, "AWS_CONFIG_FILE");
    let credentials = shown(&files.credentials, "AWS_SHARED_CREDENTIALS_FILE");
    let exists = |path: &Option<std::path::PathBuf>| path.as_ref().is_some_and(|p| p.is_file());
    if !exists(&files.config) && !exists(&files.credentials) {
        format!(
            "No profile file exists ({config} and {credentials} are both missing): create the \
             profile with `aws configure --profile {profile}` (or `aws configure sso`), or point \
             AWS_CONFIG_FILE at the file that defines it"
        )
    } else {
        format!(
            "Check the name with `aws configure list-profiles` (profiles come from {config} and \
             {credentials}, set by AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE)"
        )
    }
}

/// Who runs the scan.
#[derive(Clone)]
pub struct Caller {
    pub account_id: String,
    /// `aws`, `aws-cn` or `aws-us-gov`, from the caller's ARN: role ARNs are built with it.
    pub partition: String,
    pub config: SdkConfig,
    /// What AssumeRole sends: `--external-id`, or the value of `--external-id-parameter`.
    pub external_id: Option<crate::secret::Secret>,
}

/// Without the ExternalId: it is a secret.
impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("account_id", &self.account_id)
            .field("partition", &self.partition)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// Load the caller's credentials, ask STS who they are, and read the ExternalId from SSM
    /// when it is kept there.
    pub async fn identify(targets: &Targets) -> Result<Caller> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(shared_http_client())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(targets.timeout)
                    .connect_timeout(CONNECT_TIMEOUT.min(targets.timeout))
                    .build(),
            );
        if let Some(profile) = &targets.profile {
            // An explicit profile wins over keys in the environment, as with the AWS CLI: the
            // default chain would take AWS_ACCESS_KEY_ID first and audit another organization.
            let credentials = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build();
            loader = loader
                .profile_name(profile)
                .credentials_provider(credentials);
        }
        if let Some(region) = &targets.region {
            loader = loader.region(Region::new(region.clone()));
        }
        // The profile asked for, as the caller named it, for the message if it cannot be used.
        let profile = match &targets.profile {
            Some(name) => Some((format!("--profile {name}"), name.clone())),
            None => std::env::var("AWS_PROFILE")
                .ok()
                .filter(|name| !name.is_empty())
                .map(|name| (format!("AWS_PROFILE={name}"), name)),
        };
        let mut config = loader.load().await;
        if config.region().is_none() {
            config = config
                .into_builder()
                .region(Region::new(FALLBACK_REGION))
                .build();
        }
        // Fewer attempts than the scan's calls: nothing can start without this answer, and a
        // network that does not reach AWS should say so in seconds, not half a minute.
        let identify_retries = aws_sdk_sts::config::Builder::default()
            .retry_config(RetryConfig::standard().with_max_attempts(IDENTIFY_ATTEMPTS));
        let identity = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .customize()
            .config_override(identify_retries)
            .send()
            .await
            .map_err(|e| {
                let failure = AwsFailure::from_sdk(&e);
                unidentified(
                    &failure,
                    profile.as_ref().map(|(n, p)| (n.as_str(), p.as_str())),
                )
            })?;
        let account_id = identity.account().unwrap_or_default().to_string();
        let partition = identity
            .arn()
            .and_then(|arn| arn.split(':').nth(1))
            .unwrap_or("aws")
            .to_string();
        let external_id = match (&targets.external_id, &targets.external_id_parameter) {
            (_, Some(name)) => Some(external_id::from_parameter(&config, name).await?),
            (given, None) => given.clone(),
        };
        Ok(Caller {
            account_id,
            partition,
            config,
            external_id,
        })
    }

    pub fn role_arn(&self, account_id: &str, role_name: &str) -> String {
        format!("arn:{}:iam::{account_id}:role/{role_name}", self.partition)
    }

    /// Credentials for one account: the caller's own for its own account, else the assumed
    /// role, tried once now so a missing role or wrong ExternalId is reported at this stage.
    pub async fn open_account(
        &self,
        account_id: &str,
        targets: &Targets,
    ) -> Result<AccountAccess, AwsFailure> {
        if account_id == self.account_id {
            return Ok(AccountAccess::new(account_id, self.config.clone()));
        }
        let role = AssumedRole::new(
            aws_sdk_sts::Client::new(&self.config),
            self.role_arn(account_id, &targets.role_name),
            self.external_id.clone(),
        );
        role.prime().await?;
        let config = self
            .config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(role))
            .identity_cache(IdentityCache::lazy().build())
            .build();
        Ok(AccountAccess::new(account_id, config))
    }
}

/// One HTTPS client (one TLS configuration, one connection pool) for every service client of
/// the scan. Left to the SDK, each of the thousands of per-account-region clients would build
/// its own, root certificates included: hundreds of kilobytes each. Same stack as the SDK's
/// default: hyper 1, rustls with aws-lc, proxy settings from the environment.
fn shared_http_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    use aws_smithy_http_client::{proxy::ProxyConfig, Builder, ConnectorBuilder};
    let client = Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    SharedHttpClient::new(ValidatedOnce {
        inner: client,
        validated: AtomicBool::new(false),
    })
}

/// The shared client, validated once. The SDK's hyper client "validates" itself for every
/// service client made from it by building a whole TLS connector (Mozilla's roots parsed) and
/// dropping it; certaudit makes a client per account-region and per listed page, so that was
/// ~7 % of a wide scan's CPU. A validation that fails is tried again by the next client.
#[derive(Debug)]
struct ValidatedOnce {
    inner: SharedHttpClient,
    validated: AtomicBool,
}

impl HttpClient for ValidatedOnce {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        if self.validated.load(Ordering::Acquire) {
            return Ok(());
        }
        self.inner.validate_base_client_config(components, cfg)?;
        self.validated.store(true, Ordering::Release);
        Ok(())
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

/// An open door into one account.
#[derive(Debug, Clone)]
pub struct AccountAccess {
    pub account_id: String,
    pub config: SdkConfig,
    /// One retry partition per region, shared by every ACM client of that account-region.
    partitions: Arc<Mutex<HashMap<String, RetryPartition>>>,
}

impl AccountAccess {
    pub(crate) fn new(account_id: &str, config: SdkConfig) -> Self {
        AccountAccess {
            account_id: account_id.to_string(),
            config,
            partitions: Arc::default(),
        }
    }

    /// This account-region's retry partition. Adaptive retry keeps a sending rate per
    /// partition that drops when ACM throttles and recovers slowly, so a `--rate` above the
    /// quota (or a quota other tools share) slows the calls down instead of failing them; the
    /// retry budget is unlimited because that rate, not a budget, is what holds retries back.
    fn partition(&self, region: &str) -> RetryPartition {
        let mut partitions = self.partitions.lock().expect("partitions lock");
        partitions
            .entry(region.to_string())
            .or_insert_with(|| {
                RetryPartition::custom(format!("acm-{}-{region}", self.account_id))
                    .token_bucket(TokenBucket::unlimited())
                    .build()
            })
            .clone()
    }

    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.config)
    }

    /// An IAM client: IAM is global, one endpoint per partition.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        let config = aws_sdk_iam::config::Builder::from(&self.config)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    /// An ACM Private CA client for one region.
    pub fn acm_pca(&self, region: &str) -> aws_sdk_acmpca::Client {
        let config = aws_sdk_acmpca::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .build();
        aws_sdk_acmpca::Client::from_conf(config)
    }

    /// An ACM client for one region, with adaptive retry in its own retry partition.
    pub fn acm(&self, region: &str) -> aws_sdk_acm::Client {
        let config = aws_sdk_acm::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS))
            .retry_partition(self.partition(region))
            .build();
        aws_sdk_acm::Client::from_conf(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_profile_file() -> AwsFailure {
        AwsFailure::new("credentials", "the credential provider was not enabled")
    }

    #[test]
    fn a_profile_that_cannot_be_loaded_is_named_with_its_fix_even_without_a_profile_file() {
        let nowhere = tempfile::tempdir().unwrap();
        let files = ProfileFiles {
            config: Some(nowhere.path().join("config")),
            credentials: Some(nowhere.path().join("credentials")),
        };
        let fix = profile_fix("nope", &files);
        assert!(fix.contains("aws configure --profile nope"), "{fix}");
        assert!(fix.contains("both missing"), "{fix}");
        let message = unidentified(&no_profile_file(), Some(("--profile nope", "nope")));
        assert!(message.to_string().contains("--profile nope"), "{message}");

        std::fs::write(nowhere.path().join("config"), "[profile other]\n").unwrap();
        let fix = profile_fix("nope", &files);
        assert!(fix.contains("aws configure list-profiles"), "{fix}");
    }

    #[test]
    fn credentials_aws_refuses_are_not_blamed_on_the_profile() {
        let refused = AwsFailure::new("InvalidClientTokenId", "The security token is invalid");
        let message = unidentified(&refused, Some(("--profile audit", "audit"))).to_string();
        assert!(message.contains("AWS refused the credentials"), "{message}");
    }
}
