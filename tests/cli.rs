//! Bad input gets a clear error naming the problem, before any AWS call.

mod support;

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
fn external_id_outside_the_sts_rules_is_rejected_without_echoing_it() {
    let (code, stderr) = scan(&["--external-id", "has spaces"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("external ID"), "{stderr}");
    let mut cmd = Command::cargo_bin("certaudit").unwrap();
    cmd.env_clear()
        .env("CERTAUDIT_EXTERNAL_ID", "top$zzqq!")
        .args(["scan"]);
    let (code, stderr) = exit_and_stderr(&mut cmd);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("position 4"),
        "says what is wrong: {stderr}"
    );
    assert!(
        !stderr.contains("zzqq"),
        "the secret is not printed: {stderr}"
    );
}

#[test]
fn a_negative_expiring_days_gets_the_range_message() {
    let (code, stderr) = scan(&["--expiring-days", "-1"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("0..=3650"), "{stderr}");
}

#[test]
fn a_malformed_sns_topic_is_refused_before_any_call() {
    let (code, stderr) = scan(&["--sns-topic-arn", "alerts"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("not an SNS topic ARN"), "{stderr}");
}

#[test]
fn list_with_json_output_warns_that_it_has_no_effect() {
    // No credentials: the warning comes first, then the fatal error.
    let (_, stderr) = scan(&[
        "-o",
        "json",
        "--list",
        "expiring",
        "--accounts",
        "111111111111",
    ]);
    assert!(
        stderr.contains("--list has no effect with -o json"),
        "{stderr}"
    );
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

/// Where nothing listens: a request sent there is refused, never reaches AWS.
const NOWHERE: &str = "http://127.0.0.1:1";

/// `certaudit scan` pointed at NOWHERE, as the integration tests run it (support::certaudit_at),
/// with or without the test credentials.
fn scan_nowhere(credentials: bool) -> (Option<i32>, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::from_std(support::certaudit_at(NOWHERE, home.path()));
    if !credentials {
        cmd.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
    }
    cmd.args(["scan", "--accounts", "111111111111"]);
    exit_and_stderr(&mut cmd)
}

#[test]
fn no_credentials_is_fatal_and_says_where_credentials_come_from() {
    let (code, stderr) = scan_nowhere(false);
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
    let (code, stderr) = scan_nowhere(true);
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

fn certaudit(args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::cargo_bin("certaudit").unwrap();
    cmd.env_clear().args(args);
    exit_and_stderr(&mut cmd)
}

#[test]
fn diff_and_history_name_what_is_wrong_with_their_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let other = path("other.json", r#"{"items": []}"#);
    let future = path("future.json", r#"{"schema_version": 2}"#);
    let text = path("notes.txt", "not json");
    let missing = dir.path().join("missing.json").display().to_string();

    let (code, stderr) = certaudit(&["diff", &other, &future]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("other.json is not a certaudit report (it has no schema_version)"),
        "{stderr}"
    );
    let (code, stderr) = certaudit(&["diff", &future, &future]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("schema_version 2; this certaudit reads version 1"),
        "{stderr}"
    );
    let (_, stderr) = certaudit(&["diff", &text, &future]);
    assert!(
        stderr.contains("notes.txt is not a certaudit report"),
        "{stderr}"
    );
    let (_, stderr) = certaudit(&["diff", &missing, &future]);
    assert!(
        stderr.contains("cannot read report") && stderr.contains("missing.json"),
        "{stderr}"
    );

    let (code, stderr) = certaudit(&["diff"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("give two report files") && stderr.contains("--history"),
        "{stderr}"
    );
    let (code, stderr) = certaudit(&["diff", &other, &other, "--from", "1"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--from and --to pick scans of a --history database"),
        "{stderr}"
    );
    let (code, stderr) = certaudit(&["history"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("pass --history PATH or set CERTAUDIT_HISTORY"),
        "{stderr}"
    );
    let (code, stderr) = certaudit(&["history", "--history", &missing]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("there is no history at") && stderr.contains("scan --history"),
        "{stderr}"
    );
}

#[test]
fn endpoints_files_and_pins_are_checked_before_anything_is_probed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("endpoints.txt");
    std::fs::write(&file, "www.example.com\nbad.example.com:https\n").unwrap();
    let report = dir.path().join("report.json");
    std::fs::write(&report, r#"{"schema_version": 1}"#).unwrap();
    let (code, stderr) = certaudit(&["endpoints", "--endpoints", file.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("line 2: 'bad.example.com:https' is not host[:port]"),
        "{stderr}"
    );
    let (code, stderr) = certaudit(&["endpoints", "--resolve", "www.example.com:443"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("is not host:port:address"), "{stderr}");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "no certificate here").unwrap();
    let (code, stderr) = certaudit(&["endpoints", "--ca-file", ca.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--ca-file") && stderr.contains("holds no PEM certificate"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_profile_is_named_with_its_fix_whether_or_not_a_profile_file_exists() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("no-such-dir");
    let profile_run = |config: &std::path::Path| {
        let mut cmd = Command::from_std(support::certaudit_at(NOWHERE, home.path()));
        cmd.env("HOME", &missing)
            .env("AWS_CONFIG_FILE", config)
            .env("AWS_SHARED_CREDENTIALS_FILE", missing.join("credentials"))
            .args(["scan", "--accounts", "111111111111", "--profile", "nope"]);
        exit_and_stderr(&mut cmd)
    };

    let (code, stderr) = profile_run(&missing.join("config"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--profile nope"),
        "names the profile: {stderr}"
    );
    assert!(
        stderr.contains("aws configure --profile nope") && stderr.contains("both missing"),
        "names the fix: {stderr}"
    );

    // Named by AWS_PROFILE instead (and no keys in the environment, which would come first).
    let mut cmd = Command::from_std(support::certaudit_at(NOWHERE, home.path()));
    cmd.env("HOME", &missing)
        .env("AWS_CONFIG_FILE", missing.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", missing.join("credentials"))
        .env("AWS_PROFILE", "nope")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["scan", "--accounts", "111111111111"]);
    let (code, stderr) = exit_and_stderr(&mut cmd);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("AWS_PROFILE=nope"),
        "names the profile: {stderr}"
    );

    let config = home.path().join("config");
    std::fs::write(&config, "[profile other]\nregion = us-east-1\n").unwrap();
    let (code, stderr) = profile_run(&config);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--profile nope"),
        "names the profile: {stderr}"
    );
    assert!(
        stderr.contains("aws configure list-profiles"),
        "names the fix: {stderr}"
    );
}
