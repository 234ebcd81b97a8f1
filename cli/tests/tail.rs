//! `tail` follows the store as spans arrive, through the real binary.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use tokentrace_core::store::{StoreOptions, StoreWriter};

/// Generous bound for a line to show up; only reached when the test is failing.
const PATIENCE: Duration = Duration::from_secs(20);

fn named(
    name: &str,
    trace: &str,
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    let call = span(SpanSpec {
        trace,
        id: "00000000000000f1",
        parent: "",
        name,
        start: DAY_A,
        duration_ms: 42,
        attrs: vec![
            s("gen_ai.operation.name", "chat"),
            s("gen_ai.request.model", "gpt-4o-mini"),
            i("gen_ai.usage.input_tokens", 7),
            i("gen_ai.usage.output_tokens", 3),
            d("tokentrace.cost.total_usd", 0.0000123),
        ],
        error: None,
    });
    request("svc", vec![call])
}

#[test]
fn prints_recent_spans_then_new_ones_including_rotations_and_stops_on_ctrl_c() {
    let dir = write_store("tail");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokentrace"))
        .args([
            "tail",
            "--lines",
            "2",
            "--interval",
            "50",
            "--timeout",
            "60",
            "--dir",
        ])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(PATIENCE).expect("tail printed nothing");

    // The last two spans already in the store, in arrival order.
    let first = next();
    assert!(
        first.contains("answer_question") && first.contains("aaaa1111"),
        "{first}"
    );
    let second = next();
    assert!(
        second.contains("embeddings text-embedding-3-small"),
        "{second}"
    );

    // A span appended by a writer (another process would do the same).
    let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
    writer
        .append(&named("chat live-one", "dddd4444000000000000000000000004"))
        .unwrap();
    let line = next();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        [
            "2025-03-14",
            "10:00:00.000Z",
            "dddd4444",
            "chat",
            "live-one",
            "42ms",
            "gpt-4o-mini",
            "7→3",
            "tok",
            "$0.0000123"
        ]
    );

    // A line written in two pieces into a new file (a rotation) appears once, complete.
    let bytes = serde_json::to_vec(&named(
        "chat split-line",
        "eeee5555000000000000000000000005",
    ))
    .unwrap();
    let path = dir.join("traces-9999999999999-1.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    let (head, rest) = bytes.split_at(bytes.len() / 2);
    file.write_all(head).unwrap();
    file.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300)); // several polls see the partial line
    file.write_all(rest).unwrap();
    file.write_all(b"\n").unwrap();
    let line = next();
    assert!(
        line.contains("chat split-line") && line.contains("eeee5555"),
        "{line}"
    );

    // Ctrl-C ends it cleanly.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "tail should exit 0 on Ctrl-C, got {status:?}"
    );
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(err, "", "a partial line is not an error");
    assert!(
        rx.try_iter().all(|l| !l.contains("split-line")),
        "printed twice"
    );
}

#[test]
fn timeout_stops_and_a_missing_directory_is_waited_for() {
    let dir = temp_dir("tail-missing").join("not-yet");
    let out = run(&dir, &["tail", "--timeout", "0.2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("waiting for"), "{}", stderr(&out));
}
