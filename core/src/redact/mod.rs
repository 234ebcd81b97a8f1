//! Redaction of PII and secrets in every string that leaves the process.
//!
//! # How it stays fast
//! No detector runs a regex over the whole text. A few cheap passes find
//! candidates by their trigger bytes: `memchr` for `@` (e-mail) and for `:`/`=`
//! (IPv6 and `name=value` secrets), and 16-byte vector searches (see
//! `scan::Finder`) for digits, `+` and `(` (cards, SSNs, phones, IPv4, IBANs)
//! and for an anchor byte or pair inside each secret prefix (`sk-`, `AKIA`,
//! `ghp_`, `eyJ`, `-----BEGIN `...). Cheap necessary conditions come next (a
//! number with fewer digits than any kind needs is not parsed; a key holding
//! no deny-list trigram skips the key automaton), and each remaining
//! candidate is confirmed by a validator: Luhn and issuer ranges, mod-97 and
//! the IBAN length table, SSN area rules, numbering-plan shapes, IP class.
//! Clean text allocates nothing and comes back as `Cow::Borrowed`.
//!
//! # Markers
//! A finding is replaced by `[REDACTED:KIND]` with KIND one of `EMAIL`,
//! `PHONE`, `CARD`, `SSN`, `IBAN`, `IP`, `SECRET` (every provider key, token,
//! JWT, PEM key, URL password and `name=value` credential is `SECRET`; the kind
//! of key is deliberately not named), or the label of a custom rule. `Bearer`
//! and `Basic` are kept before a masked credential. A value masked because of
//! its key becomes `[REDACTED]`; a text cut at `max_text_bytes` ends with
//! `[TRUNCATED: N bytes]`, N counting original bytes dropped.
//!
//! # Known limits
//! Formats nobody wrote down are missed: phone numbers without an area code
//! (`555-0123`), bare national numbers without a contact word nearby (`call`,
//! `tel`...), e-mail addresses with non-ASCII characters or URL-encoded `@`,
//! AWS secret keys and other random strings with neither a known prefix nor a
//! name (`aws_secret_access_key=`) next to them, and nine bare digits as an SSN
//! unless `SSN` precedes them. Custom rules cover application-specific formats.

mod context;
mod email;
mod groups;
mod iban;
mod ip;
mod keys;
mod kv;
mod numeric;
mod phone;
mod rules;
pub(crate) mod scan;
mod secrets;
mod stats;
mod truncate;
mod validate;

use std::borrow::Cow;
use std::cmp::Reverse;

pub use keys::DEFAULT_MASKED_KEYS;
pub use stats::RedactStats;

use keys::KeyMatcher;
use numeric::NumericKinds;
use rules::CustomRules;
use secrets::SecretScanner;
use stats::Counters;

/// Replacement for a value masked because of its key.
pub const MASKED_VALUE: &str = "[REDACTED]";

/// Rounds after the first in [`Redactor::redact_text`]; in practice the
/// second round finds nothing and the loop ends there.
const MAX_EXTRA_ROUNDS: usize = 3;

/// Default cap per text part: 32 KiB.
pub const DEFAULT_MAX_TEXT_BYTES: usize = 32 * 1024;

/// Built-in kinds of sensitive data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum PiiKind {
    Email = 0,
    Phone = 1,
    Card = 2,
    Ssn = 3,
    Iban = 4,
    Ip = 5,
    Secret = 6,
}

impl PiiKind {
    pub const ALL: [PiiKind; 7] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::Card,
        PiiKind::Ssn,
        PiiKind::Iban,
        PiiKind::Ip,
        PiiKind::Secret,
    ];

    /// Name used in the marker: `EMAIL`, `PHONE`, ...
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::Email => "EMAIL",
            PiiKind::Phone => "PHONE",
            PiiKind::Card => "CARD",
            PiiKind::Ssn => "SSN",
            PiiKind::Iban => "IBAN",
            PiiKind::Ip => "IP",
            PiiKind::Secret => "SECRET",
        }
    }

    /// The replacement text: `[REDACTED:EMAIL]`, ...
    pub fn marker(self) -> &'static str {
        match self {
            PiiKind::Email => "[REDACTED:EMAIL]",
            PiiKind::Phone => "[REDACTED:PHONE]",
            PiiKind::Card => "[REDACTED:CARD]",
            PiiKind::Ssn => "[REDACTED:SSN]",
            PiiKind::Iban => "[REDACTED:IBAN]",
            PiiKind::Ip => "[REDACTED:IP]",
            PiiKind::Secret => "[REDACTED:SECRET]",
        }
    }

    /// When two findings cover the same span, the higher one names it.
    fn precedence(self) -> u8 {
        match self {
            PiiKind::Secret => 0,
            PiiKind::Card => 1,
            PiiKind::Iban => 2,
            PiiKind::Ssn => 3,
            PiiKind::Email => 4,
            PiiKind::Phone => 5,
            PiiKind::Ip => 6,
        }
    }
}

/// Redaction settings. `Default` turns every built-in detector on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactConfig {
    pub email: bool,
    pub phone: bool,
    pub card: bool,
    pub ssn: bool,
    pub iban: bool,
    /// Public IPv4/IPv6 addresses (documentation ranges count as public).
    pub ip: bool,
    /// Provider keys, tokens, JWTs, PEM private keys, URL passwords, `name=value` credentials.
    pub secrets: bool,
    /// Also redact private, loopback, link-local and unique-local addresses.
    /// Off by default: they name nothing outside the speaker's network.
    pub redact_private_ips: bool,
    /// Extra rules as `(label, regex)`; matches become `[REDACTED:label]`.
    pub custom_rules: Vec<(String, String)>,
    /// Keys whose values are always masked (see [`Redactor::is_masked_key`]),
    /// whatever the `secrets` switch says; an empty list masks nothing by key.
    /// With `secrets` on, also used to find `name=value` secrets inside text.
    pub masked_keys: Vec<String>,
    /// Cap per text part in bytes, marker included; 0 disables the cap.
    pub max_text_bytes: usize,
}

impl Default for RedactConfig {
    fn default() -> Self {
        RedactConfig {
            email: true,
            phone: true,
            card: true,
            ssn: true,
            iban: true,
            ip: true,
            secrets: true,
            redact_private_ips: false,
            custom_rules: Vec::new(),
            masked_keys: DEFAULT_MASKED_KEYS
                .iter()
                .map(|k| (*k).to_string())
                .collect(),
            max_text_bytes: DEFAULT_MAX_TEXT_BYTES,
        }
    }
}

/// A configuration the redactor cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedactError {
    #[error("custom redaction rule #{index} ({label:?}): {reason}")]
    InvalidCustomRule {
        index: usize,
        label: String,
        reason: String,
    },
    #[error("masked key #{index} ({key:?}): {reason}")]
    InvalidMaskedKey {
        index: usize,
        key: String,
        reason: String,
    },
    #[error("redaction setting `{field}`: {reason}")]
    InvalidField { field: &'static str, reason: String },
}

/// What a finding is replaced with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    Kind(PiiKind),
    Custom(usize),
}

/// A span of the text to replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Finding {
    pub start: usize,
    pub end: usize,
    pub label: Label,
}

impl Finding {
    pub(crate) fn kind(start: usize, end: usize, kind: PiiKind) -> Self {
        Finding {
            start,
            end,
            label: Label::Kind(kind),
        }
    }

    #[cfg(test)]
    pub(crate) fn builtin(&self) -> Option<PiiKind> {
        match self.label {
            Label::Kind(k) => Some(k),
            Label::Custom(_) => None,
        }
    }

    fn precedence(&self) -> u8 {
        match self.label {
            Label::Kind(k) => k.precedence(),
            Label::Custom(_) => 10,
        }
    }
}

/// Finds and replaces PII and secrets. Build once, share behind an `Arc`.
#[derive(Debug)]
pub struct Redactor {
    email: bool,
    secrets: bool,
    ip: bool,
    numeric: NumericKinds,
    private_ips: bool,
    secret_scanner: SecretScanner,
    keys: KeyMatcher,
    custom: Option<CustomRules>,
    max_text_bytes: usize,
    counters: Counters,
}

impl Redactor {
    /// Validates `cfg` and compiles the detectors.
    pub fn new(cfg: RedactConfig) -> Result<Redactor, RedactError> {
        if cfg.max_text_bytes != 0 && cfg.max_text_bytes < truncate::MIN_LIMIT {
            return Err(RedactError::InvalidField {
                field: "max_text_bytes",
                reason: format!(
                    "{} is below the minimum of {} (0 disables the cap)",
                    cfg.max_text_bytes,
                    truncate::MIN_LIMIT
                ),
            });
        }
        for (index, key) in cfg.masked_keys.iter().enumerate() {
            if keys::normalize_entry(key).is_empty() {
                return Err(RedactError::InvalidMaskedKey {
                    index,
                    key: key.clone(),
                    reason: "needs at least one ASCII letter or digit".into(),
                });
            }
        }
        let custom = CustomRules::new(&cfg.custom_rules)?;
        let keys = KeyMatcher::new(&cfg.masked_keys).map_err(|e| RedactError::InvalidField {
            field: "masked_keys",
            reason: format!("cannot build the key matcher: {e}"),
        })?;
        let secret_scanner = SecretScanner::new().map_err(|e| RedactError::InvalidField {
            field: "secrets",
            reason: format!("secret prefixes: {e}"),
        })?;
        Ok(Redactor {
            email: cfg.email,
            secrets: cfg.secrets,
            ip: cfg.ip,
            numeric: NumericKinds {
                ip: cfg.ip,
                private_ips: cfg.redact_private_ips,
                card: cfg.card,
                ssn: cfg.ssn,
                phone: cfg.phone,
                iban: cfg.iban,
            },
            private_ips: cfg.redact_private_ips,
            secret_scanner,
            keys,
            custom,
            max_text_bytes: cfg.max_text_bytes,
            counters: Counters::new(cfg.custom_rules.iter().map(|(l, _)| l.clone()).collect()),
        })
    }

    /// Redacts `text`; `Cow::Borrowed` (no allocation) when nothing matched
    /// and the text is within the cap.
    pub fn redact_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut findings = Vec::new();
        let Some(mut out) = self.redact_once(text, &mut findings) else {
            return Cow::Borrowed(text);
        };
        // A replacement changes the context of its neighbours (a marker's `]`
        // where a word was), so a second look can see what the first could
        // not. Redact until nothing more is found: the output is a fixed point,
        // and redacting it again returns it unchanged. Only texts that had
        // findings pay for the extra look.
        for _ in 0..MAX_EXTRA_ROUNDS {
            findings.clear();
            match self.redact_once(&out, &mut findings) {
                Some(next) => out = next,
                None => break,
            }
        }
        Cow::Owned(out)
    }

    /// One detection and replacement round; `None` when nothing changes.
    fn redact_once(&self, text: &str, findings: &mut Vec<Finding>) -> Option<String> {
        let limit = self.max_text_bytes;
        let over = limit != 0 && text.len() > limit;
        let scanned = if over {
            scan::floor_char_boundary(text, limit + truncate::SCAN_SLACK)
        } else {
            text.len()
        };
        self.detect(&text[..scanned], findings);
        if findings.is_empty() && !over {
            return None;
        }
        resolve(findings);
        let custom = self.custom.as_ref();
        let marker = |f: &Finding| -> &str {
            match f.label {
                Label::Kind(k) => k.marker(),
                Label::Custom(i) => custom.map_or(MASKED_VALUE, |c| c.marker(i)),
            }
        };
        let rendered = truncate::render(text, scanned, findings, marker, limit);
        // Count what is actually in the output (a cut may drop trailing findings).
        let kept = rendered.dropped.map_or(text.len(), |d| text.len() - d);
        for f in findings.iter().take_while(|f| f.start < kept) {
            match f.label {
                Label::Kind(k) => self.counters.kind(k),
                Label::Custom(i) => self.counters.custom(i),
            }
        }
        if let Some(d) = rendered.dropped {
            self.counters.truncated(d);
        }
        Some(rendered.text)
    }

    /// Masks the whole value when `key` is on the masked-key list, otherwise
    /// redacts it as text. Empty values stay empty.
    pub fn redact_value_for_key<'a>(&self, key: &str, value: &'a str) -> Cow<'a, str> {
        if self.is_masked_key(key) {
            if value.is_empty() {
                return Cow::Borrowed(value);
            }
            self.counters.masked_value();
            return Cow::Borrowed(MASKED_VALUE);
        }
        self.redact_text(value)
    }

    /// True when values under `key` are masked whole: a deny-list entry spelled
    /// by consecutive words of the key (split on punctuation and camelCase),
    /// followed only by words that still name the secret. `openai_api_key`,
    /// `X-Api-Key`, `auth_token` match; `max_tokens`, `token_count` do not.
    pub fn is_masked_key(&self, key: &str) -> bool {
        self.keys.matches(key.as_bytes())
    }

    /// Counters since the redactor was built.
    pub fn stats(&self) -> RedactStats {
        self.counters.snapshot()
    }

    fn detect(&self, text: &str, out: &mut Vec<Finding>) {
        let b = text.as_bytes();
        if self.secrets {
            self.secret_scanner.scan(b, &mut |s, e| {
                out.push(Finding::kind(s, e, PiiKind::Secret))
            });
        }
        if self.email {
            email::scan(b, &mut |s, e| out.push(Finding::kind(s, e, PiiKind::Email)));
        }
        if self.ip || self.secrets {
            self.scan_separators(b, out);
        }
        // Last among the built-ins: its context look-back stops at earlier findings.
        numeric::scan(b, self.numeric, out);
        if let Some(rules) = &self.custom {
            rules.scan(text, &mut |i, s, e| {
                out.push(Finding {
                    start: s,
                    end: e,
                    label: Label::Custom(i),
                })
            });
        }
    }

    /// One pass over `:` and `=`: IPv6 addresses and `name=value` secrets.
    fn scan_separators(&self, b: &[u8], out: &mut Vec<Finding>) {
        let mut i = 0;
        while let Some(off) = memchr::memchr2(b':', b'=', &b[i..]) {
            let p = i + off;
            i = p + 1;
            if self.ip
                && b[p] == b':'
                && let Some((s, e, public)) = ip::match_v6_around(b, p)
            {
                if public || self.private_ips {
                    out.push(Finding::kind(s, e, PiiKind::Ip));
                }
                i = e.max(p + 1);
                continue;
            }
            if self.secrets
                && let Some((s, e)) = kv::match_at(b, p, &self.keys)
            {
                out.push(Finding::kind(s, e, PiiKind::Secret));
                i = e.max(p + 1);
            }
        }
    }
}

/// Sorts findings and merges overlaps: the earliest, longest (then highest
/// precedence) finding names the merged span.
fn resolve(findings: &mut Vec<Finding>) {
    findings.sort_unstable_by_key(|f| (f.start, Reverse(f.end), f.precedence()));
    let mut w = 0;
    for r in 0..findings.len() {
        let f = findings[r];
        if w > 0 && f.start < findings[w - 1].end {
            let last = &mut findings[w - 1];
            last.end = last.end.max(f.end);
        } else {
            findings[w] = f;
            w += 1;
        }
    }
    findings.truncate(w);
}

#[cfg(test)]
mod tests;
