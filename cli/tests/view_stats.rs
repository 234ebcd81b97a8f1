//! `view` and `stats` on a realistic store, through the real binary.

mod common;

use std::io::Write;

use common::*;
use tokentrace_core::store::{StoreOptions, StoreWriter};

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// The block of lines from the header starting with `trace {short}` to the next blank line.
fn trace_block<'a>(text: &'a str, short: &str) -> Vec<&'a str> {
    let all = lines(text);
    let start = all
        .iter()
        .position(|l| l.starts_with(&format!("trace {short}")))
        .unwrap_or_else(|| panic!("no trace {short} in:\n{text}"));
    all[start..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect()
}

#[test]
fn view_shows_latest_traces_newest_first_as_indented_trees() {
    let dir = write_store("view");
    let out = run(&dir, &["view"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);

    let headers: Vec<&str> = lines(&text)
        .into_iter()
        .filter(|l| l.starts_with("trace "))
        .collect();
    assert_eq!(headers.len(), 3, "{text}");
    assert!(headers[0].starts_with("trace aaaa1111  2025-03-14 10:00:00Z  support-bot"));
    assert!(headers[1].starts_with("trace cccc3333  2025-03-12 09:30:00Z  indexer"));
    assert!(headers[2].starts_with("trace bbbb2222  2025-03-12 09:00:00Z  support-bot"));

    let block = trace_block(&text, "aaaa1111");
    assert_eq!(
        block[0],
        "trace aaaa1111  2025-03-14 10:00:00Z  support-bot  user=u-42 session=s-7 \
         feature=weather_qa  3 calls  2,500 in / 100 out tok  $0.000435 + 1 unpriced  ✗ 1 error"
    );
    // Children under their parent in start order; the tool call sits between the two calls.
    assert_eq!(
        block[1..],
        [
            "  answer_question              2.50s",
            "  ├─ chat gpt-4o-mini          800ms  gpt-4o-mini-2024-07-18  1,200→40 tok  $0.000204",
            "  ├─ execute_tool get_weather   50ms",
            "  ├─ chat gpt-4o-mini          1.20s  gpt-4o-mini-2024-07-18  1,300→60 tok  $0.000231",
            "  └─ chat gpt-4o-mini          150ms  gpt-4o-mini                                  $?  ✗ RateLimitError",
        ]
    );
    let block = trace_block(&text, "bbbb2222");
    assert_eq!(
        block[1..],
        [
            "  summarize                 450ms",
            "  └─ chat claude-3-5-haiku  400ms  claude-3-5-haiku  500→100 tok  $0.000800",
        ]
    );
    // No colour codes when stdout is not a terminal.
    assert!(!text.contains('\x1b'));
}

#[test]
fn view_limit_and_service_filter() {
    let dir = write_store("view-filter");
    let text = stdout(&run(&dir, &["view", "--limit", "1"]));
    let headers: Vec<&str> = lines(&text)
        .into_iter()
        .filter(|l| l.starts_with("trace "))
        .collect();
    assert_eq!(headers.len(), 1);
    assert!(headers[0].starts_with("trace aaaa1111"));

    let text = stdout(&run(&dir, &["view", "--service", "indexer"]));
    assert!(text.starts_with("trace cccc3333"), "{text}");
    assert!(!text.contains("trace aaaa1111") && !text.contains("trace bbbb2222"));
    assert!(text.contains("embeddings text-embedding-3-small  80ms  text-embedding-3-small  20→- tok  $0.000000400"), "{text}");
}

#[test]
fn view_trace_by_prefix_shows_messages_tool_calls_and_errors() {
    let dir = write_store("view-one");
    let out = run(&dir, &["view", "AAAA11"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("trace {TRACE_A}  2025-03-14 10:00:00Z")),
        "{text}"
    );
    // The tree first, then each span with content, in tree order.
    let first_call = text
        .find("── chat gpt-4o-mini [a000000000000002]")
        .expect(&text);
    let tool = text
        .find("── execute_tool get_weather [a000000000000003]")
        .expect(&text);
    let second_call = text
        .find("── chat gpt-4o-mini [a000000000000004]")
        .expect(&text);
    let failed = text
        .find("── chat gpt-4o-mini [a000000000000005]")
        .expect(&text);
    assert!(first_call < tool && tool < second_call && second_call < failed);

    let section = |from: usize, to: usize| &text[from..to];
    let first = section(first_call, tool);
    assert!(
        first.contains("   system: You are a weather assistant.\n"),
        "{first}"
    );
    assert!(
        first.contains("   user: What's the weather in Paris?\n"),
        "{first}"
    );
    assert!(
        first.contains(r#"   → assistant (finish: tool_calls): tool call get_weather [call_1] {"city":"Paris"}"#),
        "{first}"
    );
    let tool_section = section(tool, second_call);
    assert!(
        tool_section.contains(r#"   arguments: {"city":"Paris"}"#),
        "{tool_section}"
    );
    assert!(
        tool_section.contains(r#"   result: {"temp_c":18,"sky":"sunny"}"#),
        "{tool_section}"
    );
    let second = section(second_call, failed);
    assert!(
        second.contains(r#"   tool: tool result [call_1] {"sky":"sunny","temp_c":18}"#),
        "{second}"
    );
    assert!(
        second.contains("   → assistant (finish: stop): It is 18°C and sunny in Paris."),
        "{second}"
    );
    // The long answer is cut for the terminal and says how to see it all.
    assert!(second.contains("more chars, --full to show]"), "{second}");
    assert!(second.matches("Enjoy the walk").count() < 40);
    let last = &text[failed..];
    assert!(last.contains("   user: And tomorrow?"), "{last}");
    assert!(
        last.contains("   ✗ RateLimitError: 429 Too Many Requests"),
        "{last}"
    );

    let full = stdout(&run(&dir, &["view", TRACE_A, "--full"]));
    assert_eq!(full.matches("Enjoy the walk along the Seine!").count(), 40);
    assert!(!full.contains("--full to show"));
}

#[test]
fn view_of_an_unknown_or_ambiguous_id_fails_with_a_message() {
    let dir = temp_dir("view-ambiguous").join("store");
    let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
    for trace in [
        "abcd0000000000000000000000000001",
        "abcd0000000000000000000000000002",
    ] {
        let root = span(SpanSpec {
            trace,
            id: "0000000000000001",
            parent: "",
            name: "job",
            start: DAY_A,
            duration_ms: 5,
            attrs: vec![],
            error: None,
        });
        writer.append(&request("svc", vec![root])).unwrap();
    }
    let out = run(&dir, &["view", "ffff"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no trace with id ffff"),
        "{}",
        stderr(&out)
    );
    let out = run(&dir, &["view", "abcd"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ambiguous"), "{}", stderr(&out));
    let out = run(&dir, &["view", "abcd0000000000000000000000000002"]);
    assert!(out.status.success());
}

/// The rows of one `stats` table, each split into its columns.
fn table(text: &str, title: &str) -> Vec<Vec<String>> {
    let all = lines(text);
    let start = all
        .iter()
        .position(|l| l.starts_with(title))
        .unwrap_or_else(|| panic!("no {title} table in:\n{text}"));
    all[start..]
        .iter()
        .take_while(|l| !l.is_empty())
        .map(|l| {
            // Labels may contain single spaces ("DAY (UTC)"); columns are 2+ spaces apart.
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

#[test]
fn stats_groups_calls_by_model_by_ancestor_feature_and_by_day() {
    let dir = write_store("stats");
    let out = run(&dir, &["stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);

    let header = row(&[
        "CALLS", "INPUT", "OUTPUT", "P50", "P95", "P99", "ERRORS", "COST", "UNPRICED",
    ]);
    let total = row(&[
        "TOTAL", "5", "3,020", "200", "400ms", "1.20s", "1.20s", "1", "$0.00124", "1",
    ]);

    let by_model = table(&text, "MODEL");
    assert_eq!(by_model[0][1..], header[..]);
    assert_eq!(
        by_model[1..],
        [
            // Latencies 150ms, 800ms, 1.2s: nearest-rank p50 is the 2nd, p95/p99 the 3rd.
            // The failed call has no response model but is grouped with its siblings by
            // requested model; its unknown cost is counted, not guessed.
            row(&[
                "gpt-4o-mini",
                "3",
                "2,500",
                "100",
                "800ms",
                "1.20s",
                "1.20s",
                "1",
                "$0.000435",
                "1"
            ]),
            row(&[
                "claude-3-5-haiku",
                "1",
                "500",
                "100",
                "400ms",
                "400ms",
                "400ms",
                "0",
                "$0.000800",
                "0"
            ]),
            row(&[
                "text-embedding-3-small",
                "1",
                "20",
                "0",
                "80ms",
                "80ms",
                "80ms",
                "0",
                "$0.000000400",
                "0"
            ]),
            total.clone(),
        ]
    );

    // The model calls carry no feature.name themselves: it comes from their root span.
    let by_feature = table(&text, "FEATURE");
    assert_eq!(
        by_feature[1..],
        [
            row(&[
                "weather_qa",
                "3",
                "2,500",
                "100",
                "800ms",
                "1.20s",
                "1.20s",
                "1",
                "$0.000435",
                "1"
            ]),
            row(&[
                "(none)",
                "1",
                "20",
                "0",
                "80ms",
                "80ms",
                "80ms",
                "0",
                "$0.000000400",
                "0"
            ]),
            row(&[
                "summarize",
                "1",
                "500",
                "100",
                "400ms",
                "400ms",
                "400ms",
                "0",
                "$0.000800",
                "0"
            ]),
            total.clone(),
        ]
    );

    let by_day = table(&text, "DAY (UTC)");
    assert_eq!(
        by_day[1..],
        [
            row(&[
                "2025-03-12",
                "2",
                "520",
                "100",
                "80ms",
                "400ms",
                "400ms",
                "0",
                "$0.000800",
                "0"
            ]),
            row(&[
                "2025-03-14",
                "3",
                "2,500",
                "100",
                "800ms",
                "1.20s",
                "1.20s",
                "1",
                "$0.000435",
                "1"
            ]),
            total,
        ]
    );
    assert!(text.contains("1 call(s) with unknown cost"), "{text}");
}

#[test]
fn stats_since_counts_only_recent_calls() {
    let dir = temp_dir("stats-since").join("store");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let hour = 3_600_000 * MS;
    let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
    for (n, age) in [(1u8, hour), (2, 72 * hour)] {
        let trace = format!("{n:032x}");
        let call = span(SpanSpec {
            trace: &trace,
            id: "0000000000000001",
            parent: "",
            name: "chat gpt-4o-mini",
            start: now - age,
            duration_ms: 100,
            attrs: vec![
                s("gen_ai.operation.name", "chat"),
                s("gen_ai.request.model", "gpt-4o-mini"),
                i("gen_ai.usage.input_tokens", 10 * i64::from(n)),
            ],
            error: None,
        });
        writer.append(&request("svc", vec![call])).unwrap();
    }
    let total = |args: &[&str]| {
        let text = stdout(&run(&dir, args));
        table(&text, "MODEL").pop().unwrap()
    };
    assert_eq!(total(&["stats", "--since", "1"])[1..3], row(&["1", "10"]));
    assert_eq!(total(&["stats", "--since", "7"])[1..3], row(&["2", "30"]));
    assert_eq!(total(&["stats"])[1..3], row(&["2", "30"]));
    // No prices at all: cost is unknown, not $0.
    assert_eq!(total(&["stats"])[8], "?");

    let out = run(&dir, &["stats", "--since", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("positive number of days"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn corrupt_and_truncated_lines_are_warned_with_file_and_line_and_the_rest_is_shown() {
    let dir = temp_dir("corrupt").join("store");
    let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
    let reqs = requests();
    writer.append(&reqs[0]).unwrap();
    writer.append(&reqs[1]).unwrap();
    let file = store_file(&dir);
    let mut raw = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    raw.write_all(b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}\n")
        .unwrap();
    writer.append(&reqs[2]).unwrap();
    writer.append(&reqs[3]).unwrap();
    raw.write_all(br#"{"resourceSpans":[{"resource":{"attri"#)
        .unwrap();

    for args in [&["view"][..], &["stats"], &["view", "aaaa1111"]] {
        let out = run(&dir, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let warnings: Vec<&str> = err.lines().collect();
        assert_eq!(warnings.len(), 2, "{err}");
        assert!(
            warnings[0].starts_with(&format!("warning: {}:3: invalid OTLP-JSON", file.display())),
            "{err}"
        );
        assert!(
            warnings[1].starts_with(&format!("warning: {}:6: truncated line", file.display())),
            "{err}"
        );
    }
    // Everything else is still there.
    let text = stdout(&run(&dir, &["view"]));
    assert_eq!(text.matches("\ntrace ").count() + 1, 3, "{text}");
    assert!(
        text.contains("  └─ chat gpt-4o-mini          150ms"),
        "{text}"
    );
    let text = stdout(&run(&dir, &["stats"]));
    assert_eq!(table(&text, "MODEL").pop().unwrap()[1], "5");
}

#[test]
fn nan_cost_reads_back_as_unknown_cost() {
    let dir = temp_dir("nan").join("store");
    let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
    let call = span(SpanSpec {
        trace: TRACE_A,
        id: "0000000000000001",
        parent: "",
        name: "chat gpt-4o-mini",
        start: DAY_A,
        duration_ms: 10,
        attrs: vec![
            s("gen_ai.operation.name", "chat"),
            s("gen_ai.request.model", "gpt-4o-mini"),
            d("tokentrace.cost.total_usd", f64::NAN),
            d("gen_ai.request.temperature", f64::INFINITY),
        ],
        error: None,
    });
    writer.append(&request("svc", vec![call])).unwrap();
    let out = run(&dir, &["view"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "", "the line must be valid");
    let text = stdout(&out);
    let call = text
        .lines()
        .find(|l| l.contains("chat gpt-4o-mini"))
        .unwrap();
    assert!(call.ends_with("gpt-4o-mini    $?"), "{text}");
    let text = stdout(&run(&dir, &["stats"]));
    assert_eq!(table(&text, "MODEL").pop().unwrap()[8..], row(&["?", "1"]));
}

#[test]
fn missing_store_and_unreadable_store_fail_with_exit_code_1() {
    let base = temp_dir("missing");
    let out = run(&base.join("nope"), &["view"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no trace store at"),
        "{}",
        stderr(&out)
    );

    let dir = base.join("garbage");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("traces-1-1.jsonl"), "not json\n").unwrap();
    let out = run(&dir, &["stats"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("traces-1-1.jsonl:1: invalid OTLP-JSON"),
        "{err}"
    );
    assert!(err.contains("nothing readable"), "{err}");

    // An empty store is not an error.
    let empty = base.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(&empty, &["view"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("No traces in"));
}

#[test]
fn store_directory_comes_from_tokentrace_dir() {
    let dir = write_store("env-dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tokentrace"))
        .arg("view")
        .env("TOKENTRACE_DIR", &dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("trace aaaa1111"));
}
