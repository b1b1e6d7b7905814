//! The canary: a run with a known fake key, whose agent echoes that key back, leaves the key in
//! no byte of stdout, stderr, JUnit, JSON, goldens or pending files.

mod common;

use std::path::Path;

use common::*;

// Fake, and short enough not to look like a real key.
const KEY: &str = "ak_canary_k3y";
const HEADER_SECRET: &str = "hdr-canary-v4lue";

fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn an_echoed_key_never_reaches_any_output() {
    // The mock script holds the key in clear, so it lives outside the scanned workspace.
    let mock_dir = Workspace::new();
    let ws = Workspace::new();
    let script = mock_dir.write(
        "mock.yaml",
        &format!(
            "keys: [{KEY}]\nagents:\n  ag_echo:\n    rules:\n      - when: 'key'\n        reply: 'Your key is {KEY} and your token is {HEADER_SECRET}.'\n    fallback: 'You said: {{{{message}}}}'\n"
        ),
    );
    let mock = Mock::start(&script);
    let suites = ws.path().join("suites");
    std::fs::create_dir_all(&suites).expect("mkdir");
    std::fs::write(
        suites.join("canary.yaml"),
        format!(
            "endpoint:\n  base_url: {}\n  agent_id: ag_echo\n  api_key: ${{CANARY_KEY}}\n  headers: {{X-Token: '${{CANARY_HEADER}}'}}\n  retries: 0\ndialogues:\n  - name: echo\n    turns:\n      - user: what is my key?\n        expect: {{contains: nothing like this}}\n  - name: plain\n    turns: [{{user: hello}}]\n",
            mock.url
        ),
    )
    .expect("write suite");

    let run = |extra: &[&str]| {
        let mut args = vec![
            "run", "suites", "-v", "--junit", "r.xml", "--json", "r.json",
        ];
        args.extend_from_slice(extra);
        agenttest()
            .current_dir(ws.path())
            .args(&args)
            .env("CANARY_KEY", KEY)
            .env("CANARY_HEADER", HEADER_SECRET)
            .output()
            .expect("run")
    };
    let first = run(&[]);
    assert_code(&first, 1);
    assert!(stdout(&first).contains("[REDACTED]"), "{}", stdout(&first));
    let blessed = run(&["--bless"]);
    let again = run(&[]);

    let mut files = Vec::new();
    all_files(ws.path(), &mut files);
    assert!(files.iter().any(|f| f.to_string_lossy().ends_with(".yaml")));
    for secret in [KEY, HEADER_SECRET] {
        for out in [&first, &blessed, &again] {
            assert!(!stdout(out).contains(secret), "stdout leaks {secret}");
            assert!(!stderr(out).contains(secret), "stderr leaks {secret}");
        }
        for f in &files {
            let bytes = std::fs::read(f).expect("read");
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{} leaks {secret}",
                f.display()
            );
        }
    }
    let golden = std::fs::read_to_string(suites.join("canary.golden/echo.yaml")).expect("golden");
    assert!(golden.contains("[REDACTED]"), "{golden}");
}
