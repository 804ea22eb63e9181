//! certaudit's entry point: parse, run, and map the outcome to an exit code in one place.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use certaudit::access::Caller;
use certaudit::cli::{Cli, Command, DoctorArgs, DoctorFormat, OutputFormat, ScanArgs};
use certaudit::interrupt::Interrupt;
use certaudit::output::{self, Rendering};
use certaudit::plan::{ScanPlan, Targets};
use certaudit::report::{printable, Report};
use certaudit::{accounts, audit, doctor, outcome};

/// The work runs on a thread with a large stack: decoding Security Hub's finding type (hundreds
/// of nested optional structures) needs more than the main thread's 8 MiB in debug builds.
const STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let work = std::thread::Builder::new()
        .name("certaudit".into())
        .stack_size(STACK_BYTES)
        .spawn(move || match cli.command {
            Command::Scan(args) => scan_command(&args),
            Command::Doctor(args) => doctor_command(&args),
        })
        .expect("cannot start the worker thread");
    ExitCode::from(work.join().unwrap_or(outcome::FATAL))
}

fn scan_command(args: &ScanArgs) -> u8 {
    init_logging(args.logging.verbose, args.logging.quiet);
    let plan = match ScanPlan::from_args(args) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {}", printable(&format!("{e:#}")));
            return outcome::USAGE;
        }
    };
    if plan.list.is_some() && plan.output == OutputFormat::Json {
        tracing::warn!(
            "--list has no effect with -o json: the report document always holds every \
             certificate (use -o ndjson or -o csv for one list)"
        );
    }
    if let Some(dir) = &plan.report_dir {
        if let Err(e) = output::check_report_dir(dir) {
            eprintln!("error: {}", printable(&format!("{e:#}")));
            return outcome::FATAL;
        }
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    // The runtime outlives the scan, so a second signal still exits at once while the report
    // is being written.
    let interrupt = match runtime.block_on(async { Interrupt::listen() }) {
        Ok(interrupt) => interrupt,
        Err(e) => {
            eprintln!("error: cannot listen for Ctrl-C and SIGTERM: {e}");
            return outcome::FATAL;
        }
    };
    let show_progress = args.logging.verbose == 0 && !args.logging.quiet;
    let report = match runtime.block_on(audit::run(&plan, show_progress, &interrupt)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {}", printable(&format!("{e:#}")));
            return interrupt.signal().map_or(outcome::FATAL, |s| s.exit_code());
        }
    };
    let code = finish(&plan, &report);
    match interrupt.signal() {
        Some(signal) if code != outcome::FATAL => signal.exit_code(),
        _ => code,
    }
}

fn doctor_command(args: &DoctorArgs) -> u8 {
    init_logging(args.logging.verbose, args.logging.quiet);
    let targets = match Targets::from_args(&args.target) {
        Ok(targets) => targets,
        Err(e) => {
            eprintln!("error: {}", printable(&format!("{e:#}")));
            return outcome::USAGE;
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let diagnosis = runtime.block_on(async {
        let caller = Caller::identify(&targets).await?;
        let accounts = accounts::resolve(&targets, &caller).await?;
        anyhow::Ok(doctor::run(&targets, &caller, accounts).await)
    });
    let diagnosis = match diagnosis {
        Ok(diagnosis) => diagnosis,
        Err(e) => {
            eprintln!("error: {}", printable(&format!("{e:#}")));
            return outcome::FATAL;
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match args.output {
        DoctorFormat::Table => output::write_diagnosis_table(&diagnosis, &mut out),
        DoctorFormat::Json => output::write_diagnosis_json(&diagnosis, &mut out),
    }
    .and_then(|()| Ok(out.flush()?));
    if let Err(e) = written {
        if !output::is_closed_pipe(&e) {
            eprintln!("error: cannot write to stdout: {e:#}");
            return outcome::FATAL;
        }
    }
    if diagnosis.failed() {
        outcome::INCOMPLETE
    } else {
        outcome::OK
    }
}

/// Write every output, then decide the exit code. The report is written whatever happened.
fn finish(plan: &ScanPlan, report: &Report) -> u8 {
    let mut fatal = false;
    if let Some(dir) = &plan.report_dir {
        if let Err(e) = output::write_artifacts(report, dir, plan.csv_cells) {
            eprintln!("error: {}", printable(&format!("{e:#}")));
            fatal = true;
        }
    }
    let rendering = Rendering {
        format: plan.output,
        list: plan.list,
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        csv_cells: plan.csv_cells,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = output::render(report, rendering, &mut out).and_then(|()| Ok(out.flush()?));
    if let Err(e) = written {
        if !output::is_closed_pipe(&e) {
            eprintln!("error: cannot write the report to stdout: {e:#}");
            fatal = true;
        }
    }
    // Errors reach stderr even with --quiet ("errors only"); the table already lists them.
    if plan.output != OutputFormat::Table {
        let stderr = std::io::stderr();
        let _ = output::write_error_lines(report, &mut stderr.lock());
    }
    if fatal {
        return outcome::FATAL;
    }
    outcome::exit_code(report, &plan.fail_on, plan.allow_partial)
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
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
