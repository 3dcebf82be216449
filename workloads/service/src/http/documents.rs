//! Tender upload: size-limited multipart, type sniffed from the bytes by aibid-tender, analysed before anything is
//! stored (a bad file stores nothing), saved under a server-chosen name, then ledger and a first outline saved.

use super::auth::AuthUser;
use super::error::{ApiError, ApiResult};
use super::projects::{idle_project, owned_project};
use super::AppState;
use crate::files::StoredFiles;
use crate::store::accounts::Role;
use crate::store::documents::{NewDocument, StoredDocument};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadResult {
    pub document: StoredDocument,
    pub requirements: usize,
    pub outline_version: i64,
    /// PDF pages without a text layer (their text is missing from the ledger).
    pub needs_ocr_pages: Vec<u32>,
}

#[utoipa::path(post, path = "/api/projects/{id}/documents",
    responses((status = 201, body = UploadResult), (status = 413, body = super::error::ErrorBody),
              (status = 415, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> ApiResult<(StatusCode, Json<UploadResult>)> {
    user.require(&[Role::BidManager, Role::Supervisor])?;
    idle_project(&state, &user, &id).await?;
    let limit = state.settings.max_file_size;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the file is larger than the limit of {limit} bytes (MAX_FILE_SIZE)"
        ))
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        if field.name() != Some("file") {
            continue;
        }
        // Display only: the stored name is chosen by the server.
        let original = field
            .file_name()
            .map(display_name)
            .unwrap_or_else(|| "upload".into());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                // Read and drop the rest (bounded by the route's body limit): answering while the client is still
                // sending makes the connection close under it, and it sees a reset instead of this 413.
                while let Ok(Some(_)) = field.chunk().await {}
                drop(field);
                while let Ok(Some(mut rest)) = multipart.next_field().await {
                    while let Ok(Some(_)) = rest.chunk().await {}
                }
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some((original, bytes));
    }
    let (original_name, bytes) =
        file.ok_or_else(|| ApiError::BadRequest("multipart field \"file\" is missing".into()))?;
    if bytes.is_empty() {
        return Err(ApiError::Unprocessable("the file is empty".into()));
    }

    let analysis = crate::pipeline::analyze_upload(&bytes, limit);
    let format_label = analysis
        .as_ref()
        .map(|a| a.format.clone())
        .unwrap_or_else(|_| "unknown".into());
    let outcome = if analysis.is_ok() { "ok" } else { "error" };
    state
        .metrics
        .documents_parsed
        .get_or_create(&crate::metrics::ParseLabels {
            format: format_label,
            outcome: outcome.into(),
        })
        .inc();
    let analysis = analysis.map_err(|e| match e {
        crate::pipeline::UploadError::Unsupported(m) => ApiError::UnsupportedMediaType(m),
        crate::pipeline::UploadError::TooLarge(m) => ApiError::PayloadTooLarge(m),
        crate::pipeline::UploadError::Unreadable(m) => ApiError::Unprocessable(m),
    })?;

    let stored_name = format!("{}.{}", uuid::Uuid::new_v4(), analysis.format);
    let dir = &state.settings.upload_path;
    StoredFiles::from_settings(&state.settings)
        .write(dir, &stored_name, &bytes)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    // Of the plaintext, also when the file on disk is encrypted.
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let saved = save_analysis(
        &state,
        &user,
        &id,
        &original_name,
        &stored_name,
        &sha256,
        bytes.len() as i64,
        &analysis,
    )
    .await;
    match saved {
        Ok(result) => Ok((StatusCode::CREATED, Json(result))),
        Err(e) => {
            // Nothing half-stored: the file goes when its rows could not be written.
            let _ = tokio::fs::remove_file(dir.join(&stored_name)).await;
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn save_analysis(
    state: &AppState,
    user: &AuthUser,
    project_id: &str,
    original_name: &str,
    stored_name: &str,
    sha256: &str,
    size: i64,
    analysis: &crate::pipeline::UploadAnalysis,
) -> ApiResult<UploadResult> {
    let json = |v: serde_json::Result<String>| v.map_err(|e| ApiError::Internal(e.into()));
    let analysis_json = json(serde_json::to_string(&analysis.report))?;
    let document_json = json(serde_json::to_string(&analysis.document))?;
    let ledger_json = json(serde_json::to_string(&analysis.ledger))?;
    let outline_json = json(serde_json::to_string(&analysis.outline))?;
    let doc_id = state
        .store
        .insert_document(&NewDocument {
            project_id,
            original_name,
            stored_name,
            format: &analysis.format,
            size_bytes: size,
            sha256,
            pages: analysis.document.pages.map(i64::from),
            analysis_json: &analysis_json,
            document_json: &document_json,
            ledger_json: &ledger_json,
        })
        .await?;
    state
        .store
        .save_ledger(project_id, &analysis.ledger.requirements)
        .await?;
    let outline_version = state
        .store
        .save_outline(project_id, &outline_json, None)
        .await?;
    state
        .store
        .set_project_status(project_id, "outlined")
        .await?;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "document.uploaded",
            Some(project_id),
            Some(sha256),
        )
        .await?;
    let document = state
        .store
        .documents(project_id)
        .await?
        .into_iter()
        .find(|d| d.id == doc_id)
        .ok_or(ApiError::NotFound("document"))?;
    Ok(UploadResult {
        document,
        requirements: analysis.ledger.requirements.len(),
        outline_version,
        needs_ocr_pages: analysis.document.needs_ocr_pages.clone(),
    })
}

/// The client's name reduced to a display label: no directories, no control characters, bounded length.
pub fn display_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() || clean == "." || clean == ".." {
        "upload".into()
    } else {
        clean
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!(
            "the upload is larger than the limit of {limit} bytes (MAX_FILE_SIZE)"
        ))
    } else {
        ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

#[utoipa::path(get, path = "/api/projects/{id}/documents", responses((status = 200, body = [StoredDocument])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<StoredDocument>>> {
    owned_project(&state, &user, &id).await?;
    Ok(Json(state.store.documents(&id).await?))
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn client_paths_never_survive_into_names() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("..\\..\\windows\\win.ini"), "win.ini");
        assert_eq!(display_name(".."), "upload");
        assert_eq!(display_name("招标文件.pdf"), "招标文件.pdf");
    }
}
