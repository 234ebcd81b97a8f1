//! Applies the redactor to every string of a record that can carry user
//! data, on the worker, before mapping: message parts, system instructions,
//! tool arguments and results, error and status messages, free attributes
//! (masked whole under secret-looking keys) and event attributes.

use std::borrow::Cow;

use crate::model::{KeyValue, LlmCall, Message, Part, SpanRecord, Str, Value, str_addr};
use crate::redact::Redactor;

/// Texts shorter than this are scanned directly (hashing would not pay).
const CACHE_MIN_LEN: usize = 256;
/// Slots of the table of long texts (a power of two): at most this many entries.
const CACHE_SLOTS: usize = 4096;
/// Bytes of text (inputs kept for verification plus redacted outputs) the
/// cache may hold.
const CACHE_MAX_BYTES: usize = 4 * 1024 * 1024;
/// `Cache::by_addr` value of a slot that points nowhere.
const NO_SLOT: u16 = u16::MAX;

/// Results of recent redactions by content: an agent resends its whole
/// conversation on every call, so most message text was already scanned.
/// Direct-mapped by a randomly seeded 64-bit hash of the text (`fasthash`):
/// a lookup is one slot, and a text new to the cache (every call's new
/// question and answer) costs one probe and one store, no map's probing,
/// removal and queue. A hit is served only when the stored input equals the
/// text (the same allocation, or the same bytes), so two texts on one slot
/// cost a rescan, never someone else's text. Bounded by slots and bytes (a
/// clock hand frees slots when the bytes would pass the budget). Redaction
/// counters count each distinct text once.
pub(crate) struct Cache {
    seed: u64,
    slots: Box<[Option<Entry>]>,
    /// Slot of an entry by the address of its input, direct-mapped by that
    /// address: a text handed over again in the same `Arc` (a system prompt
    /// or a conversation the application keeps and resends) is found
    /// without hashing it. Stale values are harmless: a slot is used only
    /// when its entry holds that very allocation, and an entry holds its
    /// `Arc`, so the address is not reused while the entry is there.
    by_addr: Box<[u16]>,
    bytes: usize,
    /// The next slot the byte budget frees.
    hand: usize,
    clean: CleanShort,
    last: LastClean,
}

/// The slot of a text's hash.
#[inline]
fn hash_slot(h: u64) -> usize {
    crate::fasthash::slot_of(h, CACHE_SLOTS)
}

/// The `by_addr` slot of an allocation's address.
#[inline]
fn addr_slot(addr: usize) -> usize {
    crate::fasthash::addr_slot(addr, CACHE_SLOTS)
}

/// Short values (model and provider names, user and session ids, feature
/// names) found clean under their key: most repeat from call to call, and
/// scanning them (key deny-list, then every detector) cost more than the
/// long, cached texts. Only clean results are kept, so the redaction
/// counters are what scanning every value would give. Direct-mapped by a
/// seeded hash of the value mixed with the key: a lookup is one slot, and a
/// value whose slot another took is scanned again, never mistaken (a hit
/// needs both key and value equal).
struct CleanShort {
    slots: Box<[Option<(Str, Str)>]>,
}

/// Slots of the clean-value table (a power of two).
const CLEAN_SLOTS: usize = 2048;

impl CleanShort {
    fn new() -> Self {
        CleanShort {
            slots: vec![None; CLEAN_SLOTS].into_boxed_slice(),
        }
    }

    /// The value hashed under a seed mixed with the key: two keys with one
    /// value mostly land apart, and `contains` compares both anyway.
    fn key(seed: u64, key: &Str, value: &Str) -> u64 {
        if let (Some(k), Some(v)) = (key.inline_words(), value.inline_words()) {
            return crate::fasthash::hash_words(seed, k, v);
        }
        let k = crate::fasthash::name_mix(key.as_bytes());
        crate::fasthash::hash_bytes(seed ^ k, value.as_bytes())
    }

    #[inline]
    fn slot(h: u64) -> usize {
        crate::fasthash::slot_of(h, CLEAN_SLOTS)
    }

    fn contains(&self, h: u64, key: &Str, value: &Str) -> bool {
        self.slots[Self::slot(h)]
            .as_ref()
            .is_some_and(|(k, v)| k == key && v == value)
    }

    fn insert(&mut self, h: u64, key: Str, value: Str) {
        self.slots[Self::slot(h)] = Some((key, value));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }
}

/// The short attributes of the last record found clean, by position:
/// instrumentations set the same attributes in the same order on every
/// call, so the n-th pair is mostly the last record's n-th (a compare of
/// two inline texts, instead of hashing them for [`CleanShort`]). Only
/// inline texts are kept: a copy, no count the recording thread also
/// writes.
struct LastClean {
    slots: Vec<Option<(Str, Str)>>,
}

/// Positions remembered.
const LAST_SLOTS: usize = 16;

impl LastClean {
    fn new() -> Self {
        LastClean {
            slots: vec![None; LAST_SLOTS],
        }
    }

    /// `pos`: the attribute's position in its record (`None`: not a
    /// record's own attribute, never remembered).
    #[inline]
    fn is(&self, pos: Option<usize>, key: &Str, value: &Str) -> bool {
        matches!(pos.and_then(|i| self.slots.get(i)), Some(Some((k, v))) if k == key && v == value)
    }

    /// Remembers the pair at `pos` clean (`clean`), or forgets it.
    fn set(&mut self, pos: Option<usize>, key: &Str, value: &Str, clean: bool) {
        if let Some(slot) = pos.and_then(|i| self.slots.get_mut(i)) {
            *slot = (clean && key.shared().is_none() && value.shared().is_none())
                .then(|| (key.clone(), value.clone()));
        }
    }
}

/// What the cache holds for a text.
enum Hit {
    /// The text itself is the result (this allocation, found clean).
    Same,
    /// The result to put in the text's place.
    Use(Str),
}

struct Entry {
    /// The input's hash (see [`hash_slot`]).
    hash: u64,
    input: Str,
    /// `None`: the text needed no redaction.
    output: Option<Str>,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.input.len() + self.output.as_ref().map_or(0, |o| o.len())
    }

    /// What to make of `s`, a text equal to this entry's input.
    fn hit(&self, s: &Str) -> Hit {
        match &self.output {
            // The same allocation, clean: nothing to do (a clone and a drop
            // would be two atomic operations on a count the recording
            // thread also writes).
            None if Str::ptr_eq(&self.input, s) => Hit::Same,
            out => Hit::Use(out.as_ref().unwrap_or(&self.input).clone()),
        }
    }
}

impl Cache {
    pub(crate) fn new() -> Self {
        Cache {
            seed: crate::fasthash::random_seed(),
            slots: std::iter::repeat_with(|| None).take(CACHE_SLOTS).collect(),
            by_addr: vec![NO_SLOT; CACHE_SLOTS].into_boxed_slice(),
            bytes: 0,
            hand: 0,
            clean: CleanShort::new(),
            last: LastClean::new(),
        }
    }

    /// What the cache holds for `s`, or the hash to insert it under. An
    /// entry holding this very allocation is found by its address, without
    /// hashing the text (a system prompt or a conversation the application
    /// keeps and hands over again); otherwise the text is hashed and its
    /// slot's entry must hold the same bytes. A hit is the redacted text, or
    /// the cached input when it needed no redaction: either way one shared
    /// allocation per distinct text, so later stages can recognise a text by
    /// its address (the content JSON memoises its escaping that way).
    fn lookup(&self, s: &Str) -> Result<Hit, u64> {
        let by_addr = usize::from(self.by_addr[addr_slot(str_addr(s))]);
        if let Some(Some(e)) = self.slots.get(by_addr)
            && Str::ptr_eq(&e.input, s)
        {
            return Ok(e.hit(s));
        }
        let hash = crate::fasthash::hash_bytes(self.seed, s.as_bytes());
        match &self.slots[hash_slot(hash)] {
            Some(e) if e.hash == hash && e.input == *s => Ok(e.hit(s)),
            _ => Err(hash),
        }
    }

    /// Puts `entry` in its slot (the text there before leaves), then frees
    /// other slots, from the clock hand on, until the bytes fit the budget.
    fn insert(&mut self, entry: Entry) {
        let add = entry.bytes();
        if add > CACHE_MAX_BYTES {
            return;
        }
        let at = hash_slot(entry.hash);
        if let Some(old) = self.slots[at].take() {
            self.bytes -= old.bytes();
        }
        // Terminates: with every other slot empty, the bytes are 0.
        while self.bytes + add > CACHE_MAX_BYTES {
            let h = self.hand;
            self.hand = (h + 1) % CACHE_SLOTS;
            if h != at
                && let Some(old) = self.slots[h].take()
            {
                self.bytes -= old.bytes();
            }
        }
        // `at` < CACHE_SLOTS <= u16::MAX.
        self.by_addr[addr_slot(str_addr(&entry.input))] = at as u16;
        self.bytes += add;
        self.slots[at] = Some(entry);
    }

    #[cfg(test)]
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten()
    }
}

struct Ctx<'a> {
    r: &'a Redactor,
    cache: &'a mut Cache,
}

/// The key under which short texts without a key of their own (messages,
/// error and status texts) are remembered clean: the empty key, which no
/// attribute has.
fn no_key() -> Str {
    Str::default()
}

fn text(cx: &mut Ctx<'_>, s: &mut Str) {
    if s.len() < CACHE_MIN_LEN {
        let h = CleanShort::key(cx.cache.seed, &no_key(), s);
        if cx.cache.clean.contains(h, &no_key(), s) {
            return;
        }
        match cx.r.redact_text(s) {
            Cow::Owned(o) => *s = o.into(),
            Cow::Borrowed(_) => cx.cache.clean.insert(h, no_key(), s.clone()),
        }
        return;
    }
    if let Some(o) = long_text(cx, s) {
        *s = o;
    }
}

/// What a long text becomes: `None` when it stays as it is.
fn long_text(cx: &mut Ctx<'_>, s: &Str) -> Option<Str> {
    let hash = match cx.cache.lookup(s) {
        Ok(Hit::Same) => return None,
        Ok(Hit::Use(hit)) => return Some(hit),
        Err(hash) => hash,
    };
    let out: Option<Str> = match cx.r.redact_text(s) {
        Cow::Owned(o) => Some(o.into()),
        Cow::Borrowed(_) => None,
    };
    cx.cache.insert(Entry {
        hash,
        input: s.clone(),
        output: out.clone(),
    });
    out
}

fn opt_text(cx: &mut Ctx<'_>, s: &mut Option<Str>) {
    if let Some(s) = s.as_mut() {
        text(cx, s);
    }
}

fn part(cx: &mut Ctx<'_>, p: &mut Part) {
    match p {
        Part::Text { content } | Part::Reasoning { content } => text(cx, content),
        Part::ToolCall { arguments, .. } => opt_text(cx, arguments),
        Part::ToolCallResponse { response, .. } => text(cx, response),
        Part::ServerToolCall { call, .. } => text(cx, call),
        Part::ServerToolCallResponse { response, .. } => text(cx, response),
        Part::Other { json, .. } => text(cx, json),
        // Inline media: only the size cap applies (base64 holds no text PII).
        Part::Blob { content, .. } => text(cx, content),
        Part::Uri { uri, .. } => text(cx, uri),
    }
}

fn messages(cx: &mut Ctx<'_>, ms: &mut [Message]) {
    for m in ms {
        for p in m.parts.iter_mut() {
            part(cx, p);
        }
    }
}

fn call(cx: &mut Ctx<'_>, c: &mut LlmCall, content: bool) {
    if content {
        for p in c.system_instructions.iter_mut() {
            part(cx, p);
        }
        messages(cx, &mut c.input_messages);
        messages(cx, &mut c.output_messages);
        opt_text(cx, &mut c.tool_arguments);
        opt_text(cx, &mut c.tool_result);
    }
    if let Some(e) = c.error.as_mut() {
        opt_text(cx, &mut e.message);
    }
}

/// A masked value comes back borrowed from a constant, not from the input:
/// replace whenever the result is not the input itself. `pos`: the
/// attribute's position in its record, for [`LastClean`].
fn keyed(cx: &mut Ctx<'_>, key: &Str, s: &mut Str, pos: Option<usize>) {
    if cx.cache.last.is(pos, key, s) {
        return;
    }
    // Long values are rare in attributes and mostly unique: scanned directly.
    let short = s.len() < CACHE_MIN_LEN && !key.is_empty();
    let h = if short {
        let h = CleanShort::key(cx.cache.seed, key, s);
        if cx.cache.clean.contains(h, key, s) {
            cx.cache.last.set(pos, key, s, true);
            return;
        }
        Some(h)
    } else {
        None
    };
    let replacement = match cx.r.redact_value_for_key(key, s) {
        Cow::Owned(o) => Some(o),
        Cow::Borrowed(b) if !std::ptr::eq(b, &**s) => Some(b.to_string()),
        Cow::Borrowed(_) => None,
    };
    match (replacement, h) {
        (Some(o), _) => {
            cx.cache.last.set(pos, key, s, false);
            *s = o.into();
        }
        (None, Some(h)) => {
            cx.cache.clean.insert(h, key.clone(), s.clone());
            cx.cache.last.set(pos, key, s, true);
        }
        (None, None) => {}
    }
}

/// Free attributes by position (`pos`: a record's own, not an event's).
fn attributes(cx: &mut Ctx<'_>, attrs: &mut [KeyValue], by_position: bool) {
    for (i, kv) in attrs.iter_mut().enumerate() {
        let pos = by_position.then_some(i);
        match &mut kv.value {
            Value::Str(s) | Value::Json(s) => keyed(cx, &kv.key, s, pos),
            Value::StrArray(items) => {
                for s in items.iter_mut() {
                    keyed(cx, &kv.key, s, None);
                }
            }
            _ => {}
        }
    }
}

/// Redacts `rec` in place. With content capture off, message text is not
/// exported at all, so it is not scanned either.
pub(crate) fn apply(r: &Redactor, cache: &mut Cache, rec: &mut SpanRecord, content: bool) {
    let mut cx = Ctx { r, cache };
    if let Some(c) = rec.llm.as_deref_mut() {
        call(&mut cx, c, content);
    }
    attributes(&mut cx, &mut rec.attributes, true);
    for e in rec.events.iter_mut() {
        attributes(&mut cx, &mut e.attributes, false);
    }
    opt_text(&mut cx, &mut rec.status.message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Operation};

    #[test]
    fn cached_results_match_fresh_ones_and_memory_is_bounded() {
        let r = Redactor::new(Default::default()).unwrap();
        let mut cache = Cache::new();
        let pii = format!("{} mail me at jane@example.com", "context ".repeat(40));
        let clean = "plain words ".repeat(40);
        for _ in 0..3 {
            let mut rec = SpanRecord::new("s");
            let mut c = LlmCall::new("openai", Operation::Chat);
            c.input_messages = vec![
                Message::text("user", pii.as_str()),
                Message::text("user", clean.as_str()),
            ];
            rec.llm = Some(Box::new(c));
            apply(&r, &mut cache, &mut rec, true);
            let c = rec.llm.unwrap();
            let Part::Text { content } = &c.input_messages[0].parts[0] else {
                panic!()
            };
            assert!(content.ends_with("[REDACTED:EMAIL]"), "{content}");
            let Part::Text { content } = &c.input_messages[1].parts[0] else {
                panic!()
            };
            assert_eq!(content.as_ref(), clean);
        }
        assert_eq!(r.stats().email, 1, "the repeated text was scanned once");
        // More texts than slots, then texts that take the byte budget.
        let texts = (0..CACHE_SLOTS + 10)
            .map(|i| format!("{i} {}", "x".repeat(300)))
            .chain((0..40).map(|i| format!("{i} {}", "y".repeat(200 * 1024))));
        for t in texts {
            let mut s: Str = t.into();
            text(
                &mut Ctx {
                    r: &r,
                    cache: &mut cache,
                },
                &mut s,
            );
            let held: usize = cache.entries().map(Entry::bytes).sum();
            assert_eq!(held, cache.bytes);
            assert!(cache.bytes <= CACHE_MAX_BYTES, "{}", cache.bytes);
        }
        assert!(cache.bytes > CACHE_MAX_BYTES / 2, "the budget is used");
        // Every entry sits in its hash's slot and is found by its input's
        // address, whether that address came first or the bytes.
        for (i, e) in cache.slots.iter().enumerate() {
            if let Some(e) = e {
                assert_eq!(hash_slot(e.hash), i);
                assert_eq!(
                    e.hash,
                    crate::fasthash::hash_bytes(cache.seed, e.input.as_bytes())
                );
                let result = e.output.as_ref().unwrap_or(&e.input);
                match cache.lookup(&e.input) {
                    Ok(Hit::Same) => assert!(e.output.is_none()),
                    Ok(Hit::Use(h)) => assert!(Str::ptr_eq(&h, result)),
                    Err(_) => panic!("an entry not found by its own text"),
                }
                let copy: Str = e.input.to_string().into();
                assert!(matches!(cache.lookup(&copy), Ok(Hit::Use(h)) if Str::ptr_eq(&h, result)));
            }
        }
    }

    #[test]
    fn short_values_are_redacted_every_time_and_clean_ones_remembered() {
        let r = Redactor::new(Default::default()).unwrap();
        let mut cache = Cache::new();
        for _ in 0..3 {
            let mut rec = SpanRecord::new("s");
            rec.attributes = vec![
                KeyValue::new("user.email", "jane@example.com"),
                KeyValue::new("openai_api_key", "sk-not-a-real-key"),
                KeyValue::new("feature.name", "checkout"),
                KeyValue::new("session.id", "jane@example.com"),
            ];
            rec.status.message = Some("call jane@example.com".into());
            apply(&r, &mut cache, &mut rec, true);
            let v: Vec<String> = rec
                .attributes
                .iter()
                .map(|kv| match &kv.value {
                    Value::Str(s) => s.to_string(),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(v[0], "[REDACTED:EMAIL]");
            assert_ne!(v[1], "sk-not-a-real-key");
            assert_eq!(v[2], "checkout");
            assert_eq!(v[3], "[REDACTED:EMAIL]");
            assert_eq!(rec.status.message.as_deref(), Some("call [REDACTED:EMAIL]"));
        }
        let st = r.stats();
        assert_eq!(st.email, 9, "redacted values are counted on every span");
        assert_eq!(st.masked_values, 3);
        // Only the clean value is remembered, under its own key.
        assert_eq!(cache.clean.len(), 1);
        let key: Str = "other.key".into();
        let mut s: Str = "checkout".into();
        keyed(
            &mut Ctx {
                r: &r,
                cache: &mut cache,
            },
            &key,
            &mut s,
            None,
        );
        assert_eq!(cache.clean.len(), 2);
    }

    #[test]
    fn a_cached_long_text_is_served_only_for_its_own_bytes() {
        let r = Redactor::new(Default::default()).unwrap();
        let mut cache = Cache::new();
        let mut run = |text: &Str| -> Str {
            let mut rec = SpanRecord::new("s");
            let mut c = LlmCall::new("openai", Operation::Chat);
            c.input_messages = vec![Message::new(
                "user",
                [Part::Text {
                    content: text.clone(),
                }],
            )];
            rec.llm = Some(Box::new(c));
            apply(&r, &mut cache, &mut rec, true);
            let c = rec.llm.unwrap();
            let Part::Text { content } = &c.input_messages[0].parts[0] else {
                panic!()
            };
            content.clone()
        };
        let clean: Str = "plain words ".repeat(40).into();
        let pii: Str = format!("{} mail jane@example.com", "context ".repeat(40)).into();
        assert!(Str::ptr_eq(&run(&clean), &clean));
        assert!(Str::ptr_eq(&run(&clean), &clean));
        let red = run(&pii);
        assert!(red.ends_with("[REDACTED:EMAIL]"), "{red}");
        assert!(Str::ptr_eq(&run(&pii), &red), "the same result, served");
        // Another allocation at that position is looked at, not served.
        let other: Str = format!("{} mail joe@example.com", "context ".repeat(40)).into();
        assert!(run(&other).ends_with("[REDACTED:EMAIL]"));
        assert!(Str::ptr_eq(&run(&clean), &clean));
        assert_eq!(r.stats().email, 2);
    }

    #[test]
    fn a_position_remembered_clean_still_redacts_a_new_value_there() {
        let r = Redactor::new(Default::default()).unwrap();
        let mut cache = Cache::new();
        let mut run = |key: &str, value: &str| {
            let mut rec = SpanRecord::new("s");
            rec.attributes = vec![
                KeyValue::new("feature.name", "checkout"),
                KeyValue::new(key, value),
            ];
            apply(&r, &mut cache, &mut rec, true);
            match &rec.attributes[1].value {
                Value::Str(s) => s.to_string(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(run("user.id", "u-1"), "u-1");
        assert_eq!(run("user.id", "u-1"), "u-1");
        assert_eq!(run("user.id", "jane@example.com"), "[REDACTED:EMAIL]");
        assert_eq!(run("user.id", "u-1"), "u-1");
        assert_eq!(run("user.id", "jane@example.com"), "[REDACTED:EMAIL]");
        // The same clean value under a secret-looking key at that position.
        assert_ne!(run("api_key", "u-1"), "u-1");
        assert_eq!(r.stats().email, 2);
    }

    #[test]
    fn a_repeated_clean_text_comes_back_as_one_allocation() {
        let r = Redactor::new(Default::default()).unwrap();
        let mut cache = Cache::new();
        let first: Str = "plain words ".repeat(40).into();
        let mut a = first.clone();
        let mut b: Str = first.to_string().into();
        for s in [&mut a, &mut b] {
            text(
                &mut Ctx {
                    r: &r,
                    cache: &mut cache,
                },
                s,
            );
        }
        assert!(Str::ptr_eq(&a, &first) && Str::ptr_eq(&b, &first));
    }

    #[test]
    fn a_hash_collision_is_rescanned_not_served() {
        let r = Redactor::new(Default::default()).unwrap();
        let mut cache = Cache::new();
        let pii: Str = format!("{} mail me at jane@example.com", "context ".repeat(40)).into();
        let clean: Str = "plain words ".repeat(40).into();
        let hash = |t: &Str| crate::fasthash::hash_bytes(cache.seed, t.as_bytes());
        let (hp, hc) = (hash(&pii), hash(&clean));
        // A full collision: the PII text stored under the clean text's hash.
        cache.insert(Entry {
            hash: hc,
            input: pii.clone(),
            output: Some("[REDACTED]".into()),
        });
        assert!(matches!(cache.lookup(&clean), Err(h) if h == hc));
        // The stored allocation is found by its address, not by hashing it.
        assert!(matches!(cache.lookup(&pii), Ok(Hit::Use(h)) if &*h == "[REDACTED]"));
        // Its bytes in another allocation are hashed, to their own slot.
        let copy: Str = pii.to_string().into();
        assert!(matches!(cache.lookup(&copy), Err(h) if h == hp));
        cache.insert(Entry {
            hash: hp,
            input: pii.clone(),
            output: Some("[REDACTED:EMAIL]".into()),
        });
        assert!(matches!(cache.lookup(&copy), Ok(Hit::Use(h)) if &*h == "[REDACTED:EMAIL]"));
        let mut s = clean.clone();
        text(
            &mut Ctx {
                r: &r,
                cache: &mut cache,
            },
            &mut s,
        );
        assert_eq!(s, clean);
    }
}
