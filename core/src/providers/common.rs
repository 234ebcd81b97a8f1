//! Pieces shared by the provider parsers: media parts, finish reasons, error
//! bodies and OpenAI-style usage.

use serde::Deserialize;
use serde::de::MapAccess;
use serde_json::value::RawValue;

use super::json::{LBool, LCow, LF64, LI64, LObj, LStr, LU64, Stop, parse};
use crate::model::{LlmCall, LlmError, Part, Parts, RequestParams, Str, Usage};

/// The conventions' finish reason for an OpenAI-style raw value.
pub(crate) fn map_openai_finish_reason(raw: &str) -> Str {
    Str::from(match raw {
        "tool_calls" | "function_call" => "tool_call",
        other => other,
    })
}

/// The parts of OpenAI message content as sent: a bare string becomes one
/// text part (pushed here); an array's items are returned for the caller's
/// API-specific part types.
pub(crate) fn content_items<'a>(content: &'a RawValue, parts: &mut Parts) -> Vec<&'a RawValue> {
    let t = content.get().trim_start();
    if t.starts_with('"') {
        if let Some(s) = parse::<LStr>(t).and_then(|s| s.0) {
            parts.push(Part::text(s));
        }
        return Vec::new();
    }
    parse::<Vec<&RawValue>>(t).unwrap_or_default()
}

/// OpenAI's `input_audio` object (chat and responses APIs).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct InputAudio<'a> {
    #[serde(borrow)]
    pub data: LCow<'a>,
    #[serde(borrow)]
    pub format: LCow<'a>,
}

impl InputAudio<'_> {
    pub(crate) fn part(&self) -> Part {
        blob(
            "audio",
            audio_mime(self.format.as_str()).as_deref(),
            self.data.as_str(),
        )
    }
}

/// Inline file data: a `data:` URL, or bare base64 without the prefix.
pub(crate) fn file_data_part(data: &str) -> Part {
    match media_part(data, "document") {
        Part::Uri { .. } => blob("document", None, data),
        part => part,
    }
}

/// A media reference: `data:` URLs become inline blobs (base64 content and
/// the URL's mime type), anything else stays a URI.
pub(crate) fn media_part(url: &str, modality: &str) -> Part {
    if let Some((mime, b64)) = parse_data_url(url) {
        return Part::Blob {
            modality: Str::from(modality),
            mime_type: mime.map(Str::from),
            content: Str::from(b64),
        };
    }
    Part::Uri {
        modality: Str::from(modality),
        mime_type: None,
        uri: Str::from(url),
    }
}

/// `data:[<mime>][;param...];base64,<data>` → (mime, data). Non-base64 data
/// URLs are left to be URIs.
fn parse_data_url(url: &str) -> Option<(Option<&str>, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mut fields = meta.split(';');
    let mime = fields.next().filter(|m| !m.is_empty());
    if !fields.any(|f| f.eq_ignore_ascii_case("base64")) {
        return None;
    }
    Some((mime, data))
}

/// Inline base64 data with a known mime type.
pub(crate) fn blob(modality: &str, mime_type: Option<&str>, content: &str) -> Part {
    Part::Blob {
        modality: Str::from(modality),
        mime_type: mime_type.map(Str::from),
        content: Str::from(content),
    }
}

/// The mime type of an OpenAI `input_audio.format`.
pub(crate) fn audio_mime(format: &str) -> Option<String> {
    match format {
        "" => None,
        "mp3" => Some("audio/mpeg".to_string()),
        f => Some(format!("audio/{f}")),
    }
}

/// A provider-stored file, in the conventions' `file` part shape (the model
/// has no dedicated variant, so it travels as a generic part).
pub(crate) fn file_part(modality: &str, mime_type: Option<&str>, file_id: &str) -> Part {
    let mut o = serde_json::Map::new();
    o.insert("type".into(), "file".into());
    o.insert("modality".into(), modality.into());
    if let Some(m) = mime_type {
        o.insert("mime_type".into(), m.into());
    }
    o.insert("file_id".into(), file_id.into());
    Part::Other {
        part_type: Str::from("file"),
        json: Str::from(serde_json::Value::Object(o).to_string()),
    }
}

/// A part the parsers do not model, passed through as its own JSON.
pub(crate) fn other_part(part_type: &str, raw: &RawValue) -> Part {
    Part::Other {
        part_type: Str::from(if part_type.is_empty() {
            "unknown"
        } else {
            part_type
        }),
        json: Str::from(raw.get()),
    }
}

/// A server tool's details as the conventions' polymorphic object:
/// `{"type": tool_type, key: value, ...}` from the provider's raw values
/// (absent and null ones left out), minified.
pub(crate) fn typed_object(tool_type: &str, fields: &[(&str, Option<&RawValue>)]) -> Str {
    let mut s = String::from("{\"type\":");
    crate::semconv::messages::push_json_str(&mut s, tool_type);
    for (key, v) in fields {
        if let Some(v) = v.filter(|v| v.get() != "null") {
            s.push_str(",\"");
            s.push_str(key);
            s.push_str("\":");
            s.push_str(&super::json::minify(v.get()));
        }
    }
    s.push('}');
    Str::from(s)
}

/// The text of a tool result given as content parts: the text parts joined
/// when all parts are text, else the parts' JSON (kept structured on export).
pub(crate) fn tool_result_text(raw: &RawValue) -> Str {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct TextPart<'a> {
        #[serde(rename = "type", borrow)]
        kind: LCow<'a>,
        #[serde(borrow)]
        text: LCow<'a>,
    }
    let t = raw.get().trim_start();
    if t.starts_with('"') {
        return parse::<LStr>(t).and_then(|s| s.0).unwrap_or_default();
    }
    if let Some(parts) = parse::<Vec<LObj<TextPart>>>(t) {
        let all_text = parts.iter().all(|p| {
            p.get()
                .is_some_and(|p| matches!(p.kind.as_str(), "text" | "input_text" | "output_text"))
        });
        if all_text {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get())
                .map(|p| p.text.as_str())
                .collect();
            return Str::from(texts.join("\n"));
        }
    }
    Str::from(raw.get())
}

/// Reads a request parameter shared by the APIs into `p`. Returns false when
/// `key` is not one (the value is then still unread).
pub(crate) fn read_param<'de, A: MapAccess<'de>>(
    key: &str,
    map: &mut A,
    p: &mut RequestParams,
) -> Result<bool, A::Error> {
    match key {
        "temperature" => p.temperature = map.next_value::<LF64>()?.0,
        "top_p" => p.top_p = map.next_value::<LF64>()?.0,
        "top_k" => p.top_k = map.next_value::<LF64>()?.0,
        "frequency_penalty" => p.frequency_penalty = map.next_value::<LF64>()?.0,
        "presence_penalty" => p.presence_penalty = map.next_value::<LF64>()?.0,
        "seed" => p.seed = map.next_value::<LI64>()?.0,
        "n" => p.choice_count = map.next_value::<LU64>()?.0,
        "stream" => p.stream = map.next_value::<LBool>()?.0,
        "stop" | "stop_sequences" => p.stop_sequences = map.next_value::<Stop>()?.0,
        // `max_tokens` is deprecated in favour of `max_completion_tokens` on
        // OpenAI chat; when both are sent the newer one wins.
        "max_tokens" => {
            let v = map.next_value::<LU64>()?.0;
            if p.max_tokens.is_none() {
                p.max_tokens = v;
            }
        }
        "max_completion_tokens" | "max_output_tokens" => {
            if let Some(v) = map.next_value::<LU64>()?.0 {
                p.max_tokens = Some(v);
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// OpenAI's `usage` object (chat and legacy completions; embeddings use its
/// `prompt_tokens` only).
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct OpenAiUsage {
    prompt_tokens: LU64,
    completion_tokens: LU64,
    prompt_tokens_details: LObj<PromptDetails>,
    completion_tokens_details: LObj<CompletionDetails>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct PromptDetails {
    cached_tokens: LU64,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct CompletionDetails {
    reasoning_tokens: LU64,
}

impl OpenAiUsage {
    /// OpenAI counts are already totals (cached ⊂ prompt, reasoning ⊂
    /// completion), so they map one to one.
    pub fn to_usage(&self) -> Usage {
        Usage {
            input_tokens: self.prompt_tokens.0,
            output_tokens: self.completion_tokens.0,
            cache_read_input_tokens: self
                .prompt_tokens_details
                .get()
                .and_then(|d| d.cached_tokens.0),
            cache_write_input_tokens: None,
            reasoning_tokens: self
                .completion_tokens_details
                .get()
                .and_then(|d| d.reasoning_tokens.0),
            web_search_calls: None,
            estimated: false,
        }
    }
}

/// `{"error": {...}}` (OpenAI, Anthropic) or a bare `{"type","code","message"}`
/// (Responses API stream `error` events, `response.error`).
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct ErrorBody<'a> {
    #[serde(borrow)]
    error: Option<&'a RawValue>,
    #[serde(rename = "type", borrow)]
    kind: LCow<'a>,
    #[serde(borrow)]
    code: Option<&'a RawValue>,
    message: LStr,
}

/// The low-cardinality error type and message found in an error body. The
/// type prefers the provider's `code` (`rate_limit_exceeded`,
/// `context_length_exceeded`) over its broader `type`.
pub(crate) fn error_from_body(json: &str) -> (Option<Str>, Option<Str>) {
    let Some(body) = parse::<LObj<ErrorBody>>(json).and_then(|b| b.0) else {
        return (None, None);
    };
    if let Some(inner) = body.error {
        let t = inner.get().trim_start();
        if t.starts_with('{') {
            return error_from_body(t);
        }
        // `{"error": "message"}` from some compatible servers.
        return (None, parse::<LStr>(t).and_then(|s| s.0));
    }
    let code = body.code.and_then(|c| {
        let t = c.get();
        if t.starts_with('"') {
            parse::<LStr>(t).and_then(|s| s.0)
        } else if t == "null" {
            None
        } else {
            Some(Str::from(t))
        }
    });
    let kind = match body.kind.as_str() {
        // Anthropic's envelope `{"type":"error","error":{...}}` is handled
        // above; a bare "error" says nothing.
        "" | "error" => None,
        k => Some(Str::from(k)),
    };
    (code.filter(|c| !c.is_empty()).or(kind), body.message.0)
}

/// Records an error event received inside a stream (the exchange itself
/// succeeded, so there is no status to fall back on).
pub(crate) fn record_stream_error(call: &mut LlmCall, json: &str) {
    let (kind, message) = error_from_body(json);
    call.error = Some(LlmError {
        error_type: kind.unwrap_or_else(|| Str::from("stream_error")),
        message,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_become_blobs_and_others_stay_uris() {
        assert_eq!(
            media_part("data:image/png;base64,iVBORw0K", "image"),
            Part::Blob {
                modality: "image".into(),
                mime_type: Some("image/png".into()),
                content: "iVBORw0K".into()
            }
        );
        assert_eq!(
            media_part("https://x.test/cat.jpg", "image"),
            Part::Uri {
                modality: "image".into(),
                mime_type: None,
                uri: "https://x.test/cat.jpg".into()
            }
        );
        assert!(matches!(
            media_part("data:text/plain,hello", "image"),
            Part::Uri { .. }
        ));
    }

    #[test]
    fn error_type_prefers_code_then_type() {
        let openai = r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        assert_eq!(
            error_from_body(openai),
            (
                Some("rate_limit_exceeded".into()),
                Some("Rate limit reached".into())
            )
        );
        let no_code = r#"{"error":{"message":"bad","type":"invalid_request_error","code":null}}"#;
        assert_eq!(
            error_from_body(no_code).0.as_deref(),
            Some("invalid_request_error")
        );
        let anthropic =
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            error_from_body(anthropic),
            (Some("overloaded_error".into()), Some("Overloaded".into()))
        );
        assert_eq!(error_from_body("<html>502</html>"), (None, None));
        assert_eq!(
            error_from_body(r#"{"error":"model not found"}"#),
            (None, Some("model not found".into()))
        );
    }

    #[test]
    fn tool_results_join_text_parts() {
        let raw: &RawValue =
            parse(r#"[{"type":"text","text":"a"},{"type":"text","text":"b"}]"#).unwrap();
        assert_eq!(&*tool_result_text(raw), "a\nb");
        let raw: &RawValue = parse(r#"[{"type":"image","source":{}}]"#).unwrap();
        assert_eq!(&*tool_result_text(raw), r#"[{"type":"image","source":{}}]"#);
    }
}
