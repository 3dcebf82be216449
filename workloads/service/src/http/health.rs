//! Liveness, readiness (database and queue reachable, checked on every call so recovery needs no restart)
//! and the Prometheus endpoint.

use super::AppState;
use crate::queue::TaskQueue;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub database: bool,
    pub queue: bool,
}

#[utoipa::path(get, path = "/health", security(()), responses((status = 200, description = "the process is alive")))]
pub async fn health() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/ready", security(()), responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let (database, queue) = tokio::join!(state.store.ping(), state.queue.ping());
    let status = if database && queue {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Readiness { database, queue }))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if !state.settings.metrics_enabled {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            String::from("metrics disabled"),
        );
    }
    if let Ok(length) = state.queue.length().await {
        state
            .metrics
            .queue_length
            .get_or_create(&crate::metrics::QueueLabels {
                queue: state.queue.name().into(),
            })
            .set(length as i64);
    }
    let since = crate::store::now() - crate::metrics::ACTIVE_USERS_WINDOW;
    match state.store.count_active_users(since).await {
        Ok(users) => {
            state.metrics.active_users.set(users);
        }
        // The last value stays exported; the readiness probe reports the database itself.
        Err(e) => tracing::warn!(error = %e, "active users not counted"),
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
