//! Token estimates for calls whose provider sent no usage (a stream without
//! a usage chunk, a failed call, a client that drops the field). Estimates are
//! always flagged (`Usage::estimated`, exported as
//! `tokentrace.usage.estimated`), never mixed silently with provider counts.
//!
//! OpenAI models are counted with their real tokenizer (tiktoken-rs: BPE
//! files embedded in the crate, no network). Other providers publish no
//! offline tokenizer for their current models (Anthropic and Gemini count
//! through an API call), so a character ratio from their own documentation
//! stands in; see [`approx_tokens`].
//!
//! Runs on the worker. Building a BPE takes ~0.1-0.2 s and tens of MB, so
//! each is built on first use, once per process, and only if an OpenAI call
//! without usage actually shows up.

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use crate::model::{LlmCall, Operation, Part, Usage};

/// tiktoken's pre-tokenizer regex (fancy-regex) fails, and tiktoken-rs then
/// panics, on whitespace runs of ~1 MiB; and BPE on pathological text runs at
/// about 1 MB/s. Text is therefore fed in chunks of at most this many bytes,
/// cut where a whitespace run starts so the pieces match whole-text encoding.
const CHUNK_BYTES: usize = 16 * 1024;

/// Beyond this many bytes of one text, the rest is extrapolated from the
/// token density of the counted prefix, bounding the worker's time per part
/// (a few ms for prose) whatever the application sends.
const EXACT_BYTES: usize = 64 * 1024;

/// Characters per token, times ten, for [`approx_tokens`].
const CLAUDE_CHARS_X10: u64 = 35;
const GENERIC_CHARS_X10: u64 = 40;

/// Per-message framing of OpenAI's chat format, from OpenAI's cookbook
/// "How to count tokens with tiktoken": 3 tokens per message, 1 more when a
/// message has a name, and 3 that prime the assistant's reply.
const OPENAI_TOKENS_PER_MESSAGE: u64 = 3;
const OPENAI_TOKENS_PER_NAME: u64 = 1;
const OPENAI_REPLY_PRIMING: u64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counter {
    /// GPT-4o, GPT-4.1, GPT-4.5, GPT-5, o-series, gpt-oss.
    O200k,
    /// GPT-4, GPT-3.5, text-embedding-3-*, text-embedding-ada-002.
    Cl100k,
    /// Claude: Anthropic documents ~3.5 characters per token.
    Claude,
    /// Everyone else (Gemini, Mistral, Llama, DeepSeek, ...): ~4 characters.
    Generic,
}

impl Counter {
    fn for_model(provider: &str, model: &str) -> Counter {
        let lower = model.trim().to_ascii_lowercase();
        let name = lower.rsplit_once('/').map_or(lower.as_str(), |(_, n)| n);
        // Fine-tunes (`ft:gpt-4o-mini-...:org::id`) use their base's tokenizer.
        let name = name.strip_prefix("ft:").unwrap_or(name);
        let family = |prefix: &str| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '.', ':']))
        };
        // Order matters: `gpt-4o` and `gpt-4.1` before `gpt-4`.
        if [
            "gpt-4o",
            "chatgpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "gpt-oss",
        ]
        .iter()
        .any(|p| family(p))
            || ["o1", "o3", "o4", "codex-mini"].iter().any(|p| family(p))
        {
            return Counter::O200k;
        }
        if [
            "gpt-4",
            "gpt-3.5",
            "gpt-35",
            "text-embedding-3",
            "text-embedding-ada-002",
        ]
        .iter()
        .any(|p| name.starts_with(p))
        {
            return Counter::Cl100k;
        }
        let provider = provider.trim().to_ascii_lowercase();
        if name.contains("claude") || provider == "anthropic" {
            return Counter::Claude;
        }
        if provider == "openai" || provider == "azure.ai.openai" {
            // An Azure deployment name or an unlisted OpenAI model: every
            // current OpenAI model uses o200k, the closest real tokenizer.
            return Counter::O200k;
        }
        Counter::Generic
    }

    fn bpe(self) -> Option<&'static CoreBPE> {
        static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        match self {
            Counter::O200k => O200K
                .get_or_init(|| tiktoken_rs::o200k_base().ok())
                .as_ref(),
            Counter::Cl100k => CL100K
                .get_or_init(|| tiktoken_rs::cl100k_base().ok())
                .as_ref(),
            Counter::Claude | Counter::Generic => None,
        }
    }

    fn is_openai_chat_format(self) -> bool {
        matches!(self, Counter::O200k | Counter::Cl100k)
    }

    fn count(self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        match self.bpe() {
            Some(bpe) => {
                bpe_tokens(bpe, text).unwrap_or_else(|| approx_tokens(text, GENERIC_CHARS_X10))
            }
            None if self == Counter::Claude => approx_tokens(text, CLAUDE_CHARS_X10),
            None => approx_tokens(text, GENERIC_CHARS_X10),
        }
    }
}

/// Estimated tokens of `text` for a model, as its provider would count it.
pub fn estimate_tokens(provider: &str, model: &str, text: &str) -> u64 {
    Counter::for_model(provider, model).count(text)
}

/// Estimated usage of a call that has none: the text of the system
/// instructions, input messages and tool definitions as input, the output
/// messages' text (reasoning and tool calls included) as output, plus the
/// chat framing for OpenAI models. Media parts (`Uri`, `Blob`) and opaque
/// `Other` parts are not counted: their token cost depends on resolution
/// and format, not on the bytes carried here.
///
/// Returns `None` when the call already has usage (even partial: provider
/// counts are never mixed with estimates), is not a model inference, or
/// carries no text to count (for instance when content capture is off).
/// Must run before content is dropped.
pub fn estimate_usage(call: &LlmCall) -> Option<Usage> {
    if call.usage.input_tokens.is_some()
        || call.usage.output_tokens.is_some()
        || !call.operation.is_inference()
    {
        return None;
    }
    let model = call.model().map_or("", |m| m.as_ref());
    let counter = Counter::for_model(&call.provider, model);
    let mut tally = Tally {
        counter,
        framing: counter.is_openai_chat_format() && call.operation == Operation::Chat,
        seen_content: false,
    };

    let mut input = 0u64;
    if !call.system_instructions.is_empty() {
        input += tally.parts(&call.system_instructions);
        input += tally.message_framing("system", None);
    }
    for message in &call.input_messages {
        input += tally.parts(&message.parts);
        input += tally.message_framing(&message.role, message.name.as_deref());
    }
    for tool in &call.tool_definitions {
        input += tally.name(&tool.name);
        input += tool.description.as_deref().map_or(0, |d| tally.content(d));
        input += tool.parameters.as_deref().map_or(0, |p| tally.content(p));
    }
    if tally.framing && !call.input_messages.is_empty() {
        input += OPENAI_REPLY_PRIMING;
    }
    let output: u64 = call
        .output_messages
        .iter()
        .map(|m| tally.parts(&m.parts))
        .sum();

    tally.seen_content.then_some(Usage {
        input_tokens: Some(input),
        output_tokens: Some(output),
        estimated: true,
        ..Usage::default()
    })
}

/// Sums token counts for one call and remembers whether any content was
/// seen: roles and tool names survive `capture_content = false`, so they
/// alone must not produce an estimate.
struct Tally {
    counter: Counter,
    framing: bool,
    seen_content: bool,
}

impl Tally {
    fn content(&mut self, text: &str) -> u64 {
        self.seen_content |= !text.is_empty();
        self.counter.count(text)
    }

    fn name(&self, text: &str) -> u64 {
        self.counter.count(text)
    }

    fn message_framing(&self, role: &str, name: Option<&str>) -> u64 {
        if !self.framing {
            return 0;
        }
        OPENAI_TOKENS_PER_MESSAGE
            + self.name(role)
            + name.map_or(0, |n| OPENAI_TOKENS_PER_NAME + self.name(n))
    }

    fn parts(&mut self, parts: &[Part]) -> u64 {
        parts.iter().map(|p| self.part(p)).sum()
    }

    fn part(&mut self, part: &Part) -> u64 {
        match part {
            Part::Text { content } | Part::Reasoning { content } => self.content(content),
            Part::ToolCall {
                name, arguments, ..
            } => self.name(name) + arguments.as_deref().map_or(0, |a| self.content(a)),
            Part::ToolCallResponse { response, .. } => self.content(response),
            // What the provider's tool did is not text the model read or wrote.
            Part::ServerToolCall { .. } | Part::ServerToolCallResponse { .. } => 0,
            Part::Uri { .. } | Part::Blob { .. } | Part::Other { .. } => 0,
        }
    }
}

/// BPE count in bounded chunks (see [`CHUNK_BYTES`], [`EXACT_BYTES`]).
/// `None` if the tokenizer panicked anyway, so the caller can fall back.
fn bpe_tokens(bpe: &CoreBPE, text: &str) -> Option<u64> {
    let exact_end = floor_char_boundary(text, EXACT_BYTES);
    let (head, rest) = text.split_at(exact_end);
    let mut tokens = 0u64;
    let mut remaining = head;
    while !remaining.is_empty() {
        let cut = chunk_end(remaining, CHUNK_BYTES);
        let (chunk, tail) = remaining.split_at(cut);
        let encoded =
            std::panic::catch_unwind(AssertUnwindSafe(|| bpe.encode_ordinary(chunk).len())).ok()?;
        tokens += encoded as u64;
        remaining = tail;
    }
    if !rest.is_empty() && !head.is_empty() {
        // Same token density as the counted prefix, rounded up.
        let scaled = (rest.len() as u128 * tokens as u128).div_ceil(head.len() as u128);
        tokens = tokens.saturating_add(u64::try_from(scaled).unwrap_or(u64::MAX));
    }
    Some(tokens)
}

/// End of the next chunk of at most `max` bytes. Preferred cut: before a
/// space or tab that follows non-whitespace, where tiktoken's pre-tokenizer
/// starts a piece anyway (` word`), so the count equals whole-text encoding.
/// (Not before a newline: `.\n` is one piece.) Else the start of any
/// whitespace run, else any char boundary; a chunk is never empty.
fn chunk_end(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    let limit = floor_char_boundary(text, max);
    let mut prev: Option<char> = None;
    let (mut clean, mut any_space) = (None, None);
    for (i, c) in text[..limit].char_indices() {
        if let Some(p) = prev
            && c.is_whitespace()
            && !p.is_whitespace()
        {
            any_space = Some(i);
            if c == ' ' || c == '\t' {
                clean = Some(i);
            }
        }
        prev = Some(c);
    }
    match clean.or(any_space) {
        Some(i) => i,
        None if limit > 0 => limit,
        // `max` is smaller than the first char: take that char whole.
        None => text.chars().next().map_or(text.len(), char::len_utf8),
    }
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    (0..=index)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// Character-ratio estimate for providers without an offline tokenizer:
/// Google documents "about 4 characters" per token for Gemini, Anthropic
/// "approximately 3.5 English characters" for Claude, and OpenAI's 4 is the
/// same rule of thumb for Latin-script text. Scripts written without spaces
/// (CJK ideographs, kana, hangul) run close to one token per character in
/// these tokenizers, so they count 1 each instead of being divided.
fn approx_tokens(text: &str, chars_per_token_x10: u64) -> u64 {
    let (mut dense, mut other) = (0u64, 0u64);
    for c in text.chars() {
        if is_dense_script(c) {
            dense += 1;
        } else {
            other += 1;
        }
    }
    dense + (other * 10).div_ceil(chars_per_token_x10)
}

fn is_dense_script(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FFFF  // CJK extensions B-F
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_cut_before_a_space_not_between_punctuation_and_newline() {
        let text = "ab. cd.\n\nef";
        // Both ` cd` (index 3) and `\n\nef` (index 7) fit in 9 bytes; cutting
        // at 7 would split the `.\n\n` piece.
        assert_eq!(chunk_end(text, 9), 3);
        assert_eq!(chunk_end("abcdefgh", 3), 3);
        assert_eq!(chunk_end("漢字", 1), 3);
        assert_eq!(chunk_end("short", 64), 5);
    }

    #[test]
    fn approximation_rounds_up_and_counts_dense_scripts_per_char() {
        assert_eq!(approx_tokens("", GENERIC_CHARS_X10), 0);
        assert_eq!(approx_tokens("a", GENERIC_CHARS_X10), 1);
        assert_eq!(approx_tokens("abcd", GENERIC_CHARS_X10), 1);
        assert_eq!(approx_tokens("こんにちは", GENERIC_CHARS_X10), 5);
        assert_eq!(approx_tokens("한국어", CLAUDE_CHARS_X10), 3);
    }
}
