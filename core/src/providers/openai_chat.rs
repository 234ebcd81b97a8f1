//! OpenAI Chat Completions (`/v1/chat/completions`) and the legacy
//! Completions API (`/v1/completions`), which share the `choices` shape of
//! responses and stream chunks.

use serde::Deserialize;
use serde::de::MapAccess;
use serde_json::value::RawValue;

use super::common::{
    InputAudio, OpenAiUsage, blob, content_items, file_data_part, file_part,
    map_openai_finish_reason, media_part, other_part, read_param, record_stream_error,
    tool_result_text,
};
use super::json::{
    FieldSink, Items, LCow, LObj, LStr, LU64, LVec, parse, raw_text, skip, string_or_json,
    string_or_json_cow, visit_object,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::sse;
use crate::model::{LlmCall, Message, Part, Parts, Str, ToolDefinition};

// ---- request ----

struct Request<'a, 'c> {
    call: &'c mut LlmCall,
    messages: Items<&'a RawValue>,
    prompt: Items<&'a RawValue>,
    tools: Items<&'a RawValue>,
    functions: Items<&'a RawValue>,
}

impl<'de, 'c> FieldSink<'de> for Request<'de, 'c> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        if read_param(key, map, &mut self.call.params)? {
            return Ok(());
        }
        match key {
            "model" => self.call.request_model = map.next_value::<LStr>()?.0,
            "messages" => self.messages.read(map)?,
            "prompt" => self.prompt.read(map)?,
            "tools" => self.tools.read(map)?,
            "functions" => self.functions.read(map)?,
            "response_format" => {
                let f = map.next_value::<LObj<ResponseFormat>>()?;
                if let Some(f) = f.get() {
                    self.call.params.output_type = output_type(f.kind.as_str());
                }
            }
            // A spoken answer (`["text", "audio"]`).
            "modalities" => {
                let m = map.next_value::<LVec<LCow>>()?;
                if m.0.iter().any(|x| x.as_str() == "audio") {
                    self.call.params.output_type = Some(Str::from("speech"));
                }
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ResponseFormat<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: LCow<'a>,
}

/// `gen_ai.output.type` for a requested format type.
pub(crate) fn output_type(kind: &str) -> Option<Str> {
    match kind {
        "json_object" | "json_schema" | "json" => Some(Str::from("json")),
        "text" => Some(Str::from("text")),
        _ => None,
    }
}

/// Parses a chat (or legacy completions) request body into `call`.
pub(crate) fn parse_request(call: &mut LlmCall, body: &str) {
    let mut req = Request {
        call,
        messages: Items::default(),
        prompt: Items::default(),
        tools: Items::default(),
        functions: Items::default(),
    };
    visit_object(body, &mut req);
    let Request {
        call,
        messages,
        prompt,
        tools,
        functions,
    } = req;
    for raw in messages.items {
        if let Some(m) = parse::<LObj<ChatMessage>>(raw.get()).and_then(|m| m.0) {
            call.input_messages.push(input_message(&m));
        }
    }
    // Legacy completions: a prompt string, or a batch of them (token-id
    // prompts carry no text to record).
    if let Some(p) = prompt.text {
        call.input_messages.push(Message::text("user", p));
    }
    for raw in prompt.items {
        if let Some(p) = parse::<LStr>(raw.get()).and_then(|s| s.0) {
            call.input_messages.push(Message::text("user", p));
        }
    }
    for raw in tools.items {
        if let Some(t) = parse::<LObj<ChatTool>>(raw.get()).and_then(|t| t.0) {
            call.tool_definitions.extend(t.definition());
        }
    }
    for raw in functions.items {
        if let Some(f) = parse::<LObj<FunctionDef>>(raw.get()).and_then(|f| f.0) {
            call.tool_definitions.extend(f.definition("function"));
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChatTool<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    #[serde(borrow)]
    function: LObj<FunctionDef<'a>>,
    #[serde(borrow)]
    custom: LObj<FunctionDef<'a>>,
}

impl ChatTool<'_> {
    fn definition(&self) -> Option<ToolDefinition> {
        let kind = match self.kind.as_str() {
            "" => "function",
            k => k,
        };
        let def = self.function.get().or(self.custom.get())?;
        def.definition(kind)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FunctionDef<'a> {
    name: LStr,
    description: LStr,
    #[serde(borrow)]
    parameters: Option<&'a RawValue>,
}

impl FunctionDef<'_> {
    fn definition(&self, kind: &str) -> Option<ToolDefinition> {
        Some(ToolDefinition {
            tool_type: Str::from(kind),
            name: self.name.0.clone()?,
            description: self.description.0.clone(),
            parameters: raw_text(self.parameters),
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChatMessage<'a> {
    #[serde(borrow)]
    role: LCow<'a>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    name: LStr,
    #[serde(borrow)]
    tool_calls: LVec<LObj<ToolCall<'a>>>,
    tool_call_id: LStr,
    #[serde(borrow)]
    function_call: LObj<FunctionCall<'a>>,
    refusal: LStr,
    /// DeepSeek and other compatible servers return reasoning here.
    reasoning_content: LStr,
    /// A spoken answer: its transcript and the audio (base64).
    audio: LObj<AudioAnswer>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AudioAnswer {
    transcript: LStr,
    data: LStr,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ToolCall<'a> {
    id: LStr,
    #[serde(borrow)]
    function: LObj<FunctionCall<'a>>,
    #[serde(borrow)]
    custom: LObj<CustomCall<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FunctionCall<'a> {
    name: LStr,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
}

/// A call of a `custom` (free-text input) tool.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CustomCall<'a> {
    name: LStr,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

impl ToolCall<'_> {
    fn part(&self) -> Option<Part> {
        let (name, arguments) = if let Some(f) = self.function.get() {
            (f.name.0.clone(), string_or_json(f.arguments))
        } else {
            let c = self.custom.get()?;
            (c.name.0.clone(), string_or_json(c.input))
        };
        Some(Part::ToolCall {
            id: self.id.0.clone(),
            name: name.unwrap_or_default(),
            arguments,
        })
    }
}

fn input_message(m: &ChatMessage) -> Message {
    let role = match m.role.as_str() {
        "" => "user",
        r => r,
    };
    let response = || m.content.map(tool_result_text).unwrap_or_default();
    let mut msg = match role {
        "tool" => Message::new(
            "tool",
            vec![Part::ToolCallResponse {
                id: m.tool_call_id.0.clone(),
                response: response(),
            }],
        ),
        // The legacy `function` role: a result, identified by function name.
        "function" => Message::new(
            "tool",
            vec![Part::ToolCallResponse {
                id: None,
                response: response(),
            }],
        ),
        _ => Message::new(role, message_parts(m)),
    };
    msg.name = m.name.0.clone();
    msg
}

/// Parts of a user/system/assistant message, in the order the model saw them.
fn message_parts(m: &ChatMessage) -> Parts {
    let mut parts = Parts::new();
    if let Some(r) = &m.reasoning_content.0 {
        parts.push(Part::Reasoning { content: r.clone() });
    }
    if let Some(c) = m.content {
        content_parts(c, &mut parts);
    }
    if let Some(r) = &m.refusal.0 {
        parts.push(Part::text(r.clone()));
    }
    if let Some(a) = m.audio.get() {
        audio_parts(a.transcript.0.clone(), a.data.0.as_deref(), &mut parts);
    }
    parts.extend(m.tool_calls.objs().filter_map(ToolCall::part));
    if let Some(f) = m.function_call.get() {
        parts.push(Part::ToolCall {
            id: None,
            name: f.name.0.clone().unwrap_or_default(),
            arguments: string_or_json(f.arguments),
        });
    }
    parts
}

/// A spoken answer's parts: the transcript as text, the audio as a blob
/// (a history's assistant turn names its audio by id only: nothing to add).
fn audio_parts(transcript: Option<Str>, data: Option<&str>, parts: &mut Parts) {
    if let Some(t) = transcript.filter(|t| !t.is_empty()) {
        parts.push(Part::text(t));
    }
    if let Some(d) = data.filter(|d| !d.is_empty()) {
        parts.push(blob("audio", None, d));
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContentPart<'a> {
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    text: LStr,
    refusal: LStr,
    /// `{"url": ...}`, or a bare URL string on some compatible servers.
    #[serde(borrow)]
    image_url: Option<&'a RawValue>,
    #[serde(borrow)]
    input_audio: LObj<InputAudio<'a>>,
    #[serde(borrow)]
    file: LObj<FileRef<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UrlObj<'a> {
    #[serde(borrow)]
    url: LCow<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FileRef<'a> {
    #[serde(borrow)]
    file_id: LCow<'a>,
    #[serde(borrow)]
    file_data: LCow<'a>,
}

fn content_parts(content: &RawValue, parts: &mut Parts) {
    for raw in content_items(content, parts) {
        let Some(p) = parse::<LObj<ContentPart>>(raw.get()).and_then(|p| p.0) else {
            continue;
        };
        let part = match p.kind.as_str() {
            "text" | "input_text" => p.text.0.map(Part::text),
            "refusal" => p.refusal.0.map(Part::text),
            "image_url" => p.image_url.and_then(|u| {
                let url = if u.get().starts_with('"') {
                    parse::<LCow>(u.get())?
                } else {
                    parse::<LObj<UrlObj>>(u.get())?.0?.url
                };
                url.0.map(|url| media_part(&url, "image"))
            }),
            "input_audio" => p.input_audio.get().map(InputAudio::part),
            "file" => p.file.get().and_then(|f| {
                if let Some(data) = f.file_data.0.as_deref() {
                    Some(file_data_part(data))
                } else {
                    f.file_id
                        .0
                        .as_deref()
                        .map(|id| file_part("document", None, id))
                }
            }),
            other => Some(other_part(other, raw)),
        };
        parts.extend(part);
    }
}

// ---- response ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct Choice<'a> {
    index: LU64,
    #[serde(borrow)]
    message: LObj<ChatMessage<'a>>,
    /// Legacy completions.
    text: LStr,
    finish_reason: LStr,
}

struct Response<'a, 'c> {
    call: &'c mut LlmCall,
    choices: Items<LObj<Choice<'a>>>,
}

impl<'de, 'c> FieldSink<'de> for Response<'de, 'c> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "id" => self.call.response_id = map.next_value::<LStr>()?.0,
            "model" => self.call.response_model = map.next_value::<LStr>()?.0,
            "choices" => self.choices.read(map)?,
            "usage" => {
                if let Some(u) = map.next_value::<LObj<OpenAiUsage>>()?.0 {
                    self.call.usage = u.to_usage();
                }
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// Parses a non-streamed chat or completions response body into `call`.
pub(crate) fn parse_response(call: &mut LlmCall, body: &str) {
    let mut resp = Response {
        call,
        choices: Items::default(),
    };
    visit_object(body, &mut resp);
    let Response { call, choices } = resp;
    let mut choices: Vec<Choice> = choices.items.into_iter().filter_map(|c| c.0).collect();
    choices.sort_by_key(|c| c.index.0.unwrap_or(u64::MAX));
    for c in choices {
        let mut msg = match c.message.get() {
            Some(m) => Message::new(
                match m.role.as_str() {
                    "" => "assistant",
                    r => r,
                },
                message_parts(m),
            ),
            None => Message::new(
                "assistant",
                c.text.0.into_iter().map(Part::text).collect::<Parts>(),
            ),
        };
        if let Some(raw) = c.finish_reason.0 {
            msg.finish_reason = Some(map_openai_finish_reason(&raw));
            call.finish_reasons.push(raw);
        }
        call.output_messages.push(msg);
    }
}

// ---- stream ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct Chunk<'a> {
    #[serde(borrow)]
    id: LCow<'a>,
    #[serde(borrow)]
    model: LCow<'a>,
    #[serde(borrow)]
    choices: LVec<LObj<ChunkChoice<'a>>>,
    usage: LObj<OpenAiUsage>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChunkChoice<'a> {
    index: LU64,
    #[serde(borrow)]
    delta: LObj<Delta<'a>>,
    /// Legacy completions stream text here.
    #[serde(borrow)]
    text: LCow<'a>,
    #[serde(borrow)]
    finish_reason: LCow<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Delta<'a> {
    #[serde(borrow)]
    role: LCow<'a>,
    #[serde(borrow)]
    content: LCow<'a>,
    #[serde(borrow)]
    refusal: LCow<'a>,
    #[serde(borrow)]
    reasoning_content: LCow<'a>,
    #[serde(borrow)]
    tool_calls: LVec<LObj<ToolDelta<'a>>>,
    #[serde(borrow)]
    function_call: LObj<FunctionDelta<'a>>,
    #[serde(borrow)]
    audio: LObj<AudioDelta<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AudioDelta<'a> {
    #[serde(borrow)]
    transcript: LCow<'a>,
    #[serde(borrow)]
    data: LCow<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ToolDelta<'a> {
    index: LU64,
    #[serde(borrow)]
    id: LCow<'a>,
    #[serde(borrow)]
    function: LObj<FunctionDelta<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FunctionDelta<'a> {
    #[serde(borrow)]
    name: LCow<'a>,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
}

/// One choice being reassembled from deltas.
#[derive(Default)]
struct ChoiceAcc {
    index: u64,
    role: Option<Str>,
    text: String,
    refusal: String,
    reasoning: String,
    tools: Vec<ToolAcc>,
    finish_reason: Option<Str>,
    /// A spoken answer: the transcript's pieces, and the audio's, each piece
    /// base64 of its own (so decoded here, and encoded once at the end).
    transcript: String,
    audio: Option<Vec<u8>>,
    /// A piece did not decode: the audio is dropped, the transcript kept.
    audio_failed: bool,
}

/// One tool call being reassembled: id and name arrive once, arguments in
/// pieces.
#[derive(Default)]
struct ToolAcc {
    index: Option<u64>,
    id: Option<Str>,
    name: String,
    arguments: String,
    legacy_function: bool,
}

impl ChoiceAcc {
    fn tool(&mut self, index: Option<u64>, id: Option<&str>) -> &mut ToolAcc {
        let pos = match index {
            Some(i) => self.tools.iter().position(|t| t.index == Some(i)),
            // Some compatible servers omit the index: a new id starts a new
            // call, anything else continues the last one.
            None => match (id, self.tools.last()) {
                (Some(id), Some(last)) if last.id.as_deref() != Some(id) => None,
                (_, Some(_)) => Some(self.tools.len() - 1),
                (_, None) => None,
            },
        };
        let pos = pos.unwrap_or_else(|| {
            self.tools.push(ToolAcc {
                index,
                ..ToolAcc::default()
            });
            self.tools.len() - 1
        });
        &mut self.tools[pos]
    }

    fn apply(&mut self, c: &ChunkChoice) {
        self.text.push_str(c.text.as_str());
        if let Some(d) = c.delta.get() {
            if self.role.is_none() {
                self.role = d.role.to_str();
            }
            self.text.push_str(d.content.as_str());
            self.refusal.push_str(d.refusal.as_str());
            self.reasoning.push_str(d.reasoning_content.as_str());
            if let Some(a) = d.audio.get() {
                self.transcript.push_str(a.transcript.as_str());
                if !a.data.as_str().is_empty() {
                    let buf = self.audio.get_or_insert_with(Vec::new);
                    if STANDARD.decode_vec(a.data.as_str(), buf).is_err() {
                        self.audio_failed = true;
                    }
                }
            }
            for t in d.tool_calls.objs() {
                let acc = self.tool(t.index.0, t.id.0.as_deref());
                if acc.id.is_none() {
                    acc.id = t.id.to_str();
                }
                if let Some(f) = t.function.get() {
                    acc.name.push_str(f.name.as_str());
                    if let Some(a) = string_or_json_cow(f.arguments) {
                        acc.arguments.push_str(&a);
                    }
                }
            }
            if let Some(f) = d.function_call.get() {
                let acc = match self.tools.iter().position(|t| t.legacy_function) {
                    Some(i) => &mut self.tools[i],
                    None => {
                        self.tools.push(ToolAcc {
                            legacy_function: true,
                            ..ToolAcc::default()
                        });
                        let last = self.tools.len() - 1;
                        &mut self.tools[last]
                    }
                };
                acc.name.push_str(f.name.as_str());
                if let Some(a) = string_or_json_cow(f.arguments) {
                    acc.arguments.push_str(&a);
                }
            }
        }
        if let Some(f) = c.finish_reason.0.as_deref().filter(|f| !f.is_empty()) {
            self.finish_reason = Some(Str::from(f));
        }
    }

    fn into_message(self) -> Message {
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
        let audio = self.audio.filter(|_| !self.audio_failed);
        audio_parts(
            Some(Str::from(self.transcript)),
            audio.map(|a| STANDARD.encode(a)).as_deref(),
            &mut parts,
        );
        for t in self.tools {
            parts.push(Part::ToolCall {
                id: t.id,
                name: Str::from(t.name),
                arguments: (!t.arguments.is_empty()).then(|| Str::from(t.arguments)),
            });
        }
        let mut msg = Message::new(self.role.unwrap_or_else(|| Str::from("assistant")), parts);
        msg.finish_reason = self.finish_reason.as_deref().map(map_openai_finish_reason);
        msg
    }
}

/// Parses a streamed chat or completions response (the whole SSE body).
pub(crate) fn parse_stream(call: &mut LlmCall, body: &str) {
    let mut choices: Vec<ChoiceAcc> = Vec::new();
    for ev in sse::events(body) {
        let data = ev.data.trim();
        if data == "[DONE]" {
            break;
        }
        let Some(chunk) = parse::<LObj<Chunk>>(data).and_then(|c| c.0) else {
            continue;
        };
        if call.response_id.is_none() {
            call.response_id = chunk.id.to_str();
        }
        if call.response_model.is_none() {
            call.response_model = chunk.model.to_str().filter(|m| !m.is_empty());
        }
        for c in chunk.choices.objs() {
            let index = c.index.0.unwrap_or(0);
            let acc = match choices.iter().position(|a| a.index == index) {
                Some(i) => &mut choices[i],
                None => {
                    choices.push(ChoiceAcc {
                        index,
                        ..ChoiceAcc::default()
                    });
                    let last = choices.len() - 1;
                    &mut choices[last]
                }
            };
            acc.apply(c);
        }
        if let Some(u) = chunk.usage.get() {
            call.usage = u.to_usage();
        }
        if chunk.error.is_some() {
            record_stream_error(call, data);
        }
    }
    choices.sort_by_key(|c| c.index);
    for c in choices {
        if let Some(f) = &c.finish_reason {
            call.finish_reasons.push(f.clone());
        }
        call.output_messages.push(c.into_message());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Operation;

    fn call() -> LlmCall {
        LlmCall::new("openai", Operation::Chat)
    }

    fn audio_blob(data: &str) -> Part {
        Part::Blob {
            modality: "audio".into(),
            mime_type: None,
            content: data.into(),
        }
    }

    #[test]
    fn spoken_answers_keep_their_transcript_and_audio() {
        let mut c = call();
        parse_request(
            &mut c,
            r#"{"model":"gpt-4o-audio-preview","modalities":["text","audio"],
               "audio":{"voice":"alloy","format":"wav"},
               "messages":[{"role":"user","content":"Hi"},
                           {"role":"assistant","audio":{"id":"audio_1"}},
                           {"role":"user","content":"Again"}]}"#,
        );
        assert_eq!(c.params.output_type.as_deref(), Some("speech"));
        assert_eq!(
            c.input_messages[1].parts[..],
            vec![],
            "history names its audio by id only"
        );
        parse_response(
            &mut c,
            r#"{"id":"chatcmpl-1","model":"gpt-4o-audio-preview-2025-06-03","choices":[{"index":0,
               "message":{"role":"assistant","content":null,"refusal":null,
                 "audio":{"id":"audio_2","data":"UklGRg==","expires_at":1,"transcript":"Hello again."}},
               "finish_reason":"stop"}]}"#,
        );
        assert_eq!(
            c.output_messages[0].parts[..],
            vec![Part::text("Hello again."), audio_blob("UklGRg==")]
        );

        // Streamed: transcript pieces, and audio pieces each base64 of its own.
        let sse = [
            r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"#,
            r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"audio":{"id":"a","transcript":"Hello "}}}]}"#,
            r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"audio":{"id":"a","transcript":"again."}}}]}"#,
            r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"audio":{"id":"a","data":"AAE="}}}]}"#,
            r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"audio":{"id":"a","data":"Ag=="}}}]}"#,
            r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        ]
        .iter()
        .map(|d| format!("data: {d}\n\n"))
        .collect::<String>();
        let mut c = call();
        parse_stream(&mut c, &sse);
        assert_eq!(
            c.output_messages[0].parts[..],
            vec![Part::text("Hello again."), audio_blob("AAEC")]
        );
        // A piece that is not base64 drops the audio, not the transcript.
        let mut c = call();
        parse_stream(&mut c, &sse.replace("Ag==", "%%"));
        assert_eq!(
            c.output_messages[0].parts[..],
            vec![Part::text("Hello again.")]
        );
    }

    #[test]
    fn request_reads_messages_params_and_tools() {
        let mut c = call();
        parse_request(
            &mut c,
            r#"{"model":"gpt-4o","messages":[
                {"role":"developer","content":"Be brief."},
                {"role":"user","name":"ann","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},{"type":"input_audio","input_audio":{"data":"UklGR","format":"wav"}}]},
                {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
                {"role":"tool","tool_call_id":"call_1","content":"42"},
                {"role":"assistant","function_call":{"name":"g","arguments":"{}"}},
                {"role":"function","name":"g","content":"ok"}
              ],
              "temperature":0.2,"top_p":0.9,"max_tokens":10,"max_completion_tokens":100,
              "frequency_penalty":0.5,"presence_penalty":-0.5,"stop":"END","seed":7,"n":2,"stream":false,
              "response_format":{"type":"json_schema","json_schema":{"name":"x"}},
              "tools":[{"type":"function","function":{"name":"f","description":"adds","parameters":{"type":"object"}}}],
              "functions":[{"name":"g","parameters":{}}]}"#,
        );
        assert_eq!(c.request_model.as_deref(), Some("gpt-4o"));
        let p = &c.params;
        assert_eq!(p.temperature, Some(0.2));
        assert_eq!(p.top_p, Some(0.9));
        assert_eq!(p.max_tokens, Some(100));
        assert_eq!(p.frequency_penalty, Some(0.5));
        assert_eq!(p.presence_penalty, Some(-0.5));
        assert_eq!(p.stop_sequences, vec![Str::from("END")]);
        assert_eq!(p.seed, Some(7));
        assert_eq!(p.choice_count, Some(2));
        assert_eq!(p.stream, Some(false));
        assert_eq!(p.output_type.as_deref(), Some("json"));
        let m = &c.input_messages;
        assert_eq!(m.len(), 6);
        assert_eq!(m[0], Message::text("developer", "Be brief."));
        assert_eq!(m[1].name.as_deref(), Some("ann"));
        assert_eq!(
            m[1].parts[..],
            vec![
                Part::text("Look"),
                Part::Blob {
                    modality: "image".into(),
                    mime_type: Some("image/jpeg".into()),
                    content: "/9j/4AAQ".into()
                },
                Part::Blob {
                    modality: "audio".into(),
                    mime_type: Some("audio/wav".into()),
                    content: "UklGR".into()
                },
            ]
        );
        assert_eq!(
            m[2].parts[..],
            vec![Part::ToolCall {
                id: Some("call_1".into()),
                name: "f".into(),
                arguments: Some(r#"{"a":1}"#.into())
            }]
        );
        assert_eq!(
            m[3],
            Message::new(
                "tool",
                vec![Part::ToolCallResponse {
                    id: Some("call_1".into()),
                    response: "42".into()
                }]
            )
        );
        assert!(matches!(&m[4].parts[0], Part::ToolCall { name, id: None, .. } if &**name == "g"));
        assert_eq!(m[5].role.as_ref(), "tool");
        assert_eq!(m[5].name.as_deref(), Some("g"));
        assert_eq!(c.tool_definitions.len(), 2);
        assert_eq!(
            c.tool_definitions[0],
            ToolDefinition {
                tool_type: "function".into(),
                name: "f".into(),
                description: Some("adds".into()),
                parameters: Some(r#"{"type":"object"}"#.into()),
            }
        );
        assert_eq!(c.tool_definitions[1].name.as_ref(), "g");
    }

    #[test]
    fn stream_reassembles_tool_call_deltas_split_across_chunks() {
        let body = concat!(
            "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\":\\\"Paris\\\"}\"}}]}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        let mut c = call();
        parse_stream(&mut c, body);
        assert_eq!(c.response_id.as_deref(), Some("c1"));
        assert_eq!(c.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(c.finish_reasons, vec![Str::from("tool_calls")]);
        assert!(c.usage.is_empty());
        let out = &c.output_messages[0];
        assert_eq!(out.finish_reason.as_deref(), Some("tool_call"));
        assert_eq!(
            out.parts[..],
            vec![
                Part::ToolCall {
                    id: Some("call_a".into()),
                    name: "get_weather".into(),
                    arguments: Some(r#"{"city":"Paris"}"#.into())
                },
                Part::ToolCall {
                    id: Some("call_b".into()),
                    name: "get_time".into(),
                    arguments: Some("{}".into())
                },
            ]
        );
    }

    #[test]
    fn error_chunk_in_stream_is_recorded() {
        let body = concat!(
            "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
        );
        let mut c = call();
        parse_stream(&mut c, body);
        let err = c.error.as_ref().unwrap();
        assert_eq!(&*err.error_type, "server_error");
        assert_eq!(err.message.as_deref(), Some("The server had an error"));
        assert_eq!(c.output_messages[0].parts[..], vec![Part::text("Hi")]);
    }

    #[test]
    fn multiple_choices_keep_their_order_and_finish_reasons() {
        let mut c = call();
        parse_response(
            &mut c,
            r#"{"id":"x","model":"gpt-4o","choices":[
                {"index":1,"message":{"role":"assistant","content":"B"},"finish_reason":"length"},
                {"index":0,"message":{"role":"assistant","content":"A","refusal":null},"finish_reason":"content_filter"}]}"#,
        );
        assert_eq!(c.output_messages[0], {
            let mut m = Message::text("assistant", "A");
            m.finish_reason = Some("content_filter".into());
            m
        });
        assert_eq!(
            c.output_messages[1].finish_reason.as_deref(),
            Some("length")
        );
        assert_eq!(
            c.finish_reasons,
            vec![Str::from("content_filter"), Str::from("length")]
        );
    }
}
