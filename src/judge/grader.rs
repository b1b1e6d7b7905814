//! The LLM judge (SPEC §9.2): a rubric, the conversation so far and the reply go into a fixed,
//! versioned prompt (`src/judge/prompt/v1-*.txt`, documented in docs/judge.md); the judge model
//! answers `{"pass": true|false, "reason": "..."}`. A `false` is a failure that shows the
//! reason; a judge that cannot be reached or answers anything else is "could not judge" (an
//! error), never a pass, as is a rubric its `{{name}}`s leave blank, which is not asked.
//!
//! Verdicts are cached on disk (`cache.rs`) by a hash of everything that decides them (the
//! judge's identity, the prompt version and text, the rubric or golden, the conversation and
//! the reply), which the grader takes here, so a rerun with the same replies asks nothing.
//! The key is taken over those parts, not over the filled prompt: the fixed text of the
//! prompts is hashed once per judge, and the prompt is filled only when the judge is asked.
//! The key is a hash of the conversation with the reply on an `agent: ` line after it, as
//! the next question's conversation shows them, under which the criterion is hashed: a
//! dialogue's next question, whose conversation is this one's and the newest exchange,
//! hashes none of that exchange again, only its own message on top of where this one's hash
//! stood, and another criterion about the same reply only itself (see [`Transcript`]).
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
use std::sync::{Arc, LazyLock, Mutex};

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
    /// The conversations last asked about, each with its hash so far: a dialogue's next
    /// question hashes only its newest exchange. `None` when the redactor has a form that
    /// holds a line's end, for then the conversation is redacted only whole (see
    /// [`Transcript`]).
    transcripts: Option<Vec<Mutex<Option<Box<Transcript>>>>>,
}

/// Why a rubric left blank by its `{{name}}`s is not asked.
const BLANK_RUBRIC: &str =
    "the rubric is blank once its `{{name}}`s are filled in, so it asks the judge nothing";

/// How many conversations a judge keeps the hash of at once: a few times the dialogues a run
/// has in flight. A dialogue whose slot another took hashes its conversation whole again.
const TRANSCRIPT_SLOTS: usize = 64;

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
    /// The parts of `q`, the conversation redacted whole, as the judge reads it.
    fn of(redactor: &Redactor, q: &Question<'q>) -> Self {
        Parts {
            criterion: redactor.redact(q.criterion),
            conversation: redactor.redact_string(render_conversation(q.conversation)),
            reply: redactor.redact(q.reply),
        }
    }

    /// The question's key, hashed whole.
    fn key(&self, prefix: &[u8; 32]) -> Key {
        finish_key(prefix, &self.conversation, &self.criterion, &self.reply)
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
        let transcripts = (!redactor.any_form_contains('\n'))
            .then(|| (0..TRANSCRIPT_SLOTS).map(|_| Mutex::new(None)).collect());
        Grader {
            ask,
            cache,
            redactor,
            retries,
            stats,
            rubric_prefix: key_prefix(&identity, &RUBRIC),
            golden_prefix: key_prefix(&identity, &GOLDEN),
            transcripts,
        }
    }

    /// Judges `reply` against `rubric`, its `{{name}}`s filled in.
    ///
    /// A blank rubric is no question: it states nothing the judge could find false, so it
    /// would pass every reply. One written blank is refused at load; one that an empty var or
    /// capture left blank is only known here, and is the turn's error, never a pass.
    pub async fn rubric(
        &self,
        rubric: &str,
        conversation: &[Said<'_>],
        reply: &str,
    ) -> Result<Verdict, String> {
        if rubric.trim().is_empty() {
            return Err(BLANK_RUBRIC.to_string());
        }
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
        let mut parts = None;
        let key = match self.key(prefix, q) {
            Some(key) => key,
            None => parts.insert(Parts::of(&self.redactor, q)).key(prefix),
        };
        if let Some(v) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            self.stats.cached.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        let prompt = match parts {
            Some(parts) => parts.fill(prompt),
            None => Parts::of(&self.redactor, q).fill(prompt),
        };
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

    /// The key of `q`, hashed on from where the same conversation's last question left its
    /// hash ([`Transcript`]); `None` where the key is to be taken over the parts redacted
    /// whole ([`Parts::key`]): no transcripts are kept, the conversation is empty, or its
    /// slot is in use by another question right now.
    fn key(&self, prefix: &[u8; 32], q: &Question<'_>) -> Option<Key> {
        let slots = self.transcripts.as_ref()?;
        let first = q.conversation.first()?;
        // Fibonacci hashing of the first message's address, less its alignment bits: the
        // runner hands the judge the messages it records for the turns, the first turn's
        // included, so a dialogue finds its slot from its first question on. Only a hint: a
        // slot's messages are checked against the conversation before its hash is used.
        let hint = first.user.as_ptr() as usize;
        let slot = ((hint >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % TRANSCRIPT_SLOTS;
        let mut slot = slots.get(slot)?.try_lock().ok()?;
        let t = slot.get_or_insert_with(|| Box::new(Transcript::new(prefix)));
        Some(t.key(&self.redactor, prefix, q))
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

/// One conversation as far as a judge has hashed it into a question's key: the messages, as
/// said, of every exchange but the newest, and the key's hash over their lines, redacted.
/// The next question of the same dialogue has the same messages first (checked here, byte
/// for byte, before the hash is used) and hashes only its newer lines on top, where the whole
/// conversation, redacted and hashed again at every turn, had cost the most of a cached
/// verdict, and more with every turn.
///
/// Its newest earlier exchange is most often the last question's message and reply, which
/// the key hashes as that exchange's lines: the hash is carried on past them in place
/// ([`Transcript::next`]), and taken as it stands once the next question's conversation is
/// found to go on with them, byte for byte, so that exchange is neither hashed again nor
/// looked through for secrets. Another question about the same message and reply (another
/// rubric of the turn) takes the conversation's hash as the last one left it
/// ([`Transcript::root`]) and hashes only its criterion under it. A question that goes on
/// otherwise (another reply to the same message) hashes its conversation anew. Nothing of
/// the hash's state is copied on that road: a copy of BLAKE3's state, 1.9 KB, cost more
/// than the compression of one block.
///
/// The lines are redacted a few at a time, where the prompt redacts the conversation whole.
/// The two agree as long as no form of a secret holds a line's end: every line ends in one,
/// so such a form is all a replacement (or a secret cut short before a `…`) could span lines
/// with, and the grader keeps no transcripts otherwise. The last message's lines are trimmed
/// at their end, as the whole conversation is (never past the `user:` or `agent:` its last
/// line starts with), and are hashed again untrimmed when a message follows them, unless only
/// the line's end was trimmed, when the hash is carried past them.
struct Transcript {
    prefix: [u8; 32],
    /// The hashed messages' texts, one after the other, and where each user's and agent's
    /// text ends in it.
    text: String,
    said: Vec<(usize, Option<usize>)>,
    /// The key's hash, keyed with `prefix`, over those messages' lines, redacted; and past
    /// them over the last question's message and reply when [`Transcript::next`] says so.
    hasher: blake3::Hasher,
    /// Where the reply starts in `text` when the hash went on past the last question's
    /// message and reply: their texts follow the hashed messages' in `text`.
    next: Option<usize>,
    /// With `next`, the last question's conversation hash (its root), which its key took.
    root: [u8; 32],
    /// Where a question's new text is put together to be redacted.
    lines: String,
    /// Where the end of a question's key is put together to be hashed in one go.
    tail: Vec<u8>,
}

impl Transcript {
    /// Its buffers sized for a few turns of a usual dialogue: grown from nothing, they had
    /// been grown again at most of a dialogue's turns, a copy each time.
    fn new(prefix: &[u8; 32]) -> Transcript {
        Transcript {
            prefix: *prefix,
            text: String::with_capacity(1024),
            said: Vec::with_capacity(8),
            hasher: blake3::Hasher::new_keyed(prefix),
            next: None,
            root: [0; 32],
            lines: String::with_capacity(512),
            tail: Vec::with_capacity(512),
        }
    }

    /// Back to no messages hashed, keeping the buffers.
    fn reset(&mut self, prefix: &[u8; 32]) {
        if self.prefix == *prefix {
            self.hasher.reset();
        } else {
            self.prefix = *prefix;
            self.hasher = blake3::Hasher::new_keyed(prefix);
        }
        self.text.clear();
        self.said.clear();
        self.next = None;
    }

    /// How many of the hashed messages `conversation` starts with.
    fn agreeing(&self, conversation: &[Said<'_>]) -> usize {
        let mut start = 0;
        for (n, (&(user, agent), s)) in self.said.iter().zip(conversation).enumerate() {
            let same_agent = match (agent, s.agent) {
                (Some(end), Some(a)) => self.text[user..end] == *a,
                (None, None) => true,
                _ => false,
            };
            if self.text[start..user] != *s.user || !same_agent {
                return n;
            }
            start = agent.unwrap_or(user);
        }
        self.said.len().min(conversation.len())
    }

    /// The key of `q` under `prefix`, as [`Parts::key`] takes it; the hash is brought to
    /// every message of the conversation but its last first, carried on from the last
    /// question's where the conversation goes on from it.
    ///
    /// The question's new text (the lines of the messages not hashed yet, the last message's
    /// lines, trimmed, the reply on an `agent: ` line and the criterion, each after a line's
    /// end) is redacted in one pass, a redaction costing as much for a line as for a few:
    /// where nothing in it is redacted, nothing in any of its pieces is (the pass would have
    /// found it in the piece), and the pieces are hashed as they stand; else each is redacted
    /// apart. Where nothing was, the last message had no answer and nothing but its line's end
    /// was trimmed from it, the hash is carried on past its line and the reply's, which are
    /// then the lines the next question's conversation starts its newest exchange with, if
    /// the agent said this reply ([`Transcript::next`]).
    fn key(&mut self, redactor: &Redactor, prefix: &[u8; 32], q: &Question<'_>) -> Key {
        let Some((last, earlier)) = q.conversation.split_last() else {
            return Parts::of(redactor, q).key(prefix);
        };
        if self.prefix != *prefix || self.agreeing(earlier) < self.said.len() {
            self.reset(prefix);
        }
        if let Some(at) = self.next.take() {
            let start = self
                .said
                .last()
                .map_or(0, |&(user, agent)| agent.unwrap_or(user));
            let (user, reply) = (&self.text[start..at], &self.text[at..]);
            if earlier
                .get(self.said.len())
                .is_some_and(|s| s.user == user && s.agent == Some(reply))
            {
                // The conversation goes on with the last question's message and reply.
                self.said.push((at, Some(self.text.len())));
            } else if earlier.len() == self.said.len()
                && last.agent.is_none()
                && last.user == user
                && q.reply == reply
            {
                // The last question's message and reply again: only the criterion is new.
                self.next = Some(at);
                let criterion = redactor.redact(q.criterion);
                return under(&self.root, &criterion, q.reply.len(), &mut self.tail);
            } else {
                self.reset(prefix);
            }
        }
        self.lines.clear();
        for s in &earlier[self.said.len()..] {
            self.text.push_str(s.user);
            let user = self.text.len();
            let agent = s.agent.map(|a| {
                self.text.push_str(a);
                self.text.len()
            });
            self.said.push((user, agent));
            push_lines(&mut self.lines, s);
        }
        let new = self.lines.len();
        push_lines(&mut self.lines, last);
        let untrimmed = self.lines.len();
        self.lines.truncate(self.lines.trim_end().len());
        let message = self.lines.len();
        self.lines.push('\n');
        self.lines.push_str(AGENT);
        let reply = self.lines.len();
        self.lines.push_str(q.reply);
        let reply_end = self.lines.len();
        self.lines.push('\n');
        let criterion = self.lines.len();
        self.lines.push_str(q.criterion);
        let lines = self.lines.as_str();
        let whole = !redactor.would_redact(lines);
        let redacted = |range: std::ops::Range<usize>| match whole {
            true => Cow::Borrowed(&lines[range]),
            false => redactor.redact(&lines[range]),
        };
        self.hasher.update(redacted(0..new).as_bytes());
        let reply = redacted(reply..reply_end);
        let root = if whole && last.agent.is_none() && untrimmed == message + 1 {
            self.hasher.update(&lines.as_bytes()[new..criterion]);
            self.text.push_str(last.user);
            self.next = Some(self.text.len());
            self.text.push_str(q.reply);
            self.root = *self.hasher.finalize().as_bytes();
            self.root
        } else {
            let mut h = self.hasher.clone();
            self.tail.clear();
            self.tail
                .extend_from_slice(redacted(new..message).as_bytes());
            push_reply(&mut self.tail, &reply);
            h.update(&self.tail);
            *h.finalize().as_bytes()
        };
        under(
            &root,
            &redacted(criterion..lines.len()),
            reply.len(),
            &mut self.tail,
        )
    }
}

const USER: &str = "user: ";
const AGENT: &str = "agent: ";

/// The lines of one message of the conversation, each with its end.
fn push_lines(out: &mut String, s: &Said<'_>) {
    out.push_str(USER);
    out.push_str(s.user);
    out.push('\n');
    if let Some(a) = s.agent {
        out.push_str(AGENT);
        out.push_str(a);
        out.push('\n');
    }
}

/// The conversation as the prompt shows it, in one allocation of the right size.
fn render_conversation(conversation: &[Said<'_>]) -> String {
    let len = conversation
        .iter()
        .map(|s| USER.len() + s.user.len() + 1 + s.agent.map_or(0, |a| AGENT.len() + a.len() + 1))
        .sum();
    let mut out = String::with_capacity(len);
    for s in conversation {
        push_lines(&mut out, s);
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

/// The key of one question: BLAKE3 keyed with the conversation's hash of the criterion and
/// the criterion's and the reply's lengths; the conversation's hash is BLAKE3 keyed with
/// `prefix` of the conversation and the reply on an `agent: ` line of its own (a line's end
/// before and after it). The lengths make the encoding read back (the criterion from the
/// end, then the reply and its line from the end of what the conversation's hash is over,
/// and the rest is the conversation): two questions hash alike only if their parts are the
/// same, so only if they fill the same prompt. The conversation comes first, without its
/// length, with the reply after it as the next question's conversation shows it, so that
/// its hash can be carried from one question of a dialogue to the next, and the criterion
/// under it, so that another criterion about the same reply hashes only itself
/// ([`Transcript`]).
fn finish_key(prefix: &[u8; 32], conversation: &str, criterion: &str, reply: &str) -> Key {
    let mut h = blake3::Hasher::new_keyed(prefix);
    h.update(conversation.as_bytes());
    let mut tail = Vec::with_capacity(reply.len() + criterion.len() + 32);
    push_reply(&mut tail, reply);
    h.update(&tail);
    under(h.finalize().as_bytes(), criterion, reply.len(), &mut tail)
}

/// The reply's line in a key, between two lines' ends.
fn push_reply(out: &mut Vec<u8>, reply: &str) {
    out.push(b'\n');
    out.extend_from_slice(AGENT.as_bytes());
    out.extend_from_slice(reply.as_bytes());
    out.push(b'\n');
}

/// The key of `criterion` under its conversation's hash `root`, with the criterion's length
/// and the reply's (`reply`, eight bytes each, little-endian) after it; put together in
/// `buf` and hashed in one go.
fn under(root: &[u8; 32], criterion: &str, reply: usize, buf: &mut Vec<u8>) -> Key {
    buf.clear();
    buf.extend_from_slice(criterion.as_bytes());
    buf.extend_from_slice(&(criterion.len() as u64).to_le_bytes());
    buf.extend_from_slice(&(reply as u64).to_le_bytes());
    Key(*blake3::keyed_hash(root, buf).as_bytes())
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
        // The empty question under the all-zero prefix: BLAKE3 keyed with the hash of its
        // conversation and reply line (`\nagent: \n`, under that prefix) of its two
        // lengths (zero, eight bytes each).
        let q = Question {
            criterion: "",
            conversation: &[],
            reply: "",
        };
        let parts = Parts::of(&Redactor::default(), &q);
        let root = blake3::keyed_hash(&[0; 32], b"\nagent: \n");
        let key = blake3::keyed_hash(root.as_bytes(), &[0; 16]);
        assert_eq!(parts.key(&[0; 32]).hex(), key.to_hex().as_str());
    }

    /// A dialogue asked turn by turn carries its hash from one question to the next: each
    /// turn's newest earlier exchange is the last question's message and reply, not hashed
    /// (nor looked through for secrets) again. Another rubric about the same reply hashes
    /// only itself; another reply to the same message starts over. Every key is the key
    /// hashed whole.
    #[test]
    fn a_dialogue_carries_its_hash_from_turn_to_turn() {
        let prefix = key_prefix("j", &RUBRIC);
        let redactor = Redactor::default();
        let turns = [
            ("hi", "Hello!"),
            ("hours?", "9 to 6"),
            ("sunday?", "closed"),
            ("bye", "Bye!"),
        ];
        let mut t = Transcript::new(&prefix);
        let whole = |q: &Question<'_>| Parts::of(&redactor, q).key(&prefix);
        for (k, &(user, reply)) in turns.iter().enumerate() {
            let mut conversation: Vec<Said<'_>> =
                turns[..k].iter().map(|(u, a)| said(u, Some(a))).collect();
            conversation.push(said(user, None));
            let q = Question {
                criterion: "polite",
                conversation: &conversation,
                reply,
            };
            assert_eq!(t.key(&redactor, &prefix, &q), whole(&q), "turn {k}");
            assert!(
                t.lines.starts_with(&format!("user: {user}\n")),
                "turn {k}: only its own message is new: {:?}",
                t.lines
            );
            assert_eq!((t.said.len(), t.next.is_some()), (k, true), "turn {k}");
            let other = Question {
                criterion: "brief",
                ..q
            };
            assert_eq!(t.key(&redactor, &prefix, &other), whole(&other), "turn {k}");
            assert!(t.next.is_some(), "turn {k}");
        }
        // Another reply to the last message, then the first one again.
        let mut conversation: Vec<Said<'_>> =
            turns[..3].iter().map(|(u, a)| said(u, Some(a))).collect();
        conversation.push(said("bye", None));
        for reply in ["Goodbye.", "Bye!"] {
            let q = Question {
                criterion: "polite",
                conversation: &conversation,
                reply,
            };
            assert_eq!(t.key(&redactor, &prefix, &q), whole(&q), "{reply}");
        }
        // A message with trailing blanks, trimmed in the prompt, is not carried past.
        let q = Question {
            criterion: "polite",
            conversation: &[said("hi  ", None)],
            reply: "Hello!",
        };
        assert_eq!(t.key(&redactor, &prefix, &q), whole(&q));
        assert!(t.next.is_none());
        let answered = [said("hi  ", Some("Hello!")), said("hours?", None)];
        let q = Question {
            conversation: &answered,
            ..q
        };
        assert_eq!(t.key(&redactor, &prefix, &q), whole(&q));
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
        parts.key(&key_prefix(identity, prompt))
    }

    fn said<'a>(user: &'a str, agent: Option<&'a str>) -> Said<'a> {
        Said { user, agent }
    }

    fn said_of<'a>(s: &Said<'a>) -> Said<'a> {
        said(s.user, s.agent)
    }

    fn said_all(t: &[(String, Option<String>)]) -> Vec<Said<'_>> {
        t.iter().map(|(u, a)| said(u, a.as_deref())).collect()
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
                        let key = parts.key(&prefix);
                        // Hashed a few lines at a time, from nothing and on from the first
                        // message's hash, the key is the same.
                        let mut t = Transcript::new(&prefix);
                        assert_eq!(t.key(&redactor, &prefix, &q), key);
                        if let Some(first) = said.first() {
                            let mut t = Transcript::new(&prefix);
                            let x = Said {
                                user: "x",
                                agent: None,
                            };
                            let before = [said_of(first), x];
                            let earlier = Question {
                                conversation: &before,
                                ..q
                            };
                            t.key(&redactor, &prefix, &earlier);
                            assert_eq!(t.said.len(), 1);
                            assert_eq!(t.key(&redactor, &prefix, &q), key);
                        }
                        let first = *keys.entry(key).or_insert(digest);
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

    /// A text of a conversation: pieces that run together across a line's end, a speaker's
    /// prefix, a secret and its base64, a truncation's mark, trailing whitespace.
    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just(" "),
                Just("\n"),
                Just("…"),
                Just("agent: "),
                Just("user: "),
                Just("ak_live_9f8e7d6c5b4a"),
                Just("ak_live_"),
                Just("9f8e7d6c5b4a"),
                Just("YWtfbGl2ZV85ZjhlN2Q2YzViNGE"),
            ],
            0..5,
        )
        .prop_map(|pieces| pieces.concat())
    }

    proptest::proptest! {
        /// A dialogue's keys, hashed on from its earlier questions' hashes, are the keys of
        /// its conversations redacted and hashed whole: turn by turn, with another dialogue
        /// asked in between, an attempt that starts over from the same first message with
        /// other replies, the other prompt, and secrets whose forms do or do not hold a
        /// line's end (then nothing is hashed on).
        #[test]
        fn keys_hashed_on_are_the_keys_hashed_whole(
            turns in proptest::collection::vec((text(), proptest::option::of(text())), 1..6),
            other in proptest::collection::vec((text(), proptest::option::of(text())), 1..4),
            secret in proptest::prop_oneof![
                proptest::strategy::Just("ak_live_9f8e7d6c5b4a"),
                proptest::strategy::Just("ak_l"),
                proptest::strategy::Just("9f8e …"),
                proptest::strategy::Just("ak_live\n9f8e7d6c5b4a"),
                proptest::strategy::Just("4a\nagent: a"),
            ],
            criterion in text(),
        ) {
            let redactor = Redactor::new([secrecy::SecretString::from(secret.to_string())]);
            let g = Grader::new(
                Arc::new(Canned(vec![r#"{"pass": true}"#], Default::default())),
                None,
                redactor.clone(),
                0,
                Arc::new(Stats::default()),
            );
            proptest::prop_assert_eq!(g.transcripts.is_none(), secret.contains('\n'));
            let check = |prefix: &[u8; 32], conversation: &[Said<'_>], reply: &str| {
                let q = Question {
                    criterion: &criterion,
                    conversation,
                    reply,
                };
                let want = Parts::of(&redactor, &q).key(prefix);
                match g.key(prefix, &q) {
                    Some(key) => key == want,
                    None => g.transcripts.is_none() || conversation.is_empty(),
                }
            };
            let said = said_all;
            // The dialogue's turns, each asked once, its message last and unanswered, the
            // agent's text the reply: each key hashed on from where the last one left it.
            for k in 0..turns.len() {
                let mut conversation = said(&turns[..=k]);
                let reply = conversation[k].agent.unwrap_or("").to_string();
                conversation[k].agent = None;
                proptest::prop_assert!(check(&g.rubric_prefix, &conversation, &reply));
            }
            // Then again, each turn asked unanswered, then answered; the other dialogue's
            // turn between them.
            for k in 0..turns.len() {
                let mut conversation = said(&turns[..=k]);
                let reply = conversation[k].agent.unwrap_or("").to_string();
                conversation[k].agent = None;
                proptest::prop_assert!(check(&g.rubric_prefix, &conversation, &reply));
                let answered = said(&turns[..=k]);
                proptest::prop_assert!(check(&g.rubric_prefix, &answered, &reply));
                let o = said(&other[..=k.min(other.len() - 1)]);
                proptest::prop_assert!(check(&g.rubric_prefix, &o, "r"));
            }
            // Another attempt: the same first message (the same text, so the same slot),
            // other replies; then the golden prompt.
            let mut again = said(&other);
            again.insert(0, Said { user: &turns[0].0, agent: Some("other") });
            for k in 1..=again.len() {
                proptest::prop_assert!(check(&g.rubric_prefix, &again[..k], "r"));
                proptest::prop_assert!(check(&g.golden_prefix, &again[..k], "r"));
            }
        }
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
        assert_eq!(&*v.reason, "wrong hours");
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

    /// A rubric that its `{{name}}`s left blank asks nothing: an error, and the judge is not
    /// asked (it could only pass it).
    #[tokio::test]
    async fn a_rubric_left_blank_is_an_error_not_a_question() {
        let ask = Arc::new(Recording::default());
        let g = Grader::new(
            ask.clone(),
            None,
            Redactor::default(),
            2,
            Arc::new(Stats::default()),
        );
        for rubric in ["", "  \n\t "] {
            let err = g.rubric(rubric, &[], "hello").await.unwrap_err();
            assert!(err.contains("rubric is blank"), "{err}");
        }
        assert!(ask.0.lock().unwrap().is_empty(), "the judge was asked");
        assert_eq!(g.stats.asked.load(Ordering::Relaxed), 0);
    }
}
