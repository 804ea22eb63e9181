//! Credentials from AssumeRole into one member account, with ExternalId and the `certaudit`
//! session name. The account's own lazy identity cache (see `Caller::open_account`) calls this
//! again before the credentials expire, so a scan longer than the session does not fail.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{self, error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;

use super::aws_error::AwsFailure;
use crate::secret::Secret;

const SESSION_NAME: &str = "certaudit";
const SESSION_SECONDS: i32 = 3600;
/// Primed credentials are handed out only while they have at least this long left.
const MIN_REMAINING: Duration = Duration::from_secs(300);

pub struct AssumedRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    /// Redacted in Debug: this type is what an SDK trace of the credentials provider shows.
    external_id: Option<Secret>,
    /// The credentials of the first, probing AssumeRole, so the cache's first load does not
    /// assume the role a second time.
    primed: Mutex<Option<Credentials>>,
}

/// The SDK logs its credential providers with `{:?}` at trace level: the ExternalId is a
/// secret, so it is never printed (nor the primed credentials, which are not needed there).
impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedRole")
            .field("role_arn", &self.role_arn)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl AssumedRole {
    pub fn new(sts: aws_sdk_sts::Client, role_arn: String, external_id: Option<Secret>) -> Self {
        AssumedRole {
            sts,
            role_arn,
            external_id,
            primed: Mutex::new(None),
        }
    }

    /// Assume the role now: a missing role or a wrong ExternalId shows here, as an error of
    /// this account's `assume_role` stage.
    pub async fn prime(&self) -> Result<(), AwsFailure> {
        let credentials = self.assume().await?;
        *self.primed.lock().expect("primed lock") = Some(credentials);
        Ok(())
    }

    async fn assume(&self) -> Result<Credentials, AwsFailure> {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .set_external_id(self.external_id.as_ref().map(|s| s.expose().to_string()))
            .duration_seconds(SESSION_SECONDS)
            .send()
            .await
            .map_err(|e| AwsFailure::from_sdk(&e))?;
        let c = out.credentials().ok_or_else(|| {
            AwsFailure::new("no-credentials", "AssumeRole returned no credentials")
        })?;
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            expiry,
            "certaudit-assume-role",
        ))
    }

    async fn load(&self) -> provider::Result {
        let primed = self.primed.lock().expect("primed lock").take();
        if let Some(credentials) = primed {
            let fresh = credentials
                .expiry()
                .and_then(|e| e.duration_since(SystemTime::now()).ok())
                .is_none_or(|left| left > MIN_REMAINING);
            if fresh {
                return Ok(credentials);
            }
        }
        self.assume()
            .await
            .map_err(CredentialsError::provider_error)
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.load())
    }
}
