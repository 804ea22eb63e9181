//! certaudit's entry point: parse, run, and map the outcome to an exit code in one place.

use std::process::ExitCode;

use clap::Parser;

use certaudit::cli::{Cli, Command, LoggingArgs};
use certaudit::outcome::{self, Stopped};
use certaudit::report::printable;
use certaudit::{audit, changes, doctor, event, lambda, served};

/// A scan allocates and frees small buffers for every AWS call; on its one busy thread glibc's
/// malloc was over a third of the CPU per call, mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`; the Rust binding names no
/// constant for it). 0 returns freed pages to the OS at once instead of after 10 ms: at
/// 100,000 certificates that is the difference between ~261 MB and ~245 MB peak RSS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The work runs on a thread with a large stack: decoding Security Hub's finding type (hundreds
/// of nested optional structures) needs more than the main thread's 8 MiB in debug builds.
const STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    // SAFETY: sets one of mimalloc's global options, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    let args = lambda::arguments(std::env::args_os().collect(), |name| std::env::var_os(name));
    let cli = Cli::parse_from(args);
    let work = std::thread::Builder::new()
        .name("certaudit".into())
        .stack_size(STACK_BYTES)
        .spawn(move || run(cli.command))
        .expect("cannot start the worker thread");
    let code = match work.join() {
        Ok(Ok(code)) => code,
        Ok(Err(Stopped { code, error })) => {
            eprintln!("error: {}", printable(&format!("{error:#}")));
            code
        }
        // A panic has already printed its message.
        Err(_) => outcome::FATAL,
    };
    ExitCode::from(code)
}

fn run(command: Command) -> Result<u8, Stopped> {
    match command {
        Command::Scan(args) => {
            init_logging(&args.logging);
            audit::command(&args)
        }
        Command::Doctor(args) => {
            init_logging(&args.logging);
            doctor::command(&args)
        }
        Command::Diff(args) => {
            init_logging(&LoggingArgs::default());
            changes::diff_command(&args)
        }
        Command::History(args) => {
            init_logging(&LoggingArgs::default());
            changes::history_command(&args)
        }
        Command::Endpoints(args) => {
            init_logging(&args.logging);
            served::command(&args)
        }
        Command::Event(args) => {
            init_logging(&args.logging);
            event::command(&args)
        }
        Command::Lambda(args) => {
            // Logs go to CloudWatch: what each invocation did, at info.
            init_logging(&LoggingArgs {
                verbose: 1,
                quiet: false,
            });
            lambda::command(&args)
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "certaudit", &mut std::io::stdout());
            Ok(outcome::OK)
        }
    }
}

fn init_logging(logging: &LoggingArgs) {
    use std::io::IsTerminal;
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
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
