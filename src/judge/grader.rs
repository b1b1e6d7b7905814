//! The LLM judge (SPEC §9.2): a rubric, the conversation so far and the reply go into a fixed,
//! versioned prompt (`src/judge/prompt/v1-*.txt`, documented in docs/judge.md); the judge model
//! answers `{"pass": true|false, "reason": "..."}`. A `false` is a failure that shows the
//! reason; a judge that cannot be reached or answers anything else is "could not judge" (an
//! error), never a pass.
//!
//! Verdicts are cached on disk (`cache.rs`) by a hash of everything that decides them (the
//! judge's identity, the prompt version, the rubric or golden, the conversation and the
//! reply), which the grader takes here, so a rerun with the same replies asks nothing.
//!
//! Every secret the run knows is redacted from each part of a prompt before it is filled, so
//! a key the agent echoes never reaches the judge model (often a third party's) nor the cache
//! key.
//!
//! The judge never talks HTTP itself: it is handed an [`Ask`] (the runner's, over the judge's
//! endpoint with the run's retries, rate limits and redaction).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use super::cache::{Key, VerdictCache};
pub use super::verdict::{parse_verdict, Verdict, PROMPT_VERSION};
use crate::redact::Redactor;
use crate::suite::template::{expand_references, references, Reference};
use sha2::{Digest, Sha256};

pub const SYSTEM_PROMPT: &str = include_str!("prompt/v1-system.txt");
const RUBRIC_PROMPT: &str = include_str!("prompt/v1-rubric.txt");
const GOLDEN_PROMPT: &str = include_str!("prompt/v1-golden.txt");

/// The `{{name}}`s of the two prompts, found once: a judge fills one for every turn.
static RUBRIC_REFS: LazyLock<Vec<Reference>> = LazyLock::new(|| references(RUBRIC_PROMPT));
static GOLDEN_REFS: LazyLock<Vec<Reference>> = LazyLock::new(|| references(GOLDEN_PROMPT));

/// How a judge question is sent: one user message in a fresh conversation with the judge
/// model (whose system message is [`SYSTEM_PROMPT`]), the reply's text back, or why not.
pub trait Ask: Send + Sync {
    fn ask<'a>(
        &'a self,
        prompt: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

    /// What makes two judges give different verdicts (model, params): part of the cache key.
    fn identity(&self) -> String;
}

/// Counts for the run's summary: verdicts asked of the judge, and read from the cache.
#[derive(Debug, Default)]
pub struct Stats {
    pub asked: AtomicU64,
    pub cached: AtomicU64,
}

/// One judge of a run: how to ask it, where its verdicts are cached (none with `--no-cache`).
pub struct Grader {
    ask: Arc<dyn Ask>,
    cache: Option<Arc<VerdictCache>>,
    /// The run's redactor. Every part of a prompt (rubric, golden, conversation, reply) goes
    /// through it before the prompt is filled: the judge is often a third party's model, and a
    /// key the agent echoed must not leave in a question (the cache key is taken over the
    /// redacted prompt, so it is the one asked). And a reason that quotes a key must not be
    /// kept on disk, where CI caches and uploads it.
    redactor: Redactor,
    /// How many times a judge that answered something other than a verdict is asked again.
    retries: u32,
    pub stats: Arc<Stats>,
    /// The cache key's hash over the parts every question of this judge shares (its identity,
    /// the prompt's version, the system prompt), taken once: each question hashes only its
    /// own prompt on top.
    key_prefix: Sha256,
}

/// One message of the conversation shown to the judge.
pub struct Said<'a> {
    pub user: &'a str,
    pub agent: Option<&'a str>,
}

impl Grader {
    pub fn new(
        ask: Arc<dyn Ask>,
        cache: Option<Arc<VerdictCache>>,
        redactor: Redactor,
        retries: u32,
        stats: Arc<Stats>,
    ) -> Self {
        let key_prefix = key_prefix(&ask.identity());
        Grader {
            ask,
            cache,
            redactor,
            retries,
            stats,
            key_prefix,
        }
    }

    /// Judges `reply` against `rubric`.
    pub async fn rubric(
        &self,
        rubric: &str,
        conversation: &[Said<'_>],
        reply: &str,
    ) -> Result<Verdict, String> {
        let conversation = self
            .redactor
            .redact_string(render_conversation(conversation));
        let prompt = fill(
            RUBRIC_PROMPT,
            &RUBRIC_REFS,
            &[
                ("rubric", &self.redactor.redact(rubric)),
                ("conversation", &conversation),
                ("reply", &self.redactor.redact(reply)),
            ],
        );
        self.verdict(&prompt).await
    }

    /// Judges whether `reply` says what the reviewed `golden` reply says.
    pub async fn golden(
        &self,
        golden: &str,
        conversation: &[Said<'_>],
        reply: &str,
    ) -> Result<Verdict, String> {
        let conversation = self
            .redactor
            .redact_string(render_conversation(conversation));
        let prompt = fill(
            GOLDEN_PROMPT,
            &GOLDEN_REFS,
            &[
                ("golden", &self.redactor.redact(golden)),
                ("conversation", &conversation),
                ("reply", &self.redactor.redact(reply)),
            ],
        );
        self.verdict(&prompt).await
    }

    async fn verdict(&self, prompt: &str) -> Result<Verdict, String> {
        let key = finish_key(self.key_prefix.clone(), prompt);
        if let Some(v) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            self.stats.cached.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        let mut last = String::new();
        for _ in 0..=self.retries {
            self.stats.asked.fetch_add(1, Ordering::Relaxed);
            let answer = self.ask.ask(prompt).await?;
            match parse_verdict(&answer) {
                Ok(v) => {
                    self.write_cache(&key, &v);
                    return Ok(v);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A verdict is kept with its reason redacted: a reason that quotes a key must not be
    /// kept on disk, where CI caches and uploads it.
    fn write_cache(&self, key: &Key, v: &Verdict) {
        if let Some(cache) = &self.cache {
            cache.put(key, v.pass, &self.redactor.redact(&v.reason));
        }
    }
}

/// The prompt with its `{{name}}`s (`refs`, found in `template` beforehand) filled in one
/// pass, as the suite's own template expansion fills a message, so a reply that contains
/// `{{rubric}}` stays text and cannot pull another part of the prompt into itself.
fn fill(template: &str, refs: &[Reference], parts: &[(&str, &str)]) -> String {
    expand_references(template, refs, |name| {
        parts.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    })
}

fn render_conversation(conversation: &[Said<'_>]) -> String {
    let mut out = String::new();
    for s in conversation {
        out.push_str("user: ");
        out.push_str(s.user);
        out.push('\n');
        if let Some(a) = s.agent {
            out.push_str("agent: ");
            out.push_str(a);
            out.push('\n');
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// SHA-256 over the parts, each length-prefixed so no two different inputs run together.
#[cfg(test)]
fn cache_key(identity: &str, prompt: &str) -> Key {
    finish_key(key_prefix(identity), prompt)
}

/// Each part goes in with its length, so that no two splits of the same bytes hash alike.
fn key_prefix(identity: &str) -> Sha256 {
    let mut h = Sha256::new();
    for part in [identity, PROMPT_VERSION, SYSTEM_PROMPT] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h
}

fn finish_key(mut h: Sha256, prompt: &str) -> Key {
    h.update((prompt.len() as u64).to_le_bytes());
    h.update(prompt.as_bytes());
    Key(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_filled_in_one_pass() {
        let template = "R: {{rubric}} / A: {{reply}} / {{other}}";
        let parts = [("rubric", "be kind"), ("reply", "see {{rubric}}")];
        let p = fill(template, &references(template), &parts);
        assert_eq!(p, "R: be kind / A: see {{rubric}} / {{other}}");
        // The suite's own expansion says the same.
        let values = parts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            p,
            crate::suite::template::expand_template(template, &values)
        );
    }

    /// Keys are lower-case hex of SHA-256, as every cache written so far names its files.
    #[test]
    fn keys_are_the_hex_of_the_hash() {
        // SHA-256 of the prompt's length (zero, eight bytes) and the empty prompt.
        assert_eq!(
            finish_key(Sha256::new(), "").hex(),
            "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc"
        );
    }

    #[test]
    fn cache_keys_change_with_every_part() {
        let a = cache_key("gpt-4o-mini {}", "p");
        assert_eq!(a, cache_key("gpt-4o-mini {}", "p"));
        assert_ne!(a, cache_key("gpt-4o {}", "p"));
        assert_ne!(a, cache_key("gpt-4o-mini {}", "q"));
        assert_ne!(cache_key("ab", "c"), cache_key("a", "bc"));
        assert_eq!(a.hex().len(), 64);
    }

    struct Canned(Vec<&'static str>, std::sync::Mutex<usize>);

    impl Ask for Canned {
        fn ask<'a>(
            &'a self,
            _prompt: &'a str,
        ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
            let mut i = self.1.lock().unwrap();
            let answer = self.0[(*i).min(self.0.len() - 1)].to_string();
            *i += 1;
            Box::pin(async move { Ok(answer) })
        }
        fn identity(&self) -> String {
            "canned".into()
        }
    }

    #[tokio::test]
    async fn asks_again_on_nonsense_then_caches() {
        let dir = tempfile::tempdir().unwrap();
        let stats = Arc::new(Stats::default());
        let ask = Arc::new(Canned(
            vec!["hmm", r#"{"pass": false, "reason": "wrong hours"}"#],
            Default::default(),
        ));
        let g = Grader::new(
            ask.clone(),
            Some(Arc::new(VerdictCache::open(dir.path().to_path_buf()))),
            Redactor::default(),
            2,
            stats.clone(),
        );
        let said = [Said {
            user: "hours?",
            agent: None,
        }];
        let v = g.rubric("states 9 AM", &said, "10 AM").await.unwrap();
        assert!(!v.pass && !v.cached);
        assert_eq!(stats.asked.load(Ordering::Relaxed), 2);
        let v = g.rubric("states 9 AM", &said, "10 AM").await.unwrap();
        assert!(v.cached);
        assert_eq!(v.reason, "wrong hours");
        assert_eq!(
            stats.asked.load(Ordering::Relaxed),
            2,
            "the second verdict was not asked"
        );
        assert_eq!(stats.cached.load(Ordering::Relaxed), 1);
    }

    /// An [`Ask`] that records every prompt it is given and passes.
    #[derive(Default)]
    struct Recording(std::sync::Mutex<Vec<String>>);

    impl Ask for Recording {
        fn ask<'a>(
            &'a self,
            prompt: &'a str,
        ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
            self.0.lock().unwrap().push(prompt.to_string());
            Box::pin(async { Ok(r#"{"pass": true}"#.to_string()) })
        }
        fn identity(&self) -> String {
            "recording".into()
        }
    }

    #[tokio::test]
    async fn no_part_of_a_prompt_carries_a_secret() {
        const KEY: &str = "ak_live_9f8e7d6c5b4a";
        let ask = Arc::new(Recording::default());
        let redactor = Redactor::new([secrecy::SecretString::from(KEY.to_string())]);
        let g = Grader::new(ask.clone(), None, redactor, 0, Arc::new(Stats::default()));
        let echoed = format!("your key is {KEY}");
        let said = [
            Said {
                user: &echoed,
                agent: Some(&echoed),
            },
            Said {
                user: "again?",
                agent: None,
            },
        ];
        g.rubric(&echoed, &said, &echoed).await.unwrap();
        g.golden(&echoed, &said, &echoed).await.unwrap();
        let prompts = ask.0.lock().unwrap();
        assert_eq!(prompts.len(), 2);
        for p in prompts.iter() {
            assert!(!p.contains(KEY), "{p}");
            assert!(p.matches("your key is [REDACTED]").count() >= 4, "{p}");
        }
    }

    /// A judge can quote a secret it was never sent (a key in the rubric's own wording, say):
    /// the cache, which CI keeps and uploads, holds the reason redacted.
    #[tokio::test]
    async fn a_reason_that_quotes_a_secret_is_cached_redacted() {
        const KEY: &str = "ak_live_9f8e7d6c5b4a";
        let dir = tempfile::tempdir().unwrap();
        let reason = format!(r#"{{"pass": false, "reason": "it says {KEY}"}}"#);
        let ask = Arc::new(Canned(vec![reason.leak()], Default::default()));
        let redactor = Redactor::new([secrecy::SecretString::from(KEY.to_string())]);
        let stats = Arc::new(Stats::default());
        let cache = Arc::new(VerdictCache::open(dir.path().to_path_buf()));
        let g = Grader::new(ask, Some(cache), redactor, 0, stats);
        g.rubric("no keys", &[], "hello").await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(!text.contains(KEY) && text.contains("[REDACTED]"), "{text}");
    }

    #[tokio::test]
    async fn nonsense_after_retries_is_could_not_judge() {
        let ask = Arc::new(Canned(vec!["no idea"], Default::default()));
        let g = Grader::new(
            ask,
            None,
            Redactor::default(),
            1,
            Arc::new(Stats::default()),
        );
        let err = g.golden("9 AM", &[], "10 AM").await.unwrap_err();
        assert!(err.contains("did not answer JSON"), "{err}");
    }
}
