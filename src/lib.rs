//! certaudit: audit every ACM certificate across every account and enabled region of an AWS
//! Organization. The binary (`main.rs`) parses, runs and maps the outcome to an exit code;
//! everything else lives here so tests can build plans and reports without a terminal.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod changes;
pub mod cli;
pub mod diff;
pub mod doctor;
pub mod endpoints;
pub mod event;
pub mod history;
pub mod interrupt;
pub mod lambda;
pub mod notify;
pub mod outcome;
pub mod output;
pub mod plan;
pub mod progress;
pub mod regions;
pub mod report;
pub mod scan;
pub mod served;
