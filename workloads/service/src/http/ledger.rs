//! The requirement ledger of a project and the outline built on it: review, edit, approve.

use super::auth::AuthUser;
use super::error::{ApiError, ApiResult};
use super::projects::{idle_project, owned_project};
use super::AppState;
use crate::store::accounts::Role;
use crate::store::ledger::LedgerItem;
use crate::store::outlines::OutlineVersion;
use aibid_proposal::outline::Outline;
use aibid_tender::SourceAnchor;
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
    idle_project(&state, &user, &id).await?;
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

/// Saves an edited outline as a new (unapproved) version. Every section needs an id usable in a URL, a title, a
/// level of 1 to 4, a word budget of at most 20,000 and only requirement ids of this project's ledger.
#[utoipa::path(put, path = "/api/projects/{id}/outline", responses((status = 200, body = OutlineView)))]
pub async fn put_outline(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<Json<OutlineView>> {
    user.require(&[Role::BidManager, Role::Supervisor])?;
    idle_project(&state, &user, &id).await?;
    let outline: Outline =
        serde_json::from_value(body).map_err(|e| ApiError::BadRequest(format!("outline: {e}")))?;
    let ledger_ids: std::collections::HashSet<String> =
        state.store.ledger_ids(&id).await?.into_iter().collect();
    check_outline(&outline, &ledger_ids)
        .map_err(|e| ApiError::BadRequest(format!("outline: {e}")))?;
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

/// Limits of an edited outline: every section must be addressable in a URL and writable by one task.
const MAX_SECTIONS: usize = 300;
const MAX_WORD_BUDGET: u32 = 20_000;
const MAX_TITLE_CHARS: usize = 200;

/// What a person's outline must satisfy before it is stored (the planner's own outlines always do).
fn check_outline(
    outline: &Outline,
    ledger_ids: &std::collections::HashSet<String>,
) -> Result<(), String> {
    if outline.sections.is_empty() {
        return Err("needs at least one section".into());
    }
    if outline.sections.len() > MAX_SECTIONS {
        return Err(format!(
            "{} sections; at most {MAX_SECTIONS}",
            outline.sections.len()
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for section in &outline.sections {
        let id = &section.id;
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !id_ok {
            return Err(format!(
                "section id {id:?}: 1 to 64 characters of A-Z, a-z, 0-9, '-', '_' or '.'"
            ));
        }
        if !ids.insert(id.as_str()) {
            return Err(format!("section id {id:?} appears twice"));
        }
        let title = section.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(format!(
                "section {id:?}: a title of 1 to {MAX_TITLE_CHARS} characters is required"
            ));
        }
        if !(1..=4).contains(&section.level) {
            return Err(format!("section {id:?}: level {} (1 to 4)", section.level));
        }
        if section.word_budget > MAX_WORD_BUDGET {
            return Err(format!(
                "section {id:?}: word_budget {} (at most {MAX_WORD_BUDGET})",
                section.word_budget
            ));
        }
        if let Some(unknown) = section
            .requirement_ids
            .iter()
            .find(|r| !ledger_ids.contains(*r))
        {
            return Err(format!(
                "section {id:?}: requirement {unknown:?} is not in the ledger"
            ));
        }
    }
    Ok(())
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
    idle_project(&state, &user, &id).await?;
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

/// One block of the tender around a ledger item's anchor; `anchored` marks the block the item came from.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PassageBlock {
    /// heading, paragraph or table.
    pub kind: &'static str,
    /// Headings with their number; table rows as cells joined by " | ", one row per line.
    pub text: String,
    #[schema(value_type = Object)]
    pub anchor: SourceAnchor,
    pub anchored: bool,
}

/// The tender passage a ledger item was extracted from.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourcePassage {
    pub item_id: String,
    #[schema(value_type = Object)]
    pub anchor: SourceAnchor,
    /// The headings above the anchored block, outermost first.
    pub heading_path: Vec<String>,
    pub blocks: Vec<PassageBlock>,
}

/// Blocks shown before and after the anchored one.
const PASSAGE_CONTEXT: usize = 3;

fn block_view(block: &aibid_tender::Block) -> Option<(&'static str, String, SourceAnchor)> {
    use aibid_tender::Block;
    match block {
        Block::Heading {
            number,
            text,
            anchor,
            ..
        } => Some((
            "heading",
            aibid_tender::numbered_heading(number.as_deref(), text),
            *anchor,
        )),
        Block::Paragraph { text, anchor } => Some(("paragraph", text.clone(), *anchor)),
        Block::Table { rows, anchor } => {
            let text = rows
                .iter()
                .map(|row| {
                    row.iter()
                        .filter(|c| !c.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect::<Vec<_>>()
                .join("\n");
            Some(("table", text, *anchor))
        }
        Block::PageBreak { .. } => None,
    }
}

/// Whether a block sits at an item's anchor. A table item names its row; the block is the whole table.
fn same_place(block: &SourceAnchor, item: &SourceAnchor) -> bool {
    match (block, item) {
        (SourceAnchor::Table { index: a, .. }, SourceAnchor::Table { index: b, .. }) => a == b,
        _ => block == item,
    }
}

fn without_spaces(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The passage around `anchor`: several blocks share one anchor (a PDF page), so among them the block holding
/// the item's original text wins, else the first. None when no block is at the anchor.
pub fn source_passage(
    document: &aibid_tender::TenderDocument,
    item_id: &str,
    anchor: SourceAnchor,
    original_text: &str,
) -> Option<SourcePassage> {
    use aibid_tender::Block;
    let blocks: Vec<(&Block, (&'static str, String, SourceAnchor))> = document
        .blocks
        .iter()
        .filter_map(|b| block_view(b).map(|v| (b, v)))
        .collect();
    let wanted = without_spaces(original_text);
    // The extractor may trim a line's label or marker; a prefix of the item still finds its block.
    let probe: String = wanted.chars().take(24).collect();
    let at_anchor: Vec<usize> = (0..blocks.len())
        .filter(|&i| same_place(&blocks[i].1 .2, &anchor))
        .collect();
    let found = at_anchor
        .iter()
        .copied()
        .find(|&i| !probe.is_empty() && without_spaces(&blocks[i].1 .1).contains(&probe))
        .or_else(|| at_anchor.first().copied())?;
    let mut path: Vec<(u8, String)> = Vec::new();
    for (block, (_, text, _)) in &blocks[..=found] {
        if let Block::Heading { level, .. } = block {
            while path.last().is_some_and(|(l, _)| l >= level) {
                path.pop();
            }
            path.push((*level, text.clone()));
        }
    }
    let start = found.saturating_sub(PASSAGE_CONTEXT);
    let end = (found + PASSAGE_CONTEXT + 1).min(blocks.len());
    Some(SourcePassage {
        item_id: item_id.to_string(),
        anchor,
        heading_path: path.into_iter().map(|(_, text)| text).collect(),
        blocks: blocks[start..end]
            .iter()
            .enumerate()
            .map(|(offset, (_, (kind, text, anchor)))| PassageBlock {
                kind,
                text: text.clone(),
                anchor: *anchor,
                anchored: start + offset == found,
            })
            .collect(),
    })
}

/// The tender passage around a ledger item's anchor (the jump from the ledger to the source).
#[utoipa::path(get, path = "/api/projects/{id}/ledger/{item}/source", responses((status = 200, body = SourcePassage), (status = 404)))]
pub async fn item_source(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, item)): Path<(String, String)>,
) -> ApiResult<Json<SourcePassage>> {
    owned_project(&state, &user, &id).await?;
    let entry = state
        .store
        .ledger_item(&id, &item)
        .await?
        .ok_or(ApiError::NotFound("ledger item"))?;
    let (document_json, _) = state
        .store
        .latest_document(&id)
        .await?
        .ok_or(ApiError::NotFound("document"))?;
    let document: aibid_tender::TenderDocument =
        serde_json::from_str(&document_json).map_err(|e| ApiError::Internal(e.into()))?;
    let anchor: SourceAnchor =
        serde_json::from_value(entry.anchor).map_err(|e| ApiError::Internal(e.into()))?;
    source_passage(&document, &entry.id, anchor, &entry.original_text)
        .map(Json)
        .ok_or(ApiError::NotFound("source passage"))
}
