//! The fields that belong to one endpoint kind (SPEC §8): which kind owns which field, each
//! checked where it is written (JSON Pointers, a body that is a mapping, `system_file` read),
//! merged across layers in [`SpecLayer`], and completed into the model's `OpenAiSpec` /
//! `HttpSpec` once the dialogue's kind, vars and captures are known. The common fields
//! (`base_url`, `api_key`, ...) are `endpoint`'s.

use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::diag::{did_you_mean, Diagnostic, SourceFile, Span};
use crate::suite::model::{EndpointKind, HttpSpec, OpenAiSpec, Pointers};
use crate::suite::raw::{span_of, RawEndpoint, RawKind, RawResponse, RawStream, RawValue, Spanned};
use crate::suite::template;

use super::check::{at_part, Checker};

/// Which kinds use each field that not every kind has. Every other field is common.
const KIND_FIELDS: &[(&str, &[RawKind])] = &[
    ("agent_id", &[RawKind::Thinnest]),
    ("model", &[RawKind::Openai]),
    ("system", &[RawKind::Openai]),
    ("system_file", &[RawKind::Openai]),
    ("params", &[RawKind::Openai]),
    ("stream", &[RawKind::Openai, RawKind::Http]),
    ("method", &[RawKind::Http]),
    ("path", &[RawKind::Http]),
    ("body", &[RawKind::Http]),
    ("auth_header", &[RawKind::Http]),
    ("response", &[RawKind::Http]),
];

/// The names every `http` template may use besides the dialogue's vars and captures.
pub(super) const BUILTIN_NAMES: [&str; 4] = ["message", "session_id", "turn", "history"];

pub(super) fn kind_word(kind: RawKind) -> &'static str {
    match kind {
        RawKind::Thinnest => "thinnest",
        RawKind::Openai => "openai",
        RawKind::Http => "http",
    }
}

/// A value and where it is written, for a check that can only be made once the layers are
/// merged (the file may be agenttest.yaml, not the suite being checked).
#[derive(Clone)]
pub(super) struct Sited<T> {
    pub(super) value: T,
    pub(super) file: SourceFile,
    pub(super) span: Span,
}

/// A value holding `{{name}}` templates, each string with its span in `file`.
#[derive(Clone)]
pub(super) struct Templated<T> {
    value: T,
    file: SourceFile,
    /// Where the value is written.
    at: Span,
    templates: Vec<(String, Span)>,
}

/// An `http` endpoint's pointers as merged so far, pointer by pointer.
#[derive(Clone, Default)]
struct PointerLayer {
    text: Option<String>,
    session_id: Option<String>,
    input_tokens: Option<String>,
    output_tokens: Option<String>,
    total_tokens: Option<String>,
    error: Option<String>,
}

/// The kind-specific fields of one layer, already checked where they are written.
#[derive(Clone, Default)]
pub(super) struct SpecLayer {
    pub(super) model: Option<String>,
    system: Option<String>,
    /// Merged key by key: a suite sets `seed` without repeating the config's `temperature`.
    params: Map<String, Value>,
    stream: Option<Sited<RawStream>>,
    method: Option<String>,
    path: Option<Templated<String>>,
    body: Option<Templated<Value>>,
    auth_header: Option<Sited<String>>,
    response: PointerLayer,
    /// What `${VAR}` took from the environment into `params` and `body` (see
    /// `Endpoint::env_secrets`).
    pub(super) secrets: Vec<SecretString>,
}

/// What the string values of a `params` or `body` mapping hold: their `{{name}}` templates as
/// written, and the secrets their `${VAR}`s took from the environment.
#[derive(Default)]
struct Leaves {
    templates: Vec<(String, Span)>,
    secrets: Vec<SecretString>,
}

impl SpecLayer {
    /// `upper` over `self`, field by field.
    pub(super) fn under(&self, upper: &SpecLayer) -> SpecLayer {
        let mut params = self.params.clone();
        params.extend(upper.params.clone());
        let (a, b) = (&self.response, &upper.response);
        SpecLayer {
            model: upper.model.clone().or_else(|| self.model.clone()),
            system: upper.system.clone().or_else(|| self.system.clone()),
            params,
            stream: upper.stream.clone().or_else(|| self.stream.clone()),
            method: upper.method.clone().or_else(|| self.method.clone()),
            path: upper.path.clone().or_else(|| self.path.clone()),
            body: upper.body.clone().or_else(|| self.body.clone()),
            auth_header: upper
                .auth_header
                .clone()
                .or_else(|| self.auth_header.clone()),
            // Both layers' values may be sent (params merge key by key): redacting a value
            // that was overridden costs nothing.
            secrets: [self.secrets.clone(), upper.secrets.clone()].concat(),
            response: PointerLayer {
                text: b.text.clone().or_else(|| a.text.clone()),
                session_id: b.session_id.clone().or_else(|| a.session_id.clone()),
                input_tokens: b.input_tokens.clone().or_else(|| a.input_tokens.clone()),
                output_tokens: b.output_tokens.clone().or_else(|| a.output_tokens.clone()),
                total_tokens: b.total_tokens.clone().or_else(|| a.total_tokens.clone()),
                error: b.error.clone().or_else(|| a.error.clone()),
            },
        }
    }

    /// The field a kind requires that no layer set, if any.
    pub(super) fn missing(&self, kind: RawKind) -> Option<&'static str> {
        match kind {
            RawKind::Thinnest => None,
            RawKind::Openai => self.model.is_none().then_some("`model`"),
            RawKind::Http => self.response.text.is_none().then_some("`response.text`"),
        }
    }

    /// The `auth_header` in force and where it is written.
    pub(super) fn auth_header(&self) -> Option<&Sited<String>> {
        self.auth_header.as_ref()
    }

    /// Pointers, for `session: server` on `http`.
    pub(super) fn has_session_pointer(&self) -> bool {
        self.response.session_id.is_some()
    }

    /// Whether an `http` endpoint's path or body takes `{{message}}`, the one way a turn's
    /// text reaches the agent (`{{history}}` holds only the earlier turns); if it does not,
    /// where to say so: the body, else the path, else `None` (neither is written: the caller
    /// knows where the endpoint is).
    pub(super) fn message_unsent(&self) -> Option<Option<(&SourceFile, Span)>> {
        let path = self.path.as_ref().map(|p| (&p.file, p.at, &p.templates));
        let body = self.body.as_ref().map(|b| (&b.file, b.at, &b.templates));
        let mut written = body.into_iter().chain(path);
        let sends = written.clone().any(|(_, _, templates)| {
            templates.iter().any(|(text, _)| {
                template::references(text)
                    .iter()
                    .any(|r| r.name == "message")
            })
        });
        (!sends).then(|| written.next().map(|(file, at, _)| (file, at)))
    }
}

/// The kind-specific fields written in one mapping, each with where its value is.
pub(super) fn kind_fields(raw: &RawEndpoint) -> Vec<(&'static str, Span)> {
    let s = |name, v: Option<Span>| v.map(|span| (name, span));
    [
        s("agent_id", raw.agent_id.as_ref().map(span_of)),
        s("model", raw.model.as_ref().map(span_of)),
        s("system", raw.system.as_ref().map(span_of)),
        s("system_file", raw.system_file.as_ref().map(span_of)),
        s("params", raw.params.as_ref().map(span_of)),
        s("stream", raw.stream.as_ref().map(span_of)),
        s("method", raw.method.as_ref().map(span_of)),
        s("path", raw.path.as_ref().map(span_of)),
        s("body", raw.body.as_ref().map(span_of)),
        s("auth_header", raw.auth_header.as_ref().map(span_of)),
        s("response", raw.response.as_ref().map(span_of)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn kinds_of(field: &str) -> &'static [RawKind] {
    KIND_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(&[], |(_, kinds)| *kinds)
}

/// "`model`, `system` and `stream`".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Where a mapping's kind comes from, when it is not written in that mapping.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum KindFrom {
    /// `kind:` is in the same mapping as the field (SPEC §8's error).
    Beside,
    /// An outer layer (the suite's `endpoint:` or agenttest.yaml) sets it.
    Outer,
    /// No layer sets it: `thinnest`, the default.
    Default,
}

/// The kind of a mapping that writes none: the one an outer layer sets, else the default.
pub(super) fn inherited_kind(outer: Option<RawKind>) -> (RawKind, KindFrom) {
    match outer {
        Some(k) => (k, KindFrom::Outer),
        None => (RawKind::Thinnest, KindFrom::Default),
    }
}

/// The kind-specific fields written in `raw` that `kind` has no use for.
pub(super) fn foreign_fields(raw: &RawEndpoint, kind: RawKind) -> Vec<(&'static str, Span)> {
    let mut fields = kind_fields(raw);
    fields.retain(|(field, _)| !field_applies(field, kind));
    fields
}

/// Whether `kind` uses `field`, one of the kind-specific fields.
pub(super) fn field_applies(field: &str, kind: RawKind) -> bool {
    kinds_of(field).contains(&kind)
}

impl Checker<'_> {
    /// SPEC §8: a field of another kind written in the same mapping as `kind` is an error at
    /// that field (one inherited from an outer layer is ignored, by the completion).
    pub(super) fn fields_of_other_kinds(&mut self, raw: &RawEndpoint, kind: Option<RawKind>) {
        let Some(kind) = kind else {
            return;
        };
        for (field, span) in foreign_fields(raw, kind) {
            self.foreign_field(field, span, kind, KindFrom::Beside);
        }
    }

    /// A field that `kind` would ignore. Written beside `kind` it is SPEC §8's error; written
    /// in a mapping that inherits its kind (or takes the default), nothing would use it
    /// either: the field was meant for another kind, and the run would silently talk to an
    /// agent the user did not describe.
    pub(super) fn foreign_field(
        &mut self,
        field: &str,
        span: Span,
        kind: RawKind,
        from: KindFrom,
    ) -> &mut Diagnostic {
        let kinds = kinds_of(field);
        let owners: Vec<String> = kinds
            .iter()
            .map(|k| format!("`{}`", kind_word(*k)))
            .collect();
        let own: Vec<String> = KIND_FIELDS
            .iter()
            .filter(|(_, ks)| ks.contains(&kind))
            .map(|(f, _)| format!("`{f}`"))
            .collect();
        let word = kind_word(kind);
        let message = match from {
            KindFrom::Beside => format!("`{field}` does not apply to kind `{word}`"),
            KindFrom::Outer => {
                format!("`{field}` does not apply to kind `{word}`, set in an outer `endpoint:`")
            }
            KindFrom::Default => {
                format!("`{field}` does not apply to kind `{word}`, the default")
            }
        };
        let label = format!(
            "a field of kind{} {}",
            if owners.len() > 1 { "s" } else { "" },
            and_list(&owners)
        );
        let help = match from {
            KindFrom::Beside if own.is_empty() => {
                format!("kind `{word}` takes only the common fields; remove `{field}`")
            }
            KindFrom::Beside => format!(
                "kind `{word}` takes {} besides the common fields",
                and_list(&own)
            ),
            // Each kind streams in its own words: the value says which was meant.
            KindFrom::Outer | KindFrom::Default if field == "stream" => {
                "write `kind: openai` beside `stream: true`, or `kind: http` beside \
                 `stream: sse`, or remove `stream`"
                    .to_string()
            }
            KindFrom::Outer | KindFrom::Default => format!(
                "write `kind: {}` beside it to use it, or remove `{field}`",
                kinds.first().map_or("thinnest", |k| kind_word(*k))
            ),
        };
        let d = self.error(span, message);
        d.label = Some(label);
        d.help = Some(help);
        d
    }

    /// The kind-specific fields of one mapping, each checked where it is written.
    pub(super) fn spec_layer(&mut self, raw: &RawEndpoint) -> SpecLayer {
        let mut spec = SpecLayer {
            model: raw.model.as_ref().and_then(|m| self.model(m)),
            system: self.system(raw),
            stream: raw
                .stream
                .as_ref()
                .map(|s| self.sited(s.value.clone(), span_of(s))),
            method: raw.method.as_ref().and_then(|m| self.method(m)),
            path: raw.path.as_ref().and_then(|p| self.path(p)),
            auth_header: raw.auth_header.as_ref().and_then(|h| {
                let name = self.auth_header(h)?;
                Some(self.sited(name, span_of(h)))
            }),
            ..SpecLayer::default()
        };
        if let Some(p) = &raw.params {
            let mut leaves = Leaves::default();
            let map = self.mapping("params", p, &mut leaves);
            // Copied into the body as written (SPEC §8.1): a `{{name}}` would go out unfilled.
            let help = "`params` are copied into the request as written; `{{name}}` is filled \
                        only in user messages (`${VAR}` takes a value from the environment)";
            let mut templated = false;
            for (text, span) in &leaves.templates {
                templated |= self.a_template(text, *span, "a value of `params`", help);
            }
            if let (Some(Value::Object(map)), false) = (map, templated) {
                spec.params = map;
            }
            spec.secrets.extend(leaves.secrets);
        }
        if let Some(b) = &raw.body {
            let mut leaves = Leaves::default();
            spec.body = self.mapping("body", b, &mut leaves).map(|value| Templated {
                value,
                file: self.file.clone(),
                at: span_of(b),
                templates: leaves.templates,
            });
            spec.secrets.extend(leaves.secrets);
        }
        if let Some(r) = &raw.response {
            spec.response = self.pointers(&r.value);
        }
        spec
    }

    pub(super) fn sited<T>(&self, value: T, span: Span) -> Sited<T> {
        Sited {
            value,
            file: self.file.clone(),
            span,
        }
    }

    /// `model:`, with `${VAR}` expanded as in `base_url` and `api_key`: CI picks the model
    /// under test from its environment (`model: ${MODEL:-gpt-4o-mini}`). A model's name is
    /// no secret: it is reported and recorded in goldens as the agent answered with it.
    fn model(&mut self, v: &Spanned<String>) -> Option<String> {
        let e = self.env(v)?;
        if e.value.trim().is_empty() {
            let d = self.error(span_of(v), "`model` is empty");
            if e.used_env {
                d.help = Some("the environment variable is set but empty".into());
            }
            return None;
        }
        Some(e.value)
    }

    /// `system:` as written, or the text of `system_file:` (relative to this file), read now.
    /// Either is sent as written on every turn, so a `{{name}}` in it would reach the model
    /// unfilled (SPEC §8.3: no message goes out with one): refused, as in a header.
    fn system(&mut self, raw: &RawEndpoint) -> Option<String> {
        const HELP: &str = "the system message is sent as written on every turn; `{{name}}` is \
                            filled only in user messages (`${VAR}` takes a value from the \
                            environment)";
        let Some(f) = &raw.system_file else {
            let s = raw.system.as_ref()?;
            if self.a_template(&s.value, span_of(s), "`system`", HELP) {
                return None;
            }
            return Some(s.value.clone());
        };
        if raw.system.is_some() {
            self.error(span_of(f), "`system` and `system_file` are both set")
                .help = Some("keep one of them".into());
            return None;
        }
        // A path may come from the environment too (`system_file: ${PROMPT:-prompt.md}`).
        let written = self.env(f)?.value;
        let path = self.relative(&written);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                self.opts.read.note(&path);
                let what = format!("the text of `system_file` `{}`", path.display());
                (!self.a_template(&text, span_of(f), &what, HELP)).then_some(text)
            }
            Err(e) => {
                self.error(
                    span_of(f),
                    format!("cannot read `system_file` `{}`", path.display()),
                )
                .label = Some(e.to_string());
                None
            }
        }
    }

    /// A path written in this file, relative to its directory.
    pub(super) fn relative(&self, written: &str) -> std::path::PathBuf {
        let dir = self
            .file
            .path
            .parent()
            .unwrap_or_else(|| std::path::Path::new(""));
        dir.join(written)
    }

    fn method(&mut self, m: &Spanned<String>) -> Option<String> {
        let method = m.value.trim().to_ascii_uppercase();
        if method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()) {
            self.error(span_of(m), format!("invalid `method` `{}`", m.value))
                .label = Some("an HTTP method, such as POST or PUT".into());
            return None;
        }
        // A reply to these has no body to read the agent's text from (HEAD), or is no reply
        // of the agent's at all (a proxy's tunnel, an echo of the request).
        if matches!(method.as_str(), "HEAD" | "CONNECT" | "TRACE") {
            self.error(
                span_of(m),
                format!("`method: {method}` cannot carry a chat"),
            )
            .label = Some("a reply to it carries no text of the agent's".into());
            return None;
        }
        Some(method)
    }

    /// `path:`, with `${VAR}` expanded as in `base_url`'s path (a tenant or version from CI),
    /// which is no secret either; its `{{name}}`s are checked as written.
    fn path(&mut self, p: &Spanned<String>) -> Option<Templated<String>> {
        if !p.value.starts_with('/') {
            self.error(span_of(p), "`path` must start with `/`").label =
                Some("it is joined to `base_url`".into());
            return None;
        }
        let value = self.env(p)?.value;
        Some(Templated {
            value,
            file: self.file.clone(),
            at: span_of(p),
            templates: vec![(p.value.clone(), span_of(p))],
        })
    }

    fn auth_header(&mut self, h: &Spanned<String>) -> Option<String> {
        match super::endpoint::header_name_problem(&h.value) {
            Some(why) => {
                self.error(span_of(h), format!("invalid `auth_header` `{}`", h.value))
                    .label = Some(why);
                None
            }
            None => Some(h.value.clone()),
        }
    }

    /// `params` or `body`: a mapping of any YAML, as JSON.
    fn mapping(&mut self, key: &str, v: &Spanned<RawValue>, leaves: &mut Leaves) -> Option<Value> {
        if !matches!(v.value, RawValue::Map(_)) {
            self.error(span_of(v), format!("`{key}` must be a mapping"))
                .label = Some(format!("found {}", v.value.what()));
            return None;
        }
        self.json(v, leaves)
    }

    /// Any YAML as JSON; every string value is recorded as a template with its span, and
    /// sent with its `${VAR}`s expanded. A value the environment gave is a secret, as in a
    /// header (a body is where some APIs take their key), unless it is too short to be one.
    fn json(&mut self, v: &Spanned<RawValue>, leaves: &mut Leaves) -> Option<Value> {
        Some(match &v.value {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(*b),
            RawValue::Int(n) => Value::from(*n),
            RawValue::UInt(n) => Value::from(*n),
            RawValue::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => Value::Number(n),
                None => {
                    self.error(span_of(v), format!("`{f}` is not a JSON number"));
                    return None;
                }
            },
            RawValue::Str(s) => {
                leaves.templates.push((s.clone(), span_of(v)));
                let e = self.env_at(s, span_of(v))?;
                leaves.secrets.extend(e.secrets());
                Value::String(e.value)
            }
            RawValue::Seq(items) => {
                let items: Vec<Option<Value>> =
                    items.iter().map(|i| self.json(i, leaves)).collect();
                Value::Array(items.into_iter().collect::<Option<_>>()?)
            }
            RawValue::Map(entries) => {
                let mut map = Map::new();
                let mut ok = true;
                for (k, item) in entries {
                    // Only values are filled: a `{{name}}` in a key would go out as written.
                    let help = "only the string values of a mapping are templates, never its keys";
                    ok &= !self.a_template(&k.value, span_of(k), "a key", help);
                    match self.json(item, leaves) {
                        Some(value) => {
                            map.insert(k.value.clone(), value);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Object(map))?
            }
        })
    }

    fn pointers(&mut self, r: &RawResponse) -> PointerLayer {
        let mut p = |v: &Option<Spanned<String>>| v.as_ref().and_then(|v| self.pointer(v));
        PointerLayer {
            text: p(&r.text),
            session_id: p(&r.session_id),
            input_tokens: p(&r.input_tokens),
            output_tokens: p(&r.output_tokens),
            total_tokens: p(&r.total_tokens),
            error: p(&r.error),
        }
    }

    fn pointer(&mut self, v: &Spanned<String>) -> Option<String> {
        match pointer_problem(&v.value) {
            None => Some(v.value.clone()),
            Some(why) => {
                let d = self.error(span_of(v), format!("invalid JSON Pointer `{}`", v.value));
                d.label = Some(why.into());
                d.help = Some(
                    "a JSON Pointer (RFC 6901) looks like `/output/text` or `/choices/0/text`"
                        .into(),
                );
                None
            }
        }
    }

    /// The checks of the merged kind-specific fields that only now can be made (a `stream`
    /// value of the wrong kind, an unknown template name), each error at its own place; the
    /// `stream` flag, if it is valid. Made whether or not the endpoint is complete.
    pub(super) fn kind_checks(
        &mut self,
        kind: RawKind,
        spec: &SpecLayer,
        at: &super::endpoint::Completion,
    ) -> Option<bool> {
        match kind {
            // An inherited `stream` means nothing to this kind; one written beside `kind` is
            // already an error of its own (`fields_of_other_kinds`).
            RawKind::Thinnest => Some(false),
            RawKind::Openai => self.stream(kind, spec.stream.as_ref()),
            RawKind::Http => {
                let stream = self.stream(kind, spec.stream.as_ref());
                for t in spec.path.iter().map(|p| (&p.file, &p.templates)) {
                    self.endpoint_templates(t.0, t.1, at, Place::Path);
                }
                for t in spec.body.iter().map(|b| (&b.file, &b.templates)) {
                    self.endpoint_templates(t.0, t.1, at, Place::Body);
                }
                stream
            }
        }
    }

    /// `stream: true|false` on openai, `stream: sse` (or `false`) on http.
    fn stream(&mut self, kind: RawKind, s: Option<&Sited<RawStream>>) -> Option<bool> {
        let Some(s) = s else { return Some(false) };
        match (kind, &s.value) {
            (_, RawStream::Bool(false)) => Some(false),
            (RawKind::Openai, RawStream::Bool(true)) => Some(true),
            (RawKind::Http, RawStream::Word(w)) if w == "sse" => Some(true),
            (_, value) => {
                let written = match value {
                    RawStream::Bool(b) => b.to_string(),
                    RawStream::Word(w) => w.clone(),
                };
                let expected = match kind {
                    RawKind::Openai => "kind `openai` streams with `stream: true`",
                    _ => "kind `http` streams server-sent events with `stream: sse`",
                };
                self.diags.push(
                    Diagnostic::at(&s.file, s.span, format!("invalid `stream` `{written}`"))
                        .with_label(expected),
                );
                None
            }
        }
    }

    /// Every `{{name}}` in an `http` path or body must be a built-in, a var or a capture, and
    /// `{{history}}` must be a body string of its own (SPEC §8.2).
    fn endpoint_templates(
        &mut self,
        file: &SourceFile,
        templates: &[(String, Span)],
        at: &super::endpoint::Completion,
        place: Place,
    ) {
        let names = at.names;
        // A template above the dialogue (in agenttest.yaml, or the suite's endpoint) is shared
        // by dialogues that may each lack a var: the error is said once, at the template, and
        // names the dialogues that lack it.
        let shared = file.path != at.file.path || span_before(templates, at.span);
        for (text, span) in templates {
            self.diags
                .extend(super::check::unclosed_refs(file, *span, text));
            for r in template::references(text) {
                if names.contains(&r.name) {
                    continue;
                }
                if r.name == "history" {
                    self.history_alone(file, *span, text, &r, place);
                    continue;
                }
                if BUILTIN_NAMES.contains(&r.name.as_str()) {
                    continue;
                }
                let candidates: Vec<&str> = BUILTIN_NAMES
                    .iter()
                    .copied()
                    .chain(names.iter().map(String::as_str))
                    .collect();
                let message = format!("unknown variable `{{{{{}}}}}`", r.name);
                let d = at_part(file, *span, text, r.start..r.end, message);
                let best = did_you_mean(&r.name, &candidates);
                let d = match best {
                    Some(best) => d.with_help(format!("did you mean `{{{{{best}}}}}`?")),
                    None => d.with_help(
                        "an endpoint's templates take {{message}}, {{session_id}}, {{turn}}, \
                         {{history}}, the dialogue's vars and its captures",
                    ),
                };
                // A misspelling is the template's, not a var the dialogue lacks.
                let d = match shared && best.is_none() {
                    true => d.with_note(format!(
                        "{} ({}) has no var `{}`",
                        at.what,
                        crate::diag::location(&at.file.path, at.span),
                        r.name
                    )),
                    false => d,
                };
                self.diags.push(d);
            }
        }
    }

    /// `{{history}}` becomes the message array only as a body string that is that reference
    /// alone ([`template::whole_reference`]: spaces around it and inside its braces allowed, as
    /// for the sender); anywhere else it would be
    /// sent as text, never the array, so it is refused before anything is sent. A var or
    /// capture named `history` is the user's own text and never gets here.
    fn history_alone(
        &mut self,
        file: &SourceFile,
        span: Span,
        text: &str,
        r: &template::Reference,
        place: Place,
    ) {
        let (message, label, help) = match place {
            Place::Body if template::whole_reference(text).is_some() => return,
            Place::Body => (
                "`{{history}}` must be the whole string",
                "inside other text it cannot become the array of earlier turns",
                "write it alone, exactly: `history: \"{{history}}\"`",
            ),
            Place::Path => (
                "`{{history}}` cannot be used in `path`",
                "it is the array of earlier turns",
                "write it alone in `body`, exactly: `history: \"{{history}}\"`",
            ),
        };
        let d = at_part(file, span, text, r.start..r.end, message)
            .with_label(label)
            .with_help(help);
        self.diags.push(d);
    }
}

/// Whether the templates (of one path or body) are written before the dialogue at `dialogue`
/// in its file: the suite's own endpoint, shared by its dialogues, rather than the dialogue's.
fn span_before(templates: &[(String, Span)], dialogue: Span) -> bool {
    templates.first().is_some_and(|(_, at)| *at < dialogue)
}

/// The merged kind-specific fields as the model's kind, once [`Checker::kind_checks`] passed
/// and gave `stream`.
pub(super) fn endpoint_kind(kind: RawKind, spec: SpecLayer, stream: bool) -> Option<EndpointKind> {
    match kind {
        RawKind::Thinnest => Some(EndpointKind::Thinnest),
        RawKind::Openai => Some(EndpointKind::OpenAi(OpenAiSpec {
            model: spec.model?,
            system: spec.system,
            params: spec.params,
            stream,
        })),
        RawKind::Http => {
            let r = spec.response;
            Some(EndpointKind::Http(HttpSpec {
                method: spec.method.unwrap_or_else(|| "POST".into()),
                path: spec.path.map_or_else(String::new, |p| p.value),
                body: spec.body.map(|b| b.value),
                auth_header: spec.auth_header.map(|h| h.value),
                response: Pointers {
                    text: r.text?,
                    session_id: r.session_id,
                    input_tokens: r.input_tokens,
                    output_tokens: r.output_tokens,
                    total_tokens: r.total_tokens,
                    error: r.error,
                },
                stream,
            }))
        }
    }
}

/// Where an `http` template is written.
#[derive(Clone, Copy)]
enum Place {
    Path,
    Body,
}

/// Why `p` is not an RFC 6901 JSON Pointer: empty (the whole document) or `/`-separated
/// tokens where `~` appears only as `~0` (`~`) or `~1` (`/`).
pub(super) fn pointer_problem(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        return None;
    }
    if !p.starts_with('/') {
        return Some("a pointer is empty or starts with `/`");
    }
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Some("`~` is written only as `~0` (for `~`) or `~1` (for `/`)");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::pointer_problem;

    #[test]
    fn json_pointers() {
        for ok in [
            "",
            "/",
            "/output/text",
            "/choices/0/message/content",
            "/a~1b",
            "/m~0n",
            "/ ",
        ] {
            assert_eq!(pointer_problem(ok), None, "{ok:?}");
        }
        for bad in ["output", "output/text", "/a~", "/a~2", "/~x", "#/a"] {
            assert!(pointer_problem(bad).is_some(), "{bad:?}");
        }
    }
}
