//! Builds the redacted text and caps its size.
//!
//! The cap is checked on the *output*, so a redacted text is never longer than
//! `max_text_bytes` (marker included) and redacting it again changes nothing.
//! The cut falls on a char boundary and never inside a `[REDACTED:...]` marker,
//! and the marker reports how many bytes of the *original* text were dropped.

use std::fmt::Write as _;

use super::Finding;
use super::scan::floor_char_boundary;

/// Room kept for `[TRUNCATED: 18446744073709551615 bytes]`.
pub(crate) const MARKER_RESERVE: usize = 40;

/// Smallest cap that leaves room for some text beside the marker.
pub(crate) const MIN_LIMIT: usize = 2 * MARKER_RESERVE;

/// Beyond the cap, detectors still look this far so that a secret that
/// straddles the cut (a PEM block, a JWT) is recognised and dropped whole.
pub(crate) const SCAN_SLACK: usize = 8 * 1024;

/// Result of rendering: the text and, when cut, how many original bytes were dropped.
pub(crate) struct Rendered {
    pub text: String,
    pub dropped: Option<usize>,
}

/// Replaces each finding with its marker. `findings` are sorted and disjoint,
/// all within `text[..scanned]`; `limit == 0` means no cap.
pub(crate) fn render<'m>(
    text: &str,
    scanned: usize,
    findings: &[Finding],
    marker: impl Fn(&Finding) -> &'m str,
    limit: usize,
) -> Rendered {
    let mut out =
        String::with_capacity(scanned.min(if limit == 0 { usize::MAX } else { limit }) + 64);
    let mut pos = 0;
    for f in findings {
        out.push_str(&text[pos..f.start]);
        out.push_str(marker(f));
        pos = f.end;
    }
    out.push_str(&text[pos..scanned]);
    if limit == 0 || (scanned == text.len() && out.len() <= limit) {
        return Rendered {
            text: out,
            dropped: None,
        };
    }
    // Cut the output, then map the cut back to an offset in the original text.
    let mut cut = floor_char_boundary(&out, limit - MARKER_RESERVE);
    let mut out_pos = 0; // output offset reached so far
    let mut in_pos = 0; // original offset of the same point
    let mut inside_marker = None;
    for f in findings {
        let m_start = out_pos + (f.start - in_pos);
        if cut <= m_start {
            break;
        }
        let m_end = m_start + marker(f).len();
        if cut < m_end {
            inside_marker = Some((m_start, f.start)); // never split a marker
            break;
        }
        out_pos = m_end;
        in_pos = f.end;
    }
    let orig = match inside_marker {
        Some((m_start, f_start)) => {
            cut = m_start;
            f_start
        }
        None => in_pos + (cut - out_pos),
    };
    out.truncate(cut);
    let dropped = text.len() - orig;
    let _ = write!(out, "[TRUNCATED: {dropped} bytes]");
    Rendered {
        text: out,
        dropped: Some(dropped),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Label, PiiKind};
    use super::*;

    fn f(start: usize, end: usize) -> Finding {
        Finding {
            start,
            end,
            label: Label::Kind(PiiKind::Email),
        }
    }

    #[test]
    fn cut_respects_char_boundaries_and_reports_original_bytes() {
        let text = "é".repeat(100); // 200 bytes
        let r = render(&text, text.len(), &[], |_| "", 101);
        assert!(r.text.len() <= 101);
        let kept = r.text.find("[TRUNCATED").unwrap_or(0);
        assert!(text.is_char_boundary(kept));
        assert_eq!(r.dropped, Some(200 - kept));
        assert!(
            r.text
                .ends_with(&format!("[TRUNCATED: {} bytes]", 200 - kept))
        );
    }

    #[test]
    fn cut_never_splits_a_marker() {
        let text = format!("{}a@b.co{}", "x".repeat(50), "y".repeat(200));
        let fs = [f(50, 56)];
        let r = render(&text, text.len(), &fs, |_| "[REDACTED:EMAIL]", 100);
        // Budget 60: the marker would end at 66, so the cut moves to its start.
        assert_eq!(
            r.text,
            format!("{}[TRUNCATED: {} bytes]", "x".repeat(50), text.len() - 50)
        );
    }

    #[test]
    fn cut_after_a_marker_maps_back_through_it() {
        let text = format!("a@b.co{}", "y".repeat(200));
        let fs = [f(0, 6)];
        let r = render(&text, text.len(), &fs, |_| "[REDACTED:EMAIL]", 100);
        // 60 output bytes = 16 marker + 44 plain; 6 + 44 original bytes kept.
        assert_eq!(r.dropped, Some(text.len() - 50));
        assert!(r.text.starts_with("[REDACTED:EMAIL]yyyy"));
    }

    #[test]
    fn no_cap_or_short_text_is_untouched() {
        let r = render("hello", 5, &[], |_| "", 0);
        assert_eq!((r.text.as_str(), r.dropped), ("hello", None));
        let r = render("hello", 5, &[], |_| "", 100);
        assert_eq!(r.dropped, None);
    }
}
