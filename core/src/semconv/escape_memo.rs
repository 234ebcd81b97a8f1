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

use super::messages::{JsonBuf, push_json_body, push_json_str, push_json_str_embedded};
use crate::model::Str;

/// Texts shorter than this are escaped directly (a lookup would not pay).
const MIN_LEN: usize = 256;
/// Escaped bytes kept (the texts themselves are shared with the records
/// and the redaction cache); beyond, the memo starts over.
const MAX_BYTES: usize = 2 * 1024 * 1024;

/// Direct-mapped by the text's address: a lookup is one slot and one
/// pointer compare; a text whose slot another took is escaped again.
struct Memo {
    slots: Vec<Option<(Str, Box<str>)>>,
    bytes: usize,
}

/// Slots of a memo (a power of two).
const SLOTS: usize = 1024;

impl Memo {
    fn new() -> Self {
        Memo {
            slots: (0..SLOTS).map(|_| None).collect(),
            bytes: 0,
        }
    }

    #[inline]
    fn slot(addr: usize) -> usize {
        crate::fasthash::addr_slot(addr, SLOTS)
    }
}

thread_local! {
    // One per thread: only the export worker writes content JSON in practice.
    /// JSON string literals of texts.
    static MEMO: RefCell<Memo> = RefCell::new(Memo::new());
    /// The same literals escaped once more, as the OTLP-JSON line (the local
    /// store, `http/json`) holds them inside its `stringValue`.
    static EMBEDDED: RefCell<Memo> = RefCell::new(Memo::new());
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
        let i = Memo::slot(addr);
        if let Some((text, escaped)) = &m.slots[i]
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
        if m.bytes + escaped.len() > MAX_BYTES {
            m.slots.iter_mut().for_each(|e| *e = None);
            m.bytes = 0;
        }
        m.bytes += escaped.len();
        if let Some((_, old)) = m.slots[i].replace((s.clone(), escaped)) {
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
        MEMO.with(|m| {
            let held = m.borrow().slots.iter().flatten().count();
            assert!(
                held == 2 || held == 1,
                "by allocation (two, unless they share a slot)"
            );
        });
    }
}
