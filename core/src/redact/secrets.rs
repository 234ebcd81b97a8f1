//! Provider keys and tokens recognised by their own format: the prefixes
//! (`sk-`, `AKIA`, `ghp_`, `eyJ`, `-----BEGIN `...) are found from an anchor
//! byte or pair inside each of them (see [`anchor`]), then a per-format check
//! reads the body and rejects placeholders such as `sk-xxxxxxxx` or
//! `Bearer YOUR_TOKEN`.

use memchr::memmem;

use super::scan::{Finder, V, at, glued_before, holds_at, is_word};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// OpenAI `sk-`, `sk-proj-`, `sk-svcacct-`, Anthropic `sk-ant-`, DeepSeek, OpenRouter.
    DashKey,
    /// Stripe `sk_live_`, `rk_test_`..., webhook secrets `whsec_`.
    Stripe,
    /// Google API keys `AIza` + 35.
    Google,
    /// AWS access key ids `AKIA`/`ASIA` + 16.
    AwsKeyId,
    /// GitHub `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`; Hugging Face `hf_`; npm `npm_`; Groq `gsk_`.
    Underscored,
    /// GitHub fine-grained `github_pat_`, GitLab `glpat-`.
    LongPat,
    /// Slack `xoxb-`, `xoxp-`... and app tokens `xapp-`.
    Slack,
    /// Slack / Discord webhook URLs: the path is the secret.
    WebhookPath,
    /// `eyJ...` header.payload.signature.
    Jwt,
    /// `-----BEGIN ... PRIVATE KEY-----` blocks.
    Pem,
    /// `Bearer <token>`: keep the word.
    Bearer,
    /// `scheme://user:password@host`.
    UrlPassword,
}

const PATTERNS: &[(&str, Format)] = &[
    ("sk-", Format::DashKey),
    ("sk_live_", Format::Stripe),
    ("sk_test_", Format::Stripe),
    ("rk_live_", Format::Stripe),
    ("rk_test_", Format::Stripe),
    ("whsec_", Format::Stripe),
    ("AIza", Format::Google),
    ("AKIA", Format::AwsKeyId),
    ("ASIA", Format::AwsKeyId),
    ("ghp_", Format::Underscored),
    ("gho_", Format::Underscored),
    ("ghu_", Format::Underscored),
    ("ghs_", Format::Underscored),
    ("ghr_", Format::Underscored),
    ("hf_", Format::Underscored),
    ("npm_", Format::Underscored),
    ("gsk_", Format::Underscored),
    ("github_pat_", Format::LongPat),
    ("glpat-", Format::LongPat),
    ("xoxb-", Format::Slack),
    ("xoxp-", Format::Slack),
    ("xoxa-", Format::Slack),
    ("xoxr-", Format::Slack),
    ("xoxs-", Format::Slack),
    ("xoxe-", Format::Slack),
    ("xapp-", Format::Slack),
    ("hooks.slack.com/services/", Format::WebhookPath),
    ("hooks.slack.com/workflows/", Format::WebhookPath),
    ("hooks.slack.com/triggers/", Format::WebhookPath),
    ("discord.com/api/webhooks/", Format::WebhookPath),
    ("discordapp.com/api/webhooks/", Format::WebhookPath),
    ("eyJ", Format::Jwt),
    ("-----BEGIN ", Format::Pem),
    ("Bearer ", Format::Bearer),
    ("bearer ", Format::Bearer),
    ("BEARER ", Format::Bearer),
    ("://", Format::UrlPassword),
];

/// Whether a position (given with the three bytes before it) can be a
/// pattern's anchor: punctuation that most prefixes hold (`-`, `_`, `/`,
/// `:`), letter pairs rare in prose for the prefixes made of letters
/// (`eyJ`'s `yJ`, `AIza`'s `Iz`, `AKIA`'s and `ASIA`'s `IA`), and `arer` in
/// any case for `Bearer `. Clean prose holds few anchors, so the scan skips
/// most of the text sixteen bytes at a time and never runs an automaton.
#[inline(always)]
fn anchor(p3: V, p2: V, p1: V, c: V) -> V {
    let single = c.eq(b'-').or(c.eq(b'_')).or(c.eq(b'/')).or(c.eq(b':'));
    let pair = p1
        .eq(b'y')
        .and(c.eq(b'J'))
        .or(p1.eq(b'I').and(c.eq(b'z').or(c.eq(b'A'))));
    let arer = p3
        .lower()
        .eq(b'a')
        .and(p2.lower().eq(b'r'))
        .and(p1.lower().eq(b'e'))
        .and(c.lower().eq(b'r'));
    single.or(pair).or(arer)
}

/// The first offset in `pat` that is an anchor by the pattern's own bytes
/// alone (the bytes before the pattern replaced by every possible value
/// would be too many; zeros stand for "unknown", and no anchor that looks
/// back past the pattern's start is taken), so that every occurrence of
/// `pat` in a text has an anchor there.
fn anchor_offset(pat: &[u8]) -> Option<usize> {
    (0..pat.len()).find(|&k| {
        // The anchor must hold whatever precedes the pattern: try the
        // pattern after a byte that completes no pair or `arer`, and alone.
        let alone = holds_at(pat, k, anchor);
        let mut shifted = vec![b'I', b'y', b'a', b'r', b'e'];
        let n = shifted.len();
        shifted.extend_from_slice(pat);
        let after_letters = holds_at(&shifted, n + k, anchor);
        let mut plain = vec![b'.', b'.', b'.'];
        plain.extend_from_slice(pat);
        alone && after_letters && holds_at(&plain, 3 + k, anchor)
    })
}

/// One pattern reached from its anchor byte: the anchor sits `offset` bytes
/// into pattern `index`.
#[derive(Debug, Clone, Copy)]
struct Anchored {
    offset: usize,
    index: usize,
    /// The pattern's bytes before (unused at offset 0) and after the anchor
    /// (`None` when the anchor ends the pattern).
    around: (u8, Option<u8>),
}

/// The bytes that may sit either side of one anchor byte in some pattern:
/// most anchors in text (the dashes of a date, `max_tokens`, `"role": `)
/// have neighbours no pattern has, and are passed over in two bit tests
/// instead of a walk over that byte's patterns.
#[derive(Debug, Clone, Copy, Default)]
struct Near {
    before: [u64; 4],
    after: [u64; 4],
}

impl Near {
    fn set(bits: &mut [u64; 4], c: Option<u8>) {
        match c {
            Some(c) => bits[usize::from(c >> 6)] |= 1 << (c & 63),
            None => *bits = [u64::MAX; 4],
        }
    }

    #[inline(always)]
    fn admits(&self, before: u8, after: u8) -> bool {
        let has = |bits: &[u64; 4], c: u8| bits[usize::from(c >> 6)] & (1 << (c & 63)) != 0;
        has(&self.before, before) && has(&self.after, after)
    }
}

/// Finds the patterns from their anchors; built once per `Redactor`.
#[derive(Debug, Clone)]
pub(crate) struct SecretScanner {
    /// Patterns by anchor byte: `by_byte[c]` is a range of `anchored` and
    /// the index of the byte's [`Near`].
    by_byte: [(u16, u16, u8); 256],
    near: Vec<Near>,
    anchored: Vec<Anchored>,
    /// The largest anchor offset: how far past a pattern's start its anchor may lie.
    max_offset: usize,
}

/// A pattern without an anchor: a new prefix that [`anchor`] does not cover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret prefix {0:?} has no anchor byte")]
pub(crate) struct NoAnchor(pub &'static str);

impl SecretScanner {
    pub(crate) fn new() -> Result<Self, NoAnchor> {
        let mut anchored: Vec<(u8, Anchored)> = Vec::with_capacity(PATTERNS.len());
        for (index, (pat, _)) in PATTERNS.iter().enumerate() {
            let offset = anchor_offset(pat.as_bytes()).ok_or(NoAnchor(pat))?;
            let p = pat.as_bytes();
            anchored.push((
                p[offset],
                Anchored {
                    offset,
                    index,
                    around: (
                        if offset > 0 { p[offset - 1] } else { 0 },
                        p.get(offset + 1).copied(),
                    ),
                },
            ));
        }
        anchored.sort_by_key(|(c, a)| (*c, a.index));
        let mut by_byte = [(0u16, 0u16, 0u8); 256];
        let mut near: Vec<Near> = Vec::new();
        for (i, (c, a)) in anchored.iter().enumerate() {
            let slot = &mut by_byte[usize::from(*c)];
            if slot.1 == 0 {
                slot.0 = i as u16;
                slot.2 = near.len() as u8;
                near.push(Near::default());
            }
            slot.1 = i as u16 + 1;
            let n = &mut near[usize::from(slot.2)];
            Near::set(&mut n.before, (a.offset > 0).then_some(a.around.0));
            Near::set(&mut n.after, a.around.1);
        }
        Ok(SecretScanner {
            by_byte,
            near,
            max_offset: anchored.iter().map(|(_, a)| a.offset).max().unwrap_or(0),
            anchored: anchored.into_iter().map(|(_, a)| a).collect(),
        })
    }

    /// The leftmost (then longest) pattern occurrence starting at or after
    /// `pos`: `(start, pattern index)`. The same answer as a leftmost-longest
    /// automaton over the patterns, found from the anchors.
    fn next_match(
        &self,
        b: &[u8],
        pos: usize,
        anchors: &mut Finder<impl Fn(V, V, V, V) -> V + Copy>,
    ) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        let mut a = pos;
        loop {
            a = anchors.find(b, a);
            if a >= b.len() {
                break;
            }
            // An anchor further on belongs to a pattern starting after `best`.
            if best.is_some_and(|(s, _)| a > s + self.max_offset) {
                break;
            }
            let (lo, hi, near) = self.by_byte[usize::from(b[a])];
            let around = (at(b, a.wrapping_sub(1)), at(b, a + 1));
            if lo == hi || !self.near[usize::from(near)].admits(around.0, around.1) {
                a += 1;
                continue;
            }
            for &Anchored {
                offset,
                index,
                around: want,
            } in &self.anchored[usize::from(lo)..usize::from(hi)]
            {
                // The bytes either side of the anchor rule out most anchors
                // (`well-known`, `max_tokens`, `"role": `) in two compares.
                if (offset > 0 && around.0 != want.0) || want.1.is_some_and(|c| around.1 != c) {
                    continue;
                }
                let Some(s) = a.checked_sub(offset).filter(|&s| s >= pos) else {
                    continue;
                };
                let pat = PATTERNS[index].0.as_bytes();
                let better = best
                    .is_none_or(|(bs, bi)| s < bs || (s == bs && pat.len() > PATTERNS[bi].0.len()));
                if better && b[s] == pat[0] && b[s..].starts_with(pat) {
                    best = Some((s, index));
                }
            }
            a += 1;
        }
        best
    }

    /// Appends `[start, end)` of each secret found in `b`.
    pub(crate) fn scan(&self, b: &[u8], out: &mut impl FnMut(usize, usize)) {
        let mut anchors = Finder::new(anchor);
        let mut pos = 0;
        while pos < b.len() {
            let Some((start, index)) = self.next_match(b, pos, &mut anchors) else {
                break;
            };
            let (pat, format) = PATTERNS[index];
            let end = start + pat.len();
            match check(b, start, end, format) {
                Some((s, e)) => {
                    out(s, e);
                    pos = e.max(end);
                }
                None => pos = start + 1,
            }
        }
    }
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

fn run_end(b: &[u8], mut i: usize, ok: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && ok(b[i]) {
        i += 1;
    }
    i
}

/// Random-looking: has a digit and enough distinct characters. Rejects
/// `sk-xxxxxxxxxxxxxxxxxxxx`, `sk-your-key-goes-here-please`.
fn looks_random(body: &[u8], min_distinct: usize) -> bool {
    if !body.iter().any(u8::is_ascii_digit) {
        return false;
    }
    let mut seen = [false; 128];
    let mut distinct = 0;
    for &c in body {
        if c.is_ascii_alphanumeric() && !seen[c as usize] {
            seen[c as usize] = true;
            distinct += 1;
        }
    }
    distinct >= min_distinct
}

fn check(b: &[u8], s: usize, pe: usize, format: Format) -> Option<(usize, usize)> {
    match format {
        Format::UrlPassword => return url_password(b, s),
        Format::Pem => return pem(b, s, pe),
        Format::WebhookPath => {
            let e = run_end(b, pe, |c| {
                c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-')
            });
            return (e - pe >= 20 && looks_random(&b[pe..e], 8)).then_some((pe, e));
        }
        _ => {}
    }
    // Every other format starts a token: nothing word-like may be glued before
    // it (`task-...`); a JWT inside a base64 blob is part of the blob.
    if glued_before(b, s)
        || (format == Format::Jwt && s > 0 && matches!(b[s - 1], b'-' | b'.' | b'/' | b'+'))
    {
        return None;
    }
    match format {
        Format::DashKey => {
            let e = run_end(b, pe, is_b64url);
            (e - pe >= 20 && looks_random(&b[pe..e], 10)).then_some((s, e))
        }
        Format::Stripe => {
            let e = run_end(b, pe, |c| c.is_ascii_alphanumeric());
            (e - pe >= 16 && !word_after_token(b, e) && looks_random(&b[pe..e], 8))
                .then_some((s, e))
        }
        Format::Google => {
            let e = run_end(b, pe, is_b64url);
            ((30..=40).contains(&(e - pe)) && looks_random(&b[pe..e], 10)).then_some((s, e))
        }
        Format::AwsKeyId => {
            let e = run_end(b, pe, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
            (e - pe == 16 && !is_word(at(b, e)) && looks_random_upper(&b[pe..e])).then_some((s, e))
        }
        Format::Underscored => {
            let e = run_end(b, pe, |c| c.is_ascii_alphanumeric());
            (e - pe >= 30 && !word_after_token(b, e) && mixed(&b[pe..e])).then_some((s, e))
        }
        Format::LongPat => {
            let e = run_end(b, pe, is_b64url);
            (e - pe >= 20 && looks_random(&b[pe..e], 10)).then_some((s, e))
        }
        Format::Slack => {
            let e = run_end(b, pe, |c| c.is_ascii_alphanumeric() || c == b'-');
            (e - pe >= 10 && looks_random(&b[pe..e], 6)).then_some((s, e))
        }
        Format::Jwt => jwt(b, s),
        Format::Bearer => bearer(b, pe),
        Format::UrlPassword | Format::WebhookPath | Format::Pem => None,
    }
}

fn word_after_token(b: &[u8], e: usize) -> bool {
    at(b, e) == b'_'
}

/// Mixed letters and digits with enough variety (GitHub/HF/npm tokens).
fn mixed(body: &[u8]) -> bool {
    looks_random(body, 10) && body.iter().any(u8::is_ascii_alphabetic)
}

/// AWS ids are base32 upper-case; a placeholder like `AKIAXXXXXXXXXXXXXXXX` has no variety.
fn looks_random_upper(body: &[u8]) -> bool {
    let mut seen = [false; 128];
    body.iter()
        .filter(|&&c| !std::mem::replace(&mut seen[c as usize & 127], true))
        .count()
        >= 6
}

/// `eyJ<header>.<payload>.<signature>` (and the unsigned `eyJ...eyJ....` form):
/// masks all segments, never just header and payload.
fn jwt(b: &[u8], s: usize) -> Option<(usize, usize)> {
    let h = run_end(b, s, is_b64url);
    if h - s < 10 || at(b, h) != b'.' {
        return None;
    }
    let p = run_end(b, h + 1, is_b64url);
    if p - (h + 1) < 10 {
        return None;
    }
    let mut end = p;
    // Signature (may be empty for alg=none), then JWE's extra segments.
    let mut segments = 2;
    while at(b, end) == b'.' && segments < 5 {
        let e = run_end(b, end + 1, is_b64url);
        // Only the signature may be empty (alg=none), never a sentence's full stop.
        if e == end + 1
            && (segments > 2 || b[h + 1..p].len() < 10 || is_word(at(b, e)) || at(b, e) == b' ')
        {
            break;
        }
        end = e;
        segments += 1;
    }
    (segments >= 3 || b[h + 1..].starts_with(b"eyJ")).then_some((s, end))
}

/// A PEM private key block, through its END line; to the end of the text if
/// the END line is missing (a truncated key is still a key).
fn pem(b: &[u8], s: usize, pe: usize) -> Option<(usize, usize)> {
    let label_end = pe + memmem::find(b.get(pe..(pe + 64).min(b.len()))?, b"-----")?;
    let label = &b[pe..label_end];
    memmem::find(label, b"PRIVATE KEY")?;
    let rest = &b[label_end + 5..];
    let Some(end_at) = memmem::find(rest, b"-----END ") else {
        return Some((s, b.len()));
    };
    let after = label_end + 5 + end_at + 9;
    let close = memmem::find(b.get(after..(after + 64).min(b.len()))?, b"-----")
        .map_or(b.len(), |i| after + i + 5);
    Some((s, close))
}

/// `Bearer <token>`: the token only.
fn bearer(b: &[u8], pe: usize) -> Option<(usize, usize)> {
    let s = run_end(b, pe, |c| c == b' ');
    let e = run_end(b, s, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
    });
    let t = &b[s..e];
    let digit = t.iter().any(u8::is_ascii_digit);
    let upper = t.iter().any(u8::is_ascii_uppercase);
    let lower = t.iter().any(u8::is_ascii_lowercase);
    let ok = (t.len() >= 8 && digit) || (t.len() >= 20 && upper && lower);
    (ok && !is_word(at(b, e))).then_some((s, e))
}

/// `scheme://user:password@host`: the password only.
fn url_password(b: &[u8], colon_slash: usize) -> Option<(usize, usize)> {
    // A scheme must precede `://`.
    if colon_slash == 0 || !b[colon_slash - 1].is_ascii_alphanumeric() {
        return None;
    }
    // The authority runs to the first `/`; raw DSN passwords may hold `#`, `$`,
    // `?` and even `@`, so the host starts after the *last* `@`.
    let start = colon_slash + 3;
    let mut end = start;
    while end < b.len()
        && end - start < 256
        && !matches!(
            b[end],
            b'/' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`'
        )
    {
        end += 1;
    }
    let authority = &b[start..end];
    let i = start + memchr::memrchr(b'@', authority)?;
    let colon = start + memchr::memchr(b':', &b[start..i])?;
    if i == colon + 1 {
        return None;
    }
    let pw = &b[colon + 1..i];
    let placeholder =
        matches!(pw[0], b'$' | b'<' | b'{' | b'*' | b'[' | b'%') || pw.iter().all(|&c| c == pw[0]);
    (!placeholder).then_some((colon + 1, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<String> {
        let sc = SecretScanner::new().expect("automaton builds");
        let mut v = Vec::new();
        sc.scan(s.as_bytes(), &mut |a, e| v.push(s[a..e].to_string()));
        v
    }

    #[test]
    fn provider_formats() {
        let key = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_AbCdEf-GhIj";
        assert_eq!(found(&format!("OPENAI_API_KEY={key}")), [key]);
        let ant = "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa-AAAA";
        assert_eq!(found(&format!("{{\\\"key\\\": \\\"{ant}\\\"}}")), [ant]);
        assert_eq!(found("AKIAIOSFODNN7EXAMPLE,"), ["AKIAIOSFODNN7EXAMPLE"]);
        assert_eq!(
            found("key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY&x"),
            ["AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"]
        );
        assert_eq!(
            found("ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ"),
            ["ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ"]
        );
        assert_eq!(
            found("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
            ["xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"]
        );
        assert_eq!(
            found("sk_live_51HxYzAbC123dEf456GhI789"),
            ["sk_live_51HxYzAbC123dEf456GhI789"]
        );
        assert_eq!(
            found("https://hooks.slack.com/services/T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX"),
            ["T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX"]
        );
        assert_eq!(
            found("Authorization: Bearer abc.def-123_XYZ"),
            ["abc.def-123_XYZ"]
        );
        assert_eq!(
            found("postgres://app:s3cr3t-pw@db.internal:5432/app"),
            ["s3cr3t-pw"]
        );
        assert_eq!(
            found("postgresql://svc:Xk9#mP2$v@L@db:5432/orders"),
            ["Xk9#mP2$v@L"]
        );
    }

    /// The scan before anchors: a leftmost-longest automaton over the
    /// patterns, the same checks. The anchored scan must find exactly the same.
    fn found_by_automaton(ac: &aho_corasick::AhoCorasick, b: &[u8]) -> Vec<(usize, usize)> {
        use aho_corasick::Input;
        let mut v = Vec::new();
        let mut pos = 0;
        while pos < b.len() {
            let Some(m) = ac.find(Input::new(b).span(pos..b.len())) else {
                break;
            };
            match check(b, m.start(), m.end(), PATTERNS[m.pattern().as_usize()].1) {
                Some((s, e)) => {
                    v.push((s, e));
                    pos = e.max(m.end());
                }
                None => pos = m.start() + 1,
            }
        }
        v
    }

    #[test]
    fn every_prefix_has_an_anchor_and_none_is_a_prefix_of_another() {
        for (p, _) in PATTERNS {
            assert!(anchor_offset(p.as_bytes()).is_some(), "{p}");
            for (q, _) in PATTERNS {
                assert!(p == q || !q.starts_with(p), "{p} / {q}");
            }
        }
    }

    #[test]
    fn anchored_scan_finds_what_an_automaton_finds() {
        let sc = SecretScanner::new().expect("anchors");
        let ac = aho_corasick::AhoCorasickBuilder::new()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(PATTERNS.iter().map(|(p, _)| p))
            .expect("automaton builds");
        let pieces: Vec<&str> = PATTERNS
            .iter()
            .map(|(p, _)| *p)
            .chain([
                "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
                "IOSFODNN7EXAMPLE",
                "hbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3",
                "user:pw1234@host/",
                "PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
                " ",
                "\n",
                "-",
                "_",
                "a",
                "9",
                ".",
                "/",
                "=",
                "\"",
                "clearer",
                "TOKEN",
                "é",
            ])
            .collect();
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..20_000 {
            let n = rng.usize(1..24);
            let text: String = (0..n)
                .map(|_| *rng.choice(pieces.iter()).unwrap_or(&" "))
                .collect();
            let mut got = Vec::new();
            sc.scan(text.as_bytes(), &mut |s, e| got.push((s, e)));
            assert_eq!(got, found_by_automaton(&ac, text.as_bytes()), "{text:?}");
        }
    }

    #[test]
    fn jwt_keeps_no_segment() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(found(&format!("token: {jwt}.")), [jwt]);
    }

    #[test]
    fn pem_with_json_escapes() {
        let pem =
            r"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7\n-----END RSA PRIVATE KEY-----";
        assert_eq!(found(&format!(r#"{{"key": "{pem}\n"}}"#)), [pem]);
        assert!(found("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_empty());
    }

    #[test]
    fn placeholders_and_prose() {
        for s in [
            "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "sk-your-openai-key-goes-here",
            "task-1234567890abcdefghijk",
            "Bearer YOUR_TOKEN_HERE",
            "the Bearer token is sent in a header",
            "AKIAXXXXXXXXXXXXXXXX",
            "pk_live_51HxYzAbC123dEf456GhI789",
            "https://example.com/path",
            "postgres://app:${DB_PASSWORD}@db:5432/app",
            "eyJzdWIiOiAiMSJ9 is base64 JSON",
        ] {
            assert!(found(s).is_empty(), "{s}: {:?}", found(s));
        }
    }
}
