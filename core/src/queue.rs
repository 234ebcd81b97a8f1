//! The bounded lock-free queue between application threads and the worker.
//! Bounded by record count (the ring) and by approximate bytes (an atomic
//! budget), because LLM spans carry prompts: a count bound alone lets a queue
//! of large records grow to hundreds of MiB.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_queue::ArrayQueue;

use crate::model::SpanRecord;

/// Why a record was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The ring is full.
    Full,
    /// The byte budget is used up.
    Bytes,
    /// The record alone is larger than the whole byte budget.
    Oversize,
}

struct Entry {
    record: SpanRecord,
    bytes: usize,
}

pub struct RecordQueue {
    ring: ArrayQueue<Entry>,
    bytes: AtomicUsize,
    max_bytes: usize,
}

impl RecordQueue {
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        RecordQueue {
            ring: ArrayQueue::new(capacity.max(1)),
            bytes: AtomicUsize::new(0),
            max_bytes: max_bytes.max(1),
        }
    }

    /// Never blocks. Returns the queue length after the push.
    pub fn push(&self, record: SpanRecord) -> Result<usize, PushError> {
        let bytes = record.approx_bytes();
        if bytes > self.max_bytes {
            return Err(PushError::Oversize);
        }
        let before = self.bytes.fetch_add(bytes, Ordering::AcqRel);
        if before + bytes > self.max_bytes {
            self.bytes.fetch_sub(bytes, Ordering::AcqRel);
            return Err(PushError::Bytes);
        }
        match self.ring.push(Entry { record, bytes }) {
            Ok(()) => Ok(self.ring.len()),
            Err(_) => {
                self.bytes.fetch_sub(bytes, Ordering::AcqRel);
                Err(PushError::Full)
            }
        }
    }

    pub fn pop(&self) -> Option<(SpanRecord, usize)> {
        let e = self.ring.pop()?;
        self.bytes.fetch_sub(e.bytes, Ordering::AcqRel);
        Some((e.record, e.bytes))
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_count_and_bytes() {
        let q = RecordQueue::new(2, 1 << 20);
        assert!(q.push(SpanRecord::new("a")).is_ok());
        assert!(q.push(SpanRecord::new("b")).is_ok());
        assert_eq!(q.push(SpanRecord::new("c")), Err(PushError::Full));
        assert_eq!(q.pop().unwrap().0.name.as_ref(), "a");

        let q = RecordQueue::new(100, 1000);
        let mut big = SpanRecord::new("x");
        big.name = "y".repeat(2000).into();
        assert_eq!(q.push(big), Err(PushError::Oversize));
        let mut mid = SpanRecord::new("x");
        mid.name = "y".repeat(500).into();
        assert!(q.push(mid.clone()).is_ok());
        assert_eq!(q.push(mid), Err(PushError::Bytes));
        q.pop();
        assert_eq!(q.bytes(), 0);
    }
}
