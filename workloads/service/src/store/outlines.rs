//! Outline versions of a project. Each edit makes a new version; generation starts only from an approved one.

use super::{now, DbError, Store};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutlineVersion {
    pub version: i64,
    #[schema(value_type = Object)]
    pub outline: serde_json::Value,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub approved_by: Option<String>,
    pub approved_at: Option<i64>,
}

impl Store {
    pub async fn save_outline(
        &self,
        project_id: &str,
        outline_json: &str,
        user: Option<&str>,
    ) -> Result<i64, DbError> {
        let mut tx = self.pool.begin().await?;
        let next: i64 = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM outlines WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("next")?;
        sqlx::query(
            "INSERT INTO outlines (project_id, version, outline_json, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(project_id)
        .bind(next)
        .bind(outline_json)
        .bind(user)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(next)
    }

    pub async fn latest_outline(
        &self,
        project_id: &str,
    ) -> Result<Option<OutlineVersion>, DbError> {
        let row = sqlx::query(
            "SELECT version, outline_json, created_by, created_at, approved_by, approved_at FROM outlines \
             WHERE project_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let json: String = r.try_get("outline_json")?;
            Ok(OutlineVersion {
                version: r.try_get("version")?,
                outline: serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                approved_by: r.try_get("approved_by")?,
                approved_at: r.try_get("approved_at")?,
            })
        })
        .transpose()
    }

    /// Approves one version; false when that version is not the latest (an edit happened meanwhile).
    pub async fn approve_outline(
        &self,
        project_id: &str,
        version: i64,
        user: &str,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE outlines SET approved_by = $1, approved_at = $2 WHERE project_id = $3 AND version = $4 \
             AND version = (SELECT MAX(version) FROM outlines WHERE project_id = $3)",
        )
        .bind(user)
        .bind(now())
        .bind(project_id)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
