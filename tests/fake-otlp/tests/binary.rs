//! The `fake-otlp` process as other languages' tests drive it.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TOKEN_USAGE, get, http, metrics_request, post_metrics, post_traces, request};
use fake_otlp::opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use fake_otlp::opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::Value;

const PROTO: &str = "application/x-protobuf";

struct Proc {
    child: Child,
    http: SocketAddr,
    grpc: String,
}

fn spawn(extra: &[&str]) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-otlp"))
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let rest = line
        .trim_end()
        .strip_prefix("READY http=http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let (http, grpc) = rest.split_once(" grpc=").unwrap();
    assert!(grpc.starts_with("http://127.0.0.1:"), "{line}");
    Proc {
        child,
        http: http.parse().unwrap(),
        grpc: grpc.to_owned(),
    }
}

/// Waits (bounded) for the process to exit on its own.
fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("fake-otlp did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn json(reply: &common::Reply) -> Value {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    serde_json::from_slice(&reply.body).unwrap()
}

#[test]
fn ready_control_api_and_out_file() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake-otlp-out.jsonl");
    let _ = std::fs::remove_file(&out);
    let mut proc = spawn(&["--out", out.to_str().unwrap()]);
    assert_ne!(proc.grpc, format!("http://{}", proc.http));
    let addr = proc.http;

    let script = r#"[{"type":"http_status","status":503,"retry_after":"1"}]"#;
    let reply = http(
        addr,
        "POST",
        "/control/script",
        &[("Content-Type", "application/json")],
        script.as_bytes(),
    )
    .unwrap();
    assert_eq!(reply.status, 200);

    let body = request("svc-bin", 2).encode_to_vec();
    let refused = post_traces(addr, PROTO, &[("x-session-token", "abc")], &body);
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(
        post_traces(addr, PROTO, &[("x-session-token", "abc")], &body).status,
        200
    );
    let other = request("svc-other", 1).encode_to_vec();
    assert_eq!(
        post_traces(addr, PROTO, &[("x-session-token", "xyz")], &other).status,
        200
    );

    let mine = json(&get(addr, "/control/spans?session=abc"));
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0]["sessionToken"], "abc");
    assert_eq!(mine[0]["scopeName"], "test-scope");
    assert_eq!(mine[0]["span"]["name"], "chat gpt-4o #0");
    assert_eq!(
        mine[0]["span"]["traceId"],
        "abababababababababababababababab"
    );
    assert_eq!(mine[0]["resource"][0]["value"]["stringValue"], "svc-bin");
    assert_eq!(
        json(&get(addr, "/control/spans")).as_array().unwrap().len(),
        3
    );

    let requests = json(&get(addr, "/control/requests"));
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1]["transport"], "http");
    assert_eq!(requests[1]["headers"]["x-session-token"], "xyz");
    assert_eq!(
        requests[1]["request"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"],
        "chat gpt-4o #0"
    );

    let stats = json(&get(addr, "/control/stats"));
    assert_eq!(stats["attempts"], 3);
    assert_eq!(stats["spans"], 3);

    // Accepted requests only, one OTLP-JSON line each.
    let lines: Vec<ExportTraceServiceRequest> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, vec![request("svc-bin", 2), request("svc-other", 1)]);

    assert_eq!(
        http(addr, "POST", "/control/reset", &[], b"")
            .unwrap()
            .status,
        200
    );
    let stats = json(&get(addr, "/control/stats"));
    assert_eq!(stats["attempts"], 0);
    assert_eq!(json(&get(addr, "/control/spans")), Value::Array(vec![]));

    let bad = http(
        addr,
        "POST",
        "/control/script",
        &[],
        br#"[{"type":"nope"}]"#,
    )
    .unwrap();
    assert_eq!(bad.status, 400);

    // Closing stdin (the parent test went away) ends the process.
    drop(proc.child.stdin.take());
    assert!(wait_exit(&mut proc.child).success());
    let _ = std::fs::remove_file(&out);
}

#[test]
fn metrics_in_control_api_and_out_file() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake-otlp-metrics.jsonl");
    let _ = std::fs::remove_file(&out);
    let mut proc = spawn(&["--out", out.to_str().unwrap()]);
    let addr = proc.http;

    let traces_script = br#"[{"type":"http_status","status":429}]"#;
    let reply = http(addr, "POST", "/control/script", &[], traces_script).unwrap();
    assert_eq!(reply.status, 200);
    let script = br#"[{"type":"http_status","status":503,"retry_after":"1"}]"#;
    let reply = http(addr, "POST", "/control/script?signal=metrics", &[], script).unwrap();
    assert_eq!(reply.status, 200);
    let unknown = http(addr, "POST", "/control/script?signal=logs", &[], script).unwrap();
    assert_eq!(unknown.status, 400);

    let metrics = metrics_request("svc-bin").encode_to_vec();
    let session = [("x-session-token", "m")];
    assert_eq!(post_metrics(addr, PROTO, &session, &metrics).status, 503);
    assert_eq!(post_metrics(addr, PROTO, &session, &metrics).status, 200);
    // Each signal follows its own script.
    let traces = request("svc-bin", 1).encode_to_vec();
    assert_eq!(post_traces(addr, PROTO, &[], &traces).status, 429);
    assert_eq!(post_traces(addr, PROTO, &[], &traces).status, 200);

    let usage = json(&get(
        addr,
        "/control/metrics?session=m&name=gen_ai.client.token.usage",
    ));
    let usage = usage.as_array().unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0]["transport"], "http");
    assert_eq!(usage[0]["sessionToken"], "m");
    assert_eq!(usage[0]["scopeName"], "test-meter");
    assert_eq!(usage[0]["resource"][0]["value"]["stringValue"], "svc-bin");
    assert_eq!(usage[0]["metric"]["name"], TOKEN_USAGE);
    let point = &usage[0]["metric"]["histogram"]["dataPoints"][0];
    assert_eq!(point["count"], "3");
    assert_eq!(point["sum"], 142.0);
    assert_eq!(
        point["bucketCounts"],
        serde_json::json!(["0", "1", "0", "2"])
    );
    assert_eq!(point["explicitBounds"], serde_json::json!([1.0, 4.0, 16.0]));
    assert_eq!(
        json(&get(addr, "/control/metrics"))
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        json(&get(addr, "/control/metrics?session=other")),
        Value::Array(vec![])
    );

    let requests = json(&get(addr, "/control/metric-requests"));
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["headers"]["x-session-token"], "m");
    assert_eq!(
        requests[0]["request"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][1]["sum"]["dataPoints"]
            [0]["asDouble"],
        0.0125
    );
    // Trace requests stay where they were.
    assert_eq!(
        json(&get(addr, "/control/requests"))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let stats = json(&get(addr, "/control/stats"));
    assert_eq!(stats["metricAttempts"], 2);
    assert_eq!(stats["metricRequests"], 1);
    assert_eq!(stats["metrics"], 3);
    assert_eq!(stats["dataPoints"], 4);
    assert_eq!(stats["attempts"], 2);
    assert_eq!(stats["spans"], 1);

    // One line per accepted request, in arrival order, told apart by their top-level key.
    let lines: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].get("resourceMetrics").is_some());
    let first: ExportMetricsServiceRequest = serde_json::from_value(lines[0].clone()).unwrap();
    assert_eq!(first, metrics_request("svc-bin"));
    assert!(lines[1].get("resourceSpans").is_some());

    assert_eq!(
        http(addr, "POST", "/control/reset", &[], b"")
            .unwrap()
            .status,
        200
    );
    let stats = json(&get(addr, "/control/stats"));
    assert_eq!(stats["metricAttempts"], 0);
    assert_eq!(json(&get(addr, "/control/metrics")), Value::Array(vec![]));

    drop(proc.child.stdin.take());
    assert!(wait_exit(&mut proc.child).success());
    let _ = std::fs::remove_file(&out);
}

#[test]
fn sigterm_stops_the_process() {
    let mut proc = spawn(&["--http-port", "0", "--grpc-port", "0"]);
    let status = Command::new("kill")
        .args(["-TERM", &proc.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(wait_exit(&mut proc.child).success());
}

#[test]
fn taken_port_fails_fast() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_fake-otlp"))
        .args(["--http-port", &port])
        .stdin(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no READY line on failure");
}
