//! Bad input gets a clear error naming the problem, before any AWS call.

use assert_cmd::Command;

fn scan(args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::cargo_bin("certaudit").unwrap();
    cmd.env_clear().arg("scan").args(args);
    exit_and_stderr(&mut cmd)
}

fn exit_and_stderr(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn malformed_account_id_is_a_usage_error_naming_the_flag() {
    let (code, stderr) = scan(&["--accounts", "12345"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--accounts") && stderr.contains("12 digits"),
        "{stderr}"
    );
}

#[test]
fn external_id_outside_the_sts_rules_is_rejected() {
    let (code, stderr) = scan(&["--external-id", "has spaces"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("external ID"), "{stderr}");
}

#[test]
fn unknown_output_format_lists_the_choices() {
    let (code, stderr) = scan(&["-o", "yaml"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("table") && stderr.contains("ndjson"),
        "{stderr}"
    );
}

#[test]
fn missing_accounts_file_names_the_file() {
    let (code, stderr) = scan(&["--accounts-file", "/nonexistent/accounts.txt"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("/nonexistent/accounts.txt"), "{stderr}");
}

#[test]
fn accounts_and_ou_cannot_be_combined() {
    let (code, stderr) = scan(&["--accounts", "111111111111", "--ou", "ou-ab12-cdef3456"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--ou"), "{stderr}");
}

#[test]
fn zero_rate_or_concurrency_is_refused_in_words() {
    for flag in ["--rate", "--max-accounts"] {
        let (code, stderr) = scan(&[flag, "0"]);
        assert_eq!(code, Some(2), "{flag}");
        assert!(
            stderr.contains(flag) && stderr.contains("must be 1 or more"),
            "{stderr}"
        );
    }
}

/// `certaudit scan` with only these environment variables (and an empty AWS config).
fn scan_with_env(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("aws-config");
    std::fs::write(&config, "").unwrap();
    let mut cmd = Command::cargo_bin("certaudit").unwrap();
    cmd.env_clear()
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &config)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .envs(env.iter().copied())
        .args(["scan", "--accounts", "111111111111"]);
    exit_and_stderr(&mut cmd)
}

#[test]
fn no_credentials_is_fatal_and_says_where_credentials_come_from() {
    // Loopback port 1: were a request sent, it would be refused, not reach AWS.
    let (code, stderr) = scan_with_env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("No AWS credentials were found") && stderr.contains("--profile"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("DispatchFailure {"),
        "no Debug dump: {stderr}"
    );
}

#[test]
fn an_unreachable_aws_is_fatal_and_says_it_is_the_network() {
    let (code, stderr) = scan_with_env(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("Connection refused") && stderr.contains("AWS could not be reached"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("credentials:") && !stderr.contains("ConnectorError {"),
        "the network, not the credentials, and no Debug dump: {stderr}"
    );
}
