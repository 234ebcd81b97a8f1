//! OpenAI Responses API (`/v1/responses`): typed input items, output items,
//! and the named-event stream whose terminal event carries the whole
//! response.

use serde::Deserialize;
use serde::de::MapAccess;
use serde_json::value::RawValue;
use smallvec::smallvec;

use super::common::{
    InputAudio, content_items, file_data_part, file_part, media_part, other_part, read_param,
    record_stream_error, tool_result_text, typed_object,
};
use super::json::{
    FieldSink, Items, LCow, LObj, LStr, LU64, LVec, parse, raw_text, skip, string_or_json,
    visit_object,
};
use super::openai_chat::output_type;
use super::sse;
use crate::model::{LlmCall, Message, Part, Parts, Str, ToolDefinition, Usage};

// ---- request ----

struct Request<'a, 'c> {
    call: &'c mut LlmCall,
    input: Items<&'a RawValue>,
    tools: Items<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TextConfig<'a> {
    #[serde(borrow)]
    format: LObj<super::openai_chat::ResponseFormat<'a>>,
}

impl<'de, 'c> FieldSink<'de> for Request<'de, 'c> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        if read_param(key, map, &mut self.call.params)? {
            return Ok(());
        }
        match key {
            "model" => self.call.request_model = map.next_value::<LStr>()?.0,
            "input" => self.input.read(map)?,
            "tools" => self.tools.read(map)?,
            "instructions" => {
                if let Some(s) = map.next_value::<LStr>()?.0 {
                    self.call.system_instructions = smallvec![Part::text(s)];
                }
            }
            "text" => {
                let t = map.next_value::<LObj<TextConfig>>()?;
                if let Some(f) = t.get().and_then(|t| t.format.get()) {
                    self.call.params.output_type = output_type(f.kind.as_str());
                }
            }
            "conversation" => {
                let v = map.next_value::<Option<&'de RawValue>>()?;
                self.call.conversation_id = conversation_id(v);
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// `conversation`: an id string or `{"id": ...}`.
fn conversation_id(raw: Option<&RawValue>) -> Option<Str> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Conv {
        id: LStr,
    }
    let t = raw?.get();
    if t.starts_with('"') {
        parse::<LStr>(t)?.0
    } else {
        parse::<LObj<Conv>>(t)?.0?.id.0
    }
}

/// Parses a Responses API request body into `call`.
pub(crate) fn parse_request(call: &mut LlmCall, body: &str) {
    let mut req = Request {
        call,
        input: Items::default(),
        tools: Items::default(),
    };
    visit_object(body, &mut req);
    let Request { call, input, tools } = req;
    if let Some(text) = input.text {
        call.input_messages.push(Message::text("user", text));
    }
    for raw in input.items {
        if let Some(item) = parse::<LObj<Item>>(raw.get()).and_then(|i| i.0) {
            push_input_item(&mut call.input_messages, &item, raw);
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
struct Tool<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    name: LStr,
    description: LStr,
    #[serde(borrow)]
    parameters: Option<&'a RawValue>,
    /// MCP tools are named by their server.
    server_label: LStr,
}

impl Tool<'_> {
    fn definition(&self) -> Option<ToolDefinition> {
        let kind = match self.kind.as_str() {
            "" => "function",
            k => k,
        };
        // Built-in tools (`web_search_preview`, `file_search`...) have no
        // name of their own: their type names them.
        let name = self
            .name
            .0
            .clone()
            .or_else(|| self.server_label.0.clone())
            .unwrap_or_else(|| Str::from(kind));
        Some(ToolDefinition {
            tool_type: Str::from(kind),
            name,
            description: self.description.0.clone(),
            parameters: raw_text(self.parameters),
        })
    }
}

/// An input or output item (messages, tool calls and results, reasoning).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Item<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    #[serde(borrow)]
    role: LCow<'a>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    call_id: LStr,
    name: LStr,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
    /// `custom_tool_call` input text.
    #[serde(borrow)]
    input: Option<&'a RawValue>,
    #[serde(borrow)]
    output: Option<&'a RawValue>,
    #[serde(borrow)]
    summary: LVec<LObj<TextPart<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TextPart<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    text: LStr,
}

/// Assistant-side items (tool calls, reasoning) join the preceding assistant
/// message, as they would in a chat transcript.
fn assistant_parts(messages: &mut Vec<Message>) -> &mut Parts {
    if messages.last().is_none_or(|m| &*m.role != "assistant") {
        messages.push(Message::new("assistant", Vec::new()));
    }
    let last = messages.len() - 1;
    &mut messages[last].parts
}

fn push_input_item(messages: &mut Vec<Message>, item: &Item, raw: &RawValue) {
    match item.kind.as_str() {
        "message" | "" if !item.role.as_str().is_empty() || item.content.is_some() => {
            let role = match item.role.as_str() {
                "" => "user",
                r => r,
            };
            let mut parts = Parts::new();
            if let Some(c) = item.content {
                content_parts(c, &mut parts);
            }
            messages.push(Message::new(role, parts));
        }
        "function_call_output" | "custom_tool_call_output" => messages.push(Message::new(
            "tool",
            vec![Part::ToolCallResponse {
                id: item.call_id.0.clone(),
                response: item.output.map(tool_result_text).unwrap_or_default(),
            }],
        )),
        "item_reference" => {}
        _ => {
            let parts = item_parts(item, raw);
            if !parts.is_empty() {
                assistant_parts(messages).extend(parts);
            }
        }
    }
}

/// Parts of a tool call, reasoning or other non-message item.
fn item_parts(item: &Item, raw: &RawValue) -> Parts {
    match item.kind.as_str() {
        "function_call" => smallvec![Part::ToolCall {
            id: item.call_id.0.clone(),
            name: item.name.0.clone().unwrap_or_default(),
            arguments: string_or_json(item.arguments),
        }],
        "custom_tool_call" => smallvec![Part::ToolCall {
            id: item.call_id.0.clone(),
            name: item.name.0.clone().unwrap_or_default(),
            arguments: string_or_json(item.input),
        }],
        "reasoning" => {
            // Summaries when asked for; raw reasoning text on open models.
            let mut parts: Parts = item
                .summary
                .objs()
                .filter_map(|p| p.text.0.clone())
                .map(|content| Part::Reasoning { content })
                .collect();
            if let Some(c) = item.content
                && let Some(list) = parse::<LVec<LObj<TextPart>>>(c.get())
            {
                parts.extend(
                    list.objs()
                        .filter_map(|p| p.text.0.clone())
                        .map(|content| Part::Reasoning { content }),
                );
            }
            parts
        }
        "message" => {
            let mut parts = Parts::new();
            if let Some(c) = item.content {
                content_parts(c, &mut parts);
            }
            parts
        }
        other => server_tool_parts(other, raw).unwrap_or_else(|| smallvec![other_part(other, raw)]),
    }
}

/// The item of a web search OpenAI ran: billed per search on top of the
/// tokens, and the usage object has no count of them.
const WEB_SEARCH_CALL: &str = "web_search_call";

fn search_count(n: usize) -> Option<u64> {
    (n > 0).then_some(n as u64)
}

/// The tools OpenAI runs itself: an item's type, the tool's type, the item
/// fields that describe the call and those that give its outcome.
const SERVER_TOOLS: [(&str, &str, &[&str], &[&str]); 5] = [
    (WEB_SEARCH_CALL, "web_search", &["action"], &["status"]),
    (
        "file_search_call",
        "file_search",
        &["queries"],
        &["status", "results"],
    ),
    (
        "code_interpreter_call",
        "code_interpreter",
        &["code", "container_id"],
        &["status", "outputs"],
    ),
    (
        "image_generation_call",
        "image_generation",
        &[],
        &["status", "revised_prompt", "result"],
    ),
    (
        "mcp_call",
        "mcp",
        &["server_label", "arguments"],
        &["output", "error"],
    ),
];

/// A server tool's item as the call and its outcome, both under the item's id
/// (an MCP call is named by its tool, the others by their type).
fn server_tool_parts(kind: &str, raw: &RawValue) -> Option<Parts> {
    let (_, tool_type, call_keys, response_keys) =
        SERVER_TOOLS.iter().find(|(k, ..)| *k == kind)?;
    let fields: std::collections::BTreeMap<&str, &RawValue> =
        serde_json::from_str(raw.get()).ok()?;
    let pick = |keys: &[&'static str]| -> Vec<(&'static str, Option<&RawValue>)> {
        keys.iter().map(|k| (*k, fields.get(k).copied())).collect()
    };
    let id = fields
        .get("id")
        .and_then(|v| parse::<LStr>(v.get()))
        .and_then(|s| s.0);
    let name = match *tool_type {
        "mcp" => fields
            .get("name")
            .and_then(|v| parse::<LStr>(v.get()))
            .and_then(|s| s.0),
        _ => None,
    }
    .unwrap_or_else(|| Str::from(*tool_type));
    Some(smallvec![
        Part::ServerToolCall {
            id: id.clone(),
            name,
            call: typed_object(tool_type, &pick(call_keys)),
        },
        Part::ServerToolCallResponse {
            id,
            tool_type: Str::from(*tool_type),
            response: typed_object(tool_type, &pick(response_keys)),
        },
    ])
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContentPart<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    text: LStr,
    refusal: LStr,
    #[serde(borrow)]
    image_url: LCow<'a>,
    #[serde(borrow)]
    file_id: LCow<'a>,
    #[serde(borrow)]
    file_data: LCow<'a>,
    #[serde(borrow)]
    file_url: LCow<'a>,
    #[serde(borrow)]
    input_audio: LObj<InputAudio<'a>>,
}

fn content_parts(content: &RawValue, parts: &mut Parts) {
    for raw in content_items(content, parts) {
        let Some(p) = parse::<LObj<ContentPart>>(raw.get()).and_then(|p| p.0) else {
            continue;
        };
        let part = match p.kind.as_str() {
            "input_text" | "output_text" | "text" => p.text.0.map(Part::text),
            "refusal" => p.refusal.0.map(Part::text),
            "input_image" => match (&p.image_url.0, &p.file_id.0) {
                (Some(url), _) => Some(media_part(url, "image")),
                (None, Some(id)) => Some(file_part("image", None, id)),
                _ => None,
            },
            "input_file" => {
                if let Some(data) = p.file_data.0.as_deref() {
                    Some(file_data_part(data))
                } else if let Some(url) = p.file_url.0.as_deref() {
                    Some(media_part(url, "document"))
                } else {
                    p.file_id
                        .0
                        .as_deref()
                        .map(|id| file_part("document", None, id))
                }
            }
            "input_audio" => p.input_audio.get().map(InputAudio::part),
            other => Some(other_part(other, raw)),
        };
        parts.extend(part);
    }
}

// ---- response ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResponsesUsage {
    input_tokens: LU64,
    output_tokens: LU64,
    input_tokens_details: LObj<InputDetails>,
    output_tokens_details: LObj<OutputDetails>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InputDetails {
    cached_tokens: LU64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OutputDetails {
    reasoning_tokens: LU64,
}

impl ResponsesUsage {
    /// Already totals: cached ⊂ input, reasoning ⊂ output.
    fn to_usage(&self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.0,
            output_tokens: self.output_tokens.0,
            cache_read_input_tokens: self
                .input_tokens_details
                .get()
                .and_then(|d| d.cached_tokens.0),
            cache_write_input_tokens: None,
            reasoning_tokens: self
                .output_tokens_details
                .get()
                .and_then(|d| d.reasoning_tokens.0),
            web_search_calls: None,
            estimated: false,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Incomplete<'a> {
    #[serde(borrow)]
    reason: LCow<'a>,
}

struct Response<'a, 'c> {
    call: &'c mut LlmCall,
    status: Option<Str>,
    incomplete_reason: Option<Str>,
    error: Option<&'a RawValue>,
    output: Items<&'a RawValue>,
    has_output: bool,
}

impl<'de, 'c> FieldSink<'de> for Response<'de, 'c> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "id" => self.call.response_id = map.next_value::<LStr>()?.0,
            "model" => self.call.response_model = map.next_value::<LStr>()?.0,
            "status" => self.status = map.next_value::<LStr>()?.0,
            "incomplete_details" => {
                let d = map.next_value::<LObj<Incomplete>>()?;
                self.incomplete_reason = d.get().and_then(|d| d.reason.to_str());
            }
            "error" => self.error = map.next_value::<Option<&'de RawValue>>()?,
            "output" => {
                self.has_output = true;
                self.output.read(map)?
            }
            "usage" => {
                if let Some(u) = map.next_value::<LObj<ResponsesUsage>>()?.0 {
                    self.call.usage = u.to_usage();
                }
            }
            "conversation" => {
                let v = map.next_value::<Option<&'de RawValue>>()?;
                if let Some(id) = conversation_id(v) {
                    self.call.conversation_id = Some(id);
                }
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// Parses a response object (a non-streamed body, or the `response` of a
/// stream's terminal event) into `call`, replacing any output so far.
pub(crate) fn parse_response(call: &mut LlmCall, body: &str) {
    let mut resp = Response {
        call,
        status: None,
        incomplete_reason: None,
        error: None,
        output: Items::default(),
        has_output: false,
    };
    visit_object(body, &mut resp);
    let Response {
        call,
        status,
        incomplete_reason,
        error,
        output,
        has_output,
    } = resp;
    if let Some(e) = error.filter(|e| e.get() != "null") {
        record_stream_error(call, e.get());
    }
    let mut parts = Parts::new();
    let mut searches = 0;
    for raw in &output.items {
        if let Some(item) = parse::<LObj<Item>>(raw.get()).and_then(|i| i.0) {
            searches += usize::from(item.kind.as_str() == WEB_SEARCH_CALL);
            // `/responses/compact` returns the user's messages as they were
            // sent, then its compaction item: input, not the model's output.
            if item.kind.as_str() == "message" && item.role.as_str() == "user" {
                continue;
            }
            parts.extend(item_parts(&item, raw));
        }
    }
    call.usage.web_search_calls = search_count(searches);
    let (raw_reason, reason) = finish_reason(status.as_deref(), incomplete_reason, &parts);
    call.finish_reasons = raw_reason.into_iter().collect();
    if has_output && (!parts.is_empty() || reason.is_some()) {
        let mut msg = Message::new("assistant", parts);
        msg.finish_reason = reason;
        call.output_messages = vec![msg];
    }
}

/// The Responses API has no finish reason: derive one from the status (raw)
/// and map it to the conventions' values.
fn finish_reason(
    status: Option<&str>,
    incomplete_reason: Option<Str>,
    parts: &[Part],
) -> (Option<Str>, Option<Str>) {
    let mapped = |s: &str| -> Str {
        Str::from(match s {
            "max_output_tokens" => "length",
            "failed" | "cancelled" => "error",
            other => other,
        })
    };
    match status {
        Some("completed") => {
            let calls_tool = parts.iter().any(|p| matches!(p, Part::ToolCall { .. }));
            let mapped = if calls_tool { "tool_call" } else { "stop" };
            (Some(Str::from("completed")), Some(Str::from(mapped)))
        }
        Some("incomplete") => {
            let raw = incomplete_reason.unwrap_or_else(|| Str::from("incomplete"));
            let m = mapped(&raw);
            (Some(raw), Some(m))
        }
        Some(s @ ("failed" | "cancelled")) => (Some(Str::from(s)), Some(mapped(s))),
        _ => (None, None),
    }
}

// ---- stream ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    #[serde(borrow)]
    response: Option<&'a RawValue>,
    output_index: LU64,
    #[serde(borrow)]
    item: Option<&'a RawValue>,
    #[serde(borrow)]
    delta: LCow<'a>,
    #[serde(borrow)]
    arguments: LCow<'a>,
}

/// An output item being reassembled from deltas.
#[derive(Default)]
struct ItemAcc {
    output_index: u64,
    kind: String,
    call_id: Option<Str>,
    name: Option<Str>,
    text: String,
    refusal: String,
    arguments: String,
    reasoning: String,
    /// Set by `response.output_item.done`, which carries the whole item.
    done: Option<Parts>,
}

impl ItemAcc {
    fn into_parts(self) -> Parts {
        if let Some(parts) = self.done {
            return parts;
        }
        let mut parts = Parts::new();
        if !self.reasoning.is_empty() {
            parts.push(Part::Reasoning {
                content: Str::from(self.reasoning),
            });
        }
        if !self.text.is_empty() {
            parts.push(Part::text(self.text));
        }
        if !self.refusal.is_empty() {
            parts.push(Part::text(self.refusal));
        }
        if matches!(self.kind.as_str(), "function_call" | "custom_tool_call") {
            parts.push(Part::ToolCall {
                id: self.call_id,
                name: self.name.unwrap_or_default(),
                arguments: (!self.arguments.is_empty()).then(|| Str::from(self.arguments)),
            });
        }
        parts
    }
}

fn item_acc(items: &mut Vec<ItemAcc>, output_index: u64) -> &mut ItemAcc {
    let pos = items
        .iter()
        .position(|i| i.output_index == output_index)
        .unwrap_or_else(|| {
            items.push(ItemAcc {
                output_index,
                ..ItemAcc::default()
            });
            items.len() - 1
        });
    &mut items[pos]
}

/// Parses a Responses API event stream. The terminal event
/// (`response.completed` / `incomplete` / `failed`) carries the whole
/// response and wins; a cut stream falls back to the accumulated deltas.
pub(crate) fn parse_stream(call: &mut LlmCall, body: &str) {
    let mut items: Vec<ItemAcc> = Vec::new();
    let mut terminal: Option<String> = None;
    for ev in sse::events(body) {
        let Some(e) = parse::<LObj<Event>>(&ev.data).and_then(|e| e.0) else {
            continue;
        };
        let kind = match e.kind.as_str() {
            "" => ev.event.unwrap_or(""),
            k => k,
        };
        let index = e.output_index.0.unwrap_or(0);
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                if let Some(r) = e.response {
                    parse_response_header(call, r.get());
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                terminal = e.response.map(|r| r.get().to_owned());
            }
            "response.output_item.added" => {
                if let Some(item) = e.item.and_then(|r| parse::<LObj<Item>>(r.get())?.0) {
                    let acc = item_acc(&mut items, index);
                    acc.kind = item.kind.as_str().to_owned();
                    acc.call_id = item.call_id.0.clone();
                    acc.name = item.name.0.clone();
                }
            }
            "response.output_item.done" => {
                if let Some(raw) = e.item
                    && let Some(item) = parse::<LObj<Item>>(raw.get()).and_then(|i| i.0)
                {
                    let acc = item_acc(&mut items, index);
                    acc.kind = item.kind.as_str().to_owned();
                    acc.done = Some(item_parts(&item, raw));
                }
            }
            "response.output_text.delta" => {
                item_acc(&mut items, index).text.push_str(e.delta.as_str())
            }
            "response.refusal.delta" => item_acc(&mut items, index)
                .refusal
                .push_str(e.delta.as_str()),
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                item_acc(&mut items, index)
                    .arguments
                    .push_str(e.delta.as_str())
            }
            "response.function_call_arguments.done" => {
                if let Some(a) = e.arguments.0 {
                    item_acc(&mut items, index).arguments = a.into_owned();
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                item_acc(&mut items, index)
                    .reasoning
                    .push_str(e.delta.as_str())
            }
            "error" => record_stream_error(call, &ev.data),
            _ => {}
        }
    }
    if let Some(t) = terminal {
        parse_response(call, &t);
        return;
    }
    items.sort_by_key(|i| i.output_index);
    call.usage.web_search_calls =
        search_count(items.iter().filter(|i| i.kind == WEB_SEARCH_CALL).count());
    let parts: Parts = items.into_iter().flat_map(ItemAcc::into_parts).collect();
    if !parts.is_empty() {
        call.output_messages = vec![Message::new("assistant", parts)];
    }
}

/// id and model of an in-progress response (its output is
/// still empty, so the full parse would be wasted work).
fn parse_response_header(call: &mut LlmCall, json: &str) {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Header {
        id: LStr,
        model: LStr,
    }
    if let Some(h) = parse::<LObj<Header>>(json).and_then(|h| h.0) {
        call.response_id = h.id.0.or(call.response_id.take());
        call.response_model = h.model.0.or(call.response_model.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Operation;

    fn call() -> LlmCall {
        LlmCall::new("openai", Operation::Chat)
    }

    #[test]
    fn server_tool_items_are_a_call_and_its_outcome() {
        let mut c = call();
        parse_response(
            &mut c,
            r#"{"id":"resp_1","model":"gpt-5","status":"completed","output":[
                 {"type":"web_search_call","id":"ws_1","status":"completed",
                  "action":{"type":"search","query":"Oslo weather"}},
                 {"type":"code_interpreter_call","id":"ci_1","status":"completed","code":"print(2+2)",
                  "container_id":"cntr_1","outputs":[{"type":"logs","logs":"4"}]},
                 {"type":"mcp_call","id":"mcp_1","name":"get_issue","server_label":"tracker",
                  "arguments":"{\"id\":7}","output":"open","error":null},
                 {"type":"computer_call","id":"cu_1","call_id":"call_9","action":{"type":"click"}},
                 {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Rain."}]}]}"#,
        );
        let parts = &c.output_messages[0].parts;
        assert_eq!(
            parts[..6],
            [
                Part::ServerToolCall {
                    id: Some("ws_1".into()),
                    name: "web_search".into(),
                    call: r#"{"type":"web_search","action":{"type":"search","query":"Oslo weather"}}"#
                        .into(),
                },
                Part::ServerToolCallResponse {
                    id: Some("ws_1".into()),
                    tool_type: "web_search".into(),
                    response: r#"{"type":"web_search","status":"completed"}"#.into(),
                },
                Part::ServerToolCall {
                    id: Some("ci_1".into()),
                    name: "code_interpreter".into(),
                    call: r#"{"type":"code_interpreter","code":"print(2+2)","container_id":"cntr_1"}"#
                        .into(),
                },
                Part::ServerToolCallResponse {
                    id: Some("ci_1".into()),
                    tool_type: "code_interpreter".into(),
                    response: r#"{"type":"code_interpreter","status":"completed","outputs":[{"type":"logs","logs":"4"}]}"#
                        .into(),
                },
                Part::ServerToolCall {
                    id: Some("mcp_1".into()),
                    name: "get_issue".into(),
                    call: r#"{"type":"mcp","server_label":"tracker","arguments":"{\"id\":7}"}"#.into(),
                },
                Part::ServerToolCallResponse {
                    id: Some("mcp_1".into()),
                    tool_type: "mcp".into(),
                    response: r#"{"type":"mcp","output":"open"}"#.into(),
                },
            ]
        );
        // The client runs computer use: it stays the provider's own item.
        assert!(
            matches!(&parts[6], Part::Other { part_type, .. } if &**part_type == "computer_call")
        );
        assert_eq!(parts[7], Part::text("Rain."));
        assert_eq!(c.output_messages[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(c.usage.web_search_calls, Some(1), "billed per search");
    }

    #[test]
    fn request_reads_items_instructions_and_tools() {
        let mut c = call();
        parse_request(
            &mut c,
            r#"{"model":"gpt-4.1","instructions":"Be terse.","max_output_tokens":256,"temperature":0.1,
               "text":{"format":{"type":"json_object"}},"conversation":"conv_1",
               "input":[
                 {"role":"user","content":[{"type":"input_text","text":"Weather?"},{"type":"input_image","image_url":"https://x.test/a.png"}]},
                 {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Need a tool."}]},
                 {"type":"function_call","call_id":"call_1","name":"weather","arguments":"{\"city\":\"Oslo\"}"},
                 {"type":"function_call_output","call_id":"call_1","output":"rain"},
                 {"type":"message","role":"assistant","content":[{"type":"output_text","text":"It rains."}]}
               ],
               "tools":[{"type":"function","name":"weather","parameters":{"type":"object"}},{"type":"web_search_preview"}]}"#,
        );
        assert_eq!(c.request_model.as_deref(), Some("gpt-4.1"));
        assert_eq!(c.system_instructions[..], [Part::text("Be terse.")]);
        assert_eq!(c.params.max_tokens, Some(256));
        assert_eq!(c.params.output_type.as_deref(), Some("json"));
        assert_eq!(c.conversation_id.as_deref(), Some("conv_1"));
        let m = &c.input_messages;
        assert_eq!(m.len(), 4, "{m:?}");
        assert_eq!(
            m[0].parts[1],
            Part::Uri {
                modality: "image".into(),
                mime_type: None,
                uri: "https://x.test/a.png".into()
            }
        );
        assert_eq!(m[1].role.as_ref(), "assistant");
        assert_eq!(
            m[1].parts[..],
            vec![
                Part::Reasoning {
                    content: "Need a tool.".into()
                },
                Part::ToolCall {
                    id: Some("call_1".into()),
                    name: "weather".into(),
                    arguments: Some(r#"{"city":"Oslo"}"#.into())
                }
            ]
        );
        assert_eq!(
            m[2].parts[..],
            vec![Part::ToolCallResponse {
                id: Some("call_1".into()),
                response: "rain".into()
            }]
        );
        assert_eq!(m[3], Message::text("assistant", "It rains."));
        assert_eq!(c.tool_definitions.len(), 2);
        assert_eq!(c.tool_definitions[1].name.as_ref(), "web_search_preview");
    }

    #[test]
    fn string_input_is_one_user_message() {
        let mut c = call();
        parse_request(&mut c, r#"{"model":"o4-mini","input":"Hi"}"#);
        assert_eq!(c.input_messages, vec![Message::text("user", "Hi")]);
    }

    #[test]
    fn incomplete_response_maps_to_length() {
        let mut c = call();
        parse_response(
            &mut c,
            r#"{"id":"resp_1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},
               "model":"o4-mini-2025-04-16","output":[{"type":"reasoning","summary":[]}],
               "usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":0},"output_tokens":64,"output_tokens_details":{"reasoning_tokens":64}}}"#,
        );
        assert_eq!(c.finish_reasons, vec![Str::from("max_output_tokens")]);
        assert_eq!(
            c.output_messages[0].finish_reason.as_deref(),
            Some("length")
        );
        assert_eq!(c.usage.reasoning_tokens, Some(64));
        assert_eq!(c.usage.cache_read_input_tokens, Some(0));
    }

    #[test]
    fn failed_stream_records_the_error() {
        let body = concat!(
            "event: response.created\n",
            "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_9\",\"model\":\"gpt-4.1-2025-04-14\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
            "event: response.failed\n",
            "data: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_9\",\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"The model failed.\"},\"output\":[]}}\n\n",
        );
        let mut c = call();
        parse_stream(&mut c, body);
        assert_eq!(c.response_model.as_deref(), Some("gpt-4.1-2025-04-14"));
        let err = c.error.as_ref().unwrap();
        assert_eq!(&*err.error_type, "server_error");
        assert_eq!(err.message.as_deref(), Some("The model failed."));
        assert_eq!(c.finish_reasons, vec![Str::from("failed")]);
        assert_eq!(c.output_messages[0].finish_reason.as_deref(), Some("error"));
    }

    #[test]
    fn error_event_mid_stream_keeps_the_text_so_far() {
        let body = concat!(
            "event: response.output_text.delta\n",
            "data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"Hel\"}\n\n",
            "event: error\n",
            "data: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down\",\"param\":null}\n\n",
        );
        let mut c = call();
        parse_stream(&mut c, body);
        assert_eq!(
            c.error.as_ref().map(|e| &*e.error_type),
            Some("rate_limit_exceeded")
        );
        assert_eq!(c.output_messages[0].parts[..], vec![Part::text("Hel")]);
    }
}
