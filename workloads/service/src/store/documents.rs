//! Uploaded tender documents: stored under a server-chosen name, with their sha256 and analysis.

use super::{new_id, now, DbError, Store};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredDocument {
    pub id: String,
    pub project_id: String,
    /// The client's file name, kept for display only (never used as a path).
    pub original_name: String,
    #[serde(skip)]
    pub stored_name: String,
    pub format: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub pages: Option<i64>,
    pub created_at: i64,
}

pub struct NewDocument<'a> {
    pub project_id: &'a str,
    pub original_name: &'a str,
    pub stored_name: &'a str,
    pub format: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub pages: Option<i64>,
    pub analysis_json: &'a str,
    /// The parsed TenderDocument (workers build section requests from it without re-parsing).
    pub document_json: &'a str,
    /// The whole RequirementLedger as analysed (facts, markers, response format); items are also rows.
    pub ledger_json: &'a str,
}

/// (`upload` | `export`, stored name): the shape [`crate::files::remove_stored`] takes.
fn stored_file_from_row(r: &sqlx::any::AnyRow) -> Result<(String, String), DbError> {
    Ok((r.try_get("kind")?, r.try_get("stored_name")?))
}

impl Store {
    pub async fn insert_document(&self, doc: &NewDocument<'_>) -> Result<String, DbError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO documents (id, project_id, original_name, stored_name, format, size_bytes, sha256, pages, \
             analysis_json, document_json, ledger_json, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&id)
        .bind(doc.project_id)
        .bind(doc.original_name)
        .bind(doc.stored_name)
        .bind(doc.format)
        .bind(doc.size_bytes)
        .bind(doc.sha256)
        .bind(doc.pages)
        .bind(doc.analysis_json)
        .bind(doc.document_json)
        .bind(doc.ledger_json)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn documents(&self, project_id: &str) -> Result<Vec<StoredDocument>, DbError> {
        let rows = sqlx::query(
            "SELECT id, project_id, original_name, stored_name, format, size_bytes, sha256, pages, created_at \
             FROM documents WHERE project_id = $1 ORDER BY created_at",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredDocument {
                    id: r.try_get("id")?,
                    project_id: r.try_get("project_id")?,
                    original_name: r.try_get("original_name")?,
                    stored_name: r.try_get("stored_name")?,
                    format: r.try_get("format")?,
                    size_bytes: r.try_get("size_bytes")?,
                    sha256: r.try_get("sha256")?,
                    pages: r.try_get("pages")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// The analysis (AnalysisReport JSON) of the project's latest document.
    pub async fn latest_analysis(&self, project_id: &str) -> Result<Option<String>, DbError> {
        let row = sqlx::query(
            "SELECT analysis_json FROM documents WHERE project_id = $1 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("analysis_json")).transpose()
    }

    /// (document JSON, ledger JSON) of the project's latest document.
    pub async fn latest_document(
        &self,
        project_id: &str,
    ) -> Result<Option<(String, String)>, DbError> {
        let row = sqlx::query(
            "SELECT document_json, ledger_json FROM documents WHERE project_id = $1 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("document_json")?, r.try_get("ledger_json")?)))
            .transpose()
    }

    /// The files a project's uploads and exports are stored under, as (upload | export, stored name).
    pub async fn project_stored_files(
        &self,
        project_id: &str,
    ) -> Result<Vec<(String, String)>, DbError> {
        let rows = sqlx::query(
            "SELECT 'upload' AS kind, stored_name FROM documents WHERE project_id = $1 \
             UNION ALL SELECT 'export' AS kind, stored_name FROM exports WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_file_from_row).collect()
    }

    pub async fn stored_files_older_than(
        &self,
        cutoff: i64,
    ) -> Result<Vec<(String, String)>, DbError> {
        let rows = sqlx::query(
            "SELECT 'upload' AS kind, stored_name FROM documents WHERE created_at < $1 \
             UNION ALL SELECT 'export' AS kind, stored_name FROM exports WHERE created_at < $1",
        )
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_file_from_row).collect()
    }

    pub async fn record_export(
        &self,
        project_id: &str,
        stored_name: &str,
        size: i64,
        user: &str,
    ) -> Result<String, DbError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO exports (id, project_id, stored_name, size_bytes, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(project_id)
        .bind(stored_name)
        .bind(size)
        .bind(user)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn export_file(
        &self,
        project_id: &str,
        export_id: &str,
    ) -> Result<Option<String>, DbError> {
        let row = sqlx::query("SELECT stored_name FROM exports WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(export_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("stored_name")).transpose()
    }
}
