//! Ctrl-C and `kill`: SIGINT and SIGTERM stop the command by dropping it, so what it holds is
//! released as on any other early return (an archive's unpacked copy in the temporary
//! directory, a new layout's staging folder), instead of the process dying with them on disk.
//!
//! Stopping anywhere is safe because of how results are written, not because of anything here:
//! files and layouts are assembled aside and renamed into place, and a tag is written only after
//! everything it points at is stored. So the line printed on the way out can say so.

use std::process::ExitCode;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// A signal that stopped the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interrupt {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM (`kill`, a service manager, `timeout`).
    Term,
}

impl Interrupt {
    /// The shell's convention: 128 + the signal's number.
    pub(crate) fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Interrupt::Int => 130,
            Interrupt::Term => 143,
        })
    }

    /// The one line that says the command stopped and what it left.
    pub(crate) fn message(self) -> String {
        let name = match self {
            Interrupt::Int => "SIGINT",
            Interrupt::Term => "SIGTERM",
        };
        format!(
            "interrupted ({name}): stopped; nothing was left half-written and no tag was moved \
             to an incomplete image"
        )
    }
}

/// Runs synchronous work (a zTOC built from a file, the sample image written) on a blocking
/// thread, so that a signal is seen while it runs instead of when it ends: the command is
/// dropped at once, and the work has the shutdown's grace to finish (what it writes is
/// assembled aside and renamed into place, so it is whole or absent).
pub(crate) async fn off_the_async_threads<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => match join.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(join) => Err(join.into()),
        },
    }
}

/// SIGINT and SIGTERM, caught from the moment this is made (a signal that arrives while the
/// command is busy without yielding is kept until it does).
pub(crate) struct Signals {
    int: Option<Signal>,
    term: Option<Signal>,
}

impl Signals {
    /// Starts catching both signals; one that cannot be caught keeps its default action (the
    /// process ends at once), which is logged. Must run inside the runtime.
    pub(crate) fn catch() -> Signals {
        let catch = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(signal) => Some(signal),
            Err(e) => {
                tracing::warn!("cannot catch {name}: {e}");
                None
            }
        };
        Signals {
            int: catch(SignalKind::interrupt(), "SIGINT"),
            term: catch(SignalKind::terminate(), "SIGTERM"),
        }
    }

    /// The first of the two signals to arrive.
    pub(crate) async fn next(&mut self) -> Interrupt {
        async fn recv(signal: &mut Option<Signal>) {
            // `None` from `recv`: the runtime is shutting down, which is no signal.
            if let Some(signal) = signal
                && signal.recv().await.is_some()
            {
                return;
            }
            std::future::pending().await
        }
        tokio::select! {
            () = recv(&mut self.int) => Interrupt::Int,
            () = recv(&mut self.term) => Interrupt::Term,
        }
    }
}
