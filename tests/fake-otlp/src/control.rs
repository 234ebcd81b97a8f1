//! Control endpoints on the HTTP port, so tests in other languages can read what arrived
//! and script failures without linking Rust.
//!
//! - `GET /control/requests`: accepted requests, `[{transport, headers, gzip, bodyBytes, request}]`
//!   with `request` in OTLP-JSON and `headers` as an object (repeated names joined by ", ").
//! - `GET /control/spans[?session=TOKEN]`: flattened spans, `[{transport, sessionToken,
//!   resource, scopeName, span}]`; with `session`, only requests whose `x-session-token`
//!   header equals TOKEN.
//! - `GET /control/stats`: `{attempts, requests, spans}` (attempts include failed ones).
//! - `POST /control/script`: a JSON list of behaviours (replaces the queue) or
//!   `{"queue": [...], "default": {...}}`; see `behavior::BehaviorSpec`.
//! - `POST /control/reset`: forget everything and go back to accepting.

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use crate::behavior::parse_script;
use crate::capture::Received;
use crate::http::{BodyError, HttpResponse, read_body, text, with_body};
use crate::server::Shared;

/// Header the control API groups requests by.
pub const SESSION_HEADER: &str = "x-session-token";

const MAX_SCRIPT_BYTES: usize = 1024 * 1024;

pub(crate) async fn handle(req: Request<Incoming>, shared: &Shared) -> HttpResponse {
    let path = req.uri().path().to_owned();
    let session = req.uri().query().and_then(|q| query_param(q, "session"));
    match (req.method(), path.as_str()) {
        (&Method::GET, "/control/requests") => {
            let list: Vec<Value> = shared.capture.requests().iter().map(request_json).collect();
            json_ok(&Value::Array(list))
        }
        (&Method::GET, "/control/spans") => {
            let list: Vec<Value> = shared
                .capture
                .requests()
                .iter()
                .filter(|r| session.is_none() || r.header(SESSION_HEADER) == session.as_deref())
                .flat_map(spans_json)
                .collect();
            json_ok(&Value::Array(list))
        }
        (&Method::GET, "/control/stats") => json_ok(&json!({
            "attempts": shared.capture.attempts(),
            "requests": shared.capture.requests().len(),
            "spans": shared.capture.span_count(),
        })),
        (&Method::POST, "/control/script") => match read_body(req, MAX_SCRIPT_BYTES).await {
            Ok(body) => match parse_script(&body) {
                Ok((queue, default)) => {
                    shared.script.replace(queue, default);
                    json_ok(&json!({}))
                }
                Err(e) => text(StatusCode::BAD_REQUEST, &e.to_string()),
            },
            Err(BodyError::TooLarge) => text(StatusCode::PAYLOAD_TOO_LARGE, "script too large"),
            Err(BodyError::Read(e)) => text(StatusCode::BAD_REQUEST, &e),
        },
        (&Method::POST, "/control/reset") => {
            shared.capture.clear();
            shared.script.reset();
            json_ok(&json!({}))
        }
        _ => text(StatusCode::NOT_FOUND, "unknown control endpoint"),
    }
}

fn json_ok(value: &Value) -> HttpResponse {
    with_body(StatusCode::OK, "application/json", value.to_string())
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn headers_json(received: &Received) -> Value {
    let mut map = Map::new();
    for (k, v) in &received.headers {
        match map.get_mut(k) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(v);
            }
            _ => {
                map.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    Value::Object(map)
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| json!({ "error": e.to_string() }))
}

fn request_json(received: &Received) -> Value {
    json!({
        "transport": received.transport.as_str(),
        "headers": headers_json(received),
        "gzip": received.gzip,
        "bodyBytes": received.body_bytes,
        "request": to_json(&received.request),
    })
}

fn spans_json(received: &Received) -> Vec<Value> {
    let token = received.header(SESSION_HEADER);
    received
        .spans()
        .iter()
        .map(|s| {
            json!({
                "transport": received.transport.as_str(),
                "sessionToken": token,
                "resource": to_json(&s.resource),
                "scopeName": s.scope_name,
                "span": to_json(&s.span),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::query_param;

    #[test]
    fn query_param_decodes_value() {
        assert_eq!(
            query_param("a=1&session=t%201", "session").as_deref(),
            Some("t 1")
        );
        assert_eq!(query_param("session", "session").as_deref(), Some(""));
        assert_eq!(query_param("a=1", "session"), None);
    }
}
