//! E-mail addresses, found from each `@` outwards.
//!
//! Only a literal `@` triggers (never `at` in prose). Skipped on purpose:
//! `git@github.com:org/repo` (scp-style remote), `user@host` without a dot,
//! `pkg@1.2.3`, and URL userinfo (`https://user:pw@host`, handled as a secret).

use memchr::memchr_iter;

use super::scan::{at, skip_escape_prefix};

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-')
}

/// Appends `[start, end)` of each address in `b`.
pub(crate) fn scan(b: &[u8], out: &mut impl FnMut(usize, usize)) {
    let mut last_end = 0;
    for p in memchr_iter(b'@', b) {
        if p < last_end {
            continue;
        }
        if let Some((s, e)) = match_at(b, p) {
            out(s, e);
            last_end = e;
        }
    }
}

fn match_at(b: &[u8], p: usize) -> Option<(usize, usize)> {
    // Local part.
    let lo = p.saturating_sub(64);
    let mut s = p;
    while s > lo && is_local(b[s - 1]) {
        s -= 1;
    }
    s = skip_escape_prefix(b, s, p);
    while s < p && matches!(b[s], b'.' | b'-' | b'+') {
        s += 1;
    }
    if s == p || b[p - 1] == b'.' || !b[s..p].iter().any(u8::is_ascii_alphanumeric) {
        return None;
    }
    if in_url_authority(b, s) {
        return None;
    }
    // Domain.
    let hi = (p + 1 + 253).min(b.len());
    let mut e = p + 1;
    while e < hi && is_domain(b[e]) {
        e += 1;
    }
    while e > p + 1 && matches!(b[e - 1], b'.' | b'-') {
        e -= 1;
    }
    if !domain_ok(&b[p + 1..e]) {
        // `bob@x.com-----BEGIN`: the address ends at the last valid label.
        e = (p + 2..e).rev().find(|&j| {
            matches!(b[j], b'.' | b'-')
                && b[j - 1].is_ascii_alphanumeric()
                && domain_ok(&b[p + 1..j])
        })?;
    }
    // `git@github.com:org/repo.git`, `deploy@host.example.com:/srv`.
    if at(b, e) == b':'
        && (at(b, e + 1).is_ascii_alphabetic() || matches!(at(b, e + 1), b'/' | b'~' | b'_'))
    {
        return None;
    }
    Some((s, e))
}

/// Labels of letters, digits and inner hyphens; at least two; a TLD of
/// two or more letters (or an `xn--` IDN TLD).
fn domain_ok(d: &[u8]) -> bool {
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in d.split(|&c| c == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2
        && ((last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic))
            || last.starts_with(b"xn--"))
}

/// `scheme://user@host` or `scheme://user:p#ss@host`: the `@` belongs to a
/// URL's authority (no `/` or `?` between `://` and it), not to an address.
fn in_url_authority(b: &[u8], s: usize) -> bool {
    let lo = s.saturating_sub(256);
    let mut i = s;
    while i > lo {
        i -= 1;
        match b[i] {
            b'/' => return i >= 2 && b[i - 1] == b'/' && b[i - 2] == b':',
            b'?' | b' ' | b'\t' | b'\n' | b'"' | b'\'' | b'<' | b'>' | b'\\' => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        scan(s.as_bytes(), &mut |a, e| v.push(s[a..e].to_string()));
        v
    }

    #[test]
    fn addresses_in_prose_json_and_markup() {
        assert_eq!(
            found("Mail alice.smith+news@example.co.uk."),
            ["alice.smith+news@example.co.uk"]
        );
        assert_eq!(found(r#"{\"to\": \"bob@corp.io\"}"#), ["bob@corp.io"]);
        assert_eq!(found(r"Hi\nbob@corp.io"), ["bob@corp.io"]);
        assert_eq!(found(r"\u003cbob@corp.io\u003e"), ["bob@corp.io"]);
        assert_eq!(
            found("mailto:Jane.Doe@Example.ORG?subject=x"),
            ["Jane.Doe@Example.ORG"]
        );
        assert_eq!(
            found("https://x.com/invite?email=bob@corp.io"),
            ["bob@corp.io"]
        );
    }

    #[test]
    fn skips_lookalikes() {
        for s in [
            "git@github.com:org/repo.git",
            "@alice said",
            "lodash@4.17.21",
            "user@localhost",
            "https://user:pw@example.com/",
            "postgresql://u:Xk9#mP2$vL@db.internal:5432/x",
            "@media print",
            "foo@bar",
            "image@sha256:abc",
        ] {
            assert!(found(s).is_empty(), "{s}");
        }
    }
}
