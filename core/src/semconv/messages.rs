//! JSON of the content attributes in the GenAI conventions' parts shape:
//! `[{"role":"user","parts":[{"type":"text","content":"..."}]}]`. With content
//! capture off, the structure stays (roles, part types, tool names and ids,
//! finish reasons) and the text goes.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::model::{Message, Part, ToolDefinition};

/// Embeds `s` as JSON when it is a JSON object or array (tool arguments are
/// "an object when parseable"), else as a string.
enum JsonOrText<'a> {
    Raw(&'a RawValue),
    Text(&'a str),
}

impl<'a> JsonOrText<'a> {
    fn new(s: &'a str) -> Self {
        let t = s.trim_start();
        if (t.starts_with('{') || t.starts_with('['))
            && let Ok(raw) = serde_json::from_str::<&RawValue>(s)
        {
            return JsonOrText::Raw(raw);
        }
        JsonOrText::Text(s)
    }
}

impl Serialize for JsonOrText<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonOrText::Raw(r) => r.serialize(s),
            JsonOrText::Text(t) => s.serialize_str(t),
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum PartOut<'a> {
    Text {
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<&'a str>,
    },
    ToolCall {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        arguments: Option<JsonOrText<'a>>,
    },
    ToolCallResponse {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        response: Option<JsonOrText<'a>>,
    },
    Reasoning {
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<&'a str>,
    },
    Uri {
        modality: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        mime_type: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        uri: Option<&'a str>,
    },
    Blob {
        modality: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        mime_type: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<&'a str>,
    },
}

/// Parts of unknown type are passed through as their own JSON object.
enum AnyPart<'a> {
    Known(PartOut<'a>),
    Other(&'a str, Option<&'a RawValue>),
}

impl Serialize for AnyPart<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AnyPart::Known(p) => p.serialize(s),
            AnyPart::Other(_, Some(raw)) => raw.serialize(s),
            AnyPart::Other(t, None) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("type", t)?;
                m.end()
            }
        }
    }
}

fn part_out(p: &Part, content: bool) -> AnyPart<'_> {
    fn c(s: &crate::model::Str, content: bool) -> Option<&str> {
        content.then_some(s.as_ref())
    }
    AnyPart::Known(match p {
        Part::Text { content: t } => PartOut::Text {
            content: c(t, content),
        },
        Part::ToolCall {
            id,
            name,
            arguments,
        } => PartOut::ToolCall {
            id: id.as_deref(),
            name,
            arguments: arguments
                .as_deref()
                .filter(|_| content)
                .map(JsonOrText::new),
        },
        Part::ToolCallResponse { id, response } => PartOut::ToolCallResponse {
            id: id.as_deref(),
            response: content.then(|| JsonOrText::new(response)),
        },
        Part::Reasoning { content: t } => PartOut::Reasoning {
            content: c(t, content),
        },
        Part::Uri {
            modality,
            mime_type,
            uri,
        } => PartOut::Uri {
            modality,
            mime_type: mime_type.as_deref(),
            uri: c(uri, content),
        },
        Part::Blob {
            modality,
            mime_type,
            content: data,
        } => PartOut::Blob {
            modality,
            mime_type: mime_type.as_deref(),
            content: c(data, content),
        },
        Part::Other { part_type, json } => {
            let raw = if content {
                serde_json::from_str::<&RawValue>(json).ok()
            } else {
                None
            };
            return AnyPart::Other(part_type, raw);
        }
    })
}

#[derive(Serialize)]
struct MessageOut<'a> {
    role: &'a str,
    parts: Vec<AnyPart<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'a str>,
}

/// `gen_ai.input.messages` / `gen_ai.output.messages`.
pub fn messages_json(messages: &[Message], content: bool, output: bool) -> String {
    let out: Vec<MessageOut<'_>> = messages
        .iter()
        .map(|m| MessageOut {
            role: &m.role,
            parts: m.parts.iter().map(|p| part_out(p, content)).collect(),
            name: m.name.as_deref().filter(|_| content),
            // Output messages require a finish reason in the schema.
            finish_reason: m
                .finish_reason
                .as_deref()
                .or(if output { Some("stop") } else { None }),
        })
        .collect();
    serde_json::to_string(&out).unwrap_or_else(|_| "[]".to_string())
}

/// `gen_ai.system_instructions`: an array of parts.
pub fn parts_json(parts: &[Part], content: bool) -> String {
    let out: Vec<AnyPart<'_>> = parts.iter().map(|p| part_out(p, content)).collect();
    serde_json::to_string(&out).unwrap_or_else(|_| "[]".to_string())
}

#[derive(Serialize)]
struct ToolDefOut<'a> {
    #[serde(rename = "type")]
    tool_type: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<JsonOrText<'a>>,
}

/// `gen_ai.tool.definitions`.
pub fn tool_definitions_json(defs: &[ToolDefinition], content: bool) -> String {
    let out: Vec<ToolDefOut<'_>> = defs
        .iter()
        .map(|d| ToolDefOut {
            tool_type: &d.tool_type,
            name: &d.name,
            description: d.description.as_deref().filter(|_| content),
            parameters: d
                .parameters
                .as_deref()
                .filter(|_| content)
                .map(JsonOrText::new),
        })
        .collect();
    serde_json::to_string(&out).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat() -> Vec<Message> {
        vec![
            Message::text("user", "What's the weather in Paris?"),
            Message::new(
                "assistant",
                vec![Part::ToolCall {
                    id: Some("call_1".into()),
                    name: "get_weather".into(),
                    arguments: Some(r#"{"city":"Paris"}"#.into()),
                }],
            ),
            Message::new(
                "tool",
                vec![Part::ToolCallResponse {
                    id: Some("call_1".into()),
                    response: "sunny".into(),
                }],
            ),
        ]
    }

    #[test]
    fn parts_shape_matches_the_conventions() {
        let v: serde_json::Value =
            serde_json::from_str(&messages_json(&chat(), true, false)).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"role":"user","parts":[{"type":"text","content":"What's the weather in Paris?"}]},
                {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}]},
                {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"sunny"}]}
            ])
        );
    }

    #[test]
    fn without_content_keeps_structure_only() {
        let s = messages_json(&chat(), false, false);
        assert!(!s.contains("Paris"), "{s}");
        assert!(!s.contains("sunny"));
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v[1]["parts"][0]["name"], "get_weather");
        assert_eq!(v[0]["role"], "user");
    }

    #[test]
    fn invalid_json_arguments_stay_text_and_output_has_finish_reason() {
        let mut m = Message::new(
            "assistant",
            vec![Part::ToolCall {
                id: None,
                name: "f".into(),
                arguments: Some("{not json".into()),
            }],
        );
        m.finish_reason = Some("tool_call".into());
        let v: serde_json::Value = serde_json::from_str(&messages_json(&[m], true, true)).unwrap();
        assert_eq!(v[0]["parts"][0]["arguments"], "{not json");
        assert_eq!(v[0]["finish_reason"], "tool_call");
    }
}
