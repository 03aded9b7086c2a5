//! `socix`: build SOCI indexes and zTOCs.
//!
//! A thin shell: it parses arguments, calls the libraries and reports. Exit codes: 0 success,
//! 1 failure, 2 usage error.

mod output;
mod ztoc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Build and inspect SOCI (Seekable OCI) indexes and zTOCs, without a container daemon.
#[derive(Parser)]
#[command(name = "socix", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with zTOCs (the per-layer table of contents) on local files.
    #[command(subcommand)]
    Ztoc(ztoc::ZtocCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ztoc(command) => command.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): nothing left to say.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("socix: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
