//! Endpoints by layers: each file's `endpoint:` mapping is checked into a [`Layer`] (env vars
//! expanded, values parsed), then the layers are merged field by field, agenttest.yaml <
//! suite < dialogue < environment < flags, and the result must name where to send. Nothing
//! here decides what a dialogue is.

use std::time::Duration;

use secrecy::SecretString;
use serde_saphyr::Spanned;

use crate::diag::Span;
use crate::suite::model::{BaseUrl, Endpoint, EndpointKind, Header, HeaderValue};
use crate::suite::raw::{span_of, RawEndpoint};
use crate::suite::template;
use crate::util::{parse_duration, parse_rate};

use super::check::Checker;
use super::EndpointOverrides;

/// An endpoint as one file layer gives it, env vars already expanded.
#[derive(Clone, Default)]
pub(super) struct Layer {
    base_url: Option<BaseUrl>,
    agent_id: Option<String>,
    api_key: Option<SecretString>,
    headers: Vec<Header>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    rate_limit: Option<f64>,
    /// A field had an error: "missing base_url" after it would only be an echo.
    broken: bool,
}

impl Layer {
    /// `upper` over `self`, field by field; headers by name, case-insensitively as in HTTP.
    pub(super) fn under(&self, upper: &Layer) -> Layer {
        let mut headers = self.headers.clone();
        for h in &upper.headers {
            headers.retain(|old| !old.name.eq_ignore_ascii_case(&h.name));
            headers.push(h.clone());
        }
        Layer {
            base_url: upper.base_url.clone().or_else(|| self.base_url.clone()),
            agent_id: upper.agent_id.clone().or_else(|| self.agent_id.clone()),
            api_key: upper.api_key.clone().or_else(|| self.api_key.clone()),
            headers,
            timeout: upper.timeout.or(self.timeout),
            retries: upper.retries.or(self.retries),
            rate_limit: upper.rate_limit.or(self.rate_limit),
            broken: self.broken || upper.broken,
        }
    }

    pub(super) fn with_overrides(mut self, o: &EndpointOverrides) -> Layer {
        if let Some(v) = &o.base_url {
            self.base_url = Some(v.clone());
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
        let mut layer = Layer::default();
        if let Some(v) = &raw.base_url {
            layer.base_url = self.base_url(v);
            layer.broken |= layer.base_url.is_none();
        }
        if let Some(v) = &raw.agent_id {
            layer.agent_id = self.agent_id(v);
            layer.broken |= layer.agent_id.is_none();
        }
        if let Some(v) = &raw.api_key {
            layer.api_key = self.api_key(v);
        }
        for (name, value) in raw.headers.iter().flat_map(|h| h.0.iter()) {
            layer.headers.extend(self.header(name, value));
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
        layer
    }

    fn base_url(&mut self, v: &Spanned<String>) -> Option<BaseUrl> {
        let e = self.env(v)?;
        match BaseUrl::parse(&e.value) {
            Ok(url) => Some(url),
            Err(why) => {
                let text = e.value.trim();
                self.error(span_of(v), format!("invalid `base_url` `{text}`"))
                    .label = Some(why);
                None
            }
        }
    }

    fn agent_id(&mut self, v: &Spanned<String>) -> Option<String> {
        let e = self.env(v)?;
        if e.value.trim().is_empty() {
            self.error(span_of(v), "`agent_id` is empty");
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
        Some(SecretString::from(e.value))
    }

    fn header(&mut self, name: &Spanned<String>, value: &Spanned<String>) -> Option<Header> {
        let e = self.env(value)?;
        let value = if e.used_env {
            HeaderValue::Secret(SecretString::from(e.value))
        } else {
            HeaderValue::Plain(e.value)
        };
        Some(Header {
            name: name.value.clone(),
            value,
            env_values: e.env_values.into_iter().map(SecretString::from).collect(),
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

    /// Expands `${VAR}` in one field; an error points at the field.
    fn env(&mut self, v: &Spanned<String>) -> Option<template::EnvExpanded> {
        match template::expand_env(&v.value, &*self.opts.env) {
            Ok(e) => Some(e),
            Err(err) => {
                let d = self.error(span_of(v), err.to_string());
                if let template::EnvError::Unset { var, .. } = &err {
                    d.help = Some(format!(
                        "export {var}, or give a default: `${{{var}:-value}}`"
                    ));
                }
                None
            }
        }
    }

    /// The merged layers of one dialogue as an endpoint, or an error at the dialogue saying
    /// what is missing (unless an earlier error already explains it).
    pub(super) fn complete_endpoint(
        &mut self,
        layer: Layer,
        span: Span,
        dialogue: &str,
        config_broken: bool,
    ) -> Option<Endpoint> {
        let missing: Vec<&str> = [
            ("`base_url`", layer.base_url.is_none()),
            ("`agent_id`", layer.agent_id.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| *n)
        .collect();
        if !missing.is_empty() {
            if !(layer.broken || config_broken) {
                self.error(
                    span,
                    format!("dialogue `{dialogue}` has no {}", missing.join(" and no ")),
                )
                .help = Some(
                    "set it under `endpoint:` in the dialogue, the suite or agenttest.yaml, \
                     or pass --endpoint / --agent"
                        .into(),
                );
            }
            return None;
        }
        Some(Endpoint {
            kind: EndpointKind::Thinnest,
            base_url: layer.base_url?,
            agent_id: layer.agent_id?,
            api_key: layer.api_key,
            headers: layer.headers,
            timeout: layer.timeout.unwrap_or(Endpoint::DEFAULT_TIMEOUT),
            retries: layer.retries.unwrap_or(Endpoint::DEFAULT_RETRIES),
            rate_limit: layer.rate_limit,
        })
    }
}
