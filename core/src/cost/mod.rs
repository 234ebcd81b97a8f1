//! Cost of model calls and token estimates, computed on the worker.
//!
//! - [`PriceTable`]: the built-in table (`prices.json`, dated by
//!   [`PriceTable::checked`]), user tables from code or `TOKENTRACE_PRICES`
//!   ([`PriceTable::from_json`], [`PriceTable::load_file`]) layered with
//!   [`PriceTable::with_overrides`], and `(provider, model)` lookup that
//!   resolves dated, prefixed, Bedrock and Vertex names but never guesses.
//! - [`ModelPrice::cost`]: dollars from a normalised [`Usage`], each token
//!   once at its own rate (cache reads and writes are subsets of input,
//!   reasoning a subset of output: the double-count peers ship).
//! - [`estimate_tokens`] / [`estimate_usage`]: counts for calls that came
//!   back without usage, flagged as estimated.

mod error;
mod estimate;
mod memo;
mod price;
mod resolve;
mod table;

use std::sync::OnceLock;

pub use error::CostError;
pub use estimate::{estimate_tokens, estimate_usage};
pub use price::{Cost, LongContext, ModelPrice, PriceMode, Rates};
pub use table::{PriceTable, Resolved};

pub(crate) use memo::PriceMemo;

use crate::model::{LlmCall, Usage};

/// The built-in price document, compiled in: pricing never touches the
/// network or the file system unless the user points at a file.
pub const BUILTIN_PRICES_JSON: &str = include_str!("prices.json");

/// What pricing one call came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CallCost {
    Priced(Cost),
    /// Not a model inference, or no token counts (provider or estimated).
    NoUsage,
    /// No model name, or one the table does not know: no cost is attached
    /// and the caller counts it (`stats()`), so missing prices are visible.
    UnknownModel,
}

impl PriceTable {
    /// The built-in table, parsed on first use and shared.
    pub fn builtin() -> &'static PriceTable {
        static BUILTIN: OnceLock<PriceTable> = OnceLock::new();
        // A unit test parses the document, so the empty fallback is never
        // expected; it keeps a broken build from panicking in an app.
        BUILTIN.get_or_init(|| PriceTable::from_json(BUILTIN_PRICES_JSON).unwrap_or_default())
    }

    /// Prices a call with its own usage. The response model (usually the
    /// dated snapshot that actually answered) is tried first, then the
    /// requested one (an Azure deployment name may be all a response has).
    pub fn price_call(&self, call: &LlmCall) -> CallCost {
        self.price_call_with(call, &call.usage)
    }

    /// Like [`price_call`](Self::price_call) with usage from elsewhere, such
    /// as the result of [`estimate_usage`].
    pub fn price_call_with(&self, call: &LlmCall, usage: &Usage) -> CallCost {
        if !call.operation.is_inference() || usage.is_empty() {
            return CallCost::NoUsage;
        }
        let price = [&call.response_model, &call.request_model]
            .into_iter()
            .flatten()
            .find_map(|model| self.lookup(&call.provider, model));
        match price {
            Some(price) => CallCost::Priced(price.cost(usage)),
            None => CallCost::UnknownModel,
        }
    }
}

#[cfg(test)]
mod tests;
