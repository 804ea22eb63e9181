//! Debian's Chromium, headless, driven over the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`: commands in on fd 3, answers and events out on fd 4, each a JSON
//! message ended by a NUL byte): load a page from disk with script on or off, read back the
//! DOM the browser built and everything it put on the console.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium as this machine allows it (root, no network): headless, no sandbox, nothing
/// fetched in the background, a profile of its own.
pub fn chromium(profile: &Path) -> Command {
    assert!(
        Path::new(CHROMIUM).exists(),
        "Debian's chromium is not installed: run `make test` (scripts/install-chromium.sh \
         installs it) or `apt-get install chromium`"
    );
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// A page as the browser left it.
pub struct Loaded {
    pub dom: String,
    /// Console messages, uncaught exceptions, and the browser's own log entries (a blocked
    /// request, a violated content security policy).
    pub console: Vec<String>,
}

pub struct Browser {
    child: Child,
    commands: std::fs::File,
    answers: BufReader<std::fs::File>,
    next_id: u64,
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

/// A pipe whose ends close on exec (the child gets its own copies on fds 3 and 4).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills both descriptors on success; each is owned once, here.
    let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(made, 0, "pipe2: {}", std::io::Error::last_os_error());
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

impl Browser {
    pub fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (their_commands, our_commands) = pipe();
        let (our_answers, their_answers) = pipe();
        let (from, to) = (their_commands.as_raw_fd(), their_answers.as_raw_fd());
        let mut cmd = chromium(profile.path());
        cmd.arg("--remote-debugging-pipe")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only fcntl and dup2, async-signal-safe, between fork and exec. Both ends
        // are first copied above fd 10, so placing one on 3 or 4 cannot overwrite the other
        // (the pipes may themselves be 3 to 6); dup2 onto a different number clears
        // close-on-exec on the copy.
        unsafe {
            cmd.pre_exec(move || {
                let high_from = libc::fcntl(from, libc::F_DUPFD, 10);
                let high_to = libc::fcntl(to, libc::F_DUPFD, 10);
                if high_from < 0
                    || high_to < 0
                    || libc::dup2(high_from, 3) < 0
                    || libc::dup2(high_to, 4) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start chromium");
        drop((their_commands, their_answers));
        Browser {
            child,
            commands: std::fs::File::from(our_commands),
            answers: BufReader::new(std::fs::File::from(our_answers)),
            next_id: 0,
            events: Vec::new(),
            _profile: profile,
        }
    }

    fn message(&mut self) -> Value {
        let mut bytes = Vec::new();
        let n = self.answers.read_until(0, &mut bytes).unwrap();
        assert!(n > 0, "chromium closed the DevTools pipe");
        bytes.pop();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Send a command (to a page's session when given) and wait for its answer; the events
    /// that arrive meanwhile are kept.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&command).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        loop {
            let message = self.message();
            if message["id"] == id {
                assert!(message["error"].is_null(), "{method}: {}", message["error"]);
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    fn wait_for(&mut self, method: &str) {
        while !self.events.iter().any(|e| e["method"] == method) {
            let message = self.message();
            self.events.push(message);
        }
    }

    /// A new tab with script on or off; its target (to close it) and session.
    fn tab(&mut self, script: bool) -> (Value, String) {
        self.events.clear();
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target = json!({"targetId": target["targetId"]});
        let attach = json!({"targetId": target["targetId"], "flatten": true});
        let attached = self.call(None, "Target.attachToTarget", attach);
        let session = attached["sessionId"].as_str().unwrap().to_string();
        let s = Some(session.as_str());
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            self.call(s, domain, json!({}));
        }
        let disabled = json!({"value": !script});
        self.call(s, "Emulation.setScriptExecutionDisabled", disabled);
        (target, session)
    }

    /// Navigate the tab to the page and wait for its load event (the page's own scripts have
    /// run by then); how long that took.
    fn open(&mut self, session: &str, page: &Path) -> Duration {
        let url = format!("file://{}", page.display());
        let started = Instant::now();
        self.call(Some(session), "Page.navigate", json!({ "url": url }));
        self.wait_for("Page.loadEventFired");
        started.elapsed()
    }

    /// Open the page in a new tab, script on or off, and read back its DOM and console.
    pub fn load(&mut self, page: &Path, script: bool) -> Loaded {
        let (target, session) = self.tab(script);
        let s = Some(session.as_str());
        self.open(&session, page);
        let document = self.call(s, "DOM.getDocument", json!({"depth": 0}));
        let root = json!({"nodeId": document["root"]["nodeId"]});
        let html = self.call(s, "DOM.getOuterHTML", root);
        let console = self
            .events
            .iter()
            .filter(|e| {
                let method = e["method"].as_str().unwrap_or_default();
                let logged = ["Runtime.consoleAPICalled", "Runtime.exceptionThrown"];
                logged.contains(&method) || method == "Log.entryAdded"
            })
            .map(|e| e["params"].to_string())
            .collect();
        self.call(None, "Target.closeTarget", target);
        Loaded {
            dom: html["outerHTML"].as_str().unwrap().to_string(),
            console,
        }
    }

    /// Open the page with script on and evaluate each expression in turn (as a user's clicks
    /// and typing would run): what each returned.
    pub fn run(&mut self, page: &Path, expressions: &[&str]) -> Vec<Value> {
        self.run_at(page, None, expressions)
    }

    /// The same in a window of `(width, height)` pixels when given (layout depends on it).
    pub fn run_at(
        &mut self,
        page: &Path,
        window: Option<(u32, u32)>,
        expressions: &[&str],
    ) -> Vec<Value> {
        let (target, session) = self.tab(true);
        if let Some((width, height)) = window {
            let size = json!({"width": width, "height": height, "deviceScaleFactor": 1,
                              "mobile": false});
            self.call(Some(&session), "Emulation.setDeviceMetricsOverride", size);
        }
        self.open(&session, page);
        let values = expressions
            .iter()
            .map(|expression| {
                let call = json!({"expression": expression, "returnByValue": true});
                let result = self.call(Some(&session), "Runtime.evaluate", call);
                assert!(
                    result["exceptionDetails"].is_null(),
                    "{expression}: {result}"
                );
                result["result"]["value"].clone()
            })
            .collect();
        self.call(None, "Target.closeTarget", target);
        values
    }

    /// Open the page with script on and time it to the load event; and what its script wrote
    /// on the root element (`data-…` attributes, as an object).
    pub fn time_to_load(&mut self, page: &Path) -> (Duration, Value) {
        let (target, session) = self.tab(true);
        let took = self.open(&session, page);
        let read = json!({"expression": "Object.assign({}, document.documentElement.dataset)",
                          "returnByValue": true});
        let dataset = self.call(Some(&session), "Runtime.evaluate", read);
        self.call(None, "Target.closeTarget", target);
        (took, dataset["result"]["value"].clone())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A screenshot of the page, `width` × `height`, written to `out` (PNG).
pub fn screenshot(page: &Path, out: &Path, width: u32, height: u32) {
    let profile = tempfile::tempdir().unwrap();
    let taken = chromium(profile.path())
        .args([
            &format!("--window-size={width},{height}"),
            "--hide-scrollbars",
        ])
        .arg(format!("--screenshot={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&taken.stderr);
    assert!(taken.status.success(), "{stderr}");
}

/// The test output directory (target/tmp).
pub fn output_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}
