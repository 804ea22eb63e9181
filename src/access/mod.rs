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
use std::sync::{Arc, Mutex};

use aws_sdk_acm::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_acm::config::timeout::TimeoutConfig;
use aws_sdk_acm::config::IdentityCache;

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
fn unidentified(failure: &AwsFailure, profile: Option<&str>) -> anyhow::Error {
    if let Some(profile) = profile.filter(|_| failure.message.contains("profile")) {
        return anyhow!(
            "cannot use --profile {profile}: {}. Check the name with `aws configure \
             list-profiles` (profiles come from AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, \
             by default ~/.aws/config and ~/.aws/credentials)",
            failure.message
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

/// Who runs the scan.
#[derive(Clone)]
pub struct Caller {
    pub account_id: String,
    /// `aws`, `aws-cn` or `aws-us-gov`, from the caller's ARN: role ARNs are built with it.
    pub partition: String,
    pub config: SdkConfig,
    /// What AssumeRole sends: `--external-id`, or the value of `--external-id-parameter`.
    pub external_id: Option<String>,
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
            .map_err(|e| unidentified(&AwsFailure::from_sdk(&e), targets.profile.as_deref()))?;
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
fn shared_http_client() -> aws_sdk_acm::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    use aws_smithy_http_client::{proxy::ProxyConfig, Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
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
