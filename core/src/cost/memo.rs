//! Per-worker memo of price lookups. Resolving a model name builds its
//! candidate names (lowercased, de-prefixed, de-dated) and probes the table
//! several times; a process calls a handful of models, so the worker resolves
//! each `(provider, model)` pair once and reads the result back afterwards.

use std::collections::HashMap;

use super::{CallCost, ModelPrice, PriceTable};
use crate::fasthash::FastState;
use crate::model::{LlmCall, Str, Usage};

/// Distinct `(provider, model)` pairs kept; beyond, the memo starts over, so
/// a stream of made-up model names cannot grow it without bound.
const MAX_ENTRIES: usize = 1024;

/// Lookups of one [`PriceTable`], by provider then model name.
#[derive(Default)]
pub(crate) struct PriceMemo {
    by_provider: HashMap<Str, HashMap<Str, Option<ModelPrice>, FastState>, FastState>,
    entries: usize,
    /// The last lookup: consecutive calls mostly use one model, and two
    /// short comparisons cost less than hashing both names again.
    last: Option<(Str, Str, Option<ModelPrice>)>,
}

impl PriceMemo {
    /// `table.lookup(provider, model)`, memoised.
    fn lookup(&mut self, table: &PriceTable, provider: &Str, model: &Str) -> Option<ModelPrice> {
        if let Some((p, m, price)) = &self.last
            && m == model
            && p == provider
        {
            return *price;
        }
        let price = self.lookup_map(table, provider, model);
        self.last = Some((provider.clone(), model.clone(), price));
        price
    }

    fn lookup_map(
        &mut self,
        table: &PriceTable,
        provider: &Str,
        model: &Str,
    ) -> Option<ModelPrice> {
        if let Some(hit) = self
            .by_provider
            .get(provider.as_ref())
            .and_then(|m| m.get(model.as_ref()))
        {
            return *hit;
        }
        let price = table.lookup(provider, model).copied();
        if self.entries >= MAX_ENTRIES {
            self.by_provider.clear();
            self.entries = 0;
        }
        self.by_provider
            .entry(provider.clone())
            .or_default()
            .insert(model.clone(), price);
        self.entries += 1;
        price
    }

    /// [`PriceTable::price_call_with`], with memoised lookups.
    pub(crate) fn price_call(&mut self, table: &PriceTable, call: &LlmCall) -> CallCost {
        self.price_call_with(table, call, &call.usage)
    }

    fn price_call_with(&mut self, table: &PriceTable, call: &LlmCall, usage: &Usage) -> CallCost {
        if !call.operation.is_inference() || usage.is_empty() {
            return CallCost::NoUsage;
        }
        let price = [&call.response_model, &call.request_model]
            .into_iter()
            .flatten()
            .find_map(|model| self.lookup(table, &call.provider, model));
        match price {
            Some(price) => CallCost::Priced(price.cost(usage)),
            None => CallCost::UnknownModel,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LlmCall, Operation};

    #[test]
    fn memoised_prices_match_the_table_and_the_memo_stays_bounded() {
        let table = PriceTable::builtin();
        let mut memo = PriceMemo::default();
        let mut call = LlmCall::new("openai", Operation::Chat);
        call.usage.input_tokens = Some(1_000);
        call.usage.output_tokens = Some(10);
        for model in [
            "gpt-4o-2024-08-06",
            "gpt-4o-mini",
            "no-such-model",
            "gpt-4o-2024-08-06",
        ] {
            call.request_model = Some(model.into());
            assert_eq!(
                memo.price_call(table, &call),
                table.price_call(&call),
                "{model}"
            );
        }
        call.response_model = Some("gpt-4o-mini-2024-07-18".into());
        assert_eq!(memo.price_call(table, &call), table.price_call(&call));
        call.request_model = None;
        for i in 0..(MAX_ENTRIES + 10) {
            call.response_model = Some(format!("model-{i}").into());
            assert_eq!(memo.price_call(table, &call), CallCost::UnknownModel);
        }
        assert!(memo.entries <= MAX_ENTRIES);
    }
}
