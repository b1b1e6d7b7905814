//! Streamed chat completions over real HTTP (SPEC §8.3): OpenAI's server-sent events, the
//! pacing that makes time-to-first-token observable, and the stream faults (cut, endless,
//! stall), read the way a client reads them: event by event, as they arrive.

mod mock_common;

use std::io::Read;
use std::time::{Duration, Instant};

use mock_common::{Mock, KEY};
use serde_json::{json, Value};

fn stream_body(message: &str, include_usage: bool) -> Value {
    let mut body = json!({
        "model": "ag_chat",
        "stream": true,
        "messages": [{"role": "user", "content": message}],
    });
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// What a client read from a stream: each event's data with when it arrived, and how the
/// stream ended.
struct Received {
    events: Vec<(Duration, String)>,
    /// The body ended cleanly (as opposed to an error, or the reader stopping early).
    clean_end: bool,
    error: Option<String>,
}

impl Received {
    fn data(&self) -> Vec<&str> {
        self.events.iter().map(|(_, d)| d.as_str()).collect()
    }

    fn json(&self) -> Vec<Value> {
        self.data()
            .into_iter()
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).expect("event data is JSON"))
            .collect()
    }

    /// The `delta.content` pieces, in order, empty ones included.
    fn pieces(&self) -> Vec<String> {
        self.json()
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(String::from)
            })
            .collect()
    }
}

/// Sends `body` and reads events until the body ends, fails, or `max` events arrived.
fn read_stream(mock: &Mock, body: &Value, timeout: Duration, max: usize) -> Received {
    let started = Instant::now();
    let mut resp = mock
        .client
        .post(format!("{}/v1/chat/completions", mock.url))
        .bearer_auth(KEY)
        .timeout(timeout)
        .json(body)
        .send()
        .expect("response headers");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut out = Received {
        events: Vec::new(),
        clean_end: false,
        error: None,
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    while out.events.len() < max {
        match resp.read(&mut chunk) {
            Ok(0) => {
                out.clean_end = true;
                break;
            }
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                    let event: Vec<u8> = buf.drain(..end + 2).collect();
                    let text = String::from_utf8(event).expect("utf-8 event");
                    if let Some(data) = text.trim_end().strip_prefix("data: ") {
                        out.events.push((started.elapsed(), data.to_string()));
                    }
                }
            }
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        }
    }
    out
}

#[test]
fn streams_as_openai_does_with_usage_when_asked() {
    let mock = Mock::start(Some("openai.yaml"));
    let read = read_stream(
        &mock,
        &stream_body("What are your business hours?", true),
        Duration::from_secs(10),
        usize::MAX,
    );
    assert!(read.clean_end, "{:?}", read.error);
    assert_eq!(read.data().last(), Some(&"[DONE]"));
    let chunks = read.json();
    let first = &chunks[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(
        first["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    // Every chunk of one completion shares its id.
    assert!(chunks.iter().all(|c| c["id"] == first["id"]));
    let pieces = read.pieces();
    assert!(pieces.len() > 5, "split into pieces: {pieces:?}");
    assert_eq!(
        pieces.concat(),
        "Our business hours are Monday through Friday, 9 AM to 6 PM EST."
    );
    let finish: Vec<&Value> = chunks
        .iter()
        .filter(|c| !c["choices"][0]["finish_reason"].is_null())
        .collect();
    assert_eq!(finish.len(), 1);
    assert_eq!(finish[0]["choices"][0]["finish_reason"], "stop");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 13, "total_tokens": 18})
    );
    assert!(chunks[..chunks.len() - 1]
        .iter()
        .all(|c| c["usage"].is_null()));

    // Without `include_usage`: no usage chunk, no `usage` key at all.
    let plain = read_stream(
        &mock,
        &stream_body("hi", false),
        Duration::from_secs(10),
        usize::MAX,
    );
    assert!(plain.clean_end);
    assert!(plain.json().iter().all(|c| c.get("usage").is_none()));
    assert_eq!(
        plain.pieces().concat(),
        "I'm not sure I can help with that."
    );
}

#[test]
fn first_chunk_delay_and_chunk_delay_pace_the_pieces() {
    let mock = Mock::start(Some("openai.yaml"));
    let read = read_stream(
        &mock,
        &stream_body("paced", false),
        Duration::from_secs(10),
        usize::MAX,
    );
    assert!(read.clean_end);
    // The role event comes with the headers; the first text only after first_chunk_delay.
    let (role_at, _) = read.events[0];
    let text_at: Vec<Duration> = read
        .events
        .iter()
        .filter(|(_, d)| d.contains("\"content\":\"") && !d.contains("\"content\":\"\""))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(text_at.len(), 4, "{:?}", read.data());
    assert!(
        role_at < Duration::from_millis(300),
        "role event at {role_at:?}"
    );
    assert!(
        text_at[0] >= Duration::from_millis(400),
        "first piece at {:?}",
        text_at[0]
    );
    assert!(text_at[0] - role_at >= Duration::from_millis(350));
    for pair in text_at.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(50),
            "{text_at:?}"
        );
    }
    assert_eq!(read.pieces().concat(), "a b c d");
}

#[test]
fn a_cut_stream_stops_mid_way_without_done() {
    let mock = Mock::start(Some("openai.yaml"));
    let read = read_stream(
        &mock,
        &stream_body("cut", false),
        Duration::from_secs(10),
        usize::MAX,
    );
    assert!(
        !read.clean_end && read.error.is_some(),
        "the stream must fail, not end"
    );
    assert!(!read.data().contains(&"[DONE]"));
    // The role event and the first half of the six pieces.
    assert_eq!(read.pieces(), ["", "one ", "two ", "three "]);
    assert_eq!(mock.last_logged()["fault"], "cut");
}

#[test]
fn an_endless_stream_keeps_going_until_the_client_stops() {
    let mut mock = Mock::start(Some("openai.yaml"));
    let read = read_stream(
        &mock,
        &stream_body("endless", false),
        Duration::from_secs(10),
        500,
    );
    assert_eq!(read.events.len(), 500);
    assert!(!read.data().contains(&"[DONE]"));
    let pieces = read.pieces();
    assert!(
        pieces[1..].iter().all(|p| p == "again " || p == "and"),
        "{:?}",
        &pieces[..5]
    );
    // The mock still answers others, and stops promptly with an endless stream open.
    let plain = read_stream(
        &mock,
        &stream_body("hi", false),
        Duration::from_secs(10),
        usize::MAX,
    );
    assert!(plain.clean_end);
    // A reader that stopped reading leaves the mock blocked on a full socket: it still stops.
    let mut held = mock
        .client
        .post(format!("{}/v1/chat/completions", mock.url))
        .bearer_auth(KEY)
        .json(&stream_body("endless", false))
        .send()
        .expect("headers");
    let mut some = [0u8; 4096];
    assert!(held.read(&mut some).expect("a first read") > 0);
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert!(mock.terminate().success());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(held);
}

#[test]
fn a_stalled_stream_sends_one_piece_then_holds_the_connection() {
    let mut mock = Mock::start(Some("openai.yaml"));
    let started = Instant::now();
    let read = read_stream(
        &mock,
        &stream_body("stall", false),
        Duration::from_millis(1500),
        usize::MAX,
    );
    assert!(read.error.is_some(), "the client's timeout ends it");
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert_eq!(read.pieces(), ["", "first "]);
    // Holding a connection does not hold up a stop.
    let body = stream_body("stall", false);
    let url = format!("{}/v1/chat/completions", mock.url);
    let open = std::thread::spawn(move || {
        let resp = reqwest::blocking::Client::new()
            .post(url)
            .bearer_auth(KEY)
            .json(&body)
            .send();
        resp.and_then(|r| r.bytes()).is_err()
    });
    std::thread::sleep(Duration::from_millis(200));
    let stop = Instant::now();
    assert!(mock.terminate().success());
    assert!(
        stop.elapsed() < Duration::from_secs(5),
        "{:?}",
        stop.elapsed()
    );
    assert!(open.join().unwrap(), "the held stream ends as an error");
}

#[test]
fn trickle_and_no_response_apply_to_streams() {
    let mock = Mock::start(Some("openai.yaml"));
    let started = Instant::now();
    let read = read_stream(
        &mock,
        &stream_body("trickle", false),
        Duration::from_secs(20),
        usize::MAX,
    );
    assert!(read.clean_end);
    assert_eq!(read.pieces().concat(), "slow");
    // Hundreds of bytes at 5 ms each.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    let read = read_stream(
        &mock,
        &stream_body("no_response", false),
        Duration::from_secs(5),
        usize::MAX,
    );
    assert!(read.clean_end);
    // No content at all, not even the role event's `""` (which would be an empty reply).
    assert!(read.pieces().is_empty(), "{:?}", read.data());
    assert_eq!(read.data().last(), Some(&"[DONE]"));
}
