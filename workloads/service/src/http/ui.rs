//! The web UI and the task-monitor page: plain HTML + JavaScript embedded in the binary (Chinese interface).

use axum::response::Html;

pub async fn index() -> Html<&'static str> {
    Html(include_str!("../../ui/index.html"))
}

pub async fn monitor() -> Html<&'static str> {
    Html(include_str!("../../ui/monitor.html"))
}
