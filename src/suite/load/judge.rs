//! The `judge:` block (SPEC §9.2): an endpoint of kind `openai`, in agenttest.yaml or a suite,
//! checked where it is written and completed per suite with the suite's block merged over the
//! config's. Whether a suite may use `judge` expectations or `golden: {mode: judge}` depends
//! on it; those checks are `expect`'s and `dialogue`'s.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use crate::diag::{SourceFile, Span};
use crate::suite::model::{Endpoint, EndpointKind};
use crate::suite::raw::{span_of, RawEndpoint, RawKind, Spanned};

use super::check::Checker;
use super::endpoint::{Completion, Layer};
use super::EndpointOverrides;

/// One `judge:` block as checked where it is written.
#[derive(Clone)]
pub(super) struct JudgeLayer {
    layer: Layer,
    file: SourceFile,
    span: Span,
}

impl Checker<'_> {
    /// A `judge:` block: kind `openai` whether or not it says so.
    pub(super) fn judge_layer(&mut self, raw: &Spanned<RawEndpoint>) -> JudgeLayer {
        let mut layer = self.endpoint_as(&raw.value, Some(RawKind::Openai));
        let kind = raw.value.kind.as_ref();
        if let Some(k) = kind.filter(|k| k.value != RawKind::Openai) {
            let d = self.error(span_of(k), "the judge is an endpoint of kind `openai`");
            d.help = Some("write `kind: openai`, or leave `kind` out".into());
            // Its fields were meant for another kind: a missing `model` would be an echo.
            layer.mark_broken();
        }
        // The judge's system prompt is fixed (docs/judge.md, versioned with its cache keys):
        // one written here was ignored without a word, and a rubric read with it in mind
        // would not be the one judged.
        let written = [
            ("system", &raw.value.system),
            ("system_file", &raw.value.system_file),
        ];
        for (field, value) in written {
            if let Some(v) = value {
                let d = self.error(span_of(v), format!("the judge does not use `{field}`"));
                d.width = Some(u32::try_from(v.value.chars().count().max(1)).unwrap_or(u32::MAX));
                d.label = Some("its system prompt is fixed, so its verdicts are comparable".into());
                d.help = Some(format!(
                    "remove `{field}`; say what to judge in the rubric (`judge:` on a turn)"
                ));
            }
        }
        JudgeLayer {
            layer,
            file: self.file.clone(),
            span: span_of(raw),
        }
    }

    /// The suite's block over the config's, as the suite's judge. `--endpoint` and `--agent`
    /// name the agent under test, not its judge: only the timeout, retries and rate flags
    /// reach it. `params` default to `temperature: 0`, for verdicts that repeat.
    pub(super) fn judge(
        &mut self,
        config: Option<&JudgeLayer>,
        own: Option<&JudgeLayer>,
        config_broken: bool,
    ) -> Option<Arc<Endpoint>> {
        let site = own.or(config)?;
        let merged = match (config, own) {
            (Some(c), Some(o)) => c.layer.under(&o.layer),
            _ => site.layer.clone(),
        };
        let overrides = EndpointOverrides {
            base_url: None,
            agent_id: None,
            ..self.opts.overrides.clone()
        };
        let names = BTreeSet::new();
        let at = Completion {
            file: &site.file,
            span: site.span,
            what: "the judge".into(),
            where_to_set: "set it in the `judge:` block of the suite or agenttest.yaml",
            overrides: &overrides,
            config_broken,
            server_session: None,
            names: &names,
        };
        let mut endpoint = self.complete_endpoint(merged, &at)?;
        if let EndpointKind::OpenAi(spec) = &mut endpoint.kind {
            spec.params.entry("temperature").or_insert(Value::from(0));
        }
        Some(Arc::new(endpoint))
    }
}
