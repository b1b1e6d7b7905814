//! Endpoints by layers: each file's `endpoint:` mapping is checked into a [`Layer`] (env vars
//! expanded, values parsed), then the layers are merged field by field, agenttest.yaml <
//! suite < dialogue < environment < flags, and the result must name where to send. Nothing
//! here decides what a dialogue is.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::model::{BaseUrl, Endpoint, Header, HeaderValue};
use crate::suite::raw::{span_of, RawEndpoint, RawKind, Spanned};
use crate::suite::template;
use crate::util::{parse_duration, parse_rate};

use super::check::{at_part, Checker};
use super::kind::{endpoint_kind, kind_word, Sited, SpecLayer};
use super::EndpointOverrides;

/// An endpoint as one file layer gives it, env vars already expanded.
#[derive(Clone, Default)]
pub(super) struct Layer {
    kind: Option<RawKind>,
    base_url: Option<BaseUrl>,
    /// The value of each `${VAR}` in `base_url`'s query: a key (`?key=${KEY}`).
    env_secrets: Vec<SecretString>,
    agent_id: Option<String>,
    api_key: Option<SecretString>,
    /// Each with where it is written, for an error about it.
    headers: Vec<(Header, Sited<()>)>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    rate_limit: Option<f64>,
    /// Where `base_url` is written (none when a flag set it), for errors about the URL.
    base_url_at: Option<Sited<()>>,
    /// Where `kind` is written, if it is, for errors about the endpoint as a whole.
    kind_at: Option<Sited<()>>,
    /// `api_key` was written but is wrong: its absence is not also reported.
    key_failed: bool,
    /// Checked against the merged `base_url` (it needs `mock`), where it is written.
    mock_script: Option<Sited<PathBuf>>,
    spec: SpecLayer,
    /// A field had an error: "missing base_url" after it would only be an echo.
    broken: bool,
}

impl Layer {
    /// `upper` over `self`, field by field; headers by name, case-insensitively as in HTTP.
    pub(super) fn under(&self, upper: &Layer) -> Layer {
        let mut headers = self.headers.clone();
        for h in &upper.headers {
            headers.retain(|(old, _)| !old.name.eq_ignore_ascii_case(&h.0.name));
            headers.push(h.clone());
        }
        Layer {
            kind: upper.kind.or(self.kind),
            base_url: upper.base_url.clone().or_else(|| self.base_url.clone()),
            env_secrets: match upper.base_url {
                Some(_) => upper.env_secrets.clone(),
                None => self.env_secrets.clone(),
            },
            agent_id: upper.agent_id.clone().or_else(|| self.agent_id.clone()),
            api_key: upper.api_key.clone().or_else(|| self.api_key.clone()),
            headers,
            timeout: upper.timeout.or(self.timeout),
            retries: upper.retries.or(self.retries),
            rate_limit: upper.rate_limit.or(self.rate_limit),
            base_url_at: match upper.base_url {
                Some(_) => upper.base_url_at.clone(),
                None => self.base_url_at.clone(),
            },
            kind_at: match upper.kind {
                Some(_) => upper.kind_at.clone(),
                None => self.kind_at.clone(),
            },
            key_failed: match upper.api_key {
                Some(_) => false,
                None => upper.key_failed || self.key_failed,
            },
            mock_script: upper
                .mock_script
                .clone()
                .or_else(|| self.mock_script.clone()),
            spec: self.spec.under(&upper.spec),
            broken: self.broken || upper.broken,
        }
    }

    /// The kind this layer (or one under it) sets, if any.
    pub(super) fn kind(&self) -> Option<RawKind> {
        self.kind
    }

    /// An error about the layer as a whole: what it lacks is not reported again.
    pub(super) fn mark_broken(&mut self) {
        self.broken = true;
    }

    pub(super) fn with_overrides(mut self, o: &EndpointOverrides) -> Layer {
        if let Some(v) = &o.base_url {
            self.base_url = Some(v.clone());
            self.env_secrets = Vec::new();
            self.base_url_at = None;
        }
        if let Some(v) = &o.agent_id {
            self.agent_id = Some(v.clone());
        }
        self.timeout = o.timeout.or(self.timeout);
        self.retries = o.retries.or(self.retries);
        self.rate_limit = o.rate_limit.or(self.rate_limit);
        self
    }
}

impl Checker<'_> {
    /// One `endpoint:` mapping as written in one file.
    pub(super) fn endpoint(&mut self, raw: &RawEndpoint) -> Layer {
        let mut layer = self.endpoint_as(raw, raw.kind.as_ref().map(|k| k.value));
        layer.kind_at = raw.kind.as_ref().map(|k| self.sited((), span_of(k)));
        layer
    }

    /// One mapping of the given kind (a `judge:` block is `openai` without saying so).
    pub(super) fn endpoint_as(&mut self, raw: &RawEndpoint, kind: Option<RawKind>) -> Layer {
        self.fields_of_other_kinds(raw, kind);
        let before = self.diags.len();
        let spec = self.spec_layer(raw);
        let mut layer = Layer {
            kind,
            spec,
            // A bad pointer is not also a missing one.
            broken: self.diags.len() > before,
            ..Layer::default()
        };
        if let Some(v) = &raw.base_url {
            layer.base_url = self.base_url(v);
            layer.broken |= layer.base_url.is_none();
            // A `${VAR}` in the query (`?key=${KEY}`) is a key; one in the host or path (a
            // staging URL from CI) is not, and redacting it would blank every error's URL.
            let query = v.value.find('?').map(|i| &v.value[i..]);
            if let (Some(_), Some(query)) = (&layer.base_url, query) {
                // Expanded once already, without error: the same values again.
                if let Ok(e) = template::expand_env(query, &*self.opts.env) {
                    layer.env_secrets = e.secrets();
                }
            }
            layer.base_url_at = Some(self.sited((), span_of(v)));
        }
        if let Some(v) = &raw.agent_id {
            layer.agent_id = self.agent_id(v);
            layer.broken |= layer.agent_id.is_none();
        }
        if let Some(v) = &raw.api_key {
            layer.api_key = self.api_key(v);
            layer.key_failed = layer.api_key.is_none();
        }
        for (name, value) in raw.headers.iter().flat_map(|h| h.0.iter()) {
            if let Some(h) = self.header(name, value) {
                layer.headers.push((h, self.sited((), span_of(name))));
            }
        }
        if let Some(v) = &raw.timeout {
            layer.timeout = self.timeout(v);
        }
        layer.retries = raw.retries.as_ref().map(|r| r.value);
        if let Some(v) = &raw.rate_limit {
            match parse_rate(&v.value) {
                Ok(r) => layer.rate_limit = Some(r),
                Err(msg) => {
                    self.error(span_of(v), format!("invalid `rate_limit`: {msg}"));
                }
            }
        }
        if let Some(v) = &raw.mock_script {
            layer.mock_script = self.mock_script(v, raw.base_url.is_some(), &layer);
        }
        layer
    }

    /// `mock_script:` must name a file, and goes with `base_url: mock`: in the same mapping it
    /// is checked now; under a `base_url` of another layer, once they are merged. The file is
    /// a script, not a suite, even when this run does not use it (`--endpoint URL`) or the
    /// mapping is wrong: its errors as a suite would only hide this file's.
    fn mock_script(
        &mut self,
        v: &Spanned<String>,
        own_base_url: bool,
        layer: &Layer,
    ) -> Option<Sited<PathBuf>> {
        let path = self.relative(&v.value);
        self.scripts.insert(path.clone());
        if own_base_url && layer.base_url.is_some() && layer.base_url != Some(BaseUrl::Mock) {
            self.error(span_of(v), "`mock_script` needs `base_url: mock`")
                .label = Some("the `base_url` of this endpoint is not `mock`".into());
            return None;
        }
        let problem = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => None,
            Ok(_) => Some("it is not a file".to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = problem {
            self.error(
                span_of(v),
                format!("cannot read `mock_script` `{}`", path.display()),
            )
            .label = Some(why);
            return None;
        }
        Some(self.sited(path, span_of(v)))
    }

    fn base_url(&mut self, v: &Spanned<String>) -> Option<BaseUrl> {
        let e = self.env(v)?;
        match BaseUrl::parse(&e.value) {
            Ok(url) => Some(url),
            Err(why) => {
                // As written, not as expanded: an env var may hold credentials.
                let text = if e.used_env { &v.value } else { &e.value };
                let text = text.trim();
                self.error(span_of(v), format!("invalid `base_url` `{text}`"))
                    .label = Some(why);
                None
            }
        }
    }

    fn agent_id(&mut self, v: &Spanned<String>) -> Option<String> {
        let e = self.env(v)?;
        if let Some(fault) = agent_id_fault(&e.value) {
            let d = self.error(span_of(v), format!("`agent_id` {fault}"));
            if !matches!(fault, AgentIdFault::Empty) {
                d.label = Some(AgentIdFault::WHY.into());
                d.help = Some("the platform's agent ids look like `ag_support`".into());
            }
            return None;
        }
        // Only an http endpoint's path and body are templates (SPEC §8.2): `{{ag}}` here would
        // be sent as written, percent-encoded, to an agent that does not exist.
        let what = format!("`agent_id` `{}`", e.value);
        let help =
            "write the id as it is; each dialogue may set its own `endpoint: {agent_id: ...}`";
        if self.a_template(&e.value, span_of(v), &what, help) {
            return None;
        }
        Some(e.value)
    }

    fn api_key(&mut self, v: &Spanned<String>) -> Option<SecretString> {
        let e = self.env(v)?;
        if e.value.is_empty() {
            let d = self.error(span_of(v), "`api_key` is empty");
            d.help = Some(if e.used_env {
                "the environment variable is set but empty".into()
            } else {
                "remove `api_key` for an endpoint that needs none".into()
            });
            return None;
        }
        if let Some(why) = crate::redact::not_a_key(&e.value) {
            let d = self.error(span_of(v), why);
            d.help = Some(
                "a key this short would be redacted out of every report; remove `api_key` for \
                 an endpoint that needs none"
                    .into(),
            );
            return None;
        }
        Some(SecretString::from(e.value))
    }

    /// Whether `text`, a field that is sent as written, holds a `{{name}}`; if so, the error
    /// (`what` is not a template) is reported at `span` with `help`.
    pub(super) fn a_template(&mut self, text: &str, span: Span, what: &str, help: &str) -> bool {
        if crate::suite::template::references(text).is_empty() {
            return false;
        }
        let d = self.error(span, format!("{what} is not a template"));
        d.label = Some("`{{name}}` is not filled in here".into());
        d.help = Some(help.into());
        true
    }

    fn header(&mut self, name: &Spanned<String>, value: &Spanned<String>) -> Option<Header> {
        if let Some(why) = header_name_problem(&name.value) {
            let message = format!("invalid header name `{}`", name.value);
            let d = Diagnostic::at(self.file, span_of(name), message)
                .with_width(name.value.chars().count())
                .with_label(why);
            self.diags.push(d);
            return None;
        }
        // As written, before `${VAR}` (a secret's own braces are its business): a header is
        // sent as it is, so a `{{name}}` in it would reach the agent unfilled.
        let what = format!("the value of header `{}`", name.value);
        let help = "a header is sent as written; `${VAR}` takes a value from the environment";
        if self.a_template(&value.value, span_of(value), &what, help) {
            return None;
        }
        let e = self.env(value)?;
        // Never quoted: the value may be a secret.
        if let Some(c) = e.value.chars().find(|c| c.is_control() && *c != '\t') {
            let what = if matches!(c, '\r' | '\n') {
                "a line break"
            } else {
                "a control character"
            };
            let d = self.error(
                span_of(value),
                format!("the value of header `{}` holds {what}", name.value),
            );
            if e.used_env {
                d.label = Some("it comes from the environment".into());
            }
            d.help = Some("a header value is one line of visible text".into());
            return None;
        }
        // A secret only when the environment gave part of it that may be a key: a
        // `${VAR:-default}` whose default was used is text of the suite file (redacting it had
        // blanked `staging` and `en` in every report and golden, and made goldens depend on
        // which environment recorded them); see `EnvExpanded::secrets`.
        let env_values = e.secrets();
        let value = if env_values.is_empty() {
            HeaderValue::Plain(e.value)
        } else {
            HeaderValue::Secret(SecretString::from(e.value))
        };
        Some(Header {
            name: name.value.clone(),
            value,
            env_values,
        })
    }

    fn timeout(&mut self, v: &Spanned<String>) -> Option<Duration> {
        match parse_duration(&v.value) {
            Ok(d) if d.is_zero() => {
                self.error(span_of(v), "invalid `timeout`: it must be more than zero");
                None
            }
            Ok(d) => Some(d),
            Err(msg) => {
                self.error(span_of(v), format!("invalid `timeout`: {msg}"));
                None
            }
        }
    }

    /// Expands `${VAR}` in one field; an error points at the `${...}` in it.
    pub(super) fn env(&mut self, v: &Spanned<String>) -> Option<template::EnvExpanded> {
        self.env_at(&v.value, span_of(v))
    }

    /// `text`, written at `span`, with its `${VAR}`s expanded, or an error at the one that
    /// cannot be.
    pub(super) fn env_at(&mut self, text: &str, span: Span) -> Option<template::EnvExpanded> {
        let err = match template::expand_env(text, &*self.opts.env) {
            Ok(e) => return Some(e),
            Err(err) => err,
        };
        let start = err.offset();
        let end = text[start..]
            .find('}')
            .map_or(text.len(), |i| start + i + 1);
        let mut d = at_part(self.file, span, text, start..end, err.to_string());
        if let template::EnvError::Unset { var, .. } = &err {
            d.help = Some(format!(
                "export {var}, or give a default: `${{{var}:-value}}`"
            ));
        }
        self.diags.push(d);
        None
    }

    /// The merged file layers of one dialogue (or the judge) as an endpoint, flags applied,
    /// or an error at `at` saying what is missing (unless an earlier error explains it).
    pub(super) fn complete_endpoint(&mut self, files: Layer, at: &Completion) -> Option<Endpoint> {
        let kind = files.kind.unwrap_or(RawKind::Thinnest);
        let mock_script = self.merged_mock_script(&files);
        let layer = files.with_overrides(at.overrides);
        let mut missing: Vec<&str> = Vec::new();
        if layer.base_url.is_none() {
            missing.push("`base_url`");
        }
        if kind == RawKind::Thinnest && layer.agent_id.is_none() {
            missing.push("`agent_id`");
        }
        missing.extend(layer.spec.missing(kind));
        // Before anything can end the completion: a bad pointer or a missing field must not
        // hide an unknown `{{name}}` or a wrong `stream` until it is fixed (SPEC §4: all
        // errors at once).
        let before = self.diags.len();
        let stream = self.kind_checks(kind, &layer.spec, at);
        let templates_clean = self.diags.len() == before;
        if !missing.is_empty() {
            if !(layer.broken || at.config_broken) {
                self.missing(at, kind, &missing);
            }
            return None;
        }
        self.session_fits(kind, &layer, at);
        // A misspelt or unclosed `{{message}}` has its own error already.
        if kind == RawKind::Http && templates_clean && !layer.broken {
            self.message_sent(&layer, at);
        }
        let live = matches!(layer.base_url, Some(BaseUrl::Url(_)));
        if kind == RawKind::Thinnest && live && layer.api_key.is_none() && !layer.key_failed {
            self.no_api_key(layer.base_url_at.as_ref(), at);
        }
        if !(layer.broken || at.config_broken) {
            self.key_for_header(&layer);
            self.key_in_header(&layer);
        }
        let agent_id = match kind {
            RawKind::Thinnest => layer.agent_id.clone()?,
            RawKind::Openai => layer.spec.model.clone()?,
            RawKind::Http => String::new(),
        };
        let base_url = layer.base_url?;
        let env_secrets = [layer.env_secrets, layer.spec.secrets.clone()].concat();
        let kind = endpoint_kind(kind, layer.spec, stream?)?;
        Some(Endpoint {
            kind,
            mock_script: mock_script.filter(|_| base_url == BaseUrl::Mock),
            base_url,
            env_secrets,
            agent_id,
            api_key: layer.api_key,
            headers: layer.headers.into_iter().map(|(h, _)| h).collect(),
            timeout: layer.timeout.unwrap_or(Endpoint::DEFAULT_TIMEOUT),
            retries: layer.retries.unwrap_or(Endpoint::DEFAULT_RETRIES),
            rate_limit: layer.rate_limit,
        })
    }

    /// A `mock_script` under a `base_url` (of the files, before flags) that is not `mock`.
    fn merged_mock_script(&mut self, files: &Layer) -> Option<PathBuf> {
        let script = files.mock_script.as_ref()?;
        match &files.base_url {
            Some(BaseUrl::Mock) => Some(script.value.clone()),
            None if files.broken => None,
            other => {
                let found = match other {
                    Some(BaseUrl::Url(u)) => format!("the merged `base_url` is `{u}`"),
                    Some(BaseUrl::Replay) => "the merged `base_url` is `replay`".into(),
                    _ => "no `base_url` is set".into(),
                };
                self.diags.push(
                    Diagnostic::at(
                        &script.file,
                        script.span,
                        "`mock_script` needs `base_url: mock`",
                    )
                    .with_label(found),
                );
                None
            }
        }
    }

    fn missing(&mut self, at: &Completion, kind: RawKind, missing: &[&str]) {
        let help = if kind == RawKind::Thinnest {
            "set it under `endpoint:` in the dialogue, the suite or agenttest.yaml, \
             or pass --endpoint / --agent"
        } else {
            at.where_to_set
        };
        let message = format!("{} has no {}", at.what, missing.join(" and no "));
        self.diags
            .push(Diagnostic::at(at.file, at.span, message).with_help(help));
    }

    /// A live thinnest endpoint refuses every request without a key (SPEC §2): said at the
    /// `base_url` that makes it live, or, when a flag does, once per suite at its first
    /// dialogue. The URL is not quoted: it may hold credentials.
    fn no_api_key(&mut self, url_at: Option<&Sited<()>>, at: &Completion) {
        let message = "no `api_key` for this live endpoint";
        let d = match url_at {
            Some(site) => Diagnostic::at(&site.file, site.span, message),
            None if self.key_reported => return,
            None => {
                self.key_reported = true;
                Diagnostic::at(at.file, at.span, format!("{} has {message}", at.what))
            }
        };
        self.diags.push(
            d.with_label("kind thinnest sends `Authorization: Bearer <api_key>`; without one every request is refused")
                .with_help("set `api_key: ${THINNESTAI_API_KEY}` under `endpoint:` in the dialogue, the suite or agenttest.yaml"),
        );
    }

    /// An `auth_header` names where the key goes; with no `api_key` nothing goes there, and a
    /// run against an agent that wants one fails every turn at 401 instead of here. Under
    /// replay no key is sent at all, so a suite kept for replay alone may leave it out.
    fn key_for_header(&mut self, layer: &Layer) {
        let Some(h) = layer.spec.auth_header() else {
            return;
        };
        if layer.api_key.is_some() || layer.key_failed || layer.base_url == Some(BaseUrl::Replay) {
            return;
        }
        self.diags.push(
            Diagnostic::at(&h.file, h.span, "`auth_header` without an `api_key`")
                .with_label(format!("the key goes in `{}`, and no key is set", h.value))
                .with_help(
                    "set `api_key: ${AGENT_KEY}` under `endpoint:` beside it, or remove \
                     `auth_header` for an agent that needs no key",
                ),
        );
    }

    /// The key goes in one header (`Authorization: Bearer <api_key>`, or `auth_header`'s): a
    /// header of that name in `headers:` as well would be replaced by it without a word, and
    /// a gateway that wants another scheme there (`Token ...`, `Basic ...`) would answer 401
    /// to every turn. One of the two must go.
    fn key_in_header(&mut self, layer: &Layer) {
        if layer.api_key.is_none() {
            return;
        }
        let name = layer
            .spec
            .auth_header()
            .map_or("Authorization", |h| h.value.as_str());
        let Some((header, site)) = layer
            .headers
            .iter()
            .find(|(h, _)| h.name.eq_ignore_ascii_case(name))
        else {
            return;
        };
        let d = Diagnostic::at(
            &site.file,
            site.span,
            format!("header `{}` is also where `api_key` goes", header.name),
        )
        .with_label("the key would replace this header's value")
        .with_help(format!(
            "remove `api_key` to send this header as written, or remove the header to send \
             the key{}",
            if name == "Authorization" {
                " as `Authorization: Bearer <api_key>`"
            } else {
                ""
            }
        ));
        self.diags.push(d);
    }

    /// An `http` endpoint with `{{message}}` in neither its path nor its body sends the same
    /// request every turn: each dialogue would pass or fail on one answer to no question, and
    /// its golden would record user messages that were never sent (QA finding 15).
    fn message_sent(&mut self, layer: &Layer, at: &Completion) {
        let Some(site) = layer.spec.message_unsent() else {
            return;
        };
        let message = "the endpoint never sends the user's message";
        let kind_at = layer.kind_at.as_ref().map(|k| (&k.file, k.span));
        let d = match site.or(kind_at) {
            Some((file, span)) => Diagnostic::at(file, span, message),
            None => Diagnostic::at(at.file, at.span, format!("{}: {message}", at.what)),
        };
        self.diags.push(
            d.with_label("`{{message}}` is in neither `path` nor `body`")
                .with_help(
                    "put `{{message}}` where the API takes the user's text, \
                     e.g. `body: {input: \"{{message}}\"}` or `path: /chat?q={{message}}`",
                ),
        );
    }

    /// SPEC §8: `session: server` only where the server's session can be adopted.
    fn session_fits(&mut self, kind: RawKind, layer: &Layer, at: &Completion) {
        let Some(span) = at.server_session else {
            return;
        };
        let (label, help) = match kind {
            RawKind::Thinnest => return,
            RawKind::Http if layer.spec.has_session_pointer() => return,
            RawKind::Openai => (
                "the harness keeps an openai conversation's history itself",
                "remove `session: server`",
            ),
            RawKind::Http => (
                "kind `http` adopts a server's session only through `response.session_id`",
                "add a `session_id` pointer under the endpoint's `response:`",
            ),
        };
        let word = kind_word(kind);
        let d = self.error(
            span,
            format!("`session: server` does not work with kind `{word}`"),
        );
        d.label = Some(label.into());
        d.help = Some(help.into());
    }
}

/// What a completed endpoint is for: where to point when something is missing.
pub(super) struct Completion<'c> {
    /// Where the dialogue (or the judge block) is.
    pub(super) file: &'c SourceFile,
    pub(super) span: Span,
    /// "dialogue `x`", or "the judge".
    pub(super) what: String,
    /// The help of a "has no" error (for a kind other than thinnest).
    pub(super) where_to_set: &'static str,
    /// The flags and environment that beat the files (not all of them reach a judge).
    pub(super) overrides: &'c EndpointOverrides,
    pub(super) config_broken: bool,
    /// Where `session: server` is written, if it is.
    pub(super) server_session: Option<Span>,
    /// The vars and captures `http` templates may use besides the built-ins.
    pub(super) names: &'c BTreeSet<String>,
}

/// Why `name` is not an HTTP header name (RFC 9110 token), if it is not.
pub(super) fn header_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a header name cannot be empty".into());
    }
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c)));
    bad.map(|c| format!("{c:?} cannot appear in a header name"))
}

/// Why a text cannot be an agent id. The id is one segment of the request's path
/// (`/v1/agents/{agent_id}/chat`): a `/` would move the path, a `?` or `#` cut it short, and a
/// `.` or `..` segment climb out of it, and the request, its message and its key would go
/// elsewhere on the server. Shared by the files' `agent_id` and `--agent` /
/// `AGENTTEST_AGENT_ID`, which must be held to the same rule.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentIdFault {
    Empty,
    Holds(String, char),
    Dots(String),
}

impl AgentIdFault {
    /// The label under the fault.
    pub const WHY: &'static str = "an agent id is one segment of the URL's path";
}

impl std::fmt::Display for AgentIdFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentIdFault::Empty => write!(f, "is empty"),
            AgentIdFault::Holds(id, c) => write!(f, "`{id}` holds `{c}`"),
            AgentIdFault::Dots(id) => write!(f, "`{id}` is a path's dot segment"),
        }
    }
}

/// The fault of `id` as an agent id, if it has one.
pub fn agent_id_fault(id: &str) -> Option<AgentIdFault> {
    if id.trim().is_empty() {
        return Some(AgentIdFault::Empty);
    }
    // `%` (a `%2e%2e` is `..` to the server), `\` (a `/` to URL parsers) and whitespace or
    // control characters (dropped by them) would move the path as surely as `/` does.
    let moves_the_path =
        |c: &char| matches!(c, '/' | '?' | '#' | '%' | '\\') || c.is_whitespace() || c.is_control();
    if let Some(c) = id.chars().find(moves_the_path) {
        return Some(AgentIdFault::Holds(id.to_string(), c));
    }
    if id == "." || id == ".." {
        return Some(AgentIdFault::Dots(id.to_string()));
    }
    None
}
