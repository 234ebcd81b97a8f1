//! Lenient JSON building blocks for the wire parsers.
//!
//! Provider bodies come from many servers (OpenAI, Anthropic and every
//! "compatible" proxy), so a field of an unexpected type (`"usage": null`,
//! `"content": 3`, `"arguments": {...}` instead of a string) must not fail the
//! object around it. The `L*` types read what they expect and skip anything
//! else. [`visit_object`] walks a top-level object field by field so that a
//! truncated body keeps every field that arrived complete.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::model::Str;

fn drain_seq<'de, A: SeqAccess<'de>>(mut a: A) -> Result<(), A::Error> {
    while a.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut a: A) -> Result<(), A::Error> {
    while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A JSON scalar, or `Other` for arrays and objects (which are skipped).
enum Scalar<'de> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'de, str>),
    Other,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        drain_seq(a)?;
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        drain_map(a)?;
        Ok(Scalar::Other)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar<'de>, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

/// A string kept for the record (one copy into a shared [`Str`]).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct LStr(pub Option<Str>);

impl<'de> Deserialize<'de> for LStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LStr(match scalar(d)? {
            Scalar::Str(Cow::Borrowed(s)) => Some(Str::from(s)),
            Scalar::Str(Cow::Owned(s)) => Some(Str::from(s)),
            _ => None,
        }))
    }
}

/// A string that is only looked at (a type tag, a stream delta): borrowed
/// from the body when it has no escapes.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct LCow<'a>(pub Option<Cow<'a, str>>);

impl<'a> LCow<'a> {
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
    pub fn to_str(&self) -> Option<Str> {
        self.0.as_deref().map(Str::from)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LCow<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LCow(match scalar(d)? {
            Scalar::Str(s) => Some(s),
            _ => None,
        }))
    }
}

/// A token count or other non-negative integer.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct LU64(pub Option<u64>);

impl<'de> Deserialize<'de> for LU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LU64(match scalar(d)? {
            Scalar::U64(v) => Some(v),
            Scalar::I64(v) => u64::try_from(v).ok(),
            Scalar::F64(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 => Some(v as u64),
            _ => None,
        }))
    }
}

/// A signed integer (seeds).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct LI64(pub Option<i64>);

impl<'de> Deserialize<'de> for LI64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LI64(match scalar(d)? {
            Scalar::I64(v) => Some(v),
            Scalar::U64(v) => i64::try_from(v).ok(),
            Scalar::F64(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e18 => {
                Some(v as i64)
            }
            _ => None,
        }))
    }
}

/// A number (temperature, penalties).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct LF64(pub Option<f64>);

impl<'de> Deserialize<'de> for LF64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LF64(match scalar(d)? {
            Scalar::F64(v) => Some(v),
            Scalar::U64(v) => Some(v as f64),
            Scalar::I64(v) => Some(v as f64),
            _ => None,
        }))
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct LBool(pub Option<bool>);

impl<'de> Deserialize<'de> for LBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LBool(match scalar(d)? {
            Scalar::Bool(v) => Some(v),
            _ => None,
        }))
    }
}

/// An array; anything else (null, a string...) reads as empty.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LVec<T>(pub Vec<T>);

impl<T> Default for LVec<T> {
    fn default() -> Self {
        LVec(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LVec<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        d.deserialize_any(ItemsVisitor {
            text: &mut None,
            items: &mut out,
        })?;
        Ok(LVec(out))
    }
}

/// A nested object; any other type reads as `None` instead of failing the
/// object around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LObj<T>(pub Option<T>);

impl<T> Default for LObj<T> {
    fn default() -> Self {
        LObj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LObj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjVisitor(PhantomData))
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = LObj<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(a)).map(|t| LObj(Some(t)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        drain_seq(a)?;
        Ok(LObj(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(LObj(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(LObj(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(LObj(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(LObj(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(LObj(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(LObj(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(LObj(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<T> LObj<T> {
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<T> LVec<LObj<T>> {
    /// The elements that were objects.
    pub fn objs(&self) -> impl Iterator<Item = &T> {
        self.0.iter().filter_map(|o| o.0.as_ref())
    }
}

/// `stop`: a string or an array of strings.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Stop(pub Vec<Str>);

impl<'de> Deserialize<'de> for Stop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut text = None;
        let mut items: Vec<LStr> = Vec::new();
        d.deserialize_any(ItemsVisitor {
            text: &mut text,
            items: &mut items,
        })?;
        let mut out: Vec<Str> = items.into_iter().filter_map(|s| s.0).collect();
        if let Some(t) = text {
            out.insert(0, t);
        }
        Ok(Stop(out))
    }
}

/// A value that is a string, or an array whose elements are collected one by
/// one (so a truncated array keeps its complete elements). Other types are
/// skipped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Items<T> {
    pub text: Option<Str>,
    pub items: Vec<T>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items {
            text: None,
            items: Vec::new(),
        }
    }
}

impl<T> Items<T> {
    /// Reads the next value of `map` into `self`, keeping what arrived even
    /// when the value is cut short.
    pub fn read<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error>
    where
        T: Deserialize<'de>,
    {
        map.next_value_seed(ItemsSeed(self))
    }
}

struct ItemsSeed<'s, T>(&'s mut Items<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ItemsSeed<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(ItemsVisitor {
            text: &mut self.0.text,
            items: &mut self.0.items,
        })
    }
}

struct ItemsVisitor<'s, T> {
    text: &'s mut Option<Str>,
    items: &'s mut Vec<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ItemsVisitor<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an array")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        *self.text = Some(Str::from(v));
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
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        while let Some(item) = a.next_element::<T>()? {
            self.items.push(item);
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<(), A::Error> {
        drain_map(a)
    }
}

/// Receives the fields of a top-level object, one at a time. `field` must
/// consume the value (`map.next_value...`) exactly once.
pub(crate) trait FieldSink<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Feeds each field of the JSON object `json` to `sink`, in order. Returns
/// whether the whole object was read; on a syntax error or a cut body the
/// fields before the damage have already been delivered.
pub(crate) fn visit_object<'de, S: FieldSink<'de>>(json: &'de str, sink: &mut S) -> bool {
    let mut de = serde_json::Deserializer::from_str(json);
    ObjectSeed(sink).deserialize(&mut de).is_ok()
}

struct ObjectSeed<'s, S>(&'s mut S);

impl<'de, S: FieldSink<'de>> DeserializeSeed<'de> for ObjectSeed<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(ObjectVisitor(self.0))
    }
}

struct ObjectVisitor<'s, S>(&'s mut S);

impl<'de, S: FieldSink<'de>> Visitor<'de> for ObjectVisitor<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<LCow<'de>>()? {
            self.0.field(key.as_str(), &mut map)?;
        }
        Ok(())
    }
}

/// Skips the value of the current field.
pub(crate) fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// Parses `raw` as `T`, or `None` (never an error).
pub(crate) fn parse<'a, T: Deserialize<'a>>(raw: &'a str) -> Option<T> {
    serde_json::from_str(raw).ok()
}

/// A value that should be a JSON string but may be an object (tool
/// arguments from some compatible servers): the string's content, or the
/// value's JSON text.
pub(crate) fn string_or_json_cow(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
    let raw = raw?;
    let t = raw.get().trim_start();
    if t.starts_with('"') {
        parse::<LCow>(t).and_then(|s| s.0)
    } else if t == "null" {
        None
    } else {
        Some(minify(raw.get()))
    }
}

/// [`string_or_json_cow`] as a kept string.
pub(crate) fn string_or_json(raw: Option<&RawValue>) -> Option<Str> {
    string_or_json_cow(raw).map(|c| Str::from(&*c))
}

/// The JSON text of a raw value, minified (`null` reads as absent).
pub(crate) fn raw_text(raw: Option<&RawValue>) -> Option<Str> {
    raw.filter(|r| r.get() != "null")
        .map(|r| Str::from(minify(r.get()).as_ref()))
}

/// Drops the whitespace between JSON tokens, keeping key order and string
/// contents: the same object reads the same whether it came pretty-printed,
/// compact, or reassembled from stream pieces.
pub(crate) fn minify(json: &str) -> Cow<'_, str> {
    let is_ws = |b: u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    if !json.bytes().any(is_ws) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_ascii() && is_ws(c as u8) {
            continue;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct S<'a> {
        a: LU64,
        b: LF64,
        #[serde(borrow)]
        c: LCow<'a>,
        d: LStr,
        e: LVec<LU64>,
        f: Stop,
        g: LI64,
        h: LBool,
    }

    #[test]
    fn wrong_types_read_as_absent_without_failing_the_object() {
        let s: S = parse(
            r#"{"a":"x","b":{"k":[1,2]},"c":5,"d":[1,{"z":null}],"e":"no","f":null,"g":true,"h":1}"#,
        )
        .unwrap();
        assert_eq!(s.a, LU64(None));
        assert_eq!(s.b, LF64(None));
        assert_eq!(s.c, LCow(None));
        assert_eq!(s.d, LStr(None));
        assert!(s.e.0.is_empty());
        assert!(s.f.0.is_empty());
        assert_eq!(s.g, LI64(None));
        assert_eq!(s.h, LBool(None));
    }

    #[test]
    fn right_types_read() {
        let s: S = parse(
            r#"{"a":12.0,"b":1,"c":"t\"x","d":"y","e":[1,-1,3],"f":["a","b"],"g":-4,"h":false}"#,
        )
        .unwrap();
        assert_eq!(s.a, LU64(Some(12)));
        assert_eq!(s.b, LF64(Some(1.0)));
        assert_eq!(s.c.as_str(), "t\"x");
        assert_eq!(s.d.0.as_deref(), Some("y"));
        assert_eq!(s.e.0, vec![LU64(Some(1)), LU64(None), LU64(Some(3))]);
        assert_eq!(s.f.0, vec![Str::from("a"), Str::from("b")]);
        assert_eq!(s.g, LI64(Some(-4)));
        assert_eq!(s.h, LBool(Some(false)));
        let stop: Stop = parse(r#""END""#).unwrap();
        assert_eq!(stop.0, vec![Str::from("END")]);
    }

    struct Collect<'de> {
        keys: Vec<String>,
        list: Items<&'de RawValue>,
    }

    impl<'de> FieldSink<'de> for Collect<'de> {
        fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
            self.keys.push(key.to_string());
            match key {
                "list" => self.list.read(map),
                _ => skip(map),
            }
        }
    }

    #[test]
    fn truncated_object_keeps_complete_fields_and_array_elements() {
        let json = r#"{"a":1,"list":[{"x":1},{"y":[2]},{"z":"#;
        let mut c = Collect {
            keys: vec![],
            list: Items::default(),
        };
        assert!(!visit_object(json, &mut c));
        assert_eq!(c.keys, ["a", "list"]);
        assert_eq!(c.list.items.len(), 2);
        assert_eq!(c.list.items[1].get(), r#"{"y":[2]}"#);
    }

    #[test]
    fn minify_keeps_strings_and_order() {
        assert_eq!(
            minify("{ \"b\" : [1, 2],\n \"a\": \"x \\\" y\" }"),
            "{\"b\":[1,2],\"a\":\"x \\\" y\"}"
        );
        assert!(matches!(minify("{\"a\":1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn string_or_json_unwraps_strings_and_keeps_objects() {
        let v: Vec<&RawValue> = parse(r#"["{\"a\":1}", {"a": 1}, null]"#).unwrap();
        assert_eq!(string_or_json(Some(v[0])).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(string_or_json(Some(v[1])).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(string_or_json(Some(v[2])), None);
    }
}
