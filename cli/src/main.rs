//! `tokentrace`: look at the local trace store (`.tokentrace/` or `TOKENTRACE_DIR`).
//!
//! Exit codes: 0 success (unreadable lines are warned about on stderr but do not fail a
//! command that still has something to show); 1 the store is missing, nothing in it is
//! readable, the trace was not found, or replay had failures; 2 invalid arguments.

/// Records are built on the application thread and freed on the export
/// worker; glibc malloc spends most of the record path on that pattern.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cmd;
mod format;
mod load;
mod messages;
mod sender;
mod span;
mod traces;

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

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
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Err(CliError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokentrace: {e}");
            ExitCode::FAILURE
        }
    }
}
