//! The words of `doctor`: the likely fix for a failed check, from the AWS error and what the
//! other accounts' answers say about it.

use super::model::{Check, CheckKind, Verdict};
use crate::regions::UNKNOWN_REGION;
use crate::report::FailureKind;

/// What the other accounts' AssumeRole answers say about one refusal: AWS gives the same
/// AccessDenied for a missing role and a wrong ExternalId, so the pattern is the clue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalContext {
    pub external_id_given: bool,
    /// More than one role tried and none accepted us.
    pub every_role_refused: bool,
}

impl RefusalContext {
    pub(super) fn of(checks: &[Check], external_id_given: bool) -> Self {
        let tried: Vec<&Check> = checks
            .iter()
            .filter(|c| c.check == CheckKind::AssumeRole)
            .collect();
        RefusalContext {
            external_id_given,
            every_role_refused: tried.len() > 1
                && tried.iter().all(|c| c.result == Verdict::Failed),
        }
    }
}

const DEPLOY_ROLE: &str = "deploy stacksets/certaudit-role.yaml to it as a service-managed \
StackSet covering its OU (the management account needs a plain stack; see the README's \
\"Giving certaudit access\")";
const UPDATE_PERMISSIONS: &str = "update the role's permissions from \
iam/member-permissions-policy.json (update the StackSet so every account gets it)";

/// The likely fix for one failed check, from the kind of AWS error, its code and message.
pub fn likely_fix(check: CheckKind, code: &str, message: &str, context: &RefusalContext) -> String {
    if code == UNKNOWN_REGION {
        return "fix the name in --regions (aws ec2 describe-regions --all-regions lists them)"
            .into();
    }
    // STS answers this when its endpoint is deactivated in the caller's region.
    if code == "RegionDisabledException" {
        return "STS is deactivated in the caller's region: activate it in IAM account settings, \
                or pass --region with an active one"
            .into();
    }
    if message.contains("service control policy") {
        return "a service control policy denies this call: ask the organization's \
                administrators to exempt the certaudit role from it"
            .into();
    }
    match (check, FailureKind::of(code)) {
        (CheckKind::AssumeRole, FailureKind::AccessDenied) => assume_role_refused(context),
        (CheckKind::ListCertificates, FailureKind::Credentials) => {
            "the region rejects the role's credentials: if the account enabled this region \
              recently, wait a few minutes; else scan without it (--regions)"
                .into()
        }
        (_, FailureKind::Credentials | FailureKind::NoCredentials) => {
            "the caller's credentials are missing, invalid or expired: refresh them (--profile, \
             AWS_PROFILE, or the AWS_* environment variables)"
                .into()
        }
        (CheckKind::DescribeRegions, FailureKind::AccessDenied) => {
            format!("the role may not call ec2:DescribeRegions: {UPDATE_PERMISSIONS}")
        }
        (CheckKind::ListCertificates, FailureKind::AccessDenied) => {
            format!("the role may not call acm:ListCertificates: {UPDATE_PERMISSIONS}")
        }
        // A role deployed before certaudit read IAM and Private CA: the rest still scans.
        (CheckKind::ListServerCertificates, FailureKind::AccessDenied) => format!(
            "the role may not call iam:ListServerCertificates (a role deployed before certaudit \
             read IAM server certificates): {UPDATE_PERMISSIONS}; until then, scan with \
             --sources acm,pca"
        ),
        (CheckKind::ListCertificateAuthorities, FailureKind::AccessDenied) => format!(
            "the role may not call acm-pca:ListCertificateAuthorities (a role deployed before \
             certaudit read Private CAs): {UPDATE_PERMISSIONS}; until then, scan with \
             --sources acm,iam"
        ),
        (_, FailureKind::Throttled) => {
            "throttled past every retry: something else is using this account's quota; try \
             again later"
                .into()
        }
        (_, FailureKind::Unreachable) => {
            "the endpoint did not answer: check network access to AWS (proxy, VPC endpoints, \
             AWS_ENDPOINT_URL)"
                .into()
        }
        _ => "see the AWS error message".into(),
    }
}

/// Why an AssumeRole was refused, from what the caller gave and whether every account refused.
fn assume_role_refused(context: &RefusalContext) -> String {
    if !context.external_id_given {
        "no ExternalId was given: set CERTAUDIT_EXTERNAL_ID (or --external-id, or \
         --external-id-parameter for one kept in SSM) to the ExternalId the StackSet was \
         deployed with"
            .into()
    } else if context.every_role_refused {
        // The role trusts named roles of the hub account, not the account: a person's
        // role outside OperatorRoleNamePattern is refused like a wrong ExternalId.
        "no account accepted the role: check that CERTAUDIT_EXTERNAL_ID matches the \
         StackSet's ExternalId parameter, that --role-name matches its RoleName, that \
         the StackSet trusts the caller's role (HubFunctionRoleName for the hub's \
         function, OperatorRoleNamePattern for people running the CLI), and that the \
         caller may sts:AssumeRole it (iam/hub-policy.json)"
            .into()
    } else {
        format!(
            "the role is missing here or no longer trusts this caller: {DEPLOY_ROLE}; if \
             the role exists, check that its trust policy's sts:ExternalId matches \
             CERTAUDIT_EXTERNAL_ID and its aws:PrincipalArn condition names the caller's \
             role"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOME_REFUSED: RefusalContext = RefusalContext {
        external_id_given: true,
        every_role_refused: false,
    };

    #[test]
    fn one_refused_role_points_at_the_stackset_and_the_external_id() {
        let fix = likely_fix(CheckKind::AssumeRole, "AccessDenied", "", &SOME_REFUSED);
        assert!(fix.contains("StackSet"), "{fix}");
        assert!(fix.contains("CERTAUDIT_EXTERNAL_ID"), "{fix}");
    }

    #[test]
    fn every_role_refused_points_at_the_external_id_first() {
        let all = RefusalContext {
            every_role_refused: true,
            ..SOME_REFUSED
        };
        let fix = likely_fix(CheckKind::AssumeRole, "AccessDenied", "", &all);
        assert!(fix.starts_with("no account accepted the role"), "{fix}");
        assert!(fix.contains("OperatorRoleNamePattern"), "{fix}");
        let none = RefusalContext {
            external_id_given: false,
            ..all
        };
        let fix = likely_fix(CheckKind::AssumeRole, "AccessDenied", "", &none);
        assert!(fix.starts_with("no ExternalId was given"), "{fix}");
    }

    #[test]
    fn missing_permissions_and_scps_are_told_apart() {
        let fix = likely_fix(
            CheckKind::ListCertificates,
            "AccessDeniedException",
            "not authorized to perform: acm:ListCertificates",
            &SOME_REFUSED,
        );
        assert!(fix.contains("iam/member-permissions-policy.json"), "{fix}");
        let fix = likely_fix(
            CheckKind::ListCertificates,
            "AccessDeniedException",
            "with an explicit deny in a service control policy",
            &SOME_REFUSED,
        );
        assert!(fix.starts_with("a service control policy"), "{fix}");
    }
}
