//! Proposal sections: status, content versions, review and revision count. A section has at most one generated
//! result, however often its task runs (the insert is conditional on the section still waiting).

use super::{now, DbError, Store};
use serde::Serialize;
use sqlx::Row;

/// Counts of a project's sections by state (see [`Store::section_tally`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionTally {
    pub total: i64,
    /// Pending or running.
    pub open: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Section {
    pub section_id: String,
    pub position: i64,
    pub title: String,
    /// pending, running, done, failed, approved
    pub status: String,
    pub revision_count: i64,
    pub reviewer: Option<String>,
    pub error: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub content: Option<String>,
    pub version: Option<i64>,
}

/// `with_content`: whether the row has the latest version's `content` and `version` columns.
fn section_from_row(r: &sqlx::any::AnyRow, with_content: bool) -> Result<Section, DbError> {
    Ok(Section {
        section_id: r.try_get("section_id")?,
        position: r.try_get("position")?,
        title: r.try_get("title")?,
        status: r.try_get("status")?,
        revision_count: r.try_get("revision_count")?,
        reviewer: r.try_get("reviewer")?,
        error: r.try_get("error")?,
        tokens_in: r.try_get("tokens_in")?,
        tokens_out: r.try_get("tokens_out")?,
        content: if with_content {
            r.try_get("content")?
        } else {
            None
        },
        version: if with_content {
            r.try_get("version")?
        } else {
            None
        },
    })
}

impl Store {
    /// Replaces the project's sections with a fresh pending set (a new generation run).
    /// Lines the project's sections up with an approved outline for a generation run and returns the ids that
    /// need writing, in outline order. Sections already written (done or approved) keep their content, versions,
    /// revision count and review; the others (new, pending, failed) are set pending. Sections the outline no
    /// longer has are removed with their versions. Nothing changes when there is nothing to write.
    pub async fn prepare_sections(
        &self,
        project_id: &str,
        sections: &[(String, String)],
    ) -> Result<Vec<String>, DbError> {
        let mut tx = self.pool.begin().await?;
        let existing: std::collections::HashMap<String, String> =
            sqlx::query("SELECT section_id, status FROM sections WHERE project_id = $1")
                .bind(project_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("section_id")?, r.try_get("status")?)))
                .collect::<Result<_, DbError>>()?;
        let written = |id: &str| {
            existing
                .get(id)
                .is_some_and(|status| status == "done" || status == "approved")
        };
        let to_write: Vec<String> = sections
            .iter()
            .filter(|(id, _)| !written(id))
            .map(|(id, _)| id.clone())
            .collect();
        if to_write.is_empty() {
            return Ok(to_write);
        }
        let in_outline: std::collections::HashSet<&str> =
            sections.iter().map(|(id, _)| id.as_str()).collect();
        for gone in existing
            .keys()
            .filter(|id| !in_outline.contains(id.as_str()))
        {
            for table in ["section_versions", "sections"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE project_id = $1 AND section_id = $2"
                ))
                .bind(project_id)
                .bind(gone)
                .execute(&mut *tx)
                .await?;
            }
        }
        for (position, (id, title)) in sections.iter().enumerate() {
            let statement = if !existing.contains_key(id) {
                "INSERT INTO sections (project_id, section_id, position, title, status) \
                 VALUES ($1, $2, $3, $4, 'pending')"
            } else if written(id) {
                "UPDATE sections SET position = $3, title = $4 WHERE project_id = $1 AND section_id = $2"
            } else {
                "UPDATE sections SET position = $3, title = $4, status = 'pending', error = NULL \
                 WHERE project_id = $1 AND section_id = $2"
            };
            sqlx::query(statement)
                .bind(project_id)
                .bind(id)
                .bind(position as i64)
                .bind(title)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(to_write)
    }

    /// Stores a generated section once. Returns false when the section already had a result (a task ran twice).
    pub async fn record_generated_section(
        &self,
        project_id: &str,
        section_id: &str,
        content: &str,
        tokens: (i64, i64),
    ) -> Result<bool, DbError> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE sections SET status = 'done', error = NULL, tokens_in = $1, tokens_out = $2 \
             WHERE project_id = $3 AND section_id = $4 AND status IN ('pending', 'running', 'failed')",
        )
        .bind(tokens.0)
        .bind(tokens.1)
        .bind(project_id)
        .bind(section_id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO section_versions (project_id, section_id, version, content, author, created_at) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(version), 0) + 1 FROM section_versions \
             WHERE project_id = $1 AND section_id = $2), $3, 'generator', $4)",
        )
        .bind(project_id)
        .bind(section_id)
        .bind(content)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn set_section_status(
        &self,
        project_id: &str,
        section_id: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE sections SET status = $1, error = $2 WHERE project_id = $3 AND section_id = $4 AND status <> 'done'")
            .bind(status)
            .bind(error)
            .bind(project_id)
            .bind(section_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many of the project's sections there are, are still to be written, and failed: one counting query,
    /// run after every task (the full [`Store::sections`] carries every draft).
    pub async fn section_tally(&self, project_id: &str) -> Result<SectionTally, DbError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN status IN ('pending', 'running') THEN 1 ELSE 0 END), 0) AS open, \
             COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed \
             FROM sections WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(SectionTally {
            total: row.try_get("total")?,
            open: row.try_get("open")?,
            failed: row.try_get("failed")?,
        })
    }

    pub async fn sections(&self, project_id: &str) -> Result<Vec<Section>, DbError> {
        let rows = sqlx::query(
            "SELECT s.section_id, s.position, s.title, s.status, s.revision_count, s.reviewer, s.error, s.tokens_in, \
             s.tokens_out, v.content, v.version FROM sections s LEFT JOIN section_versions v ON v.project_id = s.project_id \
             AND v.section_id = s.section_id AND v.version = (SELECT MAX(version) FROM section_versions x \
             WHERE x.project_id = s.project_id AND x.section_id = s.section_id) WHERE s.project_id = $1 ORDER BY s.position",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| section_from_row(r, true)).collect()
    }

    /// The sections without their content and version (`None`): what progress shows, polled every second by each
    /// open progress stream, without reading every draft.
    pub async fn section_states(&self, project_id: &str) -> Result<Vec<Section>, DbError> {
        let rows = sqlx::query(
            "SELECT section_id, position, title, status, revision_count, reviewer, error, tokens_in, tokens_out \
             FROM sections WHERE project_id = $1 ORDER BY position",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| section_from_row(r, false)).collect()
    }

    /// A user's edit: a new content version, one more revision, review reset.
    pub async fn edit_section(
        &self,
        project_id: &str,
        section_id: &str,
        content: &str,
        user: &str,
    ) -> Result<bool, DbError> {
        let mut tx = self.pool.begin().await?;
        // The row update first: on PostgreSQL it locks the section, so a concurrent edit waits here and then
        // counts this edit's version instead of taking the same number.
        let updated = sqlx::query(
            "UPDATE sections SET revision_count = revision_count + 1, status = 'done', reviewer = NULL, approved_at = NULL \
             WHERE project_id = $1 AND section_id = $2",
        )
        .bind(project_id)
        .bind(section_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        let next: i64 = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM section_versions WHERE project_id = $1 AND section_id = $2",
        )
        .bind(project_id)
        .bind(section_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("next")?;
        sqlx::query(
            "INSERT INTO section_versions (project_id, section_id, version, content, author, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(project_id)
        .bind(section_id)
        .bind(next)
        .bind(content)
        .bind(user)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Puts a section back to pending for a new generated version; counts as a revision.
    pub async fn reopen_section(
        &self,
        project_id: &str,
        section_id: &str,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE sections SET status = 'pending', revision_count = revision_count + 1, reviewer = NULL, \
             approved_at = NULL WHERE project_id = $1 AND section_id = $2 AND status IN ('done', 'approved', 'failed')",
        )
        .bind(project_id)
        .bind(section_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn approve_section(
        &self,
        project_id: &str,
        section_id: &str,
        reviewer: &str,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE sections SET status = 'approved', reviewer = $1, approved_at = $2 \
             WHERE project_id = $3 AND section_id = $4 AND status IN ('done', 'approved')",
        )
        .bind(reviewer)
        .bind(now())
        .bind(project_id)
        .bind(section_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Earlier section texts of the organisation's other projects (the originality report's reference set).
    /// Latest content of every section of the organisation's projects created before `project_id` (the
    /// originality report compares a proposal only with earlier ones), as (project name, title, content).
    pub async fn org_section_texts_before(
        &self,
        org_id: &str,
        project_id: &str,
    ) -> Result<Vec<(String, String, String)>, DbError> {
        let rows = sqlx::query(
            "SELECT p.name, s.title, v.content FROM section_versions v JOIN sections s ON s.project_id = v.project_id \
             AND s.section_id = v.section_id JOIN projects p ON p.id = v.project_id \
             JOIN projects this ON this.id = $2 WHERE p.org_id = $1 \
             AND (p.created_at < this.created_at OR (p.created_at = this.created_at AND p.id < this.id)) AND v.version = (SELECT MAX(version) FROM section_versions x WHERE x.project_id = v.project_id \
             AND x.section_id = v.section_id)",
        )
        .bind(org_id)
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("name")?,
                    r.try_get("title")?,
                    r.try_get("content")?,
                ))
            })
            .collect()
    }
}
