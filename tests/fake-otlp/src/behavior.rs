//! Scripted answers: a FIFO consumed one per well-formed export request, then a default.
//! Each signal (traces, metrics) has its own FIFO and default.
//!
//! A behaviour names an outcome once and each transport maps it to its own status, so one
//! script drives the same retry scenario over HTTP and gRPC.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use tonic::Code;

/// How the receiver answers one export request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Behavior {
    /// Keep the data and answer success.
    #[default]
    Accept,
    /// Answer this HTTP status (with `Retry-After` when given). Over gRPC the status maps to
    /// the equivalent code (429 -> RESOURCE_EXHAUSTED, 503 -> UNAVAILABLE, ...); a
    /// `retry_after` in whole seconds becomes `google.rpc.RetryInfo`.
    HttpStatus {
        status: u16,
        retry_after: Option<String>,
    },
    /// Answer this gRPC code, with `google.rpc.RetryInfo` when `retry_delay` is set. Over
    /// HTTP the code maps to the equivalent status and the delay to `Retry-After` (seconds,
    /// rounded up).
    GrpcStatus {
        code: Code,
        retry_delay: Option<Duration>,
    },
    /// Never answer; the request stays open until the receiver stops.
    Hang,
    /// Wait, then accept.
    Delay(Duration),
    /// Keep the data and answer success with `partial_success` set (`rejected` is
    /// `rejected_spans` for traces, `rejected_data_points` for metrics).
    PartialSuccess { rejected: i64, message: String },
}

/// The outcome of a behaviour, expressed for both transports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) http_status: u16,
    pub(crate) grpc_code: Code,
    /// Value for the HTTP `Retry-After` header.
    pub(crate) retry_after: Option<String>,
    /// Delay for gRPC `RetryInfo`.
    pub(crate) retry_delay: Option<Duration>,
}

impl Behavior {
    /// The error this behaviour answers with, or `None` when it keeps the data.
    pub(crate) fn failure(&self) -> Option<Failure> {
        match self {
            Behavior::HttpStatus {
                status,
                retry_after,
            } if !(200..300).contains(status) => Some(Failure {
                http_status: *status,
                grpc_code: http_to_grpc(*status),
                retry_after: retry_after.clone(),
                retry_delay: retry_after
                    .as_deref()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
            }),
            Behavior::GrpcStatus { code, retry_delay } if *code != Code::Ok => Some(Failure {
                http_status: grpc_to_http(*code),
                grpc_code: *code,
                retry_after: retry_delay.map(|d| d.as_secs_f64().ceil().to_string()),
                retry_delay: *retry_delay,
            }),
            _ => None,
        }
    }
}

/// HTTP status to the gRPC code a collector would use for the same condition.
pub(crate) fn http_to_grpc(status: u16) -> Code {
    match status {
        s if (200..300).contains(&s) => Code::Ok,
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        408 | 504 => Code::DeadlineExceeded,
        409 => Code::Aborted,
        413 | 429 => Code::ResourceExhausted,
        499 => Code::Cancelled,
        501 => Code::Unimplemented,
        502 | 503 => Code::Unavailable,
        s if (400..500).contains(&s) => Code::FailedPrecondition,
        s if (500..600).contains(&s) => Code::Internal,
        _ => Code::Unknown,
    }
}

/// gRPC code to the HTTP status with the same retry meaning.
pub(crate) fn grpc_to_http(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::Unauthenticated => 401,
        Code::PermissionDenied => 403,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::ResourceExhausted => 429,
        Code::Cancelled => 499,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::DeadlineExceeded => 504,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
    }
}

/// FIFO of behaviours plus the default used once it is empty.
#[derive(Default)]
pub(crate) struct Script {
    inner: Mutex<ScriptState>,
}

#[derive(Default)]
struct ScriptState {
    queue: VecDeque<Behavior>,
    default: Behavior,
}

impl Script {
    fn lock(&self) -> MutexGuard<'_, ScriptState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn next(&self) -> Behavior {
        let mut state = self.lock();
        match state.queue.pop_front() {
            Some(b) => b,
            None => state.default.clone(),
        }
    }

    pub(crate) fn push(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.lock().queue.extend(behaviors);
    }

    pub(crate) fn set_default(&self, behavior: Behavior) {
        self.lock().default = behavior;
    }

    /// Replaces the queue, and the default when one is given.
    pub(crate) fn replace(&self, queue: Vec<Behavior>, default: Option<Behavior>) {
        let mut state = self.lock();
        state.queue = queue.into();
        if let Some(d) = default {
            state.default = d;
        }
    }

    pub(crate) fn reset(&self) {
        *self.lock() = ScriptState::default();
    }
}

/// JSON form of a behaviour for `POST /control/script`, e.g.
/// `{"type":"http_status","status":503,"retry_after":"1"}`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum BehaviorSpec {
    Accept,
    HttpStatus {
        status: u16,
        #[serde(default)]
        retry_after: Option<String>,
    },
    GrpcStatus {
        code: CodeSpec,
        #[serde(default)]
        retry_delay_ms: Option<u64>,
    },
    Hang,
    Delay {
        ms: u64,
    },
    PartialSuccess {
        rejected: i64,
        #[serde(default)]
        message: String,
    },
}

/// A gRPC code as its number (14) or its canonical name ("UNAVAILABLE").
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum CodeSpec {
    Number(i32),
    Name(String),
}

/// Body of `POST /control/script`: a bare list (the new queue) or `{"queue": [...], "default": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ScriptSpec {
    Queue(Vec<BehaviorSpec>),
    Full {
        #[serde(default)]
        queue: Vec<BehaviorSpec>,
        #[serde(default)]
        default: Option<BehaviorSpec>,
    },
}

/// A script body that could not be turned into behaviours.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("invalid script JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unknown gRPC code {0:?}")]
    UnknownCode(String),
}

impl BehaviorSpec {
    fn into_behavior(self) -> Result<Behavior, ScriptError> {
        Ok(match self {
            BehaviorSpec::Accept => Behavior::Accept,
            BehaviorSpec::HttpStatus {
                status,
                retry_after,
            } => Behavior::HttpStatus {
                status,
                retry_after,
            },
            BehaviorSpec::GrpcStatus {
                code,
                retry_delay_ms,
            } => Behavior::GrpcStatus {
                code: code.into_code()?,
                retry_delay: retry_delay_ms.map(Duration::from_millis),
            },
            BehaviorSpec::Hang => Behavior::Hang,
            BehaviorSpec::Delay { ms } => Behavior::Delay(Duration::from_millis(ms)),
            BehaviorSpec::PartialSuccess { rejected, message } => {
                Behavior::PartialSuccess { rejected, message }
            }
        })
    }
}

impl CodeSpec {
    fn into_code(self) -> Result<Code, ScriptError> {
        match self {
            CodeSpec::Number(n) if (0..=16).contains(&n) => Ok(Code::from_i32(n)),
            CodeSpec::Number(n) => Err(ScriptError::UnknownCode(n.to_string())),
            CodeSpec::Name(name) => code_from_name(&name).ok_or(ScriptError::UnknownCode(name)),
        }
    }
}

fn code_from_name(name: &str) -> Option<Code> {
    const CODES: [(&str, Code); 17] = [
        ("OK", Code::Ok),
        ("CANCELLED", Code::Cancelled),
        ("UNKNOWN", Code::Unknown),
        ("INVALID_ARGUMENT", Code::InvalidArgument),
        ("DEADLINE_EXCEEDED", Code::DeadlineExceeded),
        ("NOT_FOUND", Code::NotFound),
        ("ALREADY_EXISTS", Code::AlreadyExists),
        ("PERMISSION_DENIED", Code::PermissionDenied),
        ("RESOURCE_EXHAUSTED", Code::ResourceExhausted),
        ("FAILED_PRECONDITION", Code::FailedPrecondition),
        ("ABORTED", Code::Aborted),
        ("OUT_OF_RANGE", Code::OutOfRange),
        ("UNIMPLEMENTED", Code::Unimplemented),
        ("INTERNAL", Code::Internal),
        ("UNAVAILABLE", Code::Unavailable),
        ("DATA_LOSS", Code::DataLoss),
        ("UNAUTHENTICATED", Code::Unauthenticated),
    ];
    CODES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, c)| *c)
}

/// Parses a `POST /control/script` body into (queue, optional default).
pub(crate) fn parse_script(body: &[u8]) -> Result<(Vec<Behavior>, Option<Behavior>), ScriptError> {
    let (queue, default) = match serde_json::from_slice::<ScriptSpec>(body)? {
        ScriptSpec::Queue(q) => (q, None),
        ScriptSpec::Full { queue, default } => (queue, default),
    };
    let queue = queue
        .into_iter()
        .map(BehaviorSpec::into_behavior)
        .collect::<Result<Vec<_>, _>>()?;
    let default = default.map(BehaviorSpec::into_behavior).transpose()?;
    Ok((queue, default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_parses_every_variant() {
        let body = br#"[
            {"type":"accept"},
            {"type":"http_status","status":429,"retry_after":"3"},
            {"type":"grpc_status","code":"unavailable","retry_delay_ms":1500},
            {"type":"grpc_status","code":8},
            {"type":"hang"},
            {"type":"delay","ms":20},
            {"type":"partial_success","rejected":2,"message":"bad"}
        ]"#;
        let (queue, default) = parse_script(body).unwrap();
        assert_eq!(default, None);
        assert_eq!(
            queue,
            vec![
                Behavior::Accept,
                Behavior::HttpStatus {
                    status: 429,
                    retry_after: Some("3".into())
                },
                Behavior::GrpcStatus {
                    code: Code::Unavailable,
                    retry_delay: Some(Duration::from_millis(1500))
                },
                Behavior::GrpcStatus {
                    code: Code::ResourceExhausted,
                    retry_delay: None
                },
                Behavior::Hang,
                Behavior::Delay(Duration::from_millis(20)),
                Behavior::PartialSuccess {
                    rejected: 2,
                    message: "bad".into()
                },
            ]
        );
    }

    #[test]
    fn script_object_form_sets_default() {
        let (queue, default) =
            parse_script(br#"{"default":{"type":"http_status","status":503}}"#).unwrap();
        assert!(queue.is_empty());
        assert_eq!(
            default,
            Some(Behavior::HttpStatus {
                status: 503,
                retry_after: None
            })
        );
    }

    #[test]
    fn bad_script_is_rejected() {
        assert!(parse_script(br#"[{"type":"grpc_status","code":"NOPE"}]"#).is_err());
        assert!(parse_script(br#"[{"type":"grpc_status","code":42}]"#).is_err());
        assert!(parse_script(br#"[{"type":"explode"}]"#).is_err());
    }

    #[test]
    fn throttling_maps_across_transports() {
        let f = Behavior::HttpStatus {
            status: 429,
            retry_after: Some("2".into()),
        }
        .failure()
        .unwrap();
        assert_eq!(f.grpc_code, Code::ResourceExhausted);
        assert_eq!(f.retry_delay, Some(Duration::from_secs(2)));

        let f = Behavior::GrpcStatus {
            code: Code::Unavailable,
            retry_delay: Some(Duration::from_millis(1200)),
        }
        .failure()
        .unwrap();
        assert_eq!(f.http_status, 503);
        assert_eq!(f.retry_after.as_deref(), Some("2"));

        assert_eq!(http_to_grpc(503), Code::Unavailable);
        assert_eq!(http_to_grpc(400), Code::InvalidArgument);
        assert_eq!(Behavior::Accept.failure(), None);
    }

    #[test]
    fn queue_is_consumed_before_default() {
        let script = Script::default();
        script.set_default(Behavior::Hang);
        script.push([Behavior::Accept]);
        assert_eq!(script.next(), Behavior::Accept);
        assert_eq!(script.next(), Behavior::Hang);
        script.reset();
        assert_eq!(script.next(), Behavior::Accept);
    }
}
