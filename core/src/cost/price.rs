//! The price of one model and the arithmetic that turns a normalised
//! [`Usage`] into dollars, counting every token exactly once.

use crate::model::Usage;

/// USD per million tokens for each token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Input tokens that were neither read from nor written to a cache.
    pub input: f64,
    /// Visible output tokens (output minus reasoning).
    pub output: f64,
    /// Input tokens served from the prompt cache.
    pub cache_read: f64,
    /// Input tokens written to the prompt cache (Anthropic's 5-minute write).
    pub cache_write: f64,
    /// Reasoning ("thinking") tokens, a subset of output.
    pub reasoning: f64,
}

/// A higher rate for the whole request once its input passes a size, as
/// Anthropic (1M-context Sonnet) and Gemini Pro bill long prompts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LongContext {
    /// The tier applies when `Usage::input_tokens` is strictly above this.
    pub above_input_tokens: u64,
    pub rates: Rates,
}

/// Whether output tokens are billed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceMode {
    Chat,
    /// Embedding models bill input only.
    Embedding,
}

/// The list price of one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    pub mode: PriceMode,
    pub rates: Rates,
    pub long_context: Option<LongContext>,
    /// USD per 1,000 web searches the provider ran (0: no fee known).
    pub web_search_per_1k: f64,
}

/// The dollar cost of one call (`tokentrace.cost.*_usd`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    pub input_usd: f64,
    pub output_usd: f64,
    /// Per-call fees of the provider's own tools (web search).
    pub tools_usd: f64,
    pub total_usd: f64,
}

const PER_MILLION: f64 = 1_000_000.0;

impl ModelPrice {
    /// The rates that apply to a request of this size.
    pub fn rates_for(&self, usage: &Usage) -> &Rates {
        match &self.long_context {
            Some(tier) if usage.input_tokens.unwrap_or(0) > tier.above_input_tokens => &tier.rates,
            _ => &self.rates,
        }
    }

    /// Prices a normalised [`Usage`]. Cache and reasoning counts are subsets
    /// of the totals, so they are taken out of the totals before the rest is
    /// priced at the plain rate; when a provider reports subsets larger than
    /// the total the plain part is zero, never negative. Missing counts are 0.
    pub fn cost(&self, usage: &Usage) -> Cost {
        let rates = self.rates_for(usage);
        let input = usage.input_tokens.unwrap_or(0);
        let cache_read = usage.cache_read_input_tokens.unwrap_or(0);
        let cache_write = usage.cache_write_input_tokens.unwrap_or(0);
        let uncached = input.saturating_sub(cache_read).saturating_sub(cache_write);
        let input_usd = (uncached as f64 * rates.input
            + cache_read as f64 * rates.cache_read
            + cache_write as f64 * rates.cache_write)
            / PER_MILLION;

        let output_usd = match self.mode {
            PriceMode::Embedding => 0.0,
            PriceMode::Chat => {
                let output = usage.output_tokens.unwrap_or(0);
                let reasoning = usage.reasoning_tokens.unwrap_or(0);
                let visible = output.saturating_sub(reasoning);
                (visible as f64 * rates.output + reasoning as f64 * rates.reasoning) / PER_MILLION
            }
        };

        let searches = usage.web_search_calls.unwrap_or(0);
        let tools_usd = searches as f64 * self.web_search_per_1k / 1_000.0;
        Cost {
            input_usd,
            output_usd,
            tools_usd,
            total_usd: input_usd + output_usd + tools_usd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(input: f64, output: f64, cache_read: f64, cache_write: f64) -> ModelPrice {
        ModelPrice {
            mode: PriceMode::Chat,
            rates: Rates {
                input,
                output,
                cache_read,
                cache_write,
                reasoning: output,
            },
            long_context: None,
            web_search_per_1k: 10.0,
        }
    }

    #[test]
    fn cache_subsets_larger_than_total_never_go_negative() {
        let price = flat(3.0, 15.0, 0.3, 3.75);
        // Un-normalised Anthropic numbers: input excludes the cache buckets.
        let usage = Usage {
            input_tokens: Some(100),
            cache_read_input_tokens: Some(1_000_000),
            output_tokens: Some(10),
            reasoning_tokens: Some(50),
            ..Usage::default()
        };
        let cost = price.cost(&usage);
        assert!((cost.input_usd - 0.30).abs() < 1e-12, "{cost:?}");
        assert!(
            (cost.output_usd - 50.0 * 15.0 / 1e6).abs() < 1e-12,
            "{cost:?}"
        );
        assert!(cost.input_usd >= 0.0 && cost.output_usd >= 0.0);
    }

    #[test]
    fn web_searches_add_their_fee_to_the_total() {
        let usage = Usage {
            input_tokens: Some(1_000_000),
            output_tokens: Some(0),
            web_search_calls: Some(3),
            ..Usage::default()
        };
        let cost = flat(3.0, 15.0, 0.3, 3.75).cost(&usage);
        assert!((cost.tools_usd - 0.03).abs() < 1e-12, "{cost:?}");
        assert!((cost.total_usd - 3.03).abs() < 1e-12, "{cost:?}");
    }

    #[test]
    fn missing_counts_cost_nothing() {
        let cost = flat(3.0, 15.0, 0.3, 3.75).cost(&Usage::default());
        assert_eq!(cost, Cost::default());
    }

    #[test]
    fn long_context_tier_starts_strictly_above_threshold() {
        let mut price = flat(3.0, 15.0, 0.3, 3.75);
        price.long_context = Some(LongContext {
            above_input_tokens: 200_000,
            rates: Rates {
                input: 6.0,
                output: 22.5,
                cache_read: 0.6,
                cache_write: 7.5,
                reasoning: 22.5,
            },
        });
        let at = Usage {
            input_tokens: Some(200_000),
            ..Usage::default()
        };
        let above = Usage {
            input_tokens: Some(200_001),
            ..Usage::default()
        };
        assert_eq!(price.rates_for(&at).input, 3.0);
        assert_eq!(price.rates_for(&above).input, 6.0);
    }
}
