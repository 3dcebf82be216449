//! Originality report: how much of each section repeats the organisation's own earlier proposals, by character
//! shingles, after removing text quoted from this tender (quoting the tender is expected, not copying).
//! Hand-written: a few lines of shingling; no crate does "Jaccard minus quoted text".

use super::auth::AuthUser;
use super::error::ApiResult;
use super::projects::owned_project;
use super::AppState;
use aibid_proposal::write::SectionDraft;
use aibid_tender::{Block, TenderDocument};
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use std::collections::HashSet;

/// Shingle length in characters (Chinese text has no word boundaries).
const SHINGLE: usize = 8;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SectionOriginality {
    pub section_id: String,
    pub title: String,
    /// Share of the section's own (non-quoted) shingles found in the closest earlier section, 0..1.
    pub similarity: f64,
    /// "项目名 / 章节标题" of the closest earlier section, if any overlaps.
    pub closest_source: Option<String>,
}

pub fn shingles(text: &str) -> HashSet<String> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < SHINGLE {
        return HashSet::new();
    }
    chars.windows(SHINGLE).map(|w| w.iter().collect()).collect()
}

fn tender_text(doc: &TenderDocument) -> String {
    let mut out = String::new();
    for block in &doc.blocks {
        match block {
            Block::Heading { text, .. } | Block::Paragraph { text, .. } => out.push_str(text),
            Block::Table { rows, .. } => rows.iter().flatten().for_each(|c| out.push_str(c)),
            Block::PageBreak { .. } => {}
        }
        out.push('\n');
    }
    out
}

/// Containment of `own` in `earlier`: |own ∩ earlier| / |own|.
pub fn similarity(own: &HashSet<String>, earlier: &HashSet<String>) -> f64 {
    if own.is_empty() {
        return 0.0;
    }
    own.intersection(earlier).count() as f64 / own.len() as f64
}

#[utoipa::path(get, path = "/api/projects/{id}/originality", responses((status = 200, body = [SectionOriginality])))]
pub async fn report(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<SectionOriginality>>> {
    owned_project(&state, &user, &id).await?;
    let quoted = match state.store.latest_document(&id).await? {
        Some((json, _)) => serde_json::from_str::<TenderDocument>(&json)
            .map(|d| shingles(&tender_text(&d)))
            .unwrap_or_default(),
        None => HashSet::new(),
    };
    let earlier: Vec<(String, HashSet<String>)> = state
        .store
        .org_section_texts_before(&user.org_id, &id)
        .await?
        .into_iter()
        .map(|(project, title, content)| {
            (
                format!("{project} / {title}"),
                shingles(&draft_text(&content)),
            )
        })
        .collect();
    let mut out = Vec::new();
    for section in state.store.sections(&id).await? {
        let own: HashSet<String> = match &section.content {
            Some(content) => shingles(&draft_text(content))
                .difference(&quoted)
                .cloned()
                .collect(),
            None => HashSet::new(),
        };
        let best = earlier
            .iter()
            .map(|(source, set)| (similarity(&own, set), source))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let (score, source) = match best {
            Some((score, source)) if score > 0.0 => (score, Some(source.clone())),
            _ => (0.0, None),
        };
        out.push(SectionOriginality {
            section_id: section.section_id,
            title: section.title,
            similarity: (score * 1000.0).round() / 1000.0,
            closest_source: source,
        });
    }
    Ok(Json(out))
}

fn draft_text(content: &str) -> String {
    serde_json::from_str::<SectionDraft>(content)
        .map(|d| d.text())
        .unwrap_or_else(|_| content.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_tender_text_does_not_count_as_copying() {
        let tender = shingles("交换容量≥100Tbps，包转发率≥30000Mpps");
        let earlier = shingles("我公司承诺交换容量≥100Tbps，包转发率≥30000Mpps，并提供原厂服务。");
        let own: HashSet<String> =
            shingles("本项目核心交换机交换容量≥100Tbps，包转发率≥30000Mpps，满足要求。")
                .difference(&tender)
                .cloned()
                .collect();
        assert!(
            similarity(&own, &earlier) < 0.2,
            "quoted text must not make the section look copied"
        );
        let copied = shingles("我公司承诺交换容量≥100Tbps，包转发率≥30000Mpps，并提供原厂服务。");
        assert!(similarity(&copied, &earlier) > 0.99);
    }
}
