//! The mock's HTTP surface: which path goes to which route (the agent API of SPEC §2, chat
//! completions, the generic JSON API), the api-keys endpoint, and the `/_mock/*`
//! introspection endpoints.
//!
//! The routes themselves live in `routes/`; this module only wires them. It never logs or
//! echoes an api key.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::routes::thinnest::{detail, unauthorized, validation};
use super::routes::{http, openai, thinnest};
use super::wire::{authenticate, bearer, json_body, read_body, status_code, App};

pub(crate) fn router(shared: App) -> Router {
    Router::new()
        .route("/v1/agents/{agent_id}/chat", post(thinnest::chat))
        .route("/v1/chat/completions", post(openai::completions))
        .route("/chat/completions", post(openai::completions))
        .route("/http/{agent_id}/chat", post(http::chat))
        .route("/agents/{agent_id}/api-keys", post(create_key))
        .route("/_mock/requests", get(requests))
        .route("/_mock/sessions", get(sessions))
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .with_state(shared)
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

/// `GET /_mock/requests`: every chat request in the order answered, without keys.
async fn requests(AxState(app): AxState<App>) -> Response {
    let (total, chat) = app.state.requests();
    json_body(
        StatusCode::OK,
        serde_json::to_vec(&json!({"total": total, "chat": chat})).unwrap_or_default(),
    )
}

/// `GET /_mock/sessions`: each session id and its messages.
async fn sessions(AxState(app): AxState<App>) -> Response {
    json_body(
        StatusCode::OK,
        serde_json::to_vec(&app.state.sessions()).unwrap_or_default(),
    )
}
