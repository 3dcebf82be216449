//! Section review: read, edit (a new version), regenerate (a new task), approve. A section revised more than
//! three times needs a supervisor's approval.

use super::auth::AuthUser;
use super::error::{ApiError, ApiResult};
use super::projects::owned_project;
use super::AppState;
use crate::queue::TaskQueue;
use crate::store::accounts::Role;
use aibid_proposal::content::parse_markdown;
use aibid_proposal::write::SectionDraft;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};

/// Revisions after which approval needs a supervisor.
pub const REVISIONS_WITHOUT_SUPERVISOR: i64 = 3;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SectionView {
    pub section_id: String,
    pub title: String,
    pub status: String,
    pub revision_count: i64,
    pub reviewer: Option<String>,
    pub version: Option<i64>,
    pub error: Option<String>,
    /// The section's text (paragraphs, lists and table rows, one per line).
    pub text: Option<String>,
    #[schema(value_type = Object)]
    pub draft: Option<SectionDraft>,
}

fn view(s: crate::store::sections::Section) -> SectionView {
    let draft: Option<SectionDraft> = s
        .content
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok());
    SectionView {
        text: draft.as_ref().map(SectionDraft::text),
        draft,
        section_id: s.section_id,
        title: s.title,
        status: s.status,
        revision_count: s.revision_count,
        reviewer: s.reviewer,
        version: s.version,
        error: s.error,
    }
}

async fn one(state: &AppState, id: &str, section: &str) -> ApiResult<SectionView> {
    let found = state
        .store
        .sections(id)
        .await?
        .into_iter()
        .find(|s| s.section_id == section);
    found.map(view).ok_or(ApiError::NotFound("section"))
}

#[utoipa::path(get, path = "/api/projects/{id}/sections", responses((status = 200, body = [SectionView])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<SectionView>>> {
    owned_project(&state, &user, &id).await?;
    Ok(Json(
        state
            .store
            .sections(&id)
            .await?
            .into_iter()
            .map(view)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/projects/{id}/sections/{section}", responses((status = 200, body = SectionView)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, section)): Path<(String, String)>,
) -> ApiResult<Json<SectionView>> {
    owned_project(&state, &user, &id).await?;
    Ok(Json(one(&state, &id, &section).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SectionEdit {
    /// The new text in the Markdown subset of the writers (### headings, - lists, | tables).
    pub text: String,
}

#[utoipa::path(put, path = "/api/projects/{id}/sections/{section}", request_body = SectionEdit, responses((status = 200, body = SectionView)))]
pub async fn edit(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, section)): Path<(String, String)>,
    Json(body): Json<SectionEdit>,
) -> ApiResult<Json<SectionView>> {
    owned_project(&state, &user, &id).await?;
    let current = one(&state, &id, &section).await?;
    if current.status == "pending" || current.status == "running" {
        return Err(ApiError::Conflict(
            "the section is still being written".into(),
        ));
    }
    if body.text.trim().is_empty() {
        return Err(ApiError::BadRequest("text: must not be empty".into()));
    }
    // The edit keeps which items and parameters the section answered; 〔ID〕 tags of ledger items in the text (the
    // LLM's convention) mark more items answered, and leave the text.
    let ledger = state.store.ledger(&id).await?;
    let (text, tagged) =
        aibid_proposal::write::take_answer_tags(&body.text, ledger.iter().map(|i| i.id.as_str()));
    let previous = current.draft.unwrap_or_default();
    let mut answered_ids = previous.answered_ids.clone();
    answered_ids.extend(
        tagged
            .into_iter()
            .filter(|id| !previous.answered_ids.contains(id)),
    );
    let draft = SectionDraft {
        blocks: parse_markdown(&text),
        answered_ids,
        usage: Default::default(),
        ..previous
    };
    let json = serde_json::to_string(&draft).map_err(|e| ApiError::Internal(e.into()))?;
    state
        .store
        .edit_section(&id, &section, &json, &user.id)
        .await?;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "section.edited",
            Some(&id),
            Some(&section),
        )
        .await?;
    Ok(Json(one(&state, &id, &section).await?))
}

#[utoipa::path(post, path = "/api/projects/{id}/sections/{section}/regenerate", responses((status = 202, body = SectionView)))]
pub async fn regenerate(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, section)): Path<(String, String)>,
) -> ApiResult<(axum::http::StatusCode, Json<SectionView>)> {
    owned_project(&state, &user, &id).await?;
    if !state.store.reopen_section(&id, &section).await? {
        return Err(ApiError::Conflict(
            "only a written, approved or failed section can be regenerated".into(),
        ));
    }
    let task = state
        .store
        .create_task(&id, "section", Some(&section))
        .await?;
    state.store.set_project_status(&id, "generating").await?;
    state.queue.enqueue(&task).await?;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "section.regenerated",
            Some(&id),
            Some(&section),
        )
        .await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(one(&state, &id, &section).await?),
    ))
}

#[utoipa::path(post, path = "/api/projects/{id}/sections/{section}/approve", responses((status = 200, body = SectionView), (status = 403)))]
pub async fn approve(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, section)): Path<(String, String)>,
) -> ApiResult<Json<SectionView>> {
    owned_project(&state, &user, &id).await?;
    let current = one(&state, &id, &section).await?;
    if current.revision_count > REVISIONS_WITHOUT_SUPERVISOR && user.role != Role::Supervisor {
        return Err(ApiError::Forbidden(format!(
            "this section was revised {} times; more than {REVISIONS_WITHOUT_SUPERVISOR} revisions need a supervisor's approval",
            current.revision_count
        )));
    }
    if !state.store.approve_section(&id, &section, &user.id).await? {
        return Err(ApiError::Conflict(
            "only a written section can be approved".into(),
        ));
    }
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "section.approved",
            Some(&id),
            Some(&section),
        )
        .await?;
    Ok(Json(one(&state, &id, &section).await?))
}
