//! Writing results: files replaced atomically, JSON documents and lines on stdout, notes on
//! stderr.
//!
//! Nothing here panics when the reader goes away (`socix … | head`): stdout writes return the
//! error, which `main` turns into a quiet exit, and stderr notes are dropped. The crate denies
//! `println!` and `eprintln!` (they panic on a closed pipe), so every write comes through here
//! or through a `writeln!` whose error is returned.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::advice::Writing;

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so the
/// target is either untouched or complete.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file_name = path.file_name().context("the output path names no file")?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(Writing(format!("cannot write {}", path.display())))
    })
}

/// Prints a value as pretty JSON on stdout. Encoded first, then written, so a closed pipe is
/// an `io::Error` (which `main` recognises) rather than hidden inside a `serde_json::Error`.
pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// A line on stdout.
pub(crate) fn line(text: impl std::fmt::Display) -> std::io::Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")
}

/// A line on stderr (progress, notes, errors). A failure to write it is ignored: stderr is
/// where failures would be reported, so there is nowhere left to say anything.
pub(crate) fn note(text: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Prints rows under a header, each column padded to its widest cell plus four spaces (the
/// Go CLI's tabwriter padding), the last column unpadded.
pub(crate) fn print_table(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = std::io::stdout().lock();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}    ", width = widths[i]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
