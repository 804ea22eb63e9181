//! certaudit: audit every ACM certificate across every account and enabled region of an AWS
//! Organization. The binary (`main.rs`) parses, runs and maps the outcome to an exit code;
//! everything else lives here so tests can build plans and reports without a terminal.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod changes;
pub mod cli;
pub mod ct;
mod ct_command;
pub mod diff;
pub mod doctor;
pub mod endpoints;
pub mod event;
pub mod history;
pub mod interrupt;
pub mod lambda;
pub mod logging;
pub mod notify;
pub mod outcome;
pub mod output;
pub mod plan;
pub mod progress;
pub mod regions;
pub mod renewal;
pub mod report;
pub mod scan;
pub mod secret;
pub mod served;

use cli::{Cli, Command, LoggingArgs};
use outcome::Stopped;

/// Run one parsed command line; the binary maps the result to an exit code.
pub fn run(command: Command) -> Result<u8, Stopped> {
    match command {
        Command::Scan(args) => {
            logging::init(&args.logging);
            audit::command(&args)
        }
        Command::Doctor(args) => {
            logging::init(&args.logging);
            doctor::command(&args)
        }
        Command::Diff(args) => {
            logging::init(&LoggingArgs::default());
            changes::diff_command(&args)
        }
        Command::History(args) => {
            logging::init(&LoggingArgs::default());
            changes::history_command(&args)
        }
        Command::Ct(args) => {
            logging::init(&args.logging);
            ct_command::command(&args)
        }
        Command::Endpoints(args) => {
            logging::init(&args.logging);
            served::command(&args)
        }
        Command::Event(args) => {
            logging::init(&args.logging);
            event::command(&args)
        }
        Command::Lambda(args) => {
            // Logs go to CloudWatch: what each invocation did, at info.
            logging::init(&LoggingArgs {
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
