//! Anthropic Messages (`/v1/messages`): content blocks, and the named-event
//! stream. Anthropic reports `input_tokens` WITHOUT the cached tokens, so
//! usage is normalised here to the conventions' totals.

use serde::Deserialize;
use serde::de::MapAccess;
use serde_json::value::RawValue;

use super::common::{
    blob, file_part, other_part, read_param, record_stream_error, tool_result_text, typed_object,
};
use super::json::{
    FieldSink, Items, LCow, LObj, LStr, LU64, minify, parse, raw_text, skip, visit_object,
};
use super::openai_chat::{ResponseFormat, output_type};
use super::sse;
use crate::model::{LlmCall, Message, Part, Parts, Str, ToolDefinition, Usage};

// ---- request ----

struct Request<'a, 'c> {
    call: &'c mut LlmCall,
    system: Items<&'a RawValue>,
    messages: Items<&'a RawValue>,
    tools: Items<&'a RawValue>,
}

impl<'de, 'c> FieldSink<'de> for Request<'de, 'c> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        if read_param(key, map, &mut self.call.params)? {
            return Ok(());
        }
        match key {
            "model" => self.call.request_model = map.next_value::<LStr>()?.0,
            "system" => self.system.read(map)?,
            "messages" => self.messages.read(map)?,
            "tools" => self.tools.read(map)?,
            // Structured outputs (`output_format: {"type": "json_schema"}`).
            "output_format" => {
                let f = map.next_value::<LObj<ResponseFormat>>()?;
                if let Some(f) = f.get() {
                    self.call.params.output_type = output_type(f.kind.as_str());
                }
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// Parses a Messages request body into `call`.
pub(crate) fn parse_request(call: &mut LlmCall, body: &str) {
    let mut req = Request {
        call,
        system: Items::default(),
        messages: Items::default(),
        tools: Items::default(),
    };
    visit_object(body, &mut req);
    let Request {
        call,
        system,
        messages,
        tools,
    } = req;
    if let Some(s) = system.text {
        call.system_instructions.push(Part::text(s));
    }
    for raw in system.items {
        block_part(raw, &mut call.system_instructions);
    }
    for raw in messages.items {
        if let Some(m) = parse::<LObj<InputMessage>>(raw.get()).and_then(|m| m.0) {
            let mut parts = Parts::new();
            if let Some(c) = m.content {
                content_parts(c, &mut parts);
            }
            let role = match m.role.as_str() {
                "" => "user",
                r => r,
            };
            call.input_messages.push(Message::new(role, parts));
        }
    }
    for raw in tools.items {
        if let Some(t) = parse::<LObj<Tool>>(raw.get()).and_then(|t| t.0) {
            call.tool_definitions.extend(t.definition());
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InputMessage<'a> {
    #[serde(borrow)]
    role: LCow<'a>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Tool<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    name: LStr,
    description: LStr,
    #[serde(borrow)]
    input_schema: Option<&'a RawValue>,
}

impl Tool<'_> {
    fn definition(&self) -> Option<ToolDefinition> {
        // Client tools have no type (or `custom`); server tools are typed
        // and versioned (`web_search_20250305`).
        let kind = match self.kind.as_str() {
            "" | "custom" => "function",
            k => k,
        };
        Some(ToolDefinition {
            tool_type: Str::from(kind),
            name: self.name.0.clone().unwrap_or_else(|| Str::from(kind)),
            description: self.description.0.clone(),
            parameters: raw_text(self.input_schema),
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Block<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    text: LStr,
    #[serde(borrow)]
    source: LObj<Source<'a>>,
    id: LStr,
    name: LStr,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
    tool_use_id: LStr,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    thinking: LStr,
    /// `mcp_tool_use` / `mcp_tool_result`.
    #[serde(borrow)]
    server_name: Option<&'a RawValue>,
    #[serde(borrow)]
    is_error: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Source<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    #[serde(borrow)]
    media_type: LCow<'a>,
    #[serde(borrow)]
    data: LCow<'a>,
    #[serde(borrow)]
    url: LCow<'a>,
    #[serde(borrow)]
    file_id: LCow<'a>,
}

fn content_parts(content: &RawValue, parts: &mut Parts) {
    let t = content.get().trim_start();
    if t.starts_with('"') {
        if let Some(s) = parse::<LStr>(t).and_then(|s| s.0) {
            parts.push(Part::text(s));
        }
        return;
    }
    if let Some(list) = parse::<Vec<&RawValue>>(t) {
        for raw in list {
            block_part(raw, parts);
        }
    }
}

/// Appends the part for one content block.
fn block_part(raw: &RawValue, parts: &mut Parts) {
    if let Some(b) = parse::<LObj<Block>>(raw.get()).and_then(|b| b.0) {
        parts.extend(block_to_part(&b, raw));
    }
}

fn block_to_part(b: &Block, raw: &RawValue) -> Option<Part> {
    Some(match b.kind.as_str() {
        "text" => Part::text(b.text.0.clone()?),
        "image" => source_part(b.source.get()?, "image")?,
        "document" => source_part(b.source.get()?, "document")?,
        "tool_use" => Part::ToolCall {
            id: b.id.0.clone(),
            name: b.name.0.clone().unwrap_or_default(),
            arguments: raw_text(b.input),
        },
        "tool_result" => Part::ToolCallResponse {
            id: b.tool_use_id.0.clone(),
            response: b.content.map(tool_result_text).unwrap_or_default(),
        },
        "thinking" => Part::Reasoning {
            content: b.thinking.0.clone().unwrap_or_default(),
        },
        "server_tool_use" | "mcp_tool_use" => server_tool_call(b, b.input),
        // Server tools' results: `web_search_tool_result`,
        // `code_execution_tool_result`, `mcp_tool_result`...
        other if other.ends_with("_tool_result") && b.tool_use_id.0.is_some() => {
            let tool_type = other.trim_end_matches("_tool_result");
            Part::ServerToolCallResponse {
                id: b.tool_use_id.0.clone(),
                tool_type: Str::from(tool_type),
                response: typed_object(
                    tool_type,
                    &[("is_error", b.is_error), ("content", b.content)],
                ),
            }
        }
        other => other_part(other, raw),
    })
}

/// A tool Anthropic ran itself: `server_tool_use` (web search, web fetch,
/// code execution...; its name is the tool's type) or `mcp_tool_use` (a
/// tool of an MCP server it called), with `input` (a stream's is
/// reassembled from its deltas).
fn server_tool_call(b: &Block, input: Option<&RawValue>) -> Part {
    let name = b.name.0.clone().unwrap_or_default();
    let call = if b.kind.as_str() == "mcp_tool_use" {
        typed_object("mcp", &[("server_name", b.server_name), ("input", input)])
    } else {
        typed_object(&name, &[("input", input)])
    };
    Part::ServerToolCall {
        id: b.id.0.clone(),
        name,
        call,
    }
}

fn source_part(s: &Source, modality: &str) -> Option<Part> {
    let mime = s.media_type.0.as_deref().filter(|m| !m.is_empty());
    Some(match s.kind.as_str() {
        "base64" => blob(modality, mime, s.data.0.as_deref()?),
        "url" => Part::Uri {
            modality: Str::from(modality),
            mime_type: mime.map(Str::from),
            uri: Str::from(s.url.0.as_deref()?),
        },
        "file" => file_part(modality, mime, s.file_id.0.as_deref()?),
        // Plain-text documents carry their text inline.
        "text" => Part::text(s.data.0.as_deref()?),
        _ => return None,
    })
}

// ---- response ----

/// Anthropic usage as reported: `input_tokens` excludes cache reads and
/// writes.
#[derive(Deserialize, Default, Debug, Clone, Copy)]
#[serde(default)]
struct AnthropicUsage {
    input_tokens: LU64,
    output_tokens: LU64,
    cache_creation_input_tokens: LU64,
    cache_read_input_tokens: LU64,
    server_tool_use: LObj<ServerToolUse>,
}

/// The server tools' counts (`web_fetch_requests` carry no fee).
#[derive(Deserialize, Default, Debug, Clone, Copy)]
#[serde(default)]
struct ServerToolUse {
    web_search_requests: LU64,
}

impl AnthropicUsage {
    /// Later reports (`message_delta`) override the fields they carry.
    fn merge(&mut self, later: &AnthropicUsage) {
        let f = |a: &mut LU64, b: LU64| {
            if b.0.is_some() {
                *a = b;
            }
        };
        f(&mut self.input_tokens, later.input_tokens);
        f(&mut self.output_tokens, later.output_tokens);
        f(
            &mut self.cache_creation_input_tokens,
            later.cache_creation_input_tokens,
        );
        f(
            &mut self.cache_read_input_tokens,
            later.cache_read_input_tokens,
        );
        if later.server_tool_use.get().is_some() {
            self.server_tool_use = later.server_tool_use;
        }
    }

    /// To the conventions' meaning: input is the total including cache
    /// reads and writes, each cache count a subset of it.
    fn to_usage(self) -> Usage {
        let parts = [
            self.input_tokens.0,
            self.cache_read_input_tokens.0,
            self.cache_creation_input_tokens.0,
        ];
        let input = parts.iter().any(Option::is_some).then(|| {
            parts
                .iter()
                .flatten()
                .fold(0u64, |a, b| a.saturating_add(*b))
        });
        Usage {
            input_tokens: input,
            output_tokens: self.output_tokens.0,
            cache_read_input_tokens: self.cache_read_input_tokens.0,
            cache_write_input_tokens: self.cache_creation_input_tokens.0,
            reasoning_tokens: None,
            web_search_calls: self
                .server_tool_use
                .get()
                .and_then(|s| s.web_search_requests.0)
                .filter(|n| *n > 0),
            estimated: false,
        }
    }
}

/// The conventions' finish reason for an Anthropic `stop_reason`.
fn map_stop_reason(raw: &str) -> Str {
    Str::from(match raw {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_call",
        "refusal" => "content_filter",
        other => other,
    })
}

struct Response<'a, 'c> {
    call: &'c mut LlmCall,
    content: Items<&'a RawValue>,
    has_content: bool,
    stop_reason: Option<Str>,
    usage: AnthropicUsage,
}

impl<'de, 'c> FieldSink<'de> for Response<'de, 'c> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "id" => self.call.response_id = map.next_value::<LStr>()?.0,
            "model" => self.call.response_model = map.next_value::<LStr>()?.0,
            "stop_reason" => self.stop_reason = map.next_value::<LStr>()?.0,
            "content" => {
                self.has_content = true;
                self.content.read(map)?
            }
            "usage" => {
                if let Some(u) = map.next_value::<LObj<AnthropicUsage>>()?.0 {
                    self.usage = u;
                }
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// Reads a message object; returns its raw usage so a stream can merge
/// later reports into it.
fn read_message(call: &mut LlmCall, body: &str) -> (Parts, bool, Option<Str>, AnthropicUsage) {
    let mut resp = Response {
        call,
        content: Items::default(),
        has_content: false,
        stop_reason: None,
        usage: AnthropicUsage::default(),
    };
    visit_object(body, &mut resp);
    let mut parts = Parts::new();
    for raw in resp.content.items {
        block_part(raw, &mut parts);
    }
    (parts, resp.has_content, resp.stop_reason, resp.usage)
}

fn finish(call: &mut LlmCall, parts: Parts, stop_reason: Option<Str>) {
    let mut msg = Message::new("assistant", parts);
    if let Some(raw) = stop_reason {
        msg.finish_reason = Some(map_stop_reason(&raw));
        call.finish_reasons.push(raw);
    }
    call.output_messages.push(msg);
}

/// Parses a non-streamed Messages response body into `call`.
pub(crate) fn parse_response(call: &mut LlmCall, body: &str) {
    let (parts, has_content, stop_reason, usage) = read_message(call, body);
    call.usage = usage.to_usage();
    if has_content || stop_reason.is_some() {
        finish(call, parts, stop_reason);
    }
}

// ---- stream ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
    index: LU64,
    #[serde(borrow)]
    content_block: Option<&'a RawValue>,
    #[serde(borrow)]
    delta: LObj<Delta<'a>>,
    usage: LObj<AnthropicUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Delta<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    #[serde(borrow)]
    text: LCow<'a>,
    #[serde(borrow)]
    partial_json: LCow<'a>,
    #[serde(borrow)]
    thinking: LCow<'a>,
    /// `message_delta`.
    stop_reason: LStr,
}

/// A content block being reassembled.
struct BlockAcc {
    index: u64,
    kind: String,
    /// Text or thinking.
    text: String,
    /// `input_json_delta` pieces of a tool_use block.
    json: String,
    /// The block as started: tool ids and names, and the whole block for
    /// types without deltas.
    start: Option<Part>,
    /// A server tool call's block as started, rebuilt with its input.
    raw: Option<String>,
}

impl BlockAcc {
    fn into_part(self) -> Option<Part> {
        match (self.kind.as_str(), self.start) {
            ("text", _) => (!self.text.is_empty()).then(|| Part::text(self.text)),
            ("thinking", _) => Some(Part::Reasoning {
                content: Str::from(self.text),
            }),
            (
                "tool_use",
                Some(Part::ToolCall {
                    id,
                    name,
                    arguments,
                }),
            ) => Some(Part::ToolCall {
                id,
                name,
                arguments: if self.json.is_empty() {
                    arguments
                } else {
                    Some(Str::from(minify(&self.json).as_ref()))
                },
            }),
            ("server_tool_use" | "mcp_tool_use", start) if !self.json.is_empty() => {
                let input = minify(&self.json);
                let block = self.raw.as_deref().and_then(|r| parse::<LObj<Block>>(r)?.0);
                match (block, serde_json::from_str::<&RawValue>(&input)) {
                    (Some(b), Ok(input)) => Some(server_tool_call(&b, Some(input))),
                    _ => start,
                }
            }
            (_, start) => start,
        }
    }
}

/// Parses a Messages event stream (the whole SSE body).
pub(crate) fn parse_stream(call: &mut LlmCall, body: &str) {
    let mut blocks: Vec<BlockAcc> = Vec::new();
    let mut usage = AnthropicUsage::default();
    let mut stop_reason: Option<Str> = None;
    let mut started = false;
    for ev in sse::events(body) {
        let Some(e) = parse::<LObj<Event>>(&ev.data).and_then(|e| e.0) else {
            continue;
        };
        let kind = match e.kind.as_str() {
            "" => ev.event.unwrap_or(""),
            k => k,
        };
        match kind {
            "message_start" => {
                if let Some(m) = e.message {
                    let (_, _, _, u) = read_message(call, m.get());
                    usage = u;
                    started = true;
                }
            }
            "content_block_start" => {
                let Some(raw) = e.content_block else { continue };
                let Some(b) = parse::<LObj<Block>>(raw.get()).and_then(|b| b.0) else {
                    continue;
                };
                let index = e.index.0.unwrap_or(blocks.len() as u64);
                let text = match b.kind.as_str() {
                    "text" => b.text.0.as_deref().unwrap_or("").to_owned(),
                    "thinking" => b.thinking.0.as_deref().unwrap_or("").to_owned(),
                    _ => String::new(),
                };
                let server_call = matches!(b.kind.as_str(), "server_tool_use" | "mcp_tool_use");
                let acc = BlockAcc {
                    index,
                    kind: b.kind.as_str().to_owned(),
                    text,
                    json: String::new(),
                    start: block_to_part(&b, raw),
                    raw: server_call.then(|| raw.get().to_owned()),
                };
                match blocks.iter().position(|x| x.index == index) {
                    Some(i) => blocks[i] = acc,
                    None => blocks.push(acc),
                }
            }
            "content_block_delta" => {
                let Some(d) = e.delta.get() else { continue };
                let index = e.index.0.unwrap_or(0);
                let Some(acc) = blocks.iter_mut().find(|b| b.index == index) else {
                    continue;
                };
                match d.kind.as_str() {
                    "text_delta" => acc.text.push_str(d.text.as_str()),
                    "thinking_delta" => acc.text.push_str(d.thinking.as_str()),
                    "input_json_delta" => acc.json.push_str(d.partial_json.as_str()),
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(d) = e.delta.get()
                    && d.stop_reason.0.is_some()
                {
                    stop_reason = d.stop_reason.0.clone();
                }
                if let Some(u) = e.usage.get() {
                    // Counts here are cumulative: they replace, not add.
                    usage.merge(u);
                }
            }
            "error" => record_stream_error(call, &ev.data),
            _ => {}
        }
    }
    if started {
        call.usage = usage.to_usage();
    }
    blocks.sort_by_key(|b| b.index);
    let parts: Parts = blocks.into_iter().filter_map(BlockAcc::into_part).collect();
    if !parts.is_empty() || stop_reason.is_some() {
        finish(call, parts, stop_reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Operation;

    fn call() -> LlmCall {
        LlmCall::new("anthropic", Operation::Chat)
    }

    fn server_parts(c: &LlmCall) -> Parts {
        c.output_messages[0]
            .parts
            .iter()
            .filter(|p| {
                matches!(
                    p,
                    Part::ServerToolCall { .. } | Part::ServerToolCallResponse { .. }
                )
            })
            .cloned()
            .collect()
    }

    fn expected_server_parts() -> Parts {
        smallvec::smallvec![
            Part::ServerToolCall {
                id: Some("srvtoolu_1".into()),
                name: "web_search".into(),
                call: r#"{"type":"web_search","input":{"query":"Oslo weather"}}"#.into(),
            },
            Part::ServerToolCallResponse {
                id: Some("srvtoolu_1".into()),
                tool_type: "web_search".into(),
                response: r#"{"type":"web_search","content":[{"type":"web_search_result","url":"https://yr.no","title":"Yr"}]}"#.into(),
            },
            Part::ServerToolCall {
                id: Some("mcptoolu_1".into()),
                name: "get_issue".into(),
                call: r#"{"type":"mcp","server_name":"tracker","input":{"id":7}}"#.into(),
            },
            Part::ServerToolCallResponse {
                id: Some("mcptoolu_1".into()),
                tool_type: "mcp".into(),
                response: r#"{"type":"mcp","is_error":false,"content":[{"type":"text","text":"open"}]}"#.into(),
            },
        ]
    }

    #[test]
    fn server_tools_and_mcp_calls_are_server_tool_parts() {
        let mut c = call();
        parse_response(
            &mut c,
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
               "content":[
                 {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query": "Oslo weather"}},
                 {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1",
                  "content":[{"type":"web_search_result","url":"https://yr.no","title":"Yr"}]},
                 {"type":"mcp_tool_use","id":"mcptoolu_1","name":"get_issue","server_name":"tracker","input":{"id":7}},
                 {"type":"mcp_tool_result","tool_use_id":"mcptoolu_1","is_error":false,"content":[{"type":"text","text":"open"}]},
                 {"type":"text","text":"Rain, and the issue is open."}],
               "stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":5,
               "server_tool_use":{"web_search_requests":1}}}"#,
        );
        assert_eq!(server_parts(&c), expected_server_parts());
        assert_eq!(c.usage.web_search_calls, Some(1), "billed per search");
        assert_eq!(
            c.output_messages[0].finish_reason.as_deref(),
            Some("stop"),
            "the server ran the tools: nothing is left for the client"
        );
    }

    #[test]
    fn streamed_server_tool_input_is_reassembled() {
        let sse = [
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\": \"Oslo"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" weather\"}"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://yr.no","title":"Yr"}]}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"content_block_start","index":2,"content_block":{"type":"mcp_tool_use","id":"mcptoolu_1","name":"get_issue","server_name":"tracker","input":{}}}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"id\":7}"}}"#,
            r#"{"type":"content_block_start","index":3,"content_block":{"type":"mcp_tool_result","tool_use_id":"mcptoolu_1","is_error":false,"content":[{"type":"text","text":"open"}]}}"#,
            r#"{"type":"content_block_start","index":4,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":4,"delta":{"type":"text_delta","text":"Rain."}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}"#,
            r#"{"type":"message_stop"}"#,
        ]
        .iter()
        .map(|d| format!("data: {d}\n\n"))
        .collect::<String>();
        let mut c = call();
        parse_stream(&mut c, &sse);
        assert_eq!(server_parts(&c), expected_server_parts());
        assert_eq!(
            c.output_messages[0].parts.last(),
            Some(&Part::text("Rain."))
        );
    }

    #[test]
    fn cache_tokens_are_added_to_input() {
        // 1000 uncached + 20000 read from cache + 5000 written to cache.
        let mut c = call();
        parse_response(
            &mut c,
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
               "content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,
               "usage":{"input_tokens":1000,"cache_creation_input_tokens":5000,"cache_read_input_tokens":20000,"output_tokens":12}}"#,
        );
        assert_eq!(c.usage.input_tokens, Some(26_000));
        assert_eq!(c.usage.cache_read_input_tokens, Some(20_000));
        assert_eq!(c.usage.cache_write_input_tokens, Some(5_000));
        assert_eq!(c.usage.output_tokens, Some(12));
        assert_eq!(c.finish_reasons, vec![Str::from("end_turn")]);
        assert_eq!(c.output_messages[0].finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn stop_reasons_map_to_the_conventions() {
        for (raw, mapped) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_call"),
            ("refusal", "content_filter"),
            ("pause_turn", "pause_turn"),
        ] {
            assert_eq!(&*map_stop_reason(raw), mapped);
        }
    }

    #[test]
    fn request_reads_system_blocks_and_media() {
        let mut c = call();
        parse_request(
            &mut c,
            r#"{"model":"claude-opus-4-1","max_tokens":1024,"top_k":5,"stop_sequences":["\n\nHuman:"],
               "system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],
               "messages":[{"role":"user","content":[
                 {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}},
                 {"type":"image","source":{"type":"url","url":"https://x.test/a.png"}},
                 {"type":"document","source":{"type":"file","file_id":"file_01"}},
                 {"type":"text","text":"What is this?"}]}]}"#,
        );
        assert_eq!(c.system_instructions[..], [Part::text("You are terse.")]);
        assert_eq!(c.params.max_tokens, Some(1024));
        assert_eq!(c.params.top_k, Some(5.0));
        assert_eq!(c.params.stop_sequences, vec![Str::from("\n\nHuman:")]);
        let parts = &c.input_messages[0].parts;
        assert_eq!(
            parts[0],
            Part::Blob {
                modality: "image".into(),
                mime_type: Some("image/png".into()),
                content: "iVBOR".into()
            }
        );
        assert!(matches!(&parts[1], Part::Uri { uri, .. } if &**uri == "https://x.test/a.png"));
        assert!(
            matches!(&parts[2], Part::Other { part_type, json } if &**part_type == "file" && json.contains("file_01"))
        );
        assert_eq!(parts[3], Part::text("What is this?"));
    }
}
