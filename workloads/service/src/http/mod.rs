//! The HTTP API (axum): one module per resource, a shared [`AppState`], one error type, and the middleware
//! every response passes through (security headers, request metrics).

pub mod auth;
pub mod docs;
pub mod documents;
pub mod error;
pub mod exports;
pub mod generation;
pub mod health;
pub mod ledger;
pub mod monitor;
pub mod originality;
pub mod projects;
pub mod sections;
pub mod ui;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::queue::Queue;
use crate::store::Store;
use axum::extract::DefaultBodyLimit;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, patch, post};
use axum::Router;
use std::sync::Arc;
use std::time::Instant;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub queue: Queue,
    pub metrics: Arc<Metrics>,
    pub keys: Arc<auth::Keys>,
    /// Turns true when the process is stopping: long-lived responses (the progress stream) end then.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// The whole API and UI, `/metrics` included (`up`, and `api` when METRICS_PORT is the API port).
pub fn router(state: AppState) -> Router {
    router_with(state, true)
}

/// The API and UI; `with_metrics: false` leaves `/metrics` out, for a public port when metrics have their own port
/// (the Ingress routes `/` of the API port to the internet).
pub fn router_with(state: AppState, with_metrics: bool) -> Router {
    let api = Router::new()
        .route("/api/auth/login", post(auth::login))
        .route("/api/users", post(auth::create_user))
        .route("/api/projects", get(projects::list).post(projects::create))
        .route(
            "/api/projects/{id}",
            get(projects::get)
                .patch(projects::rename)
                .delete(projects::delete),
        )
        .route("/api/audit", get(projects::audit))
        .route(
            "/api/projects/{id}/documents",
            get(documents::list)
                .post(documents::upload)
                // The handler enforces MAX_FILE_SIZE itself (413 naming the limit); this bounds the whole body.
                .layer(DefaultBodyLimit::max(
                    state.settings.max_file_size as usize + (1 << 20),
                )),
        )
        .route("/api/projects/{id}/ledger", get(ledger::get_ledger))
        .route("/api/projects/{id}/ledger/{item}", patch(ledger::edit_item))
        .route(
            "/api/projects/{id}/ledger/{item}/source",
            get(ledger::item_source),
        )
        .route(
            "/api/projects/{id}/outline",
            get(ledger::get_outline).put(ledger::put_outline),
        )
        .route(
            "/api/projects/{id}/outline/approve",
            post(ledger::approve_outline),
        )
        .route("/api/projects/{id}/generation", post(generation::start))
        .route(
            "/api/projects/{id}/generation/cancel",
            post(generation::cancel),
        )
        .route("/api/projects/{id}/progress", get(generation::progress))
        .route("/api/projects/{id}/events", get(generation::events))
        .route("/api/projects/{id}/sections", get(sections::list))
        .route(
            "/api/projects/{id}/sections/{section}",
            get(sections::get).put(sections::edit),
        )
        .route(
            "/api/projects/{id}/sections/{section}/regenerate",
            post(sections::regenerate),
        )
        .route(
            "/api/projects/{id}/sections/{section}/approve",
            post(sections::approve),
        )
        .route("/api/projects/{id}/originality", get(originality::report))
        .route("/api/projects/{id}/export/check", get(exports::check))
        .route("/api/projects/{id}/exports", post(exports::create))
        .route(
            "/api/projects/{id}/exports/{export}",
            get(exports::download),
        )
        .route("/api/monitor", get(monitor::view))
        .route("/api/tasks/{id}/retry", post(monitor::retry));
    let mut app = Router::new()
        .merge(api)
        .route("/", get(ui::index))
        .route("/monitor", get(ui::monitor))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .merge(docs::swagger_ui());
    if with_metrics {
        app = app.route("/metrics", get(health::metrics));
    }
    let app = app.layer(middleware::from_fn_with_state(
        state.clone(),
        record_metrics,
    ));
    with_security_headers(app).with_state(state)
}

/// The metrics port: `/metrics` plus the probes Kubernetes sends there (`/health` liveness, `/ready` database and
/// queue reachable). Served by `worker` and `scheduler`, and by `api`/`monitor` when METRICS_PORT is a port of its own.
pub fn probe_router(state: AppState) -> Router {
    let app = Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ));
    with_security_headers(app).with_state(state)
}

/// The task monitor on its own (the `monitor` role, the guide's Flower on 5555): the monitor page, the login it
/// needs, the queue/worker view and task retry, and the probes. Projects, uploads and generation stay on `api`.
pub fn monitor_router(state: AppState) -> Router {
    let app = Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/monitor") }),
        )
        .route("/monitor", get(ui::monitor))
        .route("/api/auth/login", post(auth::login))
        .route("/api/monitor", get(monitor::view))
        .route("/api/tasks/{id}/retry", post(monitor::retry))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ));
    with_security_headers(app).with_state(state)
}

/// The deployment guide's security headers, set here so they hold behind any ingress; and axum's own rejections
/// as JSON errors (an unknown route is a 404 `{error, message}` too).
fn with_security_headers(router: Router<AppState>) -> Router<AppState> {
    let router = router.layer(middleware::from_fn(error::json_rejections));
    let headers: [(header::HeaderName, &'static str); 5] = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// `http_request_duration_seconds{method,route,status}`: route is the matched pattern, never the raw path
/// (ids in paths would explode the label cardinality).
async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    state.metrics.observe_http(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests;
