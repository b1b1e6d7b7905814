//! The HTML report (SPEC §10), read the way a reviewer reads it: in a real browser. Headless
//! Chromium loads the file with the network cut off (every request goes to a loopback proxy
//! that only records it), and the tests assert on the DOM it rendered: every dialogue there,
//! failures first, the counts right, hostile agent text shown as text (no element, no script
//! ran, no request), readable with scripts off, filters working. Where Chromium is not
//! installed the browser tests say so and skip; `.ci/run` installs it, so CI runs them.

#[path = "fixtures/report/mixed.rs"]
mod mixed;

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agenttest::record::{RunReport, SuiteInfo};
use agenttest::report::html;
use common::{
    agenttest, assert_code, assert_valid_junit, fixture, run_in, signal, Mock, Workspace,
};
use regex::Regex;

/// Markup that would run or load something if it were not escaped: each sets the title.
const HOSTILE: &str = "<script>document.title='pwned'</script><img src=\"http://attacker.test/x.png\" onerror=\"document.title='pwned'\">";

/// The mixed run with [`HOSTILE`] in every name, message, reply, golden, suite name and tag.
fn hostile_report() -> RunReport {
    let mut r = mixed::mixed_with(|s| format!("{s} {HOSTILE}"));
    for d in &mut r.dialogues {
        d.suite = Arc::new(SuiteInfo {
            name: format!("{} {HOSTILE}", d.suite.name),
            path: d.suite.path.clone(),
        });
        d.tags.push(HOSTILE.to_string());
    }
    r.warnings.push(HOSTILE.to_string());
    r
}

fn write_page(dir: &Path, report: &RunReport) -> PathBuf {
    let path = dir.join("report.html");
    html::write(report, &path).expect("write the HTML report");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read back"),
        html::render(report),
        "write() writes what render() renders"
    );
    path
}

// ---------------------------------------------------------------------------------------
// The browser.

/// What Chromium made of a page.
struct Page {
    dom: String,
    /// Chromium's log: console messages, Content-Security-Policy violations among them.
    log: String,
    /// The first line of every request that reached the proxy and is not Chromium's own
    /// background traffic (component updates, time sync).
    requests: Vec<String>,
}

struct Browser {
    bin: PathBuf,
}

impl Browser {
    /// Chromium, or a printed reason why the caller skips.
    fn find() -> Option<Browser> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in std::env::split_paths(&path) {
                let bin = dir.join(name);
                if bin.is_file() {
                    return Some(Browser { bin });
                }
            }
        }
        eprintln!(
            "skipped: headless Chromium is not installed (apt-get install chromium; .ci/run \
             installs it)"
        );
        None
    }

    fn base(&self, profile: &Path, proxy: &str) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--proxy-server={proxy}"))
        .arg("--host-resolver-rules=MAP * ~NOTFOUND")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        cmd
    }

    /// Loads `file` (with `fragment`, `#...` or empty) and returns the DOM after its scripts
    /// ran; `scripts: false` turns JavaScript off.
    fn dump(&self, file: &Path, fragment: &str, scripts: bool) -> Page {
        self.load(file, fragment, scripts, &["--dump-dom"])
    }

    /// Saves a screenshot of `file` to `png`.
    fn screenshot(&self, file: &Path, png: &Path, size: &str) -> Page {
        self.load(
            file,
            "",
            true,
            &[
                &format!("--screenshot={}", png.display()),
                &format!("--window-size={size}"),
                "--hide-scrollbars",
            ],
        )
    }

    fn load(&self, file: &Path, fragment: &str, scripts: bool, extra: &[&str]) -> Page {
        let profile = tempfile::tempdir().expect("profile dir");
        let proxy = Proxy::start();
        let mut cmd = self.base(profile.path(), &proxy.addr);
        if !scripts {
            cmd.arg("--blink-settings=scriptEnabled=false");
        }
        let file = std::fs::canonicalize(file).expect("absolute path");
        let url = format!("file://{}{fragment}", file.display());
        let child = cmd.args(extra).arg(&url).spawn().expect("start chromium");
        let out = wait_with_timeout(child, Duration::from_secs(90));
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "chromium failed on {url}: {:?}\n{log}",
            out.status
        );
        Page {
            dom: String::from_utf8_lossy(&out.stdout).into_owned(),
            log,
            requests: proxy.page_requests(),
        }
    }
}

fn wait_with_timeout(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                break;
            }
        }
    }
    child.wait_with_output().expect("chromium output")
}

/// A loopback "proxy" that answers nothing and writes down what was asked of it.
struct Proxy {
    addr: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut line = String::new();
                let _ = BufReader::new(conn).read_line(&mut line);
                log.lock().expect("proxy log").push(line.trim().to_string());
            }
        });
        Proxy { addr, seen }
    }

    /// Requests a page could have caused: everything but Chromium's own background services.
    fn page_requests(&self) -> Vec<String> {
        // Give a request sent just before exit the time to land.
        std::thread::sleep(Duration::from_millis(100));
        let own = Regex::new(r"(?i)^\S+ (https?://)?[a-z0-9.-]*\.(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)[:/ ]")
            .expect("regex");
        self.seen
            .lock()
            .expect("proxy log")
            .iter()
            .filter(|l| !own.is_match(l))
            .cloned()
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Reading the DOM.

#[derive(Debug)]
struct Section {
    id: String,
    outcome: String,
    hidden: bool,
    open: bool,
}

/// Every dialogue section in document order, with its outcome, whether the filter hid it and
/// whether its `<details>` is open.
fn sections(dom: &str) -> Vec<Section> {
    let re =
        Regex::new(r#"<section class="dialogue[^"]*"([^>]*)>\s*<details([^>]*)>"#).expect("regex");
    let attr = |attrs: &str, name: &str| {
        Regex::new(&format!(r#"\b{name}="([^"]*)""#))
            .expect("regex")
            .captures(attrs)
            .map(|c| c[1].to_string())
    };
    re.captures_iter(dom)
        .map(|c| Section {
            id: attr(&c[1], "id").unwrap_or_default(),
            outcome: attr(&c[1], "data-outcome").unwrap_or_default(),
            hidden: Regex::new(r"\bhidden\b").expect("regex").is_match(&c[1]),
            open: Regex::new(r"\bopen\b").expect("regex").is_match(&c[2]),
        })
        .collect()
}

fn count(dom: &str, key: &str) -> Option<usize> {
    Regex::new(&format!(r#"<li data-count="{key}"><b>(\d+)</b>"#))
        .expect("regex")
        .captures(dom)
        .and_then(|c| c[1].parse().ok())
}

fn title(dom: &str) -> String {
    Regex::new(r"<title>([^<]*)</title>")
        .expect("regex")
        .captures(dom)
        .map(|c| c[1].to_string())
        .unwrap_or_default()
}

/// Nothing was blocked, refused or attempted: the page's own style and script match the
/// policy, and no text tried to load or run anything.
#[track_caller]
fn assert_quiet(page: &Page) {
    let violations: Vec<&str> = page
        .log
        .lines()
        .filter(|l| l.contains("Content Security Policy") || l.contains("Refused to"))
        .collect();
    assert!(
        violations.is_empty(),
        "CSP violations:\n{}",
        violations.join("\n")
    );
    assert!(
        page.requests.is_empty(),
        "the page made requests: {:?}",
        page.requests
    );
}

// ---------------------------------------------------------------------------------------
// The page as text (no browser needed).

#[test]
fn the_page_is_self_contained_and_escapes_every_text() {
    let page = html::render(&hostile_report());
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..100]);
    assert!(page.contains(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        html::content_security_policy()
    )));
    // No reference to anything outside the file, whatever the texts say.
    let plain = html::render(&mixed::mixed());
    for outside in [
        "src=", "href=", "url(", "@import", "<link", "http://", "https://",
    ] {
        assert!(!plain.contains(outside), "{outside}");
    }
    // The hostile markup appears only escaped.
    assert!(!page.contains("<img"), "an <img> got through");
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(page.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"));
    // The escapes the fixture's hostile() carries are shown, not obeyed.
    let page = html::render(&mixed::mixed_with(|s| format!("{s}{}", mixed::hostile())));
    assert!(
        !page.contains('\x1b') && !page.contains('\0'),
        "raw controls"
    );
    assert!(page.contains("<span class=\"ctl\">\\x{1b}</span>[31mred"));
}

#[test]
fn failures_come_first_with_their_places_and_the_counts_on_top() {
    let page = html::render(&mixed::mixed());
    let order: Vec<String> = sections(&page)
        .iter()
        .map(|s| format!("{}:{}", s.id, s.outcome))
        .collect();
    // Fail, error, flaky, then the rest in run order; ids are places in the run.
    assert_eq!(
        order,
        [
            "d2:fail",
            "d7:fail",
            "d3:error",
            "d6:flaky",
            "d1:pass",
            "d4:skip",
            "d5:pass",
            "d8:not_run",
            "d9:not_run"
        ]
    );
    for (key, n) in [
        ("dialogues", 9),
        ("passed", 3),
        ("flaky", 1),
        ("failed", 2),
        ("errored", 1),
        ("skipped", 1),
        ("not_run", 2),
    ] {
        assert_eq!(count(&page, key), Some(n), "{key}");
    }
    // Each failed expectation at its turn with its file:line:column, and the error.
    for needle in [
        "<span class=\"key\">contains</span>expected the text to contain &quot;Enterprise&quot;<code class=\"loc\">suites/a/support.yaml:17:21</code>",
        "<span class=\"key\">max_tokens</span>expected at most 10 output tokens, got 32<code class=\"loc\">suites/a/support.yaml:21:23</code>",
        "connection failed: connection refused (after 2 retries)<code class=\"loc\">suites/a/support.yaml:27:9</code>",
        // The repeat tally and the flaky story.
        "<b>3/5 runs passed (needs 4)</b>",
        "<td>contains</td><td>3/5</td><td>2, 4</td>",
        "golden: matched in 4/5 runs",
        "<span class=\"badge b-flaky\">FLAKY</span> passed on a rerun: run 1 fail, rerun 1 pass",
        "<b>Interrupted:</b>",
        "orphan golden suites/a/support.golden/old.yaml",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    // The golden side by side: the golden's line and this run's, on one row.
    assert!(page.contains(
        "<tr class=\"changed\"><td class=\"ln\">4</td><td class=\"del\">    agent: <del>Yes, \
         &lt;ORDER&gt; shipped yesterday</del>.</td><td class=\"ln\">4</td><td class=\"ins\">    \
         agent: <ins>I cannot find that order</ins>.</td></tr>"
    ));
    assert!(page.contains("<th colspan=\"2\">golden suites/a/support.golden/order-follow-up.yaml</th><th colspan=\"2\">this run</th>"));
}

#[test]
fn changed_words_are_marked_and_judge_reasons_shown() {
    use agenttest::record::{Detail, Failure};
    let mut r = mixed::mixed();
    // A one-word change, and a judge that said no.
    let d = &mut r.dialogues[1];
    let a = &mut d.attempts[0];
    if let Some(g) = &mut a.golden {
        g.diff_old = "turns:\n  - agent: We open at 9 AM on Monday.\n".into();
        g.diff_new = "turns:\n  - agent: We open at 10 AM on Monday.\n".into();
    }
    a.turns[0].failures.push(Failure {
        key: "judge",
        span: agenttest::diag::Span::new(19, 16),
        detail: Detail::Judged {
            rubric: "mentions the order number".into(),
            reason: "the reply <b>names no order</b>".into(),
        },
    });
    let page = html::render(&r);
    assert!(
        page.contains("agent: We open at <del>9</del> AM on Monday."),
        "word marks"
    );
    assert!(
        page.contains("agent: We open at <ins>10</ins> AM on Monday."),
        "word marks"
    );
    assert!(page.contains(
        "<blockquote class=\"reason\"><b>judge:</b> the reply &lt;b&gt;names no order&lt;/b&gt;</blockquote>"
    ));
    // The reason is quoted once: the failure's line names the rubric.
    assert_eq!(page.matches("names no order").count(), 1, "{page}");
    assert!(page
        .contains("the judge found the rubric &quot;mentions the order number&quot; not met<code"));
}

#[test]
fn the_baseline_gate_and_the_judge_s_totals_are_shown() {
    let mut r = mixed::mixed();
    r.judge = agenttest::record::JudgeTotals {
        asked: 3,
        cached: 2,
    };
    r.dialogues[6].baseline = Some(agenttest::record::BaselineGate {
        recorded: Some((100, 95)),
        problem: None,
        runs: 5,
        passed: 3,
        errored: 0,
        p_value: Some(0.0006),
        alpha: 0.01,
    });
    let page = html::render(&r);
    assert!(page.contains("<dt>judge</dt><dd>3 verdicts asked, 2 cached</dd>"));
    assert!(page.contains("<b>3/5 runs passed; baseline 95/100; p = 0.0006000 &lt; alpha 0.01</b>"));
}

#[test]
fn an_empty_report_is_a_page_that_says_so() {
    let page = html::render(&mixed::empty());
    assert!(page.contains("No dialogue in this report"));
    assert_eq!(count(&page, "dialogues"), Some(0));
    assert!(sections(&page).is_empty());
}

// ---------------------------------------------------------------------------------------
// In the browser.

#[test]
fn hostile_text_is_shown_not_run_in_a_real_browser() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_page(dir.path(), &hostile_report());
    let page = browser.dump(&file, "", true);
    assert_quiet(&page);
    let expected_title = format!("agenttest: {}", hostile_report().totals().summary_line());
    assert_eq!(
        title(&page.dom),
        expected_title,
        "a hostile script set the title"
    );
    assert!(!page.dom.contains("<img"), "an <img> element was created");
    assert_eq!(page.dom.matches("<script").count(), 1);
    assert!(page
        .dom
        .contains("&lt;img src=\"http://attacker.test/x.png\""));
    // Every dialogue, failures first, and the script ran: the filter bar shows its count.
    let s = sections(&page.dom);
    assert_eq!(s.len(), 9, "{s:?}");
    assert_eq!(
        s.iter().map(|s| s.outcome.as_str()).collect::<Vec<_>>(),
        ["fail", "fail", "error", "flaky", "pass", "skip", "pass", "not_run", "not_run"]
    );
    assert!(s.iter().all(|s| !s.hidden));
    assert!(
        page.dom.contains("<form id=\"filters\" class=\"filters\">"),
        "filters shown"
    );
    assert!(page.dom.contains("showing 9 of 9"));
    assert_eq!(count(&page.dom, "failed"), Some(2));
}

#[test]
fn readable_with_scripts_off() {
    let Some(browser) = Browser::find() else {
        return;
    };
    // Chromium's --dump-dom needs JavaScript itself, so the page is loaded without its script
    // instead: what the page shows is then exactly what a reader with scripts off sees.
    let dir = tempfile::tempdir().expect("tempdir");
    let full = html::render(&mixed::mixed());
    let start = full.find("<script>").expect("the page has its script");
    let end = full.find("</script>").expect("script end") + "</script>".len();
    let file = dir.path().join("no-script.html");
    std::fs::write(&file, format!("{}{}", &full[..start], &full[end..])).expect("write");
    let page = browser.dump(&file, "", true);
    assert_quiet(&page);
    let s = sections(&page.dom);
    assert_eq!(s.len(), 9);
    // What did not pass is open; the filter bar, useless without the script, stays hidden.
    for sec in &s {
        let troubled = matches!(sec.outcome.as_str(), "fail" | "error" | "flaky");
        assert_eq!(sec.open, troubled, "{sec:?}");
        assert!(!sec.hidden);
    }
    assert!(page
        .dom
        .contains("<form id=\"filters\" class=\"filters\" hidden=\"\">"));
    assert!(page
        .dom
        .contains("expected the text to contain \"Enterprise\""));
    assert!(page.dom.contains("suites/a/support.yaml:17:21"));
    assert_eq!(count(&page.dom, "failed"), Some(2));
}

#[test]
fn filters_by_outcome_suite_tag_and_text() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut report = mixed::mixed();
    report.dialogues[0].tags = vec!["nightly".into()];
    let file = write_page(dir.path(), &report);
    let visible = |fragment: &str| -> Vec<String> {
        let page = browser.dump(&file, fragment, true);
        assert_quiet(&page);
        sections(&page.dom)
            .into_iter()
            .filter(|s| !s.hidden)
            .map(|s| s.id)
            .collect()
    };
    // Text: only the dialogue whose transcript mentions it.
    assert_eq!(visible("#q=PREMIUM"), ["d7"]);
    // Outcomes: everything but fail hidden.
    assert_eq!(visible("#hide=error,flaky,pass,skip,not_run"), ["d2", "d7"]);
    // Suite file and tag.
    assert_eq!(
        visible("#suite=suites%2Fb%2Fsupport.yaml&hide=pass"),
        ["d7", "d6"]
    );
    assert_eq!(visible("#tag=nightly"), ["d1"]);
}

// ---------------------------------------------------------------------------------------
// From a real run of the real binary against the built-in mock.

/// Suites against `base_url: mock` with a pass, an expectation failure, a golden mismatch, an
/// error, a skip and a reply that echoes [`HOSTILE`]; blessed once, then one golden edited.
fn mixed_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write(
        "suites/agenttest.yaml",
        "endpoint:\n  base_url: mock\n  agent_id: ag_support\n  api_key: ak_demo_key\n  retries: 0\n",
    );
    let hostile = HOSTILE.replace('\'', "''");
    ws.write(
        "suites/support.yaml",
        &format!(
            r#"name: support
dialogues:
  - name: business hours
    tags: [smoke]
    turns:
      - user: What are your business hours?
        expect: {{contains: [Monday, "9 AM"], regex: '(?i)\bEST\b'}}
      - user: And on Saturdays?
        expect: {{contains_any: [Saturday, weekend]}}
  - name: refund window
    tags: [billing]
    turns:
      - user: Can I get my money back?
        expect: {{contains: "60 days", max_tokens: 5}}
  - name: order status
    turns:
      - user: Where is my order?
        capture: {{order: 'ORD-\d+'}}
      - user: Has {{{{order}}}} shipped?
        expect: {{contains: "{{{{order}}}}"}}
  - name: upstream outage
    turns:
      - user: boom
  - name: echo
    tags: [smoke]
    golden: false
    turns:
      - user: 'echo: {hostile}'
  - name: later
    skip: waiting on ticket 42
    turns: [{{user: hi}}]
"#
        ),
    );
    ws.write(
        "suites/sales.yaml",
        "name: sales\nendpoint: {agent_id: ag_sales}\ndialogues:\n  - name: plans\n    turns:\n      - user: Which products do you have?\n      - user: How much is premium?\n        expect: {contains: $99}\n",
    );
    let bless = run_in(ws.path(), &["run", "suites", "--bless", "--color", "never"]);
    assert!(
        matches!(bless.status.code(), Some(1 | 3)),
        "{}",
        common::stdout(&bless)
    );
    let golden = ws.read("suites/support.golden/business-hours.yaml");
    ws.write(
        "suites/support.golden/business-hours.yaml",
        &golden.replace("Monday through Friday", "Monday to Friday"),
    );
    ws
}

#[test]
fn a_real_run_renders_in_a_real_browser() {
    let ws = mixed_workspace();
    let out = run_in(
        ws.path(),
        &[
            "run", "suites", "--html", "r.html", "--json", "r.json", "--color", "never",
        ],
    );
    assert_code(&out, 1);
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    let totals = &json["run"]["totals"];
    let file = ws.path().join("r.html");
    let text = ws.read("r.html");
    // The run's counts and every dialogue, failures first.
    for (key, field) in [
        ("dialogues", "dialogues"),
        ("passed", "passed"),
        ("failed", "failed"),
        ("errored", "errored"),
        ("skipped", "skipped"),
    ] {
        assert_eq!(
            count(&text, key).map(|n| n as u64),
            totals[field].as_u64(),
            "{key}"
        );
    }
    let Some(browser) = Browser::find() else {
        return;
    };
    let page = browser.dump(&file, "", true);
    assert_quiet(&page);
    assert!(!page.dom.contains("<img"));
    assert!(
        title(&page.dom).starts_with("agenttest: "),
        "{}",
        title(&page.dom)
    );
    assert!(!title(&page.dom).contains("pwned"));
    let s = sections(&page.dom);
    let mut names: Vec<String> = json["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .map(|d| d["outcome"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(s.len(), names.len());
    names.sort_by_key(|o| match o.as_str() {
        "fail" => 0,
        "error" => 1,
        "flaky" => 2,
        _ => 3,
    });
    assert_eq!(
        s.iter().map(|s| s.outcome.clone()).collect::<Vec<_>>(),
        names
    );
    // The failures at their turns, the golden side by side with the changed word marked, the
    // error, and the echoed markup as text.
    for needle in [
        "expected the text to contain \"60 days\"<code class=\"loc\">suites/support.yaml:14:",
        "<del>to</del>",
        "<ins>through</ins>",
        "/chat: Agent execution error",
        "&lt;script&gt;document.title='pwned'&lt;/script&gt;",
    ] {
        assert!(page.dom.contains(needle), "missing {needle}");
    }
}

/// Regenerates docs/report.png from the mixed real run: `cargo test --test report_html --
/// --ignored screenshot`.
#[test]
#[ignore = "writes docs/report.png; run by hand after changing the page"]
fn screenshot_for_the_docs() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let ws = mixed_workspace();
    let out = run_in(
        ws.path(),
        &["run", "suites", "--html", "r.html", "--color", "never"],
    );
    assert_code(&out, 1);
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.png");
    let page = browser.screenshot(&ws.path().join("r.html"), &png, "1200,1500");
    assert_quiet(&page);
}

#[test]
fn ctrl_c_still_writes_the_html_report() {
    let mock = Mock::start(&fixture("run/faults.yaml"));
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &format!(
            "endpoint: {{base_url: \"{}\", agent_id: ag_fault, api_key: ak_test_123, retries: 0, timeout: 60s}}\ndialogues:\n  - name: quick\n    turns: [{{user: hello}}]\n  - name: stuck\n    turns: [{{user: hang}}]\n",
            mock.url
        ),
    );
    let child = agenttest()
        .current_dir(ws.path())
        .args([
            "run",
            "c.yaml",
            "--no-golden",
            "-j",
            "2",
            "--html",
            "r.html",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !mock.requests().iter().any(|r| r["message"] == "hang") {
        assert!(Instant::now() < deadline, "the hang request never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    signal(child.id(), "INT");
    let out = child.wait_with_output().expect("wait");
    assert_code(&out, 130);
    let page = ws.read("r.html");
    assert!(page.contains("<b>Interrupted:</b>"));
    let outcomes: Vec<String> = sections(&page).into_iter().map(|s| s.outcome).collect();
    assert_eq!(outcomes, ["pass", "not_run"]);
}

#[test]
fn an_empty_selection_still_writes_every_report() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: demo, api_key: ak_demo_key}\ndialogues:\n  - name: hi\n    turns: [{user: hi}]\n",
    );
    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--filter",
            "no such dialogue",
            "--junit",
            "r.xml",
            "--json",
            "r.json",
            "--html",
            "r.html",
        ],
    );
    assert_code(&out, 4);
    assert_valid_junit(&ws.path().join("r.xml"));
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    assert_eq!(json["dialogues"], serde_json::json!([]));
    assert_eq!(json["run"]["totals"]["dialogues"], 0);
    let page = ws.read("r.html");
    assert!(page.contains("No dialogue in this report"));
    assert_eq!(count(&page, "dialogues"), Some(0));
}
