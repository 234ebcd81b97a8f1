//! The bounded lock-free queue between application threads and the worker.
//! Bounded by record count and by approximate bytes (atomic budgets), because
//! LLM spans carry prompts: a count bound alone lets a queue of large records
//! grow to hundreds of MiB. Built on crossbeam's `SegQueue`, which allocates
//! in small segments as it fills, so a generous count bound (for bursts)
//! costs no memory until it is used.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_queue::SegQueue;

use crate::model::SpanRecord;

/// Why a record was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The count bound is reached.
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
    items: SegQueue<Entry>,
    len: AtomicUsize,
    bytes: AtomicUsize,
    capacity: usize,
    max_bytes: usize,
}

impl RecordQueue {
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        RecordQueue {
            items: SegQueue::new(),
            len: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            capacity: capacity.max(1),
            max_bytes: max_bytes.max(1),
        }
    }

    /// Never blocks. Returns the queue's length and bytes after the push.
    pub fn push(&self, record: SpanRecord) -> Result<(usize, usize), PushError> {
        let bytes = record.approx_bytes();
        if bytes > self.max_bytes {
            return Err(PushError::Oversize);
        }
        let len = self.len.fetch_add(1, Ordering::AcqRel) + 1;
        if len > self.capacity {
            self.len.fetch_sub(1, Ordering::AcqRel);
            return Err(PushError::Full);
        }
        let before = self.bytes.fetch_add(bytes, Ordering::AcqRel);
        if before + bytes > self.max_bytes {
            self.bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.len.fetch_sub(1, Ordering::AcqRel);
            return Err(PushError::Bytes);
        }
        self.items.push(Entry { record, bytes });
        Ok((len, before + bytes))
    }

    pub fn pop(&self) -> Option<(SpanRecord, usize)> {
        let e = self.items.pop()?;
        self.bytes.fetch_sub(e.bytes, Ordering::AcqRel);
        self.len.fetch_sub(1, Ordering::AcqRel);
        Some((e.record, e.bytes))
    }

    /// Records accepted and not yet popped (a push in progress counts).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
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
        assert_eq!(q.len(), 1);

        let q = RecordQueue::new(100, 1000);
        let mut big = SpanRecord::new("x");
        big.name = "y".repeat(2000).into();
        assert_eq!(q.push(big), Err(PushError::Oversize));
        let mid = || {
            let mut r = SpanRecord::new("x");
            r.name = "y".repeat(500).into(); // a distinct allocation each time
            r
        };
        assert!(q.push(mid()).is_ok());
        assert_eq!(q.push(mid()), Err(PushError::Bytes));
        assert_eq!(q.len(), 1, "a refused push leaves no trace");
        q.pop();
        assert_eq!((q.bytes(), q.len()), (0, 0));
    }

    #[test]
    fn concurrent_producers_respect_the_bound() {
        let q = std::sync::Arc::new(RecordQueue::new(1000, usize::MAX));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || {
                    (0..1000)
                        .filter(|_| q.push(SpanRecord::new("s")).is_ok())
                        .count()
                })
            })
            .collect();
        let accepted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(accepted, 1000);
        assert_eq!(q.len(), 1000);
    }
}
