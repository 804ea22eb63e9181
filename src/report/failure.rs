//! What kind of failure an AWS error code is, decided in one place: callers branch on the kind
//! (is this access? credentials? the network?), never on the spelling of a code, which differs
//! by service (`AccessDenied`, `AccessDeniedException`, `UnauthorizedOperation`, …).

/// The kinds of failure callers act on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A role or policy (IAM, an SCP, a trust policy) refused the call.
    AccessDenied,
    /// No credentials could be loaded at all (certaudit's own code `credentials`).
    NoCredentials,
    /// Credentials AWS refuses: invalid or expired.
    Credentials,
    /// AWS did not answer: the network, a proxy, a timeout.
    Unreachable,
    /// Throttled past every retry.
    Throttled,
    /// The thing asked about does not exist (a certificate, an OU, the organization, a
    /// Security Hub that is not enabled).
    NotFound,
    Other,
}

impl FailureKind {
    /// The kind of an AWS error code, or of one of certaudit's own short words (`credentials`,
    /// `dispatch`, `timeout`).
    pub fn of(code: &str) -> FailureKind {
        match code {
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "AuthorizationError"
            | "AuthorizationErrorException" => FailureKind::AccessDenied,
            "credentials" => FailureKind::NoCredentials,
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "AuthFailure" => FailureKind::Credentials,
            "dispatch" | "timeout" => FailureKind::Unreachable,
            "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "RequestLimitExceeded" => FailureKind::Throttled,
            // Security Hub answers InvalidAccessException when it is not enabled in the region.
            "ResourceNotFoundException"
            | "ParentNotFoundException"
            | "NotFoundException"
            | "AWSOrganizationsNotInUseException"
            | "InvalidAccessException" => FailureKind::NotFound,
            _ => FailureKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FailureKind;

    #[test]
    fn every_services_spelling_of_a_refusal_is_access_denied() {
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
        ] {
            assert_eq!(FailureKind::of(code), FailureKind::AccessDenied, "{code}");
        }
        assert_eq!(FailureKind::of("ExpiredToken"), FailureKind::Credentials);
        assert_eq!(FailureKind::of("timeout"), FailureKind::Unreachable);
        assert_eq!(
            FailureKind::of("ThrottlingException"),
            FailureKind::Throttled
        );
        assert_eq!(
            FailureKind::of("ParentNotFoundException"),
            FailureKind::NotFound
        );
        assert_eq!(FailureKind::of("InternalFailure"), FailureKind::Other);
    }
}
