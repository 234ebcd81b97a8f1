//! Sampling decisions.

pub mod head;
pub mod tail;

pub use head::{ParentSampling, RootSampler, Sampler};
pub use tail::{TailConfig, TailStats};
