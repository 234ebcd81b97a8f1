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
use std::sync::Arc;

use super::messages::push_json_str;
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
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// Appends `s` as a JSON string literal, as `push_json_str` does.
pub(crate) fn push_text_json(out: &mut String, s: &Str) {
    if s.len() < MIN_LEN {
        push_json_str(out, s);
        return;
    }
    let addr = Arc::as_ptr(s).cast::<u8>() as usize;
    MEMO.with(|m| {
        let Ok(mut m) = m.try_borrow_mut() else {
            push_json_str(out, s);
            return;
        };
        if let Some((text, escaped)) = m.map.get(&addr)
            && Arc::ptr_eq(text, s)
        {
            out.push_str(escaped);
            return;
        }
        let from = out.len();
        push_json_str(out, s);
        let escaped: Box<str> = out[from..].into();
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
