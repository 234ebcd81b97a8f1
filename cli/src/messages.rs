//! GenAI content attributes (`gen_ai.input.messages`, `gen_ai.output.messages`,
//! `gen_ai.system_instructions`) parsed from their JSON and laid out for a terminal.
//!
//! Shape (OpenTelemetry GenAI conventions):
//! `[{"role":"user","parts":[{"type":"text","content":"..."}]}]`, with `tool_call`
//! (`id`, `name`, `arguments`) and `tool_call_response` (`id`, `response`) parts, and
//! their `server_tool_call` / `server_tool_call_response` kin (tools the provider ran,
//! details under their own key); output messages also carry `finish_reason`. Parsing is lenient: unknown part types are shown by
//! type, and a value that is not JSON is shown as raw text.

use serde_json::Value;

#[derive(Debug, PartialEq)]
pub struct Message {
    pub role: String,
    pub parts: Vec<Part>,
    pub finish_reason: Option<String>,
}

#[derive(Debug, PartialEq)]
pub enum Part {
    Text(String),
    /// `server`: a tool the provider ran itself (web search, code execution...).
    ToolCall {
        id: String,
        name: String,
        arguments: String,
        server: bool,
    },
    ToolResult {
        id: String,
        response: String,
        server: bool,
    },
    Other {
        kind: String,
        content: String,
    },
}

/// Parses a messages attribute; `None` when it is not a JSON array.
pub fn parse_messages(json: &str) -> Option<Vec<Message>> {
    let Value::Array(items) = serde_json::from_str(json).ok()? else {
        return None;
    };
    Some(items.iter().map(parse_message).collect())
}

/// Parses `gen_ai.system_instructions`: an array of parts (a plain string is one text part).
pub fn parse_parts(json: &str) -> Option<Vec<Part>> {
    match serde_json::from_str(json).ok()? {
        Value::Array(items) => Some(items.iter().map(parse_part).collect()),
        Value::String(s) => Some(vec![Part::Text(s)]),
        _ => None,
    }
}

fn parse_message(value: &Value) -> Message {
    let parts = match value.get("parts") {
        Some(Value::Array(parts)) => parts.iter().map(parse_part).collect(),
        // Provider-style `{"role":..,"content":".."}`.
        _ => match value.get("content") {
            Some(Value::String(s)) => vec![Part::Text(s.clone())],
            Some(other) => vec![Part::Text(other.to_string())],
            None => Vec::new(),
        },
    };
    Message {
        role: str_field(value, "role").unwrap_or_else(|| "?".into()),
        parts,
        finish_reason: str_field(value, "finish_reason"),
    }
}

fn parse_part(value: &Value) -> Part {
    if let Value::String(s) = value {
        return Part::Text(s.clone());
    }
    let kind = str_field(value, "type").unwrap_or_default();
    match kind.as_str() {
        "text" => Part::Text(str_field(value, "content").unwrap_or_default()),
        "tool_call" | "server_tool_call" => Part::ToolCall {
            id: str_field(value, "id").unwrap_or_default(),
            name: str_field(value, "name").unwrap_or_default(),
            arguments: value
                .get(if kind == "tool_call" {
                    "arguments"
                } else {
                    "server_tool_call"
                })
                .map(compact)
                .unwrap_or_default(),
            server: kind == "server_tool_call",
        },
        "tool_call_response" | "server_tool_call_response" => Part::ToolResult {
            id: str_field(value, "id").unwrap_or_default(),
            response: value
                .get(if kind == "tool_call_response" {
                    "response"
                } else {
                    "server_tool_call_response"
                })
                .map(compact)
                .unwrap_or_default(),
            server: kind == "server_tool_call_response",
        },
        // Media: what it is and where, or how big inline (not pages of base64).
        "blob" | "uri" | "file" => {
            let what = [str_field(value, "modality"), str_field(value, "mime_type")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let content = match kind.as_str() {
                "blob" => str_field(value, "content").map(|b| human_bytes(base64_len(&b) / 4 * 3)),
                "uri" => str_field(value, "uri"),
                _ => str_field(value, "file_id"),
            };
            Part::Other {
                kind: if what.is_empty() {
                    kind
                } else {
                    format!("{kind} {what}")
                },
                content: content.unwrap_or_default(),
            }
        }
        _ => Part::Other {
            content: value.get("content").map(compact).unwrap_or_default(),
            kind,
        },
    }
}

/// Length of base64 text as sent, counting what a `[TRUNCATED: N bytes]`
/// marker says was cut.
fn base64_len(text: &str) -> usize {
    match text.rsplit_once("[TRUNCATED: ") {
        Some((kept, marker)) => {
            let cut = marker
                .trim_end_matches(" bytes]")
                .parse::<usize>()
                .unwrap_or(0);
            kept.len() + cut
        }
        None => text.len(),
    }
}

/// About `n` bytes, for a person: `512 B`, `75.6 KB`, `1.4 MB`.
fn human_bytes(n: usize) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Strings as their text, anything else as compact JSON.
fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// How much of each message to show; `None` fields mean unlimited (`--full`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub chars_per_part: Option<usize>,
    pub lines_per_part: Option<usize>,
    /// Long conversations show the first message and the most recent ones.
    pub messages: Option<usize>,
}

impl Limits {
    pub const TERMINAL: Limits = Limits {
        chars_per_part: Some(600),
        lines_per_part: Some(12),
        messages: Some(10),
    };
    pub const FULL: Limits = Limits {
        chars_per_part: None,
        lines_per_part: None,
        messages: None,
    };
}

/// Shortens `text` to the limits, saying how much was left out.
pub fn clip(text: &str, limits: Limits) -> String {
    let mut out = text.to_string();
    let mut cut = false;
    if let Some(max) = limits.lines_per_part
        && out.lines().count() > max
    {
        out = out.lines().take(max).collect::<Vec<_>>().join("\n");
        cut = true;
    }
    if let Some(max) = limits.chars_per_part
        && out.chars().count() > max
    {
        out = out.chars().take(max).collect();
        cut = true;
    }
    if cut {
        out.truncate(out.trim_end().len());
        let hidden = text.chars().count().saturating_sub(out.chars().count());
        out.push_str(&format!(" … [{hidden} more chars, --full to show]"));
    }
    out
}

fn server_prefix(server: bool) -> &'static str {
    if server { "server " } else { "" }
}

fn id_tag(id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!(" [{id}]")
    }
}

/// One part as display text (may span several lines).
pub fn part_text(part: &Part, limits: Limits) -> String {
    match part {
        Part::Text(text) => clip(text, limits),
        Part::ToolCall {
            id,
            name,
            arguments,
            server,
        } => format!(
            "{}tool call {name}{} {}",
            server_prefix(*server),
            id_tag(id),
            clip(arguments, limits)
        ),
        Part::ToolResult {
            id,
            response,
            server,
        } => format!(
            "{}tool result{} {}",
            server_prefix(*server),
            id_tag(id),
            clip(response, limits)
        ),
        Part::Other { kind, content } if content.is_empty() => format!("[{kind}]"),
        Part::Other { kind, content } => format!("[{kind}] {}", clip(content, limits)),
    }
}

/// Indices of the messages to show and how many were skipped after the first one.
pub fn visible(count: usize, limits: Limits) -> (Vec<usize>, usize) {
    match limits.messages {
        Some(max) if count > max && max >= 2 => {
            let tail = max - 1;
            let mut shown = vec![0];
            shown.extend(count - tail..count);
            (shown, count - max)
        }
        _ => ((0..count).collect(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_genai_parts_shape() {
        let json = r#"[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]},
            {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"tool_calls"},
            {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":{"temp_c":18}}]},
            {"role":"user","parts":[{"type":"blob","mime_type":"image/png"}]}]"#;
        let msgs = parse_messages(json).unwrap();
        assert_eq!(msgs.len(), 4);
        assert_eq!(msgs[0].parts, [Part::Text("Weather in Paris?".into())]);
        assert_eq!(msgs[1].finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            part_text(&msgs[1].parts[0], Limits::TERMINAL),
            r#"tool call get_weather [call_1] {"city":"Paris"}"#
        );
        assert_eq!(
            part_text(&msgs[2].parts[0], Limits::TERMINAL),
            r#"tool result [call_1] {"temp_c":18}"#
        );
        assert_eq!(
            part_text(&msgs[3].parts[0], Limits::TERMINAL),
            "[blob image/png]"
        );
        // Inline data shows as its size (the base64 text is 4/3 of it).
        let audio = parse_messages(
            r#"[{"role":"assistant","parts":[{"type":"blob","modality":"audio","content":"UklGRiQdAQBX"}]}]"#,
        )
        .unwrap();
        assert_eq!(
            part_text(&audio[0].parts[0], Limits::TERMINAL),
            "[blob audio] 9 B"
        );
    }

    #[test]
    fn server_tool_parts_show_as_server_tool_calls() {
        let json = r#"[{"role":"assistant","parts":[
            {"type":"server_tool_call","id":"ws_1","name":"web_search","server_tool_call":{"type":"web_search","action":{"query":"Oslo"}}},
            {"type":"server_tool_call_response","id":"ws_1","server_tool_call_response":{"type":"web_search","status":"completed"}}],
            "finish_reason":"stop"}]"#;
        let msgs = parse_messages(json).unwrap();
        let shown: Vec<String> = msgs[0]
            .parts
            .iter()
            .map(|p| part_text(p, Limits::TERMINAL))
            .collect();
        assert_eq!(
            shown,
            [
                r#"server tool call web_search [ws_1] {"action":{"query":"Oslo"},"type":"web_search"}"#,
                r#"server tool result [ws_1] {"status":"completed","type":"web_search"}"#,
            ]
        );
    }

    #[test]
    fn lenient_with_provider_shapes_and_garbage() {
        let msgs = parse_messages(r#"[{"role":"system","content":"Be brief."}]"#).unwrap();
        assert_eq!(msgs[0].parts, [Part::Text("Be brief.".into())]);
        assert!(parse_messages("not json").is_none());
        assert!(parse_messages(r#"{"role":"user"}"#).is_none());
        assert_eq!(
            parse_parts(r#"[{"type":"text","content":"You are terse."}]"#).unwrap(),
            [Part::Text("You are terse.".into())]
        );
    }

    #[test]
    fn clipping_says_what_was_hidden_and_full_shows_everything() {
        let long = "x".repeat(1000);
        let clipped = clip(&long, Limits::TERMINAL);
        assert!(clipped.starts_with(&"x".repeat(600)));
        assert!(
            clipped.ends_with("… [400 more chars, --full to show]"),
            "{clipped}"
        );
        assert_eq!(clip(&long, Limits::FULL), long);
        let many_lines = (0..20)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(clip(&many_lines, Limits::TERMINAL).lines().count(), 12);
    }

    #[test]
    fn long_conversations_keep_the_first_and_latest_messages() {
        let (shown, skipped) = visible(25, Limits::TERMINAL);
        assert_eq!(skipped, 15);
        assert_eq!(shown.len(), 10);
        assert_eq!(shown[0], 0);
        assert_eq!(shown[1], 16);
        assert_eq!(*shown.last().unwrap(), 24);
        assert_eq!(visible(25, Limits::FULL).0.len(), 25);
    }
}
