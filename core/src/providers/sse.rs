//! Server-sent events splitting (the WHATWG event-stream format, as OpenAI
//! and Anthropic stream). Tolerant by design: `\n`, `\r\n` and `\r` line
//! ends, comments, multi-line `data`, and a last event cut before its blank
//! line (it is still delivered; its JSON parser decides whether it is whole).

use std::borrow::Cow;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SseEvent<'a> {
    /// The `event:` field, when the stream names its events (Anthropic, the
    /// Responses API); OpenAI chat chunks have none.
    pub event: Option<&'a str>,
    /// The `data:` lines joined with `\n`; borrowed when there was one line.
    pub data: Cow<'a, str>,
}

/// Iterates the events of a whole stream body.
pub(crate) fn events(body: &str) -> Events<'_> {
    Events { rest: body }
}

pub(crate) struct Events<'a> {
    rest: &'a str,
}

impl<'a> Events<'a> {
    /// The next line without its terminator, or `None` at the end.
    fn next_line(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let bytes = self.rest.as_bytes();
        match bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) => {
                let line = &self.rest[..i];
                let skip = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                self.rest = &self.rest[i + skip..];
                Some(line)
            }
            None => {
                let line = self.rest;
                self.rest = "";
                Some(line)
            }
        }
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = SseEvent<'a>;

    fn next(&mut self) -> Option<SseEvent<'a>> {
        let mut event: Option<&'a str> = None;
        let mut data: Option<Cow<'a, str>> = None;
        loop {
            let Some(line) = self.next_line() else {
                // End of body: deliver a last event that lost its blank line.
                return data.map(|data| SseEvent { event, data });
            };
            if line.is_empty() {
                match data.take() {
                    Some(data) => return Some(SseEvent { event, data }),
                    // A blank line without data resets the event name.
                    None => {
                        event = None;
                        continue;
                    }
                }
            }
            if line.starts_with(':') {
                continue;
            }
            let (name, value) = match line.find(':') {
                Some(i) => {
                    let v = &line[i + 1..];
                    (&line[..i], v.strip_prefix(' ').unwrap_or(v))
                }
                None => (line, ""),
            };
            match name {
                "event" => event = Some(value),
                "data" => {
                    data = Some(match data.take() {
                        None => Cow::Borrowed(value),
                        Some(prev) => {
                            let mut s = prev.into_owned();
                            s.push('\n');
                            s.push_str(value);
                            Cow::Owned(s)
                        }
                    })
                }
                _ => {}
            }
        }
    }
}

/// Whether a body that was not flagged as a stream looks like one.
pub(crate) fn looks_like_sse(body: &str) -> bool {
    let t = body.trim_start();
    t.starts_with("data:") || t.starts_with("event:") || t.starts_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(body: &str) -> Vec<(Option<&str>, String)> {
        events(body)
            .map(|e| (e.event, e.data.into_owned()))
            .collect()
    }

    #[test]
    fn splits_lf_crlf_and_cr_streams_alike() {
        let lf = "event: a\ndata: {\"x\":1}\n\ndata: 2\n\n";
        let expected = vec![
            (Some("a"), "{\"x\":1}".to_string()),
            (None, "2".to_string()),
        ];
        assert_eq!(all(lf), expected);
        assert_eq!(all(&lf.replace('\n', "\r\n")), expected);
        assert_eq!(all(&lf.replace('\n', "\r")), expected);
    }

    #[test]
    fn skips_comments_and_joins_multiline_data() {
        let body = ": keep-alive\n\ndata: line1\n: note\ndata:line2\nid: 7\nretry: 10\n\n";
        assert_eq!(all(body), vec![(None, "line1\nline2".to_string())]);
    }

    #[test]
    fn delivers_a_truncated_last_event() {
        assert_eq!(
            all("data: 1\n\ndata: {\"cut"),
            vec![(None, "1".to_string()), (None, "{\"cut".to_string())]
        );
    }

    #[test]
    fn event_name_without_data_does_not_leak_into_the_next_event() {
        assert_eq!(
            all("event: ping\n\ndata: x\n\n"),
            vec![(None, "x".to_string())]
        );
        assert!(all("").is_empty());
        assert!(all("\n\n\r\n").is_empty());
    }

    #[test]
    fn recognises_streams() {
        assert!(looks_like_sse("\nevent: message_start\n"));
        assert!(looks_like_sse("data: {}"));
        assert!(!looks_like_sse("{\"id\":1}"));
    }
}
