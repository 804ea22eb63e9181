//! certaudit's entry point: parse, run, and map the outcome to an exit code in one place.

use std::process::ExitCode;

use clap::Parser;

use certaudit::cli::Cli;
use certaudit::outcome::{self, Stopped};
use certaudit::report::printable;
use certaudit::{lambda, output};

/// A scan allocates and frees small buffers for every AWS call; on its one busy thread glibc's
/// malloc was over a third of the CPU per call, mimalloc a fraction of that. Its purge delay
/// is its own (10 ms; `MIMALLOC_PURGE_DELAY` sets it): returning freed pages at once (0) cost
/// ~20 % more CPU per call in page faults for no lower peak once certificates were compact.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The work runs on a thread with a large stack: decoding Security Hub's finding type (hundreds
/// of nested optional structures) needs more than the main thread's 8 MiB in debug builds.
const STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    let args = lambda::arguments(std::env::args_os().collect(), |name| std::env::var_os(name));
    let cli = Cli::parse_from(args);
    let work = std::thread::Builder::new()
        .name("certaudit".into())
        .stack_size(STACK_BYTES)
        .spawn(move || certaudit::run(cli.command))
        .expect("cannot start the worker thread");
    let code = match work.join() {
        Ok(Ok(code)) => code,
        Ok(Err(Stopped { code, error })) => {
            let message = format!("error: {}", printable(&format!("{error:#}")));
            eprintln!("{}", output::terminal::stderr_prose(&message));
            code
        }
        // A panic has already printed its message.
        Err(_) => outcome::FATAL,
    };
    ExitCode::from(code)
}
