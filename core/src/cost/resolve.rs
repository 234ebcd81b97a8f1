//! Model-name resolution: the names a provider reports (`gpt-4o-2024-08-06`,
//! `models/gemini-1.5-pro-002`, `us.anthropic.claude-sonnet-4-20250514-v1:0`,
//! `claude-3-5-sonnet@20240620`) turned into the candidates a price table is
//! keyed by, most specific first.
//!
//! Only suffixes that mark a *snapshot* of the same model are removed: dates,
//! numeric revisions, `-latest`, Bedrock version tags. A suffix that names a
//! different model (`-mini`, `-turbo`, `-preview`, `-4-5`, `:ft-...`) stops
//! the stripping, so `gpt-4o-mini-2024-07-18` can only become `gpt-4o-mini`,
//! and a name that differs by a letter (`gpt-4` / `gpt-4o`) never matches.
//! Walking the suffixes back one at a time and taking the first hit is the
//! "longest known prefix" rule restricted to the prefixes that are safe.

/// Bedrock cross-region inference profile prefixes (`us.anthropic.claude-...`).
const BEDROCK_REGIONS: &[&str] = &["us", "eu", "apac", "us-gov", "global", "jp", "au", "ca"];

/// Bedrock model-id vendor prefixes (`anthropic.claude-...`).
const BEDROCK_VENDORS: &[&str] = &[
    "anthropic",
    "meta",
    "mistral",
    "amazon",
    "cohere",
    "ai21",
    "deepseek",
    "openai",
    "qwen",
    "writer",
];

/// The table section for a provider name: the `gen_ai.provider.name` value
/// where the convention has one, with the synonyms SDKs and users write.
pub(crate) fn canonical_provider(provider: &str) -> String {
    let lower = provider.trim().to_ascii_lowercase();
    let canonical = match lower.as_str() {
        "google" | "gemini" | "google_genai" | "google.genai" | "gcp.gen_ai" | "gcp.vertex_ai"
        | "vertex_ai" | "vertexai" => "gcp.gemini",
        "mistral" | "mistralai" => "mistral_ai",
        // Azure OpenAI's Global deployments are priced as OpenAI's list
        // (Data Zone and Regional ones ~10% above: override to match).
        "azure.ai.openai" | "azure_openai" | "azure" => "openai",
        "together" | "togetherai" => "together_ai",
        "fireworks" | "fireworksai" => "fireworks_ai",
        _ => return lower,
    };
    canonical.to_string()
}

/// Lookup candidates for a reported model name, most specific first, without
/// duplicates. The first is the trimmed, lowercased name itself, so a table
/// entry keyed by the exact id always wins over a normalised one.
pub(crate) fn candidates(model: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        if !name.is_empty() && !out.iter().any(|c| c == name) {
            out.push(name.to_string());
        }
    };

    let lower = model.trim().to_ascii_lowercase();
    push(&lower);

    // Provider paths: `openai/gpt-4o`, `models/gemini-2.0-flash`,
    // `accounts/fireworks/models/llama-v3p1-8b-instruct`,
    // `projects/p/locations/l/publishers/google/models/gemini-1.5-pro-002`.
    let mut name = lower
        .rsplit_once('/')
        .map_or(lower.as_str(), |(_, last)| last);
    push(name);

    // Vertex AI publisher snapshots: `claude-3-5-sonnet@20240620`.
    if let Some((base, _)) = name.split_once('@') {
        name = base;
        push(name);
    }

    if let Some(base) = strip_bedrock(name) {
        name = base;
        push(name);
    }

    while let Some(base) = strip_snapshot_suffix(name) {
        name = base;
        push(name);
    }
    out
}

/// `us.anthropic.claude-3-5-sonnet-20241022-v2:0` -> `claude-3-5-sonnet-20241022`.
/// Only ids with a known vendor prefix are touched, so dotted model names
/// (`gpt-4.1`, `gemini-1.5-pro`) pass through.
fn strip_bedrock(name: &str) -> Option<&str> {
    let mut rest = name;
    if let Some((head, tail)) = rest.split_once('.')
        && BEDROCK_REGIONS.contains(&head)
    {
        rest = tail;
    }
    let (vendor, tail) = rest.split_once('.')?;
    if !BEDROCK_VENDORS.contains(&vendor) {
        return None;
    }
    rest = tail;
    // The `-vN` after a dated id only repeats the date (`...-20241022-v2:0`);
    // elsewhere it names the model (`amazon.titan-embed-text-v2:0`), so only
    // the `:N` revision goes.
    if let Some((base, version)) = rest.rsplit_once('-')
        && is_bedrock_version(version)
        && base.rsplit_once('-').is_some_and(|(_, d)| is_date8(d))
    {
        rest = base;
    } else if let Some((base, _)) = rest.split_once(':') {
        rest = base;
    }
    non_empty(rest)
}

/// `v1`, `v2:0`, `v1:0:200k` (provisioned-throughput variants).
fn is_bedrock_version(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix('v') else {
        return false;
    };
    let major = rest.split(':').next().unwrap_or("");
    is_digits(major)
}

/// Removes one trailing snapshot marker: `-latest`, `-YYYY-MM-DD`,
/// `-YYYYMMDD`, or a 4-digit (`-0613`, `-2411`) or 3-digit (`-002`) revision.
fn strip_snapshot_suffix(name: &str) -> Option<&str> {
    if let Some(base) = name.strip_suffix("-latest") {
        return non_empty(base);
    }
    let (rest, last) = name.rsplit_once('-')?;
    if last.len() == 2 && is_digits(last) {
        // Only as the day of a full `-YYYY-MM-DD` date.
        let (rest, month) = rest.rsplit_once('-')?;
        let (base, year) = rest.rsplit_once('-')?;
        let is_date = month.len() == 2 && is_digits(month) && is_year(year);
        return if is_date { non_empty(base) } else { None };
    }
    let is_snapshot = is_date8(last) || (matches!(last.len(), 3 | 4) && is_digits(last));
    if is_snapshot { non_empty(rest) } else { None }
}

/// `YYYYMMDD`.
fn is_date8(s: &str) -> bool {
    s.len() == 8 && s.starts_with("20") && is_digits(s)
}

fn is_year(s: &str) -> bool {
    s.len() == 4 && s.starts_with("20") && is_digits(s)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn non_empty(s: &str) -> Option<&str> {
    if s.is_empty() { None } else { Some(s) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(model: &str) -> String {
        candidates(model).pop().unwrap_or_default()
    }

    #[test]
    fn strips_snapshot_markers_down_to_the_family() {
        let cases = [
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("GPT-4o-Mini-2024-07-18", "gpt-4o-mini"),
            ("gpt-4-0613", "gpt-4"),
            ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
            ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
            ("mistral-large-2411", "mistral-large"),
            ("models/gemini-1.5-pro-002", "gemini-1.5-pro"),
            ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
            (
                "accounts/fireworks/models/llama-v3p1-8b-instruct",
                "llama-v3p1-8b-instruct",
            ),
            (
                "anthropic.claude-3-5-sonnet-20240620-v1:0",
                "claude-3-5-sonnet",
            ),
            (
                "us.anthropic.claude-sonnet-4-20250514-v1:0",
                "claude-sonnet-4",
            ),
            (
                "anthropic.claude-3-haiku-20240307-v1:0:200k",
                "claude-3-haiku",
            ),
            ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet"),
            (
                "projects/p/locations/us-east5/publishers/anthropic/models/claude-opus-4@20250514",
                "claude-opus-4",
            ),
        ];
        for (raw, family) in cases {
            assert_eq!(last(raw), family, "{raw}");
        }
    }

    #[test]
    fn candidates_keep_the_exact_name_first() {
        assert_eq!(
            candidates(" gpt-4o-2024-05-13 "),
            ["gpt-4o-2024-05-13", "gpt-4o"]
        );
    }

    #[test]
    fn model_defining_suffixes_stop_the_stripping() {
        for raw in [
            "gpt-4o-mini",
            "gpt-4",
            "claude-opus-4-5",
            "gpt-4-1106-preview",
            "gemini-2.5-flash-preview-05-20",
            "ft:gpt-4o-mini-2024-07-18:acme::abc123",
            "llama3.1:8b",
            "gpt-4.1",
        ] {
            assert_eq!(candidates(raw), [raw.to_ascii_lowercase()], "{raw}");
        }
    }

    #[test]
    fn dotted_names_are_not_taken_for_bedrock_ids() {
        assert_eq!(strip_bedrock("gemini-1.5-pro"), None);
        assert_eq!(strip_bedrock("llama-3.3-70b"), None);
        assert_eq!(strip_bedrock("anthropic.claude-v2:1"), Some("claude-v2"));
        assert_eq!(
            strip_bedrock("amazon.titan-embed-text-v2:0"),
            Some("titan-embed-text-v2")
        );
        assert_eq!(
            strip_bedrock("meta.llama3-70b-instruct-v1:0"),
            Some("llama3-70b-instruct-v1")
        );
    }

    #[test]
    fn provider_synonyms_map_to_one_section() {
        assert_eq!(canonical_provider("Google"), "gcp.gemini");
        assert_eq!(canonical_provider("gcp.vertex_ai"), "gcp.gemini");
        assert_eq!(canonical_provider("mistral"), "mistral_ai");
        assert_eq!(canonical_provider("azure.ai.openai"), "openai");
        assert_eq!(canonical_provider("together"), "together_ai");
        assert_eq!(canonical_provider(" OpenAI "), "openai");
    }
}
