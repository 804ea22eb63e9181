//! Where logs go: stderr, at the level the flags ask for (`CERTAUDIT_LOG` overrides it), with
//! colour and lines fitted to its width only on a terminal, and every secret scrubbed from
//! every line. stdout stays data.

use std::io::{IsTerminal, Write};

use crate::cli::LoggingArgs;
use crate::output::terminal;
use crate::secret;

/// Install the process's one log subscriber.
pub fn init(logging: &LoggingArgs) {
    let level = match (logging.quiet, logging.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "certaudit=info,warn",
        (false, _) => "certaudit=debug,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CERTAUDIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Stderr {
            width: terminal::stderr_width(),
        })
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// stderr for log lines: a warning is a sentence people read, so on a terminal it breaks at
/// spaces to the terminal's width, as every other sentence does; elsewhere it stays one line.
struct Stderr {
    width: Option<usize>,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine { width: self.width }
    }
}

/// One log event: the formatter writes it whole, in one call, so a secret is never split. Every
/// known secret is taken out first: at trace level the SDK logs its clients, providers and
/// requests whole.
struct LogLine {
    width: Option<usize>,
}

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let raw = String::from_utf8_lossy(buf);
        let text = secret::scrub(&raw);
        let mut stderr = std::io::stderr().lock();
        match self.width {
            Some(width) => {
                for line in text.split_inclusive('\n') {
                    let (line, end) = match line.strip_suffix('\n') {
                        Some(line) => (line, "\n"),
                        None => (line, ""),
                    };
                    write!(stderr, "{}{end}", terminal::prose(line, Some(width)))?;
                }
            }
            None => stderr.write_all(text.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
