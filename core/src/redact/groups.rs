//! Splits a run like `+44 (0)20 7946-0958` into digit groups and the separators
//! between them; phone, card and SSN rules are then written over the groups.

use super::scan::at;

/// What stands before a digit group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Sep {
    /// First group.
    #[default]
    Start,
    /// Space, no-break space or narrow no-break space.
    Space,
    /// `-`, ` - ` or an en dash.
    Dash,
    Dot,
    Slash,
    /// Directly after a closing parenthesis: `(415)555-0123`.
    Paren,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Group {
    pub start: usize,
    pub end: usize,
    pub sep: Sep,
    /// The group was written in parentheses: `(415)`, `(0)`.
    pub paren: bool,
}

impl Group {
    pub fn len(&self) -> usize {
        self.end - self.start
    }
}

pub(crate) const MAX_GROUPS: usize = 8;

/// A parsed run of digit groups starting at `start` (a digit, `+` or `(`).
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pub start: usize,
    pub plus: bool,
    pub groups: [Group; MAX_GROUPS],
    pub n: usize,
    /// Parsing stopped because `MAX_GROUPS` was reached with more to come.
    pub overflow: bool,
}

impl Groups {
    /// End of the first `k` groups including a closing parenthesis of the last one.
    pub fn span_end(&self, b: &[u8], k: usize) -> usize {
        let g = &self.groups[k - 1];
        if g.paren && at(b, g.end) == b')' {
            g.end + 1
        } else {
            g.end
        }
    }

    /// Digits of the first `k` groups into `buf`; `None` if they do not fit.
    pub fn digits<'a>(&self, b: &[u8], k: usize, buf: &'a mut [u8; 24]) -> Option<&'a [u8]> {
        let mut n = 0;
        for g in &self.groups[..k] {
            let d = &b[g.start..g.end];
            buf.get_mut(n..n + d.len())?.copy_from_slice(d);
            n += d.len();
        }
        Some(&buf[..n])
    }
}

/// Reads a separator at `i`; returns its kind and byte length.
fn read_sep(b: &[u8], i: usize) -> Option<(Sep, usize)> {
    match at(b, i) {
        b' ' => {
            if at(b, i + 1) == b'-' && at(b, i + 2) == b' ' {
                Some((Sep::Dash, 3))
            } else {
                Some((Sep::Space, 1))
            }
        }
        b'-' => Some((Sep::Dash, 1)),
        b'.' => Some((Sep::Dot, 1)),
        b'/' => Some((Sep::Slash, 1)),
        0xC2 if at(b, i + 1) == 0xA0 => Some((Sep::Space, 2)),
        0xE2 if at(b, i + 1) == 0x80 => match at(b, i + 2) {
            0xAF | 0x89 => Some((Sep::Space, 3)),
            0x93 | 0x91 => Some((Sep::Dash, 3)),
            _ => None,
        },
        _ => None,
    }
}

fn digit_run_end(b: &[u8], mut i: usize) -> usize {
    while at(b, i).is_ascii_digit() {
        i += 1;
    }
    i
}

/// Parses groups from `start`. With `allow_marks`, a leading `+` and groups in
/// parentheses are accepted (phone numbers); otherwise only plain digit groups.
pub(crate) fn parse(b: &[u8], start: usize, allow_marks: bool) -> Groups {
    let mut t = Groups {
        start,
        ..Groups::default()
    };
    let mut i = start;
    if allow_marks && at(b, i) == b'+' {
        t.plus = true;
        i += 1;
    }
    let mut sep = Sep::Start;
    loop {
        let paren = allow_marks && at(b, i) == b'(' && at(b, i + 1).is_ascii_digit();
        let gs = if paren { i + 1 } else { i };
        let ge = digit_run_end(b, gs);
        if ge == gs || (paren && at(b, ge) != b')') {
            break;
        }
        t.groups[t.n] = Group {
            start: gs,
            end: ge,
            sep,
            paren,
        };
        t.n += 1;
        i = if paren { ge + 1 } else { ge };
        // What follows: a separator and another group, or the end of the run.
        let next = if paren && (at(b, i).is_ascii_digit()) {
            Some((Sep::Paren, 0))
        } else {
            read_sep(b, i)
        };
        let Some((s, len)) = next else { break };
        let j = i + len;
        let c = at(b, j);
        let opens = allow_marks && c == b'(' && at(b, j + 1).is_ascii_digit();
        if !c.is_ascii_digit() && !opens {
            break;
        }
        if t.n == MAX_GROUPS {
            t.overflow = true;
            break;
        }
        sep = s;
        i = j;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(s: &str) -> Vec<(String, Sep, bool)> {
        let t = parse(s.as_bytes(), 0, true);
        t.groups[..t.n]
            .iter()
            .map(|g| (s[g.start..g.end].to_string(), g.sep, g.paren))
            .collect()
    }

    #[test]
    fn parses_international_with_trunk_in_parens() {
        let g = shape("+44 (0)20 7946 0958 now");
        assert_eq!(g.len(), 5);
        assert_eq!(g[1], ("0".into(), Sep::Space, true));
        assert_eq!(g[2], ("20".into(), Sep::Paren, false));
        assert_eq!(g[4].0, "0958");
    }

    #[test]
    fn stops_at_words_and_trailing_separators() {
        assert_eq!(shape("415-555-0123. Thanks").len(), 3);
        assert_eq!(shape("12 apples").len(), 1);
        assert_eq!(shape("06\u{a0}12\u{a0}34\u{a0}56\u{a0}78").len(), 5);
    }
}
