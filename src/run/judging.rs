//! The LLM judge as the runner runs it: the judge's endpoint (kind `openai`) behind
//! [`judge::grader::Ask`], so its questions share the run's retries, rate limits, timeouts and
//! cancellation; and the `judge:` expectations and `golden: {mode: judge}` turns asked of it.
//! A judge that cannot answer makes the attempt an error ("could not judge"), never a pass.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::limit::Limiter;
use super::retry::{send_with_retries, TurnError};
use crate::endpoint::{self, Endpoint, LocalServers, Message};
use crate::judge::cache::VerdictCache;
use crate::judge::expect::expanded;
use crate::judge::grader::{self, Ask, Grader, Said, Stats};
use crate::record::{Detail, Failure, ReplyBody, TurnResult};
use crate::redact::Redactor;
use crate::suite::model::{self, EndpointKind, ExpectKind, SessionMode, Turn};

/// One judge endpoint, asked one question per fresh conversation.
pub struct JudgeAsk {
    endpoint: Arc<dyn Endpoint>,
    identity: String,
    retries: u32,
    limiter: Option<Arc<Limiter>>,
    cancel: CancellationToken,
}

impl Ask for JudgeAsk {
    fn ask<'a>(
        &'a self,
        prompt: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
        Box::pin(async move {
            // A question is no dialogue of the suite: a replay server has no golden of it.
            let mut conversation = self.endpoint.clone().open(SessionMode::Fresh, "");
            let values = BTreeMap::new();
            let message = Message {
                text: prompt,
                turn: 1,
                values: &values,
            };
            let sent = send_with_retries(
                &mut *conversation,
                message,
                self.limiter.as_deref(),
                &[200],
                self.retries,
                &self.cancel,
            )
            .await;
            let request = conversation.request();
            match sent.result {
                Ok(reply) => match reply.body {
                    ReplyBody::Agent(a) => Ok(a.text),
                    ReplyBody::Error { detail } => Err(format!(
                        "the judge answered status {} from {request}{}",
                        reply.status,
                        detail.map(|d| format!(": {d}")).unwrap_or_default()
                    )),
                    ReplyBody::Malformed { reason } => Err(format!(
                        "the judge's reply from {request} is malformed: {reason}"
                    )),
                },
                Err(TurnError::Send(e)) => {
                    Err(format!("the judge could not be reached at {request}: {e}"))
                }
                Err(TurnError::Cancelled) => Err("the run was interrupted".to_string()),
            }
        })
    }

    fn identity(&self) -> String {
        self.identity.clone()
    }
}

/// Where a suite's verdicts are cached: `.agenttest/cache/judge/` beside the nearest
/// `agenttest.yaml`, or beside the suite.
pub fn cache_dir(suite_path: &Path) -> PathBuf {
    let dir = crate::suite::discover::find_config(suite_path)
        .and_then(|c| c.parent().map(Path::to_path_buf))
        .or_else(|| suite_path.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    dir.join(".agenttest").join("cache").join("judge")
}

/// Builds the grader of one suite's `judge:` endpoint.
#[allow(clippy::too_many_arguments)]
pub fn grader(
    http: &crate::endpoint::transport::Client,
    local: &LocalServers,
    judge: &model::Endpoint,
    suite_path: &Path,
    limiter: Option<Arc<Limiter>>,
    cache: Option<Arc<VerdictCache>>,
    redactor: Redactor,
    stats: Arc<Stats>,
    cancel: CancellationToken,
) -> Result<Grader, String> {
    let mut judge = judge.clone();
    let identity = match &mut judge.kind {
        EndpointKind::OpenAi(spec) => {
            // The prompt is fixed and versioned: the judge's own `system` is replaced.
            spec.system = Some(grader::SYSTEM_PROMPT.to_string());
            format!(
                "{}|{}",
                spec.model,
                serde_json::Value::Object(spec.params.clone())
            )
        }
        other => {
            return Err(format!(
                "a judge must be of kind openai, not {}",
                other.name()
            ))
        }
    };
    let endpoint = endpoint::connect(http, local, &judge, suite_path)?;
    let ask = Arc::new(JudgeAsk {
        endpoint,
        identity,
        retries: judge.retries,
        limiter,
        cancel,
    });
    Ok(Grader::new(ask, cache, redactor, judge.retries, stats))
}

/// The conversation the judge sees: every earlier turn, then this turn's message.
/// Sized for every turn at once: collected, then pushed to, it had been grown again each turn.
pub fn conversation<'a>(earlier: &'a [TurnResult], message: &'a str) -> Vec<Said<'a>> {
    let mut out: Vec<Said<'a>> = Vec::with_capacity(earlier.len() + 1);
    out.extend(earlier.iter().filter(|t| !t.not_sent).map(|t| Said {
        user: &t.message,
        agent: t.text.as_deref(),
    }));
    out.push(Said {
        user: message,
        agent: None,
    });
    out
}

/// Every `judge:` rubric of `turn`, asked of the grader: a failure per rubric not met, or why
/// the judge could not answer.
pub async fn rubrics(
    grader: Option<&Grader>,
    turn: &Turn,
    said: &[Said<'_>],
    reply: &str,
    values: &BTreeMap<String, String>,
) -> Result<Vec<Failure>, String> {
    let mut failures = Vec::new();
    for e in &turn.expect {
        let ExpectKind::Judge(list) = &*e.kind else {
            continue;
        };
        let grader = grader.ok_or("no judge is configured for this suite")?;
        for rubric in list {
            let rubric = expanded(rubric, values);
            let v = grader.rubric(&rubric, said, reply).await?;
            if !v.pass {
                failures.push(Failure {
                    key: "judge",
                    span: e.span,
                    detail: Detail::Judged {
                        rubric: rubric.into_owned(),
                        reason: v.reason.to_string(),
                    },
                });
            }
        }
    }
    Ok(failures)
}
