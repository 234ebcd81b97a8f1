//! A prompt full of PII and secrets is recorded; the decoded OTLP export
//! contains none of it, only the kind markers.

mod common;

use std::time::Duration;

use common::*;
use fake_otlp::FakeOtlp;
use tokentrace_core::*;

const SECRETS: &[(&str, &str)] = &[
    ("jane.doe@example.com", "EMAIL"),
    ("+44 20 7946 0958", "PHONE"),
    ("(415) 555-0132", "PHONE"),
    ("4111 1111 1111 1111", "CARD"),
    ("2221000000000009", "CARD"),
    ("078-05-1120", "SSN"),
    ("GB82 WEST 1234 5698 7654 32", "IBAN"),
    ("203.0.113.42", "IP"),
    ("2001:db8::8a2e:370:7334", "IP"),
    (
        "sk-proj-AbCdEf0123456789AbCdEf0123456789AbCdEf0123456789",
        "SECRET",
    ),
    (
        "sk-ant-api03-AbCdEf0123456789AbCdEf0123456789AbCdEf0123456789-AbCdEfAA",
        "SECRET",
    ),
    ("AKIAIOSFODNN7EXAMPLE", "SECRET"),
    ("ghp_1234567890abcdefghijklmnopqrstuvwxyzAB", "SECRET"),
    (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "SECRET",
    ),
];

fn prompt() -> String {
    let mut p = String::from("Please help. ");
    for (v, _) in SECRETS {
        p.push_str(&format!("Value: {v}. "));
    }
    p
}

#[test]
fn nothing_sensitive_leaves_the_process() {
    let rx = FakeOtlp::start();
    let t = Tracer::new(builder().with_endpoint(rx.http_endpoint()).build().unwrap()).unwrap();
    let mut r = simple("chat gpt-4o");
    let mut c = LlmCall::new("openai", Operation::Chat);
    c.request_model = Some("gpt-4o".into());
    c.system_instructions = [Part::text(format!("Internal key: {}", SECRETS[9].0))].into();
    c.input_messages = vec![
        Message::text("user", prompt()),
        Message::new(
            "assistant",
            vec![Part::ToolCall {
                id: Some("c1".into()),
                name: "send_mail".into(),
                arguments: Some(
                    format!(r#"{{"to":"{}","card":"{}"}}"#, SECRETS[0].0, SECRETS[3].0).into(),
                ),
            }],
        ),
        Message::new(
            "tool",
            vec![Part::ToolCallResponse {
                id: Some("c1".into()),
                response: format!("sent from {}", SECRETS[7].0).into(),
            }],
        ),
    ];
    c.output_messages = vec![Message::text(
        "assistant",
        format!("Your SSN {} is on file.", SECRETS[5].0),
    )];
    c.error = Some(LlmError {
        error_type: "BadRequest".into(),
        message: Some(format!("invalid key {}", SECRETS[10].0).into()),
    });
    r.llm = Some(Box::new(c));
    r.attributes = vec![
        KeyValue::new("api_key", "my-own-secret-value"),
        KeyValue::new(
            "http.request.header.authorization",
            "Bearer abcdef0123456789abcdef",
        ),
        KeyValue::new("note", format!("call me at {}", SECRETS[2].0)),
        KeyValue::new("gen_ai.usage.input_tokens_note", "max_tokens stays visible"),
    ];
    r.events = vec![Event {
        name: "exception".into(),
        time_unix_nanos: r.start_unix_nanos,
        attributes: vec![KeyValue::new(
            "exception.message",
            format!("upload to {} failed", SECRETS[6].0),
        )],
    }];
    r.status = Status::error(format!("token {} rejected", SECRETS[12].0));
    t.record(r);
    t.flush(Duration::from_secs(10)).unwrap();

    let spans = rx.spans();
    assert_eq!(spans.len(), 1);
    let dump = format!("{:?}", spans[0].span);
    for (value, kind) in SECRETS {
        assert!(!dump.contains(value), "{kind} value {value:?} leaked");
    }
    assert!(
        !dump.contains("my-own-secret-value"),
        "masked key leaked: {dump}"
    );
    assert!(
        !dump.contains("abcdef0123456789abcdef"),
        "bearer token leaked"
    );
    for kind in ["EMAIL", "PHONE", "CARD", "SSN", "IBAN", "IP", "SECRET"] {
        assert!(
            dump.contains(&format!("[REDACTED:{kind}]")),
            "no {kind} marker in {dump}"
        );
    }
    assert!(dump.contains("Please help."), "clean text survives");
    assert!(dump.contains("max_tokens stays visible"));
    let st = t.stats().redaction.unwrap();
    assert!(
        st.email >= 2 && st.secret >= 4 && st.masked_values >= 1,
        "{st:?}"
    );
}

#[test]
fn private_addresses_are_kept_unless_configured() {
    let rx = FakeOtlp::start();
    let t = Tracer::new(builder().with_endpoint(rx.http_endpoint()).build().unwrap()).unwrap();
    let mut r = simple("s");
    r.attributes = vec![KeyValue::new(
        "net",
        "db at 10.1.2.3 and 192.168.0.7, public 8.8.8.8",
    )];
    t.record(r);
    t.flush(Duration::from_secs(10)).unwrap();
    let dump = format!("{:?}", rx.spans()[0].span);
    assert!(dump.contains("10.1.2.3") && dump.contains("192.168.0.7"));
    assert!(!dump.contains("8.8.8.8"));
}

#[test]
fn redaction_can_be_turned_off_explicitly() {
    let rx = FakeOtlp::start();
    let t = Tracer::new(
        builder()
            .with_endpoint(rx.http_endpoint())
            .without_redaction()
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut r = simple("s");
    r.attributes = vec![KeyValue::new("note", SECRETS[0].0)];
    t.record(r);
    t.flush(Duration::from_secs(10)).unwrap();
    assert!(format!("{:?}", rx.spans()[0].span).contains(SECRETS[0].0));
    assert!(t.stats().redaction.is_none());
}
