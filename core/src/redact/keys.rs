//! Attribute and field names whose values are always masked (`api_key`,
//! `Authorization`, `password`...).
//!
//! A key is split into lower-case words (on punctuation and camelCase). It
//! matches a deny-list entry when consecutive words spell the entry, and every
//! word after them still names the secret itself (`_key`, `_value`, `_hash`).
//! So `openai_api_key`, `X-Api-Key`, `authToken` and `aws_secret_access_key`
//! match, while `max_tokens`, `token_count`, `gen_ai.usage.input_tokens`,
//! `secret_name` and `password_min_length` do not.

use aho_corasick::AhoCorasick;

/// Default deny-list.
pub const DEFAULT_MASKED_KEYS: &[&str] = &[
    "password",
    "secret",
    "api_key",
    "apikey",
    "authorization",
    "token",
    "cookie",
    "x-api-key",
    "set-cookie",
    "private_key",
    "client_secret",
    "access_token",
    "refresh_token",
];

/// Words that may follow a matched entry and still name the secret.
const SECRET_TAILS: &[&[u8]] = &[
    b"key",
    b"keys",
    b"value",
    b"secret",
    b"token",
    b"access",
    b"hash",
    b"data",
    b"header",
    b"str",
    b"string",
    b"raw",
    b"b64",
    b"base64",
    b"bytes",
    b"pem",
    b"der",
    b"confirm",
    b"confirmation",
    b"plain",
    b"plaintext",
    b"enc",
    b"encoded",
    b"encrypted",
    b"id",
    b"file",
];

const MAX_WORDS: usize = 12;
const MAX_KEY: usize = 128;

/// Matches field names against the deny-list without allocating.
#[derive(Debug, Clone)]
pub(crate) struct KeyMatcher {
    /// Entries as lower-case alphanumerics only (`x-api-key` -> `xapikey`),
    /// searched in the key's lower-case alphanumerics.
    entries: AhoCorasick,
    /// Length of the shortest entry: shorter keys cannot match.
    shortest: usize,
    /// The first three bytes of every entry, hashed into a bit set: a key
    /// that holds none of them cannot hold an entry, and most keys (`model`,
    /// `content`, `max_tokens`) are turned away here without the automaton.
    /// Unused (`None`) when an entry is shorter than three bytes.
    starts: Option<Box<[u64; TRIGRAM_WORDS]>>,
}

/// Bit set size of [`KeyMatcher::starts`], in 64-bit words (8,192 bits).
const TRIGRAM_WORDS: usize = 128;

/// Hash of three lower-case alphanumerics into the bit set.
#[inline]
fn trigram_bit(t: &[u8]) -> usize {
    let h = (usize::from(t[0]) * 37 + usize::from(t[1])) * 37 + usize::from(t[2]);
    h % (TRIGRAM_WORDS * 64)
}

/// Lower-case alphanumerics of an entry; empty if it has none.
pub(crate) fn normalize_entry(key: &str) -> Vec<u8> {
    key.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl KeyMatcher {
    /// `keys` must already be validated (each has at least one alphanumeric).
    pub(crate) fn new<S: AsRef<str>>(keys: &[S]) -> Result<Self, aho_corasick::BuildError> {
        let mut entries: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| normalize_entry(k.as_ref()))
            .filter(|e| !e.is_empty())
            .collect();
        entries.sort();
        entries.dedup();
        let starts = entries.iter().all(|e| e.len() >= 3).then(|| {
            let mut set = Box::new([0u64; TRIGRAM_WORDS]);
            for e in &entries {
                let bit = trigram_bit(&e[..3]);
                set[bit / 64] |= 1 << (bit % 64);
            }
            set
        });
        Ok(KeyMatcher {
            shortest: entries.iter().map(Vec::len).min().unwrap_or(usize::MAX),
            entries: AhoCorasick::new(&entries)?,
            starts,
        })
    }

    /// True when `key` names a value that must be masked.
    pub(crate) fn matches(&self, key: &[u8]) -> bool {
        if key.len() < self.shortest || key.len() > MAX_KEY {
            return false;
        }
        // Cheap rejection first: most keys (`role`, `content`, `model`) hold
        // no entry anywhere in their lower-case alphanumerics.
        let mut norm = [0u8; MAX_KEY];
        let mut len = 0;
        for &c in key.iter().filter(|c| c.is_ascii_alphanumeric()) {
            norm[len] = c.to_ascii_lowercase();
            len += 1;
        }
        let norm = &norm[..len];
        if len < self.shortest {
            return false;
        }
        if let Some(set) = &self.starts
            && !norm.windows(3).any(|t| {
                let bit = trigram_bit(t);
                set[bit / 64] & (1 << (bit % 64)) != 0
            })
        {
            return false;
        }
        // One automaton pass: the words are split only once an entry is found.
        let mut found = self.entries.find_overlapping_iter(norm).peekable();
        if found.peek().is_none() {
            return false;
        }
        // Every alphanumeric byte belongs to exactly one word, so the words
        // laid end to end are `norm`; `bounds` are their offsets in it.
        let mut words = [(0usize, 0usize); MAX_WORDS];
        let n = split_words(key, &mut words);
        let words = &words[..n];
        let mut bounds = [(0usize, 0usize); MAX_WORDS];
        let mut at = 0;
        for (b, &(s, e)) in bounds.iter_mut().zip(words) {
            *b = (at, at + e - s);
            at += e - s;
        }
        let bounds = &bounds[..n];
        found.any(|m| {
            // The entry must end where a word ends...
            let Some(last) = bounds.iter().position(|&(_, e)| e == m.end()) else {
                return false;
            };
            // ...and start where a word starts, or be a long suffix of one
            // word (`openaiapikey`, `clientsecret`).
            let aligned = bounds.iter().any(|&(s, _)| s == m.start());
            let suffix = m.len() >= 6 && bounds[last].0 < m.start();
            (aligned || suffix) && tail_ok(key, &words[last + 1..])
        })
    }
}

fn tail_ok(key: &[u8], rest: &[(usize, usize)]) -> bool {
    rest.iter().all(|&(s, e)| {
        let w = &key[s..e];
        w.iter().all(u8::is_ascii_digit)
            || (w.len() >= 2 && (w[0] | 0x20) == b'v' && w[1..].iter().all(u8::is_ascii_digit))
            || SECRET_TAILS.iter().any(|t| t.eq_ignore_ascii_case(w))
    })
}

/// Splits on non-alphanumerics and camelCase (`APIKey` -> `API`, `Key`).
fn split_words(key: &[u8], out: &mut [(usize, usize); MAX_WORDS]) -> usize {
    let mut n = 0;
    let mut start: Option<usize> = None;
    for i in 0..=key.len() {
        let c = key.get(i).copied().unwrap_or(b' ');
        let boundary = if !c.is_ascii_alphanumeric() {
            true
        } else if let Some(s) = start {
            let p = key[i - 1];
            let lower_to_upper = p.is_ascii_lowercase() && c.is_ascii_uppercase();
            let acronym_end = p.is_ascii_uppercase()
                && c.is_ascii_uppercase()
                && key.get(i + 1).is_some_and(u8::is_ascii_lowercase)
                && i > s;
            lower_to_upper || acronym_end
        } else {
            false
        };
        if boundary && let Some(s) = start.take() {
            if n == MAX_WORDS {
                return n;
            }
            out[n] = (s, i);
            n += 1;
        }
        if c.is_ascii_alphanumeric() && start.is_none() {
            start = Some(i);
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_list_masks_secrets_not_counts() {
        let m = KeyMatcher::new(DEFAULT_MASKED_KEYS).expect("builds");
        for k in [
            "password",
            "PASSWORD",
            "db_password",
            "api_key",
            "openai_api_key",
            "X-Api-Key",
            "x-api-key",
            "apiKey",
            "APIKey",
            "OPENAI_API_KEY",
            "openaiapikey",
            "auth_token",
            "authToken",
            "access_token",
            "refresh_token",
            "Authorization",
            "http.request.header.authorization",
            "proxy-authorization",
            "cookie",
            "Set-Cookie",
            "client_secret",
            "clientSecret",
            "aws_secret_access_key",
            "SecretAccessKey",
            "secret_key",
            "private_key",
            "privateKeyPem",
            "x-goog-api-key",
            "api_key_v2",
            "password_hash",
            "session_token",
            "token",
        ] {
            assert!(m.matches(k.as_bytes()), "{k} should be masked");
        }
        for k in [
            "tokens",
            "max_tokens",
            "maxTokens",
            "gen_ai.usage.input_tokens",
            "token_count",
            "llm.token_count.prompt",
            "tokenizer",
            "token_type",
            "secret_name",
            "secretName",
            "password_min_length",
            "cookie_consent",
            "key",
            "monkey",
            "api_version",
            "passwordless",
            "input_tokens_details",
            "gen_ai.request.max_tokens",
            "token_ids",
        ] {
            assert!(!m.matches(k.as_bytes()), "{k} should not be masked");
        }
    }

    #[test]
    fn split_words_handles_camel_and_acronyms() {
        let mut w = [(0, 0); MAX_WORDS];
        let key = b"myAPIKey_v2";
        let n = split_words(key, &mut w);
        let words: Vec<&str> = w[..n]
            .iter()
            .map(|&(s, e)| std::str::from_utf8(&key[s..e]).unwrap_or(""))
            .collect();
        assert_eq!(words, ["my", "API", "Key", "v2"]);
    }
}
