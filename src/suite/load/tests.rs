//! The loader's unit tests: fixtures in a temp dir through `load_paths`, checking the
//! model (merged endpoints, defaults, spans) and the exact errors of broken files.

use std::time::Duration;

use regex::Regex;
use secrecy::ExposeSecret;

use super::check::regex_message;
use super::*;
use crate::diag::Span;
use crate::suite::model::{
    BaseUrl, Endpoint, EndpointKind, ExpectKind, GoldenMode, HeaderValue, MinPass, SessionMode,
};

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Fixture { dir }
    }

    fn load_with(&self, opts: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
        load_paths(&[self.dir.path().to_path_buf()], opts)
    }

    fn load(&self) -> Result<Loaded, Vec<Diagnostic>> {
        self.load_with(&env(&[]))
    }

    fn errors(&self) -> Vec<String> {
        let diags = self.load().expect_err("expected errors");
        diags
            .iter()
            .map(|d| {
                let rel = d.path.strip_prefix(self.dir.path()).unwrap_or(&d.path);
                format!(
                    "{}:{}:{} {}",
                    rel.display(),
                    d.span.line,
                    d.span.column,
                    d.message
                )
            })
            .collect()
    }
}

/// Each diagnostic as `line:column message`.
fn at_line_col(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| format!("{}:{} {}", d.span.line, d.span.column, d.message))
        .collect()
}

fn env(vars: &[(&str, &str)]) -> LoadOptions {
    LoadOptions::with_env(
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// A complete endpoint; with a key, so that tests overriding it with a URL stay valid.
const EP: &str = "endpoint: {base_url: mock, agent_id: ag, api_key: ak_k}\n";

fn one(f: &Fixture) -> Suite {
    let mut loaded = match f.load() {
        Ok(l) => l,
        Err(d) => panic!("{}", crate::diag::render_all(&d, false)),
    };
    assert_eq!(loaded.suites.len(), 1);
    loaded.suites.remove(0)
}

#[test]
fn endpoint_merges_config_suite_dialogue_then_overrides() {
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "endpoint:\n  base_url: https://api.example.test/\n  agent_id: ag_config\n  api_key: ak_k\n  \
             timeout: 5s\n  rate_limit: 2/s\n  headers: {X-Env: staging, X-Team: a}\n",
        ),
        (
            "sub/s.yaml",
            "endpoint:\n  agent_id: ag_suite\n  retries: 4\n  headers: {x-env: prod}\n\
             dialogues:\n  - name: a\n    turns: [{user: hi}]\n  - name: b\n    \
             endpoint: {agent_id: ag_dialogue, timeout: 1s}\n    turns: [{user: hi}]\n",
        ),
    ]);
    let s = one(&f);
    let a = &s.dialogues[0].endpoint;
    assert_eq!(a.base_url, BaseUrl::Url("https://api.example.test".into()));
    assert_eq!(a.agent_id, "ag_suite");
    assert_eq!(a.timeout, Duration::from_secs(5));
    assert_eq!(a.retries, 4);
    assert_eq!(a.rate_limit, Some(2.0));
    let headers: Vec<(&str, String)> = a
        .headers
        .iter()
        .map(|h| match &h.value {
            HeaderValue::Plain(v) => (h.name.as_str(), v.clone()),
            HeaderValue::Secret(_) => (h.name.as_str(), "secret".into()),
        })
        .collect();
    assert_eq!(headers, [("X-Team", "a".into()), ("x-env", "prod".into())]);
    let b = &s.dialogues[1].endpoint;
    assert_eq!(b.agent_id, "ag_dialogue");
    assert_eq!(b.timeout, Duration::from_secs(1));
    assert_eq!(a.api_key.as_ref().map(|k| k.expose_secret()), Some("ak_k"));

    let mut opts = env(&[]);
    opts.overrides = EndpointOverrides {
        base_url: Some(BaseUrl::Mock),
        agent_id: Some("ag_flag".into()),
        timeout: Some(Duration::from_secs(9)),
        retries: Some(0),
        rate_limit: None,
    };
    let s = f.load_with(&opts).unwrap().suites.remove(0);
    let b = &s.dialogues[1].endpoint;
    assert_eq!(b.base_url, BaseUrl::Mock);
    assert_eq!(b.agent_id, "ag_flag");
    assert_eq!(b.timeout, Duration::from_secs(9));
    assert_eq!(b.retries, 0);
    assert_eq!(b.rate_limit, Some(2.0));
}

#[test]
fn defaults_and_env_when_nothing_is_set() {
    let f = Fixture::new(&[(
        "s.yaml",
        &format!("{EP}dialogues:\n  - name: a\n    turns: [{{user: hi}}]\n"),
    )]);
    let s = one(&f);
    let d = &s.dialogues[0];
    assert_eq!(s.name, "s");
    assert_eq!(s.golden_dir, f.dir.path().join("s.golden"));
    assert_eq!(d.endpoint.timeout, Endpoint::DEFAULT_TIMEOUT);
    assert_eq!(d.endpoint.retries, Endpoint::DEFAULT_RETRIES);
    assert_eq!((d.repeat, d.min_pass), (1, MinPass::Count(1)));
    assert_eq!(d.session, SessionMode::Fresh);
    assert_eq!(d.golden, GoldenMode::Exact);
    assert!(d.skip.is_none());
    assert!(d.turns[0].expect.is_empty());
}

/// A `${VAR:-default}` header whose default was used is the suite file's own text, not a
/// secret: redacting it blanked words such as `staging` in every report and golden. The same
/// header with the variable set is a secret.
#[test]
fn a_header_from_its_written_default_is_not_a_secret() {
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  base_url: mock\n  agent_id: ag\n  api_key: ak_test_123\n  \
         headers: {X-Env: '${DEPLOY_ENV:-staging}'}\n\
         dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
    )]);
    let s = f.load_with(&env(&[])).unwrap().suites.remove(0);
    let e = &s.dialogues[0].endpoint;
    match &e.headers[0].value {
        HeaderValue::Plain(v) => assert_eq!(v, "staging"),
        HeaderValue::Secret(_) => panic!("a written default is not a secret"),
    }
    assert!(!e.secrets().iter().any(|s| s.expose_secret() == "staging"));
    let s = f
        .load_with(&env(&[("DEPLOY_ENV", "production")]))
        .unwrap()
        .suites
        .remove(0);
    let e = &s.dialogues[0].endpoint;
    assert!(matches!(e.headers[0].value, HeaderValue::Secret(_)));
}

#[test]
fn env_vars_expand_and_mark_secrets() {
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  base_url: ${URL:-mock}\n  agent_id: ag_${WHO}\n  api_key: ${KEY}\n  \
         headers: {X-Token: 'tok ${TOKEN}', X-Plain: plain}\n\
         dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
    )]);
    let opts = env(&[
        ("WHO", "support"),
        ("KEY", "ak_test_123"),
        ("TOKEN", "t1x9"),
    ]);
    let s = f.load_with(&opts).unwrap().suites.remove(0);
    let e = &s.dialogues[0].endpoint;
    assert_eq!(e.base_url, BaseUrl::Mock);
    assert_eq!(e.agent_id, "ag_support");
    assert_eq!(e.api_key.as_ref().unwrap().expose_secret(), "ak_test_123");
    match &e.headers[0].value {
        HeaderValue::Secret(v) => assert_eq!(v.expose_secret(), "tok t1x9"),
        HeaderValue::Plain(_) => panic!("an env-derived header must be secret"),
    }
    assert!(matches!(e.headers[1].value, HeaderValue::Plain(_)));
    // The key, the whole header, and the token alone (an agent may echo just that).
    let secrets: Vec<String> = e
        .secrets()
        .iter()
        .map(|s| s.expose_secret().to_string())
        .collect();
    assert_eq!(secrets, ["ak_test_123", "tok t1x9", "t1x9"]);

    // Unset: an error at the field, naming the variable; the dialogue is not also
    // blamed for lacking an agent_id.
    let errs = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  base_url: mock\n  agent_id: ${AGENT}\n  api_key: '${EMPTY}'\n\
         dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
    )]);
    let diags = errs.load_with(&env(&[("EMPTY", "")])).unwrap_err();
    assert_eq!(
        at_line_col(&diags),
        [
            "3:13 environment variable `AGENT` is not set",
            "4:12 `api_key` is empty"
        ]
    );
}

#[test]
fn an_env_value_too_short_to_be_a_credential_is_no_secret() {
    // `X-Lang: ${LANG_CODE}` with `en`: redacting it would blank every "en" in every report.
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  base_url: 'http://localhost:9/?v=${V}&key=${KEY}'\n  agent_id: ag\n  \
         api_key: ak_test_123\n  \
         headers: {X-Lang: '${LANG_CODE}', X-Token: '${TOKEN}', X-Both: '${LANG_CODE}-${TOKEN}'}\n\
         dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
    )]);
    let opts = env(&[
        ("LANG_CODE", "en"),
        ("TOKEN", "t0k3n"),
        ("V", "1"),
        ("KEY", "k3y9"),
    ]);
    let s = f.load_with(&opts).unwrap().suites.remove(0);
    let e = &s.dialogues[0].endpoint;
    assert!(matches!(&e.headers[0].value, HeaderValue::Plain(v) if v == "en"));
    assert!(matches!(e.headers[1].value, HeaderValue::Secret(_)));
    assert!(matches!(e.headers[2].value, HeaderValue::Secret(_)));
    let mut secrets: Vec<String> = e
        .secrets()
        .iter()
        .map(|s| s.expose_secret().to_string())
        .collect();
    secrets.sort();
    secrets.dedup();
    assert_eq!(secrets, ["ak_test_123", "en-t0k3n", "k3y9", "t0k3n"]);
}

#[test]
fn model_and_system_file_take_env_vars() {
    // CI picks the model under test (and its prompt) from its environment; a default when
    // the variable is unset, and the model's name is not treated as a secret.
    let f = Fixture::new(&[
        ("prompts/support.md", "You are the support agent."),
        (
            "s.yaml",
            "endpoint:\n  kind: openai\n  base_url: mock\n  model: ${MODEL:-gpt-4o-mini}\n  \
             system_file: prompts/${PROMPT}.md\n\
             judge: {kind: openai, base_url: mock, model: '${JUDGE_MODEL}'}\n\
             dialogues:\n  - name: a\n    turns: [{user: hi, expect: {judge: polite}}]\n",
        ),
    ]);
    let spec = |s: &Suite| match &s.dialogues[0].endpoint.kind {
        EndpointKind::OpenAi(spec) => spec.clone(),
        other => panic!("not openai: {other:?}"),
    };
    let opts = env(&[("PROMPT", "support"), ("JUDGE_MODEL", "judge-4")]);
    let s = f.load_with(&opts).unwrap().suites.remove(0);
    let openai = spec(&s);
    assert_eq!(openai.model, "gpt-4o-mini");
    assert_eq!(openai.system.as_deref(), Some("You are the support agent."));
    assert!(s.dialogues[0].endpoint.secrets().is_empty());
    match &s.judge.as_ref().expect("the judge").kind {
        EndpointKind::OpenAi(j) => assert_eq!(j.model, "judge-4"),
        other => panic!("judge not openai: {other:?}"),
    }
    let opts = env(&[
        ("MODEL", "gpt-5"),
        ("PROMPT", "support"),
        ("JUDGE_MODEL", "j"),
    ]);
    let s = f.load_with(&opts).unwrap().suites.remove(0);
    assert_eq!(spec(&s).model, "gpt-5");

    // Unset without a default, or set but empty: an error at the field.
    let diags = f.load_with(&env(&[("MODEL", "  ")])).unwrap_err();
    assert_eq!(
        at_line_col(&diags),
        [
            "4:10 `model` is empty",
            "5:24 environment variable `PROMPT` is not set",
            "6:47 environment variable `JUDGE_MODEL` is not set",
        ]
    );
}

#[test]
fn path_params_and_body_take_env_vars() {
    // F15: a tenant in the path, a seed in params, a key in the body, all from CI. The path
    // is no secret (as base_url's path); what the environment gives a body or params is,
    // unless written as a default or too short to be a key.
    use secrecy::ExposeSecret;
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint: {base_url: mock}\ndialogues:\n  - name: h\n    endpoint:\n      kind: http\n      \
         path: /t/${TENANT}/chat\n      response: {text: /reply}\n      \
         body: {q: '{{message}}', key: '${BODY_KEY}', region: '${REGION:-eu-west}', n: 1}\n    \
         turns: [{user: hi}]\n  - name: o\n    endpoint: {kind: openai, model: m, \
         params: {user: '${SEED}', tag: '$${literal}'}}\n    turns: [{user: hi}]\n",
    )]);
    let opts = env(&[
        ("TENANT", "acme"),
        ("BODY_KEY", "bk_live_123456"),
        ("SEED", "42"),
    ]);
    let s = f.load_with(&opts).unwrap().suites.remove(0);
    let http = match &s.dialogues[0].endpoint.kind {
        EndpointKind::Http(h) => h.clone(),
        other => panic!("not http: {other:?}"),
    };
    assert_eq!(http.path, "/t/acme/chat");
    let body = http.body.expect("a body");
    assert_eq!(body["key"], "bk_live_123456");
    assert_eq!(body["region"], "eu-west");
    assert_eq!(body["q"], "{{message}}");
    let secrets: Vec<String> = s.dialogues[0]
        .endpoint
        .secrets()
        .iter()
        .map(|k| k.expose_secret().to_string())
        .collect();
    assert_eq!(secrets, ["bk_live_123456"]);
    let openai = match &s.dialogues[1].endpoint.kind {
        EndpointKind::OpenAi(o) => o.clone(),
        other => panic!("not openai: {other:?}"),
    };
    assert_eq!(openai.params["user"], "42");
    assert_eq!(openai.params["tag"], "${literal}");
    // "42" is too short to be a key.
    assert!(s.dialogues[1].endpoint.secrets().is_empty());

    let diags = f.load_with(&env(&[])).unwrap_err();
    assert_eq!(
        at_line_col(&diags),
        [
            "6:16 environment variable `TENANT` is not set",
            "8:38 environment variable `BODY_KEY` is not set",
            "11:56 environment variable `SEED` is not set",
        ]
    );
}

#[test]
fn defaults_expect_config_then_suite_then_turn() {
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "defaults:\n  expect: {status: 200, max_tokens: 300, not_contains: sorry}\n",
        ),
        (
            "s.yaml",
            &format!(
                "{EP}defaults:\n  expect: {{max_tokens: 100, max_latency: 2s}}\n\
                 dialogues:\n  - name: a\n    turns:\n      - user: hi\n        \
                 expect: {{status: [200, 201], contains: Monday}}\n"
            ),
        ),
    ]);
    let s = one(&f);
    let turn = &s.dialogues[0].turns[0];
    let got: Vec<(String, Span)> = turn
        .expect
        .iter()
        .map(|e| (format!("{:?}", e.kind), e.span))
        .collect();
    assert_eq!(
        got,
        [
            // The turn's own, at its key.
            ("Status([200, 201])".to_string(), Span::new(8, 18)),
            ("Contains([\"Monday\"])".to_string(), Span::new(8, 38)),
            // From agenttest.yaml: pointed at the turn that inherits it.
            ("NotContains([\"sorry\"])".to_string(), Span::new(7, 9)),
            // From the suite's defaults, where it is written there.
            ("MaxTokens(100)".to_string(), Span::new(3, 12)),
            ("MaxLatency(2s)".to_string(), Span::new(3, 29)),
        ]
    );
}

#[test]
fn spans_of_dialogues_turns_lists_and_captures() {
    let text = format!(
        "{EP}dialogues:\n  - name: a\n    vars: {{n: 3}}\n    turns:\n      - user: Where is {{{{n}}}}?\n        \
         capture: {{order: 'ORD-(\\d+)'}}\n        expect:\n          contains:\n            - x\n            \
         - \"{{{{n}}}}y\"\n      - user: Has {{{{order}}}} shipped?\n        expect: {{regex: '(?i)yes', contains_any: one}}\n"
    );
    let f = Fixture::new(&[("s.yaml", &text)]);
    let s = one(&f);
    let d = &s.dialogues[0];
    assert_eq!(d.span, Span::new(3, 5));
    assert_eq!(d.vars.get("n").map(String::as_str), Some("3"));
    assert_eq!(d.turns[0].span, Span::new(6, 9));
    assert_eq!(d.turns[0].capture[0].name, "order");
    assert_eq!(d.turns[0].capture[0].span, Span::new(7, 19));
    assert_eq!(d.turns[1].span, Span::new(12, 9));
    match &*d.turns[0].expect[0].kind {
        ExpectKind::Contains(v) => assert_eq!(v, &["x", "{{n}}y"]),
        other => panic!("{other:?}"),
    }
    let kinds: Vec<String> = d.turns[1]
        .expect
        .iter()
        .map(|e| e.kind.key().to_string())
        .collect();
    assert_eq!(kinds, ["contains_any", "regex"]);
    assert_eq!(d.turns[1].expect[1].span, Span::new(13, 18));
}

#[test]
fn template_references_are_checked_in_turn_order() {
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}dialogues:\n  - name: a\n    vars: {{product: X}}\n    turns:\n\
             \x20     - user: '{{{{order}}}} for {{{{product}}}}'\n\
             \x20     - user: hi\n        capture: {{order: 'ORD-\\d+'}}\n        \
             expect: {{equals: '{{{{order}}}}'}}\n\
             \x20     - user: '{{{{order}}}} {{{{prodct}}}} {{{{nope}}}} {{{{ not a var }}}}'\n"
        ),
    )]);
    assert_eq!(
        f.errors(),
        [
            // Each at the reference itself, inside its string.
            "s.yaml:6:16 `{{order}}` is used before it is captured",
            "s.yaml:9:27 `{{order}}` is used before it is captured",
            "s.yaml:10:26 unknown variable `{{prodct}}`",
            "s.yaml:10:37 unknown variable `{{nope}}`",
        ]
    );
    let diags = f.load().unwrap_err();
    assert_eq!(
        diags[0].label.as_deref(),
        Some("`order` is captured in turn 2")
    );
    assert_eq!(
        diags[2].help.as_deref(),
        Some("did you mean `{{product}}`?")
    );
}

#[test]
fn names_must_be_unique_and_not_collide_as_slugs() {
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}dialogues:\n  - name: Order status\n    turns: [{{user: a}}]\n\
             \x20 - name: Order status\n    turns: [{{user: b}}]\n\
             \x20 - name: ORDER  STATUS\n    turns: [{{user: c}}]\n\
             \x20 - name: ''\n    turns: [{{user: c}}]\n"
        ),
    )]);
    assert_eq!(
        f.errors(),
        [
            "s.yaml:5:11 duplicate dialogue name `Order status`",
            "s.yaml:7:11 dialogues `Order status` and `ORDER  STATUS` would share the golden file `order-status.yaml`",
            "s.yaml:9:11 the dialogue name is empty",
        ]
    );
    let diags = f.load().unwrap_err();
    assert_eq!(
        diags[0].label.as_deref(),
        Some("the first dialogue with this name is at line 3")
    );
}

/// A `golden: false` dialogue has no golden file: its slug may be another's, and its name may
/// be longer than a file name could be. Two dialogues that keep goldens still may not share one.
#[test]
fn only_dialogues_with_a_golden_need_a_slug_of_their_own() {
    let long = "x".repeat(300);
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}dialogues:\n  - name: 'refund: EU'\n    turns: [{{user: a}}]\n\
             \x20 - name: refund – EU\n    golden: false\n    turns: [{{user: b}}]\n\
             \x20 - name: REFUND EU\n    golden: false\n    turns: [{{user: c}}]\n\
             \x20 - name: {long}\n    golden: false\n    turns: [{{user: d}}]\n\
             \x20 - name: Refund  eu\n    golden: {{mode: similar}}\n    turns: [{{user: e}}]\n"
        ),
    )]);
    assert_eq!(
        f.errors(),
        ["s.yaml:14:11 dialogues `refund: EU` and `Refund  eu` would share the golden file `refund-eu.yaml`"]
    );
}

#[test]
fn dialogue_fields() {
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}name: support\ndialogues:\n  - name: a\n    tags: smoke\n    skip: true\n    \
             session: server\n    golden: {{mode: similar, threshold: 0.75}}\n    repeat: 5\n    \
             min_pass: 4\n    vars: {{n: 3, ok: yes, f: 1.50}}\n    turns: [{{user: hi}}]\n\
             \x20 - name: b\n    skip: flaky upstream\n    golden: false\n    tags: [x, y]\n    \
             turns: [{{user: hi}}]\n  - name: c\n    golden: {{mode: exact}}\n    repeat: 3\n    \
             turns: [{{user: hi}}]\n"
        ),
    )]);
    let s = one(&f);
    assert_eq!(s.name, "support");
    let [a, b, c] = &s.dialogues[..] else {
        panic!("three dialogues")
    };
    assert_eq!(a.tags, ["smoke"]);
    assert_eq!(a.skip.as_deref(), Some("skipped"));
    assert_eq!(a.session, SessionMode::Server);
    assert_eq!(a.golden, GoldenMode::Similar { threshold: 0.75 });
    assert_eq!((a.repeat, a.min_pass), (5, MinPass::Count(4)));
    let vars: Vec<(&str, &str)> = a
        .vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(vars, [("f", "1.50"), ("n", "3"), ("ok", "yes")]);
    assert_eq!(b.skip.as_deref(), Some("flaky upstream"));
    assert_eq!(b.golden, GoldenMode::Off);
    assert_eq!(b.tags, ["x", "y"]);
    assert_eq!(c.golden, GoldenMode::Exact);
    assert_eq!((c.repeat, c.min_pass), (3, MinPass::Count(3)));
}

#[test]
fn semantic_errors_do_not_stop_the_file() {
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint: {base_url: ftp://x, agent_id: ag, timeout: '30', rate_limit: fast}\n\
         normalize: [{pattern: '(', replace: x}]\n\
         dialogues:\n  - name: a\n    golden: {mode: similar, threshold: 1.5}\n    \
         repeat: 2\n    min_pass: 3\n    turns:\n      - user: hi\n        \
         capture: {x: '[a-'}\n        expect:\n          status: [200, 700]\n          \
         regex: ['ok', '(?P<']\n          not_regex: '*'\n          max_latency: 2 parsecs\n          \
         contains_any: []\n  - name: b\n",
    )]);
    let errs = f.errors();
    let expected = [
        "s.yaml:1:22 invalid `base_url` `ftp://x`",
        "s.yaml:1:54 invalid `timeout`: `30` has no unit: write e.g. `30s` or `30ms`",
        "s.yaml:1:72 invalid `rate_limit`: `fast` is not a rate: write e.g. `5/s` or `60/m`",
        "s.yaml:2:23 invalid regex: unclosed group",
        "s.yaml:5:40 threshold 1.5 is out of range",
        "s.yaml:7:15 `min_pass` 3 is out of range",
        "s.yaml:10:22 invalid regex: unclosed character class",
        "s.yaml:12:25 status 700 is out of range",
        "s.yaml:13:25 invalid regex: unclosed capture group name",
        "s.yaml:14:22 invalid regex: repetition operator missing expression",
        "s.yaml:15:24 invalid `max_latency`: unknown duration unit `parsecs` in `2 parsecs`: use `ms`, `s`, `m` or `h`",
        "s.yaml:16:25 `contains_any` is an empty list",
        "s.yaml:17:5 dialogue `b` has no `turns`",
    ];
    assert_eq!(errs.len(), expected.len(), "{errs:#?}");
    for (got, want) in errs.iter().zip(expected) {
        assert!(got.starts_with(want), "{got} !~ {want}");
    }
}

#[test]
fn missing_endpoint_and_structure() {
    let f = Fixture::new(&[
        (
            "a.yaml",
            "dialogues:\n  - name: x\n    turns:\n      - expect: {status: 200}\n",
        ),
        ("b.yaml", "name: b\n"),
        ("c.yaml", &format!("{EP}dialogues: []\n")),
        ("d.yaml", &format!("{EP}dialogues:\n  - turns: []\n")),
    ]);
    assert_eq!(
        f.errors(),
        [
            "a.yaml:2:5 dialogue `x` has no `base_url` and no `agent_id`",
            "a.yaml:4:9 turn 1 has no `user` message",
            "b.yaml:1:1 the suite has no `dialogues`",
            "c.yaml:2:12 `dialogues` is empty",
            "d.yaml:3:5 the dialogue has no `name`",
            "d.yaml:3:12 dialogue `(unnamed)` has no turns",
        ]
    );
}

#[test]
fn yaml_errors_and_bad_bytes() {
    let f = Fixture::new(&[
        ("a.yaml", "dialogues:\n  - name: x\n    turnz: []\n"),
        (
            "b.yaml",
            "dialogues:\n  - name: x\n    repeat: -1\n    turns: [{user: hi}]\n",
        ),
    ]);
    std::fs::write(f.dir.path().join("c.yaml"), b"name: ok\nx: caf\xe9\n").unwrap();
    let errs = f.errors();
    assert_eq!(
        errs,
        [
            // The unknown field does not hide what else is wrong with the file
            // (no endpoint); the missing `turns` it was meant to be is not echoed.
            "a.yaml:2:5 dialogue `x` has no `base_url` and no `agent_id`",
            "a.yaml:3:5 unknown field `turnz`",
            "b.yaml:3:13 expected a non-negative integer",
            "c.yaml:2:7 file is not valid UTF-8",
        ]
    );
}

#[test]
fn a_broken_config_is_reported_once_and_not_echoed() {
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "endpoint: {base_url: mock, agentid: ag}\n",
        ),
        (
            "a.yaml",
            "dialogues:\n  - name: x\n    turns: [{user: hi}]\n",
        ),
        (
            "b.yaml",
            "dialogues:\n  - name: y\n    turns: [{user: hi}]\n",
        ),
    ]);
    assert_eq!(f.errors(), ["agenttest.yaml:1:28 unknown field `agentid`"]);
}

#[test]
#[allow(clippy::invalid_regex)] // the point of the test
fn regex_messages_are_one_line() {
    let e = Regex::new("(abc").unwrap_err();
    assert_eq!(regex_message(&e), "unclosed group");
}

#[test]
fn http_defaults_and_what_its_templates_may_name() {
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  kind: http\n  base_url: http://localhost:1\n  response: {text: ''}\n\
         dialogues:\n  - name: a\n    vars: {v: x}\n    session: server\n    \
         endpoint: {body: {x: '{{v}} {{order}} {{turn}}', m: '{{message}}'}, response: {session_id: /s}}\n    \
         turns:\n      - user: hi\n        capture: {order: 'ORD-\\d+'}\n",
    )]);
    let s = one(&f);
    let e = &s.dialogues[0].endpoint;
    match &e.kind {
        EndpointKind::Http(h) => {
            assert_eq!((h.method.as_str(), h.path.as_str()), ("POST", ""));
            assert_eq!(h.response.text, "", "the whole reply");
            assert_eq!(h.response.session_id.as_deref(), Some("/s"));
            assert!(!h.stream);
            assert_eq!(h.auth_header, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn kind_fields_are_checked_where_written() {
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  kind: http\n  base_url: http://localhost:1\n  method: 'GE T'\n  \
         path: chat\n  auth_header: 'X Key'\n  params: {a: 1}\n  \
         body: {n: 1.5, ok: '{{message}}'}\n  response: {text: /t}\n\
         dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
    )]);
    assert_eq!(
        f.errors(),
        [
            "s.yaml:4:11 invalid `method` `GE T`",
            "s.yaml:5:9 `path` must start with `/`",
            "s.yaml:6:16 invalid `auth_header` `X Key`",
            "s.yaml:7:11 `params` does not apply to kind `http`",
        ]
    );
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  kind: openai\n  base_url: mock\n  model: m\n  system: hi\n  \
         system_file: p.md\n  params: [1]\ndialogues:\n  - name: a\n    turns: [{user: hi}]\n",
    )]);
    assert_eq!(
        f.errors(),
        [
            "s.yaml:6:16 `system` and `system_file` are both set",
            "s.yaml:7:11 `params` must be a mapping",
        ]
    );
}

#[test]
fn a_suite_field_used_by_some_dialogues_kind_is_kept() {
    // The suite's `model` is for its openai dialogues; the thinnest one ignores it, as it
    // would ignore a config's. Only a field that no dialogue uses is an error.
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag, model: gpt-x}\ndialogues:\n  \
         - name: t\n    turns: [{user: hi}]\n  \
         - name: o\n    endpoint: {kind: openai}\n    turns: [{user: hi}]\n",
    )]);
    let suite = one(&f);
    assert_eq!(suite.dialogues[0].endpoint.agent_id, "ag");
    assert_eq!(suite.dialogues[1].endpoint.agent_id, "gpt-x");
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag, model: gpt-x}\ndialogues:\n  \
         - name: t\n    turns: [{user: hi}]\n",
    )]);
    assert_eq!(
        f.errors(),
        ["s.yaml:1:49 `model` does not apply to kind `thinnest`, the default"]
    );
}

#[test]
fn an_inherited_field_of_another_kind_is_ignored() {
    // The config is written for thinnest suites; an openai suite below it ignores agent_id,
    // and a thinnest suite ignores the config's `model`, which it has no use for.
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "endpoint: {base_url: mock, agent_id: ag, api_key: ak_k, model: gpt-x, mock_script: m.yaml}\n",
        ),
        ("m.yaml.txt", "agents: {}\n"),
        (
            "a.yaml",
            "endpoint: {kind: openai}\ndialogues:\n  - name: a\n    turns: [{user: hi}]\n",
        ),
        (
            "b.yaml",
            "dialogues:\n  - name: b\n    turns: [{user: hi}]\n",
        ),
    ]);
    // m.yaml itself does not exist: the config's error, reported once, at its place.
    assert_eq!(
        f.errors(),
        [
            "agenttest.yaml:1:84 cannot read `mock_script` `".to_string()
                + &f.dir.path().join("m.yaml").display().to_string()
                + "`"
        ]
    );
    std::fs::rename(f.dir.path().join("m.yaml.txt"), f.dir.path().join("m.yaml")).unwrap();
    // m.yaml is now also a suite file: load the two suites by name.
    let paths = [f.dir.path().join("a.yaml"), f.dir.path().join("b.yaml")];
    let loaded = load_paths(&paths, &env(&[])).unwrap();
    let a = &loaded.suites[0].dialogues[0].endpoint;
    assert_eq!(a.kind.name(), "openai");
    assert_eq!(a.agent_id, "gpt-x");
    assert_eq!(a.mock_script, Some(f.dir.path().join("m.yaml")));
    let b = &loaded.suites[1].dialogues[0].endpoint;
    assert_eq!((b.kind.name(), b.agent_id.as_str()), ("thinnest", "ag"));

    // A URL from the flags drops the mock script, and `--agent` does not reach openai.
    let mut opts = env(&[]);
    opts.overrides.base_url = Some(BaseUrl::Url("http://127.0.0.1:9".into()));
    opts.overrides.agent_id = Some("ag_flag".into());
    let loaded = load_paths(&paths, &opts).unwrap();
    let a = &loaded.suites[0].dialogues[0].endpoint;
    assert_eq!(
        (a.agent_id.as_str(), a.mock_script.as_ref()),
        ("gpt-x", None)
    );
    assert_eq!(loaded.suites[1].dialogues[0].endpoint.agent_id, "ag_flag");
}

#[test]
fn an_error_of_the_config_found_by_every_suite_is_said_once() {
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "endpoint: {kind: openai, base_url: mock, model: m, stream: sse}\n",
        ),
        ("a.yaml", "dialogues:\n  - name: a\n    turns: [{user: hi}]\n"),
        (
            "b.yaml",
            "dialogues:\n  - name: b\n    turns: [{user: hi}]\n  - name: c\n    turns: [{user: hi}]\n",
        ),
    ]);
    assert_eq!(f.errors(), ["agenttest.yaml:1:60 invalid `stream` `sse`"]);
}

#[test]
fn the_judge_keeps_its_own_url_under_flags_and_its_rubrics_are_templates() {
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}judge: {{base_url: 'https://judge.example.test', model: j, api_key: ak_k}}\n\
             dialogues:\n  - name: a\n    vars: {{p: X}}\n    turns:\n      - user: hi\n        \
             expect: {{judge: ['Names {{{{p}}}}']}}\n"
        ),
    )]);
    let mut opts = env(&[]);
    opts.overrides = EndpointOverrides {
        base_url: Some(BaseUrl::Url("http://127.0.0.1:9".into())),
        agent_id: Some("ag_flag".into()),
        timeout: Some(Duration::from_secs(3)),
        retries: Some(0),
        rate_limit: None,
    };
    let s = f.load_with(&opts).unwrap().suites.remove(0);
    let judge = s.judge.as_ref().unwrap();
    assert_eq!(
        judge.base_url,
        BaseUrl::Url("https://judge.example.test".into())
    );
    assert_eq!(judge.agent_id, "j");
    assert_eq!((judge.timeout, judge.retries), (Duration::from_secs(3), 0));
    assert_eq!(s.dialogues[0].endpoint.agent_id, "ag_flag");

    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}judge: {{base_url: mock, model: j}}\ndialogues:\n  - name: a\n    turns:\n      \
             - user: hi\n        expect: {{judge: 'Names {{{{p}}}}'}}\n"
        ),
    )]);
    assert_eq!(f.errors(), ["s.yaml:7:32 unknown variable `{{p}}`"]);
}

#[test]
fn a_judge_expectation_inherited_from_the_config_needs_a_judge_too() {
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "defaults:\n  expect: {judge: Is polite}\n",
        ),
        (
            "s.yaml",
            &format!("{EP}dialogues:\n  - name: a\n    turns:\n      - user: hi\n"),
        ),
    ]);
    // Pointed at the turn that inherits it, in the suite that lacks a judge.
    assert_eq!(
        f.errors(),
        ["s.yaml:5:9 `judge` needs a judge, and this suite has none"]
    );
}

/// A rubric that states nothing is refused at its own place, as an empty list is: it would
/// pass every reply. Written empty or blank, alone, in a flow list or a block list.
#[test]
fn an_empty_or_blank_rubric_is_refused_where_it_is() {
    let judged = |expect: &str| {
        format!(
            "{EP}judge: {{base_url: mock, model: j}}\ndialogues:\n  - name: a\n    turns:\n      \
             - user: hi\n{expect}"
        )
    };
    let cases = [
        (
            "        expect: {judge: ''}\n",
            "s.yaml:7:25 a `judge` rubric is empty",
        ),
        (
            "        expect: {judge: ['   ']}\n",
            "s.yaml:7:26 a `judge` rubric is blank",
        ),
        (
            "        expect:\n          judge:\n            - Is polite\n            - \"\\t\"\n",
            "s.yaml:10:15 a `judge` rubric is blank",
        ),
    ];
    for (expect, error) in cases {
        let f = Fixture::new(&[("s.yaml", &judged(expect))]);
        assert_eq!(f.errors(), [error], "{expect}");
    }
    // In the defaults too, once, not per turn.
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}judge: {{base_url: mock, model: j}}\ndefaults:\n  expect: {{judge: ' '}}\n\
             dialogues:\n  - name: a\n    turns: [{{user: hi}}, {{user: bye}}]\n"
        ),
    )]);
    assert_eq!(f.errors(), ["s.yaml:4:19 a `judge` rubric is blank"]);
}

/// Each rubric of a `judge:` list is checked on its own and fails at its own item; a lone
/// rubric at its key. A list where the suite has no judge is refused once, at the key.
#[test]
fn each_rubric_of_a_list_points_at_its_item() {
    let suite = |judge: &str| {
        format!(
            "{EP}{judge}dialogues:\n  - name: a\n    turns:\n      - user: hi\n        \
             expect:\n          contains: x\n          judge: [Is polite, Names it]\n      \
             - user: bye\n        expect:\n          judge:\n            - Says bye\n            \
             - Is short\n      - user: again\n        expect: {{judge: Is kind}}\n"
        )
    };
    let f = Fixture::new(&[("s.yaml", &suite("judge: {base_url: mock, model: j}\n"))]);
    let s = one(&f);
    let turns = &s.dialogues[0].turns;
    let rubrics = |t: usize| -> Vec<(String, Span)> {
        turns[t]
            .expect
            .iter()
            .filter_map(|e| match &*e.kind {
                ExpectKind::Judge(list) => Some((list.join("|"), e.span)),
                _ => None,
            })
            .collect()
    };
    let at = |text: &str, line, column| (text.to_string(), Span::new(line, column));
    assert_eq!(rubrics(0), [at("Is polite", 9, 19), at("Names it", 9, 30)]);
    assert_eq!(rubrics(1), [at("Says bye", 13, 15), at("Is short", 14, 15)]);
    assert_eq!(
        rubrics(2),
        [at("Is kind", 16, 18)],
        "a lone rubric: its key"
    );
    assert_eq!(turns[0].expect[0].kind.key(), "contains");

    // Without the `judge:` line, one line higher.
    let f = Fixture::new(&[("s.yaml", &suite(""))]);
    assert_eq!(
        f.errors(),
        [
            "s.yaml:8:11 `judge` needs a judge, and this suite has none",
            "s.yaml:11:11 `judge` needs a judge, and this suite has none",
            "s.yaml:15:18 `judge` needs a judge, and this suite has none",
        ]
    );
}

/// A `judge:` list in the defaults is inherited rubric by rubric (each at its item), and a
/// turn's own `judge:` replaces the whole list.
#[test]
fn a_default_rubric_list_is_inherited_whole_or_replaced_whole() {
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}judge: {{base_url: mock, model: j}}\ndefaults:\n  expect: {{judge: [A, B]}}\n\
             dialogues:\n  - name: a\n    turns:\n      - user: hi\n      - user: bye\n        \
             expect: {{judge: C}}\n"
        ),
    )]);
    let s = one(&f);
    let rubrics = |t: usize| -> Vec<(String, u32, u32)> {
        s.dialogues[0].turns[t]
            .expect
            .iter()
            .filter_map(|e| match &*e.kind {
                ExpectKind::Judge(list) => Some((list.join("|"), e.span.line, e.span.column)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        rubrics(0),
        [("A".to_string(), 4, 20), ("B".to_string(), 4, 23)]
    );
    assert_eq!(rubrics(1), [("C".to_string(), 10, 18)]);
}

#[test]
fn an_empty_config_is_a_config_that_says_nothing() {
    for text in ["", "\n  \n", "# only a comment\n"] {
        let f = Fixture::new(&[
            ("agenttest.yaml", text),
            (
                "s.yaml",
                &format!("{EP}dialogues:\n  - name: a\n    turns: [{{user: hi}}]\n"),
            ),
        ]);
        assert_eq!(one(&f).dialogues[0].endpoint.agent_id, "ag", "{text:?}");
    }
}

#[test]
fn a_header_value_from_the_environment_is_checked_but_never_shown() {
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  base_url: mock\n  agent_id: ag\n  headers: {X-Token: 'Bearer ${TOKEN}'}\n\
         dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
    )]);
    let diags = f
        .load_with(&env(&[("TOKEN", "sekrit\r\nX-Evil: 1")]))
        .unwrap_err();
    let text = crate::diag::render_all(&diags, false);
    assert!(
        text.contains("the value of header `X-Token` holds a line break"),
        "{text}"
    );
    assert!(text.contains("it comes from the environment"), "{text}");
    assert!(!text.contains("sekrit"), "{text}");
}

#[test]
fn a_default_from_the_config_names_the_row_that_lacks_its_var() {
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "defaults:\n  expect: {not_contains: '{{lang}}?'}\n",
        ),
        (
            "s.yaml",
            &format!(
                "{EP}dialogues:\n  - name: a\n    matrix: [{{lang: fr}}, {{tone: warm}}]\n    \
                 turns: [{{user: hi}}]\n"
            ),
        ),
    ]);
    let diags = f.load().expect_err("a row lacks `lang`");
    assert_eq!(diags.len(), 1, "{}", crate::diag::render_all(&diags, false));
    let d = &diags[0];
    assert_eq!(d.path, f.dir.path().join("s.yaml"));
    assert_eq!(d.span, Span::new(4, 26));
    assert_eq!(d.message, "this matrix row has no `lang`");
    let label = d.label.as_deref().unwrap_or_default();
    assert!(label.ends_with("agenttest.yaml:2:26"), "{label}");
}

#[test]
fn a_broken_matrix_says_only_what_is_wrong_with_it() {
    // A bad key drops its row; the row lacking `{{tone}}` then is an echo, not told.
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}dialogues:\n  - name: a\n    matrix: [{{lang: fr, tone: x}}, {{lang: de, 'a b': 1}}]\n    \
             turns: [{{user: '{{{{lang}}}} {{{{tone}}}}'}}]\n  \
             - name: b\n    matrix: []\n    turns: [{{user: '{{{{lang}}}}'}}]\n"
        ),
    )]);
    assert_eq!(
        f.errors(),
        [
            "s.yaml:4:46 `a b` is not a valid var name",
            "s.yaml:7:13 `matrix` is empty",
        ]
    );
}

#[test]
fn a_matrix_endpoint_may_name_the_vars_every_row_has() {
    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  kind: http\n  base_url: http://localhost:1\n  response: {text: ''}\n\
         dialogues:\n  - name: a\n    matrix: [{lang: fr, tone: warm}, {lang: de}]\n    \
         endpoint: {body: {l: '{{lang}}', t: '{{tone}}', m: '{{message}}'}}\n    turns: [{user: hi}]\n",
    )]);
    let errors = f.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("s.yaml:8:42 ") && errors[0].contains("`{{tone}}`"),
        "{errors:?}"
    );

    let f = Fixture::new(&[(
        "s.yaml",
        "endpoint:\n  kind: http\n  base_url: http://localhost:1\n  response: {text: ''}\n\
         dialogues:\n  - name: a\n    vars: {tone: plain}\n    matrix: [{lang: fr, tone: warm}, {lang: de}]\n    \
         endpoint: {body: {l: '{{lang}}', t: '{{tone}}', m: '{{message}}'}}\n    turns: [{user: hi}]\n",
    )]);
    let s = one(&f);
    assert_eq!(s.dialogues.len(), 2);
    // One endpoint for every row, not a copy each.
    assert!(Arc::ptr_eq(
        &s.dialogues[0].endpoint,
        &s.dialogues[1].endpoint
    ));
    assert_eq!(s.dialogues[1].vars["tone"], "plain");
}

/// Only a file bigger than its share of the cores' work is cut into pieces: files of equal
/// size are parsed one per core already; one big file among small ones would keep a core
/// busy alone.
#[test]
fn only_a_file_that_outweighs_its_share_is_cut() {
    let threads = rayon::current_num_threads() as u64;
    let sized = |files: &[(&str, usize)]| {
        let texts: Vec<(String, String)> = files
            .iter()
            .map(|(name, n)| (name.to_string(), "x".repeat(*n)))
            .collect();
        let refs: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let fx = Fixture::new(&refs);
        let paths: Vec<PathBuf> = files.iter().map(|(n, _)| fx.dir.path().join(n)).collect();
        cut_above(&paths)
    };
    let equal = sized(&[("a.yaml", 1000), ("b.yaml", 1000)]);
    assert_eq!(equal, 2000 / threads);
    if threads <= 2 {
        assert!(1000 <= equal, "two equal files are not cut");
    }
    let lopsided = sized(&[("big.yaml", 9000), ("small.yaml", 100)]);
    assert_eq!(lopsided, 9100 / threads);
    if threads >= 2 {
        assert!(9000 > lopsided, "the big file is cut");
    }
}

/// A walked file that a config names as `mock_script:` is no suite, even when the config has
/// an error of its own: only that error is said, not the script's as a suite.
#[test]
fn a_script_named_by_a_broken_config_is_no_suite() {
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "endpoint: {base_url: mock, mock_script: m.yaml, agent_id: ag, timeout: forever}\n",
        ),
        ("m.yaml", "agents: {}\n"),
        (
            "s.yaml",
            "dialogues:\n  - name: a\n    turns: [{user: hi}]\n",
        ),
    ]);
    let errors = f.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("agenttest.yaml:1:"), "{errors:#?}");
    assert!(errors[0].contains("timeout"), "{errors:#?}");

    std::fs::write(
        f.dir.path().join("agenttest.yaml"),
        "endpoint: {base_url: mock, mock_script: m.yaml, agent_id: ag}\n",
    )
    .unwrap();
    let loaded = f.load().unwrap();
    assert_eq!(loaded.suites.len(), 1);
    assert_eq!(loaded.suites[0].name, "s");
}

/// A file that names a `mock_script:` itself is a suite, named as a script or not: a script
/// has no `endpoint:`. Its errors are said, and two suites naming each other both load.
#[test]
fn a_suite_named_as_a_script_stays_a_suite() {
    let suite = |script: &str| {
        format!(
            "endpoint: {{base_url: mock, mock_script: {script}, agent_id: ag}}\n\
             dialogues:\n  - name: d\n    turns: [{{user: hi}}]\n"
        )
    };
    let f = Fixture::new(&[("a.yaml", &suite("b.yaml")), ("b.yaml", &suite("a.yaml"))]);
    let names: Vec<String> = f
        .load()
        .unwrap()
        .suites
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["a", "b"]);

    let f = Fixture::new(&[(
        "a.yaml",
        "endpoint: {base_url: 'http://127.0.0.1:9', agent_id: ag, api_key: ak_k}\n\
         judge: {mock_script: a.yaml, model: m}\n\
         dialogues:\n  - name: d\n    turns: [{user: hi}]\n",
    )]);
    let errors = f.errors();
    assert!(
        errors.contains(&"a.yaml:2:22 `mock_script` needs `base_url: mock`".to_string()),
        "{errors:#?}"
    );
}

#[test]
fn a_lone_tag_is_read_as_written() {
    // `tags: on` reached the loader as the boolean true, and selected with `--tag true`.
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}dialogues:\n  - name: a\n    tags: on\n    turns: [{{user: hi}}]\n  \
             - name: b\n    tags: 1.50   # a version\n    turns: [{{user: hi}}]\n  \
             - name: c\n    tags: [off, 007]\n    turns: [{{user: hi}}]\n  \
             - name: d\n    turns: [{{user: hi}}]\n"
        ),
    )]);
    let s = one(&f);
    let tags: Vec<&Vec<String>> = s.dialogues.iter().map(|d| &d.tags).collect();
    assert_eq!(
        tags,
        [
            &vec!["on".to_string()],
            &vec!["1.50".to_string()],
            &vec!["off".to_string(), "007".to_string()],
            &vec![]
        ]
    );
}

#[test]
fn a_lone_number_or_boolean_is_checked_as_written() {
    // A scalar visitor sees `9.90` as 9.9 and `yes` as true: the text checked must be what
    // the suite wrote, alone as in a list, in flow and block style, before a comment.
    let f = Fixture::new(&[
        ("agenttest.yaml", "defaults:\n  expect: {not_regex: 1e3}\n"),
        (
            "s.yaml",
            &format!(
                "{EP}dialogues:\n  - name: a\n    turns:\n      - user: hi\n        \
                 expect: {{contains: 9.90, not_contains: yes}}\n      - user: hi\n        \
                 expect:\n          contains: 010   # the code\n          regex: 0x10\n          \
                 contains_any: [9.90, on]\n"
            ),
        ),
    ]);
    let s = one(&f);
    let kinds = |t: usize| -> Vec<String> {
        s.dialogues[0].turns[t]
            .expect
            .iter()
            .map(|e| format!("{:?}", e.kind))
            .collect()
    };
    assert_eq!(
        kinds(0),
        [
            "Contains([\"9.90\"])",
            "NotContains([\"yes\"])",
            "NotRegex([Pattern(Regex(\"1e3\"))])"
        ]
    );
    assert_eq!(
        kinds(1),
        [
            "Contains([\"010\"])",
            "ContainsAny([\"9.90\", \"on\"])",
            "Regex([Pattern(Regex(\"0x10\"))])",
            "NotRegex([Pattern(Regex(\"1e3\"))])"
        ]
    );
    // At an alias the value is written elsewhere: never the alias's own text.
    let f = Fixture::new(&[(
        "s.yaml",
        &format!(
            "{EP}dialogues:\n  - name: a\n    turns:\n      - user: hi\n        expect: &ok\n          \
             contains: 9.90\n      - user: hi\n        expect: *ok\n      - user: hi\n        \
             expect:\n          <<: *ok\n          status: 200\n"
        ),
    )]);
    let s = one(&f);
    for turn in &s.dialogues[0].turns {
        let kinds: Vec<String> = turn
            .expect
            .iter()
            .map(|e| format!("{:?}", e.kind))
            .collect();
        assert!(
            kinds.iter().any(|k| k.starts_with("Contains([\"9.9")),
            "{kinds:?}"
        );
        assert!(!kinds.iter().any(|k| k.contains('*')), "{kinds:?}");
    }
}

#[test]
fn a_configs_unknown_field_does_not_hide_its_other_errors() {
    // As in a suite: the misspelt field is one error, the unset variable beside it another.
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "endpoint:\n  base_url: mock\n  agent_id: ag\n  api_key: ${UNSET_XYZ_KEY}\n  retry: 2\n",
        ),
        ("s.yaml", "dialogues: [{name: d, turns: [{user: hi}]}]\n"),
    ]);
    let errors = f.errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0]
            .starts_with("agenttest.yaml:4:12 environment variable `UNSET_XYZ_KEY` is not set"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("agenttest.yaml:5:3 unknown field `retry`"),
        "{errors:?}"
    );
    // A misspelling of a field the others need is only its own error: `base_url` is not
    // "missing" as well.
    let f = Fixture::new(&[
        (
            "agenttest.yaml",
            "endpoint:\n  base_ur: mock\n  agent_id: ag\n",
        ),
        ("s.yaml", "dialogues: [{name: d, turns: [{user: hi}]}]\n"),
    ]);
    let errors = f.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
}
