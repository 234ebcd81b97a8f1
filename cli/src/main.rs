//! `tokentrace`: look at the local trace store (`.tokentrace/` or `TOKENTRACE_DIR`).
//! See the library ([`tokentrace_cli::run`]) for the commands and exit codes.

use std::process::ExitCode;

/// Records are built on the application thread and freed on the export
/// worker; glibc malloc spends most of the record path on that pattern.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(tokentrace_cli::run(std::env::args_os()))
}
