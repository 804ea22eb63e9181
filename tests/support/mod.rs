//! Test support: start the fabric (moto server behind the fidelity layer, `tests/fabric/`)
//! on a free loopback port, seeded from a scenario, and run the real certaudit binary
//! against it through AWS_ENDPOINT_URL. If the fabric cannot start, the test fails and says why.

#![allow(dead_code)]

pub mod browser;
pub mod ct;
pub mod dns;
pub mod events;
pub mod hub;
pub mod inbox;
pub mod runtime_api;
pub mod tls;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

pub const EXTERNAL_ID: &str = "certaudit-test-external-id";
pub const ROLE_NAME: &str = "CertAuditReadOnly";
const START_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Fabric {
    child: Child,
    /// Changes to the organization go in here (`tests/fabric/control.py`)…
    stdin: Mutex<ChildStdin>,
    /// …and their answers come back here, a line each.
    answers: Mutex<mpsc::Receiver<String>>,
    pub endpoint: String,
    pub state: Value,
    calls_log: PathBuf,
    pub dir: tempfile::TempDir,
    /// The organization's DNS as it should be (every validation CNAME in place, no CAA): what
    /// the renewal check asks unless a test points it elsewhere.
    pub dns: dns::DnsServer,
}

impl Fabric {
    pub fn start(scenario: Value) -> Fabric {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python = root.join(".venv/bin/python");
        // `make venv` writes this stamp only after every pinned package installed.
        let installed = root.join(".venv/.installed");
        assert!(
            python.exists() && installed.exists(),
            "the moto test fabric is not installed ({} is missing): run `make test`, or \
             `make venv` once and then `cargo test`; either creates .venv from the pinned \
             tests/fabric/requirements.txt",
            if python.exists() {
                installed.display()
            } else {
                python.display()
            }
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let scenario_path = dir.path().join("scenario.json");
        let state_path = dir.path().join("state.json");
        let calls_log = dir.path().join("calls.jsonl");
        std::fs::write(&scenario_path, scenario.to_string()).unwrap();
        std::fs::write(dir.path().join("aws-config"), "").unwrap();
        let mut child = Command::new(&python)
            .arg(root.join("tests/fabric/fabric.py"))
            .arg("--scenario")
            .arg(&scenario_path)
            .arg("--state-out")
            .arg(&state_path)
            .arg("--calls-log")
            .arg(&calls_log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the fabric with {}: {e}", python.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let Some(endpoint) = line.strip_prefix("READY ").map(|e| e.trim().to_string()) else {
            let status = child.try_wait().ok().flatten();
            let _ = child.kill();
            panic!("the moto fabric did not start (exit status {status:?}, first line {line:?}); its stderr is above");
        };
        let state = serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
        let stdin = child.stdin.take().unwrap();
        Fabric {
            child,
            stdin: Mutex::new(stdin),
            answers: Mutex::new(rx),
            endpoint,
            state,
            calls_log,
            dir,
            dns: dns::DnsServer::healthy(),
        }
    }

    /// Change the organization between two scans (`tests/fabric/control.py`): delete,
    /// import, replace (renew or re-import), extras, in_use, role. Returns the answer.
    pub fn change(&self, change: Value) -> Value {
        let answers = self.answers.lock().unwrap();
        writeln!(self.stdin.lock().unwrap(), "{change}").expect("the fabric's stdin");
        let line = answers
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("the fabric did not answer {change}: {e}"));
        match line.strip_prefix("OK ") {
            Some(answer) => serde_json::from_str(answer).unwrap(),
            None => panic!("the fabric refused {change}: {line}"),
        }
    }

    pub fn account(&self, name: &str) -> String {
        self.state["accounts"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no account {name}"))
            .to_string()
    }

    pub fn arn(&self, label: &str) -> String {
        self.state["certificates"][label]
            .as_str()
            .unwrap_or_else(|| panic!("no certificate {label}"))
            .to_string()
    }

    pub fn ou(&self, path: &str) -> String {
        self.state["organizational_units"][path]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Every call the fabric answered since it was seeded.
    pub fn calls(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.calls_log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn calls_of(&self, operation: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c["operation"] == operation)
            .collect()
    }

    /// SDK configuration for the test's own calls (setting up a topic, reading findings), as
    /// the management account.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        let credentials =
            aws_credential_types::Credentials::new("testing", "testing", None, None, "test");
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .build()
    }

    /// The certaudit binary, pointed at this fabric with the caller's test credentials.
    pub fn certaudit(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.certaudit_process());
        cmd.timeout(Duration::from_secs(300));
        cmd
    }

    /// The same, as a plain process (to signal it while it runs).
    pub fn certaudit_process(&self) -> Command {
        let mut cmd = certaudit_at(&self.endpoint, self.dir.path());
        cmd.env_remove("CERTAUDIT_NO_RENEWAL_CHECK")
            .env("CERTAUDIT_DNS_SERVER", self.dns.addr.to_string());
        cmd
    }

    /// `certaudit scan -o json ARGS`: the exit code and the parsed report.
    pub fn scan_json(&self, args: &[&str]) -> (i32, Value) {
        json_run(self.certaudit().args(["scan", "-o", "json"]).args(args))
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cmd` run through `program` and its `args` (`setpriv`, a profiler), with `cmd`'s own
/// environment and nothing else.
pub fn run_through(cmd: &Command, program: &str, args: &[&str]) -> Command {
    let mut outer = Command::new(program);
    outer
        .args(args)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            outer.env(key, value);
        }
    }
    outer
}

/// The certaudit binary pointed at `endpoint` with the caller's test credentials and nothing
/// from the environment; `home` holds an empty AWS config.
pub fn certaudit_at(endpoint: &str, home: &std::path::Path) -> Command {
    let config = home.join("aws-config");
    if !config.exists() {
        std::fs::write(&config, "").unwrap();
    }
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("certaudit"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &config)
        .env("CERTAUDIT_EXTERNAL_ID", EXTERNAL_ID)
        // No test asks a resolver other than its own: without a fabric (and its DNS server)
        // the renewal check is off.
        .env("CERTAUDIT_NO_RENEWAL_CHECK", "true");
    cmd
}

/// Run a certaudit command that prints one JSON document: its exit code and the document.
pub fn json_run(cmd: &mut assert_cmd::Command) -> (i32, Value) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let document = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}); stderr:\n{stderr}"));
    (out.status.code().unwrap_or(-1), document)
}

/// The certificate objects of a report, by ARN.
pub fn certificate<'a>(report: &'a Value, arn: &str) -> &'a Value {
    report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["arn"] == arn)
        .unwrap_or_else(|| panic!("certificate {arn} not in the report"))
}

pub fn arns(report: &Value) -> Vec<String> {
    let mut all: Vec<String> = report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["arn"].as_str().unwrap().to_string())
        .collect();
    all.sort();
    all
}

/// The report's first error that `matches`; fails the test, showing every error, if none does.
pub fn error_where(report: &Value, matches: impl Fn(&Value) -> bool) -> &Value {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| matches(e))
        .unwrap_or_else(|| panic!("no such error in {}", report["errors"]))
}

pub fn account_entry<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == id)
        .unwrap_or_else(|| panic!("account {id} not in the report"))
}

/// A certificate spec for a scenario.
pub fn cert(label: &str, domain: &str) -> Value {
    json!({ "label": label, "domain": domain })
}

/// A certificate spec for a scenario, its domain `LABEL.example.com`, with extra fields.
pub fn acm(label: &str, extra: Value) -> Value {
    with(cert(label, &format!("{label}.example.com")), extra)
}

/// Merge extra fields into a JSON object.
pub fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

/// The characters in `text` that must never reach a terminal or a message: control characters
/// (but `\n` where `lines` allows them) and the bidirectional controls, which reorder what a
/// reader sees. Written out here, not taken from certaudit, so the rule itself is tested.
pub fn hostile_characters(text: &str, lines: bool) -> Vec<char> {
    text.chars()
        .filter(|&c| !(lines && c == '\n'))
        .filter(|&c| {
            c.is_control()
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
                || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
        })
        .collect()
}
