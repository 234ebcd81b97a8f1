//! Parsers for the structured values of the OTel environment rules.

use super::Protocol;

/// Validates an endpoint URL and returns the URL to send to. For HTTP, a base
/// endpoint gets `/v1/traces` appended (the spec's rule for
/// `OTEL_EXPORTER_OTLP_ENDPOINT`; unlike opentelemetry-rust we apply it to
/// code values too, which otherwise post to `/` and get a 404), unless it
/// already ends with it.
pub fn parse_endpoint(raw: &str, protocol: Protocol, is_base: bool) -> Result<String, String> {
    let raw = raw.trim();
    let url = url::Url::parse(raw).map_err(|e| {
        format!("not a URL ({e}); expected e.g. http://localhost:4318 or https://collector:4317")
    })?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "unsupported scheme {other:?}; expected http:// or https://"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("missing host; expected e.g. http://localhost:4318".into());
    }
    // The scheme in its canonical lower case (`HTTPS://` is valid): the
    // exporters decide on TLS by the `https://` prefix.
    let scheme = url.scheme();
    let raw = match raw.get(scheme.len()..) {
        Some(rest) if raw[..scheme.len()].eq_ignore_ascii_case(scheme) => format!("{scheme}{rest}"),
        _ => raw.to_string(),
    };
    if protocol == Protocol::Grpc || !is_base {
        return Ok(raw);
    }
    let base = raw.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        Ok(base.to_string())
    } else {
        Ok(format!("{base}/v1/traces"))
    }
}

/// Checks a header name and value can go on the wire.
pub(crate) fn validate_header(k: &str, v: &str) -> Result<(), String> {
    if k.is_empty() {
        return Err("header name must not be empty".into());
    }
    if !k
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        return Err(format!(
            "header name {k:?} has characters not allowed in HTTP"
        ));
    }
    if v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(format!(
            "value of header {k:?} contains a line break or NUL"
        ));
    }
    Ok(())
}

/// Parses `k=v,k2=v2` (W3C baggage-like; values percent-decoded), as the
/// OTLP headers variables define.
pub fn parse_headers(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!("{item:?} is not key=value; expected k1=v1,k2=v2"));
        };
        let k = k.trim();
        let v = percent_encoding::percent_decode_str(v.trim())
            .decode_utf8()
            .map_err(|_| format!("value of {k:?} is not valid UTF-8 after percent-decoding"))?
            .to_string();
        validate_header(k, &v)?;
        out.push((k.to_ascii_lowercase(), v));
    }
    Ok(out)
}

/// Parses `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`, percent-decoded values).
pub fn parse_resource_attributes(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!("{item:?} is not key=value"));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err("empty attribute key".into());
        }
        let v = percent_encoding::percent_decode_str(v.trim())
            .decode_utf8_lossy()
            .to_string();
        out.retain(|(ek, _)| ek != k);
        out.push((k.to_string(), v));
    }
    Ok(out)
}
