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

/// Write a table of `rows`, each turned into cells by `cells` (called twice per row: once to
/// measure, once to write).
pub fn write<R>(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[R],
    cells: impl Fn(&R) -> Vec<Cell>,
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(cells(row)) {
            *width = (*width).max(cell.width());
        }
    }
    let line_width = widths.iter().map(|w| w + 2).sum::<usize>() + widths.len().saturating_sub(1);
    writeln!(out, "{}", "─".repeat(line_width))?;
    write_row(out, &widths, header.iter().map(|h| Cell::new(*h)))?;
    writeln!(out, "{}", "═".repeat(line_width))?;
    for row in rows {
        write_row(out, &widths, cells(row))?;
    }
    writeln!(out, "{}", "─".repeat(line_width))
}

fn write_row(
    out: &mut dyn Write,
    widths: &[usize],
    cells: impl IntoIterator<Item = Cell>,
) -> io::Result<()> {
    let mut line = String::new();
    for (i, (cell, width)) in cells.into_iter().zip(widths).enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push(' ');
        match cell.colour {
            Some(colour) => {
                line.push_str(colour.sgr());
                line.push_str(&cell.text);
                line.push_str(RESET);
            }
            None => line.push_str(&cell.text),
        }
        line.extend(std::iter::repeat_n(
            ' ',
            width.saturating_sub(cell.width()) + 1,
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
    fn a_line_break_inside_a_cell_does_not_tear_the_row() {
        let table = render(&[("1", "first\nsecond")], None);
        assert!(table.contains(" first second "), "{table}");
        assert_eq!(table.lines().count(), 5);
    }
}
