//! Records → encoded OTLP export requests, on the worker. Each span is
//! written straight into the batch's request body (protobuf, OTLP-JSON, or
//! both, as the configured exporters need), so a batch costs one buffer per
//! encoding instead of a tree of `opentelemetry_proto` structs, and its exact
//! size is known as it grows: batches are split below `max_batch_bytes`.

mod json;
mod proto;
mod replay;
pub(crate) mod room;

#[cfg(test)]
mod tests;

use bytes::Bytes;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::ExportBatch;
use crate::model::SpanRecord;
use crate::semconv::{MapOptions, SpanHeader};

pub(crate) use json::JsonEncoder;
pub(crate) use proto::ProtoEncoder;

/// Which request bodies an exporter sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Encodings {
    /// OTLP protobuf (`application/x-protobuf`, gRPC; decoded by the console
    /// and memory exporters).
    pub protobuf: bool,
    /// OTLP-JSON (`http/json`, the local store).
    pub json: bool,
}

impl Encodings {
    pub const PROTOBUF: Encodings = Encodings {
        protobuf: true,
        json: false,
    };
    pub const JSON: Encodings = Encodings {
        protobuf: false,
        json: true,
    };

    pub fn union(self, other: Encodings) -> Encodings {
        Encodings {
            protobuf: self.protobuf || other.protobuf,
            json: self.json || other.json,
        }
    }
}

/// Span bytes the first batch buffer is sized for (grows as needed).
const INITIAL_CAPACITY: usize = 64 * 1024;

/// The resource and scope, encoded once; reused for every batch.
pub struct Encoders {
    proto: Option<ProtoEncoder>,
    json: Option<JsonEncoder>,
    /// Sizes of the last full batch's buffers: the next one starts at that
    /// capacity instead of growing (and copying) its way up.
    last_len: (usize, usize),
    /// Buffers of sent batches (protobuf, JSON), written again by the next
    /// batch: a fresh multi-megabyte allocation per batch had its pages
    /// faulted in and zeroed by the kernel again (4% of the worker's time
    /// with mimalloc's defaults).
    spare: [Option<Vec<u8>>; 2],
}

impl Encoders {
    pub fn new(
        resource: &Resource,
        scope: &InstrumentationScope,
        want: Encodings,
    ) -> Result<Self, serde_json::Error> {
        Ok(Encoders {
            proto: want.protobuf.then(|| ProtoEncoder::new(resource, scope)),
            json: want
                .json
                .then(|| JsonEncoder::new(resource, scope))
                .transpose()?,
            last_len: (0, 0),
            spare: [None, None],
        })
    }

    /// Without the JSON encoder (when it cannot be prepared).
    pub(crate) fn protobuf_only(
        resource: &Resource,
        scope: &InstrumentationScope,
        want: Encodings,
    ) -> Self {
        Encoders {
            proto: want.protobuf.then(|| ProtoEncoder::new(resource, scope)),
            json: None,
            last_len: (0, 0),
            spare: [None, None],
        }
    }

    /// Starts the batches of one drain of the queue, whose records take
    /// about `approx_bytes` (0: unknown).
    pub fn batches(&mut self, max_bytes: usize, approx_bytes: usize) -> Batcher<'_> {
        Batcher {
            enc: self,
            max_bytes,
            first_capacity: INITIAL_CAPACITY.max(approx_bytes.min(max_bytes)),
            open: None,
            done: Vec::new(),
        }
    }

    /// Takes back the buffers of a batch every exporter is done with. A body
    /// still shared (an exporter kept a reference) is left alone, and so is
    /// one grown well past `max_bytes` (one oversized span does not keep
    /// its batch's memory).
    pub fn recycle(&mut self, batch: ExportBatch, max_bytes: usize) {
        for (slot, body) in self.spare.iter_mut().zip(batch.into_bodies()) {
            if let Some(mut buf) = body.and_then(|b| b.try_into_mut().ok()) {
                // Emptied first: the conversion then moves no bytes.
                buf.clear();
                let buf: Vec<u8> = buf.into();
                if buf.capacity() <= max_bytes.saturating_add(64 * 1024) {
                    *slot = Some(buf);
                }
            }
        }
    }
}

/// The batch being written.
struct Open {
    proto: Vec<u8>,
    json: Vec<u8>,
    spans: usize,
}

/// Writes spans into batches of at most `max_bytes` per request body (a
/// single larger span still goes out, alone).
pub struct Batcher<'a> {
    enc: &'a mut Encoders,
    max_bytes: usize,
    /// Capacity of the first buffer when no earlier batch gave a size.
    first_capacity: usize,
    open: Option<Open>,
    done: Vec<ExportBatch>,
}

impl Batcher<'_> {
    fn begin(&mut self, min_capacity: usize) -> Open {
        let (p, j) = self.enc.last_len;
        let max = self.max_bytes.saturating_add(1024);
        let cap = |last: usize| min_capacity.max(last).min(max);
        let [sp, sj] = &mut self.enc.spare;
        let (sp, sj) = (sp.take().unwrap_or_default(), sj.take().unwrap_or_default());
        Open {
            proto: self
                .enc
                .proto
                .as_ref()
                .map_or_else(Vec::new, |e| e.begin(sp, cap(p))),
            json: self
                .enc
                .json
                .as_ref()
                .map_or_else(Vec::new, |e| e.begin(sj, cap(j))),
            spans: 0,
        }
    }

    fn size(&self, open: &Open) -> usize {
        let p = self
            .enc
            .proto
            .as_ref()
            .map_or(0, |e| e.request_len(&open.proto));
        let j = self
            .enc
            .json
            .as_ref()
            .map_or(0, |e| e.request_len(&open.json));
        p.max(j)
    }

    fn seal(&mut self, open: Open) {
        self.enc.last_len = (open.proto.len(), open.json.len());
        let proto: Option<Bytes> = self.enc.proto.as_ref().map(|e| e.finish(open.proto));
        let json: Option<Bytes> = self.enc.json.as_ref().map(|e| e.finish(open.json));
        self.done
            .push(ExportBatch::encoded(open.spans, proto, json));
    }

    /// Appends `r`, mapped with `opts`.
    pub fn push(&mut self, r: &SpanRecord, opts: MapOptions, h: &SpanHeader<'_>) {
        let mut open = match self.open.take() {
            Some(o) => o,
            None => self.begin(self.first_capacity),
        };
        let marks = (open.proto.len(), open.json.len());
        if let Some(e) = self.enc.proto.as_mut() {
            e.span(&mut open.proto, r, opts, h);
        }
        if let Some(e) = self.enc.json.as_mut() {
            e.span(&mut open.json, r, opts, h);
        }
        if open.spans > 0 && self.size(&open) > self.max_bytes {
            // This span goes first in a new batch; the others leave as they were.
            let mut next = self.begin(INITIAL_CAPACITY.max(open.proto.len() - marks.0));
            if self.enc.proto.is_some() {
                next.proto.extend_from_slice(&open.proto[marks.0..]);
                open.proto.truncate(marks.0);
            }
            if let Some(e) = self.enc.json.as_ref() {
                let from = e.span_start(marks.1);
                next.json.extend_from_slice(&open.json[from..]);
                open.json.truncate(marks.1);
            }
            next.spans = 1;
            self.seal(open);
            self.open = Some(next);
        } else {
            open.spans += 1;
            self.open = Some(open);
        }
    }

    /// The batches, in order.
    pub fn finish(mut self) -> Vec<ExportBatch> {
        if let Some(open) = self.open.take()
            && open.spans > 0
        {
            self.seal(open);
        }
        self.done
    }
}
