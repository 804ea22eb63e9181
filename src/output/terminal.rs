//! The terminal a rendering is shown on: how wide it is, and prose fitted to that width.
//! Every sentence certaudit prints on a terminal breaks at spaces to fit it, as the table's
//! summary line does; piped, a sentence stays one line, for grep.

use std::borrow::Cow;
use std::io::IsTerminal;

use super::rows;

/// Columns assumed when a terminal does not say how wide it is and `COLUMNS` is not set.
const DEFAULT_WIDTH: usize = 80;

/// The width of the terminal stdout is, in columns: what the terminal says, else `COLUMNS`,
/// else 80. Ask only when stdout is a terminal.
pub fn stdout_width() -> usize {
    width_of(terminal_size::terminal_size_of(std::io::stdout()))
}

/// The width of the terminal stderr is, in columns; None when stderr is not a terminal.
pub fn stderr_width() -> Option<usize> {
    let stderr = std::io::stderr();
    stderr
        .is_terminal()
        .then(|| width_of(terminal_size::terminal_size_of(stderr)))
}

fn width_of(size: Option<(terminal_size::Width, terminal_size::Height)>) -> usize {
    let columns = || std::env::var("COLUMNS").ok()?.parse().ok();
    size.map(|(terminal_size::Width(w), _)| usize::from(w))
        .filter(|w| *w > 0)
        .or_else(columns)
        .filter(|w| *w > 0)
        .unwrap_or(DEFAULT_WIDTH)
}

/// A sentence as a terminal `width` columns wide should show it: broken at spaces. None (not
/// a terminal): one line.
pub fn prose(text: &str, width: Option<usize>) -> Cow<'_, str> {
    match width {
        Some(width) => rows::wrap(text, width).into(),
        None => text.into(),
    }
}

/// A sentence for stderr: fitted to its width when stderr is a terminal.
pub fn stderr_prose(text: &str) -> Cow<'_, str> {
    prose(text, stderr_width())
}
