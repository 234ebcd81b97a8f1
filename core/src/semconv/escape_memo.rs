//! Escaped JSON of long message texts, remembered by allocation. An agent
//! resends its conversation on every call, and the redaction cache hands
//! repeated texts back as one shared `Arc` (see `pipeline::redaction`), so
//! the same allocation reaches the content JSON call after call; escaping
//! it again was the largest single cost of the export worker.
//!
//! Keyed by the text's address. Each entry holds a reference to its text,
//! so the address cannot be freed and reused by another text while the
//! entry lives: a hit is always the same bytes.

use std::cell::RefCell;
use std::collections::HashMap;

use super::messages::{JsonBuf, push_json_body, push_json_str, push_json_str_embedded};
use crate::fasthash::FastState;
use crate::model::Str;

/// Texts shorter than this are escaped directly (a lookup would not pay).
const MIN_LEN: usize = 256;
/// Escaped bytes kept (the texts themselves are shared with the records
/// and the redaction cache); beyond, the memo starts over.
const MAX_BYTES: usize = 2 * 1024 * 1024;
const MAX_ENTRIES: usize = 2048;

#[derive(Default)]
struct Memo {
    map: HashMap<usize, (Str, Box<str>), FastState>,
    bytes: usize,
}

thread_local! {
    // One per thread: only the export worker writes content JSON in practice.
    /// JSON string literals of texts.
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
    /// The same literals escaped once more, as the OTLP-JSON line (the local
    /// store, `http/json`) holds them inside its `stringValue`.
    static EMBEDDED: RefCell<Memo> = RefCell::new(Memo::default());
}

/// Appends `s` as a JSON string literal, as `push_json_str` does.
pub(crate) fn push_text_json<B: JsonBuf>(out: &mut B, s: &Str) {
    if s.len() < MIN_LEN {
        push_json_str(out, s);
        return;
    }
    memoised(&MEMO, out, s, |o, s| push_json_str(o, s));
}

/// Appends the escaped body of `s`'s JSON string literal (see
/// `messages::Embedded`).
pub(crate) fn push_text_json_embedded(out: &mut Vec<u8>, s: &Str) {
    if s.len() < MIN_LEN {
        push_json_str_embedded(out, s);
        return;
    }
    memoised(&EMBEDDED, out, s, |o, s| {
        let mut once = String::with_capacity(s.len() + 2);
        push_text_json(&mut once, s);
        push_json_body(o, &once);
    });
}

/// Appends `escape(s)`, served from `memo` when this allocation was seen.
fn memoised<B: JsonBuf>(
    memo: &'static std::thread::LocalKey<RefCell<Memo>>,
    out: &mut B,
    s: &Str,
    escape: impl Fn(&mut String, &Str),
) {
    let addr = crate::model::str_addr(s);
    memo.with(|m| {
        let Ok(mut m) = m.try_borrow_mut() else {
            let mut o = String::new();
            escape(&mut o, s);
            out.push_text(&o);
            return;
        };
        if let Some((text, escaped)) = m.map.get(&addr)
            && Str::ptr_eq(text, s)
        {
            out.push_text(escaped);
            return;
        }
        let mut o = String::with_capacity(s.len() + s.len() / 8 + 2);
        escape(&mut o, s);
        out.push_text(&o);
        let escaped = o.into_boxed_str();
        if escaped.len() > MAX_BYTES {
            return;
        }
        if m.bytes + escaped.len() > MAX_BYTES || m.map.len() >= MAX_ENTRIES {
            m.map.clear();
            m.bytes = 0;
        }
        m.bytes += escaped.len();
        if let Some((_, old)) = m.map.insert(addr, (s.clone(), escaped)) {
            m.bytes -= old.len();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memoised_text_is_escaped_as_fresh_text() {
        let long: Str = format!("{}\"quoted\"\n\ttabs \\ and é ünïcode", "word ".repeat(80)).into();
        let copy: Str = long.to_string().into();
        let mut fresh = String::new();
        push_json_str(&mut fresh, &long);
        for s in [&long, &long, &copy, &long] {
            let mut out = String::from("x");
            push_text_json(&mut out, s);
            assert_eq!(&out[1..], fresh);
        }
        let short: Str = "a \"b\"".into();
        let mut out = String::new();
        push_text_json(&mut out, &short);
        assert_eq!(out, "\"a \\\"b\\\"\"");
        MEMO.with(|m| assert_eq!(m.borrow().map.len(), 2, "by allocation"));
    }
}
