//! tokentrace-core: the span model, queue, worker and exporters shared by
//! every tokentrace binding.

pub mod cost;
pub mod model;
