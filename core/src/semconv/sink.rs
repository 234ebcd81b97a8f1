//! Where the mapping puts a span's attributes. The mapping (GenAI,
//! OpenInference, free attributes) is written once against [`AttrSink`];
//! the protobuf writer, the OTLP-JSON writer and the `opentelemetry_proto`
//! struct builder each implement it, so every output carries exactly the same
//! attributes in the same order.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue as PKeyValue, any_value,
};

use super::messages::Content;
use crate::model::{LlmCall, Str, Value};

/// Receives attributes in the order the span carries them.
pub trait AttrSink {
    fn str(&mut self, key: &str, v: &str);
    fn i64(&mut self, key: &str, v: i64);
    fn f64(&mut self, key: &str, v: f64);
    fn bool(&mut self, key: &str, v: bool);
    fn str_array(&mut self, key: &str, v: &[Str]);
    fn i64_array(&mut self, key: &str, v: &[i64]);
    fn f64_array(&mut self, key: &str, v: &[f64]);
    fn bool_array(&mut self, key: &str, v: &[bool]);

    /// A content attribute (messages, system instructions, tool
    /// definitions) as a JSON string, the span's largest value. The
    /// protobuf writer writes it in place, the OTLP-JSON writer escaped as
    /// it goes, and the struct builder keeps the string it builds.
    fn content(&mut self, key: &str, c: Content<'_>) {
        self.str(key, &c.to_json());
    }

    /// A free attribute's string value (user, session, feature...): the
    /// same pairs come back call after call, so a writer may copy its last
    /// output for the pair instead (the protobuf writer does).
    fn shared_str(&mut self, key: &Str, v: &Str)
    where
        Self: Sized,
    {
        self.str(key, v)
    }

    /// The call's leading attributes, written by `write`: the same for
    /// every call to one model, so a writer may copy its last output for
    /// them instead (the protobuf writer does).
    fn call_head(&mut self, _call: &LlmCall, write: impl FnOnce(&mut Self))
    where
        Self: Sized,
    {
        write(self)
    }
}

/// Emits one attribute value of the record model.
pub fn value<S: AttrSink>(out: &mut S, key: &str, v: &Value) {
    match v {
        Value::Str(s) | Value::Json(s) => out.str(key, s),
        Value::Bool(b) => out.bool(key, *b),
        Value::Int(i) => out.i64(key, *i),
        Value::Float(f) => out.f64(key, *f),
        Value::StrArray(a) => out.str_array(key, a),
        Value::IntArray(a) => out.i64_array(key, a),
        Value::FloatArray(a) => out.f64_array(key, a),
        Value::BoolArray(a) => out.bool_array(key, a),
    }
}

fn kv(key: &str, v: any_value::Value) -> PKeyValue {
    PKeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn array<T>(v: &[T], f: impl Fn(&T) -> any_value::Value) -> any_value::Value {
    any_value::Value::ArrayValue(ArrayValue {
        values: v.iter().map(|x| AnyValue { value: Some(f(x)) }).collect(),
    })
}

/// The `opentelemetry_proto` struct builder (metrics, tests, tools).
impl AttrSink for Vec<PKeyValue> {
    fn str(&mut self, key: &str, v: &str) {
        self.push(kv(key, any_value::Value::StringValue(v.to_string())));
    }
    fn i64(&mut self, key: &str, v: i64) {
        self.push(kv(key, any_value::Value::IntValue(v)));
    }
    fn f64(&mut self, key: &str, v: f64) {
        self.push(kv(key, any_value::Value::DoubleValue(v)));
    }
    fn bool(&mut self, key: &str, v: bool) {
        self.push(kv(key, any_value::Value::BoolValue(v)));
    }
    fn str_array(&mut self, key: &str, v: &[Str]) {
        self.push(kv(
            key,
            array(v, |s| any_value::Value::StringValue(s.to_string())),
        ));
    }
    fn i64_array(&mut self, key: &str, v: &[i64]) {
        self.push(kv(key, array(v, |i| any_value::Value::IntValue(*i))));
    }
    fn f64_array(&mut self, key: &str, v: &[f64]) {
        self.push(kv(key, array(v, |f| any_value::Value::DoubleValue(*f))));
    }
    fn bool_array(&mut self, key: &str, v: &[bool]) {
        self.push(kv(key, array(v, |b| any_value::Value::BoolValue(*b))));
    }
    fn content(&mut self, key: &str, c: Content<'_>) {
        self.push(kv(key, any_value::Value::StringValue(c.to_json())));
    }
}
