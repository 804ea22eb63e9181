//! The progress bar on stderr: accounts done of total, certificates found, errors so far.
//! indicatif hides it when stderr is not a terminal; `--quiet` and `-v` (whose log lines
//! would tear it) hide it too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::counted;

pub struct Progress {
    bar: ProgressBar,
    certificates: AtomicUsize,
    errors: AtomicUsize,
}

impl Progress {
    pub fn new(shown: bool) -> Progress {
        let target = if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        // No length until the first account is listed: a length of 0 would draw a full bar.
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed:>4} accounts {pos}/{len} {wide_bar} {msg}",
            )
            .expect("progress template"),
        );
        bar.set_message("0 certificates, 0 errors");
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bar,
            certificates: AtomicUsize::new(0),
            errors: AtomicUsize::new(0),
        }
    }

    /// One more account to scan (the organization is listed while the scan runs).
    pub fn account_found(&self) {
        self.bar.set_length(self.bar.length().unwrap_or(0) + 1);
    }

    pub fn account_done(&self, certificates: usize, errors: usize) {
        let certificates =
            self.certificates.fetch_add(certificates, Ordering::Relaxed) + certificates;
        let errors = self.errors.fetch_add(errors, Ordering::Relaxed) + errors;
        self.bar.set_message(format!(
            "{}, {}",
            counted(certificates, "certificate"),
            counted(errors, "error")
        ));
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
