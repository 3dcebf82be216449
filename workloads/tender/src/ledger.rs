//! The requirement ledger: every atomic requirement of a tender, typed, with a stable id and its source.

use crate::document::SourceAnchor;
use serde::{Deserialize, Serialize};

/// Facts about the project; `None` when the document does not state them (never guessed).
/// Values are copied as written in the tender.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectFacts {
    pub project_name: Option<String>,
    pub project_code: Option<String>,
    pub budget: Option<String>,
    pub deadline: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementKind {
    Qualification,
    Scoring,
    Mandatory,
    Parameter,
    Commercial,
    Format,
    Disqualification,
}

/// A technical parameter's required value: "CPU 核数 ≥ 16 核".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterValue {
    pub name: String,
    /// One of "≥", "≤", "=", ">", "<".
    pub comparator: String,
    pub value: String,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    /// Stable across runs on the same document: kind prefix + ordinal, e.g. "SC-003".
    pub id: String,
    pub kind: RequirementKind,
    pub text: String,
    /// The symbol printed on the item (★, ▲, ...) or None.
    pub marker: Option<String>,
    /// Maximum points, for scoring items.
    pub points: Option<f64>,
    /// For scoring items: 商务, 技术, 价格 (from the group heading, else the item name) or 其他.
    pub category: Option<String>,
    pub anchor: SourceAnchor,
    /// Set for technical parameters with a comparable value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<ParameterValue>,
}

/// What a marker symbol means in this tender, as the tender itself defines it
/// (e.g. "带“▲”的条款是实质性条款" makes ▲ mandatory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerMeaning {
    pub symbol: String,
    /// The tender's own words for it, e.g. "实质性条款" or "主要性能参数".
    pub meaning: String,
    /// Whether deviating from a marked item makes the bid invalid.
    pub mandatory: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequirementLedger {
    pub facts: ProjectFacts,
    pub requirements: Vec<Requirement>,
    /// The response format the tender prescribes (投标文件格式/组成): section titles in order; empty when none.
    #[serde(default)]
    pub response_format: Vec<String>,
    /// Marker symbols and their meaning in this tender.
    #[serde(default)]
    pub markers: Vec<MarkerMeaning>,
    /// Problems found while building the ledger (e.g. scoring points not adding up to the stated total).
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl RequirementLedger {
    pub fn of_kind(&self, kind: RequirementKind) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter().filter(move |r| r.kind == kind)
    }
}
