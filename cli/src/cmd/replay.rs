//! `tokentrace replay`: send every stored export request to an OTLP collector.

use std::path::Path;
use std::time::Duration;

use clap::Args;

use crate::sender::{self, Protocol, Sender};
use crate::{CliError, load};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Collector URL, e.g. http://localhost:4318 (HTTP; /v1/traces is added when the URL has
    /// no path) or http://localhost:4317 (gRPC).
    #[arg(long)]
    pub endpoint: String,
    #[arg(long, value_enum, default_value = "http/protobuf")]
    pub protocol: Protocol,
    /// Extra request header (repeatable), e.g. --header authorization="Bearer …".
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = sender::parse_header)]
    pub headers: Vec<(String, String)>,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
}

/// Replay stops after this many failures in a row: the collector is down or refusing
/// everything, and one message says so better than a thousand.
const MAX_CONSECUTIVE_FAILURES: usize = 5;

#[derive(Debug, Default)]
struct Tally {
    requests: usize,
    spans: usize,
    failed_requests: usize,
    failed_spans: usize,
    rejected_spans: i64,
    rejection_message: String,
    unreadable: usize,
}

pub fn run(dir: &Path, args: &ReplayArgs) -> Result<u8, CliError> {
    let reader = load::open(dir)?;
    let sender = sender::connect(
        args.protocol,
        &args.endpoint,
        &args.headers,
        Duration::from_secs(args.timeout.max(1)),
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    let tally = replay(&reader, sender.as_ref());
    println!(
        "replayed {} request(s) ({} span(s)) to {}; {} failed ({} span(s))",
        tally.requests, tally.spans, args.endpoint, tally.failed_requests, tally.failed_spans
    );
    if tally.rejected_spans > 0 {
        println!(
            "the collector accepted but rejected {} span(s): {}",
            tally.rejected_spans, tally.rejection_message
        );
    }
    if tally.unreadable > 0 {
        println!("{} unreadable line(s) skipped", tally.unreadable);
    }
    let nothing = tally.requests == 0 && tally.failed_requests == 0 && tally.unreadable > 0;
    Ok(if tally.failed_requests > 0 || nothing {
        crate::FAILURE
    } else {
        crate::SUCCESS
    })
}

fn replay(reader: &tokentrace_core::store::StoreReader, sender: &dyn Sender) -> Tally {
    let mut tally = Tally::default();
    let mut consecutive = 0;
    for item in reader.requests() {
        let stored = match item {
            Ok(stored) => stored,
            Err(issue) => {
                load::warn(std::slice::from_ref(&issue));
                tally.unreadable += 1;
                continue;
            }
        };
        let spans: usize = stored
            .request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum();
        if consecutive >= MAX_CONSECUTIVE_FAILURES {
            tally.failed_requests += 1;
            tally.failed_spans += spans;
            continue;
        }
        match sender.send(&stored.request) {
            Ok(accepted) => {
                consecutive = 0;
                tally.requests += 1;
                tally.spans += spans;
                if accepted.rejected_spans > 0 {
                    tally.rejected_spans += accepted.rejected_spans;
                    tally.rejection_message = accepted.message;
                }
            }
            Err(e) => {
                consecutive += 1;
                tally.failed_requests += 1;
                tally.failed_spans += spans;
                eprintln!("error: {}:{}: {e}", stored.file.display(), stored.line);
                if consecutive == MAX_CONSECUTIVE_FAILURES {
                    eprintln!(
                        "error: {MAX_CONSECUTIVE_FAILURES} failures in a row; not sending the rest"
                    );
                }
            }
        }
    }
    tally
}
