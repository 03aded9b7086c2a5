//! Progress while layers are indexed, on stderr so stdout stays the result: a bar per layer on a
//! terminal, a line per layer event otherwise (logs, CI), nothing with `--quiet`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use soci_registry::Progress;

use crate::output::note;
use crate::summary::{bytes, short};

/// The pipeline's progress callback.
pub(crate) type Callback = Arc<dyn Fn(Progress) + Send + Sync>;

/// Progress of one command.
pub(crate) struct Reporter {
    mode: Mode,
    /// What was done to a finished layer: `->` when its zTOC was built, `matches` when checked.
    done: &'static str,
}

/// Where progress goes.
enum Mode {
    /// Nothing is shown.
    Quiet,
    /// One line per layer started, finished, reused or skipped.
    Lines,
    /// A bar per layer being indexed.
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, ProgressBar>>,
    },
}

impl Reporter {
    /// Bars when stderr is a terminal, lines otherwise, nothing when `quiet`; a finished layer
    /// is shown as `layer <digest> <done> ztoc <digest>`.
    pub(crate) fn new(quiet: bool, done: &'static str) -> Arc<Reporter> {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Mutex::new(HashMap::new()),
            }
        } else {
            Mode::Lines
        };
        Arc::new(Reporter { mode, done })
    }

    /// The callback to hand the pipeline.
    pub(crate) fn callback(self: &Arc<Self>) -> Callback {
        let reporter = self.clone();
        Arc::new(move |event| reporter.event(event))
    }

    /// A line above the bars (or alone), unless quiet.
    pub(crate) fn say(&self, line: &str) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Lines => note(line),
            Mode::Bars { multi, .. } => {
                let _ = multi.println(line);
            }
        }
    }

    /// Removes what is left of the bars, before the summary is printed.
    pub(crate) fn finish(&self) {
        if let Mode::Bars { multi, bars } = &self.mode {
            for (_, bar) in lock(bars).drain() {
                bar.finish_and_clear();
            }
            let _ = multi.clear();
        }
    }

    fn event(&self, event: Progress) {
        match (&self.mode, event) {
            // A prefetch path found nowhere is a warning, shown even when progress is not.
            (mode, Progress::PrefetchNotFound { platform, path }) => {
                let warning = format!(
                    "warning: prefetch file {path} not found in any layer ({platform}: only \
                     layers with a zTOC are searched, by their exact tar names)"
                );
                match mode {
                    Mode::Quiet => note(warning),
                    _ => self.say(&warning),
                }
            }
            (Mode::Quiet, _) => {}
            (Mode::Lines, Progress::Started { digest, size }) => {
                note(format_args!("layer {digest}: reading {}", bytes(size)));
            }
            (Mode::Bars { multi, bars }, Progress::Started { digest, size }) => {
                let bar = multi.add(ProgressBar::new(size));
                bar.set_style(bar_style());
                bar.set_prefix(short(&digest).to_owned());
                bar.enable_steady_tick(Duration::from_millis(200));
                lock(bars).insert(digest, bar);
            }
            (Mode::Bars { bars, .. }, Progress::Bytes { digest, done, .. }) => {
                if let Some(bar) = lock(bars).get(&digest) {
                    bar.set_position(done);
                }
            }
            (
                _,
                Progress::Done {
                    digest,
                    ztoc_digest,
                    ztoc_size,
                },
            ) => {
                // A finished layer's bar gives way to a line that stays above the others.
                if let Mode::Bars { multi, bars } = &self.mode
                    && let Some(bar) = lock(bars).remove(&digest)
                {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                self.say(&format!(
                    "layer {digest} {} ztoc {ztoc_digest} ({})",
                    self.done,
                    bytes(ztoc_size)
                ));
            }
            (
                _,
                Progress::Reused {
                    digest,
                    ztoc_digest,
                },
            ) => self.say(&format!(
                "layer {digest} -> ztoc {ztoc_digest} (already exists)"
            )),
            (_, Progress::Skipped { digest, reason }) => {
                self.say(&format!("ztoc skipped - layer {digest}: {reason}"));
            }
            (
                _,
                Progress::Prefetch {
                    digest,
                    artifact_digest,
                },
            ) => self.say(&format!(
                "Created prefetch artifact for layer {digest}: {artifact_digest}"
            )),
            // Byte counts only move bars; events added later are not shown.
            _ => {}
        }
    }
}

/// A command stopped half-way (an error, an interrupt) clears its bars too, so the line that
/// says why is not printed among them.
impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .expect("a valid template")
    .progress_chars("=> ")
}
