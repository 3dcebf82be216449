//! Projects, always scoped to the caller's organisation (the org id is part of every query).

use super::{new_id, now, DbError, Store};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Project {
    pub id: String,
    pub name: String,
    /// created, analysed, outlined, approved, generating, generated, failed, cancelled
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

fn project_from_row(r: &sqlx::any::AnyRow) -> Result<Project, DbError> {
    Ok(Project {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    pub async fn create_project(
        &self,
        org_id: &str,
        user_id: &str,
        name: &str,
    ) -> Result<Project, DbError> {
        let id = new_id();
        let t = now();
        sqlx::query(
            "INSERT INTO projects (id, org_id, name, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, 'created', $4, $5, $5)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(name)
        .bind(user_id)
        .bind(t)
        .execute(&self.pool)
        .await?;
        Ok(Project {
            id,
            name: name.to_string(),
            status: "created".into(),
            created_at: t,
            updated_at: t,
        })
    }

    pub async fn list_projects(
        &self,
        org_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Project>, DbError> {
        let rows = sqlx::query(
            "SELECT id, name, status, created_at, updated_at FROM projects WHERE org_id = $1 \
             ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
        )
        .bind(org_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(project_from_row).collect()
    }

    /// None when the project does not exist *or* belongs to another organisation (callers answer 404 for both).
    pub async fn project(&self, org_id: &str, id: &str) -> Result<Option<Project>, DbError> {
        let row = sqlx::query(
            "SELECT id, name, status, created_at, updated_at FROM projects WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    /// The organisation owning a project (workers act without a user).
    pub async fn project_org(&self, id: &str) -> Result<Option<String>, DbError> {
        let row = sqlx::query("SELECT org_id FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("org_id")).transpose()
    }

    pub async fn project_status(&self, id: &str) -> Result<Option<String>, DbError> {
        let row = sqlx::query("SELECT status FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("status")).transpose()
    }

    pub async fn rename_project(
        &self,
        org_id: &str,
        id: &str,
        name: &str,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE projects SET name = $1, updated_at = $2 WHERE org_id = $3 AND id = $4",
        )
        .bind(name)
        .bind(now())
        .bind(org_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_project_status(&self, id: &str, status: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE projects SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_project(&self, org_id: &str, id: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM projects WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks the project generating unless it already is; false when another start got there first.
    pub async fn claim_generation(&self, id: &str) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE projects SET status = 'generating', updated_at = $1 WHERE id = $2 AND status <> 'generating'",
        )
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets the status generation ended with; true only for the call that changed it, so concurrent workers
    /// finishing the last sections count a completion once.
    pub async fn finish_project_generation(&self, id: &str, status: &str) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE projects SET status = $1, updated_at = $2 WHERE id = $3 AND status <> $1",
        )
        .bind(status)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
