//! `tokentrace stats`: model calls summarised by model, by feature and by UTC day.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::format::{self, Style, pad, pad_left};
use crate::traces::{self, Totals};
use crate::{CliError, load};

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only calls that started in the last DAYS days (fractions allowed: 0.5 = 12 hours).
    #[arg(long, value_name = "DAYS", value_parser = parse_days)]
    pub since: Option<f64>,
}

fn parse_days(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(d) if d.is_finite() && d > 0.0 => Ok(d),
        _ => Err(format!("expected a positive number of days, got {s:?}")),
    }
}

/// Durations and sums of one group of model calls.
#[derive(Debug, Default)]
struct Group {
    durations: Vec<u64>,
    totals: Totals,
}

impl Group {
    fn add(&mut self, span: &crate::span::SpanInfo) {
        self.durations.push(span.duration_ns());
        self.totals.add(span);
    }
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p`% of the
/// values at or below it.
fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

pub fn run(dir: &Path, args: &StatsArgs, style: Style) -> Result<u8, CliError> {
    let cutoff = args.since.map(|days| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as f64)
            .unwrap_or(0.0);
        (now - days * 86_400e9).max(0.0) as u64
    });

    let mut by_model: BTreeMap<String, Group> = BTreeMap::new();
    let mut by_feature: BTreeMap<String, Group> = BTreeMap::new();
    let mut by_day: BTreeMap<String, Group> = BTreeMap::new();
    let mut total = Group::default();
    for trace in traces::build(load::spans(dir)?) {
        for (span, feature) in trace.spans.iter().zip(&trace.features) {
            if !span.is_model_call() || cutoff.is_some_and(|c| span.start_ns < c) {
                continue;
            }
            let model = span
                .requested_model
                .clone()
                .unwrap_or_else(|| "(unknown)".into());
            let feature = feature.clone().unwrap_or_else(|| "(none)".into());
            by_model.entry(model).or_default().add(span);
            by_feature.entry(feature).or_default().add(span);
            by_day
                .entry(format::utc_day(span.start_ns))
                .or_default()
                .add(span);
            total.add(span);
        }
    }

    let mut out = io::BufWriter::new(io::stdout().lock());
    let window = match args.since {
        Some(days) => format!(" in the last {days} day(s)"),
        None => String::new(),
    };
    if total.totals.calls == 0 {
        writeln!(out, "No model calls in {}{window}.", dir.display())?;
        out.flush()?;
        return Ok(crate::SUCCESS);
    }
    writeln!(
        out,
        "{}",
        style.bold(&format!("Model calls in {}{window}", dir.display()))
    )?;
    let unpriced_column = total.totals.unknown_cost > 0;

    let busiest_first = |groups: BTreeMap<String, Group>| {
        let mut rows: Vec<(String, Group)> = groups.into_iter().collect();
        rows.sort_by(|a, b| {
            b.1.totals
                .calls
                .cmp(&a.1.totals.calls)
                .then_with(|| a.0.cmp(&b.0))
        });
        rows
    };
    let tables = [
        ("MODEL", busiest_first(by_model)),
        ("FEATURE", busiest_first(by_feature)),
        ("DAY (UTC)", by_day.into_iter().collect()),
    ];
    for (title, rows) in tables {
        writeln!(out)?;
        write_table(&mut out, title, &rows, &total, unpriced_column, style)?;
    }
    if unpriced_column {
        let n = total.totals.unknown_cost;
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            style.yellow(&format!(
                "{n} call(s) with unknown cost (no price for their model); COST covers the rest."
            ))
        )?;
    }
    out.flush()?;
    Ok(crate::SUCCESS)
}

fn write_table(
    out: &mut impl Write,
    title: &str,
    rows: &[(String, Group)],
    total: &Group,
    unpriced_column: bool,
    style: Style,
) -> io::Result<()> {
    let mut header = vec![
        title, "CALLS", "INPUT", "OUTPUT", "P50", "P95", "P99", "ERRORS", "COST",
    ];
    if unpriced_column {
        header.push("UNPRICED");
    }
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for (label, group) in rows
        .iter()
        .map(|(l, g)| (l.as_str(), g))
        .chain([("TOTAL", total)])
    {
        let mut sorted = group.durations.clone();
        sorted.sort_unstable();
        let pct = |p| {
            percentile(&sorted, p)
                .map(format::duration)
                .unwrap_or_default()
        };
        let t = &group.totals;
        let mut row = vec![
            label.to_string(),
            format::thousands(t.calls as i64),
            format::thousands(t.input_tokens),
            format::thousands(t.output_tokens),
            pct(50.0),
            pct(95.0),
            pct(99.0),
            format::thousands(t.errors as i64),
            if t.unknown_cost == t.calls {
                "?".to_string()
            } else {
                format::cost(t.cost_usd)
            },
        ];
        if unpriced_column {
            row.push(format::thousands(t.unknown_cost as i64));
        }
        cells.push(row);
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let last = cells.len() - 1;
    for (r, row) in cells.iter().enumerate() {
        let line = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let cell = format::ellipsize(cell, 40);
                // Labels read left to right; numbers line up on the right.
                if c == 0 {
                    pad(&cell, widths[c].min(40))
                } else {
                    pad_left(&cell, widths[c])
                }
            })
            .collect::<Vec<_>>()
            .join("  ");
        let line = line.trim_end();
        let line = if r == 0 || r == last {
            style.bold(line)
        } else {
            line.to_string()
        };
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50.0), Some(5));
        assert_eq!(percentile(&v, 95.0), Some(10));
        assert_eq!(percentile(&v, 99.0), Some(10));
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 95.0), Some(95));
        assert_eq!(percentile(&v, 99.0), Some(99));
    }

    #[test]
    fn since_must_be_a_positive_number_of_days() {
        assert_eq!(parse_days("7"), Ok(7.0));
        assert_eq!(parse_days("0.5"), Ok(0.5));
        assert!(parse_days("0").is_err());
        assert!(parse_days("-1").is_err());
        assert!(parse_days("NaN").is_err());
        assert!(parse_days("week").is_err());
    }
}
