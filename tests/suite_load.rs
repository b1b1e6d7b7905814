//! Loading the good suites under `tests/fixtures/suites/` through the public API and checking
//! the model they become: discovery, the shared `agenttest.yaml`, merged endpoints, env vars,
//! defaults, spans, expectations and captures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agenttest::diag::{render_all, Span};
use agenttest::suite::discover::discover;
use agenttest::suite::template::expand_template;
use agenttest::suite::{
    load_paths, slug, BaseUrl, Dialogue, EndpointKind, EndpointOverrides, ExpectKind, FactSpec,
    GoldenMode, HeaderValue, HttpSpec, LoadOptions, Loaded, MinPass, OpenAiSpec, Pointers,
    SessionMode, Suite,
};
use secrecy::ExposeSecret;
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/suites")
}

fn opts() -> LoadOptions {
    let env: BTreeMap<&str, &str> = [
        ("AGENTTEST_FIXTURE_KEY", "ak_test_123"),
        ("TEAM", "support"),
    ]
    .into_iter()
    .collect();
    LoadOptions {
        env: Arc::new(move |name| env.get(name).map(|v| v.to_string())),
        overrides: EndpointOverrides::default(),
        read: Default::default(),
    }
}

fn load(opts: &LoadOptions) -> Loaded {
    match load_paths(&[fixtures()], opts) {
        Ok(l) => l,
        Err(d) => panic!("{}", render_all(&d, false)),
    }
}

/// The suite of `file`, relative to the fixtures.
fn suite<'a>(loaded: &'a Loaded, file: &str) -> &'a Suite {
    loaded
        .suites
        .iter()
        .find(|s| s.path == fixtures().join(file))
        .unwrap_or_else(|| panic!("no suite {file}"))
}

fn dialogue<'a>(suite: &'a Suite, name: &str) -> &'a Dialogue {
    suite
        .dialogues
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no dialogue {name}"))
}

fn keys(d: &Dialogue, turn: usize) -> Vec<&'static str> {
    d.turns[turn].expect.iter().map(|e| e.kind.key()).collect()
}

#[test]
fn discovers_suites_in_sorted_order_skipping_config_hidden_and_goldens() {
    let found = discover(&[fixtures()]).unwrap();
    let rel: Vec<String> = found
        .iter()
        .map(|p| p.strip_prefix(fixtures()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        rel,
        [
            "billing/invoices.yml",
            "judging/plain.yaml",
            "judging/support.yaml",
            "kinds/http.yaml",
            "kinds/openai.yaml",
            "matrix/languages.yaml",
            "support.yaml"
        ]
    );

    let loaded = load(&opts());
    let names: Vec<&str> = loaded.suites.iter().map(|s| s.name.as_str()).collect();
    // `invoices` has no `name:`: the file's stem.
    assert_eq!(
        names,
        [
            "invoices",
            "plain",
            "support",
            "http",
            "openai",
            "languages",
            "support"
        ]
    );
    assert_eq!(loaded.suites[6].path, fixtures().join("support.yaml"));
    assert_eq!(
        loaded.suites[6].golden_dir,
        fixtures().join("support.golden")
    );
    assert_eq!(
        loaded.suites[0].golden_dir,
        fixtures().join("billing/invoices.golden")
    );
}

#[test]
fn endpoints_merge_config_suite_dialogue() {
    let loaded = load(&opts());
    let support = suite(&loaded, "support.yaml");
    let hours = &dialogue(support, "business hours").endpoint;
    // From agenttest.yaml, trailing slash dropped.
    assert_eq!(
        hours.base_url,
        BaseUrl::Url("https://api.example.test".into())
    );
    assert_eq!(hours.timeout, Duration::from_secs(10));
    assert_eq!(
        hours.api_key.as_ref().unwrap().expose_secret(),
        "ak_test_123"
    );
    // From the suite.
    assert_eq!(hours.agent_id, "ag_support");
    assert_eq!(hours.retries, 3);
    assert_eq!(hours.rate_limit, Some(5.0));
    // Headers merge by name, case-insensitively; one taken from the environment is secret.
    let headers: Vec<(&str, String)> = hours
        .headers
        .iter()
        .map(|h| match &h.value {
            HeaderValue::Plain(v) => (h.name.as_str(), v.clone()),
            HeaderValue::Secret(v) => (h.name.as_str(), format!("secret:{}", v.expose_secret())),
        })
        .collect();
    assert_eq!(
        headers,
        [
            ("X-Team", "secret:support".into()),
            ("x-env", "prod".into())
        ]
    );
    assert_eq!(hours.secrets().len(), 2);

    // The dialogue's own api_key beats the config's.
    let wrong = &dialogue(support, "wrong key is refused").endpoint;
    assert_eq!(
        wrong.api_key.as_ref().unwrap().expose_secret(),
        "ak_not_a_key"
    );

    let invoices = &suite(&loaded, "billing/invoices.yml").dialogues[0].endpoint;
    assert_eq!(invoices.base_url, BaseUrl::Mock);
    assert_eq!(invoices.agent_id, "ag_default");
    assert_eq!(invoices.timeout, Duration::from_secs(2));
    assert_eq!(invoices.retries, 2);
    assert_eq!(invoices.rate_limit, None);
}

#[test]
fn overrides_beat_every_file() {
    let mut o = opts();
    o.overrides = EndpointOverrides {
        base_url: Some(BaseUrl::Url("http://127.0.0.1:9".into())),
        agent_id: Some("ag_flag".into()),
        timeout: Some(Duration::from_millis(500)),
        retries: Some(0),
        rate_limit: Some(1.0),
    };
    let loaded = load(&o);
    for suite in &loaded.suites {
        for d in &suite.dialogues {
            let e = &d.endpoint;
            assert_eq!(e.base_url, BaseUrl::Url("http://127.0.0.1:9".into()));
            // `--agent` is ignored by the kinds that have no agent id.
            let agent = match e.kind {
                EndpointKind::Thinnest => "ag_flag",
                EndpointKind::OpenAi(ref spec) => spec.model.as_str(),
                EndpointKind::Http(_) => "",
            };
            assert_eq!(e.agent_id, agent, "{}", d.name);
            // A mock script goes only with `base_url: mock`.
            assert_eq!(e.mock_script, None);
            assert_eq!(e.timeout, Duration::from_millis(500));
            assert_eq!(e.retries, 0);
            assert_eq!(e.rate_limit, Some(1.0));
        }
    }
}

#[test]
fn an_unset_env_var_is_an_error_in_the_config() {
    let o = LoadOptions {
        env: Arc::new(|name| (name == "TEAM").then(|| "support".to_string())),
        overrides: EndpointOverrides::default(),
        read: Default::default(),
    };
    let diags = load_paths(&[fixtures()], &o).unwrap_err();
    assert_eq!(diags.len(), 1, "{}", render_all(&diags, false));
    assert_eq!(diags[0].path, fixtures().join("agenttest.yaml"));
    assert_eq!(diags[0].span, Span::new(5, 12));
    assert!(diags[0].message.contains("AGENTTEST_FIXTURE_KEY"));
}

#[test]
fn dialogues_turns_and_spans() {
    let loaded = load(&opts());
    let support = suite(&loaded, "support.yaml");
    let names: Vec<&str> = support.dialogues.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "business hours",
            "order follow-up",
            "wrong key is refused",
            "slow upstream"
        ]
    );
    let hours = dialogue(support, "business hours");
    assert_eq!(hours.span, Span::new(12, 5));
    assert_eq!(hours.tags, ["smoke"]);
    assert_eq!(hours.turns[0].span, Span::new(15, 9));
    assert_eq!(hours.turns[0].user, "What are your business hours?");
    assert_eq!(hours.turns[1].span, Span::new(20, 9));
    assert_eq!(hours.session, SessionMode::Fresh);
    assert_eq!(hours.golden, GoldenMode::Exact);

    let slow = dialogue(support, "slow upstream");
    assert_eq!(
        slow.skip.as_deref(),
        Some("upstream outage, see ticket 123")
    );
    assert_eq!(
        dialogue(support, "wrong key is refused").golden,
        GoldenMode::Off
    );

    let inv = &suite(&loaded, "billing/invoices.yml").dialogues[0];
    assert_eq!(inv.session, SessionMode::Server);
    assert_eq!(inv.golden, GoldenMode::Similar { threshold: 0.8 });
    assert_eq!((inv.repeat, inv.min_pass), (3, MinPass::Count(2)));
}

#[test]
fn expectations_defaults_and_their_spans() {
    let loaded = load(&opts());
    let support = suite(&loaded, "support.yaml");
    let hours = dialogue(support, "business hours");
    // status from agenttest.yaml, max_tokens from the suite (replaced by the turn's own).
    assert_eq!(
        keys(hours, 0),
        ["status", "contains", "regex", "max_tokens"]
    );
    let t0 = &hours.turns[0].expect;
    assert!(matches!(&*t0[0].kind, ExpectKind::Status(s) if s == &[200]));
    // A default from agenttest.yaml points at the turn that inherits it.
    assert_eq!(t0[0].span, hours.turns[0].span);
    match &*t0[1].kind {
        ExpectKind::Contains(v) => assert_eq!(v, &["Monday", "9 AM"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(t0[1].span, Span::new(17, 11));
    match &*t0[2].kind {
        ExpectKind::Regex(r) => assert!(r[0].is_match("open 9-5 est")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(*t0[3].kind, ExpectKind::MaxTokens(120)));
    assert_eq!(t0[3].span, Span::new(19, 11));

    // Turn 2 inherits the suite's max_tokens: its span is in the suite's defaults.
    assert_eq!(
        keys(hours, 1),
        ["status", "contains_any", "not_contains", "max_tokens"]
    );
    let t1 = &hours.turns[1].expect;
    assert!(matches!(*t1[3].kind, ExpectKind::MaxTokens(300)));
    assert_eq!(t1[3].span, Span::new(8, 12));
    // A lone string where a list is accepted.
    match &*t1[2].kind {
        ExpectKind::NotContains(v) => assert_eq!(v, &["I don't know"]),
        other => panic!("{other:?}"),
    }

    let wrong = dialogue(support, "wrong key is refused");
    assert!(matches!(&*wrong.turns[0].expect[0].kind, ExpectKind::Status(s) if s == &[401]));

    let inv = &suite(&loaded, "billing/invoices.yml").dialogues[0].turns[0].expect;
    let kinds: Vec<&str> = inv.iter().map(|e| e.kind.key()).collect();
    assert_eq!(kinds, ["status", "not_regex", "equals"]);
    assert!(matches!(&*inv[0].kind, ExpectKind::Status(s) if s == &[200, 202]));
    assert!(matches!(&*inv[1].kind, ExpectKind::NotRegex(r) if r.len() == 2));
    assert!(matches!(&*inv[2].kind, ExpectKind::Equals(s) if s == "Done."));
}

#[test]
fn captures_vars_templates_and_normalize() {
    let loaded = load(&opts());
    let support = suite(&loaded, "support.yaml");
    let order = dialogue(support, "order follow-up");
    assert_eq!(
        order.vars.get("product").map(String::as_str),
        Some("Enterprise")
    );
    let cap = &order.turns[0].capture[0];
    assert_eq!(cap.name, "order");
    assert_eq!(cap.span, Span::new(28, 19));
    assert_eq!(
        cap.pattern.find("it is ORD-42 now").map(|m| m.as_str()),
        Some("ORD-42")
    );
    let t1 = &order.turns[1];
    assert_eq!(t1.user, "Has {{order}} shipped?");
    let kinds: Vec<&str> = t1.expect.iter().map(|e| e.kind.key()).collect();
    assert_eq!(kinds, ["status", "contains", "max_tokens", "max_latency"]);
    assert!(
        matches!(*t1.expect[3].kind, ExpectKind::MaxLatency(d) if d == Duration::from_millis(800))
    );

    let mut values = order.vars.clone();
    values.insert("order".into(), "ORD-42".into());
    assert_eq!(
        expand_template(&order.turns[0].user, &values),
        "Where is my Enterprise order?"
    );
    assert_eq!(expand_template(&t1.user, &values), "Has ORD-42 shipped?");

    // Config rules first, then the suite's.
    let rules: Vec<&str> = support
        .normalize
        .iter()
        .map(|r| r.pattern.as_str())
        .collect();
    assert_eq!(rules, [r"\d{4}-\d{2}-\d{2}", r"\bORD-\d+\b"]);
    assert_eq!(support.normalize[1].replace, "<ORDER>");
    assert_eq!(suite(&loaded, "billing/invoices.yml").normalize.len(), 1);
}

#[test]
fn the_same_suite_named_twice_is_loaded_once() {
    let paths = [
        fixtures().join("support.yaml"),
        fixtures(),
        fixtures().join("./support.yaml"),
    ];
    let loaded = load_paths(&paths, &opts()).unwrap();
    let names: Vec<&str> = loaded.suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "invoices",
            "plain",
            "support",
            "http",
            "openai",
            "languages",
            "support"
        ]
    );
}

fn openai(d: &Dialogue) -> &OpenAiSpec {
    match &d.endpoint.kind {
        EndpointKind::OpenAi(spec) => spec,
        other => panic!("{}: kind {}", d.name, other.name()),
    }
}

fn http(d: &Dialogue) -> &HttpSpec {
    match &d.endpoint.kind {
        EndpointKind::Http(spec) => spec,
        other => panic!("{}: kind {}", d.name, other.name()),
    }
}

#[test]
fn openai_endpoints() {
    let loaded = load(&opts());
    let s = suite(&loaded, "kinds/openai.yaml");
    let hours = dialogue(s, "hours");
    let e = &hours.endpoint;
    assert_eq!(e.kind.name(), "openai");
    assert_eq!(e.base_url, BaseUrl::Mock);
    // Relative to the suite file, which names it.
    assert_eq!(
        e.mock_script.as_deref(),
        Some(fixtures().join("kinds/../../mock/basic.yaml").as_path())
    );
    assert!(e.mock_script.as_ref().unwrap().is_file());
    // The model is whom the requests are for; the config's agent_id is ignored.
    assert_eq!(e.agent_id, "ag_support");
    // Common fields still come from agenttest.yaml.
    assert_eq!(e.api_key.as_ref().unwrap().expose_secret(), "ak_test_123");
    assert_eq!(e.timeout, Duration::from_secs(10));
    let spec = openai(hours);
    assert_eq!(
        spec,
        &OpenAiSpec {
            model: "ag_support".into(),
            system: Some("You are the support agent of Lumen. Answer in one sentence.\n".into()),
            params: json!({"temperature": 0.2, "seed": 7})
                .as_object()
                .unwrap()
                .clone(),
            stream: true,
        }
    );
    let t0 = &hours.turns[0].expect;
    assert_eq!(
        t0.iter().map(|e| e.kind.key()).collect::<Vec<_>>(),
        ["status", "contains", "max_first_token"]
    );
    assert!(matches!(*t0[2].kind, ExpectKind::MaxFirstToken(d) if d == Duration::from_secs(2)));
    assert_eq!(t0[2].span, Span::new(15, 18));

    // The dialogue's own fields over the suite's: params key by key, system over system_file.
    let other = dialogue(s, "another model");
    assert_eq!(other.endpoint.agent_id, "ag_other");
    assert_eq!(
        openai(other),
        &OpenAiSpec {
            model: "ag_other".into(),
            system: Some("Be brief.".into()),
            params: json!({"temperature": 0, "seed": 7, "max_tokens": 50})
                .as_object()
                .unwrap()
                .clone(),
            stream: false,
        }
    );
}

#[test]
fn http_endpoints() {
    let loaded = load(&opts());
    let s = suite(&loaded, "kinds/http.yaml");
    let server = dialogue(s, "server session");
    let e = &server.endpoint;
    assert_eq!(e.kind.name(), "http");
    assert_eq!(e.base_url, BaseUrl::Url("http://localhost:8000".into()));
    assert_eq!(e.agent_id, "", "the config's agent_id is ignored");
    assert_eq!(server.session, SessionMode::Server);
    let pointers = Pointers {
        text: "/output/text".into(),
        session_id: Some("/conversation".into()),
        input_tokens: Some("/usage/in".into()),
        output_tokens: Some("/usage/out".into()),
        total_tokens: Some("/usage/total".into()),
        error: Some("/error/message".into()),
    };
    assert_eq!(
        http(server),
        &HttpSpec {
            method: "PUT".into(),
            path: "/api/chat/{{session_id}}".into(),
            body: Some(json!({
                "input": "{{message}}",
                "turn": "{{turn}}",
                "history": "{{history}}",
                "meta": {"product": "{{product}}", "n": 3, "ok": true, "none": null, "list": ["a", 1.5]},
            })),
            auth_header: Some("X-API-Key".into()),
            response: pointers.clone(),
            stream: true,
        }
    );

    // A body is replaced whole; the pointers merge one by one.
    let plain = http(dialogue(s, "plain reply"));
    assert_eq!(plain.body, Some(json!({"q": "{{message}}"})));
    assert_eq!(
        plain.response,
        Pointers {
            text: "/reply".into(),
            ..pointers
        }
    );
    assert_eq!(plain.method, "PUT");
}

#[test]
fn judges_facts_golden_modes_and_the_baseline_gate() {
    let loaded = load(&opts());
    // The config's judge: kind openai, temperature 0 by default, its own timeout.
    let plain = suite(&loaded, "judging/plain.yaml");
    let judge = plain.judge.as_ref().expect("the config's judge");
    assert_eq!(judge.base_url, BaseUrl::Mock);
    assert_eq!(judge.agent_id, "judge-model");
    assert_eq!(judge.timeout, Duration::from_secs(20));
    assert_eq!(
        judge.mock_script.as_deref(),
        Some(fixtures().join("judging/../../mock/basic.yaml").as_path())
    );
    assert_eq!(
        judge.api_key.as_ref().unwrap().expose_secret(),
        "ak_test_judge"
    );
    match &judge.kind {
        EndpointKind::OpenAi(spec) => {
            assert_eq!(spec.model, "judge-model");
            assert_eq!(
                serde_json::Value::Object(spec.params.clone()),
                json!({"seed": 1, "temperature": 0})
            );
        }
        other => panic!("{other:?}"),
    }
    let hours = &plain.dialogues[0].turns[0].expect;
    assert!(matches!(&*hours[0].kind, ExpectKind::Judge(r) if r == &["States the opening hours"]));

    // The suite's block over the config's, field by field.
    let s = suite(&loaded, "judging/support.yaml");
    let judge = s.judge.as_ref().expect("the merged judge");
    assert_eq!(judge.timeout, Duration::from_secs(5));
    assert_eq!(judge.base_url, BaseUrl::Mock);
    match &judge.kind {
        EndpointKind::OpenAi(spec) => assert_eq!(
            serde_json::Value::Object(spec.params.clone()),
            json!({"seed": 1, "temperature": 0.5})
        ),
        other => panic!("{other:?}"),
    }
    // Suites without a judge have none.
    assert!(suite(&loaded, "support.yaml").judge.is_none());

    let by_meaning = dialogue(s, "hours by meaning");
    assert_eq!(by_meaning.golden, GoldenMode::Facts { strict: true });
    assert_eq!(
        (by_meaning.repeat, by_meaning.min_pass),
        (20, MinPass::Baseline)
    );
    assert_eq!(by_meaning.alpha, Some(0.05));
    let t0 = &by_meaning.turns[0].expect;
    assert_eq!(
        t0.iter().map(|e| e.kind.key()).collect::<Vec<_>>(),
        ["facts", "not_facts"]
    );
    let fact = |kind: &str, value: &str, unit: Option<&str>, line, column| {
        FactSpec::new(kind, value, unit, Span::new(line, column)).expect("a readable spec")
    };
    match &*t0[0].kind {
        ExpectKind::Facts(f) => {
            assert_eq!(
                f,
                &[
                    fact("time", "09:00", None, 13, 15),
                    fact("number", "30", Some("day"), 14, 15),
                    fact("money", "99 USD", None, 16, 15),
                    fact("percent", "15", None, 17, 15),
                    fact("date", "2026-12-24", None, 18, 15),
                ]
            );
            // Each is kept as the fact extractor reads it, for every turn to check.
            let read: Vec<String> = f.iter().map(|s| s.fact.to_string()).collect();
            assert_eq!(
                read,
                [
                    "time 09:00",
                    "number 30 day",
                    "money 99 USD",
                    "percent 15",
                    "date 2026-12-24"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&*t0[1].kind, ExpectKind::NotFacts(f) if f == &[fact("time", "10:00", None, 20, 15)])
    );

    let judged = dialogue(s, "judged golden");
    assert_eq!(judged.golden, GoldenMode::Judge);
    assert_eq!((judged.min_pass, judged.alpha), (MinPass::Count(1), None));
    // A `judge:` list is one expectation per rubric, each at its own item.
    let rubrics: Vec<(&[String], Span)> = judged.turns[0]
        .expect
        .iter()
        .filter_map(|e| match &*e.kind {
            ExpectKind::Judge(r) => Some((r.as_slice(), e.span)),
            _ => None,
        })
        .collect();
    assert_eq!(
        rubrics,
        [
            (&["Is polite".to_string()][..], Span::new(25, 26)),
            (&["Names {{product}}".to_string()][..], Span::new(25, 37)),
        ]
    );
    assert_eq!(
        dialogue(s, "loose facts").golden,
        GoldenMode::Facts { strict: false }
    );
}

/// The vars of a dialogue, sorted, as `k=v` pairs.
fn vars(d: &Dialogue) -> Vec<String> {
    d.vars.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

#[test]
fn a_matrix_is_one_dialogue_per_row_named_by_its_vars() {
    let loaded = load(&opts());
    let s = suite(&loaded, "matrix/languages.yaml");
    let names: Vec<&str> = s.dialogues.iter().map(|d| d.name.as_str()).collect();
    // Each row's keys in their written order, values as written (`007`, not 7).
    assert_eq!(
        names,
        [
            "greet [lang=fr, tone=warm]",
            "greet [lang=de, count=007]",
            "quoted [who=Ann, line=Hello, world]",
            "quoted [who=Bob \"the builder\", line=say \"hi\", then go]",
            "quoted [who=Cy, line=]",
            "greet [lang=es]",
        ]
    );

    // The row's vars over the dialogue's: the row wins, the rest are kept.
    let fr = &s.dialogues[0];
    assert_eq!(vars(fr), ["greeting=hello", "lang=fr", "tone=warm"]);
    let de = &s.dialogues[1];
    assert_eq!(
        vars(de),
        ["count=007", "greeting=hello", "lang=de", "tone=plain"]
    );
    // Everything else is the dialogue's, on every row.
    for d in [fr, de] {
        assert_eq!(d.tags, ["i18n"]);
        assert_eq!(d.golden, GoldenMode::Exact);
        assert_eq!(d.turns.len(), 1);
        assert_eq!(d.turns[0].span, Span::new(12, 9));
    }
    assert_eq!(
        expand_template(&fr.turns[0].user, &fr.vars),
        "hello in fr, warm"
    );
    assert_eq!(
        expand_template(&de.turns[0].user, &de.vars),
        "hello in de, plain"
    );
    match &*de.turns[0].expect[1].kind {
        ExpectKind::NotContains(t) => assert_eq!(expand_template(&t[0], &de.vars), "de?"),
        other => panic!("{other:?}"),
    }

    // A golden each: the slug of the row's name.
    let slugs: Vec<String> = s.dialogues.iter().map(|d| slug(&d.name)).collect();
    assert_eq!(slugs[0], "greet-lang-fr-tone-warm-");
    assert_eq!(slugs[1], "greet-lang-de-count-007-");
    let mut unique = slugs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), slugs.len());
}

#[test]
fn matrix_rows_point_at_their_row_and_csv_rows_at_matrix_file() {
    let loaded = load(&opts());
    let s = suite(&loaded, "matrix/languages.yaml");
    let spans: Vec<Span> = s.dialogues.iter().map(|d| d.span).collect();
    assert_eq!(
        spans,
        [
            // `- {lang: fr, ...}` and `- lang: de`: the row, where a failure points.
            Span::new(8, 9),
            Span::new(9, 9),
            // A report names the suite file: a CSV row points at the `matrix_file:` naming it.
            Span::new(16, 18),
            Span::new(16, 18),
            Span::new(16, 18),
            Span::new(20, 5),
        ]
    );
}

#[test]
fn csv_quoting_commas_quotes_line_breaks_and_empty_values() {
    let loaded = load(&opts());
    let s = suite(&loaded, "matrix/languages.yaml");
    let quoted: Vec<Vec<String>> = s.dialogues[2..5].iter().map(vars).collect();
    assert_eq!(
        quoted,
        [
            vec!["line=Hello, world".to_string(), "who=Ann".to_string()],
            vec![
                "line=say \"hi\", then go".to_string(),
                "who=Bob \"the builder\"".to_string()
            ],
            vec!["line=".to_string(), "who=Cy".to_string()],
        ]
    );
    for d in &s.dialogues[2..5] {
        assert_eq!(d.golden, GoldenMode::Off);
    }
    let bob = &s.dialogues[3];
    assert_eq!(
        expand_template(&bob.turns[0].user, &bob.vars),
        "Bob \"the builder\" says say \"hi\", then go"
    );
}
