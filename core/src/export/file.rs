//! The local store exporter (the embedded default when no endpoint is set):
//! OTLP-JSON, one export request per line, rotated by size. The CLI reads it
//! and can replay it to a collector.

use std::sync::Mutex;

use super::{BoxFuture, Encodings, ExportBatch, ExportContext, ExportResult, SpanExporter};
use crate::config::StoreConfig;
use crate::store::{StoreOptions, StoreWriter};

pub struct FileExporter {
    writer: Mutex<StoreWriter>,
}

impl FileExporter {
    pub fn open(cfg: &StoreConfig) -> Result<Self, String> {
        let writer = StoreWriter::open(
            &cfg.dir,
            StoreOptions {
                max_file_bytes: cfg.max_file_bytes,
                max_total_bytes: cfg.max_total_bytes,
            },
        )
        .map_err(|e| format!("cannot open the local store {}: {e}", cfg.dir.display()))?;
        Ok(FileExporter {
            writer: Mutex::new(writer),
        })
    }
}

impl SpanExporter for FileExporter {
    fn name(&self) -> &'static str {
        "file"
    }

    fn encodings(&self) -> Encodings {
        Encodings::JSON
    }

    fn export<'a>(
        &'a self,
        batch: &'a ExportBatch,
        _ctx: ExportContext,
    ) -> BoxFuture<'a, ExportResult> {
        Box::pin(async move {
            let Ok(mut w) = self.writer.lock() else {
                return ExportResult::failed("local store writer poisoned", 0);
            };
            let Some(line) = batch.json_line() else {
                return ExportResult::failed("the batch was not encoded as OTLP-JSON", 0);
            };
            match w.append_line(line) {
                Ok(_) => ExportResult::ok(),
                Err(e) => ExportResult::failed(e.to_string(), 0),
            }
        })
    }
}
