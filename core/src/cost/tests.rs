//! Worked examples and resolution tables for the cost module, against the
//! built-in prices (so a price edit that breaks a figure shows up here).

use super::*;
use crate::model::{LlmCall, Message, Operation, Part, ToolDefinition};

/// Dollar figures are compared to a billionth of a cent.
fn assert_usd(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-11,
        "{what}: got ${actual}, expected ${expected}"
    );
}

fn assert_cost(cost: Cost, input: f64, output: f64) {
    assert_usd(cost.input_usd, input, "input_usd");
    assert_usd(cost.output_usd, output, "output_usd");
    assert_usd(cost.total_usd, input + output, "total_usd");
}

fn builtin(provider: &str, model: &str) -> &'static ModelPrice {
    PriceTable::builtin()
        .lookup(provider, model)
        .unwrap_or_else(|| panic!("no built-in price for {provider}/{model}"))
}

fn resolved_name(provider: &str, model: &str) -> Option<String> {
    PriceTable::builtin()
        .resolve(provider, model)
        .map(|r| format!("{}/{}", r.provider, r.model))
}

// ---- worked examples ------------------------------------------------------

#[test]
fn openai_cached_prompt_tokens_are_priced_once() {
    // Chat Completions usage: prompt_tokens 10,000 with
    // prompt_tokens_details.cached_tokens 8,000; completion_tokens 1,000.
    let usage = Usage {
        input_tokens: Some(10_000),
        cache_read_input_tokens: Some(8_000),
        output_tokens: Some(1_000),
        reasoning_tokens: Some(0),
        ..Usage::default()
    };
    let cost = builtin("openai", "gpt-4o-2024-08-06").cost(&usage);
    // 2,000 uncached x $2.50/M = $0.005; 8,000 cached x $1.25/M = $0.010.
    // 1,000 output x $10/M = $0.010. Total $0.025 (double-counting the cache
    // would give $0.035 of input).
    assert_cost(cost, 0.015, 0.010);
}

#[test]
fn o_series_reasoning_tokens_are_inside_completion_tokens() {
    // o3: prompt 5,000; completion_tokens 3,000 of which
    // completion_tokens_details.reasoning_tokens 2,500.
    let usage = Usage {
        input_tokens: Some(5_000),
        output_tokens: Some(3_000),
        reasoning_tokens: Some(2_500),
        ..Usage::default()
    };
    let cost = builtin("openai", "o3-2025-04-16").cost(&usage);
    // $2/M x 5,000 = $0.010; $8/M x 3,000 = $0.024 (not 5,500 tokens).
    assert_cost(cost, 0.010, 0.024);
}

#[test]
fn reasoning_tokens_take_their_own_rate_when_it_differs() {
    let table = PriceTable::from_json(
        r#"{"providers": {"acme": {"thinker": {"input": 1, "output": 4, "reasoning": 2}}}}"#,
    )
    .unwrap();
    let usage = Usage {
        input_tokens: Some(1_000),
        output_tokens: Some(3_000),
        reasoning_tokens: Some(2_500),
        ..Usage::default()
    };
    let cost = table.lookup("acme", "thinker").unwrap().cost(&usage);
    // 500 visible x $4/M + 2,500 reasoning x $2/M = $0.002 + $0.005.
    assert_cost(cost, 0.001, 0.007);
}

#[test]
fn anthropic_cache_buckets_are_each_priced_once() {
    // Messages API: input_tokens 1,000, cache_read_input_tokens 20,000,
    // cache_creation_input_tokens 5,000 (additive), output_tokens 2,000.
    // The parser normalises input to the total: 26,000.
    let usage = Usage {
        input_tokens: Some(1_000 + 20_000 + 5_000),
        cache_read_input_tokens: Some(20_000),
        cache_write_input_tokens: Some(5_000),
        output_tokens: Some(2_000),
        ..Usage::default()
    };
    let cost = builtin("anthropic", "claude-sonnet-4-20250514").cost(&usage);
    // 1,000 x $3/M = $0.003; 20,000 x $0.30/M = $0.006;
    // 5,000 x $3.75/M = $0.01875 -> $0.02775. 2,000 x $15/M = $0.030.
    assert_cost(cost, 0.02775, 0.030);
}

#[test]
fn anthropic_long_prompts_use_the_long_context_rates() {
    let usage = Usage {
        input_tokens: Some(250_000),
        cache_read_input_tokens: Some(200_000),
        output_tokens: Some(1_000),
        ..Usage::default()
    };
    let cost = builtin("anthropic", "claude-sonnet-4-5-20250929").cost(&usage);
    // 50,000 x $6/M = $0.30; 200,000 x $0.60/M = $0.12; 1,000 x $22.50/M.
    assert_cost(cost, 0.42, 0.0225);
}

#[test]
fn gemini_pro_long_context_and_cache() {
    let usage = Usage {
        input_tokens: Some(300_000),
        cache_read_input_tokens: Some(100_000),
        output_tokens: Some(10_000),
        ..Usage::default()
    };
    let cost = builtin("gcp.gemini", "gemini-2.5-pro").cost(&usage);
    // Above 200k: 200,000 x $2.50/M + 100,000 x $0.25/M; 10,000 x $15/M.
    assert_cost(cost, 0.525, 0.15);
}

#[test]
fn deepseek_cache_hits_are_discounted() {
    let usage = Usage {
        input_tokens: Some(1_000_000),
        cache_read_input_tokens: Some(600_000),
        output_tokens: Some(100_000),
        ..Usage::default()
    };
    let cost = builtin("deepseek", "deepseek-chat").cost(&usage);
    // 400,000 x $0.28/M + 600,000 x $0.028/M; 100,000 x $0.42/M.
    assert_cost(cost, 0.1288, 0.042);
}

#[test]
fn web_searches_are_billed_per_search_on_top_of_the_tokens() {
    // Claude: $10 per 1,000 searches; 2 searches and 1,000 + 100 tokens.
    let usage = Usage {
        input_tokens: Some(1_000),
        output_tokens: Some(100),
        web_search_calls: Some(2),
        ..Usage::default()
    };
    let cost = builtin("anthropic", "claude-sonnet-4-5-20250929").cost(&usage);
    assert_usd(cost.tools_usd, 0.02, "tools_usd");
    assert_usd(cost.total_usd, 0.003 + 0.0015 + 0.02, "total_usd");
    // OpenAI: the search preview rate on GPT-4o, the search tool rate on GPT-5.
    let one = Usage {
        web_search_calls: Some(1),
        ..usage
    };
    assert_usd(
        builtin("openai", "gpt-4o").cost(&one).tools_usd,
        0.025,
        "gpt-4o",
    );
    assert_usd(
        builtin("openai", "gpt-5").cost(&one).tools_usd,
        0.010,
        "gpt-5",
    );
    // A model without a known fee adds none (and no searches, no fee).
    assert_usd(
        builtin("openai", "gpt-3.5-turbo").cost(&one).tools_usd,
        0.0,
        "no fee",
    );
    assert_usd(
        builtin("openai", "gpt-4o")
            .cost(&Usage {
                web_search_calls: None,
                ..one
            })
            .tools_usd,
        0.0,
        "none",
    );
    // A table entry's fee must be a non-negative number.
    let err = PriceTable::from_json(
        r#"{"providers": {"openai": {"m": {"input": 1, "output": 1, "web_search": -1}}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("web_search") && err.contains("per 1,000 searches"),
        "{err}"
    );
}

#[test]
fn embeddings_bill_input_only() {
    let usage = Usage {
        input_tokens: Some(1_000_000),
        output_tokens: Some(5),
        ..Usage::default()
    };
    assert_cost(
        builtin("openai", "text-embedding-3-small").cost(&usage),
        0.02,
        0.0,
    );
    assert_cost(
        builtin("openai", "text-embedding-3-large").cost(&usage),
        0.13,
        0.0,
    );
}

// ---- resolution -----------------------------------------------------------

#[test]
fn provider_model_names_resolve_to_their_entry() {
    let cases = [
        ("openai", "gpt-4o", "openai/gpt-4o"),
        ("OpenAI", "GPT-4o", "openai/gpt-4o"),
        ("openai", "gpt-4o-2024-08-06", "openai/gpt-4o"),
        ("openai", "gpt-4o-2024-05-13", "openai/gpt-4o-2024-05-13"),
        ("openai", "gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini"),
        ("openai", "gpt-4-0613", "openai/gpt-4"),
        ("openai", "gpt-4-turbo-2024-04-09", "openai/gpt-4-turbo"),
        ("openai", "gpt-4-1106-preview", "openai/gpt-4-turbo"),
        ("openai", "gpt-5-mini-2025-08-07", "openai/gpt-5-mini"),
        ("openai", "o3-mini-2025-01-31", "openai/o3-mini"),
        ("azure.ai.openai", "gpt-4.1", "openai/gpt-4.1"),
        ("", "openai/gpt-4.1-nano", "openai/gpt-4.1-nano"),
        (
            "anthropic",
            "claude-3-5-sonnet-20241022",
            "anthropic/claude-3-5-sonnet",
        ),
        (
            "anthropic",
            "claude-3-5-haiku-latest",
            "anthropic/claude-3-5-haiku",
        ),
        (
            "anthropic",
            "claude-sonnet-4-0",
            "anthropic/claude-sonnet-4",
        ),
        (
            "anthropic",
            "claude-opus-4-1-20250805",
            "anthropic/claude-opus-4-1",
        ),
        (
            "anthropic",
            "claude-haiku-4-5-20251001",
            "anthropic/claude-haiku-4-5",
        ),
        (
            "aws.bedrock",
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "anthropic/claude-3-5-sonnet",
        ),
        (
            "aws.bedrock",
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic/claude-sonnet-4",
        ),
        (
            "gcp.vertex_ai",
            "claude-3-5-sonnet@20240620",
            "anthropic/claude-3-5-sonnet",
        ),
        (
            "gcp.vertex_ai",
            "claude-3-5-sonnet-v2@20241022",
            "anthropic/claude-3-5-sonnet",
        ),
        (
            "gcp.gemini",
            "models/gemini-2.0-flash-001",
            "gcp.gemini/gemini-2.0-flash",
        ),
        (
            "google",
            "gemini-1.5-flash-latest",
            "gcp.gemini/gemini-1.5-flash",
        ),
        (
            "gcp.gemini",
            "gemini-2.5-flash-lite",
            "gcp.gemini/gemini-2.5-flash-lite",
        ),
        (
            "mistral_ai",
            "mistral-large-latest",
            "mistral_ai/mistral-large",
        ),
        ("mistral", "mistral-small-2503", "mistral_ai/mistral-small"),
        (
            "mistral_ai",
            "mistral-small-2402",
            "mistral_ai/mistral-small-2402",
        ),
        ("mistral_ai", "codestral-2501", "mistral_ai/codestral"),
        ("groq", "llama-3.3-70b", "groq/llama-3.3-70b-versatile"),
        (
            "groq",
            "meta-llama/llama-4-scout-17b-16e-instruct",
            "groq/llama-4-scout-17b-16e-instruct",
        ),
        (
            "together_ai",
            "llama-3.3-70b",
            "together_ai/llama-3.3-70b-instruct-turbo",
        ),
        (
            "together",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "together_ai/llama-3.3-70b-instruct-turbo",
        ),
        (
            "fireworks_ai",
            "accounts/fireworks/models/llama-v3p3-70b-instruct",
            "fireworks_ai/llama-v3p3-70b-instruct",
        ),
        (
            "deepseek",
            "deepseek-reasoner",
            "deepseek/deepseek-reasoner",
        ),
    ];
    for (provider, model, expected) in cases {
        assert_eq!(
            resolved_name(provider, model).as_deref(),
            Some(expected),
            "{provider} / {model}"
        );
    }
}

#[test]
fn near_miss_names_get_no_price() {
    for (provider, model) in [
        // Fine-tunes are billed at their own (higher) rates.
        ("openai", "ft:gpt-4o-mini-2024-07-18:acme::abc123"),
        // Newer than the table: must not fall back to claude-opus-4.
        ("anthropic", "claude-opus-4-5-20251101"),
        ("openai", "gpt-4o-audio-preview"),
        ("openai", "gpt-4o-realtime-preview-2024-12-17"),
        ("gcp.gemini", "gemini-2.5-flash-preview-05-20"),
        ("openai", "my-azure-deployment"),
        ("", ""),
        // Same name, different price per host, and no host given.
        ("", "llama-3.3-70b"),
        ("openrouter", "llama-4-scout-17b-16e-instruct"),
    ] {
        assert_eq!(resolved_name(provider, model), None, "{provider} / {model}");
    }
}

#[test]
fn a_longer_name_never_falls_back_to_a_shorter_model() {
    let table = PriceTable::from_json(
        r#"{"providers": {"openai": {"gpt-4o": {"input": 2.5, "output": 10}}}}"#,
    )
    .unwrap();
    assert!(table.lookup("openai", "gpt-4o-2024-11-20").is_some());
    for model in [
        "gpt-4",
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "gpt-4o1",
        "chatgpt-4o",
    ] {
        assert_eq!(table.lookup("openai", model), None, "{model}");
    }
}

#[test]
fn provider_section_wins_then_unique_name_elsewhere() {
    // Same name, two hosts, two prices.
    let groq = builtin("groq", "llama-3.1-8b");
    let together = builtin("together_ai", "llama-3.1-8b");
    assert_eq!(groq.rates.input, 0.05);
    assert_eq!(together.rates.input, 0.18);
    // An OpenAI client pointed at Anthropic's compatible endpoint.
    assert_eq!(
        resolved_name("openai", "claude-3-7-sonnet-20250219").as_deref(),
        Some("anthropic/claude-3-7-sonnet")
    );
}

// ---- the built-in document ------------------------------------------------

#[test]
fn builtin_table_parses_and_is_dated() {
    let table = PriceTable::builtin();
    assert_eq!(table.checked(), Some("2025-10-31"));
    assert!(table.len() > 80, "{} entries", table.len());
    // The fallback in builtin() is the empty table; make sure it is not used.
    assert!(PriceTable::from_json(BUILTIN_PRICES_JSON).is_ok());
}

#[test]
fn builtin_anthropic_cache_rates_follow_the_published_multipliers() {
    // Claude 3 Haiku is the published exception ($0.30 write, $0.03 read).
    for model in [
        "claude-3-opus",
        "claude-3-5-haiku",
        "claude-3-5-sonnet",
        "claude-3-7-sonnet",
        "claude-sonnet-4",
        "claude-sonnet-4-5",
        "claude-opus-4",
        "claude-opus-4-1",
        "claude-haiku-4-5",
    ] {
        let r = builtin("anthropic", model).rates;
        assert!(
            (r.cache_write - 1.25 * r.input).abs() < 1e-9,
            "{model} write"
        );
        assert!((r.cache_read - 0.1 * r.input).abs() < 1e-9, "{model} read");
    }
}

// ---- overrides and user files ---------------------------------------------

const USER_PRICES: &str = r#"{
  "providers": {
    "openai": { "gpt-4o": { "input": 2.0, "output": 8.0 } },
    "acme": { "acme-large": { "input": 1.0, "output": 2.0, "aliases": ["acme-l"] } },
    "groq": { "cheap-llama": { "input": 0.01, "output": 0.01, "aliases": ["llama-3.1-8b-instant"] } }
  }
}"#;

#[test]
fn overrides_replace_and_add_entries() {
    let user = PriceTable::from_json(USER_PRICES).unwrap();
    let merged = PriceTable::builtin().with_overrides(&user);

    let gpt4o = merged.lookup("openai", "gpt-4o-2024-08-06").unwrap();
    assert_eq!(gpt4o.rates.input, 2.0);
    // Replaced whole: the omitted cache rate defaults to input, not the
    // built-in $1.25.
    assert_eq!(gpt4o.rates.cache_read, 2.0);
    assert_eq!(
        merged.lookup("openai", "gpt-4o-mini").unwrap().rates.input,
        0.15
    );
    assert_eq!(merged.lookup("acme", "ACME-L").unwrap().rates.output, 2.0);
    // An override's alias wins over a built-in model key.
    assert_eq!(
        merged
            .lookup("groq", "llama-3.1-8b-instant")
            .unwrap()
            .rates
            .input,
        0.01
    );
    assert_eq!(merged.checked(), Some("2025-10-31"));
    assert_eq!(merged.len(), PriceTable::builtin().len() + 2);

    // The built-in table itself is untouched.
    assert_eq!(builtin("openai", "gpt-4o").rates.input, 2.5);
}

#[test]
fn later_override_layers_win() {
    let first = PriceTable::from_json(
        r#"{"providers": {"acme": {"m": {"input": 1, "output": 1, "aliases": ["x"]}}}}"#,
    )
    .unwrap();
    let second =
        PriceTable::from_json(r#"{"providers": {"acme": {"x": {"input": 9, "output": 9}}}}"#)
            .unwrap();
    let merged = PriceTable::default()
        .with_overrides(&first)
        .with_overrides(&second);
    assert_eq!(merged.lookup("acme", "x").unwrap().rates.input, 9.0);
    assert_eq!(merged.lookup("acme", "m").unwrap().rates.input, 1.0);
}

#[test]
fn load_file_reads_a_user_table_and_names_a_missing_one() {
    let dir = std::env::temp_dir().join(format!("tokentrace-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("prices.json");
    std::fs::write(&path, USER_PRICES).unwrap();
    let table = PriceTable::load_file(&path).unwrap();
    assert_eq!(table.lookup("acme", "acme-large").unwrap().rates.input, 1.0);
    std::fs::remove_dir_all(&dir).unwrap();

    let err = PriceTable::load_file(&path).unwrap_err();
    assert!(matches!(err, CostError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("prices.json"), "{err}");
}

// ---- errors name what is wrong ---------------------------------------------

fn load_err(json: &str) -> CostError {
    PriceTable::from_json(json).expect_err("should be rejected")
}

#[test]
fn bad_entries_name_the_entry_and_field() {
    let cases = [
        (
            r#"{"providers": {"openai": {"gpt-x": {"input": 1, "output": 2, "cahced_input": 0.5}}}}"#,
            "cahced_input",
        ),
        (
            r#"{"providers": {"openai": {"gpt-x": {"input": "cheap", "output": 2}}}}"#,
            "input",
        ),
        (
            r#"{"providers": {"openai": {"gpt-x": {"input": 1}}}}"#,
            "output",
        ),
        (
            r#"{"providers": {"openai": {"gpt-x": {"input": 1, "output": -2}}}}"#,
            "output",
        ),
        (
            r#"{"providers": {"openai": {"gpt-x": {"input": 1, "output": 2,
                "long_context": {"above_input_tokens": 1000, "input": 2}}}}}"#,
            "long_context.output",
        ),
        (
            r#"{"providers": {"openai": {"gpt-x": {"input": 1, "output": 2,
                "long_context": {"input": 2, "output": 3}}}}}"#,
            "long_context.above_input_tokens",
        ),
        (
            r#"{"providers": {"openai": {"gpt-x": {"input": 1, "mode": "embedding", "output": 1}}}}"#,
            "output",
        ),
        (
            r#"{"providers": {"openai": {"gpt-x": {"input": 1, "output": 1, "mode": "image"}}}}"#,
            "mode",
        ),
    ];
    for (json, field) in cases {
        match load_err(json) {
            CostError::Field {
                provider,
                model,
                field: got,
                ..
            } => {
                assert_eq!((provider.as_str(), model.as_str()), ("openai", "gpt-x"));
                assert_eq!(got, field, "{json}");
            }
            other => panic!("{json}: expected a field error, got {other:?}"),
        }
    }
    let message = load_err(r#"{"providers": {"openai": {"gpt-x": {"input": 1}}}}"#).to_string();
    assert!(
        message.contains("openai/gpt-x") && message.contains("`output`"),
        "{message}"
    );
}

#[test]
fn bad_documents_are_rejected() {
    assert!(matches!(load_err("{ not json"), CostError::Json(_)));
    for json in [
        "[]",
        r#"{"checked": "2025-10-31"}"#,
        r#"{"checked": "2025-13-01", "providers": {}}"#,
        r#"{"checked": "yesterday", "providers": {}}"#,
        r#"{"currency": "EUR", "providers": {}}"#,
        r#"{"prices": {}, "providers": {}}"#,
        r#"{"providers": {"openai": []}}"#,
    ] {
        assert!(matches!(load_err(json), CostError::Document(_)), "{json}");
    }
    let dup = load_err(
        r#"{"providers": {"groq": {"a": {"input": 1, "output": 1, "aliases": ["b"]},
                                   "b": {"input": 2, "output": 2}}}}"#,
    );
    assert!(
        matches!(&dup, CostError::Duplicate { provider, name } if provider == "groq" && name == "b"),
        "{dup:?}"
    );
}

// ---- pricing whole calls --------------------------------------------------

fn chat_call(provider: &str, model: &str) -> LlmCall {
    let mut call = LlmCall::new(provider, Operation::Chat);
    call.request_model = Some(model.into());
    call
}

#[test]
fn price_call_prefers_the_response_model_and_counts_unknowns() {
    let table = PriceTable::builtin();
    let usage = Usage {
        input_tokens: Some(1_000_000),
        output_tokens: Some(0),
        ..Usage::default()
    };

    let mut call = chat_call("openai", "gpt-4o");
    call.response_model = Some("gpt-4o-2024-05-13".into());
    call.usage = usage;
    assert_eq!(
        table.price_call(&call),
        CallCost::Priced(Cost {
            input_usd: 5.0,
            output_usd: 0.0,
            tools_usd: 0.0,
            total_usd: 5.0
        })
    );

    // Azure: the request names a deployment, the response the model.
    let mut call = chat_call("azure.ai.openai", "prod-chat");
    call.response_model = Some("gpt-4o-mini-2024-07-18".into());
    call.usage = usage;
    assert!(
        matches!(table.price_call(&call), CallCost::Priced(c) if (c.input_usd - 0.15).abs() < 1e-12)
    );

    let mut call = chat_call("openai", "prod-chat");
    call.usage = usage;
    assert_eq!(table.price_call(&call), CallCost::UnknownModel);

    let call = chat_call("openai", "gpt-4o");
    assert_eq!(table.price_call(&call), CallCost::NoUsage);

    let mut tool = LlmCall::new("openai", Operation::ExecuteTool);
    tool.usage = usage;
    assert_eq!(table.price_call(&tool), CallCost::NoUsage);
}

// ---- estimation -----------------------------------------------------------

#[test]
fn openai_models_count_with_their_tokenizer() {
    assert_eq!(estimate_tokens("openai", "gpt-4o", "hello world"), 2);
    // tiktoken's README example (cl100k_base: [83, 1609, 5963, 374, 2294, 0]).
    assert_eq!(estimate_tokens("openai", "gpt-4", "tiktoken is great!"), 6);
    // o200k packs Japanese tighter than cl100k: the family picks the BPE.
    let ja = "こんにちは世界";
    assert_eq!(estimate_tokens("openai", "gpt-4o-mini-2024-07-18", ja), 2);
    assert_eq!(estimate_tokens("openai", "o3-mini", ja), 2);
    assert_eq!(estimate_tokens("openai", "gpt-5", ja), 2);
    assert_eq!(estimate_tokens("openai", "gpt-3.5-turbo", ja), 4);
    assert_eq!(estimate_tokens("openai", "text-embedding-3-small", ja), 4);
    // Azure deployment names: the current OpenAI tokenizer.
    assert_eq!(estimate_tokens("azure.ai.openai", "prod-chat", ja), 2);
    assert_eq!(estimate_tokens("openai", "gpt-4o", ""), 0);
}

#[test]
fn other_providers_use_the_documented_character_ratio() {
    let text = "a".repeat(35);
    assert_eq!(estimate_tokens("anthropic", "claude-sonnet-4", &text), 10);
    assert_eq!(
        estimate_tokens(
            "aws.bedrock",
            "anthropic.claude-3-haiku-20240307-v1:0",
            &text
        ),
        10
    );
    assert_eq!(estimate_tokens("gcp.gemini", "gemini-2.5-pro", &text), 9);
    assert_eq!(
        estimate_tokens("groq", "llama-3.3-70b-versatile", "abcde"),
        2
    );
    // Ideographs count one each, the rest by ratio: 2 + ceil(4/4).
    assert_eq!(
        estimate_tokens("gcp.gemini", "gemini-2.5-pro", "漢字 abc"),
        3
    );
}

#[test]
fn long_text_is_counted_in_chunks_without_changing_the_count() {
    let prose = "The quick brown fox jumps over the lazy dog.\n\nIt was not amused; ".repeat(800);
    assert!(prose.len() > 3 * 16 * 1024 && prose.len() < 64 * 1024);
    let whole = tiktoken_rs::o200k_base()
        .unwrap()
        .encode_ordinary(&prose)
        .len() as u64;
    assert_eq!(estimate_tokens("openai", "gpt-4o", &prose), whole);
}

#[test]
fn pathological_text_does_not_panic_the_tokenizer() {
    // A megabyte of spaces makes tiktoken-rs panic when encoded whole.
    let spaces = format!("{}x", " ".repeat(1 << 20));
    let tokens = estimate_tokens("openai", "gpt-4o", &spaces);
    assert!(tokens > 0);
    let blob = "QUJD".repeat(1 << 18);
    assert!(estimate_tokens("openai", "gpt-4", &blob) > 0);
}

#[test]
fn very_long_text_is_extrapolated_past_the_exact_prefix() {
    let unit = "hello world ";
    let text = unit.repeat(100_000);
    let estimate = estimate_tokens("openai", "gpt-4o", &text);
    // 2 tokens per repetition, give or take the chunk seams.
    assert!((199_000..=201_000).contains(&estimate), "{estimate}");
}

#[test]
fn estimate_usage_counts_prompt_tools_and_output_and_flags_it() {
    let mut call = chat_call("openai", "gpt-4o");
    call.system_instructions = [Part::text("You are terse.")].into();
    call.input_messages = vec![Message::text("user", "hello world")];
    call.tool_definitions = vec![ToolDefinition {
        tool_type: "function".into(),
        name: "get_weather".into(),
        description: Some("Weather for a city".into()),
        parameters: Some(r#"{"type":"object"}"#.into()),
    }];
    call.output_messages = vec![Message::new(
        "assistant",
        vec![
            Part::text("Sunny."),
            Part::ToolCall {
                id: None,
                name: "get_weather".into(),
                arguments: Some(r#"{"city":"Paris"}"#.into()),
            },
        ],
    )];

    let usage = estimate_usage(&call).expect("an estimate");
    let t = |s: &str| estimate_tokens("openai", "gpt-4o", s);
    let framing = 3 + t("system") + 3 + t("user") + 3;
    let input = t("You are terse.")
        + t("hello world")
        + t("get_weather")
        + t("Weather for a city")
        + t(r#"{"type":"object"}"#)
        + framing;
    let output = t("Sunny.") + t("get_weather") + t(r#"{"city":"Paris"}"#);
    assert!(usage.estimated);
    assert_eq!(usage.input_tokens, Some(input));
    assert_eq!(usage.output_tokens, Some(output));
    assert_eq!(usage.reasoning_tokens, None);

    // Estimated usage prices like any other.
    let table = PriceTable::builtin();
    let expected = builtin("openai", "gpt-4o").cost(&usage);
    assert_eq!(
        table.price_call_with(&call, &usage),
        CallCost::Priced(expected)
    );
}

#[test]
fn estimate_usage_is_a_no_op_when_usage_exists_or_nothing_to_count() {
    let mut call = chat_call("anthropic", "claude-sonnet-4");
    call.input_messages = vec![Message::text("user", "hello")];
    call.usage.input_tokens = Some(7);
    assert_eq!(estimate_usage(&call), None);

    // Content capture off: roles survive, text does not.
    let mut call = chat_call("openai", "gpt-4o");
    call.input_messages = vec![Message::new("user", vec![])];
    call.output_messages = vec![Message::new("assistant", vec![])];
    assert_eq!(estimate_usage(&call), None);

    let mut tool = LlmCall::new("openai", Operation::ExecuteTool);
    tool.input_messages = vec![Message::text("user", "hello")];
    assert_eq!(estimate_usage(&tool), None);
}

#[test]
fn estimate_usage_for_other_providers_and_embeddings() {
    let mut call = chat_call("anthropic", "claude-sonnet-4-20250514");
    call.input_messages = vec![Message::text("user", "a".repeat(70))];
    let usage = estimate_usage(&call).unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens),
        (Some(20), Some(0))
    );
    assert!(usage.estimated);

    let mut embed = LlmCall::new("openai", Operation::Embeddings);
    embed.request_model = Some("text-embedding-3-small".into());
    embed.input_messages = vec![Message::text("user", "hello world")];
    let usage = estimate_usage(&embed).unwrap();
    // No chat framing for embeddings.
    assert_eq!(
        (usage.input_tokens, usage.output_tokens),
        (Some(2), Some(0))
    );
}
