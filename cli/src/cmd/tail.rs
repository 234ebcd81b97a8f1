//! `tokentrace tail`: recent spans, then every new span as it lands in the store.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use tokentrace_core::store::StoreFollower;

use crate::cmd::Columns;
use crate::format::{self, Style, pad, pad_left};
use crate::span::SpanInfo;
use crate::{CliError, load};

#[derive(Debug, Args)]
pub struct TailArgs {
    /// How many of the existing spans to print before following.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub lines: usize,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// How often to look for new spans, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub interval: u64,
}

pub fn run(dir: &Path, args: &TailArgs, style: Style) -> Result<u8, CliError> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // If a handler cannot be installed, Ctrl-C still ends the process the default way.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let deadline = match args.timeout {
        Some(secs) if secs.is_finite() && secs >= 0.0 => {
            Some(Instant::now() + Duration::from_secs_f64(secs.min(1e9)))
        }
        Some(secs) => {
            return Err(CliError::Failed(format!(
                "--timeout must be a number of seconds, got {secs}"
            )));
        }
        None => None,
    };
    let interval = Duration::from_millis(args.interval.max(10));

    let mut follower = StoreFollower::new(dir);
    let mut out = io::stdout().lock();
    let first = follower.poll()?;
    load::warn(&first.issues);
    if !dir.exists() {
        eprintln!("waiting for {} to be created…", dir.display());
    }
    let skip = first.spans.len().saturating_sub(args.lines);
    for stored in first.spans.into_iter().skip(skip) {
        writeln!(out, "{}", line(&SpanInfo::new(stored), style))?;
    }
    out.flush()?;

    loop {
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if stop.load(Ordering::SeqCst) || remaining == Some(Duration::ZERO) {
            return Ok(crate::SUCCESS);
        }
        std::thread::sleep(remaining.map_or(interval, |r| r.min(interval)));
        let batch = match follower.poll() {
            Ok(batch) => batch,
            // A transient listing error (the directory being replaced): try again.
            Err(e) => {
                eprintln!("warning: {}: {e}", dir.display());
                continue;
            }
        };
        load::warn(&batch.issues);
        for stored in batch.spans {
            writeln!(out, "{}", line(&SpanInfo::new(stored), style))?;
        }
        out.flush()?;
    }
}

/// `time  trace  name  duration  model  tokens  cost  error`, fixed widths so a stream of
/// lines stays aligned.
fn line(span: &SpanInfo, style: Style) -> String {
    let cols = Columns::of(span);
    let name = pad(&format::ellipsize(&span.name, 40), 40);
    let text = format!(
        "{}  {}  {}  {}  {}  {}  {}  {}",
        style.dim(&format::utc_time_millis(span.start_ns)),
        style.cyan(span.short_trace_id()),
        if span.error.is_some() {
            style.red(&name)
        } else {
            name
        },
        pad_left(&cols.duration, 7),
        pad(&format::ellipsize(&cols.model, 24), 24),
        pad_left(&cols.tokens, 16),
        pad_left(&cols.cost, 10),
        style.red(&cols.error),
    );
    text.trim_end().to_string()
}
