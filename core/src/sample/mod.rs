//! Sampling decisions.

pub mod head;

pub use head::{ParentSampling, RootSampler, Sampler};
