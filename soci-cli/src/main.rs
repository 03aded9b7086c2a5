//! `socix`: build SOCI indexes and zTOCs, from registries and OCI layouts, without a daemon.
//!
//! A thin shell: it parses arguments, calls the libraries and reports. Exit codes: 0 success,
//! 1 failure, 2 usage error (clap's own code, kept so scripts can tell a typo from a failure),
//! 130 and 143 stopped by SIGINT and SIGTERM.

#![forbid(unsafe_code)]
// `println!` and `eprintln!` panic when the reader has gone (`socix … | head`): output goes
// through `output`, whose writes return the error instead.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod advice;
mod build;
mod connect;
mod index;
mod interrupt;
mod output;
mod prefetch;
mod progress;
mod refs;
mod sample;
mod summary;
mod verify;
mod ztoc;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Build and inspect SOCI (Seekable OCI) indexes and zTOCs, without a container daemon.
///
/// Images are named as skopeo names them: `registry/repo:tag`, `registry/repo@sha256:…`,
/// `oci:DIR[:TAG]` (an OCI image layout directory) or `oci-archive:FILE[:TAG]` (one in a tar).
#[derive(Parser)]
#[command(
    name = "socix",
    version,
    about,
    propagate_version = true,
    after_help = "Examples:\n  \
        socix sample-image /tmp/sample && socix convert oci:/tmp/sample:latest\n  \
        socix convert 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0\n  \
        socix create --plain-http 127.0.0.1:5000/app:1.0\n  \
        socix verify oci:/tmp/sample:latest-soci"
)]
struct Cli {
    /// Log what happens to stderr (-v: steps, -vv: HTTP requests, -vvv: everything). RUST_LOG
    /// overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a SOCI index V1 for each platform of an image and publish it as a referrer of the
    /// image manifest (the image itself is unchanged).
    #[command(after_help = build::CREATE_EXAMPLES)]
    Create(build::CreateArgs),
    /// Convert an image into a SOCI-enabled image (SOCI index V2), tagged `<tag>-soci` unless
    /// told otherwise.
    #[command(after_help = build::CONVERT_EXAMPLES)]
    Convert(build::ConvertArgs),
    /// List and show the SOCI indexes of an image.
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// Work with zTOCs (the per-layer table of contents): local files, or those of an image.
    #[command(subcommand)]
    Ztoc(ztoc::ZtocCommand),
    /// List and show the prefetch artifacts of an image's SOCI indexes.
    #[command(subcommand)]
    Prefetch(prefetch::PrefetchCommand),
    /// Check every zTOC of an image's SOCI indexes against its layer; exit 1 on any problem.
    #[command(after_help = verify::EXAMPLES)]
    Verify(verify::VerifyArgs),
    /// Write a small but real sample image (a 12 MiB layer and a tiny one) as an OCI layout, to
    /// try the other commands offline.
    #[command(
        name = "sample-image",
        after_help = "Examples:\n  \
            socix sample-image /tmp/sample\n  \
            socix sample-image /tmp/sample --tag v1 && socix convert oci:/tmp/sample:v1"
    )]
    SampleImage(sample::SampleArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
        socix completions bash > ~/.local/share/bash-completion/completions/socix\n  \
        socix completions zsh > ~/.zfunc/_socix")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// How the command reaches registries, for the advice given with its errors.
    fn plain_http(&self) -> advice::PlainHttp {
        match self {
            Command::Create(args) => args.plain_http(),
            Command::Convert(args) => args.plain_http(),
            Command::Index(command) => advice::PlainHttp::All(command.connect().plain_http),
            Command::Ztoc(command) => {
                advice::PlainHttp::All(command.connect().is_some_and(|c| c.plain_http))
            }
            Command::Prefetch(command) => advice::PlainHttp::All(command.connect().plain_http),
            Command::Verify(args) => advice::PlainHttp::All(args.select.connect.plain_http),
            Command::SampleImage(_) | Command::Completions { .. } => advice::PlainHttp::All(false),
        }
    }

    /// Whether the command was asked for JSON, so its errors are a JSON document too.
    fn json(&self) -> bool {
        match self {
            Command::Create(args) => args.report.json,
            Command::Convert(args) => args.report.json,
            Command::Index(command) => command.json(),
            Command::Ztoc(command) => command.json(),
            Command::Prefetch(command) => command.json(),
            Command::Verify(args) => args.json,
            Command::SampleImage(_) | Command::Completions { .. } => false,
        }
    }

    async fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Create(args) => args.run().await,
            Command::Convert(args) => args.run().await,
            Command::Index(command) => command.run().await,
            Command::Ztoc(command) => command.run().await,
            Command::Prefetch(command) => command.run().await,
            Command::Verify(args) => args.run().await,
            Command::SampleImage(args) => {
                interrupt::off_the_async_threads(move || args.run()).await
            }
            Command::Completions { shell } => {
                // Generated in memory: clap_complete panics on a failed write.
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "socix", &mut script);
                std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
                Ok(())
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Usage errors (exit 2) are errors too: with --json, also one JSON document.
            if e.use_stderr() && std::env::args_os().any(|a| a == "--json") {
                let rendered = e.to_string();
                print_error_json(error_line(&rendered).unwrap_or(&rendered), &[]);
            }
            e.exit()
        }
    };
    init_logging(cli.verbose);
    let plain_http = cli.command.plain_http();
    let json = cli.command.json();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            output::note(format_args!("socix: cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        // Caught before the command starts, so no signal finds it without a handler.
        let mut signals = interrupt::Signals::catch();
        tokio::select! {
            // A signal wins over a command that finished in the same poll with an error
            // (an `Interrupted` read, say).
            biased;
            interrupt = signals.next() => Err(interrupt),
            result = cli.command.run() => Ok(result),
        }
    });
    let result = match result {
        Ok(result) => result,
        // The command has been dropped: what it held is gone, but for what blocking tasks
        // (a layer being read or built) still hold, released as they end.
        Err(interrupt) => {
            // Blocking work still running may find the runtime shut down under it (a retry's
            // timer, say) and panic: that is the stop it was told, not a fault to report.
            std::panic::set_hook(Box::new(|_| {}));
            runtime.shutdown_timeout(SHUTDOWN_GRACE);
            let message = interrupt.message();
            output::note(format_args!("socix: {message}"));
            if json {
                print_error_json(&message, &[]);
            }
            return interrupt.exit_code();
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): nothing left to say, as `ls | head`.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let message = advice::message(&e);
            let hints = advice::hints(&e, &plain_http);
            output::note(format_args!("socix: {message}"));
            for hint in &hints {
                output::note(format_args!("hint: {hint}"));
            }
            // A failed verification has already printed its document (`"ok": false`).
            if json && !e.is::<verify::Failed>() {
                print_error_json(&message, &hints);
            }
            if advice::is_usage(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// How long an interrupted command's blocking tasks get to end (and drop what they hold)
/// before the process exits without them: the user asked it to stop.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The first line of clap's error, without its `error: ` prefix.
fn error_line(rendered: &str) -> Option<&str> {
    rendered.lines().next()?.strip_prefix("error: ")
}

/// `{"error": …, "hint": …}` on stdout, for scripts that read the `--json` output: the hints
/// joined by newlines, or null when there is none.
fn print_error_json(message: &str, hints: &[String]) {
    let hint = (!hints.is_empty()).then(|| hints.join("\n"));
    // Written or not: stderr already says it, and a closed stdout is no new failure.
    let _ = output::print_json(&serde_json::json!({ "error": message, "hint": hint }));
}

/// Logs go to stderr, so stdout stays the command's output (a summary, one JSON document).
/// Whatever the level, the HTTP and AWS crates are capped where they would print headers and
/// bodies (credentials among them); `-vv` shows each request through soci-registry's own line.
fn init_logging(verbose: u8) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let default = match verbose {
        0 => "warn".to_owned(),
        1 => format!(
            "warn,socix=debug,soci_registry=debug,{}=info",
            soci_registry::HTTP_TARGET
        ),
        2 => "info,socix=trace,soci_registry=trace".to_owned(),
        _ => "trace".to_owned(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .finish()
        .with(soci_registry::credential_safe_caps())
        .try_init();
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
