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
    load_paths, BaseUrl, Dialogue, EndpointOverrides, ExpectKind, GoldenMode, HeaderValue,
    LoadOptions, Loaded, SessionMode, Suite,
};
use secrecy::ExposeSecret;

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
    }
}

fn load(opts: &LoadOptions) -> Loaded {
    match load_paths(&[fixtures()], opts) {
        Ok(l) => l,
        Err(d) => panic!("{}", render_all(&d, false)),
    }
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
    assert_eq!(rel, ["billing/invoices.yml", "support.yaml"]);

    let loaded = load(&opts());
    let names: Vec<&str> = loaded.suites.iter().map(|s| s.name.as_str()).collect();
    // `invoices` has no `name:`: the file's stem.
    assert_eq!(names, ["invoices", "support"]);
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.suites[1].path, fixtures().join("support.yaml"));
    assert_eq!(
        loaded.suites[1].golden_dir,
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
    let support = &loaded.suites[1];
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

    let invoices = &loaded.suites[0].dialogues[0].endpoint;
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
            assert_eq!(e.agent_id, "ag_flag");
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
    let support = &loaded.suites[1];
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

    let inv = &loaded.suites[0].dialogues[0];
    assert_eq!(inv.session, SessionMode::Server);
    assert_eq!(inv.golden, GoldenMode::Similar { threshold: 0.8 });
    assert_eq!((inv.repeat, inv.min_pass), (3, 2));
}

#[test]
fn expectations_defaults_and_their_spans() {
    let loaded = load(&opts());
    let support = &loaded.suites[1];
    let hours = dialogue(support, "business hours");
    // status from agenttest.yaml, max_tokens from the suite (replaced by the turn's own).
    assert_eq!(
        keys(hours, 0),
        ["status", "contains", "regex", "max_tokens"]
    );
    let t0 = &hours.turns[0].expect;
    assert!(matches!(&t0[0].kind, ExpectKind::Status(s) if s == &[200]));
    // A default from agenttest.yaml points at the turn that inherits it.
    assert_eq!(t0[0].span, hours.turns[0].span);
    match &t0[1].kind {
        ExpectKind::Contains(v) => assert_eq!(v, &["Monday", "9 AM"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(t0[1].span, Span::new(17, 11));
    match &t0[2].kind {
        ExpectKind::Regex(r) => assert!(r[0].is_match("open 9-5 est")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(t0[3].kind, ExpectKind::MaxTokens(120)));
    assert_eq!(t0[3].span, Span::new(19, 11));

    // Turn 2 inherits the suite's max_tokens: its span is in the suite's defaults.
    assert_eq!(
        keys(hours, 1),
        ["status", "contains_any", "not_contains", "max_tokens"]
    );
    let t1 = &hours.turns[1].expect;
    assert!(matches!(t1[3].kind, ExpectKind::MaxTokens(300)));
    assert_eq!(t1[3].span, Span::new(8, 12));
    // A lone string where a list is accepted.
    match &t1[2].kind {
        ExpectKind::NotContains(v) => assert_eq!(v, &["I don't know"]),
        other => panic!("{other:?}"),
    }

    let wrong = dialogue(support, "wrong key is refused");
    assert!(matches!(&wrong.turns[0].expect[0].kind, ExpectKind::Status(s) if s == &[401]));

    let inv = &loaded.suites[0].dialogues[0].turns[0].expect;
    let kinds: Vec<&str> = inv.iter().map(|e| e.kind.key()).collect();
    assert_eq!(kinds, ["status", "not_regex", "equals"]);
    assert!(matches!(&inv[0].kind, ExpectKind::Status(s) if s == &[200, 202]));
    assert!(matches!(&inv[1].kind, ExpectKind::NotRegex(r) if r.len() == 2));
    assert!(matches!(&inv[2].kind, ExpectKind::Equals(s) if s == "Done."));
}

#[test]
fn captures_vars_templates_and_normalize() {
    let loaded = load(&opts());
    let support = &loaded.suites[1];
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
        matches!(t1.expect[3].kind, ExpectKind::MaxLatency(d) if d == Duration::from_millis(800))
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
    assert_eq!(loaded.suites[0].normalize.len(), 1);
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
    assert_eq!(names, ["invoices", "support"]);
}
