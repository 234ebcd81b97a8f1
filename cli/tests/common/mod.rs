//! A realistic store written with the real `StoreWriter`, and a runner for the real binary.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use tokentrace_core::store::{StoreOptions, StoreWriter};

/// 2025-03-14T10:00:00Z
pub const DAY_A: u64 = 1_741_946_400_000_000_000;
/// 2025-03-12T09:00:00Z
pub const DAY_B: u64 = 1_741_770_000_000_000_000;
pub const MS: u64 = 1_000_000;

pub const TRACE_A: &str = "aaaa1111000000000000000000000001";
pub const TRACE_B: &str = "bbbb2222000000000000000000000002";
pub const TRACE_C: &str = "cccc3333000000000000000000000003";

pub fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    // Under target/tmp, so `cargo clean` removes them.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "tokentrace-cli-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn s(key: &str, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.into()))
}
pub fn i(key: &str, value: i64) -> KeyValue {
    kv(key, Value::IntValue(value))
}
pub fn d(key: &str, value: f64) -> KeyValue {
    kv(key, Value::DoubleValue(value))
}
pub fn strings(key: &str, values: &[&str]) -> KeyValue {
    let values = values
        .iter()
        .map(|v| AnyValue {
            value: Some(Value::StringValue(v.to_string())),
        })
        .collect();
    kv(key, Value::ArrayValue(ArrayValue { values }))
}
fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub struct SpanSpec<'a> {
    pub trace: &'a str,
    pub id: &'a str,
    pub parent: &'a str,
    pub name: &'a str,
    pub start: u64,
    pub duration_ms: u64,
    pub attrs: Vec<KeyValue>,
    pub error: Option<&'a str>,
}

pub fn span(spec: SpanSpec<'_>) -> Span {
    Span {
        trace_id: unhex(spec.trace),
        span_id: unhex(spec.id),
        parent_span_id: unhex(spec.parent),
        name: spec.name.into(),
        kind: 3, // CLIENT
        start_time_unix_nano: spec.start,
        end_time_unix_nano: spec.start + spec.duration_ms * MS,
        attributes: spec.attrs,
        status: spec.error.map(|message| Status {
            code: StatusCode::Error as i32,
            message: message.into(),
        }),
        ..Default::default()
    }
}

pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", service),
                    s("deployment.environment.name", "test"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "tokentrace".into(),
                    version: "0.1.0".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn chat(model: &str, input: i64, output: i64, cost: Option<f64>) -> Vec<KeyValue> {
    let mut attrs = vec![
        s("gen_ai.operation.name", "chat"),
        s("gen_ai.provider.name", "openai"),
        s("gen_ai.request.model", model),
        s("gen_ai.response.model", &format!("{model}-2024-07-18")),
        i("gen_ai.usage.input_tokens", input),
        i("gen_ai.usage.output_tokens", output),
    ];
    if let Some(cost) = cost {
        attrs.push(d("tokentrace.cost.total_usd", cost));
    }
    attrs
}

/// The workflow of a weather agent (trace A, 2025-03-14), a summariser (trace B,
/// 2025-03-12) and a lone embeddings call without a feature (trace C, 2025-03-12), written
/// as four export requests in the order an exporter would send them (children end first).
pub fn requests() -> Vec<ExportTraceServiceRequest> {
    let root_a = "a000000000000001";
    let mut c1 = chat("gpt-4o-mini", 1200, 40, Some(0.000204));
    c1.extend([
        s("gen_ai.system_instructions", r#"[{"type":"text","content":"You are a weather assistant."}]"#),
        s("gen_ai.input.messages", r#"[{"role":"user","parts":[{"type":"text","content":"What's the weather in Paris?"}]}]"#),
        s("gen_ai.output.messages", r#"[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"tool_calls"}]"#),
        strings("gen_ai.response.finish_reasons", &["tool_calls"]),
        d("gen_ai.response.time_to_first_chunk", 0.31),
        i("gen_ai.usage.cache_read.input_tokens", 1024),
        d("tokentrace.cost.input_usd", 0.00018),
        d("tokentrace.cost.output_usd", 0.000024),
    ]);
    let mut c2 = chat("gpt-4o-mini", 1300, 60, Some(0.000231));
    let long_answer = format!(
        "It is 18°C and sunny in Paris. {}",
        "Enjoy the walk along the Seine! ".repeat(40)
    );
    c2.extend([
        s("gen_ai.input.messages", r#"[{"role":"user","parts":[{"type":"text","content":"What's the weather in Paris?"}]},{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}]},{"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":{"temp_c":18,"sky":"sunny"}}]}]"#),
        s("gen_ai.output.messages", &serde_json::json!([{"role":"assistant","parts":[{"type":"text","content":long_answer}],"finish_reason":"stop"}]).to_string()),
    ]);
    let mut c3 = vec![
        s("gen_ai.operation.name", "chat"),
        s("gen_ai.provider.name", "openai"),
        s("gen_ai.request.model", "gpt-4o-mini"),
        s("error.type", "RateLimitError"),
    ];
    c3.push(s(
        "gen_ai.input.messages",
        r#"[{"role":"user","parts":[{"type":"text","content":"And tomorrow?"}]}]"#,
    ));

    let trace_a_first = vec![
        span(SpanSpec {
            trace: TRACE_A,
            id: "a000000000000002",
            parent: root_a,
            name: "chat gpt-4o-mini",
            start: DAY_A + 100 * MS,
            duration_ms: 800,
            attrs: c1,
            error: None,
        }),
        span(SpanSpec {
            trace: TRACE_A,
            id: "a000000000000003",
            parent: root_a,
            name: "execute_tool get_weather",
            start: DAY_A + 950 * MS,
            duration_ms: 50,
            attrs: vec![
                s("gen_ai.operation.name", "execute_tool"),
                s("gen_ai.tool.name", "get_weather"),
                s("gen_ai.tool.call.arguments", r#"{"city":"Paris"}"#),
                s("gen_ai.tool.call.result", r#"{"temp_c":18,"sky":"sunny"}"#),
            ],
            error: None,
        }),
    ];
    let trace_a_rest = vec![
        span(SpanSpec {
            trace: TRACE_A,
            id: "a000000000000004",
            parent: root_a,
            name: "chat gpt-4o-mini",
            start: DAY_A + 1050 * MS,
            duration_ms: 1200,
            attrs: c2,
            error: None,
        }),
        span(SpanSpec {
            trace: TRACE_A,
            id: "a000000000000005",
            parent: root_a,
            name: "chat gpt-4o-mini",
            start: DAY_A + 2300 * MS,
            duration_ms: 150,
            attrs: c3,
            error: Some("429 Too Many Requests"),
        }),
        span(SpanSpec {
            trace: TRACE_A,
            id: root_a,
            parent: "",
            name: "answer_question",
            start: DAY_A,
            duration_ms: 2500,
            attrs: vec![
                s("feature.name", "weather_qa"),
                s("user.id", "u-42"),
                s("session.id", "s-7"),
                s("request.id", "r-1"),
            ],
            error: None,
        }),
    ];
    let mut haiku = chat("claude-3-5-haiku", 500, 100, Some(0.0008));
    haiku[1] = s("gen_ai.provider.name", "anthropic");
    haiku[3] = s("gen_ai.response.model", "claude-3-5-haiku");
    let trace_b = vec![
        span(SpanSpec {
            trace: TRACE_B,
            id: "b000000000000001",
            parent: "",
            name: "summarize",
            start: DAY_B,
            duration_ms: 450,
            attrs: vec![s("feature.name", "summarize"), s("user.id", "u-7")],
            error: None,
        }),
        span(SpanSpec {
            trace: TRACE_B,
            id: "b000000000000002",
            parent: "b000000000000001",
            name: "chat claude-3-5-haiku",
            start: DAY_B + 20 * MS,
            duration_ms: 400,
            attrs: haiku,
            error: None,
        }),
    ];
    let trace_c = vec![span(SpanSpec {
        trace: TRACE_C,
        id: "c000000000000001",
        parent: "",
        name: "embeddings text-embedding-3-small",
        start: DAY_B + 1_800_000 * MS,
        duration_ms: 80,
        attrs: vec![
            s("gen_ai.operation.name", "embeddings"),
            s("gen_ai.request.model", "text-embedding-3-small"),
            i("gen_ai.usage.input_tokens", 20),
            d("tokentrace.cost.total_usd", 0.0000004),
        ],
        error: None,
    })];
    vec![
        request("support-bot", trace_a_first),
        request("support-bot", trace_b),
        request("support-bot", trace_a_rest),
        request("indexer", trace_c),
    ]
}

/// Total spans in [`requests`].
pub const SPAN_COUNT: usize = 8;

/// Writes [`requests`] to a fresh store and returns its directory.
pub fn write_store(name: &str) -> PathBuf {
    let dir = temp_dir(name).join("store");
    let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
    for req in requests() {
        writer.append(&req).unwrap();
    }
    dir
}

/// Runs `tokentrace --dir <dir> <args>` with no colour.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokentrace"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .env_remove("TOKENTRACE_DIR")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The only store file in `dir`.
pub fn store_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.pop().unwrap()
}
