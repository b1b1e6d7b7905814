//! The mock's HTTP surface: which path goes to which route (the agent API of SPEC §2, chat
//! completions, the generic JSON API), the api-keys endpoint, and the `/_mock/*`
//! introspection endpoints.
//!
//! The routes themselves live in `routes/`; this module only wires them, and answers what no
//! route serves in the shape of the API the path belongs to (OpenAI's under `/v1/` and on the
//! completions paths, the agent API's elsewhere). It never logs or echoes an api key.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::routes::thinnest::{detail, unauthorized, validation};
use super::routes::{http, openai, thinnest};
use super::state::Listed;
use super::wire::{authenticate, bearer, json_body, read_body, status_code, App};

pub(crate) fn router(shared: App) -> Router {
    Router::new()
        .route("/v1/agents/{agent_id}/chat", post(thinnest::chat))
        .route(
            "/v1/chat/completions",
            post(openai::completions).fallback(openai::wrong_method),
        )
        .route(
            "/chat/completions",
            post(openai::completions).fallback(openai::wrong_method),
        )
        .route("/http/{agent_id}/chat", post(http::chat))
        .route("/agents/{agent_id}/api-keys", post(create_key))
        .route("/_mock/requests", get(requests))
        .route("/_mock/sessions", get(sessions))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .with_state(shared)
}

/// A path no route serves. Under `/v1/` it is OpenAI's (`/v1/models`, `/v1/completions`, a
/// typo in `/v1/chat/completions`), unless it is the agent API's `/v1/agents/...`: a client of
/// chat completions reads an error in OpenAI's shape, one of the agent API in its own.
async fn not_found(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let agent_api = path == "/v1/agents" || path.starts_with("/v1/agents/");
    if path.starts_with("/v1/") && !agent_api {
        return openai::invalid_url(&method, path);
    }
    detail(StatusCode::NOT_FOUND, "Not Found")
}

/// `POST /agents/{agent_id}/api-keys`: mint a key that works for chat from now on.
async fn create_key(
    AxState(app): AxState<App>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Path(agent_id)) = path else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Err(why) = authenticate(&app, bearer(&headers)) {
        return unauthorized(&why);
    }
    let body = match read_body(&headers, body, app.max_body).await {
        Ok(b) => b,
        Err(e) => {
            let (status, text) = e.status_and_text();
            return detail(status_code(status), &text);
        }
    };
    if app.state.replay.is_none() && !app.state.agents.contains_key(&agent_id) {
        return detail(
            StatusCode::NOT_FOUND,
            &format!("Agent not found: {agent_id}"),
        );
    }
    #[derive(serde::Deserialize)]
    struct Raw {
        name: Option<serde_json::Value>,
    }
    let name = match serde_json::from_slice::<Raw>(&body) {
        Ok(Raw {
            name: Some(serde_json::Value::String(name)),
        }) => name,
        Ok(Raw { name: None })
        | Ok(Raw {
            name: Some(serde_json::Value::Null),
        }) => return validation(json!(["body", "name"]), "Field required", "missing"),
        Ok(_) => {
            return validation(
                json!(["body", "name"]),
                "Input should be a valid string",
                "string_type",
            )
        }
        Err(_) => return validation(json!(["body", 0]), "JSON decode error", "json_invalid"),
    };
    use rand::distr::{Alphanumeric, SampleString};
    let mut rng = rand::rng();
    let api_key = format!("ak_{}", Alphanumeric.sample_string(&mut rng, 32));
    let id = format!("key_{}", Alphanumeric.sample_string(&mut rng, 12));
    let preview = format!("{}...{}", &api_key[..7], &api_key[api_key.len() - 4..]);
    let created_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    app.state.add_key(api_key.clone());
    app.state.api_keys_created.fetch_add(1, Ordering::Relaxed);
    let body = json!({
        "id": id,
        "name": name,
        "api_key": api_key,
        "key_preview": preview,
        "created_at": created_at,
    });
    json_body(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

/// `GET /_mock/requests`: every chat request in the order answered, without keys; with
/// `?headers=true` (or `=1`, or a bare `headers`) the agent API's entries list their headers
/// too, as the other routes' always do ([`listed`](super::state::RequestRecord::listed)).
async fn requests(AxState(app): AxState<App>, uri: Uri) -> Response {
    let all_headers = uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| matches!(pair, "headers" | "headers=true" | "headers=1"))
    });
    let (total, chat) = app.state.requests();
    #[derive(serde::Serialize)]
    struct Log<'a> {
        total: u64,
        chat: Vec<Listed<'a>>,
    }
    // Written straight from the records, not through a JSON tree, whose objects would sort
    // each entry's headers by name instead of keeping the order they were sent in.
    let log = Log {
        total,
        chat: chat.iter().map(|r| r.listed(all_headers)).collect(),
    };
    json_body(StatusCode::OK, serde_json::to_vec(&log).unwrap_or_default())
}

/// `GET /_mock/sessions`: each session id and its messages.
async fn sessions(AxState(app): AxState<App>) -> Response {
    json_body(
        StatusCode::OK,
        serde_json::to_vec(&app.state.sessions()).unwrap_or_default(),
    )
}
