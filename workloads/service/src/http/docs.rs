//! OpenAPI document generated from the handler types (utoipa) at `/openapi.json`, and a plain HTML page at `/docs`
//! that lists it. Hand-written page: swagger-ui bundles fetch assets from GitHub at build time, which the build
//! environment cannot reach.

use axum::response::{Html, IntoResponse};
use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "aibid API", description = "招标文件 -> 投标技术方案"),
    paths(
        super::auth::login,
        super::auth::create_user,
        super::projects::list,
        super::projects::create,
        super::projects::get,
        super::projects::rename,
        super::projects::delete,
        super::projects::audit,
        super::health::health,
        super::health::ready,
        super::documents::upload,
        super::documents::list,
        super::ledger::get_ledger,
        super::ledger::edit_item,
        super::ledger::item_source,
        super::ledger::get_outline,
        super::ledger::put_outline,
        super::ledger::approve_outline,
        super::generation::start,
        super::generation::cancel,
        super::generation::progress,
        super::generation::events,
        super::sections::list,
        super::sections::get,
        super::sections::edit,
        super::sections::regenerate,
        super::sections::approve,
        super::originality::report,
        super::exports::check,
        super::exports::create,
        super::exports::download,
        super::monitor::view,
        super::monitor::retry,
    )
)]
pub struct ApiDoc;

pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

pub async fn page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
