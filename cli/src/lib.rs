//! The `tokentrace` command line as a library: the `tokentrace` binary and the
//! Python extension (`python -m tokentrace`, so a source install without the
//! binary still has the CLI) both call [`run`].
//!
//! Exit codes: 0 success (unreadable lines are warned about on stderr but do not fail a
//! command that still has something to show); 1 the store is missing, nothing in it is
//! readable, the trace was not found, or replay had failures; 2 invalid arguments.

mod cmd;
mod collector;
mod format;
mod load;
mod messages;
mod span;
mod traces;

use std::io;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tokentrace_core::store::DEFAULT_DIR;

#[derive(Debug, Parser)]
#[command(
    name = "tokentrace",
    version,
    about = "View, summarise, follow and replay the local tokentrace store"
)]
struct Cli {
    /// Store directory.
    #[arg(long, global = true, env = "TOKENTRACE_DIR", default_value = DEFAULT_DIR)]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Latest traces as trees, or one trace with its messages.
    View(cmd::view::ViewArgs),
    /// Calls, tokens, latency percentiles, errors and cost by model, feature and day.
    Stats(cmd::stats::StatsArgs),
    /// Print recent spans, then follow the store as spans arrive (Ctrl-C to stop).
    Tail(cmd::tail::TailArgs),
    /// Send the whole store to an OTLP collector.
    Replay(cmd::replay::ReplayArgs),
}

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(
        "no trace store at {0} (run an instrumented app first, or point --dir / TOKENTRACE_DIR at the store)"
    )]
    NoStore(PathBuf),
    #[error("{0}")]
    Failed(String),
    /// An argument clap accepted but core's validation did not.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

pub(crate) const SUCCESS: u8 = 0;
pub(crate) const FAILURE: u8 = 1;
pub(crate) const USAGE: u8 = 2;

/// Parses `args` (the program name first, as `std::env::args_os`) and runs the command;
/// returns the process exit code. `--help`, `--version` and argument errors print what
/// clap prints and return its code instead of exiting the process.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Printing fails only when stdout/stderr is gone; the code still says what happened.
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(USAGE);
        }
    };
    let style = format::Style::detect();
    let result = match cli.command {
        Command::View(args) => cmd::view::run(&cli.dir, &args, style),
        Command::Stats(args) => cmd::stats::run(&cli.dir, &args, style),
        Command::Tail(args) => cmd::tail::run(&cli.dir, &args, style),
        Command::Replay(args) => cmd::replay::run(&cli.dir, &args),
    };
    match result {
        Ok(code) => code,
        // `tokentrace view | head`: the reader is gone, which is not an error.
        Err(CliError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => SUCCESS,
        Err(e @ CliError::Usage(_)) => {
            eprintln!("tokentrace: {e}");
            USAGE
        }
        Err(e) => {
            eprintln!("tokentrace: {e}");
            FAILURE
        }
    }
}
