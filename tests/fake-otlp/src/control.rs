//! Control endpoints on the HTTP port, so tests in other languages can read what arrived
//! and script failures without linking Rust.
//!
//! - `GET /control/requests`: accepted requests, `[{transport, headers, gzip, bodyBytes, request}]`
//!   with `request` in OTLP-JSON and `headers` as an object (repeated names joined by ", ").
//! - `GET /control/spans[?session=TOKEN]`: flattened spans, `[{transport, sessionToken,
//!   resource, scopeName, span}]`; with `session`, only requests whose `x-session-token`
//!   header equals TOKEN.
//! - `GET /control/metric-requests`: accepted metrics requests, same shape as `requests`.
//! - `GET /control/metrics[?session=TOKEN][&name=NAME]`: flattened metrics, `[{transport,
//!   sessionToken, resource, scopeName, metric}]`, optionally only those called NAME.
//! - `GET /control/stats`: `{attempts, requests, spans, metricAttempts, metricRequests,
//!   metrics, dataPoints}` (attempts include failed ones).
//! - `POST /control/script[?signal=metrics]`: a JSON list of behaviours (replaces the queue)
//!   or `{"queue": [...], "default": {...}}`; see `behavior::BehaviorSpec`. Traces and
//!   metrics have separate scripts; `signal` defaults to `traces`.
//! - `POST /control/reset`: forget everything (both signals) and go back to accepting.

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use crate::behavior::parse_script;
use crate::capture::{Received, ReceivedMetrics, State};
use crate::http::{BodyError, HttpResponse, read_body, text, with_body};
use crate::server::Shared;
use crate::signal::Signal;

/// Header the control API groups requests by.
pub const SESSION_HEADER: &str = "x-session-token";

const MAX_SCRIPT_BYTES: usize = 1024 * 1024;

pub(crate) async fn handle(req: Request<Incoming>, shared: &Shared) -> HttpResponse {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let session = query_param(&query, "session");
    let in_session = |token: Option<&str>| session.is_none() || token == session.as_deref();
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
                .filter(|r| in_session(r.header(SESSION_HEADER)))
                .flat_map(spans_json)
                .collect();
            json_ok(&Value::Array(list))
        }
        (&Method::GET, "/control/metric-requests") => {
            let list: Vec<Value> = shared
                .capture
                .metric_requests()
                .iter()
                .map(request_json)
                .collect();
            json_ok(&Value::Array(list))
        }
        (&Method::GET, "/control/metrics") => {
            let name = query_param(&query, "name");
            let list: Vec<Value> = shared
                .capture
                .metric_requests()
                .iter()
                .filter(|r| in_session(r.header(SESSION_HEADER)))
                .flat_map(|r| metrics_json(r, name.as_deref()))
                .collect();
            json_ok(&Value::Array(list))
        }
        (&Method::GET, "/control/stats") => json_ok(&shared.capture.read(stats_json)),
        (&Method::POST, "/control/script") => {
            let signal = match query_param(&query, "signal") {
                None => Signal::Traces,
                Some(name) => match Signal::from_name(&name) {
                    Some(signal) => signal,
                    None => {
                        let msg = format!("unknown signal {name:?} (traces or metrics)");
                        return text(StatusCode::BAD_REQUEST, &msg);
                    }
                },
            };
            script(req, shared, signal).await
        }
        (&Method::POST, "/control/reset") => {
            shared.capture.clear();
            shared.script(Signal::Traces).reset();
            shared.script(Signal::Metrics).reset();
            json_ok(&json!({}))
        }
        _ => text(StatusCode::NOT_FOUND, "unknown control endpoint"),
    }
}

/// `POST /control/script`: replaces `signal`'s queue (and default, when given).
async fn script(req: Request<Incoming>, shared: &Shared, signal: Signal) -> HttpResponse {
    match read_body(req, MAX_SCRIPT_BYTES).await {
        Ok(body) => match parse_script(&body) {
            Ok((queue, default)) => {
                shared.script(signal).replace(queue, default);
                json_ok(&json!({}))
            }
            Err(e) => text(StatusCode::BAD_REQUEST, &e.to_string()),
        },
        Err(BodyError::TooLarge) => text(StatusCode::PAYLOAD_TOO_LARGE, "script too large"),
        Err(BodyError::Read(e)) => text(StatusCode::BAD_REQUEST, &e),
    }
}

fn stats_json(state: &State) -> Value {
    let metrics = &state.metric_requests;
    json!({
        "attempts": state.attempts,
        "requests": state.requests.len(),
        "spans": state.spans,
        "metricAttempts": state.metric_attempts,
        "metricRequests": metrics.len(),
        "metrics": metrics.iter().map(ReceivedMetrics::metric_count).sum::<usize>(),
        "dataPoints": metrics.iter().map(ReceivedMetrics::data_point_count).sum::<usize>(),
    })
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

fn headers_json<R>(received: &Received<R>) -> Value {
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

fn request_json<R: serde::Serialize>(received: &Received<R>) -> Value {
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

fn metrics_json(received: &ReceivedMetrics, name: Option<&str>) -> Vec<Value> {
    let token = received.header(SESSION_HEADER);
    received
        .metrics()
        .iter()
        .filter(|m| name.is_none_or(|n| m.metric.name == n))
        .map(|m| {
            json!({
                "transport": received.transport.as_str(),
                "sessionToken": token,
                "resource": to_json(&m.resource),
                "scopeName": m.scope_name,
                "metric": to_json(&m.metric),
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
