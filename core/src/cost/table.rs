//! The price table: parsing (built-in `prices.json`, a user file, or JSON
//! from code), layering overrides, and `(provider, model)` lookup.
//!
//! File format (USD per million tokens):
//! ```json
//! { "checked": "2025-10-31",
//!   "providers": {
//!     "openai": { "gpt-4o": { "input": 2.5, "output": 10, "cache_read": 1.25 } },
//!     "groq": { "llama-3.3-70b-versatile": { "input": 0.59, "output": 0.79,
//!                                            "aliases": ["llama-3.3-70b"] } } } }
//! ```
//! Entry fields: `input` (required), `output` (required unless
//! `"mode": "embedding"`), `cache_read` and `cache_write` (default: `input`),
//! `reasoning` (default: `output`), `aliases`, `long_context`
//! (`above_input_tokens` plus its own rates), `web_search` (USD per 1,000
//! searches the provider ran), `note`. Unknown fields are
//! errors, so a misspelt rate cannot silently price tokens at the default.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::{Map, Value};

use super::error::CostError;
use super::price::{LongContext, ModelPrice, PriceMode, Rates};
use super::resolve::{candidates, canonical_provider};

const ENTRY_FIELDS: &str = "input, output, cache_read, cache_write, reasoning, mode, aliases, long_context, web_search, note";
const TIER_FIELDS: &str = "above_input_tokens, input, output, cache_read, cache_write, reasoning";

/// A set of model prices. Cheap to query; build it once (parsing and
/// indexing is the expensive part) and share it.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    checked: Option<String>,
    entries: Vec<Entry>,
    /// Canonical provider -> name (model key or alias) -> index in `entries`.
    by_provider: HashMap<String, HashMap<String, usize>>,
    /// Name -> the entry each provider resolves it to (provider-less lookup).
    by_name: HashMap<String, Vec<usize>>,
}

#[derive(Debug, Clone)]
struct Entry {
    provider: String,
    model: String,
    aliases: Vec<String>,
    price: ModelPrice,
    /// 0 for the base document, +1 per `with_overrides`; higher wins a name.
    layer: u32,
}

/// A successful lookup: the entry that matched, for diagnostics and for
/// the CLI's `tokentrace cost` breakdown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved<'a> {
    /// Table section (canonical provider name) of the entry.
    pub provider: &'a str,
    /// The entry's model key (not the alias or dated name that matched).
    pub model: &'a str,
    pub price: &'a ModelPrice,
}

impl PriceTable {
    /// Parses a price document; see the module docs for the format.
    pub fn from_json(json: &str) -> Result<PriceTable, CostError> {
        let doc: Value = serde_json::from_str(json)?;
        let Value::Object(top) = doc else {
            return Err(CostError::Document(
                "the top level must be a JSON object".into(),
            ));
        };
        let mut checked = None;
        let mut providers = None;
        for (key, value) in &top {
            match key.as_str() {
                "checked" => checked = Some(parse_checked(value)?),
                "currency" => {
                    if !value
                        .as_str()
                        .is_some_and(|c| c.eq_ignore_ascii_case("usd"))
                    {
                        return Err(CostError::Document(format!(
                            "`currency` must be \"USD\", got {value}"
                        )));
                    }
                }
                "source" | "note" => {}
                "providers" => providers = Some(value),
                other => {
                    return Err(CostError::Document(format!(
                        "unknown top-level field `{other}` (expected checked, currency, source, note, providers)"
                    )));
                }
            }
        }
        let providers = providers
            .ok_or_else(|| CostError::Document("missing `providers`".into()))?
            .as_object()
            .ok_or_else(|| CostError::Document("`providers` must be an object".into()))?;

        let mut entries = Vec::new();
        let mut names: HashSet<(String, String)> = HashSet::new();
        for (provider_key, models) in providers {
            let provider = canonical_provider(provider_key);
            if provider.is_empty() {
                return Err(CostError::Document("empty provider name".into()));
            }
            let models = models.as_object().ok_or_else(|| {
                CostError::Document(format!(
                    "provider `{provider_key}` must be an object of models"
                ))
            })?;
            for (model_key, spec) in models {
                let model = model_key.trim().to_ascii_lowercase();
                if model.is_empty() {
                    return Err(CostError::Document(format!(
                        "empty model name under `{provider_key}`"
                    )));
                }
                let ctx = Ctx {
                    provider: provider_key,
                    model: model_key,
                };
                let (price, aliases) = parse_entry(&ctx, spec)?;
                for name in std::iter::once(&model).chain(&aliases) {
                    if !names.insert((provider.clone(), name.clone())) {
                        return Err(CostError::Duplicate {
                            provider: provider.clone(),
                            name: name.clone(),
                        });
                    }
                }
                entries.push(Entry {
                    provider: provider.clone(),
                    model,
                    aliases,
                    price,
                    layer: 0,
                });
            }
        }
        Ok(PriceTable::indexed(checked, entries))
    }

    /// Reads and parses a price file (`TOKENTRACE_PRICES`).
    pub fn load_file(path: impl AsRef<Path>) -> Result<PriceTable, CostError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| CostError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        PriceTable::from_json(&json)
    }

    /// This table with `overrides` layered on top. An override entry
    /// replaces the entry of the same provider and model whole (rates and
    /// aliases); any name the overrides define wins over the same name here;
    /// new entries are added. The `checked` date stays this table's.
    pub fn with_overrides(&self, overrides: &PriceTable) -> PriceTable {
        let top = self
            .entries
            .iter()
            .map(|e| e.layer)
            .max()
            .map_or(0, |l| l + 1);
        let replaced: HashSet<(&str, &str)> = overrides
            .entries
            .iter()
            .map(|e| (e.provider.as_str(), e.model.as_str()))
            .collect();
        let mut entries: Vec<Entry> = self
            .entries
            .iter()
            .filter(|e| !replaced.contains(&(e.provider.as_str(), e.model.as_str())))
            .cloned()
            .collect();
        entries.extend(overrides.entries.iter().map(|e| Entry {
            layer: top + e.layer,
            ..e.clone()
        }));
        PriceTable::indexed(self.checked.clone(), entries)
    }

    /// The price for a model as a provider reported it, or `None` when the
    /// model is unknown: a missing price is never guessed.
    ///
    /// The name is tried as given (lowercased), then without provider paths,
    /// Vertex `@` snapshots, Bedrock region/vendor/version parts and trailing
    /// snapshot markers (dates, `-latest`, numeric revisions), in that order;
    /// each candidate in the provider's own section first. Failing that, the name is looked up
    /// across all providers (for gateways, Azure, Bedrock, Vertex, or an
    /// OpenAI-compatible client pointed elsewhere); a name that different
    /// hosts price differently (`llama-3.3-70b`) is ambiguous and gets
    /// `None` there. `provider` may be empty.
    pub fn lookup(&self, provider: &str, model: &str) -> Option<&ModelPrice> {
        self.resolve(provider, model).map(|r| r.price)
    }

    /// Like [`lookup`](Self::lookup), also naming the entry that matched.
    pub fn resolve(&self, provider: &str, model: &str) -> Option<Resolved<'_>> {
        let names = candidates(model);
        let provider = canonical_provider(provider);
        if let Some(section) = self.by_provider.get(&provider)
            && let Some(&i) = names.iter().find_map(|n| section.get(n))
        {
            return Some(self.resolved(i));
        }
        let hits = names.iter().find_map(|n| self.by_name.get(n))?;
        let (&first, rest) = hits.split_first()?;
        let price = &self.entries[first].price;
        if rest.iter().all(|&i| self.entries[i].price == *price) {
            Some(self.resolved(first))
        } else {
            None
        }
    }

    /// The date the built-in prices were last checked (`YYYY-MM-DD`).
    pub fn checked(&self) -> Option<&str> {
        self.checked.as_deref()
    }

    /// Number of model entries (aliases not counted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn resolved(&self, i: usize) -> Resolved<'_> {
        let e = &self.entries[i];
        Resolved {
            provider: &e.provider,
            model: &e.model,
            price: &e.price,
        }
    }

    /// Builds the name indexes. Names are inserted layer by layer, aliases
    /// before model keys, so a later layer wins a name and, within a layer,
    /// a model key wins over another entry's alias.
    fn indexed(checked: Option<String>, entries: Vec<Entry>) -> PriceTable {
        let mut by_provider: HashMap<String, HashMap<String, usize>> = HashMap::new();
        let mut layers: Vec<u32> = entries.iter().map(|e| e.layer).collect();
        layers.sort_unstable();
        layers.dedup();
        for layer in layers {
            let in_layer = || {
                entries
                    .iter()
                    .enumerate()
                    .filter(move |(_, e)| e.layer == layer)
            };
            for (i, e) in in_layer() {
                let section = by_provider.entry(e.provider.clone()).or_default();
                for alias in &e.aliases {
                    section.insert(alias.clone(), i);
                }
            }
            for (i, e) in in_layer() {
                let section = by_provider.entry(e.provider.clone()).or_default();
                section.insert(e.model.clone(), i);
            }
        }
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for section in by_provider.values() {
            for (name, &i) in section {
                by_name.entry(name.clone()).or_default().push(i);
            }
        }
        for hits in by_name.values_mut() {
            hits.sort_unstable();
        }
        PriceTable {
            checked,
            entries,
            by_provider,
            by_name,
        }
    }
}

/// Where a field error is, for messages.
struct Ctx<'a> {
    provider: &'a str,
    model: &'a str,
}

impl Ctx<'_> {
    fn err(&self, field: &str, problem: impl Into<String>) -> CostError {
        CostError::Field {
            provider: self.provider.to_string(),
            model: self.model.to_string(),
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}

fn parse_checked(value: &Value) -> Result<String, CostError> {
    let bad = || CostError::Document(format!("`checked` must be a YYYY-MM-DD date, got {value}"));
    let s = value.as_str().ok_or_else(bad)?;
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    match parts.as_slice() {
        [y, m, d]
            if num(y, 4).is_some()
                && num(m, 2).is_some_and(|m| (1..=12).contains(&m))
                && num(d, 2).is_some_and(|d| (1..=31).contains(&d)) =>
        {
            Ok(s.to_string())
        }
        _ => Err(bad()),
    }
}

fn parse_entry(ctx: &Ctx<'_>, spec: &Value) -> Result<(ModelPrice, Vec<String>), CostError> {
    let obj = spec
        .as_object()
        .ok_or_else(|| ctx.err("(entry)", format!("must be an object, got {spec}")))?;
    if let Some(unknown) = obj
        .keys()
        .find(|k| !ENTRY_FIELDS.split(", ").any(|f| f == *k))
    {
        return Err(ctx.err(
            unknown,
            format!("is not a known field (expected {ENTRY_FIELDS})"),
        ));
    }
    let mode = match obj.get("mode") {
        None | Some(Value::Null) => PriceMode::Chat,
        Some(Value::String(m)) if m == "chat" => PriceMode::Chat,
        Some(Value::String(m)) if m == "embedding" => PriceMode::Embedding,
        Some(other) => {
            return Err(ctx.err(
                "mode",
                format!("must be \"chat\" or \"embedding\", got {other}"),
            ));
        }
    };
    let rates = parse_rates(ctx, obj, "", mode)?;
    let long_context = match obj.get("long_context") {
        None | Some(Value::Null) => None,
        Some(Value::Object(tier)) => {
            if let Some(unknown) = tier
                .keys()
                .find(|k| !TIER_FIELDS.split(", ").any(|f| f == *k))
            {
                return Err(ctx.err(
                    &format!("long_context.{unknown}"),
                    format!("is not a known field (expected {TIER_FIELDS})"),
                ));
            }
            let above = tier
                .get("above_input_tokens")
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    ctx.err(
                        "long_context.above_input_tokens",
                        "must be a whole number of input tokens",
                    )
                })?;
            Some(LongContext {
                above_input_tokens: above,
                rates: parse_rates(ctx, tier, "long_context.", mode)?,
            })
        }
        Some(other) => {
            return Err(ctx.err("long_context", format!("must be an object, got {other}")));
        }
    };
    let web_search_per_1k = match obj.get("web_search") {
        None | Some(Value::Null) => 0.0,
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x >= 0.0 => x,
            _ => {
                return Err(ctx.err(
                    "web_search",
                    format!("must be a non-negative number of USD per 1,000 searches, got {v}"),
                ));
            }
        },
    };
    let aliases = match obj.get("aliases") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(
                |item| match item.as_str().map(|s| s.trim().to_ascii_lowercase()) {
                    Some(alias) if !alias.is_empty() => Ok(alias),
                    _ => Err(ctx.err(
                        "aliases",
                        format!("must hold non-empty strings, got {item}"),
                    )),
                },
            )
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ctx.err(
                "aliases",
                format!("must be an array of strings, got {other}"),
            ));
        }
    };
    Ok((
        ModelPrice {
            mode,
            rates,
            long_context,
            web_search_per_1k,
        },
        aliases,
    ))
}

/// Reads the five rates of an entry or a tier, applying the defaults.
fn parse_rates(
    ctx: &Ctx<'_>,
    obj: &Map<String, Value>,
    prefix: &str,
    mode: PriceMode,
) -> Result<Rates, CostError> {
    let rate = |field: &str| -> Result<Option<f64>, CostError> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
                _ => Err(ctx.err(
                    &format!("{prefix}{field}"),
                    format!("must be a non-negative number of USD per million tokens, got {v}"),
                )),
            },
        }
    };
    let input = rate("input")?.ok_or_else(|| ctx.err(&format!("{prefix}input"), "is missing"))?;
    let output = match (mode, rate("output")?) {
        (PriceMode::Chat, Some(output)) => output,
        (PriceMode::Chat, None) => {
            return Err(ctx.err(
                &format!("{prefix}output"),
                "is missing (required unless \"mode\": \"embedding\")",
            ));
        }
        (PriceMode::Embedding, None) => 0.0,
        (PriceMode::Embedding, Some(0.0)) => 0.0,
        (PriceMode::Embedding, Some(_)) => {
            return Err(ctx.err(
                &format!("{prefix}output"),
                "must be omitted for embedding models (they bill input only)",
            ));
        }
    };
    Ok(Rates {
        input,
        output,
        cache_read: rate("cache_read")?.unwrap_or(input),
        cache_write: rate("cache_write")?.unwrap_or(input),
        reasoning: rate("reasoning")?.unwrap_or(output),
    })
}
