//! The LLM judge (SPEC §9.2): a rubric, the conversation so far and the reply go into a fixed,
//! versioned prompt (`src/judge/prompt/v1-*.txt`, documented in docs/judge.md); the judge model
//! answers `{"pass": true|false, "reason": "..."}`. A `false` is a failure that shows the
//! reason; a judge that cannot be reached or answers anything else is "could not judge" (an
//! error), never a pass.
//!
//! Verdicts are cached on disk by a hash of everything that decides them (the judge's identity,
//! the prompt version, the rubric or golden, the conversation and the reply), one file per
//! verdict written atomically, so parallel dialogues and two runs at once share the cache
//! safely and a rerun with the same replies asks nothing.
//!
//! Every secret the run knows is redacted from each part of a prompt before it is filled, so
//! a key the agent echoes never reaches the judge model (often a third party's) nor the cache
//! key.
//!
//! The judge never talks HTTP itself: it is handed an [`Ask`] (the runner's, over the judge's
//! endpoint with the run's retries, rate limits and redaction).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use crate::redact::Redactor;
use crate::suite::template::{expand_references, references, Reference};
use sha2::{Digest, Sha256};

/// The prompt's version: part of every cache key, so a new prompt never reuses old verdicts.
pub const PROMPT_VERSION: &str = "v1";
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

/// A judge's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub pass: bool,
    pub reason: String,
    /// Read from the cache instead of asked.
    pub cached: bool,
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
    cache: Option<PathBuf>,
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

/// The largest verdict file [`Grader::write_cache`] can write: a reason as long as the
/// largest answer the transport takes (8 MiB, `endpoint::transport::MAX_BODY_BYTES`), every
/// byte escaped (`\u00XX`, six bytes), and the rest of the object. Anything it writes reads
/// back, so a long reason is asked only once.
const CACHE_FILE_CAP: u64 = 6 * 8 * 1024 * 1024 + 1024;

/// One message of the conversation shown to the judge.
pub struct Said<'a> {
    pub user: &'a str,
    pub agent: Option<&'a str>,
}

impl Grader {
    pub fn new(
        ask: Arc<dyn Ask>,
        cache: Option<PathBuf>,
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
        if let Some(v) = self.read_cache(&key) {
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

    fn cache_file(&self, key: &str) -> Option<PathBuf> {
        self.cache
            .as_ref()
            .map(|dir| dir.join(format!("{key}.json")))
    }

    fn read_cache(&self, key: &str) -> Option<Verdict> {
        // Regular files only, capped: a FIFO planted under a verdict's name would block the
        // open forever, a device never end; either is simply not a verdict.
        let bytes =
            crate::fsutil::read_regular_capped(&self.cache_file(key)?, CACHE_FILE_CAP).ok()?;
        let mut v = read_cached(&bytes).or_else(|| {
            let text = std::str::from_utf8(&bytes).ok()?;
            parse_verdict(text).ok()
        })?;
        v.cached = true;
        Some(v)
    }

    /// A cache that cannot be written costs a question next time, nothing more.
    fn write_cache(&self, key: &str, v: &Verdict) {
        let Some(path) = self.cache_file(key) else {
            return;
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let reason = self.redactor.redact(&v.reason);
        let body = serde_json::json!({"pass": v.pass, "reason": reason, "prompt": PROMPT_VERSION});
        let _ = replace_in_cache(&path, body.to_string().as_bytes());
    }
}

/// Writes a verdict file atomically (a temporary file renamed over it) and always as a file
/// of the cache's own: whatever is at `path` (a symbolic link, a FIFO) is replaced, never
/// followed, so a cache restored from elsewhere cannot make a run write outside it or block.
fn replace_in_cache(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".agenttest-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Readable like any file the user writes (0666 less the umask), as reports are.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
fn cache_key(identity: &str, prompt: &str) -> String {
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

fn finish_key(mut h: Sha256, prompt: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    h.update((prompt.len() as u64).to_le_bytes());
    h.update(prompt.as_bytes());
    h.finalize()
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]])
        .map(char::from)
        .collect()
}

/// A verdict file as [`Grader::write_cache`] writes it, read into its fields without a JSON
/// tree; `None` for anything else (an older or hand-edited file), which [`parse_verdict`]
/// then reads as it reads an answer, to the same verdict.
fn read_cached(bytes: &[u8]) -> Option<Verdict> {
    #[derive(serde::Deserialize)]
    struct Cached {
        pass: bool,
        #[serde(default)]
        reason: Option<String>,
    }
    let c: Cached = serde_json::from_slice(bytes).ok()?;
    Some(verdict(c.pass, c.reason.as_deref()))
}

/// A verdict as an answer or a cache file gives it: the reason trimmed, and said to be missing
/// when there is none.
fn verdict(pass: bool, reason: Option<&str>) -> Verdict {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("(the judge gave no reason)");
    Verdict {
        pass,
        reason: reason.to_string(),
        cached: false,
    }
}

/// The verdict in a judge's answer: a JSON object with a boolean `pass`, alone or inside a
/// code fence or surrounding prose (models add them despite the prompt).
///
/// An object that is an element of a JSON array (`[{"pass": true}]`, fenced or not) is not a
/// verdict: the prompt asks for one object, and an array is a different answer (a list of
/// verdicts, of which this would read the last and drop the rest). It is asked again like any
/// other non-verdict, and after the retries it is "could not judge", never a pass.
pub fn parse_verdict(answer: &str) -> Result<Verdict, String> {
    let start = answer.find('{');
    let end = answer.rfind('}');
    let (object, before, after) = match (start, end) {
        (Some(s), Some(e)) if e > s => (&answer[s..=e], &answer[..s], &answer[e + 1..]),
        _ => {
            return Err(format!(
                "the judge did not answer JSON: {}",
                preview(answer)
            ))
        }
    };
    if before.trim_end().ends_with('[') || after.trim_start().starts_with(']') {
        return Err(format!(
            "the judge answered a JSON array, not an object: {}",
            preview(answer)
        ));
    }
    let value: Value = serde_json::from_str(object).map_err(|e| {
        format!(
            "the judge's answer is not valid JSON ({e}): {}",
            preview(answer)
        )
    })?;
    let pass = value.get("pass").and_then(Value::as_bool).ok_or_else(|| {
        format!(
            "the judge's answer has no boolean `pass`: {}",
            preview(answer)
        )
    })?;
    Ok(verdict(pass, value.get("reason").and_then(Value::as_str)))
}

fn preview(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("`{}…`", &t[..i]),
        None => format!("`{t}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_alone_fenced_or_in_prose() {
        let v = parse_verdict(r#"{"pass": true, "reason": "states 9 AM"}"#).unwrap();
        assert!(v.pass);
        assert_eq!(v.reason, "states 9 AM");
        let v =
            parse_verdict("```json\n{\"pass\": false, \"reason\": \"says 10 AM\"}\n```").unwrap();
        assert!(!v.pass);
        let v = parse_verdict("Sure! {\"pass\": true}").unwrap();
        assert_eq!(v.reason, "(the judge gave no reason)");
        assert!(parse_verdict("yes").is_err());
        assert!(parse_verdict(r#"{"pass": "yes"}"#).is_err());
        assert!(parse_verdict("{not json}").is_err());
        // Prose with brackets of its own around the object is still prose.
        let v = parse_verdict("Verdict [final]: {\"pass\": true} [1]").unwrap();
        assert!(v.pass);
    }

    #[test]
    fn a_verdict_inside_an_array_is_not_a_verdict() {
        for answer in [
            r#"[{"pass": true, "reason": "fine"}]"#,
            "[\n  {\"pass\": true}\n]",
            "```json\n[{\"pass\": true}]\n```",
            r#"Here you go: [{"pass": true}]"#,
            r#"[{"pass": false}, {"pass": true}]"#,
        ] {
            let err = parse_verdict(answer).unwrap_err();
            assert!(
                err.contains("a JSON array, not an object"),
                "{answer}: {err}"
            );
        }
    }

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

    /// A verdict file read field by field says what reading it as an answer says, for the
    /// files this tool writes and for odd ones.
    #[test]
    fn cached_verdicts_read_as_answers_are_read() {
        for file in [
            r#"{"pass":true,"reason":"states 9 AM","prompt":"v1"}"#,
            r#"{"pass":false,"reason":"  says 10 AM \n","prompt":"v1"}"#,
            r#"{"pass":true,"reason":"","prompt":"v1"}"#,
            r#"{"pass":true,"reason":null}"#,
            r#"{"pass":true}"#,
        ] {
            let fast = read_cached(file.as_bytes()).map(|v| (v.pass, v.reason));
            let slow = parse_verdict(file).ok().map(|v| (v.pass, v.reason));
            assert!(fast.is_some(), "{file}");
            assert_eq!(fast, slow, "{file}");
        }
        for odd in [
            r#"{"pass":"yes"}"#,
            r#"{"pass":true,"reason":5}"#,
            "[]",
            "{",
        ] {
            assert!(read_cached(odd.as_bytes()).is_none(), "{odd}");
        }
    }

    /// Keys are lower-case hex of SHA-256, as every cache written so far names its files.
    #[test]
    fn keys_are_the_hex_of_the_hash() {
        // SHA-256 of the prompt's length (zero, eight bytes) and the empty prompt.
        assert_eq!(
            finish_key(Sha256::new(), ""),
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
        assert_eq!(a.len(), 64);
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
            Some(dir.path().to_path_buf()),
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
        let g = Grader::new(ask, Some(dir.path().to_path_buf()), redactor, 0, stats);
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
