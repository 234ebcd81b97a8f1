//! `tokentrace view`: traces as trees; `view TRACE_ID` adds each span's messages.

use std::io::{self, Write};
use std::path::Path;

use clap::Args;

use crate::cmd::Columns;
use crate::format::{self, Style, pad, pad_left};
use crate::messages::{self, Limits};
use crate::span::{SpanInfo, display_value};
use crate::traces::{self, Trace};
use crate::{CliError, load};

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Show this trace (full id or a unique prefix) with its messages.
    pub trace_id: Option<String>,
    /// How many of the latest traces to show.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// Only traces with a span from this `service.name`.
    #[arg(long)]
    pub service: Option<String>,
    /// With TRACE_ID: show messages, arguments and results without shortening them.
    #[arg(long)]
    pub full: bool,
}

/// Span names longer than this are cut so the columns stay on screen.
const MAX_NAME_WIDTH: usize = 48;
const MAX_MODEL_WIDTH: usize = 32;

pub fn run(dir: &Path, args: &ViewArgs, style: Style) -> Result<u8, CliError> {
    let mut traces = traces::build(load::spans(dir)?);
    if let Some(service) = &args.service {
        traces.retain(|t| t.has_service(service));
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    if let Some(wanted) = &args.trace_id {
        let trace = find(&traces, wanted)?;
        let limits = if args.full {
            Limits::FULL
        } else {
            Limits::TERMINAL
        };
        write_trace(&mut out, trace, true, style)?;
        write_details(&mut out, trace, limits, style)?;
        out.flush()?;
        return Ok(crate::SUCCESS);
    }
    if traces.is_empty() {
        writeln!(out, "No traces in {}.", dir.display())?;
    }
    // Newest first.
    for (i, trace) in traces.iter().rev().take(args.limit).enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        write_trace(&mut out, trace, false, style)?;
    }
    out.flush()?;
    Ok(crate::SUCCESS)
}

fn find<'a>(traces: &'a [Trace], wanted: &str) -> Result<&'a Trace, CliError> {
    let wanted = wanted.trim().to_ascii_lowercase();
    if wanted.is_empty() {
        return Err(CliError::Failed("empty trace id".into()));
    }
    let matches: Vec<&Trace> = traces
        .iter()
        .filter(|t| t.id.starts_with(&wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::Failed(format!("no trace with id {wanted}"))),
        many => {
            let ids: Vec<&str> = many.iter().map(|t| t.id.as_str()).collect();
            Err(CliError::Failed(format!(
                "trace id prefix {wanted} is ambiguous; it matches {}",
                ids.join(", ")
            )))
        }
    }
}

/// The one-line summary of a trace.
pub fn header(trace: &Trace, full_id: bool, style: Style) -> String {
    let id = if full_id {
        trace.id.as_str()
    } else {
        crate::span::short(&trace.id)
    };
    let mut parts = vec![
        style.bold(&format!("trace {id}")),
        format::utc_time(trace.start_ns()),
    ];
    if let Some(service) = trace.service() {
        parts.push(style.cyan(&service));
    }
    let mut who = Vec::new();
    if let Some(user) = trace.first(|s| s.user_id.as_ref()) {
        who.push(format!("user={user}"));
    }
    if let Some(session) = trace.first(|s| s.session_id.as_ref()) {
        who.push(format!("session={session}"));
    }
    if let Some(feature) = trace.first(|s| s.feature.as_ref()) {
        who.push(format!("feature={feature}"));
    }
    if !who.is_empty() {
        parts.push(who.join(" "));
    }
    let totals = trace.totals();
    if totals.calls > 0 {
        let calls = if totals.calls == 1 { "call" } else { "calls" };
        parts.push(format!("{} {calls}", totals.calls));
        parts.push(format!(
            "{} in / {} out tok",
            format::thousands(totals.input_tokens),
            format::thousands(totals.output_tokens)
        ));
        parts.push(if totals.unknown_cost == totals.calls {
            "cost unknown".to_string()
        } else if totals.unknown_cost > 0 {
            format!(
                "{} + {} unpriced",
                format::cost(totals.cost_usd),
                totals.unknown_cost
            )
        } else {
            format::cost(totals.cost_usd)
        });
    }
    if totals.errors > 0 {
        let errors = if totals.errors == 1 {
            "error"
        } else {
            "errors"
        };
        parts.push(style.red(&format!("✗ {} {errors}", totals.errors)));
    }
    parts.join("  ")
}

fn write_trace(out: &mut impl Write, trace: &Trace, full_id: bool, style: Style) -> io::Result<()> {
    writeln!(out, "{}", header(trace, full_id, style))?;
    // (tree glyphs, span name cut to fit, columns)
    let rows: Vec<(&str, String, Columns)> = trace
        .spans
        .iter()
        .zip(&trace.prefixes)
        .map(|(span, prefix)| {
            let room = MAX_NAME_WIDTH.saturating_sub(prefix.chars().count()).max(8);
            let mut cols = Columns::of(span);
            cols.model = format::ellipsize(&cols.model, MAX_MODEL_WIDTH);
            (prefix.as_str(), format::ellipsize(&span.name, room), cols)
        })
        .collect();
    let width =
        |f: &dyn Fn(&(&str, String, Columns)) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let name_w = width(&|r| r.0.chars().count() + r.1.chars().count());
    let dur_w = width(&|r| r.2.duration.chars().count());
    let model_w = width(&|r| r.2.model.chars().count());
    let tok_w = width(&|r| r.2.tokens.chars().count());
    let cost_w = width(&|r| r.2.cost.chars().count());
    for ((glyphs, name, cols), span) in rows.iter().zip(&trace.spans) {
        let used = glyphs.chars().count() + name.chars().count();
        let label = if span.error.is_some() {
            style.red(name)
        } else {
            name.clone()
        };
        let line = format!(
            "  {}{label}{}  {}  {}  {}  {}  {}",
            style.dim(glyphs),
            " ".repeat(name_w.saturating_sub(used)),
            pad_left(&cols.duration, dur_w),
            pad(&cols.model, model_w),
            pad_left(&cols.tokens, tok_w),
            pad_left(&cols.cost, cost_w),
            style.red(&cols.error),
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_details(
    out: &mut impl Write,
    trace: &Trace,
    limits: Limits,
    style: Style,
) -> io::Result<()> {
    for span in &trace.spans {
        let lines = detail_lines(span, limits);
        if lines.is_empty() {
            continue;
        }
        let cols = Columns::of(span);
        let summary: Vec<&str> = [
            cols.duration.as_str(),
            cols.model.as_str(),
            cols.tokens.as_str(),
            cols.cost.as_str(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
        writeln!(out)?;
        writeln!(
            out,
            "── {} {}  {}",
            style.bold(&span.name),
            style.dim(&format!("[{}]", span.span_id)),
            summary.join("  ")
        )?;
        for line in lines {
            writeln!(out, "   {}", line.replace('\n', "\n     "))?;
        }
    }
    Ok(())
}

/// What a span says beyond its columns: instructions, messages, tool I/O, errors.
fn detail_lines(span: &SpanInfo, limits: Limits) -> Vec<String> {
    let mut lines = Vec::new();
    let text_attr = |key: &str| span.value_attr(key).map(display_value);

    if span.is_model_call() {
        let facts = usage_facts(span);
        if !facts.is_empty() {
            lines.push(facts.join(" · "));
        }
    }

    if let Some(raw) = text_attr("gen_ai.system_instructions") {
        match messages::parse_parts(&raw) {
            Some(parts) => {
                for part in parts {
                    lines.push(format!("system: {}", messages::part_text(&part, limits)));
                }
            }
            None => lines.push(format!("system: {}", messages::clip(&raw, limits))),
        }
    }
    if let Some(raw) = text_attr("gen_ai.input.messages") {
        push_messages(&mut lines, &raw, "", limits);
    }
    if let Some(raw) = text_attr("gen_ai.output.messages") {
        push_messages(&mut lines, &raw, "→ ", limits);
    } else if let Some(reasons) = text_attr("gen_ai.response.finish_reasons") {
        lines.push(format!("finish: {reasons}"));
    }
    if let Some(args) = text_attr("gen_ai.tool.call.arguments") {
        lines.push(format!("arguments: {}", messages::clip(&args, limits)));
    }
    if let Some(result) = text_attr("gen_ai.tool.call.result") {
        lines.push(format!("result: {}", messages::clip(&result, limits)));
    }
    if let Some(error) = &span.error {
        let message = if span.status_message.is_empty() {
            String::new()
        } else {
            format!(": {}", messages::clip(&span.status_message, limits))
        };
        lines.push(format!("✗ {error}{message}"));
    }
    lines
}

/// Provider, cache and reasoning tokens, time to first chunk and the cost split: what the
/// tree's columns leave out.
fn usage_facts(span: &SpanInfo) -> Vec<String> {
    let mut facts = Vec::new();
    if let Some(provider) = span.value_attr("gen_ai.provider.name").map(display_value) {
        facts.push(provider);
    }
    if let Some(n) = span.int_attr("gen_ai.usage.cache_read.input_tokens") {
        facts.push(format!("{} cached input tok", format::thousands(n)));
    }
    if let Some(n) = span.int_attr("gen_ai.usage.reasoning.output_tokens") {
        facts.push(format!("{} reasoning tok", format::thousands(n)));
    }
    if let Some(secs) = span.double_attr("gen_ai.response.time_to_first_chunk")
        && secs >= 0.0
    {
        facts.push(format!(
            "first chunk after {}",
            format::duration((secs * 1e9) as u64)
        ));
    }
    if let (Some(input), Some(output)) = (
        span.double_attr("tokentrace.cost.input_usd"),
        span.double_attr("tokentrace.cost.output_usd"),
    ) {
        let tools = span
            .double_attr("tokentrace.cost.tools_usd")
            .map(|t| format!(" + {} tools", format::cost(t)))
            .unwrap_or_default();
        facts.push(format!(
            "{} in + {} out{tools}",
            format::cost(input),
            format::cost(output)
        ));
    }
    if let Some(n) = span.int_attr("tokentrace.usage.web_search_calls") {
        facts.push(format!("{n} web search{}", if n == 1 { "" } else { "es" }));
    }
    if span.estimated {
        facts.push("token counts estimated".into());
    }
    facts
}

fn push_messages(lines: &mut Vec<String>, raw: &str, marker: &str, limits: Limits) {
    let Some(msgs) = messages::parse_messages(raw) else {
        lines.push(format!("{marker}{}", messages::clip(raw, limits)));
        return;
    };
    let (shown, skipped) = messages::visible(msgs.len(), limits);
    for (n, &i) in shown.iter().enumerate() {
        if n == 1 && skipped > 0 {
            lines.push(format!("… {skipped} earlier messages (--full to show)"));
        }
        let msg = &msgs[i];
        let finish = msg
            .finish_reason
            .as_deref()
            .map(|r| format!(" (finish: {r})"))
            .unwrap_or_default();
        let label = format!("{marker}{}{finish}:", msg.role);
        if msg.parts.is_empty() {
            lines.push(label.clone());
        }
        for part in &msg.parts {
            lines.push(format!("{label} {}", messages::part_text(part, limits)));
        }
    }
}
