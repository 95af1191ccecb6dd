//! Where results go: human text (tables, aligned fields, colour on a terminal) or one JSON
//! document, on stdout.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::error::CliError;

/// How a command prints its results: human text or one JSON document, with or without colour.
/// Everything goes to stdout; errors go to stderr, one line each, whatever the format.
///
/// A closed stdout (`sayiir list | head -1`) is not an error: what is left is dropped and the
/// command finishes (a bulk action still acts on every instance it selected).
#[derive(Debug)]
pub struct Output {
    json: bool,
    colour: bool,
    closed: AtomicBool,
}

impl Output {
    /// Human text (`json` false) or one JSON document (`json` true) on stdout, with colour only
    /// when stdout is a terminal, `NO_COLOR` is unset (or empty) and the output is not JSON.
    pub fn new(json: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let colour = !json && !no_color && std::io::stdout().is_terminal();
        Self::with_colour(json, colour)
    }

    /// The same with colour on or off as given (never with JSON).
    pub fn with_colour(json: bool, colour: bool) -> Self {
        Self {
            json,
            colour: colour && !json,
            closed: AtomicBool::new(false),
        }
    }

    /// Whether the output is one JSON document.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Whether human text is coloured.
    pub fn is_coloured(&self) -> bool {
        self.colour
    }

    /// Writes `text` to stdout as it is.
    pub(crate) fn text(&self, text: &str) -> Result<(), CliError> {
        if self.closed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed.store(true, Ordering::Relaxed);
                Ok(())
            }
            Err(source) => Err(CliError::Io {
                context: "cannot write to stdout".into(),
                source,
            }),
        }
    }

    /// Writes `value` as one JSON document (pretty, then a newline).
    pub(crate) fn json<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        let mut doc = serde_json::to_string_pretty(value).map_err(|e| CliError::Io {
            context: "cannot render the JSON output".into(),
            source: e.into(),
        })?;
        doc.push('\n');
        self.text(&doc)
    }

    /// `s` painted in `style` when colour is on.
    pub(crate) fn paint(&self, style: Style, s: &str) -> String {
        if self.colour && style != Style::Plain {
            format!("\x1b[{}m{s}\x1b[0m", style.code())
        } else {
            s.to_owned()
        }
    }
}

/// A colour or weight for a piece of human text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Bold,
    Dim,
    Green,
    Red,
    Yellow,
    Cyan,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Plain => "0",
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Green => "32",
            Style::Red => "31",
            Style::Yellow => "33",
            Style::Cyan => "36",
        }
    }
}

/// `s` with its control characters escaped as Rust writes them (`\n`, `\u{1b}`): text read
/// from the store cannot move the cursor, colour the terminal or break a line apart.
pub(crate) fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A table of plain columns: a bold header, cells padded to the widest of their column (by
/// characters), two spaces between columns, the last column not padded.
pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<(String, Style)>>,
}

impl Table {
    pub(crate) fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// A row of cells with their styles.
    pub(crate) fn styled<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = (S, Style)>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|(c, s)| (clean(c.as_ref()).into_owned(), s))
                .collect(),
        );
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row, each ending with a newline.
    pub(crate) fn render(&self, out: &Output) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, (cell, _)) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut text = String::new();
        let header = self.header.iter().map(|h| (h.to_string(), Style::Bold));
        for row in std::iter::once(header.collect::<Vec<_>>()).chain(self.rows.iter().cloned()) {
            let mut line = String::new();
            for (i, (cell, style)) in row.iter().enumerate().take(columns) {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(&out.paint(*style, cell));
                if i + 1 < columns {
                    let pad = widths[i].saturating_sub(cell.chars().count());
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// Aligned `name  value` lines (the fields of one thing).
pub(crate) struct Fields {
    lines: Vec<(&'static str, String)>,
}

impl Fields {
    pub(crate) fn new() -> Self {
        Self { lines: Vec::new() }
    }

    /// A field whose value is already cleaned and painted.
    pub(crate) fn raw(&mut self, name: &'static str, value: String) {
        self.lines.push((name, value));
    }

    /// A field whose value comes from the store (cleaned of control characters).
    pub(crate) fn add(&mut self, name: &'static str, value: impl AsRef<str>) {
        self.raw(name, clean(value.as_ref()).into_owned());
    }

    pub(crate) fn render(&self, out: &Output) -> String {
        let width = self.lines.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        let mut text = String::new();
        for (name, value) in &self.lines {
            let pad = " ".repeat(width - name.len());
            text.push_str(&format!("{}{pad}  {value}\n", out.paint(Style::Bold, name)));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_escape_control_characters() {
        let out = Output::with_colour(false, false);
        let mut t = Table::new(&["ID", "STATUS", "NOTE"]);
        t.styled(["a", "running", "x"].map(|c| (c, Style::Plain)));
        t.styled(["long-id", "ok", "line\nbreak"].map(|c| (c, Style::Plain)));
        assert_eq!(
            t.render(&out),
            "ID       STATUS   NOTE\na        running  x\nlong-id  ok       line\\nbreak\n"
        );
    }

    #[test]
    fn colour_is_never_used_with_json() {
        let out = Output::with_colour(true, true);
        assert!(!out.is_coloured());
        assert_eq!(out.paint(Style::Red, "x"), "x");
        let out = Output::with_colour(false, true);
        assert_eq!(out.paint(Style::Red, "x"), "\x1b[31mx\x1b[0m");
    }
}
