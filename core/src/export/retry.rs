//! Retry classification and backoff, per the OTLP specification: HTTP 429,
//! 502, 503, 504 and connection failures are retried, everything else (400
//! above all) is not; gRPC retries UNAVAILABLE & co., and RESOURCE_EXHAUSTED
//! only when the server attached `RetryInfo`. Server-requested delays
//! (`Retry-After`, `RetryInfo`) are honoured; otherwise exponential backoff
//! with full jitter.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    No,
    /// Retry, after the server's requested delay if it gave one.
    After(Option<Duration>),
}

/// Exponential backoff with full jitter: uniform in [d/2, d], d = 100ms·2^n
/// capped at 5 s. Half-jitter keeps a floor so a flapping receiver is not hammered.
pub fn backoff(attempt: u32) -> Duration {
    let base = INITIAL_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    let ms = base.as_millis() as u64;
    Duration::from_millis(ms / 2 + fastrand::u64(0..=ms / 2))
}

/// The delay before the next attempt, or `None` when the deadline leaves no
/// room for one.
pub fn next_delay(
    retry_after: Option<Duration>,
    attempt: u32,
    deadline: Instant,
) -> Option<Duration> {
    let d = retry_after.unwrap_or_else(|| backoff(attempt));
    let now = Instant::now();
    (now + d < deadline).then_some(d)
}

/// After a failed attempt: sleeps until the next one and returns `None`, or
/// returns the final failure (not retryable, or no time left before `deadline`).
pub async fn wait_or_give_up(
    retry: Retry,
    error: String,
    attempt: &mut u32,
    deadline: Instant,
) -> Option<super::ExportResult> {
    match retry {
        Retry::No => Some(super::ExportResult::failed(error, *attempt)),
        Retry::After(server_delay) => match next_delay(server_delay, *attempt, deadline) {
            Some(d) => {
                tokio::time::sleep(d).await;
                *attempt += 1;
                None
            }
            None => Some(super::ExportResult::failed(
                format!("{error} (gave up retrying)"),
                *attempt,
            )),
        },
    }
}

/// HTTP status classification.
pub fn classify_http(status: u16, retry_after: Option<&str>) -> Retry {
    match status {
        429 | 502 | 503 | 504 => Retry::After(retry_after.and_then(parse_retry_after)),
        _ => Retry::No,
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// gRPC status classification.
pub fn classify_grpc(code: tonic::Code, retry_info: Option<Duration>) -> Retry {
    use tonic::Code::*;
    match code {
        Cancelled | DeadlineExceeded | Aborted | OutOfRange | Unavailable | DataLoss => {
            Retry::After(retry_info)
        }
        ResourceExhausted if retry_info.is_some() => Retry::After(retry_info),
        _ => Retry::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_classes() {
        assert_eq!(classify_http(400, None), Retry::No);
        assert_eq!(classify_http(401, None), Retry::No);
        assert_eq!(classify_http(500, None), Retry::No);
        assert_eq!(classify_http(503, None), Retry::After(None));
        assert_eq!(
            classify_http(429, Some("2")),
            Retry::After(Some(Duration::from_secs(2)))
        );
        let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        match classify_http(503, Some(&date)) {
            Retry::After(Some(d)) => {
                assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(28))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn grpc_classes() {
        assert_eq!(
            classify_grpc(tonic::Code::Unavailable, None),
            Retry::After(None)
        );
        assert_eq!(
            classify_grpc(tonic::Code::ResourceExhausted, None),
            Retry::No
        );
        assert_eq!(
            classify_grpc(tonic::Code::ResourceExhausted, Some(Duration::from_secs(1))),
            Retry::After(Some(Duration::from_secs(1)))
        );
        assert_eq!(classify_grpc(tonic::Code::InvalidArgument, None), Retry::No);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for a in 0..20 {
            let d = backoff(a);
            assert!(d <= MAX_BACKOFF);
            assert!(d >= INITIAL_BACKOFF / 2);
        }
        assert!(backoff(6) >= Duration::from_millis(2500));
    }
}
