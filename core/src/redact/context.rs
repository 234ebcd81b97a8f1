//! Words just before a candidate number: `call`/`tel` make a bare digit string a
//! phone number, `order`/`tracking`/`ISBN` make a phone-shaped one an identifier.

use super::scan::is_escape_letter;

/// What the nearest telling word before a number says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hint {
    /// A contact word (`phone`, `tel`, `call`, `ssn`...): a bare number is PII.
    Positive,
    /// An identifier word (`order`, `invoice`, `ISBN`, `version`...): not PII.
    Negative,
    /// Nothing telling nearby.
    Neutral,
}

/// Words that make the following number a phone number.
const PHONE_WORDS: &[&str] = &[
    "phone",
    "phones",
    "tel",
    "telephone",
    "mobile",
    "mob",
    "cell",
    "cellphone",
    "call",
    "calling",
    "fax",
    "whatsapp",
    "sms",
    "text",
    "contact",
    "reach",
    "dial",
    "ring",
    "ph",
    "telefon",
    "telefono",
    "handy",
    "tfno",
    "celular",
    "portable",
    "hotline",
    "helpline",
];

/// Words that make the following number a social security number.
const SSN_WORDS: &[&str] = &["ssn", "social", "ss", "ssa", "tin"];

/// Words that label the following number as an identifier, a version or a
/// count. They only count right before the number (see `NEGATIVE_REACH`).
const ID_WORDS: &[&str] = &[
    "order",
    "orders",
    "invoice",
    "inv",
    "tracking",
    "track",
    "waybill",
    "awb",
    "shipment",
    "parcel",
    "consignment",
    "isbn",
    "issn",
    "sku",
    "gtin",
    "upc",
    "ean",
    "ref",
    "reference",
    "ticket",
    "case",
    "build",
    "version",
    "ver",
    "release",
    "po",
    "txn",
    "transaction",
    "booking",
    "confirmation",
    "item",
    "part",
    "serial",
    "patent",
    "doi",
    "pid",
    "port",
    "epoch",
    "timestamp",
    "ts",
    "id",
    "uid",
    "gid",
    "batch",
    "lot",
    "receipt",
    "claim",
    "policy",
    "trace",
    "span",
    "commit",
    "issue",
    "pr",
    "account",
    "acct",
    "routing",
    "zip",
    "postal",
    "postcode",
];

/// How many words back an identifier word still labels the number:
/// `order #`, `tracking number:`, but not `the ticket from Judy:`.
const NEGATIVE_REACH: usize = 2;

/// Words skipped while looking for a telling word (`order no. 123`, `phone number: 555`).
const FILLER_WORDS: &[&str] = &[
    "no", "nr", "num", "number", "nbr", "is", "at", "my", "our", "the", "a", "on", "me", "us",
    "or", "and", "to", "of",
];

/// Nearest telling word among the few words in `b[floor..pos]`, for phone numbers.
///
/// `floor` is the end of the previous finding: words inside a redacted span
/// must not count, or redacting twice could decide differently than once.
pub(crate) fn phone_hint(b: &[u8], pos: usize, floor: usize) -> Hint {
    hint(b, pos, floor, PHONE_WORDS)
}

/// Nearest telling word before `pos`, for SSNs.
pub(crate) fn ssn_hint(b: &[u8], pos: usize, floor: usize) -> Hint {
    hint(b, pos, floor, SSN_WORDS)
}

/// Nearest telling word before `pos`, where only identifier words matter (IP addresses).
pub(crate) fn id_hint(b: &[u8], pos: usize, floor: usize) -> Hint {
    hint(b, pos, floor, &[])
}

fn hint(b: &[u8], pos: usize, floor: usize, positive: &[&str]) -> Hint {
    const MAX_WORDS: usize = 4;
    const WINDOW: usize = 48;
    let lo = pos.saturating_sub(WINDOW).max(floor);
    let mut i = pos;
    let mut seen = 0;
    while seen < MAX_WORDS && i > lo {
        // Skip separators and numbers between words; stop at a marker's `]`.
        while i > lo && !b[i - 1].is_ascii_alphabetic() {
            if b[i - 1] == b']' {
                return Hint::Neutral;
            }
            i -= 1;
        }
        let end = i;
        while i > lo && b[i - 1].is_ascii_alphabetic() {
            i -= 1;
        }
        if end == i {
            break;
        }
        // `\n` in JSON-encoded text: the `n` is not part of the word.
        let start = if is_escape_letter(b, i) { i + 1 } else { i };
        let word = &b[start..end];
        if word.is_empty() || word.len() > 16 {
            seen += 1;
            continue;
        }
        let mut buf = [0u8; 16];
        let lw = &mut buf[..word.len()];
        lw.copy_from_slice(word);
        lw.make_ascii_lowercase();
        let lw: &[u8] = lw;
        if positive.iter().any(|w| w.as_bytes() == lw) {
            return Hint::Positive;
        }
        if seen < NEGATIVE_REACH && ID_WORDS.iter().any(|w| w.as_bytes() == lw) {
            return Hint::Negative;
        }
        if !FILLER_WORDS.iter().any(|w| w.as_bytes() == lw) {
            seen += 1;
        }
    }
    Hint::Neutral
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hint {
        phone_hint(s.as_bytes(), s.len(), 0)
    }

    #[test]
    fn nearest_word_wins() {
        assert_eq!(h("Order #"), Hint::Negative);
        assert_eq!(h("order number: "), Hint::Negative);
        assert_eq!(h("Call me at "), Hint::Positive);
        assert_eq!(h("about order 12 call "), Hint::Positive);
        assert_eq!(h("my phone number is "), Hint::Positive);
        assert_eq!(h("The weather was nice and "), Hint::Neutral);
        assert_eq!(h(r#"{\"text\": \"Phone:\n"#), Hint::Positive);
        assert_eq!(h("order [REDACTED:EMAIL] "), Hint::Neutral);
        assert_eq!(phone_hint(b"order 12 ", 9, 5), Hint::Neutral);
    }
}
