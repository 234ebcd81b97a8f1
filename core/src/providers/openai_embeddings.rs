//! OpenAI Embeddings (`/v1/embeddings`). Vectors are never copied: the
//! response is only walked to measure the first vector.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::common::OpenAiUsage;
use super::json::{FieldSink, LObj, LStr, LU64, skip, visit_object};
use crate::model::LlmCall;

struct Request<'c> {
    call: &'c mut LlmCall,
    dimensions: Option<u64>,
}

impl<'de> FieldSink<'de> for Request<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "model" => self.call.request_model = map.next_value::<LStr>()?.0,
            "dimensions" => self.dimensions = map.next_value::<LU64>()?.0,
            "encoding_format" => {
                if let Some(f) = map.next_value::<LStr>()?.0 {
                    self.call.params.encoding_formats = vec![f];
                }
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// Parses an embeddings request body into `call`.
pub(crate) fn parse_request(call: &mut LlmCall, body: &str) {
    let mut req = Request {
        call,
        dimensions: None,
    };
    visit_object(body, &mut req);
    if req.dimensions.is_some() {
        req.call.embedding_dimensions = req.dimensions;
    }
}

struct Response<'c> {
    call: &'c mut LlmCall,
    first_vector_len: Option<u64>,
}

impl<'de> FieldSink<'de> for Response<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "model" => self.call.response_model = map.next_value::<LStr>()?.0,
            "data" => map.next_value_seed(DataSeed(&mut self.first_vector_len))?,
            "usage" => {
                if let Some(u) = map.next_value::<LObj<OpenAiUsage>>()?.0 {
                    // Embeddings only consume input.
                    let u = u.to_usage();
                    self.call.usage.input_tokens = u.input_tokens;
                }
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// Parses an embeddings response body into `call`. The requested
/// `dimensions` win; otherwise the first vector's length is recorded.
pub(crate) fn parse_response(call: &mut LlmCall, body: &str) {
    let mut resp = Response {
        call,
        first_vector_len: None,
    };
    visit_object(body, &mut resp);
    if resp.call.embedding_dimensions.is_none() {
        resp.call.embedding_dimensions = resp.first_vector_len;
    }
}

/// `data`: measures the first element's `embedding`, skips the rest.
struct DataSeed<'s>(&'s mut Option<u64>);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of embeddings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        if let Some(first) = a.next_element::<LObj<Embedding>>()? {
            *self.0 = first.0.and_then(|e| e.embedding.0);
        }
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Embedding {
    embedding: VectorLen,
}

/// The length of a vector: a float array, or base64 of little-endian f32s
/// (`encoding_format: "base64"`).
#[derive(Default)]
struct VectorLen(Option<u64>);

impl<'de> Deserialize<'de> for VectorLen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(VectorLenVisitor)
    }
}

struct VectorLenVisitor;

impl<'de> Visitor<'de> for VectorLenVisitor {
    type Value = VectorLen;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a vector")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<VectorLen, A::Error> {
        let mut n = 0u64;
        while a.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(VectorLen(Some(n)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<VectorLen, E> {
        let padding = v.bytes().rev().take_while(|&b| b == b'=').count();
        let bytes = (v.len() / 4 * 3).saturating_sub(padding);
        Ok(VectorLen(Some((bytes / 4) as u64)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<VectorLen, A::Error> {
        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(VectorLen(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<VectorLen, E> {
        Ok(VectorLen(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<VectorLen, E> {
        Ok(VectorLen(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<VectorLen, E> {
        Ok(VectorLen(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<VectorLen, E> {
        Ok(VectorLen(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<VectorLen, E> {
        Ok(VectorLen(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Operation, Str};

    fn call() -> LlmCall {
        LlmCall::new("openai", Operation::Embeddings)
    }

    #[test]
    fn float_vectors_are_measured() {
        let mut c = call();
        parse_request(
            &mut c,
            r#"{"model":"text-embedding-3-small","input":["a","b"],"encoding_format":"float"}"#,
        );
        parse_response(
            &mut c,
            r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2,0.3]},{"object":"embedding","index":1,"embedding":[1,2,3]}],
               "model":"text-embedding-3-small","usage":{"prompt_tokens":2,"total_tokens":2}}"#,
        );
        assert_eq!(c.request_model.as_deref(), Some("text-embedding-3-small"));
        assert_eq!(c.response_model.as_deref(), Some("text-embedding-3-small"));
        assert_eq!(c.params.encoding_formats, vec![Str::from("float")]);
        assert_eq!(c.embedding_dimensions, Some(3));
        assert_eq!(c.usage.input_tokens, Some(2));
        assert_eq!(c.usage.output_tokens, None);
    }

    #[test]
    fn base64_vectors_are_measured_and_requested_dimensions_win() {
        // 4 f32 = 16 bytes = 24 base64 chars (with padding).
        let mut c = call();
        parse_response(
            &mut c,
            r#"{"data":[{"embedding":"AAAAAAAAgD8AAABAAABAQA=="}],"model":"m"}"#,
        );
        assert_eq!(c.embedding_dimensions, Some(4));
        let mut c = call();
        parse_request(&mut c, r#"{"model":"m","input":"x","dimensions":256}"#);
        parse_response(&mut c, r#"{"data":[{"embedding":[0.5]}]}"#);
        assert_eq!(c.embedding_dimensions, Some(256));
    }
}
