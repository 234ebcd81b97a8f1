//! `replay` sends the store to OTLP receivers on loopback that decode what they get: a
//! minimal HTTP/1.1 one (any path, fixed answer) and `fake-otlp` (scripted failures, gRPC).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;
use fake_otlp::{Behavior, Code, FakeOtlp, Transport};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    request: ExportTraceServiceRequest,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A minimal HTTP/1.1 OTLP receiver: decodes each body (protobuf or JSON by content type)
/// and answers every request with `status` and `body`.
fn http_receiver(status: &'static str, body: Vec<u8>) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let shared = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let log = Arc::clone(&shared);
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("")
                        .to_string();
                    let mut headers = Vec::new();
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        let (name, value) = line.split_once(':').unwrap();
                        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                    }
                    let len: usize = headers
                        .iter()
                        .find(|(n, _)| n == "content-length")
                        .map(|(_, v)| v.parse().unwrap())
                        .unwrap_or(0);
                    let mut payload = vec![0; len];
                    reader.read_exact(&mut payload).unwrap();
                    let json = headers
                        .iter()
                        .any(|(n, v)| n == "content-type" && v == "application/json");
                    let request = if json {
                        serde_json::from_slice(&payload).unwrap()
                    } else {
                        ExportTraceServiceRequest::decode(payload.as_slice()).unwrap()
                    };
                    log.lock().unwrap().push(Received {
                        path,
                        headers,
                        request,
                    });
                    write!(
                        writer,
                        "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    )
                    .unwrap();
                    writer.write_all(&body).unwrap();
                    writer.flush().unwrap();
                }
            });
        }
    });
    (url, log)
}

fn span_names(log: &Log) -> Vec<String> {
    let mut names: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .flat_map(|r| r.request.resource_spans.clone())
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .map(|s| s.name)
        .collect();
    names.sort();
    names
}

/// Exit code 1 and a summary that says every stored request failed.
fn assert_nothing_replayed(out: &std::process::Output, url: &str) {
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(out).lines().next().unwrap(),
        format!("replayed 0 request(s) (0 span(s)) to {url}; 4 failed ({SPAN_COUNT} span(s))")
    );
}

fn expected_names() -> Vec<String> {
    let mut names: Vec<String> = requests()
        .into_iter()
        .flat_map(|r| r.resource_spans)
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .map(|s| s.name)
        .collect();
    names.sort();
    names
}

#[test]
fn replays_the_whole_store_over_http_protobuf_with_headers_and_skips_corrupt_lines() {
    let dir = write_store("replay-http");
    let file = store_file(&dir);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(b"garbage\n")
        .unwrap();
    let (url, log) = http_receiver("200 OK", Vec::new());

    let out = run(
        &dir,
        &[
            "replay",
            "--endpoint",
            &url,
            "--header",
            "x-api-key=secret",
            "--header",
            "x-team=llm",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().next().unwrap(),
        format!("replayed 4 request(s) ({SPAN_COUNT} span(s)) to {url}; 0 failed (0 span(s))")
    );
    assert!(stdout(&out).contains("1 unreadable line(s) skipped"));
    assert!(
        stderr(&out).contains(&format!("{}:5: invalid OTLP-JSON", file.display())),
        "{}",
        stderr(&out)
    );

    let received = log.lock().unwrap().clone();
    assert_eq!(received.len(), 4);
    for r in &received {
        assert_eq!(r.path, "/v1/traces");
        assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(r.header("x-api-key"), Some("secret"));
        assert_eq!(r.header("x-team"), Some("llm"));
    }
    // What arrives is exactly what was stored, in store order.
    let sent: Vec<ExportTraceServiceRequest> = received.into_iter().map(|r| r.request).collect();
    assert_eq!(sent, requests());
    assert_eq!(span_names(&log), expected_names());
}

#[test]
fn replays_over_http_json() {
    let dir = write_store("replay-json");
    let (url, log) = http_receiver("200 OK", Vec::new());
    let out = run(
        &dir,
        &[
            "replay",
            "--endpoint",
            &format!("{url}/custom/traces"),
            "--protocol",
            "http/json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let received = log.lock().unwrap().clone();
    assert_eq!(received.len(), 4);
    assert!(received.iter().all(|r| r.path == "/custom/traces"));
    assert_eq!(span_names(&log), expected_names());
}

#[test]
fn a_refused_request_is_reported_not_retried_and_the_exit_code_is_1() {
    let dir = write_store("replay-400");
    let (url, log) = http_receiver("400 Bad Request", b"bad span".to_vec());
    let out = run(&dir, &["replay", "--endpoint", &url]);
    assert_nothing_replayed(&out, &url);
    let err = stderr(&out);
    let file = store_file(&dir);
    for line in 1..=4 {
        assert!(
            err.contains(&format!(
                "error: {}:{line}: HTTP 400 from {url}/v1/traces: bad span",
                file.display()
            )),
            "{err}"
        );
    }
    // 400 is final: one attempt per stored request.
    assert_eq!(log.lock().unwrap().len(), 4);
}

#[test]
fn a_503_is_retried_until_the_collector_accepts() {
    let dir = write_store("replay-503-then-ok");
    let fake = FakeOtlp::start();
    let unavailable = Behavior::HttpStatus {
        status: 503,
        retry_after: None,
    };
    fake.script([unavailable.clone(), unavailable]);
    let out = run(&dir, &["replay", "--endpoint", &fake.http_endpoint()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("replayed 4 request(s) ({SPAN_COUNT} span(s))")),
        "{}",
        stdout(&out)
    );
    assert_eq!(fake.attempts(), 6);
    let sent: Vec<ExportTraceServiceRequest> =
        fake.requests().into_iter().map(|r| r.request).collect();
    assert_eq!(sent, requests());
}

#[test]
fn a_collector_that_stays_unavailable_stops_the_replay_after_one_request() {
    let dir = write_store("replay-503");
    let fake = FakeOtlp::start();
    fake.set_default(Behavior::HttpStatus {
        status: 503,
        retry_after: None,
    });
    let url = fake.http_endpoint();
    let out = run(&dir, &["replay", "--endpoint", &url, "--timeout", "1"]);
    assert_nothing_replayed(&out, &url);
    let err = stderr(&out);
    let file = store_file(&dir);
    assert!(
        err.contains(&format!("error: {}:1: HTTP 503 from", file.display())),
        "{err}"
    );
    assert!(err.contains("not sending the rest"), "{err}");
    assert_eq!(err.matches("HTTP 503 from").count(), 1, "{err}");
    // The first request was retried; the others were never sent.
    assert!(fake.attempts() > 1);
    assert_eq!(fake.span_count(), 0);
}

#[test]
fn partial_success_rejections_are_reported() {
    let dir = write_store("replay-partial");
    let response = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 1,
            error_message: "span too large".into(),
        }),
    };
    let (url, _log) = http_receiver("200 OK", response.encode_to_vec());
    let out = run(&dir, &["replay", "--endpoint", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("the collector accepted but rejected 4 span(s): span too large"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unreachable_collector_fails_fast() {
    let dir = write_store("replay-down");
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(
        &dir,
        &[
            "replay",
            "--endpoint",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("4 failed"), "{}", stdout(&out));
    let err = stderr(&out);
    // The cause, not only "error sending request".
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    assert!(err.contains("not sending the rest"), "{err}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = write_store("replay-args");
    // (extra arguments, what stderr must say); endpoint and header values are checked by
    // core, as the SDK checks its own.
    let cases: [(&[&str], &str); 4] = [
        (&["--header", "novalue"], "expected name=value"),
        (&["--protocol", "smoke-signals"], "http/protobuf"),
        (
            &["--endpoint", "localhost:4318"],
            "invalid --endpoint \"localhost:4318\": unsupported scheme",
        ),
        (
            &["--header", "bad name=v"],
            "invalid --header \"bad name=v\"",
        ),
    ];
    for (extra, says) in cases {
        let mut args = vec!["replay"];
        if !extra.contains(&"--endpoint") {
            args.extend(["--endpoint", "http://127.0.0.1:1"]);
        }
        args.extend(extra);
        let out = run(&dir, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn replays_over_grpc_with_retries_and_partial_success() {
    let dir = write_store("replay-grpc");
    let fake = FakeOtlp::start();
    fake.script([
        Behavior::GrpcStatus {
            code: Code::Unavailable,
            retry_delay: None,
        },
        Behavior::PartialSuccess {
            rejected: 1,
            message: "span too large".into(),
        },
    ]);
    let out = run(
        &dir,
        &[
            "replay",
            "--endpoint",
            &fake.grpc_endpoint(),
            "--protocol",
            "grpc",
            "--header",
            "x-api-key=secret",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("replayed 4 request(s) ({SPAN_COUNT} span(s))")));
    assert!(
        stdout(&out).contains("the collector accepted but rejected 1 span(s): span too large"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fake.attempts(), 5);
    let received = fake.requests();
    assert!(received.iter().all(|r| r.transport == Transport::Grpc));
    assert!(
        received
            .iter()
            .all(|r| r.header("x-api-key") == Some("secret"))
    );
    let sent: Vec<ExportTraceServiceRequest> = received.into_iter().map(|r| r.request).collect();
    assert_eq!(sent, requests());
}
