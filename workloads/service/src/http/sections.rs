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
    /// The text for an editor: `text` followed by one 〔ID〕 tag per ledger item the section answers. An edit
    /// answers exactly the items tagged in it.
    pub editable_text: Option<String>,
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
        editable_text: draft.as_ref().map(|d| {
            let tags: String = d
                .answered_ids
                .iter()
                .map(|id| aibid_proposal::write::answer_tag(id))
                .collect();
            if tags.is_empty() {
                d.text()
            } else {
                format!("{}\n\n{tags}", d.text())
            }
        }),
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
    /// The new text in the Markdown subset of the writers (### headings, - lists, | tables). The section then
    /// answers the ledger items tagged in it as 〔ID〕 (see `editable_text`), no others.
    pub text: String,
    /// The version this edit was made on; when given and the section has a newer one, 409 (someone else edited).
    pub version: Option<i64>,
}

/// Optional body of an approval: the version the reviewer read.
#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct SectionApproval {
    /// When given and the section has a newer version, 409: approve only what was read.
    pub version: Option<i64>,
}

/// 409 when `based_on` is given and is not the section's latest version.
fn still_latest(section: &SectionView, based_on: Option<i64>) -> ApiResult<()> {
    match based_on {
        Some(version) if section.version != Some(version) => Err(ApiError::Conflict(format!(
            "the section changed since version {version} (now {}); reload it first",
            section.version.unwrap_or(0)
        ))),
        _ => Ok(()),
    }
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
    may_change(&user, &current)?;
    if current.status == "pending" || current.status == "running" {
        return Err(ApiError::Conflict(
            "the section is still being written".into(),
        ));
    }
    if body.text.trim().is_empty() {
        return Err(ApiError::BadRequest("text: must not be empty".into()));
    }
    still_latest(&current, body.version)?;
    // The edited text says what the section answers: the ledger items tagged 〔ID〕 in it (the LLM's convention;
    // `editable_text` carries the current ones). The tags leave the text; deviations of untagged items go.
    let ledger_ids = state.store.ledger_ids(&id).await?;
    let (text, answered_ids) =
        aibid_proposal::write::take_answer_tags(&body.text, ledger_ids.iter().map(String::as_str));
    let previous = current.draft.unwrap_or_default();
    let deviations = previous
        .deviations
        .into_iter()
        .filter(|row| answered_ids.contains(&row.requirement_id))
        .collect();
    let draft = SectionDraft {
        blocks: parse_markdown(&text),
        answered_ids,
        deviations,
        usage: Default::default(),
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

/// An approved section is changed (edited or regenerated, which withdraws the approval) only by a bid manager or
/// supervisor: otherwise a specialist could undo a supervisor's review with one call.
fn may_change(user: &AuthUser, section: &SectionView) -> ApiResult<()> {
    if section.status == "approved" && !matches!(user.role, Role::BidManager | Role::Supervisor) {
        return Err(ApiError::Forbidden(
            "this section is approved; only a bid manager or supervisor may change it".into(),
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/projects/{id}/sections/{section}/regenerate", responses((status = 202, body = SectionView)))]
pub async fn regenerate(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, section)): Path<(String, String)>,
) -> ApiResult<(axum::http::StatusCode, Json<SectionView>)> {
    owned_project(&state, &user, &id).await?;
    let current = one(&state, &id, &section).await?;
    may_change(&user, &current)?;
    if !state.store.reopen_section(&id, &section).await? {
        return Err(ApiError::Conflict(
            "only a written, approved or failed section can be regenerated".into(),
        ));
    }
    state
        .store
        .supersede_failed_tasks(&id, Some(&section))
        .await?;
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
    body: Option<Json<SectionApproval>>,
) -> ApiResult<Json<SectionView>> {
    owned_project(&state, &user, &id).await?;
    let current = one(&state, &id, &section).await?;
    still_latest(&current, body.and_then(|Json(b)| b.version))?;
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
