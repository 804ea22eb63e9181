//! Tables written row by row, for lists that can hold every certificate of an organization:
//! column widths come from a first pass over the rows, and no row is kept. comfy-table, which
//! draws the small tables, holds every cell: 100,000 certificates in the default table cost
//! ~290 MB on top of the report. Same look as the small tables (UTF8_HORIZONTAL_ONLY).

use std::io::{self, Write};

use std::borrow::Cow;

use unicode_width::UnicodeWidthStr;

use crate::report::printable;

/// Colour by urgency, on a terminal only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Red,
    Yellow,
}

impl Colour {
    fn sgr(self) -> &'static str {
        match self {
            Colour::Red => "\x1b[31m",
            Colour::Yellow => "\x1b[33m",
        }
    }
}

const RESET: &str = "\x1b[39m";

/// One cell: its text (on one line) and its colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    text: String,
    colour: Option<Colour>,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Cell {
        let text: String = text.into();
        // A cell is one line: a line break in an AWS message would tear the table.
        let text = if text.contains(['\n', '\r', '\t']) {
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        } else {
            text
        };
        // Anyone who can tag or import a certificate writes some of these cells.
        let text = match printable(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(safe) => safe,
        };
        Cell { text, colour: None }
    }

    pub fn coloured(self, colour: Option<Colour>) -> Cell {
        Cell { colour, ..self }
    }

    fn width(&self) -> usize {
        self.text.width()
    }
}

/// How a column gives way on a terminal too narrow for every column at full width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Give {
    /// Always shown whole (Days, Account, Region).
    Keep,
    /// Always shown; cut with "…" once every droppable column is gone (Domain, the list's
    /// reason).
    Shrink,
    /// Left out on a narrow terminal, lowest first (the ARN first).
    Drop(u8),
}

#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    pub title: &'a str,
    pub give: Give,
}

/// A shrunk column is never cut below this many columns.
const MIN_SHRUNK: usize = 12;

/// Write a table of `rows`, each turned into cells by `cells` (called twice per row: once to
/// measure, once to write), every column at full width.
pub fn write<R>(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[R],
    cells: impl Fn(&R) -> Vec<Cell>,
) -> io::Result<()> {
    let columns: Vec<Column> = header
        .iter()
        .map(|title| Column {
            title,
            give: Give::Keep,
        })
        .collect();
    write_fitted(out, &columns, rows, cells, None)
}

/// The same, fitted to `max` columns when given: droppable columns left out, lowest first,
/// then shrinkable ones cut, widest first, until every line fits (or nothing more gives).
pub fn write_fitted<R>(
    out: &mut dyn Write,
    columns: &[Column],
    rows: &[R],
    cells: impl Fn(&R) -> Vec<Cell>,
    max: Option<usize>,
) -> io::Result<()> {
    let mut natural: Vec<usize> = columns.iter().map(|c| c.title.width()).collect();
    for row in rows {
        for (width, cell) in natural.iter_mut().zip(cells(row)) {
            *width = (*width).max(cell.width());
        }
    }
    let widths = layout(&natural, columns, max);
    let line_width = line_width(&widths);
    writeln!(out, "{}", "─".repeat(line_width))?;
    let header = columns.iter().map(|c| Cell::new(c.title));
    write_row(out, &widths, header)?;
    writeln!(out, "{}", "═".repeat(line_width))?;
    for row in rows {
        write_row(out, &widths, cells(row))?;
    }
    writeln!(out, "{}", "─".repeat(line_width))
}

/// The width of a line: each shown column with a space either side, one between columns.
fn line_width(widths: &[Option<usize>]) -> usize {
    let shown: Vec<usize> = widths.iter().flatten().copied().collect();
    shown.iter().map(|w| w + 2).sum::<usize>() + shown.len().saturating_sub(1)
}

/// Each column's width, or None when it is left out.
fn layout(natural: &[usize], columns: &[Column], max: Option<usize>) -> Vec<Option<usize>> {
    let mut widths: Vec<Option<usize>> = natural.iter().copied().map(Some).collect();
    let Some(max) = max else {
        return widths;
    };
    let mut droppable: Vec<(u8, usize)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c.give {
            Give::Drop(priority) => Some((priority, i)),
            _ => None,
        })
        .collect();
    droppable.sort_unstable();
    for (_, i) in droppable {
        if line_width(&widths) <= max {
            break;
        }
        widths[i] = None;
    }
    while line_width(&widths) > max {
        let widest = (0..columns.len())
            .filter(|i| columns[*i].give == Give::Shrink)
            .filter(|i| widths[*i].is_some_and(|w| w > MIN_SHRUNK))
            .max_by_key(|i| widths[*i]);
        let Some(i) = widest else { break };
        let excess = line_width(&widths) - max;
        widths[i] = widths[i].map(|w| w.saturating_sub(excess).max(MIN_SHRUNK));
    }
    widths
}

/// The text cut to `width` columns, its last one "…" when anything was cut.
fn cut(text: &str, width: usize) -> Cow<'_, str> {
    if text.width() <= width {
        return text.into();
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        kept.push(c);
        used += w;
    }
    kept.push('…');
    kept.into()
}

/// `text` broken at spaces into lines of at most `width` columns (a word longer than the
/// line stays whole on its own line): a sentence that fits the terminal instead of being
/// wrapped mid-word by it.
pub fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let fits = line.width() + 1 + word.width() <= width;
        if !line.is_empty() && !fits {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.join("\n")
}

fn write_row(
    out: &mut dyn Write,
    widths: &[Option<usize>],
    cells: impl IntoIterator<Item = Cell>,
) -> io::Result<()> {
    let mut line = String::new();
    let shown = cells
        .into_iter()
        .zip(widths)
        .filter_map(|(cell, width)| Some((cell, (*width)?)));
    for (i, (cell, width)) in shown.enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push(' ');
        let text = cut(&cell.text, width);
        match cell.colour {
            Some(colour) => {
                line.push_str(colour.sgr());
                line.push_str(&text);
                line.push_str(RESET);
            }
            None => line.push_str(&text),
        }
        line.extend(std::iter::repeat_n(
            ' ',
            width.saturating_sub(text.width()) + 1,
        ));
    }
    writeln!(out, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[(&str, &str)], colour: Option<Colour>) -> String {
        let mut out = Vec::new();
        write(&mut out, &["Days", "Domain"], rows, |(days, domain)| {
            vec![Cell::new(*days).coloured(colour), Cell::new(*domain)]
        })
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_and_every_line_as_wide_as_the_table() {
        let table = render(&[("-3", "a.example.com"), ("120", "é.example.com")], None);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[1], " Days   Domain        ");
        assert_eq!(lines[3], " -3     a.example.com ");
        assert_eq!(lines[4], " 120    é.example.com ");
        for line in &lines {
            assert_eq!(line.width(), lines[0].width(), "{table}");
        }
    }

    #[test]
    fn colour_wraps_the_text_and_not_the_padding() {
        let table = render(&[("5", "a")], Some(Colour::Red));
        assert!(table.contains(" \x1b[31m5\x1b[39m      a "), "{table:?}");
    }

    #[test]
    fn escape_sequences_in_a_cell_never_reach_the_terminal() {
        let table = render(&[("1", "evil\x1b]0;pwned\x07\x1b[2J.example.com")], None);
        assert!(!table.contains(['\x1b', '\x07']), "{table:?}");
        assert!(table.contains("evil\u{FFFD}]0;pwned\u{FFFD}\u{FFFD}[2J.example.com"));
    }

    #[test]
    fn a_narrow_table_drops_lowest_first_then_cuts_what_shrinks() {
        let columns = [
            Column {
                title: "Days",
                give: Give::Keep,
            },
            Column {
                title: "Domain",
                give: Give::Shrink,
            },
            Column {
                title: "Key",
                give: Give::Drop(1),
            },
            Column {
                title: "ARN",
                give: Give::Drop(0),
            },
        ];
        let row = [
            "12",
            "a-very-long-name.example.com",
            "RSA_2048",
            "arn:aws:acm:x",
        ];
        let fitted = |max| {
            let mut out = Vec::new();
            write_fitted(
                &mut out,
                &columns,
                &[row],
                |r| r.iter().map(|t| Cell::new(*t)).collect(),
                max,
            )
            .unwrap();
            String::from_utf8(out).unwrap()
        };
        let full = fitted(None);
        assert!(
            full.contains("arn:aws:acm:x") && full.contains("RSA_2048"),
            "{full}"
        );
        let no_arn = fitted(Some(50));
        assert!(
            !no_arn.contains("arn:aws") && no_arn.contains("RSA_2048"),
            "{no_arn}"
        );
        let cut = fitted(Some(30));
        assert!(!cut.contains("RSA_2048"), "{cut}");
        assert!(cut.contains(" a-very-long-name.exa… "), "{cut}");
        for line in cut.lines() {
            assert!(line.width() <= 30, "{line:?} is {} wide", line.width());
        }
    }

    #[test]
    fn a_long_sentence_wraps_at_spaces_to_the_width() {
        let text = "52 certificates in 11 of 13 accounts (189 regions): 8 expiring within 45 days";
        let wrapped = wrap(text, 30);
        assert!(wrapped.lines().all(|l| l.width() <= 30), "{wrapped}");
        assert_eq!(wrapped.replace('\n', " "), text, "no word lost or cut");
        assert_eq!(wrap("short", 30), "short");
        assert_eq!(
            wrap("a-very-long-word-alone b", 5),
            "a-very-long-word-alone\nb"
        );
    }

    #[test]
    fn a_line_break_inside_a_cell_does_not_tear_the_row() {
        let table = render(&[("1", "first\nsecond")], None);
        assert!(table.contains(" first second "), "{table}");
        assert_eq!(table.lines().count(), 5);
    }
}
