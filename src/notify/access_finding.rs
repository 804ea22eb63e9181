//! The finding for an account certaudit could not enter (AssumeRole denied, its regions not
//! listed, every region failing): "the role broke in one account and nobody noticed" lands
//! where security teams look. Id `certaudit/account/{account_id}`, severity HIGH; archived
//! when a later scan enters the account again.

use std::collections::BTreeSet;

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Recommendation, Remediation, Resource, ResourceDetails, Severity,
    SeverityLabel,
};

use super::finding::{clip, envelope, ImportScope};
use crate::report::{account_label, printable, AccountState, Report};

pub const ID_PREFIX: &str = "certaudit/account/";

pub fn finding_id(account_id: &str) -> String {
    format!("{ID_PREFIX}{account_id}")
}

/// An account the scan could not read, and the AWS error that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub account_id: String,
    pub account_name: Option<String>,
    pub code: String,
    pub message: String,
}

/// The accounts the scan could not enter, or whose every region failed.
pub fn unreachable(report: &Report) -> Vec<Unreachable> {
    let mut found = Vec::new();
    for account in &report.accounts {
        // IAM's and Private CA's listings are sources of their own: a role deployed before
        // certaudit read them is denied those calls and still audits the account's ACM.
        let errors: Vec<_> = report
            .errors
            .iter()
            .filter(|e| e.account_id.as_deref() == Some(account.account_id.as_str()))
            .filter(|e| !e.stage.is_other_source())
            .collect();
        let entered = errors.iter().all(|e| e.region.is_some());
        let every_region_failed = !account.regions.is_empty()
            && account.regions.iter().all(|r| {
                errors
                    .iter()
                    .any(|e| e.region.as_deref() == Some(r.as_str()))
            });
        let failed = account.state == AccountState::Failed || !entered || every_region_failed;
        let Some(error) = errors.first().filter(|_| failed) else {
            continue;
        };
        found.push(Unreachable {
            account_id: account.account_id.clone(),
            account_name: account.account_name.clone(),
            code: error.code.clone(),
            message: error.message.clone(),
        });
    }
    found
}

/// The accounts this scan read (entered, some region listed without error).
pub fn reachable(report: &Report) -> BTreeSet<String> {
    let failed: BTreeSet<String> = unreachable(report)
        .into_iter()
        .map(|u| u.account_id)
        .collect();
    report
        .accounts
        .iter()
        .filter(|a| a.state == AccountState::Scanned && !failed.contains(&a.account_id))
        .map(|a| a.account_id.clone())
        .collect()
}

/// The ASFF finding for an account that could not be read.
pub fn finding(
    account: &Unreachable,
    scope: &ImportScope,
    created_at: Option<&str>,
) -> AwsSecurityFinding {
    let label = account_label(&account.account_id, account.account_name.as_deref());
    // The account's name and AWS's message are shown as text: the control-character rule.
    let title = format!("certaudit cannot audit account {label}: {}", account.code);
    let title = clip(printable(&title).into_owned(), 256);
    let description = format!(
        "Its ACM certificates are not being audited: nobody is told when they expire. {}: {}",
        account.code, account.message
    );
    let description = clip(printable(&description).into_owned(), 1024);
    let recommendation = format!(
        "Run `certaudit doctor --accounts {}` from the hub account; deploy the audit role \
         (stacksets/certaudit-role.yaml, the certaudit-role StackSet) to this account with the \
         hub's ExternalId",
        account.account_id
    );
    let mut details = ResourceDetails::builder().other("AccountId", account.account_id.clone());
    if let Some(name) = &account.account_name {
        details = details.other("AccountName", name.clone());
    }
    let resource = Resource::builder()
        .r#type("AwsAccountId")
        .id(format!("AWS::::Account:{}", account.account_id))
        .details(details.build())
        .build();
    envelope(finding_id(&account.account_id), scope, created_at)
        .severity(Severity::builder().label(SeverityLabel::High).build())
        .title(title)
        .description(description)
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(clip(recommendation, 512))
                        .build(),
                )
                .build(),
        )
        .resources(resource)
        .product_fields("certaudit/AccountId", account.account_id.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AccountOutcome, ScanError, Stage};

    fn account(id: &str, state: AccountState, regions: &[&str]) -> AccountOutcome {
        AccountOutcome {
            account_id: id.into(),
            account_name: Some(format!("name-{id}")),
            state,
            reason: None,
            regions: regions.iter().map(|r| r.to_string()).collect(),
            regions_not_enabled: Vec::new(),
        }
    }

    #[test]
    fn denied_accounts_and_accounts_whose_every_region_failed_are_unreachable() {
        let mut report = Report::new(chrono::Utc::now(), 45, "123456789012");
        report.accounts = vec![
            account("111111111111", AccountState::Failed, &[]),
            account(
                "222222222222",
                AccountState::Scanned,
                &["us-east-1", "eu-west-1"],
            ),
            account(
                "333333333333",
                AccountState::Scanned,
                &["us-east-1", "eu-west-1"],
            ),
            account("444444444444", AccountState::Skipped, &[]),
        ];
        let error = |account: &str, region: Option<&str>, stage, code: &str| {
            ScanError::new(stage, Some(account), region, code, format!("{code} here"))
        };
        report.errors = vec![
            error("111111111111", None, Stage::AssumeRole, "AccessDenied"),
            error(
                "222222222222",
                Some("us-east-1"),
                Stage::ListCertificates,
                "AccessDeniedException",
            ),
            error(
                "222222222222",
                Some("eu-west-1"),
                Stage::ListCertificates,
                "AccessDeniedException",
            ),
            error(
                "333333333333",
                Some("eu-west-1"),
                Stage::ListCertificates,
                "ThrottlingException",
            ),
        ];
        let found: Vec<(String, String)> = unreachable(&report)
            .into_iter()
            .map(|u| (u.account_id, u.code))
            .collect();
        assert_eq!(
            found,
            [
                ("111111111111".into(), "AccessDenied".into()),
                ("222222222222".into(), "AccessDeniedException".into())
            ]
        );
        assert_eq!(
            reachable(&report).into_iter().collect::<Vec<_>>(),
            ["333333333333"],
            "one region failing is not the account failing"
        );
    }
}
