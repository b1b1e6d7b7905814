//! Streamed replies that do not end as a whole reply does, from servers that are not our mock
//! (a raw socket writes each response byte for byte, as a proxy, vLLM or a hand-written agent
//! would): an error event after the 200 went out, a stream with no text, a compressed stream,
//! a stream cut in the middle of an event with no framing to tell, a stream that stops before
//! it says it has finished. Each is a malformed reply
//! (exit 3) whose reason says what happened, never a pass on the text before it, and never a
//! golden. And what does make a reply is read: a `Text/Event-Stream` content type, a last
//! event that lacks its blank line.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::process::Output;

use common::{assert_code, read_request, stdout, Workspace};
use serde_json::Value;

/// A server answering every request with the raw bytes `answer` gives for its path, then
/// closing the connection.
fn raw_server(answer: impl Fn(&str) -> Vec<u8> + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let path = read_request(&stream);
            let _ = stream.write_all(&answer(&path));
        }
    });
    url
}

/// An event stream of these events, ended by closing the connection (no length, no chunks).
fn stream(content_type: &str, extra: &str, events: &[&str]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n{extra}connection: close\r\n\r\n"
    )
    .into_bytes();
    for e in events {
        out.extend_from_slice(e.as_bytes());
    }
    out
}

fn chunk(content: &str) -> String {
    format!(
        "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{content}}},\"finish_reason\":null}}]}}\n\n"
    )
}

fn run(ws: &Workspace, args: &[&str]) -> Output {
    common::run_to_json(ws, args)
}

fn dialogue<'a>(report: &'a Value, name: &str) -> &'a Value {
    common::dialogue_named(report, name)
}

#[test]
fn a_stream_that_does_not_end_as_a_reply_is_malformed_and_never_blessed() {
    let url = raw_server(|path| {
        let hello = chunk("\"Hello\"");
        let wor = chunk("\" wor\"");
        let finish = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
        let sse = "text/event-stream";
        match path.split('/').nth(1).unwrap_or("") {
            "error" => stream(
                sse,
                "",
                &[&hello, &wor, "data: {\"error\": {\"message\": \"upstream model overloaded\", \"type\": \"server_error\"}}\n\n", "data: [DONE]\n\n"],
            ),
            "vllm" => stream(
                sse,
                "",
                &[&hello, "data: {\"object\": \"error\", \"message\": \"engine dead\"}\n\n"],
            ),
            "tools" => stream(
                sse,
                "",
                &["data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null,\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n", "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n", "data: [DONE]\n\n"],
            ),
            "gzip" => stream(sse, "content-encoding: gzip\r\n", &["\u{1f}\u{8b}packed"]),
            "cut" => stream(sse, "", &[&hello, &wor, "data: {\"id\": \"c1\", \"obj"]),
            "parts" => stream(
                sse,
                "",
                &[&chunk("[{\"type\":\"text\",\"text\":\"Hello\"}]"), &wor, "data: [DONE]\n\n"],
            ),
            // A piece with only a thinking part is no text; the stream has no other.
            "thinking" => stream(
                sse,
                "",
                &[&chunk("[{\"type\":\"thinking\",\"thinking\":\"hm\"}]"), "data: [DONE]\n\n"],
            ),
            "case" => stream("Text/Event-Stream; charset=utf-8", "", &[&hello, &wor, "data: [DONE]\n\n"]),
            // A stream asked for, labelled as no JSON type (a hand-written server's default):
            // read as the events it is.
            "html" => stream("text/html; charset=utf-8", "", &[&hello, &wor, "data: [DONE]\n\n"]),
            // The last event lacks its blank line, but is whole: it is read, and its
            // `finish_reason` says the reply is whole though no `[DONE]` came.
            "unended" => stream(sse, "", &[&hello, &wor, finish.trim_end()]),
            // Every event whole, but the server stopped before it said it had finished (no
            // `finish_reason`, no `[DONE]`): the words so far are not its reply.
            "stopped" => stream(sse, "", &[&hello, &wor]),
            _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
        }
    });
    let ws = Workspace::new();
    let dialogue_of = |name: &str| {
        format!(
            "  - {{name: {name}, endpoint: {{base_url: \"{url}/{name}\"}}, turns: [{{user: hi, expect: {{not_contains: sorry}}}}]}}\n"
        )
    };
    let names = [
        "error", "vllm", "tools", "gzip", "cut", "parts", "thinking", "case", "unended", "html",
        "stopped",
    ];
    let mut suite = "endpoint: {kind: openai, model: m, stream: true, api_key: sk-stream-test-1, retries: 0}\ndialogues:\n".to_string();
    for n in names {
        suite.push_str(&dialogue_of(n));
    }
    ws.write("s.yaml", &suite);
    let o = run(&ws, &["s.yaml", "--bless"]);
    assert_code(&o, 3);
    let text = stdout(&o);
    let report: Value = serde_json::from_str(&ws.read("r.json")).expect("the JSON report is JSON");
    let reason = |name: &str| -> String {
        let d = dialogue(&report, name);
        assert_eq!(d["outcome"], "error", "{name}: {text}");
        // Nothing of a broken stream is kept as the agent's text, nor blessed as a golden.
        assert_eq!(d["attempts"][0]["turns"][0]["text"], Value::Null, "{name}");
        assert!(
            !ws.exists(&format!("s.golden/{name}.yaml")),
            "{name} was blessed"
        );
        d.to_string()
    };
    assert!(reason("error").contains("the stream reported an error: upstream model overloaded"));
    assert!(reason("vllm").contains("the stream reported an error: engine dead"));
    // A tool call is said in words, the tool named, as a whole completion's is.
    assert!(reason("tools").contains("the model called a tool (get_weather) instead of answering"));
    assert!(reason("gzip").contains("the body is gzip-encoded (Content-Encoding: gzip)"));
    assert!(reason("cut").contains("the stream ended in the middle of an event"));
    assert!(reason("thinking").contains("no chunk of the stream had a string"));
    assert!(reason("stopped").contains(
        "the stream ended before the reply did: no chunk set `choices[0].finish_reason` and no \
         `data: [DONE]` came"
    ));
    // The malformed reply has the status the server sent.
    assert!(text.contains("malformed reply (status 200)"), "{text}");
    // A piece given as a list of parts is its text parts.
    for name in ["case", "unended", "parts", "html"] {
        let d = dialogue(&report, name);
        assert_eq!(d["outcome"], "pass", "{name}: {text}");
        assert_eq!(d["attempts"][0]["turns"][0]["text"], "Hello wor", "{name}");
    }
    assert!(!text.contains("sk-stream-test-1"), "{text}");
}

#[test]
fn an_http_stream_event_with_a_string_at_the_error_pointer_is_the_api_saying_it_failed() {
    let url = raw_server(|_| {
        stream(
            "text/event-stream",
            "",
            &[
                "data: {\"delta\":{\"text\":\"Hel\"}}\n\n",
                "data: {\"delta\":{\"text\":\"lo \"}}\n\n",
                "data: {\"error\":{\"message\":\"tool crashed\"}}\n\n",
            ],
        )
    });
    let ws = Workspace::new();
    ws.write(
        "h.yaml",
        &format!(
            "endpoint:\n  kind: http\n  base_url: \"{url}\"\n  path: /chat\n  body: {{input: \"{{{{message}}}}\"}}\n  response: {{text: /delta/text, error: /error/message}}\n  stream: sse\n  retries: 0\ndialogues:\n  - {{name: fails, turns: [{{user: hi}}]}}\n"
        ),
    );
    let o = run(&ws, &["h.yaml", "--no-golden"]);
    assert_code(&o, 3);
    let text = stdout(&o);
    assert!(
        text.contains("the stream reported an error (response.error): tool crashed"),
        "{text}"
    );
    let report: Value = serde_json::from_str(&ws.read("r.json")).expect("JSON");
    assert_eq!(dialogue(&report, "fails")["outcome"], "error");
}
