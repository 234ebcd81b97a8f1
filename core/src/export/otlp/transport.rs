//! The HTTP client under the OTLP/HTTP exporter.
//!
//! `https://` endpoints go through reqwest (rustls). Plain `http://`
//! endpoints — mostly a collector on the same host or in the same pod — go
//! through hyper's pooled client (the one reqwest wraps) over a connector of
//! our own. It does what reqwest's does (`TCP_NODELAY`, a connect timeout, no
//! proxy) and one thing more: a connection to a loopback address gets the
//! socket's congestion control set to cubic. Loopback has no path to probe,
//! but a host that sends TCP with BBR paces even loopback sends, which cost
//! the export thread ~10% more CPU per span in `bench/pipeline`
//! (bench/README: "The host's TCP congestion control"). Only this socket
//! changes, never the host's setting; where the kernel refuses, the socket
//! keeps the host's default.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use hyper::header::{HeaderMap, RETRY_AFTER};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

/// Congestion controls tried, in order, on a loopback connection: cubic
/// (most hosts' default), then reno, which every Linux kernel has and lets
/// unprivileged processes choose.
const LOOPBACK_CONGESTION: &[&[u8]] = &[b"cubic", b"reno"];

/// The most of an answer's body read (a partial-success message or an error
/// text); a receiver that sends more is cut there.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// What the receiver answered.
pub(super) struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Bytes,
}

/// Sends the exporter's POSTs.
pub(super) enum Client {
    /// reqwest, for `https://` endpoints.
    Tls(reqwest::Client),
    /// hyper over [`Connector`], for plain `http://` endpoints.
    Plain(Box<Plain>),
}

pub(super) struct Plain {
    client: hyper_util::client::legacy::Client<Connector, Full<Bytes>>,
    /// Sent with every request (content type, user agent, the user's headers).
    headers: HeaderMap,
    timeout: Duration,
}

impl Client {
    /// A plain client when every endpoint is `http://`.
    pub(super) fn new(
        endpoints: [&str; 2],
        headers: HeaderMap,
        timeout: Duration,
    ) -> Result<Client, String> {
        let connect_timeout = timeout.min(Duration::from_secs(5));
        if endpoints.iter().all(|e| e.starts_with("http://")) {
            let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(Connector::plain(connect_timeout));
            return Ok(Client::Plain(Box::new(Plain {
                client,
                headers,
                timeout,
            })));
        }
        reqwest::Client::builder()
            .default_headers(headers)
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            // Proxies from the environment would leak telemetry to a proxy the
            // user configured for other traffic.
            .no_proxy()
            .build()
            .map(Client::Tls)
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }

    /// POSTs `body` to `url`; `Err` when no answer came (refused, reset,
    /// timed out), with the error's causes.
    pub(super) async fn post(&self, url: &str, body: Bytes) -> Result<Answer, String> {
        match self {
            Client::Tls(c) => {
                let resp = c
                    .post(url)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| super::error_chain(&e))?;
                let status = resp.status().as_u16();
                let retry_after = retry_after(resp.headers());
                let body = resp.bytes().await.unwrap_or_default();
                Ok(Answer {
                    status,
                    retry_after,
                    body,
                })
            }
            Client::Plain(p) => match tokio::time::timeout(p.timeout, p.post(url, body)).await {
                Ok(answer) => answer,
                Err(_) => Err(format!("no answer within {:?}", p.timeout)),
            },
        }
    }
}

impl Plain {
    async fn post(&self, url: &str, body: Bytes) -> Result<Answer, String> {
        let uri: Uri = url.parse().map_err(|e| format!("endpoint {url:?}: {e}"))?;
        let mut req = hyper::Request::post(uri)
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        req.headers_mut().extend(self.headers.clone());
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| super::error_chain(&e))?;
        let status = resp.status().as_u16();
        let retry_after = retry_after(resp.headers());
        let body = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }
}

fn retry_after(headers: &HeaderMap) -> Option<String> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// hyper's TCP connector, then the loopback socket's congestion control.
/// Also under the gRPC exporter's plain-HTTP/2 channel.
#[derive(Clone)]
pub(super) struct Connector {
    http: HttpConnector,
    congestion: &'static [&'static [u8]],
}

impl Connector {
    /// `TCP_NODELAY` (as reqwest and tonic set it), and the timeout to connect.
    pub(super) fn plain(connect_timeout: Duration) -> Connector {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        Connector {
            http,
            congestion: LOOPBACK_CONGESTION,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Connecting = Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, BoxError>> + Send>>;

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.http.call(uri);
        let congestion = self.congestion;
        Box::pin(async move {
            let io = connecting.await?;
            loopback_congestion(io.inner(), congestion);
            Ok(io)
        })
    }
}

/// On a loopback connection, the first of `names` the kernel accepts.
fn loopback_congestion(stream: &TcpStream, names: &[&[u8]]) {
    #[cfg(target_os = "linux")]
    if stream.peer_addr().is_ok_and(|a| a.ip().is_loopback()) {
        let sock = socket2::SockRef::from(stream);
        for name in names {
            if sock.set_tcp_congestion(name).is_ok() {
                return;
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (stream, names);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tower_service::Service;

    /// The congestion control of the socket `names` left on a loopback connection.
    async fn chosen(names: &'static [&'static [u8]]) -> Vec<u8> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri: Uri = format!("http://{}/", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let mut c = Connector {
            http: HttpConnector::new(),
            congestion: names,
        };
        let io = c.call(uri).await.unwrap();
        let mut name = socket2::SockRef::from(io.inner()).tcp_congestion().unwrap();
        // The kernel pads the name with NULs.
        name.retain(|&c| c != 0);
        name
    }

    #[tokio::test]
    async fn a_loopback_connection_gets_the_congestion_control_asked_for() {
        // reno: never the host's default here, so the test sees the change.
        assert_eq!(chosen(&[b"reno"]).await, b"reno");
        // A name the kernel does not know is passed over.
        assert_eq!(chosen(&[b"no-such-cc", b"reno"]).await, b"reno");
        let default = chosen(LOOPBACK_CONGESTION).await;
        assert!(
            default == b"cubic" || default == b"reno",
            "{}",
            String::from_utf8_lossy(&default)
        );
    }
}
