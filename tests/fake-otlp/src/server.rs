//! Runtime ownership: one background thread runs a tokio runtime serving both listeners.
//!
//! Stopping drops the runtime, which drops every task, including requests that were
//! scripted to hang; that is what lets `stop()` return promptly and free the ports.

use std::fs::File;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::behavior::Script;
use crate::capture::{Capture, Received};
use crate::signal::{ExportRequest, Signal};
use crate::{Error, Options, grpc, http};

/// State shared by both transports and the public handle.
pub(crate) struct Shared {
    pub(crate) capture: Capture,
    traces_script: Script,
    metrics_script: Script,
    pub(crate) max_http_body_bytes: usize,
    pub(crate) max_grpc_message_bytes: usize,
    sink: Option<Mutex<File>>,
}

impl Shared {
    /// The behaviour queue of `signal`; each signal has its own.
    pub(crate) fn script(&self, signal: Signal) -> &Script {
        match signal {
            Signal::Traces => &self.traces_script,
            Signal::Metrics => &self.metrics_script,
        }
    }

    /// Stores an accepted request (and appends it to the output file, if any: one
    /// OTLP-JSON request per line, told apart by `resourceSpans` / `resourceMetrics` as in
    /// the Collector's file exporter).
    pub(crate) fn accept<R: ExportRequest>(&self, received: Received<R>) {
        if let Some(sink) = &self.sink {
            let mut line = match serde_json::to_vec(&received.request) {
                Ok(line) => line,
                Err(e) => {
                    eprintln!("fake-otlp: cannot encode request as JSON: {e}");
                    Vec::new()
                }
            };
            if !line.is_empty() {
                line.push(b'\n');
                let mut file = sink.lock().unwrap_or_else(PoisonError::into_inner);
                // One write per line so concurrent readers never see a partial record.
                if let Err(e) = file.write_all(&line).and_then(|()| file.flush()) {
                    eprintln!("fake-otlp: cannot write output file: {e}");
                }
            }
        }
        R::store(&self.capture, received);
    }
}

/// A started receiver: the bound addresses and the thread that owns the runtime.
pub(crate) struct Running {
    pub(crate) shared: Arc<Shared>,
    pub(crate) http_addr: SocketAddr,
    pub(crate) grpc_addr: SocketAddr,
    stop: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

fn bind(port: Option<u16>) -> Result<TcpListener, Error> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(0)));
    let listener = TcpListener::bind(addr).map_err(|source| Error::Bind { addr, source })?;
    listener.set_nonblocking(true).map_err(Error::Io)?;
    Ok(listener)
}

impl Running {
    pub(crate) fn start(options: Options) -> Result<Self, Error> {
        // Bind on the caller's thread so a taken port is reported by `start`, not lost.
        let http_listener = bind(options.http_port)?;
        let grpc_listener = bind(options.grpc_port)?;
        let http_addr = http_listener.local_addr().map_err(Error::Io)?;
        let grpc_addr = grpc_listener.local_addr().map_err(Error::Io)?;

        let sink = match &options.out_file {
            Some(path) => Some(Mutex::new(
                File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| Error::OutFile {
                        path: path.clone(),
                        source,
                    })?,
            )),
            None => None,
        };
        let shared = Arc::new(Shared {
            capture: Capture::default(),
            traces_script: Script::default(),
            metrics_script: Script::default(),
            max_http_body_bytes: options.max_http_body_bytes,
            max_grpc_message_bytes: options.max_grpc_message_bytes,
            sink,
        });

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-otlp-worker")
            .enable_all()
            .build()
            .map_err(Error::Io)?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-otlp".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let http = tokio::net::TcpListener::from_std(http_listener);
                    let grpc = tokio::net::TcpListener::from_std(grpc_listener);
                    match (http, grpc) {
                        (Ok(http), Ok(grpc)) => {
                            tokio::spawn(http::serve(http, Arc::clone(&task_shared)));
                            tokio::spawn(grpc::serve(grpc, task_shared));
                            // Resolves on stop() or when the handle is dropped.
                            let _ = stop_rx.await;
                        }
                        (Err(e), _) | (_, Err(e)) => {
                            eprintln!("fake-otlp: cannot register listener: {e}");
                        }
                    }
                });
                // Drops all tasks (hanging requests included) and closes the sockets.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(Error::Io)?;

        Ok(Running {
            shared,
            http_addr,
            grpc_addr,
            stop: Mutex::new(Some((stop_tx, thread))),
        })
    }

    /// Idempotent; returns once both ports are closed.
    pub(crate) fn stop(&self) {
        let taken = self
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((tx, thread)) = taken {
            let _ = tx.send(());
            if thread.join().is_err() {
                eprintln!("fake-otlp: server thread panicked");
            }
        }
    }
}
