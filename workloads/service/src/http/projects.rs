//! Projects CRUD, scoped to the caller's organisation (another organisation's project answers 404).

use super::auth::AuthUser;
use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::store::accounts::Role;
use crate::store::audit::AuditEntry;
use crate::store::projects::Project;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// At most 200 (default 50).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ProjectName {
    pub name: String,
}

fn checked_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::BadRequest(
            "name: must be 1-200 characters".into(),
        ));
    }
    Ok(name.to_string())
}

/// Loads a project of the caller's organisation or answers 404.
pub async fn owned_project(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<Project> {
    state
        .store
        .project(&user.org_id, id)
        .await?
        .ok_or(ApiError::NotFound("project"))
}

/// The caller's project, refused with 409 while its generation runs: a new tender, ledger edit or outline then
/// would change what the running tasks read, and the queued ones would fail.
pub async fn idle_project(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<Project> {
    let project = owned_project(state, user, id).await?;
    if project.status == "generating" {
        return Err(ApiError::Conflict(
            "generation is running; cancel it or wait for it to finish first".into(),
        ));
    }
    Ok(project)
}

#[utoipa::path(get, path = "/api/projects", params(Page), responses((status = 200, body = [Project])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<Project>>> {
    let limit = page.limit.unwrap_or(50).clamp(1, 200);
    let offset = page.offset.unwrap_or(0).max(0);
    Ok(Json(
        state
            .store
            .list_projects(&user.org_id, limit, offset)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/projects", request_body = ProjectName, responses((status = 201, body = Project)))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<ProjectName>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    user.require(&[Role::BidManager, Role::Supervisor])?;
    let project = state
        .store
        .create_project(&user.org_id, &user.id, &checked_name(&body.name)?)
        .await?;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "project.created",
            Some(&project.id),
            Some(&project.name),
        )
        .await?;
    state.metrics.project_event("created");
    Ok((StatusCode::CREATED, Json(project)))
}

#[utoipa::path(get, path = "/api/projects/{id}", responses((status = 200, body = Project), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Project>> {
    Ok(Json(owned_project(&state, &user, &id).await?))
}

#[utoipa::path(patch, path = "/api/projects/{id}", request_body = ProjectName, responses((status = 200, body = Project)))]
pub async fn rename(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<ProjectName>,
) -> ApiResult<Json<Project>> {
    user.require(&[Role::BidManager, Role::Supervisor])?;
    if !state
        .store
        .rename_project(&user.org_id, &id, &checked_name(&body.name)?)
        .await?
    {
        return Err(ApiError::NotFound("project"));
    }
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "project.renamed",
            Some(&id),
            Some(&body.name),
        )
        .await?;
    Ok(Json(owned_project(&state, &user, &id).await?))
}

#[utoipa::path(delete, path = "/api/projects/{id}", responses((status = 204), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    user.require(&[Role::BidManager, Role::Supervisor])?;
    owned_project(&state, &user, &id).await?;
    // Read before the rows go: afterwards nothing names these files.
    let files = state.store.project_stored_files(&id).await?;
    if !state.store.delete_project(&user.org_id, &id).await? {
        return Err(ApiError::NotFound("project"));
    }
    crate::files::remove_stored(&state.settings, &files).await;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "project.deleted",
            Some(&id),
            None,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/audit", responses((status = 200, body = [AuditEntry])))]
pub async fn audit(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    user.require(&[Role::Supervisor])?;
    Ok(Json(state.store.audit_entries(&user.org_id, 200).await?))
}
