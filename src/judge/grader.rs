//! The LLM judge (SPEC §9.2): a rubric, the conversation so far and the reply go into a fixed,
//! versioned prompt (`src/judge/prompt/v1-*.txt`, documented in docs/judge.md); the judge model
//! answers `{"pass": true|false, "reason": "..."}`. A `false` is a failure that shows the
//! reason; a judge that cannot be reached or answers anything else is "could not judge" (an
//! error), never a pass.
//!
//! Verdicts are cached on disk (`cache.rs`) by a hash of everything that decides them (the
//! judge's identity, the prompt version and text, the rubric or golden, the conversation and
//! the reply), which the grader takes here, so a rerun with the same replies asks nothing.
//! The key is taken over those parts, not over the filled prompt: the fixed text of the
//! prompts is hashed once per judge, and the prompt is filled only when the judge is asked.
//!
//! Every secret the run knows is redacted from each part of a prompt before it is filled, so
//! a key the agent echoes never reaches the judge model (often a third party's) nor the cache
//! key.
//!
//! The judge never talks HTTP itself: it is handed an [`Ask`] (the runner's, over the judge's
//! endpoint with the run's retries, rate limits and redaction).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use super::cache::{Key, VerdictCache};
pub use super::verdict::{parse_verdict, Verdict, PROMPT_VERSION};
use crate::redact::Redactor;
use crate::suite::template::{expand_references, references, Reference};

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
    /// The run's redactor. Every part of a prompt (rubric, golden, the conversation, the
    /// reply) goes through it before it is hashed or put in the prompt: the
    /// judge is often a third party's model, and a key the agent echoed must not leave in a
    /// question (the cache key is taken over the same redacted parts, so it names what is
    /// asked). And a reason that quotes a key must not be kept on disk, where CI caches and
    /// uploads it.
    redactor: Redactor,
    /// How many times a judge that answered something other than a verdict is asked again.
    retries: u32,
    pub stats: Arc<Stats>,
    /// The cache key's hash over the parts every question of this judge with the rubric
    /// prompt shares (its identity, the prompt's version, the system prompt, the rubric
    /// prompt's text), taken once: each question hashes only its own parts on top.
    rubric_prefix: [u8; 32],
    /// The same with the golden prompt's text.
    golden_prefix: [u8; 32],
}

/// One message of the conversation shown to the judge.
pub struct Said<'a> {
    pub user: &'a str,
    pub agent: Option<&'a str>,
}

/// One of the two prompts a question is filled into: its text, its `{{name}}`s, and the name
/// of the placeholder that takes the rubric or the golden reply.
struct Prompt {
    text: &'static str,
    refs: &'static LazyLock<Vec<Reference>>,
    criterion: &'static str,
}

const RUBRIC: Prompt = Prompt {
    text: RUBRIC_PROMPT,
    refs: &RUBRIC_REFS,
    criterion: "rubric",
};

const GOLDEN: Prompt = Prompt {
    text: GOLDEN_PROMPT,
    refs: &GOLDEN_REFS,
    criterion: "golden",
};

/// What a question is asked about, before redaction: the rubric or golden reply, the
/// conversation so far, the reply to judge.
struct Question<'q> {
    criterion: &'q str,
    conversation: &'q [Said<'q>],
    reply: &'q str,
}

/// A question's three parts as its prompt shows them, each redacted: the rubric or golden
/// reply, the conversation as lines (`user: ...`, `agent: ...`), the reply. The cache key and
/// the prompt are both made from these, so the key names exactly the question asked.
struct Parts<'q> {
    criterion: Cow<'q, str>,
    conversation: String,
    reply: Cow<'q, str>,
}

impl<'q> Parts<'q> {
    /// The conversation is redacted whole, in one pass: redacting each message apart would
    /// cost a pass a message (a few hundred instructions each, for every earlier turn again
    /// at every turn), and the lines are what the judge reads.
    fn of(redactor: &Redactor, q: &Question<'q>) -> Self {
        Parts {
            criterion: redactor.redact(q.criterion),
            conversation: redactor.redact_string(render_conversation(q.conversation)),
            reply: redactor.redact(q.reply),
        }
    }

    fn each(&self) -> [&str; 3] {
        [&self.criterion, &self.conversation, &self.reply]
    }

    /// The user message the judge is sent: `prompt` filled with these parts.
    fn fill(&self, prompt: &Prompt) -> String {
        fill(
            prompt.text,
            prompt.refs,
            &[
                (prompt.criterion, &self.criterion),
                ("conversation", &self.conversation),
                ("reply", &self.reply),
            ],
        )
    }
}

impl Grader {
    pub fn new(
        ask: Arc<dyn Ask>,
        cache: Option<Arc<VerdictCache>>,
        redactor: Redactor,
        retries: u32,
        stats: Arc<Stats>,
    ) -> Self {
        let identity = ask.identity();
        Grader {
            ask,
            cache,
            redactor,
            retries,
            stats,
            rubric_prefix: key_prefix(&identity, &RUBRIC),
            golden_prefix: key_prefix(&identity, &GOLDEN),
        }
    }

    /// Judges `reply` against `rubric`.
    pub async fn rubric(
        &self,
        rubric: &str,
        conversation: &[Said<'_>],
        reply: &str,
    ) -> Result<Verdict, String> {
        let q = Question {
            criterion: rubric,
            conversation,
            reply,
        };
        self.verdict(&RUBRIC, &self.rubric_prefix, &q).await
    }

    /// Judges whether `reply` says what the reviewed `golden` reply says.
    pub async fn golden(
        &self,
        golden: &str,
        conversation: &[Said<'_>],
        reply: &str,
    ) -> Result<Verdict, String> {
        let q = Question {
            criterion: golden,
            conversation,
            reply,
        };
        self.verdict(&GOLDEN, &self.golden_prefix, &q).await
    }

    /// The cached verdict, or the judge's. The prompt is filled only when the judge is asked:
    /// a cached verdict needs only its key.
    async fn verdict(
        &self,
        prompt: &Prompt,
        prefix: &[u8; 32],
        q: &Question<'_>,
    ) -> Result<Verdict, String> {
        let parts = Parts::of(&self.redactor, q);
        let key = finish_key(prefix, &parts);
        if let Some(v) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            self.stats.cached.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        let prompt = parts.fill(prompt);
        let mut last = String::new();
        for _ in 0..=self.retries {
            self.stats.asked.fetch_add(1, Ordering::Relaxed);
            let answer = self.ask.ask(&prompt).await?;
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

/// The conversation as the prompt shows it, in one allocation of the right size.
fn render_conversation(conversation: &[Said<'_>]) -> String {
    const USER: &str = "user: ";
    const AGENT: &str = "agent: ";
    let len = conversation
        .iter()
        .map(|s| USER.len() + s.user.len() + 1 + s.agent.map_or(0, |a| AGENT.len() + a.len() + 1))
        .sum();
    let mut out = String::with_capacity(len);
    for s in conversation {
        out.push_str(USER);
        out.push_str(s.user);
        out.push('\n');
        if let Some(a) = s.agent {
            out.push_str(AGENT);
            out.push_str(a);
            out.push('\n');
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// The hash over what every question of one judge with one prompt shares: each question's
/// key is then BLAKE3 keyed with it. Each part goes in with its length, so that no two splits
/// of the same bytes hash alike; the prompt's whole text is in it, so an edited prompt never
/// reuses a verdict even where the version was not bumped.
///
/// BLAKE3 rather than SHA-256: a collision would reuse a wrong verdict, so a 256-bit
/// cryptographic hash, but SHA-256 is fast only on CPUs with SHA extensions, and many CI
/// runners have none (Intel before Ice Lake): there it cost a cached verdict 5 to 6 µs a
/// question, BLAKE3 1.2 µs; with them SHA-256 took 0.9 µs, a difference the run cannot see.
fn key_prefix(identity: &str, prompt: &Prompt) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for part in [identity, PROMPT_VERSION, SYSTEM_PROMPT, prompt.text] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    *h.finalize().as_bytes()
}

/// The key of one question: the prefix, then each of its three parts with its length, which
/// makes the encoding self-delimiting: two questions hash alike only if their parts are the
/// same, so only if they fill the same prompt.
fn finish_key(prefix: &[u8; 32], parts: &Parts<'_>) -> Key {
    let mut h = blake3::Hasher::new_keyed(prefix);
    for part in parts.each() {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    Key(*h.finalize().as_bytes())
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

    /// Keys are lower-case hex of the keyed BLAKE3 hash, as the cache names its files.
    #[test]
    fn keys_are_the_hex_of_the_hash() {
        // BLAKE3 under the all-zero key of the empty question's three lengths (zero, eight
        // bytes each).
        let q = Question {
            criterion: "",
            conversation: &[],
            reply: "",
        };
        let parts = Parts::of(&Redactor::default(), &q);
        assert_eq!(
            finish_key(&[0; 32], &parts).hex(),
            "d5471545eb45e5783c609ed04d9f0480f3a25b327b88a3bae53488e7a9fc04ce"
        );
    }

    /// The key of one question as a judge that calls itself `identity` asks it with `prompt`.
    fn key_of(
        identity: &str,
        prompt: &Prompt,
        criterion: &str,
        conversation: &[Said<'_>],
        reply: &str,
    ) -> Key {
        let q = Question {
            criterion,
            conversation,
            reply,
        };
        let parts = Parts::of(&Redactor::default(), &q);
        finish_key(&key_prefix(identity, prompt), &parts)
    }

    fn said<'a>(user: &'a str, agent: Option<&'a str>) -> Said<'a> {
        Said { user, agent }
    }

    #[test]
    fn cache_keys_change_with_every_part() {
        let conv = [said("hours?", Some("9 to 6")), said("sunday?", None)];
        let key = |id, prompt, criterion, conversation: &[Said<'_>], reply| {
            key_of(id, prompt, criterion, conversation, reply)
        };
        let a = key("gpt-4o-mini {}", &RUBRIC, "states 9 AM", &conv, "closed");
        assert_eq!(
            a,
            key("gpt-4o-mini {}", &RUBRIC, "states 9 AM", &conv, "closed")
        );
        assert_eq!(a.hex().len(), 64);
        // The judge, the prompt, the criterion, each message, the reply.
        for other in [
            key("gpt-4o {}", &RUBRIC, "states 9 AM", &conv, "closed"),
            key("gpt-4o-mini {}", &GOLDEN, "states 9 AM", &conv, "closed"),
            key("gpt-4o-mini {}", &RUBRIC, "states 10 AM", &conv, "closed"),
            key("gpt-4o-mini {}", &RUBRIC, "states 9 AM", &conv, "open"),
            key(
                "gpt-4o-mini {}",
                &RUBRIC,
                "states 9 AM",
                &conv[1..],
                "closed",
            ),
            key(
                "gpt-4o-mini {}",
                &RUBRIC,
                "states 9 AM",
                &[said("hours?", Some("9 to 5")), said("sunday?", None)],
                "closed",
            ),
            key(
                "gpt-4o-mini {}",
                &RUBRIC,
                "states 9 AM",
                &[said("hours?", None), said("sunday?", None)],
                "closed",
            ),
            key(
                "gpt-4o-mini {}",
                &RUBRIC,
                "states 9 AM",
                &[said("hours?", Some("9 to 6")), said("monday?", None)],
                "closed",
            ),
        ] {
            assert_ne!(a, other);
        }
        // The same bytes split another way, or said by the other side, are another question.
        assert_ne!(
            key("ab", &RUBRIC, "c", &[], "r"),
            key("a", &RUBRIC, "bc", &[], "r")
        );
        assert_ne!(
            key("j", &RUBRIC, "ab", &[], "c"),
            key("j", &RUBRIC, "a", &[], "bc")
        );
        assert_ne!(
            key("j", &RUBRIC, "c", &[said("a", Some("b"))], "r"),
            key("j", &RUBRIC, "c", &[said("a", None), said("b", None)], "r")
        );
        assert_ne!(
            key("j", &RUBRIC, "c", &[said("a", Some(""))], "r"),
            key("j", &RUBRIC, "c", &[said("a", None)], "r")
        );
        assert_ne!(
            key("j", &RUBRIC, "c", &[said("a", None)], "r"),
            key("j", &RUBRIC, "c", &[], "a")
        );
    }

    /// The key is taken over the question's parts, not over the filled prompt (the road it
    /// was taken over before, and what the judge is sent): two questions whose prompts differ
    /// must never share a key, or a cached verdict would answer another question; and two
    /// that ask the same should share one, or the judge is asked again for nothing. Every
    /// question of both prompts with up to two messages, each part one of a few texts that
    /// run together when the parts are joined (a line's end, a speaker's prefix, a secret and
    /// its redacted form), is asked; a random sample would almost never hit the few questions
    /// that differ only in where their parts are cut.
    #[test]
    fn questions_share_a_key_when_they_fill_the_same_prompt() {
        const SECRET: &str = "ak_live_9f8e7d6c5b4a";
        let redactor = Redactor::new([secrecy::SecretString::from(SECRET.to_string())]);
        let texts = ["", "a", "\n", "agent: ", SECRET, "[REDACTED]"];
        let agents: Vec<Option<&str>> = std::iter::once(None)
            .chain(texts.iter().copied().map(Some))
            .collect();
        let messages: Vec<(&str, Option<&str>)> = texts
            .iter()
            .flat_map(|u| agents.iter().map(move |a| (*u, *a)))
            .collect();
        let mut conversations: Vec<Vec<(&str, Option<&str>)>> = vec![vec![]];
        conversations.extend(messages.iter().map(|m| vec![*m]));
        conversations.extend(
            messages
                .iter()
                .flat_map(|m| messages.iter().map(move |n| vec![*m, *n])),
        );
        // Each key with a digest of the first prompt it was seen with; the prompts seen.
        let mut keys: std::collections::HashMap<Key, [u8; 32]> = Default::default();
        let mut prompts = std::collections::HashSet::new();
        for (prompt, prefix) in [
            (&RUBRIC, key_prefix("j", &RUBRIC)),
            (&GOLDEN, key_prefix("j", &GOLDEN)),
        ] {
            for conversation in &conversations {
                let said: Vec<Said<'_>> = conversation.iter().map(|(u, a)| said(u, *a)).collect();
                for criterion in texts {
                    for reply in texts {
                        let q = Question {
                            criterion,
                            conversation: &said,
                            reply,
                        };
                        let parts = Parts::of(&redactor, &q);
                        let filled = parts.fill(prompt);
                        assert!(!filled.contains(SECRET), "{filled}");
                        let digest = *blake3::hash(filled.as_bytes()).as_bytes();
                        let first = *keys.entry(finish_key(&prefix, &parts)).or_insert(digest);
                        assert!(
                            first == digest,
                            "{:?} shares its key with another prompt: {filled:?}",
                            (criterion, conversation, reply)
                        );
                        prompts.insert(digest);
                    }
                }
            }
        }
        assert_eq!(keys.len(), prompts.len(), "one key a prompt");
        assert!(prompts.len() > 10_000, "{}", prompts.len());
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
