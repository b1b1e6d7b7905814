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

// ---------------------------------------------------------------------------------------------
// An agent that echoes what it was sent: the key as its session id, the key as HTTP delivered
// it (trimmed), and the key's encodings. The mock cannot return a key as a session id, so this
// is a tiny HTTP server of the test's own on loopback.

/// The request's bearer key as the server received it (HTTP trims the header's whitespace).
fn received_key(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("authorization")
                .then(|| value.trim().trim_start_matches("Bearer").trim().to_string())
        })
        .unwrap_or_default()
}

/// Reads one request (head and `Content-Length` body); returns the head.
fn read_request(stream: &mut std::net::TcpStream) -> Option<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(head)
}

/// Serves every request on loopback with `answer(head)`: a content type and a body, sent
/// with a 200 and `Connection: close`. Returns the base URL.
fn serve(answer: impl Fn(&str) -> (&'static str, String) + Send + 'static) -> String {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(head) = read_request(&mut stream) else {
                continue;
            };
            let (content_type, body) = answer(&head);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// Serves the thinnest chat API on loopback: every reply is `reply(key)` for the key it
/// received, with that key as the session id. Returns the base URL.
fn echo_agent(reply: fn(&str) -> String) -> String {
    serve(move |head| {
        let key = received_key(head);
        let body = serde_json::json!({
            "response": reply(&key),
            "session_id": key,
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
        })
        .to_string();
        ("application/json", body)
    })
}

/// Runs `run`, then `run --bless`, then `run` again over a suite against `url` with the key
/// taken from the environment as `key`; returns the three outputs and every file left behind.
fn three_runs(url: &str, key: &str) -> (Workspace, Vec<std::process::Output>) {
    let ws = Workspace::new();
    ws.write(
        "suites/echo.yaml",
        &format!(
            "endpoint:\n  base_url: {url}\n  agent_id: ag_echo\n  api_key: ${{ECHO_KEY}}\n  retries: 0\ndialogues:\n  - name: server session\n    session: server\n    turns:\n      - user: who am I?\n        expect: {{contains: nothing like this}}\n      - user: and again?\n  - name: fresh session\n    turns: [{{user: hello}}]\n"
        ),
    );
    let outs = [&[][..], &["--bless"][..], &[][..]]
        .iter()
        .map(|extra| {
            agenttest()
                .current_dir(ws.path())
                .args([
                    "run", "suites", "-v", "--junit", "r.xml", "--json", "r.json",
                ])
                .args(*extra)
                .env("ECHO_KEY", key)
                .output()
                .expect("run")
        })
        .collect();
    (ws, outs)
}

/// No output and no file in `ws` holds any of `forms`.
#[track_caller]
fn assert_nowhere(ws: &Workspace, outs: &[std::process::Output], forms: &[String]) {
    let mut files = Vec::new();
    all_files(ws.path(), &mut files);
    for form in forms {
        for (i, out) in outs.iter().enumerate() {
            assert!(
                !stdout(out).contains(form),
                "run {i}: stdout leaks {form}\n{}",
                stdout(out)
            );
            assert!(
                !stderr(out).contains(form),
                "run {i}: stderr leaks {form}\n{}",
                stderr(out)
            );
        }
        for f in &files {
            let text = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
            assert!(
                !text.contains(form),
                "{} leaks {form}:\n{text}",
                f.display()
            );
        }
    }
}

#[test]
fn a_key_returned_as_the_session_id_is_redacted_everywhere() {
    const SID_KEY: &str = "ak_canary_session_k3y";
    let url = echo_agent(|_| "Hello.".to_string());
    let (ws, outs) = three_runs(&url, SID_KEY);
    assert_code(&outs[0], 1);
    assert_nowhere(&ws, &outs, &[SID_KEY.to_string()]);
    // The id is there, as the marker: JUnit's transcript is headed by it, JSON names it.
    let junit = ws.read("r.xml");
    assert!(junit.contains("[REDACTED]"), "{junit}");
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    assert!(
        json.to_string().contains("\"session_id\":\"[REDACTED]\""),
        "{json:#}"
    );
    assert_valid_junit(&ws.path().join("r.xml"));
}

#[test]
fn a_key_with_surrounding_whitespace_is_redacted_as_sent() {
    // As read from a secrets file with a stray space and tab: HTTP delivers it trimmed, and
    // the agent repeats the trimmed key inside a word, where no space is around it.
    const TRIMMED: &str = "ak_canary_trimmed_k3y";
    let url = echo_agent(|key| format!("key={key}."));
    let (ws, outs) = three_runs(&url, &format!("  {TRIMMED} \t"));
    assert!(
        stdout(&outs[0]).contains("key=[REDACTED]."),
        "{}",
        stdout(&outs[0])
    );
    assert_nowhere(&ws, &outs, &[TRIMMED.to_string()]);
}

/// The encodings the redactor promises (src/redact.rs), computed here independently.
fn encodings(text: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    let mut out: Vec<String> = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .map(|e| e.encode(text))
        .collect();
    let percent: String = text
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    out.push(percent.to_lowercase().replace("bearer", "Bearer"));
    out.push(percent.replace("%20", "+"));
    out.push(percent);
    out
}

/// The key's characters that a percent-encoder or a base64 alphabet treats specially.
const ENCODED_KEY: &str = "ak_??canary+k3y/enc=>~";

fn echo_encoded(key: &str) -> String {
    let mut forms = encodings(key);
    forms.extend(encodings(&format!("Bearer {key}")));
    // And the whole header, base64'd inside a JSON blob, at an offset not a multiple of 3.
    let blob = format!("{{\"authorization\": \"Bearer {key}\", \"n\": 1}}");
    forms.extend(encodings(&blob).into_iter().take(4));
    format!("Echo: {}", forms.join(" | "))
}

#[test]
fn the_keys_base64_and_percent_encodings_are_redacted() {
    let url = echo_agent(echo_encoded);
    let (ws, outs) = three_runs(&url, ENCODED_KEY);
    let mut forms = vec![ENCODED_KEY.to_string()];
    forms.extend(encodings(ENCODED_KEY));
    forms.extend(encodings(&format!("Bearer {ENCODED_KEY}")));
    forms.sort();
    forms.dedup();
    assert_eq!(forms.len(), 14, "{forms:?}");
    assert_nowhere(&ws, &outs, &forms);
    let golden = ws.read("suites/echo.golden/fresh-session.yaml");
    assert!(golden.contains("Echo: [REDACTED]"), "{golden}");
    // The blob kept its head (`{"authorization": "Bearer `), the key's run in it went.
    assert!(golden.matches("[REDACTED]").count() >= 14, "{golden}");
}

#[test]
fn a_one_character_key_is_refused_at_load() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        "endpoint:\n  base_url: http://127.0.0.1:9\n  agent_id: ag\n  api_key: ${ONE_CHAR_KEY}\ndialogues:\n  - name: d\n    turns: [{user: hi}]\n",
    );
    for command in ["validate", "run"] {
        let out = agenttest()
            .current_dir(ws.path())
            .args([command, "s.yaml"])
            .env("ONE_CHAR_KEY", "a")
            .output()
            .expect("run");
        assert_code(&out, 2);
        let err = stderr(&out);
        assert!(err.contains("too short to be a key"), "{err}");
        assert!(err.contains("s.yaml:4:"), "{err}");
    }
}

/// Serves every request a 200 whose body is not JSON: `x` repeated N times (N from the path's
/// agent id, `/v1/agents/pN/chat`), then the key it received. Returns the base URL.
fn padded_echo_agent() -> String {
    serve(|head| {
        let pad: usize = head
            .split("/v1/agents/p")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let body = format!("{}{} tail", "x".repeat(pad), received_key(head));
        ("text/html", body)
    })
}

#[test]
fn a_key_cut_short_where_a_body_is_quoted_is_redacted() {
    // A malformed reply quotes the body's first 200 characters, cut with `…`: a key that
    // straddles the cut must not show its first characters either.
    const CUT_KEY: &str = "ak_canary_cut_k3y_0123456789abcdef";
    let url = padded_echo_agent();
    let ws = Workspace::new();
    let dialogues: String = (200 - CUT_KEY.len()..200)
        .map(|pad| {
            format!(
                "  - name: pad {pad}\n    endpoint: {{agent_id: p{pad}}}\n    turns: [{{user: hi}}]\n"
            )
        })
        .collect();
    ws.write(
        "suites/cut.yaml",
        &format!(
            "endpoint:\n  base_url: {url}\n  agent_id: p0\n  api_key: ${{CUT_KEY}}\n  retries: 0\ndialogues:\n{dialogues}"
        ),
    );
    let out = agenttest()
        .current_dir(ws.path())
        .args(["run", "suites", "--junit", "r.xml", "--json", "r.json"])
        .env("CUT_KEY", CUT_KEY)
        .output()
        .expect("run");
    assert_code(&out, 3);
    assert!(stdout(&out).contains("[REDACTED]…`"), "{}", stdout(&out));
    // Every prefix of the key from its fifth character on is gone.
    let forms: Vec<String> = (5..=CUT_KEY.len())
        .map(|n| CUT_KEY[..n].to_string())
        .collect();
    assert_nowhere(&ws, &[out], &forms);
}

#[test]
fn a_key_in_the_base_urls_query_is_redacted() {
    // Some APIs take the key in the query (`?key=...`): an error names the request's URL, and
    // an agent may echo it. A `${VAR}` in the host or path is not a secret.
    const QUERY_KEY: &str = "qk_canary_query_k3y";
    let ws = Workspace::new();
    ws.write(
        "suites/q.yaml",
        "endpoint:\n  base_url: '${Q_HOST}/nowhere?key=${Q_KEY}'\n  agent_id: ag\n  api_key: ak_canary_plain_k3y\n  retries: 0\ndialogues:\n  - name: refused\n    turns: [{user: hi}]\n",
    );
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    // Nothing listens there any more: the connection error names the request's URL.
    {
        let host = &dead;
        let out = agenttest()
            .current_dir(ws.path())
            .args([
                "run", "suites", "-v", "--junit", "r.xml", "--json", "r.json",
            ])
            .env("Q_HOST", host)
            .env("Q_KEY", QUERY_KEY)
            .output()
            .expect("run");
        let shown = format!("{}{}", stdout(&out), ws.read("r.json"));
        assert!(shown.contains("?key=[REDACTED]"), "{shown}");
        assert_nowhere(&ws, &[out], &[QUERY_KEY.to_string()]);
    }
}

/// The password of a URL's credentials (an agent's or a judge's `base_url`) is a secret on its
/// own: an agent that echoes it without the user name leaks it nowhere.
#[test]
fn a_urls_password_alone_is_redacted() {
    const PASSWORD: &str = "jpassword99";
    let ws = Workspace::new();
    ws.write(
        "echo.yaml",
        "agents:\n  echo:\n    rules:\n      - {when: '(?s)^SAY: (.*)$', reply: '{{message}}'}\n",
    );
    ws.write(
        "u.yaml",
        "endpoint: {base_url: mock, mock_script: echo.yaml, agent_id: echo, api_key: ak_x1234, retries: 0}\n\
         judge: {base_url: 'http://juser:${JP}@127.0.0.1:9/v1', model: gm, api_key: sk_judge_1234}\n\
         dialogues:\n  - name: u\n    golden: false\n    turns: [{user: 'SAY: e jpassword99', expect: {contains: nothing}}]\n",
    );
    let out = agenttest()
        .current_dir(ws.path())
        .args([
            "run", "u.yaml", "-v", "--json", "u.json", "--html", "u.html",
        ])
        .env("JP", PASSWORD)
        .output()
        .expect("run");
    assert_code(&out, 1);
    assert!(stdout(&out).contains("[REDACTED]"), "{}", stdout(&out));
    assert!(!stdout(&out).contains(PASSWORD), "{}", stdout(&out));
    assert!(!stderr(&out).contains(PASSWORD), "{}", stderr(&out));
    for f in ["u.json", "u.html"] {
        assert!(!ws.read(f).contains(PASSWORD), "{f} leaks the password");
    }
}
