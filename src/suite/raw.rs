//! The suite and config files exactly as written: serde structs with a span on everything a
//! later check may point at. Nothing here validates meaning (regexes, ranges, references);
//! `suite::load` does that, so that one file can report many errors at once.
//!
//! [`Spanned`] is our own: a value and the line:column where it is used, 8 bytes beside the
//! value. serde-saphyr's `Spanned` keeps two full `Location`s (where used and where defined,
//! each with byte offsets and a source id: about 80 bytes a node) and builds them through a
//! synthesized map of maps; a suite of 50,000 turns has half a million spanned nodes.
//!
//! A span is lost inside `#[serde(untagged)]`, `#[serde(flatten)]` and internally tagged
//! enums, because serde buffers the value first. So the "string or list", "bool or map" and
//! "bool or string" fields below have hand-written visitors that hand the live YAML accessors
//! down, and every span survives.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;

use crate::diag::Span;
use crate::suite::model::ExpectKey;

/// A value and where it is used in its file: for a YAML alias, the `*alias`, not the anchor
/// (a check about a value points at the place that uses it).
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// The span of a spanned value (where it is used, which for an alias is the `*alias`).
pub fn span_of<T>(s: &Spanned<T>) -> Span {
    s.span
}

/// The newtype name through which serde-saphyr hands a value out with its locations (the
/// protocol its own `Spanned` uses): a map of `value`, `referenced` (where the node is used)
/// and `defined` (where it is written, for an alias its anchor), each location a map of
/// `line`, `column` and more. Only `value` and `referenced`'s line and column are read; the
/// rest is left unread, which the protocol allows and which saves most of its cost. A unit
/// test below holds serde-saphyr to it: were it to change, every span would say so at once.
const SPANNED_NEWTYPE: &str = "__yaml_spanned";

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SpannedSeed(PhantomData::<T>).deserialize(deserializer)
    }
}

/// Reads a [`Spanned`] whose value is read by the seed `S`: the suite's dialogue list is read
/// by a seed that checks each dialogue as it comes (see `suite::load::stream`).
pub struct SpannedSeed<S>(pub S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for SpannedSeed<S> {
    type Value = Spanned<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_newtype_struct(SPANNED_NEWTYPE, Outer(self.0))
    }
}

/// serde-saphyr answers the newtype with a deserializer of the synthesized map.
struct Outer<S>(S);

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Outer<S> {
    type Value = Spanned<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value with its place")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(Inner(self.0))
    }
}

/// The synthesized map: `value` and `referenced` read, the rest left.
struct Inner<S>(S);

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Inner<S> {
    type Value = Spanned<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value with its place")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seed = Some(self.0);
        let (mut value, mut span) = (None, None);
        while value.is_none() || span.is_none() {
            let Some(field) = map.next_key::<ProtocolField>()? else {
                break;
            };
            match field {
                ProtocolField::Value => match seed.take() {
                    Some(seed) => value = Some(map.next_value_seed(seed)?),
                    None => return Err(de::Error::duplicate_field("value")),
                },
                ProtocolField::Referenced => span = Some(map.next_value::<LineColumn>()?.0),
                ProtocolField::Defined => {
                    map.next_value::<LineColumn>()?;
                }
                ProtocolField::Line | ProtocolField::Column | ProtocolField::Other => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        match (value, span) {
            (Some(value), Some(span)) => Ok(Spanned { value, span }),
            _ => Err(de::Error::custom(
                "serde-saphyr gave no value with its place (has its span protocol changed?)",
            )),
        }
    }
}

/// A location's `line` and `column`; its other fields are left unread.
struct LineColumn(Span);

impl<'de> Deserialize<'de> for LineColumn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LineColumn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a location")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LineColumn, A::Error> {
                let (mut line, mut column) = (None, None);
                while line.is_none() || column.is_none() {
                    match map.next_key::<ProtocolField>()? {
                        Some(ProtocolField::Line) => line = Some(map.next_value::<u32>()?),
                        Some(ProtocolField::Column) => column = Some(map.next_value::<u32>()?),
                        // Only the two are read: the others may not take `IgnoredAny`.
                        Some(_) | None => break,
                    }
                }
                match (line, column) {
                    (Some(line), Some(column)) => {
                        Ok(LineColumn(Span::new(line_in_file(line), column)))
                    }
                    _ => Err(de::Error::custom("a location without its line and column")),
                }
            }
        }
        deserializer.deserialize_struct("Location", &["line", "column"], V)
    }
}

thread_local! {
    /// How many lines of its file come before the text being parsed on this thread: not 0
    /// only while a piece of a big file is parsed alone (`suite::load::split`).
    static LINE_OFFSET: Cell<u32> = const { Cell::new(0) };
}

/// Runs `parse` with every span read on this thread `lines` further down: for a piece of a
/// file that starts on line `lines + 1`, so that its spans are the file's. serde hands a
/// `Deserialize` impl no context, hence a thread-local; a parse never leaves its thread.
pub fn with_line_offset<R>(lines: u32, parse: impl FnOnce() -> R) -> R {
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            LINE_OFFSET.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(LINE_OFFSET.with(|c| c.replace(lines)));
    parse()
}

/// A line of the text being parsed as a line of its file (0, unknown, stays 0).
fn line_in_file(line: u32) -> u32 {
    match line {
        0 => 0,
        _ => line.saturating_add(LINE_OFFSET.with(Cell::get)),
    }
}

/// The keys of serde-saphyr's synthesized maps, read without allocating.
enum ProtocolField {
    Value,
    Referenced,
    Defined,
    Line,
    Column,
    Other,
}

impl<'de> Deserialize<'de> for ProtocolField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ProtocolField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ProtocolField, E> {
                Ok(match v {
                    "value" => ProtocolField::Value,
                    "referenced" => ProtocolField::Referenced,
                    "defined" => ProtocolField::Defined,
                    "line" => ProtocolField::Line,
                    "column" => ProtocolField::Column,
                    _ => ProtocolField::Other,
                })
            }
        }
        deserializer.deserialize_identifier(V)
    }
}

/// A suite file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSuite {
    pub name: Option<Spanned<String>>,
    pub endpoint: Option<RawEndpoint>,
    /// SPEC §9.2: an endpoint of kind `openai` that judges.
    pub judge: Option<Spanned<RawEndpoint>>,
    pub defaults: Option<RawDefaults>,
    pub normalize: Option<Vec<RawNormalize>>,
    /// Optional here so that a missing list is our own error, pointing somewhere useful.
    pub dialogues: Option<Spanned<Vec<Spanned<RawDialogue>>>>,
}

/// `agenttest.yaml`: shared by every suite at or below its directory.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub endpoint: Option<RawEndpoint>,
    pub judge: Option<Spanned<RawEndpoint>>,
    pub defaults: Option<RawDefaults>,
    pub normalize: Option<Vec<RawNormalize>>,
}

/// An `endpoint:` mapping (or a `judge:` block): the fields of every kind, so that a field of
/// another kind is the loader's error with its place, not an unknown field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub kind: Option<Spanned<RawKind>>,
    pub base_url: Option<Spanned<String>>,
    pub agent_id: Option<Spanned<String>>,
    pub api_key: Option<Spanned<String>>,
    pub headers: Option<Entries<String>>,
    pub timeout: Option<Spanned<String>>,
    pub retries: Option<Spanned<u32>>,
    pub rate_limit: Option<Spanned<String>>,
    pub mock_script: Option<Spanned<String>>,
    pub model: Option<Spanned<String>>,
    pub system: Option<Spanned<String>>,
    pub system_file: Option<Spanned<String>>,
    pub params: Option<Spanned<RawValue>>,
    pub stream: Option<Spanned<RawStream>>,
    pub method: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub body: Option<Spanned<RawValue>>,
    pub auth_header: Option<Spanned<String>>,
    pub response: Option<Spanned<RawResponse>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawKind {
    Thinnest,
    Openai,
    Http,
}

/// An `http` endpoint's `response:` pointers, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResponse {
    pub text: Option<Spanned<String>>,
    pub session_id: Option<Spanned<String>>,
    pub input_tokens: Option<Spanned<String>>,
    pub output_tokens: Option<Spanned<String>>,
    pub total_tokens: Option<Spanned<String>>,
    pub error: Option<Spanned<String>>,
}

/// `stream: true` (openai) or `stream: sse` (http): which is right depends on the kind, which
/// may come from another layer, so the loader decides.
#[derive(Debug, Clone, PartialEq)]
pub enum RawStream {
    Bool(bool),
    Word(String),
}

impl<'de> Deserialize<'de> for RawStream {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawStream;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`true`, `false` or `sse`")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawStream, E> {
                Ok(RawStream::Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawStream, E> {
                Ok(RawStream::Word(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Any YAML, kept with a span on every node: an `http` body (whose strings are templates
/// checked at load) or `params`. JSON has string keys only, so mapping keys are read as text.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<RawValue>>),
    Map(Vec<(Spanned<String>, Spanned<RawValue>)>),
}

impl RawValue {
    /// What it is, for "expected a mapping, found ..." messages.
    pub fn what(&self) -> &'static str {
        match self {
            RawValue::Null => "nothing",
            RawValue::Bool(_) => "a boolean",
            RawValue::Int(_) | RawValue::UInt(_) | RawValue::Float(_) => "a number",
            RawValue::Str(_) => "a string",
            RawValue::Seq(_) => "a list",
            RawValue::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
                Ok(RawValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
                Ok(RawValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
                Ok(RawValue::UInt(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
                Ok(RawValue::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
                Ok(RawValue::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
                Ok(RawValue::Str(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
                Ok(RawValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
                Ok(RawValue::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
                RawValue::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<RawValue>>()? {
                    out.push(item);
                }
                Ok(RawValue::Seq(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<Spanned<String>, Spanned<RawValue>>()? {
                    out.push(entry);
                }
                Ok(RawValue::Map(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub expect: Option<RawExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNormalize {
    pub pattern: Spanned<String>,
    pub replace: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDialogue {
    pub name: Option<Spanned<String>>,
    pub turns: Option<Spanned<Vec<Spanned<RawTurn>>>>,
    /// Spanned, so that a lone `tags: on` is read as written ("on"), not as the boolean it
    /// reaches the loader as ("true"), as a tag in a list is.
    pub tags: Option<Spanned<OneOrMany<String>>>,
    pub skip: Option<Spanned<Skip>>,
    /// Plain strings: a scalar is read as its text, so `count: 3` is "3" and `vip: yes` "yes".
    pub vars: Option<Entries<String>>,
    /// Boxed: most dialogues have none, and an endpoint as written is large.
    pub endpoint: Option<Box<RawEndpoint>>,
    pub session: Option<Spanned<RawSession>>,
    pub golden: Option<Spanned<RawGolden>>,
    pub repeat: Option<Spanned<u32>>,
    pub min_pass: Option<Spanned<RawMinPass>>,
    pub alpha: Option<Spanned<f64>>,
    /// SPEC §10: one dialogue per row, each row a mapping of var names to scalars, read as
    /// their text like `vars` (kept in written order: the expanded name lists them so).
    pub matrix: Option<Spanned<Vec<Spanned<Entries<String>>>>>,
    /// SPEC §10: the rows in a CSV file beside the suite, its header the var names.
    pub matrix_file: Option<Spanned<String>>,
}

/// `min_pass: 3` or `min_pass: baseline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawMinPass {
    Count(u64),
    Baseline,
}

impl<'de> Deserialize<'de> for RawMinPass {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawMinPass;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of runs or `baseline`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawMinPass, E> {
                Ok(RawMinPass::Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawMinPass, E> {
                u64::try_from(v)
                    .map(RawMinPass::Count)
                    .map_err(|_| E::custom("expected a non-negative integer or `baseline`"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawMinPass, E> {
                match v {
                    "baseline" => Ok(RawMinPass::Baseline),
                    _ => Err(E::custom(format!(
                        "expected a number of runs or `baseline`, found `{v}`"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawSession {
    Fresh,
    Server,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTurn {
    pub user: Option<Spanned<String>>,
    pub expect: Option<RawExpect>,
    pub capture: Option<Entries<String>>,
}

/// A turn's (or the defaults') `expect:`, in file order. Read by hand rather than derived so
/// that each key's own span is kept: an expectation's verdict points at `contains:`, while
/// each value keeps its span for errors about the value itself. Which keys exist is
/// [`ExpectKey::ALL`]'s business, not this file's.
#[derive(Debug, Default)]
pub struct RawExpect(pub Vec<RawExpectEntry>);

#[derive(Debug)]
pub struct RawExpectEntry {
    pub key: ExpectKey,
    /// Where the key is written.
    pub span: Span,
    pub value: RawExpectValue,
}

/// One value per key, in the shape that key takes.
#[derive(Debug)]
pub enum RawExpectValue {
    Status(Spanned<OneOrMany<i64>>),
    Contains(Spanned<OneOrMany<String>>),
    ContainsAny(Spanned<OneOrMany<String>>),
    NotContains(Spanned<OneOrMany<String>>),
    Regex(Spanned<OneOrMany<String>>),
    NotRegex(Spanned<OneOrMany<String>>),
    Equals(Spanned<String>),
    MaxTokens(Spanned<u64>),
    MaxLatency(Spanned<String>),
    MaxFirstToken(Spanned<String>),
    Judge(Spanned<OneOrMany<String>>),
    Facts(Spanned<Vec<Spanned<Entries<String>>>>),
    NotFacts(Spanned<Vec<Spanned<Entries<String>>>>),
}

impl RawExpect {
    /// The span of `key` as written, if it is.
    pub fn key_span(&self, key: ExpectKey) -> Option<Span> {
        self.0.iter().find(|e| e.key == key).map(|e| e.span)
    }
}

/// Reads the value of `key` from a live map accessor, in that key's shape.
fn expect_value<'de, A: MapAccess<'de>>(
    key: ExpectKey,
    map: &mut A,
) -> Result<RawExpectValue, A::Error> {
    use RawExpectValue as V;
    Ok(match key {
        ExpectKey::Status => V::Status(map.next_value()?),
        ExpectKey::Contains => V::Contains(map.next_value()?),
        ExpectKey::ContainsAny => V::ContainsAny(map.next_value()?),
        ExpectKey::NotContains => V::NotContains(map.next_value()?),
        ExpectKey::Regex => V::Regex(map.next_value()?),
        ExpectKey::NotRegex => V::NotRegex(map.next_value()?),
        ExpectKey::Equals => V::Equals(map.next_value()?),
        ExpectKey::MaxTokens => V::MaxTokens(map.next_value()?),
        ExpectKey::MaxLatency => V::MaxLatency(map.next_value()?),
        ExpectKey::MaxFirstToken => V::MaxFirstToken(map.next_value()?),
        ExpectKey::Judge => V::Judge(map.next_value()?),
        ExpectKey::Facts => V::Facts(map.next_value()?),
        ExpectKey::NotFacts => V::NotFacts(map.next_value()?),
    })
}

impl<'de> Deserialize<'de> for RawExpect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawExpect;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of expectations")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawExpect, A::Error> {
                let mut out = RawExpect::default();
                // Duplicate keys never get here: the parser refuses them.
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    let Some(key) = ExpectKey::from_name(&name.value) else {
                        return Err(de::Error::unknown_field(&name.value, &ExpectKey::NAMES));
                    };
                    let value = expect_value(key, &mut map)?;
                    out.0.push(RawExpectEntry {
                        key,
                        span: span_of(&name),
                        value,
                    });
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// A value written either alone or as a list: `contains: x` or `contains: [x, y]`. Items of
/// a list carry their own spans; a lone value gets its span from the enclosing `Spanned`
/// (see [`items`]), because a scalar visitor never sees a location.
///
/// The second field is set when the value was a lone number or boolean where text is wanted
/// (`contains: 9.90`): a scalar visitor only sees the typed value, so its text was rebuilt
/// from it ("9.9"), and whoever holds the file's text reads it as written instead (see
/// `Checker::as_written`).
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<Spanned<T>>, pub bool);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new(), false)
    }
}

/// The items of a spanned one-or-many, each with its own span (a lone value: the outer one).
pub fn items<T: Clone>(outer: &Spanned<OneOrMany<T>>) -> Vec<(T, Span)> {
    outer
        .value
        .0
        .iter()
        .map(|item| {
            let span = span_of(item);
            let span = if span.is_known() {
                span
            } else {
                span_of(outer)
            };
            (item.value.clone(), span)
        })
        .collect()
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> V<T> {
            fn one<E: de::Error, X: IntoDeserializer<'de, E>>(x: X) -> Result<OneOrMany<T>, E> {
                T::deserialize(x.into_deserializer()).map(Self::wrap)
            }

            /// A lone number or boolean where strings are wanted (`contains: 42`): a scalar
            /// visitor only sees the typed value, so its text is rebuilt from it (`9.90` would
            /// read "9.9", `yes` "true") and marked so, for the loader to read it as written.
            /// A list item does not have this problem: it is read as written.
            fn typed<E, X>(x: X) -> Result<OneOrMany<T>, E>
            where
                E: de::Error,
                X: IntoDeserializer<'de, E> + ToString,
            {
                let text = x.to_string();
                match T::deserialize(x.into_deserializer()) {
                    Ok(t) => Ok(Self::wrap(t)),
                    Err(first) => T::deserialize(IntoDeserializer::<E>::into_deserializer(text))
                        .map(|t| OneOrMany(Self::wrap(t).0, true))
                        .map_err(|_| first),
                }
            }

            fn wrap(t: T) -> OneOrMany<T> {
                OneOrMany(
                    vec![Spanned {
                        value: t,
                        span: Span::UNKNOWN,
                    }],
                    false,
                )
            }
        }

        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a list of values")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<T>>()? {
                    out.push(item);
                }
                Ok(OneOrMany(out, false))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Self::one(v)
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Self::one(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Self::typed(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Self::typed(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Self::typed(v)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Self::typed(v)
            }
        }

        deserializer.deserialize_any(V(PhantomData))
    }
}

/// A mapping kept in file order with a span on each key and value (`Spanned<String>` is
/// not `Ord`, so it cannot key a `BTreeMap`; duplicate keys are already refused by the parser).
#[derive(Debug, Clone)]
pub struct Entries<V>(pub Vec<(Spanned<String>, Spanned<V>)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<Spanned<String>, Spanned<V>>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        deserializer.deserialize_map(Vis(PhantomData))
    }
}

/// `skip: reason` or `skip: true`.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    No,
    Reason(String),
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a reason (a string) or a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Skip, E> {
                Ok(if v {
                    Skip::Reason("skipped".into())
                } else {
                    Skip::No
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Skip, E> {
                Ok(Skip::Reason(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `golden: true`, `golden: false` or `golden: {mode: similar, threshold: 0.9}`.
#[derive(Debug)]
pub enum RawGolden {
    Bool(bool),
    Map(RawGoldenMap),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGoldenMap {
    pub mode: Spanned<RawGoldenKind>,
    pub threshold: Option<Spanned<f64>>,
    pub strict: Option<Spanned<bool>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawGoldenKind {
    Exact,
    Similar,
    Facts,
    Judge,
}

impl<'de> Deserialize<'de> for RawGolden {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawGolden;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`true`, `false` or a map like `{mode: similar, threshold: 0.9}`")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawGolden, E> {
                Ok(RawGolden::Bool(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawGolden, A::Error> {
                // Hand the live accessor down so the inner spans keep their locations.
                RawGoldenMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawGolden::Map)
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;

    #[allow(clippy::result_large_err)] // as `yaml::parse`
    fn parse<T: de::DeserializeOwned>(text: &str) -> Result<T, crate::diag::Diagnostic> {
        crate::yaml::parse(&SourceFile::new("t.yaml", text))
    }

    #[derive(Debug, Deserialize)]
    struct Probe {
        a: Option<Spanned<OneOrMany<String>>>,
        s: Option<Spanned<OneOrMany<i64>>>,
        g: Option<Spanned<RawGolden>>,
        h: Option<Entries<String>>,
        k: Option<Spanned<Skip>>,
    }

    fn spans<T: Clone>(s: &Spanned<OneOrMany<T>>) -> Vec<(T, u32, u32)> {
        items(s)
            .into_iter()
            .map(|(v, sp)| (v, sp.line, sp.column))
            .collect()
    }

    #[test]
    fn string_or_list_keeps_every_span() {
        let p: Probe = parse("a: [x, 'y']\ns: 200\n").unwrap();
        assert_eq!(
            spans(p.a.as_ref().unwrap()),
            [("x".to_string(), 1, 5), ("y".to_string(), 1, 8)]
        );
        assert_eq!(spans(p.s.as_ref().unwrap()), [(200, 2, 4)]);

        let p: Probe = parse("a: lone\ns:\n  - 200\n  - 404\n").unwrap();
        assert_eq!(spans(p.a.as_ref().unwrap()), [("lone".to_string(), 1, 4)]);
        assert_eq!(spans(p.s.as_ref().unwrap()), [(200, 3, 5), (404, 4, 5)]);

        // A lone number where strings are wanted is its text.
        let p: Probe = parse("a: 42\n").unwrap();
        assert_eq!(spans(p.a.as_ref().unwrap()), [("42".to_string(), 1, 4)]);
    }

    #[test]
    fn string_or_list_errors_point_at_the_value() {
        let d = parse::<Probe>("a: {x: 1}\n").unwrap_err();
        assert_eq!((d.span.line, d.span.column), (1, 4));
        let d = parse::<Probe>("s: [1, x]\n").unwrap_err();
        assert_eq!((d.span.line, d.span.column), (1, 8));
    }

    #[test]
    fn golden_bool_or_map() {
        let p: Probe = parse("g: false\n").unwrap();
        assert!(matches!(p.g.unwrap().value, RawGolden::Bool(false)));
        let p: Probe = parse("g: {mode: similar, threshold: 0.9}\n").unwrap();
        let g = p.g.unwrap();
        assert_eq!(span_of(&g), Span::new(1, 4));
        match g.value {
            RawGolden::Map(m) => {
                assert_eq!(m.mode.value, RawGoldenKind::Similar);
                let t = m.threshold.unwrap();
                assert_eq!(t.value, 0.9);
                assert_eq!(span_of(&t), Span::new(1, 31));
            }
            RawGolden::Bool(_) => panic!("expected a map"),
        }
        let d = parse::<Probe>("g: {mode: similar, thresold: 1}\n").unwrap_err();
        assert_eq!(d.span, Span::new(1, 20));
        assert_eq!(d.help.as_deref(), Some("did you mean `threshold`?"));
        let d = parse::<Probe>("g: {mode: smilar}\n").unwrap_err();
        assert_eq!(d.span, Span::new(1, 11));
    }

    #[test]
    fn entries_keep_order_and_spans() {
        let p: Probe = parse("h:\n  B: 1\n  A: two\n").unwrap();
        let h: Vec<(String, Span, String, Span)> =
            p.h.unwrap()
                .0
                .into_iter()
                .map(|(k, v)| (k.value.clone(), span_of(&k), v.value.clone(), span_of(&v)))
                .collect();
        assert_eq!(
            h,
            [
                ("B".into(), Span::new(2, 3), "1".into(), Span::new(2, 6)),
                ("A".into(), Span::new(3, 3), "two".into(), Span::new(3, 6)),
            ]
        );
    }

    #[test]
    fn expect_keeps_key_spans_and_refuses_unknown_keys() {
        #[derive(Debug, Deserialize)]
        struct T {
            expect: RawExpect,
        }
        let t: T = parse("expect:\n  contains: a\n  status: [200]\n").unwrap();
        assert_eq!(
            t.expect.key_span(ExpectKey::Contains),
            Some(Span::new(2, 3))
        );
        assert_eq!(t.expect.key_span(ExpectKey::Status), Some(Span::new(3, 3)));
        match &t.expect.0[1].value {
            RawExpectValue::Status(s) => assert_eq!(span_of(s), Span::new(3, 11)),
            other => panic!("{other:?}"),
        }
        let d = parse::<T>("expect:\n  contains: a\n  contain: b\n").unwrap_err();
        assert_eq!(d.span, Span::new(3, 3));
        assert_eq!(d.message, "unknown field `contain`");
        assert_eq!(d.help.as_deref(), Some("did you mean `contains`?"));
        let d = parse::<T>("expect: [a]\n").unwrap_err();
        assert_eq!(d.span, Span::new(1, 9));
    }

    /// Our spans are serde-saphyr's `referenced` locations, aliases and all.
    #[test]
    fn spans_are_where_values_are_used() {
        #[derive(Debug, Deserialize)]
        struct Ours {
            a: Spanned<String>,
            b: Spanned<String>,
            c: Spanned<Vec<Spanned<u32>>>,
            d: Option<Spanned<RawGolden>>,
            e: Spanned<Entries<String>>,
        }
        #[derive(Debug, Deserialize)]
        struct Theirs {
            a: serde_saphyr::Spanned<String>,
            b: serde_saphyr::Spanned<String>,
            c: serde_saphyr::Spanned<Vec<serde_saphyr::Spanned<u32>>>,
            d: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
            e: serde_saphyr::Spanned<serde::de::IgnoredAny>,
        }
        let docs = [
            "a: &x héllo\nb: *x\nc: [1, 2]\nd: {mode: exact}\ne: {k: v}\n",
            "a: 'q'\nb: \"dq\"\nc:\n  - &n 1\n  - *n\ne: &m\n  k: v\nd: false\n",
            "e: {}\nc: []\nb: |\n  block\na: >-\n  folded\n",
        ];
        for doc in docs {
            let ours: Ours = parse(doc).unwrap();
            let theirs: Theirs = parse(doc).unwrap();
            let at = |l: &serde_saphyr::Location| Span::from(*l);
            assert_eq!(ours.a.span, at(&theirs.a.referenced), "{doc}");
            assert_eq!(ours.b.span, at(&theirs.b.referenced), "{doc}");
            assert_eq!(ours.c.span, at(&theirs.c.referenced), "{doc}");
            let items: Vec<Span> = ours.c.value.iter().map(span_of).collect();
            let want: Vec<Span> = theirs.c.value.iter().map(|s| at(&s.referenced)).collect();
            assert_eq!(items, want, "{doc}");
            assert_eq!(
                ours.d.map(|d| d.span),
                theirs.d.map(|d| at(&d.referenced)),
                "{doc}"
            );
            assert_eq!(ours.e.span, at(&theirs.e.referenced), "{doc}");
            assert!(ours.a.span.is_known() && ours.b.span.is_known(), "{doc}");
        }
        // An alias is spanned at the `*x`, not at its anchor.
        let ours: Ours = parse(docs[0]).unwrap();
        assert_eq!(
            (ours.a.value.as_str(), ours.b.value.as_str()),
            ("héllo", "héllo")
        );
        assert_eq!(ours.b.span, Span::new(2, 4));
    }

    #[test]
    fn skip_reason_or_bool() {
        let p: Probe = parse("k: true\n").unwrap();
        assert_eq!(p.k.unwrap().value, Skip::Reason("skipped".into()));
        let p: Probe = parse("k: false\n").unwrap();
        assert_eq!(p.k.unwrap().value, Skip::No);
        let p: Probe = parse("k: see ticket 123\n").unwrap();
        assert_eq!(p.k.unwrap().value, Skip::Reason("see ticket 123".into()));
    }
}
