//! Secrets written next to their name: `api_key="..."`, `"password": "..."`,
//! `\"token\": \"...\"` inside JSON-encoded messages, `Authorization: Basic ...`
//! header lines, `aws_secret_access_key = ...` in config files, `?api_key=` in URLs.
//!
//! Runs at each `:` and `=`: the name to the left goes through the same
//! deny-list as attribute keys; the value to the right is masked when it looks
//! like a literal secret rather than a variable, a placeholder or a number.

use super::keys::KeyMatcher;
use super::scan::{at, contains_ci, is_word, starts_with_ci};

/// Query parameters that carry credentials (`?key=AIza...`, `&sig=...`).
const URL_PARAM_KEYS: &[&[u8]] = &[
    b"key",
    b"sig",
    b"signature",
    b"code",
    b"x-amz-signature",
    b"x-amz-security-token",
    b"x-amz-credential",
];

/// Headers whose whole line is a credential.
const HEADER_KEYS: &[&[u8]] = &[
    b"authorization",
    b"proxy-authorization",
    b"cookie",
    b"set-cookie",
    b"x-api-key",
];

/// Authorization schemes kept in clear before the credential.
const AUTH_SCHEMES: &[&[u8]] = &[
    b"bearer",
    b"basic",
    b"token",
    b"digest",
    b"bot",
    b"negotiate",
    b"apikey",
    b"aws4-hmac-sha256",
];

/// Always-secret names that are not on the user-editable list.
const BUILTIN_KEYS: &[&[u8]] = &[
    b"aws_secret_access_key",
    b"secret_access_key",
    b"aws_session_token",
];

/// A header line whose whole value is masked, and how to tell it from prose.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Header {
    No,
    /// `Cookie:` / `Set-Cookie:`: the value has `name=value` pairs.
    Cookie,
    /// `Authorization:`, `X-Api-Key:`: the credential looks like a token.
    Credential,
}

/// A value to mask: `[start, end)`.
pub(crate) type Span = (usize, usize);

/// Checks the separator at `p` (`:` or `=`); returns the value span to mask.
pub(crate) fn match_at(b: &[u8], p: usize, keys: &KeyMatcher) -> Option<Span> {
    let sep = b[p];
    let next = at(b, p + 1);
    // Comparisons, paths and `::` are not assignments.
    if (sep == b'=' && next == b'=')
        || (sep == b':' && next == b':')
        || (p > 0 && matches!(b[p - 1], b'=' | b'!' | b'<' | b'>' | b':'))
    {
        return None;
    }
    let (ks, ke) = key_before(b, p)?;
    let key = &b[ks..ke];
    let in_url = sep == b'=' && ks > 0 && matches!(b[ks - 1], b'?' | b'&');
    let named = keys.matches(key)
        || BUILTIN_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
        || (in_url && URL_PARAM_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)));
    if !named {
        return None;
    }
    let line_start = ks == 0
        || matches!(b[ks - 1], b'\n' | b'\r')
        || (ks >= 2 && b[ks - 2] == b'\\' && matches!(b[ks - 1], b'n' | b'r'));
    let header = match sep == b':'
        && line_start
        && HEADER_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
    {
        false => Header::No,
        true if contains_ci(key, b"cookie") => Header::Cookie,
        true => Header::Credential,
    };
    value_after(b, p, header)
}

/// The name ending right before separator `p`, skipping spaces and a closing quote.
fn key_before(b: &[u8], p: usize) -> Option<Span> {
    let mut k = p;
    let mut spaces = 0;
    while k > 0 && b[k - 1] == b' ' && spaces < 4 {
        k -= 1;
        spaces += 1;
    }
    // `headers["x-api-key"] = ...`
    if k >= 2 && b[k - 1] == b']' && matches!(b[k - 2], b'"' | b'\'') {
        k -= 1;
    }
    if k > 0 && matches!(b[k - 1], b'"' | b'\'' | b'`') {
        k -= 1;
        while k > 0 && b[k - 1] == b'\\' {
            k -= 1;
        }
    }
    let ke = k;
    while k > 0 && (is_word(b[k - 1]) || matches!(b[k - 1], b'-' | b'.')) && ke - k < 96 {
        k -= 1;
    }
    (k < ke).then_some((k, ke))
}

/// The value after separator `p`.
fn value_after(b: &[u8], p: usize, header: Header) -> Option<Span> {
    let mut i = p + 1;
    if matches!(at(b, i), b'=' | b'>') {
        i += 1; // `:=`, `=>`
    }
    let mut spaces = 0;
    while at(b, i) == b' ' && spaces < 4 {
        i += 1;
        spaces += 1;
    }
    // Opening quote, possibly escaped (`\"` inside a JSON-encoded string).
    let q0 = i;
    while at(b, i) == b'\\' {
        i += 1;
    }
    let quote = at(b, i);
    if matches!(quote, b'"' | b'\'' | b'`') {
        let escapes = i - q0;
        let vs = i + 1;
        if let Some(ve) = closing_quote(b, vs, quote, escapes) {
            let (vs, ve) = skip_scheme(b, vs, ve);
            let v = &b[vs..ve];
            return (plausible_quoted(v) && !followed_by_code(b, ve)).then_some((vs, ve));
        }
        return None;
    }
    if i != q0 {
        return None; // a lone backslash
    }
    let vs = i;
    let mut ve = i;
    if header != Header::No {
        while ve < b.len()
            && !matches!(b[ve], b'\n' | b'\r')
            && !(b[ve] == b'\\' && matches!(at(b, ve + 1), b'n' | b'r' | b'"'))
            && b[ve] != b'"'
        {
            ve += 1;
        }
        while ve > vs && b[ve - 1] == b' ' {
            ve -= 1;
        }
        let (vs, ve) = skip_scheme(b, vs, ve);
        let v = &b[vs..ve];
        let first_token = v.split(|&c| c == b' ').next().unwrap_or(v);
        let looks_real = match header {
            Header::Cookie => v.contains(&b'=') && !is_placeholder(v),
            _ => plausible_bare(first_token),
        };
        return looks_real.then_some((vs, ve));
    }
    while ve < b.len()
        && !matches!(
            b[ve],
            b' ' | b'\t'
                | b'\n'
                | b'\r'
                | b','
                | b';'
                | b'&'
                | b'"'
                | b'\''
                | b'`'
                | b')'
                | b'('
                | b'}'
                | b'{'
                | b']'
                | b'['
                | b'<'
                | b'>'
                | b'\\'
                | b'|'
        )
    {
        ve += 1;
    }
    if followed_by_code(b, ve) {
        return None;
    }
    // Trailing sentence punctuation is not part of the value.
    while ve > vs && matches!(b[ve - 1], b'.' | b':' | b'!' | b'?') {
        ve -= 1;
    }
    let (vs, ve) = skip_scheme(b, vs, ve);
    plausible_bare(&b[vs..ve]).then_some((vs, ve))
}

/// End of a quoted value: the same quote with the same escaping as the opening one.
fn closing_quote(b: &[u8], vs: usize, quote: u8, escapes: usize) -> Option<usize> {
    const MAX_VALUE: usize = 8192;
    let mut i = vs;
    while i < b.len() && i - vs < MAX_VALUE {
        if b[i] == quote {
            let mut n = 0;
            while n < i - vs && b[i - 1 - n] == b'\\' {
                n += 1;
            }
            if n == escapes {
                return Some(i - escapes);
            }
        }
        if b[i] == b'\n' && quote != b'`' {
            return None;
        }
        i += 1;
    }
    None
}

/// `Bearer xyz` / `Basic xyz`: keep the scheme word, mask the credential.
fn skip_scheme(b: &[u8], vs: usize, ve: usize) -> (usize, usize) {
    let v = &b[vs..ve];
    for s in AUTH_SCHEMES {
        if starts_with_ci(v, s) && v.get(s.len()) == Some(&b' ') {
            let mut i = vs + s.len();
            while i < ve && b[i] == b' ' {
                i += 1;
            }
            return (i, ve);
        }
    }
    (vs, ve)
}

/// `api_key=get_key()`, `token=self.token.strip()`: a call or attribute, not a literal.
fn followed_by_code(b: &[u8], ve: usize) -> bool {
    matches!(at(b, ve), b'(' | b'[')
}

fn is_placeholder(v: &[u8]) -> bool {
    let Some(&first) = v.first() else { return true };
    if matches!(first, b'$' | b'<' | b'{' | b'%' | b'*' | b'[') || v.starts_with(b"...") {
        return true;
    }
    if v.iter().all(|&c| c == first)
        || v.iter().all(|c| {
            matches!(
                c,
                b'*' | b'x' | b'X' | b'.' | b'-' | b'_' | b'#' | b'0' | b' '
            )
        })
    {
        return true;
    }
    const WORDS: &[&[u8]] = &[
        b"null",
        b"none",
        b"nil",
        b"undefined",
        b"true",
        b"false",
        b"redacted",
        b"hidden",
        b"masked",
        b"secret",
        b"password",
        b"token",
        b"string",
        b"str",
        b"required",
        b"optional",
        b"empty",
        b"todo",
        b"changeme",
        b"n/a",
        b"bearer",
        b"basic",
    ];
    // Placeholders are short; a long random value is never one.
    if v.len() > 64 {
        return false;
    }
    if WORDS.iter().any(|w| w.eq_ignore_ascii_case(v)) {
        return true;
    }
    if starts_with_ci(v, b"your")
        || contains_ci(v, b"_here")
        || contains_ci(v, b"-here")
        || contains_ci(v, b"placeholder")
    {
        return true;
    }
    const CODE: &[&[u8]] = &[
        b"os.environ",
        b"process.env",
        b"getenv",
        b"env(",
        b"env[",
        b"env.",
        b"secrets.",
        b"vault:",
        b"settings.",
        b"config.",
    ];
    if CODE.iter().any(|c| contains_ci(v, c)) {
        return true;
    }
    // An environment variable name: OPENAI_API_KEY.
    v.contains(&b'_') && v.iter().all(|c| c.is_ascii_uppercase() || *c == b'_')
}

fn plausible_quoted(v: &[u8]) -> bool {
    v.len() >= 4 && !is_placeholder(v)
}

/// A bare value must look like a literal credential: not a variable name,
/// not a dotted attribute, not a number.
fn plausible_bare(v: &[u8]) -> bool {
    if v.len() < 6 || is_placeholder(v) {
        return false;
    }
    let digits = v.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = v.iter().filter(|c| c.is_ascii_alphabetic()).count();
    if digits == v.len() || letters == 0 {
        return false;
    }
    let identifier =
        v.iter().all(|&c| is_word(c) || c == b'.') && (v[0].is_ascii_alphabetic() || v[0] == b'_');
    if identifier && digits == 0 {
        return false; // `api_key=api_key`, `token=self.token`
    }
    let upper = v.iter().any(u8::is_ascii_uppercase);
    let lower = v.iter().any(u8::is_ascii_lowercase);
    digits > 0 || (v.len() >= 16 && upper && lower)
}

#[cfg(test)]
mod tests {
    use super::super::keys::{DEFAULT_MASKED_KEYS, KeyMatcher};
    use super::*;

    fn masked(s: &str) -> Vec<String> {
        let m = KeyMatcher::new(DEFAULT_MASKED_KEYS).expect("builds");
        let b = s.as_bytes();
        (0..b.len())
            .filter(|&i| matches!(b[i], b':' | b'='))
            .filter_map(|i| match_at(b, i, &m))
            .map(|(s0, e)| s[s0..e].to_string())
            .collect()
    }

    #[test]
    fn finds_values_in_code_json_headers_and_urls() {
        assert_eq!(
            masked(r#"client = OpenAI(api_key="abc123def456ghi")"#),
            ["abc123def456ghi"]
        );
        assert_eq!(masked(r#"{"password": "hunter2!"}"#), ["hunter2!"]);
        assert_eq!(masked(r#"{\"password\": \"hunter2!\"}"#), ["hunter2!"]);
        assert_eq!(
            masked("Authorization: Basic dXNlcjpwYXNzd29yZA==\nHost: x"),
            ["dXNlcjpwYXNzd29yZA=="]
        );
        assert_eq!(
            masked("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]
        );
        assert_eq!(
            masked("GET /v1/x?api_key=9f8e7d6c5b4a&page=2"),
            ["9f8e7d6c5b4a"]
        );
        assert_eq!(
            masked("level=warn msg=\"login\" password=hunter2 user=bob"),
            ["hunter2"]
        );
        assert_eq!(
            masked("Cookie: session=abc123; theme=dark\r\n"),
            ["session=abc123; theme=dark"]
        );
    }

    #[test]
    fn leaves_variables_placeholders_and_counts() {
        for s in [
            "client = OpenAI(api_key=api_key)",
            "api_key=os.environ[\"OPENAI_API_KEY\"]",
            r#"{"api_key": "<your-api-key>"}"#,
            r#"api_key: "${OPENAI_API_KEY}""#,
            "max_tokens: 1024",
            "token_count=57",
            "Token: a unit of text",
            "password: ********",
            "if password == \"x\":",
            "token = tokenizer.encode(text)",
            r#"{"secret": false}"#,
            "api_key=get_api_key()",
            r#"{"token": 12345}"#,
            "Cookie: chocolate chip",
        ] {
            assert_eq!(masked(s), Vec::<String>::new(), "{s}");
        }
    }
}
