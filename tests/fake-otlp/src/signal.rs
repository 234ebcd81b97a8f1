//! What differs between the OTLP signals the receiver accepts (traces, metrics): the request
//! and response types, the partial-success shape and where accepted requests are stored.
//! Both transports are written once against [`ExportRequest`].

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::capture::{Capture, Received};

/// An OTLP signal. Each has its own script, attempt count and store, so a periodic metrics
/// export never consumes a behaviour a test scripted for its traces (and vice versa).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Signal {
    Traces,
    Metrics,
}

impl Signal {
    /// Value of `?signal=` in the control API.
    pub(crate) fn from_name(name: &str) -> Option<Signal> {
        match name {
            "traces" => Some(Signal::Traces),
            "metrics" => Some(Signal::Metrics),
            _ => None,
        }
    }
}

/// An export request type of one signal.
pub(crate) trait ExportRequest:
    prost::Message + Default + Serialize + DeserializeOwned + Clone + Send + Sync + 'static
{
    type Response: prost::Message + Serialize;
    const SIGNAL: Signal;

    /// The success answer, with `partial_success` when some items were "rejected".
    fn response(partial: Option<(i64, String)>) -> Self::Response;

    /// Keeps an accepted request in the signal's store.
    fn store(capture: &Capture, received: Received<Self>);
}

impl ExportRequest for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    const SIGNAL: Signal = Signal::Traces;

    fn response(partial: Option<(i64, String)>) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: partial.map(|(rejected, message)| ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message,
            }),
        }
    }

    fn store(capture: &Capture, received: Received<Self>) {
        capture.record_traces(received);
    }
}

impl ExportRequest for ExportMetricsServiceRequest {
    type Response = ExportMetricsServiceResponse;
    const SIGNAL: Signal = Signal::Metrics;

    fn response(partial: Option<(i64, String)>) -> Self::Response {
        ExportMetricsServiceResponse {
            partial_success: partial.map(|(rejected, message)| ExportMetricsPartialSuccess {
                rejected_data_points: rejected,
                error_message: message,
            }),
        }
    }

    fn store(capture: &Capture, received: Received<Self>) {
        capture.record_metrics(received);
    }
}
