//! certaudit on a terminal: the table coloured by urgency when stdout is a TTY and
//! not with NO_COLOR; the progress bar when stderr is a TTY and not with --quiet; the data on
//! the other stream untouched either way. The terminal is a real pseudoterminal.

mod support;

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rustix::pty::{grantpt, ioctl_tiocgptpeer, openpt, unlockpt, OpenptFlags};
use rustix::termios::{tcsetwinsize, Winsize};
use serde_json::{json, Value};
use support::{cert, hostile_characters, with, Fabric};

/// A pseudoterminal 120 columns wide: the side we read, and the side the program writes to.
/// Both close on exec, so no other test's child inherits them and keeps the terminal open.
fn pseudoterminal() -> (File, OwnedFd) {
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let ours = openpt(flags).expect("open a pseudoterminal");
    grantpt(&ours).expect("grantpt");
    unlockpt(&ours).expect("unlockpt");
    let size = Winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(&ours, size).expect("set the terminal size");
    let theirs = ioctl_tiocgptpeer(&ours, flags).expect("open the terminal's user side");
    (File::from(ours), theirs)
}

#[derive(Clone, Copy)]
enum OnTerminal {
    Stdout,
    Stderr,
}

struct Run {
    code: i32,
    /// What the terminal received.
    terminal: String,
    /// The other stream, a plain pipe.
    piped: Vec<u8>,
}

fn read_all(mut from: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut all = Vec::new();
        let mut chunk = [0u8; 8192];
        // The terminal answers EIO once the program and every copy of its side are closed.
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&chunk[..n]);
        }
        all
    })
}

fn run_on_terminal(mut cmd: Command, stream: OnTerminal) -> Run {
    let (terminal, theirs) = pseudoterminal();
    match stream {
        OnTerminal::Stdout => cmd.stdout(Stdio::from(theirs)).stderr(Stdio::piped()),
        OnTerminal::Stderr => cmd.stderr(Stdio::from(theirs)).stdout(Stdio::piped()),
    };
    let mut child = cmd.spawn().expect("start certaudit");
    drop(cmd); // our copy of the program's side: reading ends only when every copy is closed
    let piped = match stream {
        OnTerminal::Stdout => read_all(child.stderr.take().unwrap()),
        OnTerminal::Stderr => read_all(child.stdout.take().unwrap()),
    };
    let shown = read_all(terminal);
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("certaudit did not finish within 5 minutes");
        }
        thread::sleep(Duration::from_millis(50));
    };
    Run {
        code: status.code().unwrap_or(-1),
        terminal: String::from_utf8_lossy(&shown.join().unwrap()).into_owned(),
        piped: piped.join().unwrap(),
    }
}

/// The first colour escape sequence on the table row of `domain`, if any.
fn colour_of(table: &str, domain: &str) -> Option<String> {
    let row = table
        .lines()
        .find(|l| l.contains(domain))
        .unwrap_or_else(|| panic!("no row for {domain} in:\n{table}"));
    let start = row.find("\x1b[")?;
    let end = start + row[start..].find('m')?;
    Some(row[start..=end].to_string())
}

fn expiring_org() -> Value {
    let certs: Vec<Value> = [("old", -3.5), ("soon", 3.5), ("mid", 20.5), ("later", 40.5)]
        .iter()
        .map(|(label, days)| {
            with(
                cert(label, &format!("{label}.example.com")),
                json!({"days_left": days}),
            )
        })
        .collect();
    json!({"accounts": [{"name": "app", "certificates": certs}]})
}

#[test]
fn table_on_a_terminal_is_coloured_by_urgency_and_no_color_turns_it_off() {
    let fabric = Fabric::start(expiring_org());
    let scan = |no_color: Option<&str>| {
        let mut cmd = fabric.certaudit_process();
        cmd.args(["scan", "--regions", "us-east-1", "--list", "expiring"]);
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let run = run_on_terminal(cmd, OnTerminal::Stdout);
        assert_eq!(
            run.code,
            0,
            "stderr:\n{}",
            String::from_utf8_lossy(&run.piped)
        );
        run.terminal
    };

    let table = scan(None);
    let red = colour_of(&table, "soon.example.com").expect("3 days left is coloured");
    assert_eq!(
        colour_of(&table, "old.example.com").as_ref(),
        Some(&red),
        "expired is coloured as ≤7 days:\n{table}"
    );
    let yellow = colour_of(&table, "mid.example.com").expect("20 days left is coloured");
    assert_ne!(red, yellow, "≤30 days is coloured unlike ≤7:\n{table}");
    assert_eq!(
        colour_of(&table, "later.example.com"),
        None,
        "40 days left is plain:\n{table}"
    );

    let plain = scan(Some("1"));
    assert!(plain.contains("soon.example.com"), "{plain}");
    assert!(!plain.contains('\x1b'), "NO_COLOR is honoured:\n{plain}");
    // An empty NO_COLOR does not count (no-color.org).
    assert!(scan(Some("")).contains(&red));
}

#[test]
fn progress_bar_on_a_terminal_stderr_leaves_stdout_clean_and_quiet_hides_it() {
    // "quick" has 1 certificate, "slow" 3, described at --rate 1: the bar sits at
    // "accounts 2/3 ... 1 certificate, 0 errors" for about two seconds, many of its 120 ms ticks. (Its
    // last counts may be cleared before a tick draws them, so the test does not wait for them.)
    let certs = |prefix: &str, n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| cert(&format!("{prefix}{i}"), &format!("{prefix}{i}.example.com")))
            .collect()
    };
    let fabric = Fabric::start(json!({"latency_ms": 100, "accounts": [
        {"name": "quick", "certificates": certs("q", 1)},
        {"name": "slow", "certificates": certs("s", 3)},
    ]}));
    let scan = |extra: &[&str]| {
        let mut cmd = fabric.certaudit_process();
        // Without TERM, indicatif takes the terminal for an unattended one and draws nothing.
        cmd.env("TERM", "xterm")
            .args([
                "scan",
                "-o",
                "json",
                "--regions",
                "us-east-1",
                "--rate",
                "1",
            ])
            .args(extra);
        let run = run_on_terminal(cmd, OnTerminal::Stderr);
        let report: Value = serde_json::from_slice(&run.piped).unwrap_or_else(|e| {
            panic!(
                "stdout is one JSON document ({e}); terminal:\n{}",
                run.terminal
            )
        });
        assert_eq!(run.code, 0, "{}", run.terminal);
        assert_eq!(report["summary"]["certificates"], 4);
        run.terminal
    };

    let shown = scan(&[]);
    // The organization is listed while the scan runs: the total grows to the 3 accounts
    // (2 members and the management account).
    assert!(
        shown.contains("accounts 0/3 "),
        "the bar counts the accounts: {shown:?}"
    );
    let first_frame = shown.split('\r').next().unwrap();
    assert!(
        !first_frame.contains('█'),
        "before any account is listed the bar is empty, not full: {first_frame:?}"
    );
    assert!(
        shown.contains("accounts 2/3 ") && shown.contains("1 certificate, 0 errors"),
        "the bar counts accounts done, certificates and errors: {shown:?}"
    );
    assert!(
        shown.ends_with("\r\x1b[2K"),
        "the bar is cleared when the scan ends, not left behind: {shown:?}"
    );

    let quiet = scan(&["--quiet"]);
    assert!(
        !quiet.contains("accounts"),
        "--quiet hides the bar: {quiet:?}"
    );
}

/// The terminal's text without colour sequences or the carriage returns the terminal adds.
fn plain_lines(shown: &str) -> Vec<String> {
    let mut text = String::new();
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
        } else if c != '\r' {
            text.push(c);
        }
    }
    text.lines().map(str::to_string).collect()
}

#[test]
fn the_table_fits_a_120_column_terminal_and_wide_or_a_pipe_keeps_every_column() {
    use unicode_width::UnicodeWidthStr;
    let fabric = Fabric::start(
        json!({"accounts": [{"name": "platform-shared-services-prod",
        "certificates": [with(
            cert("long", "a-rather-long-service-name.internal.eu.platform.example.com"),
            json!({"days_left": 10}))]}]}),
    );
    let scan = |extra: &[&str]| {
        let mut cmd = fabric.certaudit_process();
        cmd.args(["scan", "--regions", "us-east-1"]).args(extra);
        let run = run_on_terminal(cmd, OnTerminal::Stdout);
        assert_eq!(run.code, 0, "{}", String::from_utf8_lossy(&run.piped));
        plain_lines(&run.terminal)
    };
    let arn = fabric.arn("long");
    let fitted = scan(&[]);
    let table: Vec<&String> = fitted
        .iter()
        .filter(|l| l.starts_with([' ', '─', '═']))
        .collect();
    assert!(table.len() > 4, "{fitted:#?}");
    for line in &table {
        assert!(
            line.width() <= 120,
            "{} columns on a 120-column terminal: {line}",
            line.width()
        );
    }
    assert!(
        !fitted.iter().any(|l| l.contains(&arn)),
        "the ARN gives way first"
    );
    assert!(
        fitted
            .iter()
            .any(|l| l.contains("a-rather-long-service-name")
                && l.contains("platform-shared-services-prod")),
        "domain and account name stay: {fitted:#?}"
    );

    let wide = scan(&["--wide"]);
    assert!(
        wide.iter().any(|l| l.contains(&arn) && l.width() > 120),
        "--wide: {wide:#?}"
    );

    let piped = fabric
        .certaudit()
        .args(["scan", "--regions", "us-east-1"])
        .output()
        .unwrap();
    let piped = String::from_utf8(piped.stdout).unwrap();
    let account = fabric.account("platform-shared-services-prod");
    assert!(
        piped.lines().any(|l| l.contains(&arn)
            && l.contains(&format!("platform-shared-services-prod ({account})"))),
        "not a terminal: full lines, name (id): {piped}"
    );
}

/// Lines wider than `width` columns, colour sequences left out.
fn too_wide(shown: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    plain_lines(shown)
        .into_iter()
        .filter(|l| l.width() > width)
        .collect()
}

#[test]
fn every_prose_line_on_a_120_column_terminal_wraps_and_a_pipe_keeps_it_whole() {
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "platform-shared-services-production-eu-central",
         "certificates": [with(cert("a", "a.example.com"), json!({"days_left": 10}))]},
        {"name": "locked", "role": "missing"},
    ]}));
    let hint = "Access was refused: `certaudit doctor` with the same account and role flags \
                checks every account and region and names the likely fix.";

    // The table on stdout: summary, headings, the table and the access hint.
    let mut cmd = fabric.certaudit_process();
    cmd.args(["scan", "--regions", "us-east-1"]);
    let run = run_on_terminal(cmd, OnTerminal::Stdout);
    assert_eq!(run.code, 3, "{}", String::from_utf8_lossy(&run.piped));
    assert_eq!(too_wide(&run.terminal, 120), Vec::<String>::new());
    let joined = plain_lines(&run.terminal).join(" ");
    assert!(joined.contains(hint), "the hint, wrapped: {joined}");

    // A warning and the errors on stderr (stdout is data).
    let mut cmd = fabric.certaudit_process();
    cmd.args([
        "scan",
        "-o",
        "json",
        "--list",
        "expiring",
        "--regions",
        "us-east-1",
    ]);
    let run = run_on_terminal(cmd, OnTerminal::Stderr);
    assert_eq!(run.code, 3, "{}", run.terminal);
    assert!(run.terminal.contains("assume_role"), "{}", run.terminal);
    assert!(
        run.terminal.contains("--list has no effect"),
        "{}",
        run.terminal
    );
    assert_eq!(too_wide(&run.terminal, 120), Vec::<String>::new());
    serde_json::from_slice::<Value>(&run.piped).expect("stdout stays one JSON document");

    // A fatal error, whose message names the fix at length.
    let missing = fabric.dir.path().join("no-such-dir");
    let mut cmd = fabric.certaudit_process();
    cmd.env("AWS_CONFIG_FILE", missing.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", missing.join("credentials"))
        .args(["scan", "--quiet", "--profile", "nope"]);
    let run = run_on_terminal(cmd, OnTerminal::Stderr);
    assert_eq!(run.code, 1, "{}", run.terminal);
    assert!(run.terminal.contains("--profile nope"), "{}", run.terminal);
    assert_eq!(too_wide(&run.terminal, 120), Vec::<String>::new());

    // Piped: each sentence stays one line, for grep.
    let piped = fabric
        .certaudit()
        .args(["scan", "--regions", "us-east-1"])
        .output()
        .unwrap();
    let piped = String::from_utf8(piped.stdout).unwrap();
    assert!(piped.lines().any(|l| l == hint), "{piped}");
    let errors = fabric
        .certaudit()
        .args(["scan", "-o", "json", "--quiet", "--regions", "us-east-1"])
        .output()
        .unwrap();
    let errors = String::from_utf8(errors.stderr).unwrap();
    assert!(
        errors
            .lines()
            .any(|l| l.starts_with("certaudit: error [locked") && l.contains("on resource")),
        "one line per error: {errors}"
    );
}

#[test]
fn bidi_controls_from_aws_never_reach_the_terminal_table_or_stderr() {
    // U+202E turns "gnp.exe" into "exe.png" on screen; U+2066..U+2069 and the marks reorder
    // what follows them. Names and domains are written by whoever runs a member account.
    let fabric = Fabric::start(json!({"accounts": [
        {"name": "ops\u{202E}gnp.exe", "certificates": [with(
            cert("bidi", "bidi.example.com"),
            json!({"days_left": 10, "common_name": "\u{2066}www.example.com\u{2069}\u{200F}\u{061C}"}))]},
        {"name": "lost\u{202D}\u{200E}", "role": "missing"},
    ]}));
    let mut cmd = fabric.certaudit_process();
    cmd.env("NO_COLOR", "1")
        .args(["scan", "--regions", "us-east-1", "--wide"]);
    let run = run_on_terminal(cmd, OnTerminal::Stdout);
    assert_eq!(run.code, 3, "{}", String::from_utf8_lossy(&run.piped));
    // The terminal ends lines with CR LF.
    let shown = run.terminal.replace("\r\n", "\n");
    assert_eq!(
        hostile_characters(&shown, true),
        Vec::<char>::new(),
        "{shown:?}"
    );
    assert!(
        run.terminal.contains("\u{FFFD}www.example.com\u{FFFD}"),
        "{}",
        run.terminal
    );
    assert!(
        run.terminal.contains("ops\u{FFFD}gnp.exe"),
        "{}",
        run.terminal
    );

    // The errors on stderr, beside data on stdout.
    let out = fabric
        .certaudit()
        .args(["scan", "-o", "json", "--regions", "us-east-1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lost\u{FFFD}\u{FFFD}"), "{stderr}");
    assert_eq!(
        hostile_characters(&stderr, true),
        Vec::<char>::new(),
        "{stderr:?}"
    );
}
