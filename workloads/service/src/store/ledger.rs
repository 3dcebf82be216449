//! Ledger items of a project. Users may edit an item's text; the extracted original is kept beside the edit,
//! and a re-analysis keeps the edit while the item is still the same requirement.

use super::{now, DbError, Store};
use aibid_tender::{Requirement, RequirementKind};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerItem {
    pub id: String,
    pub kind: String,
    pub text: String,
    pub original_text: String,
    pub marker: Option<String>,
    pub points: Option<f64>,
    pub category: Option<String>,
    #[schema(value_type = Object)]
    pub anchor: serde_json::Value,
    pub edited_by: Option<String>,
}

fn kind_name(kind: RequirementKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

const LEDGER_ITEM_COLUMNS: &str =
    "item_id, kind, text, original_text, marker, points, category, anchor_json, edited_by";

fn ledger_item_from_row(r: &sqlx::any::AnyRow) -> Result<LedgerItem, DbError> {
    let anchor: String = r.try_get("anchor_json")?;
    Ok(LedgerItem {
        id: r.try_get("item_id")?,
        kind: r.try_get("kind")?,
        text: r.try_get("text")?,
        original_text: r.try_get("original_text")?,
        marker: r.try_get("marker")?,
        points: r.try_get("points")?,
        category: r.try_get("category")?,
        anchor: serde_json::from_str(&anchor).unwrap_or(serde_json::Value::Null),
        edited_by: r.try_get("edited_by")?,
    })
}

impl Store {
    /// Replaces the project's ledger with a new analysis (a project holds one tender; a new upload replaces it).
    /// A user's edit survives when its item is still the same requirement (same id, same extracted text); an item
    /// the new analysis no longer has is removed, and an id that now names a different requirement starts afresh.
    pub async fn save_ledger(
        &self,
        project_id: &str,
        items: &[Requirement],
    ) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        // Items of an earlier tender that this analysis does not have. Ids are bound one by one (the Any driver
        // has no array binds).
        let placeholders: Vec<String> = (2..items.len() + 2).map(|n| format!("${n}")).collect();
        let remove_others = if items.is_empty() {
            "DELETE FROM ledger_items WHERE project_id = $1".to_string()
        } else {
            format!(
                "DELETE FROM ledger_items WHERE project_id = $1 AND item_id NOT IN ({})",
                placeholders.join(", ")
            )
        };
        let mut query = sqlx::query(&remove_others).bind(project_id);
        for item in items {
            query = query.bind(&item.id);
        }
        query.execute(&mut *tx).await?;
        for (position, item) in items.iter().enumerate() {
            let anchor = serde_json::to_string(&item.anchor).unwrap_or_else(|_| "{}".into());
            // The SET expressions read the stored row as it was: an edit is kept only on the same requirement.
            sqlx::query(
                "INSERT INTO ledger_items (project_id, item_id, kind, text, original_text, marker, points, category, \
                 anchor_json, requirement_json, position) VALUES ($1, $2, $3, $4, $4, $5, CAST($6 AS DOUBLE PRECISION), $7, $8, $9, $10) \
                 ON CONFLICT (project_id, item_id) DO UPDATE SET original_text = excluded.original_text, \
                 requirement_json = excluded.requirement_json, \
                 kind = excluded.kind, marker = excluded.marker, points = excluded.points, \
                 category = excluded.category, anchor_json = excluded.anchor_json, position = excluded.position, \
                 text = CASE WHEN ledger_items.edited_by IS NOT NULL AND ledger_items.original_text = excluded.original_text \
                   THEN ledger_items.text ELSE excluded.text END, \
                 edited_at = CASE WHEN ledger_items.original_text = excluded.original_text \
                   THEN ledger_items.edited_at ELSE NULL END, \
                 edited_by = CASE WHEN ledger_items.original_text = excluded.original_text \
                   THEN ledger_items.edited_by ELSE NULL END",
            )
            .bind(project_id)
            .bind(&item.id)
            .bind(kind_name(item.kind))
            .bind(&item.text)
            .bind(&item.marker)
            // As text: sqlx 0.8's Any driver binds a None f64 as a float4 NULL, and PostgreSQL then rejects the
            // next row's float8 under the cached statement ("incorrect binary data format in bind parameter").
            .bind(item.points.map(|points| points.to_string()))
            .bind(&item.category)
            .bind(anchor)
            .bind(serde_json::to_string(item).unwrap_or_else(|_| "{}".into()))
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    pub async fn ledger(&self, project_id: &str) -> Result<Vec<LedgerItem>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {LEDGER_ITEM_COLUMNS} FROM ledger_items WHERE project_id = $1 ORDER BY position"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ledger_item_from_row).collect()
    }

    /// The ids of a project's ledger items (what an outline or an edit may refer to).
    pub async fn ledger_ids(&self, project_id: &str) -> Result<Vec<String>, DbError> {
        let rows =
            sqlx::query("SELECT item_id FROM ledger_items WHERE project_id = $1 ORDER BY position")
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| r.try_get("item_id")).collect()
    }

    /// One item of a project's ledger (the source view needs one, not all of them).
    pub async fn ledger_item(
        &self,
        project_id: &str,
        item_id: &str,
    ) -> Result<Option<LedgerItem>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {LEDGER_ITEM_COLUMNS} FROM ledger_items WHERE project_id = $1 AND item_id = $2"
        ))
        .bind(project_id)
        .bind(item_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ledger_item_from_row).transpose()
    }

    pub async fn edit_ledger_item(
        &self,
        project_id: &str,
        item_id: &str,
        text: &str,
        user: &str,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE ledger_items SET text = $1, edited_by = $2, edited_at = $3 WHERE project_id = $4 AND item_id = $5",
        )
        .bind(text)
        .bind(user)
        .bind(now())
        .bind(project_id)
        .bind(item_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The ledger as the pipeline's type, with user edits applied.
    pub async fn ledger_requirements(&self, project_id: &str) -> Result<Vec<Requirement>, DbError> {
        let rows = sqlx::query(
            "SELECT text, requirement_json FROM ledger_items WHERE project_id = $1 ORDER BY position",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let json: String = row.try_get("requirement_json")?;
            let mut requirement: Requirement = serde_json::from_str(&json)
                .map_err(|e| DbError::Protocol(format!("ledger item not readable: {e}")))?;
            requirement.text = row.try_get("text")?;
            out.push(requirement);
        }
        Ok(out)
    }
}
