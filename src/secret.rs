//! Secrets the process holds (the ExternalId): a value whose `Debug` never shows it (at trace
//! level the SDK logs our credentials provider whole), and the list of every secret made,
//! which the log writer scrubs from every line, as it is and as the AWS query protocol encodes
//! it: a path no type of ours controls (an SDK's trace of a request, an error that quotes the
//! value) must not leak it either.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

const REDACTED: &str = "<redacted>";

/// Every form of every secret made, longest first: each value as it is and as the AWS query
/// protocol percent-encodes it.
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// A secret value. `Debug` says `<redacted>`; only `expose` gives the value, for the one call
/// that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// The value, kept from now on out of every log line.
    pub fn new(value: &str) -> Secret {
        remember(value);
        Secret(Arc::from(value))
    }

    /// For clap: reading a secret never fails here, so clap never echoes it in an error; the
    /// value is checked later, by a rule that does not show it.
    pub fn parse(value: &str) -> Result<Secret, String> {
        Ok(Secret::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

fn remember(value: &str) {
    if value.is_empty() {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for form in [value.to_string(), query_encoded(value)] {
        if !known.contains(&form) {
            known.push(form);
        }
    }
    // Longest first: a secret that contains another is scrubbed whole.
    known.sort_by_key(|form| std::cmp::Reverse(form.len()));
}

/// As the AWS query protocol writes a value into a request body: every byte but
/// `A-Z a-z 0-9 - . _ ~` as `%XX`.
fn query_encoded(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `text` with every known secret replaced by `<redacted>`.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|form| text.contains(form.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut clean = text.to_string();
    for form in known.iter() {
        clean = clean.replace(form.as_str(), REDACTED);
    }
    Cow::Owned(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_and_is_scrubbed_from_text_in_either_form() {
        let secret = Secret::new("unit+test=secret,42@a:b/c");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(
            format!("{:?}", Some(secret.clone())),
            "Some(Secret(<redacted>))"
        );
        assert_eq!(secret.expose(), "unit+test=secret,42@a:b/c");
        let line =
            "ExternalId=unit%2Btest%3Dsecret%2C42%40a%3Ab%2Fc&x=1 raw unit+test=secret,42@a:b/c";
        assert_eq!(scrub(line), "ExternalId=<redacted>&x=1 raw <redacted>");
        assert!(matches!(scrub("nothing secret here"), Cow::Borrowed(_)));
    }
}
