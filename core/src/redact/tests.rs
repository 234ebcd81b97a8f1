//! API-level tests: markers, masking by key, truncation, configuration errors,
//! and a randomized no-panic / idempotence loop.

use std::borrow::Cow;
use std::sync::Arc;

use super::*;

fn redactor() -> Redactor {
    Redactor::new(RedactConfig::default()).expect("default config is valid")
}

fn r(s: &str) -> String {
    redactor().redact_text(s).into_owned()
}

#[test]
fn clean_text_is_borrowed() {
    let red = redactor();
    for s in [
        "",
        "The quick brown fox jumps over the lazy dog.",
        "max_tokens: 1024, temperature=0.7",
        "Released on 2024-05-01 as v2.3.1 (build 1712345678).",
    ] {
        assert!(matches!(red.redact_text(s), Cow::Borrowed(_)), "{s}");
    }
    assert_eq!(red.stats().total_redactions(), 0);
}

#[test]
fn each_kind_gets_its_marker() {
    let cases = [
        ("mail alice@example.com", "mail [REDACTED:EMAIL]"),
        (
            "call +1 (415) 555-0123 today",
            "call [REDACTED:PHONE] today",
        ),
        ("card 5555 5555 5555 4444", "card [REDACTED:CARD]"),
        ("SSN 078-05-1120", "SSN [REDACTED:SSN]"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "IBAN [REDACTED:IBAN]"),
        (
            "from 198.51.100.23 and fe80::1",
            "from [REDACTED:IP] and fe80::1",
        ),
        (
            "key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t",
            "key [REDACTED:SECRET]",
        ),
        (
            "Authorization: Bearer abcdef123456",
            "Authorization: Bearer [REDACTED:SECRET]",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(r(input), want);
    }
}

#[test]
fn two_kinds_in_one_json_encoded_message() {
    let s = r#"{"role":"user","content":"Email me at jo@corp.io, key: \"AKIAIOSFODNN7EXAMPLE\"\n-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----"}"#;
    let out = r(s);
    assert!(
        !out.contains("jo@corp.io") && !out.contains("AKIA") && !out.contains("MIIEvQ"),
        "{out}"
    );
    assert!(out.contains("[REDACTED:EMAIL]") && out.contains("[REDACTED:SECRET]"));
    assert!(
        out.ends_with(r#""}"#),
        "the JSON string is still closed: {out}"
    );
}

#[test]
fn private_ips_only_when_asked() {
    let text = "gateway 10.0.0.1, host 192.168.1.20, peer 8.8.8.8";
    assert_eq!(
        r(text),
        "gateway 10.0.0.1, host 192.168.1.20, peer [REDACTED:IP]"
    );
    let red = Redactor::new(RedactConfig {
        redact_private_ips: true,
        ..RedactConfig::default()
    })
    .expect("valid");
    assert_eq!(
        red.redact_text(text),
        "gateway [REDACTED:IP], host [REDACTED:IP], peer [REDACTED:IP]"
    );
}

#[test]
fn switches_turn_kinds_off() {
    let red = Redactor::new(RedactConfig {
        email: false,
        phone: false,
        ..RedactConfig::default()
    })
    .expect("valid");
    let text = "alice@example.com +44 20 7946 0958 4111111111111111";
    assert_eq!(
        red.redact_text(text),
        "alice@example.com +44 20 7946 0958 [REDACTED:CARD]"
    );
}

#[test]
fn masked_keys_mask_whole_values() {
    let red = redactor();
    assert_eq!(
        red.redact_value_for_key("http.request.header.authorization", "Bearer abc"),
        MASKED_VALUE
    );
    assert_eq!(
        red.redact_value_for_key("openai_api_key", "anything"),
        MASKED_VALUE
    );
    assert_eq!(red.redact_value_for_key("X-Api-Key", "k"), MASKED_VALUE);
    assert_eq!(red.redact_value_for_key("password", ""), "");
    assert_eq!(
        red.redact_value_for_key("gen_ai.usage.input_tokens", "42"),
        "42"
    );
    assert_eq!(
        red.redact_value_for_key("user.note", "mail bob@corp.io"),
        "mail [REDACTED:EMAIL]"
    );
    assert_eq!(red.stats().masked_values, 3);
    let custom = Redactor::new(RedactConfig {
        masked_keys: vec!["ssn_hash".into()],
        ..RedactConfig::default()
    })
    .expect("valid");
    assert!(custom.is_masked_key("user.ssnHash"));
    assert!(
        !custom.is_masked_key("password"),
        "the list replaces the defaults"
    );
}

#[test]
fn custom_rules_use_their_label_and_count() {
    let cfg = RedactConfig {
        custom_rules: vec![("EMPLOYEE_ID".into(), r"\bEMP-\d{6}\b".into())],
        ..RedactConfig::default()
    };
    let red = Redactor::new(cfg).expect("valid");
    assert_eq!(
        red.redact_text("ticket for EMP-123456 and EMP-654321"),
        "ticket for [REDACTED:EMPLOYEE_ID] and [REDACTED:EMPLOYEE_ID]"
    );
    assert_eq!(red.stats().custom, vec![("EMPLOYEE_ID".to_string(), 2)]);
}

#[test]
fn config_errors_name_the_field() {
    let bad_regex = RedactConfig {
        custom_rules: vec![
            ("OK".into(), "a".into()),
            ("BAD".into(), "(unclosed".into()),
        ],
        ..RedactConfig::default()
    };
    match Redactor::new(bad_regex) {
        Err(RedactError::InvalidCustomRule {
            index: 1,
            label,
            reason,
        }) => {
            assert_eq!(label, "BAD");
            assert!(reason.contains("invalid regex"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let empty = RedactConfig {
        custom_rules: vec![("E".into(), "x*".into())],
        ..RedactConfig::default()
    };
    assert!(matches!(
        Redactor::new(empty),
        Err(RedactError::InvalidCustomRule { .. })
    ));
    let label = RedactConfig {
        custom_rules: vec![("bad label]".into(), "x".into())],
        ..RedactConfig::default()
    };
    assert!(matches!(
        Redactor::new(label),
        Err(RedactError::InvalidCustomRule { .. })
    ));
    let key = RedactConfig {
        masked_keys: vec!["--".into()],
        ..RedactConfig::default()
    };
    assert!(matches!(
        Redactor::new(key),
        Err(RedactError::InvalidMaskedKey { index: 0, .. })
    ));
    let small = RedactConfig {
        max_text_bytes: 10,
        ..RedactConfig::default()
    };
    let err = Redactor::new(small).expect_err("too small");
    assert!(err.to_string().contains("max_text_bytes"), "{err}");
}

#[test]
fn truncation_marks_how_much_was_cut() {
    let red = Redactor::new(RedactConfig {
        max_text_bytes: 1000,
        ..RedactConfig::default()
    })
    .expect("valid");
    let text = format!("{}{}", "ü".repeat(700), "tail");
    let out = red.redact_text(&text);
    assert!(out.len() <= 1000);
    let kept = out.find("[TRUNCATED: ").expect("marker");
    assert!(text.is_char_boundary(kept));
    assert!(out.ends_with(&format!("[TRUNCATED: {} bytes]", text.len() - kept)));
    assert_eq!(red.stats().truncated_texts, 1);
    // Redacting the output again changes nothing.
    assert_eq!(red.redact_text(&out), out);
}

#[test]
fn truncation_drops_a_secret_straddling_the_cut() {
    let red = Redactor::new(RedactConfig {
        max_text_bytes: 200,
        ..RedactConfig::default()
    })
    .expect("valid");
    let text = format!(
        "{}-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----{}",
        "a ".repeat(75),
        "QUJD".repeat(50),
        " b".repeat(200)
    );
    let out = red.redact_text(&text);
    assert!(!out.contains("QUJD"), "{out}");
    assert!(out.contains("[TRUNCATED: "));
}

#[test]
fn redactor_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Redactor>();
    let red = Arc::new(redactor());
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let red = Arc::clone(&red);
            std::thread::spawn(move || red.redact_text("x@y.io").into_owned())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread"), "[REDACTED:EMAIL]");
    }
    assert_eq!(red.stats().email, 2);
}

/// Random texts built from PII fragments, separators and look-alikes: the
/// redactor must not panic, and its output must be a fixed point.
#[test]
fn random_texts_do_not_panic_and_redaction_is_idempotent() {
    const PIECES: &[&str] = &[
        "4111",
        "1111",
        "0123",
        "415",
        "555",
        "+",
        "+1",
        "(",
        ")",
        "-",
        ".",
        " ",
        "  ",
        ":",
        "::",
        "=",
        "@",
        "a",
        "x",
        "Z",
        "é",
        "€",
        "\\n",
        "\\\"",
        "\"",
        "'",
        "/",
        "_",
        "sk-",
        "eyJ",
        "AKIA",
        "Bearer ",
        "ghp_",
        "-----BEGIN PRIVATE KEY-----",
        "-----END ",
        "alice@example.com",
        "203.0.113.7",
        "10.0.0.1",
        "2001:db8::1",
        "fe80::",
        "DE89",
        "3704",
        "0044",
        "078-05-1120",
        "SSN ",
        "call ",
        "order ",
        "api_key=",
        "password: ",
        "token",
        "://u:p@",
        "0",
        "9",
        "12",
        "2024",
        "[REDACTED:EMAIL]",
        "\n",
        "ffff:",
        "3f2a9c1d8e7b",
        "AbCdEf1234567890",
        "1.2.3",
        "#",
        ",",
        "$",
        "%",
        "\u{a0}",
        "Cookie: ",
        "Authorization: ",
        "xoxb-",
    ];
    let red = Redactor::new(RedactConfig {
        max_text_bytes: 300,
        redact_private_ips: true,
        ..RedactConfig::default()
    })
    .expect("valid");
    let mut rng = fastrand::Rng::with_seed(0x5EED);
    for round in 0..20_000 {
        let n = rng.usize(1..40);
        let text: String = (0..n).map(|_| PIECES[rng.usize(..PIECES.len())]).collect();
        let once = red.redact_text(&text).into_owned();
        let twice = red.redact_text(&once).into_owned();
        assert_eq!(
            once, twice,
            "round {round}: not idempotent for {text:?}\nonce:  {once:?}\ntwice: {twice:?}"
        );
        assert!(
            once.len() <= 300 || once == text,
            "round {round}: over the cap"
        );
    }
}
