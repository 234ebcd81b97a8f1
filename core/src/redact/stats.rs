//! Redaction counters: updated by the worker with relaxed atomics, read as a
//! plain snapshot by the core's `stats()`.

use std::sync::atomic::{AtomicU64, Ordering};

use super::PiiKind;

/// Snapshot of what the redactor has done since it was built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactStats {
    pub email: u64,
    pub phone: u64,
    pub card: u64,
    pub ssn: u64,
    pub iban: u64,
    pub ip: u64,
    pub secret: u64,
    /// Matches of each custom rule, by label, in configuration order.
    pub custom: Vec<(String, u64)>,
    /// Values masked whole because of their key (`api_key`, `Authorization`...).
    pub masked_values: u64,
    /// Texts cut at `max_text_bytes`.
    pub truncated_texts: u64,
    /// Original bytes dropped by truncation.
    pub truncated_bytes: u64,
}

impl RedactStats {
    /// Count for one built-in kind.
    pub fn get(&self, kind: PiiKind) -> u64 {
        match kind {
            PiiKind::Email => self.email,
            PiiKind::Phone => self.phone,
            PiiKind::Card => self.card,
            PiiKind::Ssn => self.ssn,
            PiiKind::Iban => self.iban,
            PiiKind::Ip => self.ip,
            PiiKind::Secret => self.secret,
        }
    }

    /// All replacements made in text (built-in and custom), not counting masked values.
    pub fn total_redactions(&self) -> u64 {
        PiiKind::ALL.iter().map(|&k| self.get(k)).sum::<u64>()
            + self.custom.iter().map(|(_, n)| n).sum::<u64>()
    }
}

#[derive(Debug)]
pub(crate) struct Counters {
    kinds: [AtomicU64; PiiKind::ALL.len()],
    custom: Box<[AtomicU64]>,
    labels: Box<[String]>,
    masked_values: AtomicU64,
    truncated_texts: AtomicU64,
    truncated_bytes: AtomicU64,
}

impl Counters {
    pub(crate) fn new(labels: Vec<String>) -> Self {
        Counters {
            kinds: Default::default(),
            custom: labels.iter().map(|_| AtomicU64::new(0)).collect(),
            labels: labels.into_boxed_slice(),
            masked_values: AtomicU64::new(0),
            truncated_texts: AtomicU64::new(0),
            truncated_bytes: AtomicU64::new(0),
        }
    }

    pub(crate) fn kind(&self, kind: PiiKind) {
        self.kinds[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn custom(&self, index: usize) {
        if let Some(c) = self.custom.get(index) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn masked_value(&self) {
        self.masked_values.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn truncated(&self, bytes: usize) {
        self.truncated_texts.fetch_add(1, Ordering::Relaxed);
        self.truncated_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RedactStats {
        let k = |kind: PiiKind| self.kinds[kind as usize].load(Ordering::Relaxed);
        RedactStats {
            email: k(PiiKind::Email),
            phone: k(PiiKind::Phone),
            card: k(PiiKind::Card),
            ssn: k(PiiKind::Ssn),
            iban: k(PiiKind::Iban),
            ip: k(PiiKind::Ip),
            secret: k(PiiKind::Secret),
            custom: self
                .labels
                .iter()
                .cloned()
                .zip(self.custom.iter().map(|c| c.load(Ordering::Relaxed)))
                .collect(),
            masked_values: self.masked_values.load(Ordering::Relaxed),
            truncated_texts: self.truncated_texts.load(Ordering::Relaxed),
            truncated_bytes: self.truncated_bytes.load(Ordering::Relaxed),
        }
    }
}
