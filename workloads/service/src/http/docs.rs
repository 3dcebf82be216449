//! OpenAPI document generated from the handler types (utoipa) at `/openapi.json`, and Swagger UI at `/docs`. The UI's
//! assets are compiled into the binary (utoipa-swagger-ui's `vendored` feature), so the page works offline.

// Imported by module name so each operation's tag is its resource ("projects", not "super::projects").
use super::{
    auth, documents, exports, generation, health, ledger, monitor, originality, projects, sections,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

#[derive(OpenApi)]
#[openapi(
    info(title = "aibid API", description = "招标文件 -> 投标技术方案"),
    paths(
        auth::login,
        auth::create_user,
        projects::list,
        projects::create,
        projects::get,
        projects::rename,
        projects::delete,
        projects::audit,
        health::health,
        health::ready,
        documents::upload,
        documents::list,
        ledger::get_ledger,
        ledger::edit_item,
        ledger::item_source,
        ledger::get_outline,
        ledger::put_outline,
        ledger::approve_outline,
        generation::start,
        generation::cancel,
        generation::progress,
        generation::events,
        sections::list,
        sections::get,
        sections::edit,
        sections::regenerate,
        sections::approve,
        originality::report,
        exports::check,
        exports::create,
        exports::download,
        monitor::view,
        monitor::retry,
    ),
    modifiers(&BearerToken),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The JWT from `POST /api/auth/login` as a bearer token, so "Authorize" in the UI makes "Try it out" work.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// `/openapi.json`, and Swagger UI under `/docs/` (`/docs` redirects there). The online validator is off: the page
/// must not call out (and the Content-Security-Policy would block it).
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs")
        .url("/openapi.json", ApiDoc::openapi())
        .config(Config::default().validator_url("none"))
}
