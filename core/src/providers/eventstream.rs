//! AWS event-stream framing (`application/vnd.amazon.eventstream`), which
//! Bedrock's `invoke-with-response-stream` sends instead of SSE. Each message
//! is `[total length u32][headers length u32][prelude CRC32 u32][headers]
//! [payload][message CRC32 u32]`, big-endian. A Bedrock chunk's payload is
//! `{"bytes":"<base64 of the provider's own event JSON>"}`; exceptions carry
//! their type in the `:exception-type` header and `{"message": ...}`.
//!
//! The stream is turned into the SSE text the provider parsers read (one
//! `data:` line per event), so a Bedrock stream is parsed exactly as the
//! provider's own. Decoding stops at the first message that is cut or fails
//! its checksum: what came before it is kept.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

const PRELUDE: usize = 12;
/// Prelude plus the trailing message CRC.
const FRAMING: usize = PRELUDE + 4;
/// Bedrock messages are small (one event each); a larger length is not a
/// prelude but text that happens to start with four bytes.
const MAX_MESSAGE: usize = 16 << 20;

/// `(total length, headers length)` of the message at the start of `buf`:
/// a valid prelude, checksum included, so SSE or JSON text never passes.
fn prelude(buf: &[u8]) -> Option<(usize, usize)> {
    let head = buf.get(..PRELUDE)?;
    let total = u32::from_be_bytes(head[0..4].try_into().ok()?) as usize;
    let headers = u32::from_be_bytes(head[4..8].try_into().ok()?) as usize;
    let crc = u32::from_be_bytes(head[8..12].try_into().ok()?);
    if !(FRAMING..=MAX_MESSAGE).contains(&total)
        || headers > total - FRAMING
        || crc32fast::hash(&head[..8]) != crc
    {
        return None;
    }
    Some((total, headers))
}

/// The events of an event-stream body as SSE text, or `None` when the body
/// is not an event stream.
pub(crate) fn to_sse(body: &[u8]) -> Option<String> {
    prelude(body)?;
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some((total, headers_len)) = prelude(rest) {
        let Some(msg) = rest.get(..total) else { break };
        let crc = u32::from_be_bytes(msg[total - 4..].try_into().ok()?);
        if crc32fast::hash(&msg[..total - 4]) != crc {
            break;
        }
        let headers = Headers::parse(&msg[PRELUDE..PRELUDE + headers_len]);
        let payload = &msg[PRELUDE + headers_len..total - 4];
        if let Some(event) = event_json(&headers, payload) {
            out.push_str("data: ");
            out.push_str(&event);
            out.push_str("\n\n");
        }
        rest = &rest[total..];
    }
    Some(out)
}

/// The provider's event JSON of one message: a chunk's decoded `bytes`, or
/// an exception as an SSE `error` event.
fn event_json(h: &Headers<'_>, payload: &[u8]) -> Option<String> {
    match h.message_type {
        Some("exception") | Some("error") => {
            #[derive(Deserialize)]
            struct Exception {
                #[serde(default, alias = "Message")]
                message: Option<String>,
            }
            let message = serde_json::from_slice::<Exception>(payload)
                .ok()
                .and_then(|e| e.message)
                .or_else(|| h.error_message.map(str::to_string));
            let kind = h.exception_type.or(h.error_code).unwrap_or("bedrock_error");
            Some(
                serde_json::json!({
                    "type": "error",
                    "error": {"type": kind, "message": message},
                })
                .to_string(),
            )
        }
        _ => {
            #[derive(Deserialize)]
            struct Chunk<'a> {
                #[serde(borrow)]
                bytes: &'a str,
            }
            let chunk: Chunk<'_> = serde_json::from_slice(payload).ok()?;
            let json = STANDARD.decode(chunk.bytes).ok()?;
            String::from_utf8(json).ok()
        }
    }
}

/// The string headers the decoder uses.
#[derive(Default)]
struct Headers<'a> {
    message_type: Option<&'a str>,
    exception_type: Option<&'a str>,
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
}

impl<'a> Headers<'a> {
    fn parse(mut buf: &'a [u8]) -> Self {
        let mut h = Headers::default();
        while let Some((&name_len, rest)) = buf.split_first() {
            let Some((name, rest)) = split(rest, name_len as usize) else {
                break;
            };
            let Some((&kind, rest)) = rest.split_first() else {
                break;
            };
            let (value, rest) = match kind {
                0 | 1 => (None, Some(rest)),
                2 => (None, rest.get(1..)),
                3 => (None, rest.get(2..)),
                4 => (None, rest.get(4..)),
                5 | 8 => (None, rest.get(8..)),
                9 => (None, rest.get(16..)),
                6 | 7 => match rest
                    .get(..2)
                    .map(|l| u16::from_be_bytes([l[0], l[1]]) as usize)
                    .and_then(|len| split(&rest[2..], len))
                {
                    Some((v, r)) => ((kind == 7).then_some(v), Some(r)),
                    None => (None, None),
                },
                _ => (None, None),
            };
            let value = value.and_then(|v| std::str::from_utf8(v).ok());
            match name {
                b":message-type" => h.message_type = value,
                b":exception-type" => h.exception_type = value,
                b":error-code" => h.error_code = value,
                b":error-message" => h.error_message = value,
                _ => {}
            }
            match rest {
                Some(r) => buf = r,
                None => break,
            }
        }
        h
    }
}

fn split(buf: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    (buf.len() >= at).then(|| buf.split_at(at))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One event-stream message with string headers (as AWS encodes them).
    pub(crate) fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        for (name, value) in headers {
            h.push(name.len() as u8);
            h.extend_from_slice(name.as_bytes());
            h.push(7);
            h.extend_from_slice(&(value.len() as u16).to_be_bytes());
            h.extend_from_slice(value.as_bytes());
        }
        let total = (FRAMING + h.len() + payload.len()) as u32;
        let mut m = Vec::new();
        m.extend_from_slice(&total.to_be_bytes());
        m.extend_from_slice(&(h.len() as u32).to_be_bytes());
        let crc = crc32fast::hash(&m);
        m.extend_from_slice(&crc.to_be_bytes());
        m.extend_from_slice(&h);
        m.extend_from_slice(payload);
        let crc = crc32fast::hash(&m);
        m.extend_from_slice(&crc.to_be_bytes());
        m
    }

    /// A Bedrock chunk carrying `event` (the provider's JSON).
    pub(crate) fn chunk(event: &str) -> Vec<u8> {
        let payload = format!(r#"{{"bytes":"{}","p":"abcd"}}"#, STANDARD.encode(event));
        message(
            &[
                (":event-type", "chunk"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.as_bytes(),
        )
    }

    #[test]
    fn chunks_become_sse_events_and_a_cut_message_ends_the_stream() {
        let mut body = chunk(r#"{"type":"message_start"}"#);
        body.extend(chunk(r#"{"type":"message_stop"}"#));
        assert!(prelude(&body).is_some());
        let sse = to_sse(&body).unwrap();
        assert_eq!(
            sse,
            "data: {\"type\":\"message_start\"}\n\ndata: {\"type\":\"message_stop\"}\n\n"
        );
        let cut = &body[..body.len() - 3];
        assert_eq!(
            to_sse(cut).unwrap(),
            "data: {\"type\":\"message_start\"}\n\n"
        );
        let mut corrupt = body.clone();
        let last = corrupt.len() - 6;
        corrupt[last] ^= 0xff;
        assert_eq!(
            to_sse(&corrupt).unwrap(),
            "data: {\"type\":\"message_start\"}\n\n"
        );
    }

    #[test]
    fn exceptions_become_error_events() {
        let body = message(
            &[
                (":exception-type", "throttlingException"),
                (":message-type", "exception"),
            ],
            br#"{"message":"Too many requests"}"#,
        );
        let sse = to_sse(&body).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(sse.trim().trim_start_matches("data: ")).unwrap();
        assert_eq!(json["type"], "error");
        assert_eq!(json["error"]["type"], "throttlingException");
        assert_eq!(json["error"]["message"], "Too many requests");
    }

    #[test]
    fn text_and_garbage_are_not_event_streams() {
        for body in [
            &b"event: message_start\ndata: {}\n\n"[..],
            b"{\"id\":\"x\"}",
            b"",
            b"\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00",
            &[0xff; 64],
        ] {
            assert!(prelude(body).is_none());
            assert_eq!(to_sse(body), None);
        }
    }
}
