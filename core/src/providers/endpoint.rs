//! What the server a call went to says about it.
//!
//! `gen_ai.provider.name` from the host. The OpenAI and Anthropic clients are
//! pointed at many other providers' compatible endpoints (Azure OpenAI, Groq,
//! DeepSeek, Mistral, Vertex AI, Bedrock...); naming the provider by the wire
//! format alone would file all of them under `openai` or `anthropic`, and
//! price their models from the wrong table. The names are the GenAI
//! conventions' well-known values where one exists, else the provider's own
//! lower-case name.
//!
//! The model from the path, for the APIs that move it out of the body and
//! into the URL: Vertex AI (`.../publishers/anthropic/models/{model}:rawPredict`)
//! and Bedrock (`/model/{model id or ARN}/invoke`).

use std::borrow::Cow;

use crate::model::ApiKind;

/// (domain, provider): the host is the domain or a subdomain of it.
const DOMAINS: &[(&str, &str)] = &[
    ("openai.azure.com", "azure.ai.openai"),
    ("cognitiveservices.azure.com", "azure.ai.openai"),
    ("models.ai.azure.com", "azure.ai.inference"),
    ("inference.ai.azure.com", "azure.ai.inference"),
    ("api.groq.com", "groq"),
    ("api.deepseek.com", "deepseek"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.x.ai", "x_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("api.cohere.ai", "cohere"),
    ("api.cohere.com", "cohere"),
    ("api.moonshot.ai", "moonshot_ai"),
    ("api.moonshot.cn", "moonshot_ai"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("ml.cloud.ibm.com", "ibm.watsonx.ai"),
    ("api.together.xyz", "together_ai"),
    ("api.together.ai", "together_ai"),
    ("api.fireworks.ai", "fireworks_ai"),
    ("openrouter.ai", "openrouter"),
    ("api.openai.com", "openai"),
    ("api.anthropic.com", "anthropic"),
];

/// The provider serving `host`, or `None` when the host says nothing (a
/// local server, a proxy, an unknown provider): the caller then names the
/// provider by the API's wire format.
pub(crate) fn provider_for_host(api: ApiKind, host: &str) -> Option<&'static str> {
    let host = host.trim_end_matches('.');
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    // Host names arrive in lower case nearly always: no copy then.
    let host: Cow<'_, str> = if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    };
    let under = |domain: &str| {
        host == domain
            || (host.len() > domain.len()
                && host.ends_with(domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
    };
    if let Some(&(_, provider)) = DOMAINS.iter().find(|(domain, _)| under(domain)) {
        return Some(provider);
    }
    // Vertex AI's regional endpoints: `us-east5-aiplatform.googleapis.com`.
    if host.ends_with("-aiplatform.googleapis.com") {
        return Some("gcp.vertex_ai");
    }
    // Bedrock runtime (`bedrock-runtime.us-east-1.amazonaws.com`, FIPS and
    // VPC endpoint variants) and its OpenAI-compatible `bedrock-mantle`.
    if host.contains("bedrock") && (host.ends_with(".amazonaws.com") || host.ends_with(".api.aws"))
    {
        return Some("aws.bedrock");
    }
    // Azure AI Foundry resources serve both OpenAI's API (Azure OpenAI) and
    // the model inference API under one domain.
    if under("services.ai.azure.com") {
        return Some(match api {
            ApiKind::AnthropicMessages => "azure.ai.inference",
            _ => "azure.ai.openai",
        });
    }
    None
}

/// The model named in a Vertex AI or Bedrock request path, percent-decoded;
/// `None` for any other path.
pub(crate) fn model_from_path(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let raw = if let Some(i) = path.find("/publishers/") {
        let rest = &path[i..];
        let m = rest.find("/models/")? + "/models/".len();
        rest[m..].split([':', '/']).next()?
    } else if let Some(rest) = path.strip_prefix("/model/") {
        rest.split('/').next()?
    } else {
        return None;
    };
    let model = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let model = model.trim();
    (!model.is_empty() && model.len() <= 512).then(|| model.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: ApiKind = ApiKind::OpenAiChatCompletions;

    #[test]
    fn compatible_endpoints_name_their_provider() {
        for (host, want) in [
            ("myres.openai.azure.com", "azure.ai.openai"),
            ("MyRes.OpenAI.Azure.com.", "azure.ai.openai"),
            ("eastus.api.cognitive.microsoft.com", ""),
            ("myres.cognitiveservices.azure.com", "azure.ai.openai"),
            ("proj.services.ai.azure.com", "azure.ai.openai"),
            ("api.groq.com", "groq"),
            ("api.deepseek.com", "deepseek"),
            ("api.mistral.ai", "mistral_ai"),
            ("api.x.ai", "x_ai"),
            ("generativelanguage.googleapis.com", "gcp.gemini"),
            ("us-east5-aiplatform.googleapis.com", "gcp.vertex_ai"),
            ("aiplatform.googleapis.com", "gcp.vertex_ai"),
            ("bedrock-runtime.us-east-1.amazonaws.com", "aws.bedrock"),
            ("bedrock-mantle.us-east-1.api.aws", "aws.bedrock"),
            ("us-south.ml.cloud.ibm.com", "ibm.watsonx.ai"),
            ("openrouter.ai", "openrouter"),
            ("api.openai.com", "openai"),
        ] {
            assert_eq!(provider_for_host(CHAT, host).unwrap_or(""), want, "{host}");
        }
    }

    #[test]
    fn unknown_and_look_alike_hosts_say_nothing() {
        for host in [
            "",
            "localhost",
            "127.0.0.1",
            "::1",
            "llm-proxy.internal",
            "evilopenai.azure.com",
            "api.groq.com.attacker.example",
            "notapi.x.ai",
            "s3.amazonaws.com",
        ] {
            assert_eq!(provider_for_host(CHAT, host), None, "{host}");
        }
    }

    #[test]
    fn foundry_hosts_depend_on_the_api() {
        let host = "proj.services.ai.azure.com";
        assert_eq!(
            provider_for_host(ApiKind::AnthropicMessages, host),
            Some("azure.ai.inference")
        );
        assert_eq!(
            provider_for_host(ApiKind::OpenAiResponses, host),
            Some("azure.ai.openai")
        );
    }

    #[test]
    fn the_model_is_read_from_vertex_and_bedrock_paths_only() {
        for (path, want) in [
            (
                "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict",
                Some("claude-sonnet-4-5@20250929"),
            ),
            (
                "/v1/projects/p/locations/global/publishers/anthropic/models/claude-haiku-4-5:streamRawPredict?alt=sse",
                Some("claude-haiku-4-5"),
            ),
            (
                "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream",
                Some("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            ),
            (
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
                Some(
                    "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
                ),
            ),
            ("/v1/messages", None),
            ("/v1/chat/completions", None),
            ("/openai/deployments/prod/chat/completions", None),
            ("/model//invoke", None),
            ("/model/%FF%FE/invoke", None),
            ("", None),
        ] {
            assert_eq!(model_from_path(path).as_deref(), want, "{path}");
        }
    }
}
