//! `fake-otlp`: the receiver as a process, for Python/Node/Kotlin/Swift tests.
//!
//! Prints `READY http=http://127.0.0.1:P grpc=http://127.0.0.1:Q` once listening, then
//! serves until SIGTERM/SIGINT or until stdin closes (so a parent test process that dies
//! takes it down too). Control endpoints live under `/control/` on the HTTP port.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use fake_otlp::{DEFAULT_MAX_BYTES, FakeOtlp, Options};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Parser)]
#[command(
    name = "fake-otlp",
    about = "Fake OTLP trace and metrics receiver (HTTP + gRPC) on 127.0.0.1"
)]
struct Args {
    /// OTLP/HTTP port (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    http_port: u16,
    /// OTLP/gRPC port (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    grpc_port: u16,
    /// Append every accepted request to FILE as one OTLP-JSON line (traces have
    /// `resourceSpans`, metrics `resourceMetrics`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Largest HTTP body in bytes (bigger gets 413).
    #[arg(long, default_value_t = DEFAULT_MAX_BYTES)]
    max_http_body_bytes: usize,
    /// Largest gRPC message in bytes (bigger gets RESOURCE_EXHAUSTED).
    #[arg(long, default_value_t = DEFAULT_MAX_BYTES)]
    max_grpc_message_bytes: usize,
    /// Keep running when stdin closes (e.g. started with stdin from /dev/null).
    #[arg(long)]
    ignore_stdin: bool,
}

fn port(p: u16) -> Option<u16> {
    (p != 0).then_some(p)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let fake = match FakeOtlp::try_start_with(Options {
        http_port: port(args.http_port),
        grpc_port: port(args.grpc_port),
        max_grpc_message_bytes: args.max_grpc_message_bytes,
        max_http_body_bytes: args.max_http_body_bytes,
        out_file: args.out,
    }) {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("fake-otlp: {e}");
            return ExitCode::FAILURE;
        }
    };

    let ready = format!(
        "READY http={} grpc={}",
        fake.http_endpoint(),
        fake.grpc_endpoint()
    );
    let code = match serve_until_exit(&ready, args.ignore_stdin) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-otlp: {e}");
            ExitCode::FAILURE
        }
    };
    fake.stop();
    code
}

fn print_ready(line: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}

/// Prints `ready` once signal handlers are installed (so a SIGTERM right after READY is
/// handled), then returns on SIGTERM, SIGINT or stdin EOF (unless `ignore_stdin`).
fn serve_until_exit(ready: &str, ignore_stdin: bool) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        print_ready(ready)?;
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        if !ignore_stdin {
            std::thread::Builder::new()
                .name("fake-otlp-stdin".into())
                .spawn(move || {
                    let mut sink = [0u8; 1024];
                    let mut stdin = std::io::stdin();
                    loop {
                        match stdin.read(&mut sink) {
                            Ok(0) => break,
                            Ok(_) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(_) => break,
                        }
                    }
                    let _ = eof_tx.send(());
                })?;
        }
        let stdin_closed = async {
            if eof_rx.await.is_err() {
                // Watcher not running (--ignore-stdin): never fire.
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            () = stdin_closed => {}
        }
        Ok(())
    })
}
