//! Redaction scan throughput on three kinds of text, in MB per CPU second of
//! this thread (best of several windows, so other load on the machine counts
//! as little as possible):
//!
//! - `clean prose`: 2.5 KB of English with punctuation, quotes, newlines,
//!   years, prices and times, nothing to redact (the common case);
//! - `clean code`: 2.5 KB of Python, JSON, shell and log lines (assignments,
//!   `::` paths, URLs, version numbers, hashes), nothing to redact;
//! - `bench prompt`: the prompt text of the pipeline benches, a short word
//!   list with an order number, a date and a parenthesis every few words;
//! - `chat JSON`: the prose as a JSON-encoded chat request (escaped quotes
//!   and `\n`), nothing to redact;
//! - `PII-dense`: 2.5 KB where every line holds an e-mail, phone, card, SSN,
//!   IBAN, IP, API key, JWT or `password=` value.
//!
//! Each text is scanned as it is (one `redact_text` call per 2.5 KB, what the
//! export worker does per prompt) and the clean texts must come back borrowed.
//!
//! Run: `cargo bench -p tokentrace-core --bench redact_scan`
//! (`TT_BENCH_ONLY=code` runs the cases whose name contains `code`,
//! `TT_PROBE_OFF=secrets,phone` turns those detectors off;
//! `-- --test` runs each case once, as a smoke test).

mod common;

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant};

use tokentrace_core::redact::{RedactConfig, Redactor};

const TEXT_BYTES: usize = 2560;
const WINDOW: Duration = Duration::from_millis(300);
const WINDOWS: usize = 7;

const PROSE: &str = "Thanks for getting back to me so quickly. I've read through the \
proposal you sent on Tuesday, and I think we're close, but there are a few things I'd \
like to settle before the board meets in March.\n\nFirst, the budget. Last year we spent \
about $12,400 on hosting and another $3,150 on support contracts; the new plan quotes \
$18,900 for 2025, which is roughly 20% more. That's fine if the \"premium\" tier really \
includes 24/7 coverage, but the brochure says \"business hours only\" on page 7. Could \
you check which one is right?\n\nSecond, the timeline. You wrote that the migration would \
take \"six to eight weeks\", starting on the 3rd. Our busy season runs from late October \
to mid-December (roughly 40% of annual revenue), so anything that slips past the 15th \
is a real risk. I'd rather start two weeks later and finish before Halloween than start \
now and be halfway through in November.\n\nThird, a question from our finance team: do \
the prices include VAT? In 2023 we were invoiced at 19% on top of the quoted figure, \
and it took three months (and a lot of e-mails) to sort out. A short note in the \
contract - even a single sentence - would save everyone the trouble.\n\nA few smaller \
points, in no particular order:\n- The SLA mentions 99.9% availability; is that per \
month or per quarter?\n- Who is our contact after hours? The old number no longer \
works, it seems.\n- Can we keep the current dashboards, or do they need to be rebuilt?\n\
- What happens to the data if we leave after the first year?\n\nI know that's a long \
list. None of it is a deal-breaker, and I'm optimistic we'll sign by the end of the \
month. If it's easier to talk it through, I'm free on Thursday between 2:30 and 4:00, \
or Friday morning before 11. Let me know what works.\n\nOne more thing: Maria asked \
whether the training sessions (there were 4 of them last time, about 90 minutes each) \
are part of the package or billed separately at $150 an hour. She'd like to plan the \
team's schedule for Q2 around them, so an early answer would help.\n\nBest regards,\n\
and thanks again for your patience with all of this.\n";

const CODE: &str = r#"import os
from openai import OpenAI

client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])
MAX_TOKENS = 1024  # see https://platform.openai.com/docs/models

def summarize(text: str, model: str = "gpt-4o-mini") -> str:
    resp = client.chat.completions.create(
        model=model,
        max_tokens=MAX_TOKENS,
        temperature=0.2,
        messages=[{"role": "user", "content": f"Summarize:\n{text}"}],
    )
    return resp.choices[0].message.content

{"model": "gpt-4.1-2025-04-14", "usage": {"prompt_tokens": 812, "completion_tokens": 96}, "id": "chatcmpl-9x8y7z"}
2024-05-01T10:30:45.123Z INFO request_id=3f2a9c1e latency_ms=412 status=200 path=/v1/chat/completions
2024-05-01T10:30:46.007Z WARN retry attempt=2 backoff=1.5s upstream=api.internal:8443
$ cargo build --release && ./target/release/server --port 8080 --workers 4
commit 9f8e7d6c5b4a39281706f5e4d3c2b1a098765432 (HEAD -> main, origin/main)
fn main() -> std::io::Result<()> { let v: Vec<u8> = std::fs::read("a.bin")?; println!("{}", v.len()); Ok(()) }
SELECT id, total FROM orders WHERE created_at >= '2024-01-01' AND status = 'paid' LIMIT 50;
docker run -p 127.0.0.1:5432:5432 -e POSTGRES_DB=app postgres:16.2
const url = `${baseUrl}/users/${userId}?page=${page}&limit=25`;
if (retries >= 3 && elapsed < 30_000) { throw new Error("upstream timeout"); }
"#;

const PII: &str = r#"Contact alice.smith@example.com or call +1 (415) 555-0123 about the refund.
Card on file: 4111 1111 1111 1111, exp 12/27. SSN 078-05-1120 was verified.
Wire to IBAN DE89 3704 0044 0532 0130 00 before Friday; peer at 203.0.113.9.
OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_AbCdEf-GhIj
{"password": "hunter2!", "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"}
Authorization: Bearer abcdef123456XYZ
AKIAIOSFODNN7EXAMPLE and ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ on the old laptop.
Reach Bob at bob@corp.io or 020 7946 0958; server 2001:db8::8a2e:370:7334 is down.
"#;

/// `base` repeated (whole lines) up to about `TEXT_BYTES`.
fn sized(base: &str) -> String {
    let mut s = String::with_capacity(TEXT_BYTES + base.len());
    'fill: loop {
        for line in base.split_inclusive('\n') {
            if s.len() + line.len() > TEXT_BYTES {
                break 'fill;
            }
            s.push_str(line);
        }
    }
    s
}

/// The prose as the content of a JSON-encoded chat request.
fn chat_json(prose: &str) -> String {
    let content = serde_json::to_string(prose).unwrap_or_default();
    format!(
        r#"[{{"role": "system", "content": "You are a helpful assistant."}}, {{"role": "user", "content": {content}}}]"#
    )
}

/// Best MB per CPU second over `WINDOWS` windows (wall clock if CPU time is unavailable).
fn measure(bytes: usize, windows: usize, window: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = 0.0f64;
    for _ in 0..windows {
        let start = Instant::now();
        let cpu0 = common::cpu::this_thread_ns();
        let mut done = 0usize;
        loop {
            f();
            done += bytes;
            if start.elapsed() >= window {
                break;
            }
        }
        let cpu1 = common::cpu::this_thread_ns();
        let spent = if cpu1 > cpu0 {
            Duration::from_nanos(cpu1 - cpu0)
        } else {
            start.elapsed()
        };
        best = best.max(done as f64 / 1e6 / spent.as_secs_f64());
    }
    best
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test");
    let (windows, window) = if smoke {
        (1, Duration::ZERO)
    } else {
        (WINDOWS, WINDOW)
    };
    let mut cfg = RedactConfig::default();
    if let Ok(off) = std::env::var("TT_PROBE_OFF") {
        for k in off.split(',') {
            match k {
                "email" => cfg.email = false,
                "phone" => cfg.phone = false,
                "card" => cfg.card = false,
                "ssn" => cfg.ssn = false,
                "iban" => cfg.iban = false,
                "ip" => cfg.ip = false,
                "secrets" => cfg.secrets = false,
                _ => {}
            }
        }
    }
    let red = Redactor::new(cfg).expect("default config is valid");
    let prose = sized(PROSE);
    let cases = [
        ("clean prose", prose.clone(), true),
        ("clean code", sized(CODE), true),
        ("bench prompt", common::payload::text(TEXT_BYTES, 0), true),
        ("chat JSON", chat_json(&prose), true),
        ("PII-dense", sized(PII), false),
    ];
    println!("| text | bytes | MB/s (CPU) | µs per text |");
    println!("|---|---:|---:|---:|");
    let only = std::env::var("TT_BENCH_ONLY").unwrap_or_default();
    for (name, text, clean) in cases.iter().filter(|c| c.0.contains(only.as_str())) {
        let out = red.redact_text(text);
        if *clean {
            assert!(
                matches!(out, Cow::Borrowed(_)),
                "{name} must be clean, got {out}"
            );
        } else {
            assert!(out.contains("[REDACTED:"), "{name} must have findings");
        }
        let mbs = measure(text.len(), windows, window, || {
            black_box(red.redact_text(black_box(text)));
        });
        println!(
            "| {name} | {} | {mbs:.0} | {:.2} |",
            text.len(),
            text.len() as f64 / mbs
        );
    }
}
