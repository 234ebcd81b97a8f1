//! The typed record of one model call. Bindings fill it (directly, or through
//! core's provider parsers); the semconv module turns it into `gen_ai.*`
//! attributes on the worker thread.

use super::value::{Str, shared_len};

/// What kind of GenAI operation a span records (`gen_ai.operation.name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Chat,
    TextCompletion,
    GenerateContent,
    Embeddings,
    ExecuteTool,
    InvokeAgent,
    CreateAgent,
    InvokeWorkflow,
    Retrieval,
}

impl Operation {
    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::Chat => "chat",
            Operation::TextCompletion => "text_completion",
            Operation::GenerateContent => "generate_content",
            Operation::Embeddings => "embeddings",
            Operation::ExecuteTool => "execute_tool",
            Operation::InvokeAgent => "invoke_agent",
            Operation::CreateAgent => "create_agent",
            Operation::InvokeWorkflow => "invoke_workflow",
            Operation::Retrieval => "retrieval",
        }
    }

    /// Parses the convention's operation names (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "chat" => Operation::Chat,
            "text_completion" => Operation::TextCompletion,
            "generate_content" => Operation::GenerateContent,
            "embeddings" => Operation::Embeddings,
            "execute_tool" => Operation::ExecuteTool,
            "invoke_agent" => Operation::InvokeAgent,
            "create_agent" => Operation::CreateAgent,
            "invoke_workflow" => Operation::InvokeWorkflow,
            "retrieval" => Operation::Retrieval,
            _ => return None,
        })
    }

    /// Model inference operations: the ones that consume tokens and get priced.
    pub fn is_inference(&self) -> bool {
        matches!(
            self,
            Operation::Chat
                | Operation::TextCompletion
                | Operation::GenerateContent
                | Operation::Embeddings
        )
    }
}

/// Token usage, normalised to the OpenTelemetry meaning whatever the provider
/// reported, so that every token is counted exactly once:
/// - `input_tokens` is the TOTAL input, cached tokens included (OpenAI's
///   `prompt_tokens` already is; for Anthropic it is
///   `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`);
/// - `cache_read_input_tokens` and `cache_write_input_tokens` are subsets of it;
/// - `output_tokens` is the TOTAL output, reasoning included;
/// - `reasoning_tokens` is a subset of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub cache_write_input_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    /// Web searches the provider ran for the call (billed per search, on
    /// top of the tokens).
    pub web_search_calls: Option<u64>,
    /// True when the counts were estimated with a tokenizer because the
    /// provider sent none (exported as `tokentrace.usage.estimated`).
    pub estimated: bool,
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        self.input_tokens.is_none() && self.output_tokens.is_none()
    }
}

/// Request parameters (`gen_ai.request.*`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestParams {
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub top_p: Option<f64>,
    pub top_k: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub stop_sequences: Vec<Str>,
    pub seed: Option<i64>,
    pub choice_count: Option<u64>,
    pub stream: Option<bool>,
    /// Requested output type (`text`, `json`, ...).
    pub output_type: Option<Str>,
    pub encoding_formats: Vec<Str>,
}

/// One part of a message, in the GenAI conventions' parts shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text {
        content: Str,
    },
    /// A tool call the model asked for. `arguments` is JSON text when the
    /// provider sent JSON (it is exported as an object when it parses).
    ToolCall {
        id: Option<Str>,
        name: Str,
        arguments: Option<Str>,
    },
    /// A tool result sent back to the model.
    ToolCallResponse {
        id: Option<Str>,
        response: Str,
    },
    /// A tool the provider ran itself (web search, code execution, an MCP
    /// server...): `call` is a JSON object of the call's details whose
    /// `type` names the kind of tool (`web_search`, `mcp`...).
    ServerToolCall {
        id: Option<Str>,
        name: Str,
        call: Str,
    },
    /// A server tool's outcome: `response` is a JSON object whose `type` is
    /// `tool_type`.
    ServerToolCallResponse {
        id: Option<Str>,
        tool_type: Str,
        response: Str,
    },
    Reasoning {
        content: Str,
    },
    /// Media by reference (`uri`) or inline base64 data (`blob`).
    Uri {
        modality: Str,
        mime_type: Option<Str>,
        uri: Str,
    },
    Blob {
        modality: Str,
        mime_type: Option<Str>,
        content: Str,
    },
    /// Any other part type, as JSON text of the whole part object.
    Other {
        part_type: Str,
        json: Str,
    },
}

impl Part {
    pub fn text(content: impl Into<Str>) -> Self {
        Part::Text {
            content: content.into(),
        }
    }

    pub(crate) fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Part>()
            + match self {
                Part::Text { content } | Part::Reasoning { content } => shared_len(content),
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                } => opt_len(id) + shared_len(name) + opt_len(arguments),
                Part::ToolCallResponse { id, response } => opt_len(id) + shared_len(response),
                Part::ServerToolCall { id, name, call } => {
                    opt_len(id) + shared_len(name) + shared_len(call)
                }
                Part::ServerToolCallResponse {
                    id,
                    tool_type,
                    response,
                } => opt_len(id) + shared_len(tool_type) + shared_len(response),
                Part::Uri {
                    modality,
                    mime_type,
                    uri,
                } => shared_len(modality) + opt_len(mime_type) + shared_len(uri),
                Part::Blob {
                    modality,
                    mime_type,
                    content,
                } => shared_len(modality) + opt_len(mime_type) + shared_len(content),
                Part::Other { part_type, json } => shared_len(part_type) + shared_len(json),
            }
    }
}

fn opt_len(s: &Option<Str>) -> usize {
    s.as_ref().map_or(0, shared_len)
}

/// A message's parts: the first one inline (most messages have one), so a
/// message costs no allocation of its own on the recording thread and no
/// cross-thread free on the worker.
pub type Parts = smallvec::SmallVec<[Part; 1]>;

/// A chat message (input or output).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, or a provider-specific role.
    pub role: Str,
    pub parts: Parts,
    pub name: Option<Str>,
    /// Output messages only.
    pub finish_reason: Option<Str>,
}

impl Message {
    pub fn new(role: impl Into<Str>, parts: impl Into<Parts>) -> Self {
        Message {
            role: role.into(),
            parts: parts.into(),
            name: None,
            finish_reason: None,
        }
    }

    pub fn text(role: impl Into<Str>, text: impl Into<Str>) -> Self {
        Message::new(role, Parts::from_buf([Part::text(text)]))
    }

    pub(crate) fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Message>()
            + 16
            + shared_len(&self.role)
            + opt_len(&self.name)
            + opt_len(&self.finish_reason)
            + self.parts.iter().map(Part::approx_bytes).sum::<usize>()
    }
}

/// A tool the model was offered (`gen_ai.tool.definitions`).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    pub tool_type: Str,
    pub name: Str,
    pub description: Option<Str>,
    /// JSON Schema text.
    pub parameters: Option<Str>,
}

/// A failed call (`error.type` and the status message).
#[derive(Debug, Clone, PartialEq)]
pub struct LlmError {
    /// Low-cardinality type: HTTP status class, provider code, exception class.
    pub error_type: Str,
    pub message: Option<Str>,
}

/// Everything about one model (or tool / agent) call.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmCall {
    /// `gen_ai.provider.name`: `openai`, `anthropic`, `gcp.gemini`, ...
    pub provider: Str,
    pub operation: Operation,
    pub request_model: Option<Str>,
    pub response_model: Option<Str>,
    pub response_id: Option<Str>,
    pub params: RequestParams,
    pub system_instructions: Parts,
    pub input_messages: Vec<Message>,
    pub output_messages: Vec<Message>,
    pub tool_definitions: Vec<ToolDefinition>,
    pub finish_reasons: Vec<Str>,
    pub usage: Usage,
    /// Streams: nanoseconds from request start to the first chunk.
    pub time_to_first_token_ns: Option<u64>,
    pub error: Option<LlmError>,
    pub server_address: Option<Str>,
    pub server_port: Option<u16>,
    pub conversation_id: Option<Str>,
    /// `execute_tool` spans: the tool run by the application.
    pub tool_name: Option<Str>,
    pub tool_call_id: Option<Str>,
    pub tool_arguments: Option<Str>,
    pub tool_result: Option<Str>,
    /// `invoke_agent` spans.
    pub agent_name: Option<Str>,
    /// Embeddings: number of input items and vector size, when known.
    pub embedding_dimensions: Option<u64>,
    /// The call's price in dollars (`tokentrace.cost.*_usd`): set by the
    /// worker from the price table, typed so metrics and the mappings read
    /// it without searching the attributes.
    pub cost: Option<crate::cost::Cost>,
}

impl LlmCall {
    pub fn new(provider: impl Into<Str>, operation: Operation) -> Self {
        LlmCall {
            provider: provider.into(),
            operation,
            request_model: None,
            response_model: None,
            response_id: None,
            params: RequestParams::default(),
            system_instructions: Parts::new(),
            input_messages: Vec::new(),
            output_messages: Vec::new(),
            tool_definitions: Vec::new(),
            finish_reasons: Vec::new(),
            usage: Usage::default(),
            time_to_first_token_ns: None,
            error: None,
            server_address: None,
            server_port: None,
            conversation_id: None,
            tool_name: None,
            tool_call_id: None,
            tool_arguments: None,
            tool_result: None,
            agent_name: None,
            embedding_dimensions: None,
            cost: None,
        }
    }

    /// The model a price or a dashboard should use: the answered one when known.
    pub fn model(&self) -> Option<&Str> {
        self.response_model.as_ref().or(self.request_model.as_ref())
    }

    pub(crate) fn approx_bytes(&self) -> usize {
        let strs = [
            &self.request_model,
            &self.response_model,
            &self.response_id,
            &self.server_address,
            &self.conversation_id,
            &self.tool_name,
            &self.tool_call_id,
            &self.tool_arguments,
            &self.tool_result,
            &self.agent_name,
        ];
        // The boxed struct itself, plus its Vec buffers' headers.
        std::mem::size_of::<LlmCall>()
            + 96
            + shared_len(&self.provider)
            + strs.iter().map(|s| opt_len(s)).sum::<usize>()
            + self
                .system_instructions
                .iter()
                .map(Part::approx_bytes)
                .sum::<usize>()
            + self
                .input_messages
                .iter()
                .map(Message::approx_bytes)
                .sum::<usize>()
            + self
                .output_messages
                .iter()
                .map(Message::approx_bytes)
                .sum::<usize>()
            + self
                .tool_definitions
                .iter()
                .map(|t| {
                    32 + t.name.len()
                        + opt_len(&t.description)
                        + opt_len(&t.parameters)
                        + t.tool_type.len()
                })
                .sum::<usize>()
            + self
                .finish_reasons
                .iter()
                .map(|s| s.len() + 16)
                .sum::<usize>()
            + self
                .params
                .stop_sequences
                .iter()
                .map(|s| s.len() + 16)
                .sum::<usize>()
            + self
                .error
                .as_ref()
                .map_or(0, |e| e.error_type.len() + opt_len(&e.message))
    }
}
