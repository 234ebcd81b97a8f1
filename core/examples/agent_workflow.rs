//! `make demo` (Rust flavour): an agent-style workflow — a parent span, a model
//! call that asks for a tool, the tool run, and a second model call that
//! answers — recorded into the local store (or wherever the environment points).
//!
//! Run: `cargo run -p tokentrace-core --example agent_workflow`, then
//! `tokentrace view` and `tokentrace stats`.

use std::time::Duration;

use tokentrace_core::*;

fn chat(
    trace: TraceId,
    parent: SpanId,
    start: u64,
    input: Vec<Message>,
    output: Message,
    usage: (u64, u64),
) -> SpanRecord {
    let mut r = SpanRecord::new("chat gpt-4o-mini");
    r.trace_id = trace;
    r.parent_span_id = Some(parent);
    r.kind = SpanKind::Client;
    r.start_unix_nanos = start;
    r.end_unix_nanos = start + 850_000_000;
    let mut call = LlmCall::new("openai", Operation::Chat);
    call.request_model = Some("gpt-4o-mini".into());
    call.response_model = Some("gpt-4o-mini-2024-07-18".into());
    call.server_address = Some("api.openai.com".into());
    call.params.temperature = Some(0.0);
    call.params.max_tokens = Some(512);
    call.system_instructions = [Part::text(
        "You answer questions about the weather. Use tools.",
    )]
    .into();
    call.tool_definitions = vec![ToolDefinition {
        tool_type: "function".into(),
        name: "get_weather".into(),
        description: Some("Current weather for a city".into()),
        parameters: Some(r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into()),
    }];
    call.finish_reasons = vec![
        output
            .finish_reason
            .clone()
            .unwrap_or_else(|| "stop".into()),
    ];
    call.input_messages = input;
    call.output_messages = vec![output];
    call.usage = Usage {
        input_tokens: Some(usage.0),
        output_tokens: Some(usage.1),
        ..Default::default()
    };
    r.llm = Some(Box::new(call));
    r
}

fn main() {
    let config = match Config::builder().with_service_name("demo-agent").build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let tracer = match Tracer::new(config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let t0 = now_unix_nanos();
    let mut root = SpanRecord::new("answer_question");
    root.start_unix_nanos = t0;
    root.end_unix_nanos = t0 + 2_100_000_000;
    root.attributes = vec![
        KeyValue::new("user.id", "u-42"),
        KeyValue::new("session.id", "s-7"),
        KeyValue::new("request.id", "r-1001"),
        KeyValue::new("feature.name", "weather_qa"),
    ];
    let question = Message::text("user", "What's the weather in Paris right now?");
    let mut ask_tool = Message::new(
        "assistant",
        vec![Part::ToolCall {
            id: Some("call_1".into()),
            name: "get_weather".into(),
            arguments: Some(r#"{"city":"Paris"}"#.into()),
        }],
    );
    ask_tool.finish_reason = Some("tool_call".into());
    let first = chat(
        root.trace_id,
        root.span_id,
        t0 + 10_000_000,
        vec![question.clone()],
        ask_tool.clone(),
        (142, 18),
    );

    let mut tool = SpanRecord::new("execute_tool get_weather");
    tool.trace_id = root.trace_id;
    tool.parent_span_id = Some(root.span_id);
    tool.start_unix_nanos = t0 + 870_000_000;
    tool.end_unix_nanos = t0 + 1_120_000_000;
    let mut tool_call = LlmCall::new("openai", Operation::ExecuteTool);
    tool_call.tool_name = Some("get_weather".into());
    tool_call.tool_call_id = Some("call_1".into());
    tool_call.tool_arguments = Some(r#"{"city":"Paris"}"#.into());
    tool_call.tool_result = Some(r#"{"temp_c":18,"sky":"clear"}"#.into());
    tool.llm = Some(Box::new(tool_call));

    let result = Message::new(
        "tool",
        vec![Part::ToolCallResponse {
            id: Some("call_1".into()),
            response: r#"{"temp_c":18,"sky":"clear"}"#.into(),
        }],
    );
    let mut answer = Message::text("assistant", "It's 18°C and clear in Paris.");
    answer.finish_reason = Some("stop".into());
    let second = chat(
        root.trace_id,
        root.span_id,
        t0 + 1_130_000_000,
        vec![question, ask_tool, result],
        answer,
        (201, 12),
    );

    for r in [first, tool, second, root] {
        tracer.record(r);
    }
    match tracer.shutdown(Duration::from_secs(10)) {
        Ok(_) => {
            let s = tracer.stats();
            println!("recorded {} spans ({} exported)", s.enqueued, s.exported);
        }
        Err(e) => eprintln!("tokentrace: {e}"),
    }
}
