//! `tokentrace replay`: send every stored export request to an OTLP collector.

use std::path::Path;
use std::time::Duration;

use clap::Args;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokentrace_core::config::Protocol;
use tokentrace_core::export::{ExportOutcome, ExportResult};

use crate::collector::{self, Collector, Settings};
use crate::{CliError, load};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Collector URL, e.g. http://localhost:4318 (HTTP; /v1/traces is added when the URL has
    /// no path) or http://localhost:4317 (gRPC).
    #[arg(long)]
    pub endpoint: String,
    /// grpc, http/protobuf or http/json.
    #[arg(long, default_value = "http/protobuf", value_parser = Protocol::parse)]
    pub protocol: Protocol,
    /// Extra request header (repeatable), e.g. --header authorization="Bearer …".
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = collector::parse_header)]
    pub headers: Vec<(String, String)>,
    /// Time allowed for each stored request, retries included (the collector throttling,
    /// unavailable or unreachable).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
}

/// Replay stops after this many failures in a row: the collector is refusing everything,
/// and one message says so better than a thousand.
const MAX_CONSECUTIVE_FAILURES: usize = 5;

#[derive(Debug, Default)]
struct Tally {
    requests: usize,
    spans: usize,
    failed_requests: usize,
    failed_spans: usize,
    rejected_spans: u64,
    /// The collector's latest explanation of rejected spans.
    rejection_message: Option<String>,
    unreadable: usize,
}

pub fn run(dir: &Path, args: &ReplayArgs) -> Result<u8, CliError> {
    // Arguments first: a bad endpoint is reported as such even when the store is missing.
    let collector = Collector::connect(&Settings {
        endpoint: &args.endpoint,
        protocol: args.protocol,
        headers: &args.headers,
        timeout: Duration::from_secs(args.timeout.max(1)),
    })?;
    let reader = load::open(dir)?;
    let tally = replay(&reader, &collector);
    println!(
        "replayed {} request(s) ({} span(s)) to {}; {} failed ({} span(s))",
        tally.requests, tally.spans, args.endpoint, tally.failed_requests, tally.failed_spans
    );
    if tally.rejected_spans > 0 {
        match &tally.rejection_message {
            Some(message) => println!(
                "the collector accepted but rejected {} span(s): {message}",
                tally.rejected_spans
            ),
            None => println!(
                "the collector accepted but rejected {} span(s)",
                tally.rejected_spans
            ),
        }
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

fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

fn replay(reader: &tokentrace_core::store::StoreReader, collector: &Collector) -> Tally {
    let mut tally = Tally::default();
    let mut consecutive = 0;
    let mut stopped = false;
    for item in reader.requests() {
        let stored = match item {
            Ok(stored) => stored,
            Err(issue) => {
                load::warn(std::slice::from_ref(&issue));
                tally.unreadable += 1;
                continue;
            }
        };
        let spans = span_count(&stored.request);
        if stopped {
            tally.failed_requests += 1;
            tally.failed_spans += spans;
            continue;
        }
        let ExportResult {
            outcome,
            retries,
            partial_success_message,
        } = collector.send(&stored.request);
        match outcome {
            ExportOutcome::Success { rejected } => {
                consecutive = 0;
                tally.requests += 1;
                tally.spans += spans;
                if rejected > 0 {
                    tally.rejected_spans += rejected;
                    tally.rejection_message =
                        partial_success_message.or(tally.rejection_message.take());
                }
            }
            ExportOutcome::Failed { error } => {
                consecutive += 1;
                tally.failed_requests += 1;
                tally.failed_spans += spans;
                eprintln!("error: {}:{}: {error}", stored.file.display(), stored.line);
                // Retried until the timeout without success: the collector is down or
                // overloaded, and every further request would wait just as long.
                if retries > 0 {
                    eprintln!("error: still failing after {retries} retries; not sending the rest");
                    stopped = true;
                } else if consecutive == MAX_CONSECUTIVE_FAILURES {
                    eprintln!(
                        "error: {MAX_CONSECUTIVE_FAILURES} failures in a row; not sending the rest"
                    );
                    stopped = true;
                }
            }
        }
    }
    tally
}
