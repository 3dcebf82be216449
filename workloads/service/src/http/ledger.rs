//! The requirement ledger of a project and the outline built on it: review, edit, approve.

use super::auth::AuthUser;
use super::error::{ApiError, ApiResult};
use super::projects::owned_project;
use super::AppState;
use crate::store::accounts::Role;
use crate::store::ledger::LedgerItem;
use crate::store::outlines::OutlineVersion;
use aibid_proposal::outline::Outline;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ItemText {
    pub text: String,
}

#[utoipa::path(get, path = "/api/projects/{id}/ledger", responses((status = 200, body = [LedgerItem])))]
pub async fn get_ledger(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<LedgerItem>>> {
    owned_project(&state, &user, &id).await?;
    Ok(Json(state.store.ledger(&id).await?))
}

#[utoipa::path(patch, path = "/api/projects/{id}/ledger/{item}", request_body = ItemText, responses((status = 200, body = [LedgerItem])))]
pub async fn edit_item(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, item)): Path<(String, String)>,
    Json(body): Json<ItemText>,
) -> ApiResult<Json<Vec<LedgerItem>>> {
    owned_project(&state, &user, &id).await?;
    let text = body.text.trim();
    if text.is_empty() {
        return Err(ApiError::BadRequest("text: must not be empty".into()));
    }
    if !state
        .store
        .edit_ledger_item(&id, &item, text, &user.id)
        .await?
    {
        return Err(ApiError::NotFound("ledger item"));
    }
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "ledger.edited",
            Some(&id),
            Some(&item),
        )
        .await?;
    Ok(Json(state.store.ledger(&id).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutlineView {
    #[serde(flatten)]
    pub version: OutlineVersion,
    #[schema(value_type = Object)]
    pub coverage: aibid_proposal::Coverage,
}

async fn outline_view(state: &AppState, id: &str) -> ApiResult<OutlineView> {
    let version = state
        .store
        .latest_outline(id)
        .await?
        .ok_or(ApiError::NotFound("outline"))?;
    let outline: Outline = serde_json::from_value(version.outline.clone())
        .map_err(|e| ApiError::Internal(e.into()))?;
    let ledger = aibid_tender::RequirementLedger {
        requirements: state.store.ledger_requirements(id).await?,
        ..Default::default()
    };
    Ok(OutlineView {
        coverage: outline.coverage(&ledger),
        version,
    })
}

#[utoipa::path(get, path = "/api/projects/{id}/outline", responses((status = 200, body = OutlineView)))]
pub async fn get_outline(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<OutlineView>> {
    owned_project(&state, &user, &id).await?;
    Ok(Json(outline_view(&state, &id).await?))
}

/// Saves an edited outline as a new (unapproved) version; every section needs an id, number and title.
#[utoipa::path(put, path = "/api/projects/{id}/outline", responses((status = 200, body = OutlineView)))]
pub async fn put_outline(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<Json<OutlineView>> {
    user.require(&[Role::BidManager, Role::Supervisor])?;
    owned_project(&state, &user, &id).await?;
    let outline: Outline =
        serde_json::from_value(body).map_err(|e| ApiError::BadRequest(format!("outline: {e}")))?;
    if outline.sections.is_empty() {
        return Err(ApiError::BadRequest(
            "outline: needs at least one section".into(),
        ));
    }
    let mut ids = std::collections::HashSet::new();
    if let Some(dup) = outline.sections.iter().find(|s| !ids.insert(s.id.clone())) {
        return Err(ApiError::BadRequest(format!(
            "outline: section id {:?} appears twice",
            dup.id
        )));
    }
    let json = serde_json::to_string(&outline).map_err(|e| ApiError::Internal(e.into()))?;
    let version = state.store.save_outline(&id, &json, Some(&user.id)).await?;
    state.store.set_project_status(&id, "outlined").await?;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "outline.edited",
            Some(&id),
            Some(&version.to_string()),
        )
        .await?;
    Ok(Json(outline_view(&state, &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Approve {
    pub version: i64,
}

#[utoipa::path(post, path = "/api/projects/{id}/outline/approve", request_body = Approve, responses((status = 200, body = OutlineView), (status = 409)))]
pub async fn approve_outline(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<Approve>,
) -> ApiResult<Json<OutlineView>> {
    user.require(&[Role::BidManager, Role::Supervisor])?;
    owned_project(&state, &user, &id).await?;
    if !state
        .store
        .approve_outline(&id, body.version, &user.id)
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "outline version {} is not the latest; review the latest first",
            body.version
        )));
    }
    state.store.set_project_status(&id, "approved").await?;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "outline.approved",
            Some(&id),
            Some(&body.version.to_string()),
        )
        .await?;
    Ok(Json(outline_view(&state, &id).await?))
}
