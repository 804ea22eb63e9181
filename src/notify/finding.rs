//! The ASFF envelope every certaudit finding shares (a certificate's, an account's): its
//! product, generator, type and record state, and the clipping of ASFF's bounded text fields.
//! Both kinds of finding build on it; it imports neither.

use aws_sdk_securityhub::types::{AwsSecurityFinding, RecordState};

pub const GENERATOR_ID: &str = "certaudit";
const FINDING_TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";

/// What every finding of one import shares.
pub struct ImportScope<'a> {
    pub caller: &'a str,
    pub partition: &'a str,
    pub hub_region: &'a str,
    /// RFC 3339, the time of this import.
    pub now: String,
}

impl ImportScope<'_> {
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.hub_region, self.caller, self.caller
        )
    }
}

/// `text` cut to `max` characters, the cut marked with an ellipsis.
pub(super) fn clip(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut clipped: String = text.chars().take(max - 1).collect();
    clipped.push('…');
    clipped
}

/// What every certaudit finding has: ASFF's envelope for the caller's default product,
/// ACTIVE, created at `created_at` (an existing finding's) or now.
pub fn envelope(
    id: String,
    scope: &ImportScope,
    created_at: Option<&str>,
) -> aws_sdk_securityhub::types::builders::AwsSecurityFindingBuilder {
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(scope.product_arn())
        .generator_id(GENERATOR_ID)
        .aws_account_id(scope.caller)
        .types(FINDING_TYPE)
        .created_at(created_at.unwrap_or(&scope.now))
        .updated_at(scope.now.clone())
        .record_state(RecordState::Active)
}
