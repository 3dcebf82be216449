//! Export: a final completeness check that names what blocks it (coverage, mandatory items, failed or unwritten
//! sections), then the .docx, stored under a server-chosen name and downloadable by the organisation only.

use super::auth::AuthUser;
use super::error::{ApiError, ApiResult};
use super::projects::owned_project;
use super::AppState;
use crate::files::{FileError, StoredFiles};
use crate::pipeline::ProjectInputs;
use aibid_proposal::write::SectionDraft;
use aibid_proposal::{check_proposal, export_docx, Proposal, SectionResult, SectionStatus};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportCheck {
    pub ready: bool,
    /// Human-readable reasons, empty when ready.
    pub blocking: Vec<String>,
    pub answered_share: f64,
    pub mandatory_answered_share: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportCreated {
    pub export_id: String,
    pub download: String,
}

async fn assemble(
    state: &AppState,
    id: &str,
) -> ApiResult<(Proposal, aibid_tender::RequirementLedger)> {
    let inputs = ProjectInputs::load(&state.store, id)
        .await
        .map_err(|e| match e {
            crate::pipeline::InputError::Db(db) => ApiError::from(db),
            other => ApiError::Conflict(other.to_string()),
        })?;
    let results = state
        .store
        .sections(id)
        .await?
        .into_iter()
        .map(|s| {
            let draft: Option<SectionDraft> = s
                .content
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok());
            let status = match (s.status.as_str(), draft) {
                ("failed", _) => SectionStatus::Failed {
                    error: s.error.unwrap_or_else(|| "failed".into()),
                },
                ("done" | "approved", Some(draft)) => SectionStatus::Complete { draft },
                _ => SectionStatus::Pending,
            };
            SectionResult {
                section_id: s.section_id,
                status,
            }
        })
        .collect();
    let proposal = Proposal::assemble(&inputs.ledger, &inputs.outline, results, "service");
    Ok((proposal, inputs.ledger))
}

fn blocking_reasons(proposal: &Proposal, ledger: &aibid_tender::RequirementLedger) -> ExportCheck {
    let report = check_proposal(proposal, ledger);
    let mut blocking = Vec::new();
    if !report.coverage.unassigned.is_empty() {
        blocking.push(format!(
            "未分配到章节的要求: {}",
            report.coverage.unassigned.join(", ")
        ));
    }
    if !report.unanswered_mandatory.is_empty() {
        blocking.push(format!(
            "未响应的实质性(★)要求: {}",
            report.unanswered_mandatory.join(", ")
        ));
    }
    for failed in &report.failed_sections {
        blocking.push(format!(
            "章节 {} {} 生成失败: {}",
            failed.number, failed.title, failed.error
        ));
    }
    if !report.pending_sections.is_empty() {
        blocking.push(format!(
            "尚未完成的章节: {}",
            report.pending_sections.join(", ")
        ));
    }
    ExportCheck {
        ready: blocking.is_empty(),
        blocking,
        answered_share: report.answered_share,
        mandatory_answered_share: report.mandatory_answered_share,
    }
}

#[utoipa::path(get, path = "/api/projects/{id}/export/check", responses((status = 200, body = ExportCheck)))]
pub async fn check(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ExportCheck>> {
    owned_project(&state, &user, &id).await?;
    let (proposal, ledger) = assemble(&state, &id).await?;
    Ok(Json(blocking_reasons(&proposal, &ledger)))
}

#[utoipa::path(post, path = "/api/projects/{id}/exports", responses((status = 201, body = ExportCreated), (status = 409, body = super::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<ExportCreated>)> {
    owned_project(&state, &user, &id).await?;
    let (proposal, ledger) = assemble(&state, &id).await?;
    let verdict = blocking_reasons(&proposal, &ledger);
    if !verdict.ready {
        return Err(ApiError::Conflict(format!(
            "export blocked: {}",
            verdict.blocking.join("; ")
        )));
    }
    let bytes =
        export_docx(&proposal, &ledger).map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    let stored = format!("{}.docx", uuid::Uuid::new_v4());
    StoredFiles::from_settings(&state.settings)
        .write(&state.settings.output_path, &stored, &bytes)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let export_id = match state
        .store
        .record_export(&id, &stored, bytes.len() as i64, &user.id)
        .await
    {
        Ok(export_id) => export_id,
        Err(e) => {
            // No row names the file: remove it. A project deleted meanwhile is a 404, not a 500.
            let _ = tokio::fs::remove_file(state.settings.output_path.join(&stored)).await;
            let deleted = matches!(&e, sqlx::Error::Database(db) if db.is_foreign_key_violation());
            return Err(if deleted {
                ApiError::NotFound("project")
            } else {
                e.into()
            });
        }
    };
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "export.created",
            Some(&id),
            Some(&export_id),
        )
        .await?;
    let download = format!("/api/projects/{id}/exports/{export_id}");
    Ok((
        StatusCode::CREATED,
        Json(ExportCreated {
            export_id,
            download,
        }),
    ))
}

#[utoipa::path(get, path = "/api/projects/{id}/exports/{export}", responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document")))]
pub async fn download(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, export)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let project = owned_project(&state, &user, &id).await?;
    let stored = state
        .store
        .export_file(&id, &export)
        .await?
        .ok_or(ApiError::NotFound("export"))?;
    let bytes = StoredFiles::from_settings(&state.settings)
        .read(&state.settings.output_path, &stored)
        .await
        .map_err(stored_file_error)?;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "export.downloaded",
            Some(&id),
            Some(&export),
        )
        .await?;
    let disposition = download_disposition(&project.name);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                    .to_string(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

/// `attachment` named after the project: `filename*` carries the real (usually Chinese) name, RFC 6266/5987;
/// `filename` an ASCII fallback for old clients. Characters a file name cannot hold are dropped.
fn download_disposition(project_name: &str) -> String {
    let name: String = project_name
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '/' | '\\' | '"' | ':' | '*' | '?' | '<' | '>' | '|')
        })
        .collect();
    let name = name.trim();
    let ascii: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let fallback = if ascii.is_empty() {
        "aibid".into()
    } else {
        ascii
    };
    let full = format!(
        "{}-投标文件.docx",
        if name.is_empty() { "aibid" } else { name }
    );
    format!(
        "attachment; filename=\"proposal-{fallback}.docx\"; filename*=UTF-8''{}",
        percent_encoding::utf8_percent_encode(&full, percent_encoding::NON_ALPHANUMERIC)
    )
}

/// A missing file is 404 (retention may have removed it); one this key cannot open is 409 naming ENCRYPTION_KEY,
/// logged because only the operator can fix it.
fn stored_file_error(e: FileError) -> ApiError {
    match e {
        e if e.is_not_found() => ApiError::NotFound("export file"),
        FileError::Io { .. } | FileError::Encrypt(_) => ApiError::Internal(e.into()),
        FileError::KeyMissing(_) | FileError::WrongKeyOrDamaged(_) | FileError::Truncated(_) => {
            tracing::error!(error = %e, "a stored export cannot be read");
            ApiError::Conflict(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::download_disposition;

    #[test]
    fn the_download_is_named_after_the_project_in_utf8_with_an_ascii_fallback() {
        assert_eq!(
            download_disposition("智慧校园 2026"),
            "attachment; filename=\"proposal-2026.docx\"; \
             filename*=UTF-8''%E6%99%BA%E6%85%A7%E6%A0%A1%E5%9B%AD%202026%2D%E6%8A%95%E6%A0%87%E6%96%87%E4%BB%B6%2Edocx"
        );
        // Quotes, separators and control characters cannot reach the header or the file name.
        let hostile = download_disposition("a\"b/../c\r\nSet-Cookie: x");
        assert!(
            !hostile.contains('\r') && !hostile.contains('\n'),
            "{hostile}"
        );
        assert!(
            hostile.starts_with("attachment; filename=\"proposal-abcSetCookiex.docx\""),
            "{hostile}"
        );
        assert!(download_disposition("《》").contains("filename=\"proposal-aibid.docx\""));
    }
}
