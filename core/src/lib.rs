//! tokentrace-core: the span model, queue, worker, redaction, sampling, cost,
//! OTLP export and local store shared by every tokentrace binding.
//!
//! ```no_run
//! use std::time::Duration;
//! use tokentrace_core::{Config, Tracer, SpanRecord};
//!
//! let tracer = Tracer::new(Config::from_env()).expect("valid config");
//! tracer.record(SpanRecord::new("answer_question"));
//! tracer.shutdown(Duration::from_secs(5)).ok();
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod config;
pub mod cost;
pub mod diag;
pub mod error;
pub mod export;
mod fasthash;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod providers;
pub mod queue;
pub mod redact;
pub mod sample;
pub mod semconv;
pub mod signals;
pub mod store;

pub use config::{Config, ConfigBuilder, ExporterKind, Protocol};
pub use error::{ConfigError, Error, LifecycleError};
pub use export::memory::FinishedSpan;
pub use model::*;
pub use pipeline::stats::{DropReason, Stats};
pub use pipeline::{ExporterFactory, ShutdownReport, Tracer};
pub use sample::{ParentSampling, Sampler};
