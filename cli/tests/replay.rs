//! `replay` sends the store to OTLP receivers on loopback that decode what they get.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
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
fn a_failing_collector_is_reported_and_the_exit_code_is_1() {
    let dir = write_store("replay-503");
    let (url, log) = http_receiver("503 Service Unavailable", b"overloaded".to_vec());
    let out = run(&dir, &["replay", "--endpoint", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).lines().next().unwrap(),
        format!("replayed 0 request(s) (0 span(s)) to {url}; 4 failed ({SPAN_COUNT} span(s))")
    );
    let err = stderr(&out);
    assert_eq!(err.matches("HTTP 503: overloaded").count(), 4, "{err}");
    assert_eq!(log.lock().unwrap().len(), 4);
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
    assert!(
        stderr(&out).to_lowercase().contains("connect"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = write_store("replay-args");
    let out = run(
        &dir,
        &[
            "replay",
            "--endpoint",
            "http://127.0.0.1:1",
            "--header",
            "novalue",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected name=value"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &dir,
        &[
            "replay",
            "--endpoint",
            "http://127.0.0.1:1",
            "--protocol",
            "smoke-signals",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("http/protobuf"), "{}", stderr(&out));
    let out = run(&dir, &["replay", "--endpoint", "localhost:4318"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid endpoint"),
        "{}",
        stderr(&out)
    );
}

/// Each request with its `x-api-key` metadata.
type GrpcLog = Arc<Mutex<Vec<(Option<String>, ExportTraceServiceRequest)>>>;

#[derive(Default)]
struct GrpcCollector {
    log: GrpcLog,
}

#[tonic::async_trait]
impl TraceService for GrpcCollector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let key = request
            .metadata()
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        self.log.lock().unwrap().push((key, request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[test]
fn replays_over_grpc() {
    let dir = write_store("replay-grpc");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let collector = GrpcCollector::default();
    let log = Arc::clone(&collector.log);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let service = TraceServiceServer::new(collector);
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(
                            hyper_util::rt::TokioIo::new(stream),
                            hyper_util::service::TowerToHyperService::new(service),
                        )
                        .await;
            });
        }
    });

    let out = run(
        &dir,
        &[
            "replay",
            "--endpoint",
            &url,
            "--protocol",
            "grpc",
            "--header",
            "x-api-key=secret",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("replayed 4 request(s) ({SPAN_COUNT} span(s))")));
    let received = log.lock().unwrap().clone();
    assert!(
        received
            .iter()
            .all(|(key, _)| key.as_deref() == Some("secret"))
    );
    let sent: Vec<ExportTraceServiceRequest> = received.into_iter().map(|(_, r)| r).collect();
    assert_eq!(sent, requests());
}
