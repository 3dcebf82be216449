//! Checks a written proposal against its ledger: coverage (every item answered, mandatory 100 %), the
//! compliance gate (废标 items addressed, offered vs required parameter values, project facts used
//! consistently) and the sections that failed or are still pending.

use crate::outline::{is_mandatory, Coverage};
use crate::{Proposal, SectionStatus};
use aibid_tender::{RequirementKind, RequirementLedger};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Whether the outline places every item (computed from the outline).
    pub coverage: Coverage,
    pub total: usize,
    pub answered: usize,
    pub answered_share: f64,
    pub mandatory_answered_share: f64,
    /// Items not answered by a complete section.
    pub unanswered: Vec<String>,
    pub unanswered_mandatory: Vec<String>,
    /// 废标 clauses not addressed by a complete section.
    pub disqualification_unaddressed: Vec<String>,
    pub parameters: Vec<ParameterCheck>,
    /// Places where the text states a project fact differently from the ledger.
    pub fact_mismatches: Vec<FactMismatch>,
    pub failed_sections: Vec<FailedSection>,
    pub pending_sections: Vec<String>,
    /// True only when everything above is clean.
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterCheck {
    pub requirement_id: String,
    pub required: String,
    pub offered: String,
    pub verdict: ParameterVerdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterVerdict {
    Meets,
    Violates,
    /// No number to compare (e.g. still 【待填写】, or a textual requirement).
    NotComparable,
    NotAnswered,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactMismatch {
    pub section_id: String,
    pub fact: String,
    pub expected: String,
    pub found: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedSection {
    pub section_id: String,
    pub number: String,
    pub title: String,
    pub error: String,
}

pub fn check_proposal(proposal: &Proposal, ledger: &RequirementLedger) -> CheckReport {
    let coverage = proposal.outline.coverage(ledger);
    let mut answered_ids: HashSet<&str> = HashSet::new();
    let mut failed_sections = Vec::new();
    let mut pending_sections = Vec::new();
    let mut fact_mismatches = Vec::new();
    for result in &proposal.sections {
        let section = proposal.outline.section(&result.section_id);
        match &result.status {
            SectionStatus::Complete { draft } => {
                let own: HashSet<&str> = section
                    .map(|s| s.requirement_ids.iter().map(String::as_str).collect())
                    .unwrap_or_default();
                answered_ids.extend(
                    draft
                        .answered_ids
                        .iter()
                        .map(String::as_str)
                        .filter(|id| own.contains(id)),
                );
                // Requirement texts quoted from the tender are not the bidder's statements: leave them out.
                let mut own_text = draft.text();
                for item in ledger
                    .requirements
                    .iter()
                    .filter(|r| own.contains(r.id.as_str()))
                {
                    own_text = own_text.replace(item.text.trim(), "");
                }
                fact_mismatches.extend(fact_mismatches_in(&result.section_id, &own_text, ledger));
            }
            SectionStatus::Failed { error } => failed_sections.push(FailedSection {
                section_id: result.section_id.clone(),
                number: section.map(|s| s.number.clone()).unwrap_or_default(),
                title: section.map(|s| s.title.clone()).unwrap_or_default(),
                error: error.clone(),
            }),
            SectionStatus::Pending => pending_sections.push(result.section_id.clone()),
        }
    }

    let unanswered: Vec<String> = ledger
        .requirements
        .iter()
        .filter(|r| !answered_ids.contains(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    let unanswered_mandatory: Vec<String> = ledger
        .requirements
        .iter()
        .filter(|r| is_mandatory(r, ledger) && !answered_ids.contains(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    let disqualification_unaddressed: Vec<String> = ledger
        .of_kind(RequirementKind::Disqualification)
        .filter(|r| !answered_ids.contains(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    let mandatory_total = ledger
        .requirements
        .iter()
        .filter(|r| is_mandatory(r, ledger))
        .count();

    let offered = |id: &str| {
        proposal
            .sections
            .iter()
            .filter_map(|s| s.draft())
            .flat_map(|d| d.deviations.iter())
            .find(|row| row.requirement_id == id)
    };
    let parameters: Vec<ParameterCheck> = ledger
        .requirements
        .iter()
        .filter_map(|item| item.parameter.as_ref().map(|p| (item, p)))
        .map(|(item, parameter)| {
            let required = format!(
                "{}{}{}{}",
                parameter.name,
                parameter.comparator,
                parameter.value,
                parameter.unit.clone().unwrap_or_default()
            );
            match offered(&item.id) {
                None => ParameterCheck {
                    requirement_id: item.id.clone(),
                    required,
                    offered: String::new(),
                    verdict: ParameterVerdict::NotAnswered,
                },
                Some(row) => ParameterCheck {
                    requirement_id: item.id.clone(),
                    required,
                    offered: row.offered.clone(),
                    verdict: compare(&parameter.comparator, &parameter.value, &row.offered),
                },
            }
        })
        .collect();

    let total = ledger.requirements.len();
    let answered = total - unanswered.len();
    let passed = coverage.is_complete()
        && unanswered.is_empty()
        && failed_sections.is_empty()
        && pending_sections.is_empty()
        && fact_mismatches.is_empty()
        && !parameters.iter().any(|p| {
            matches!(
                p.verdict,
                ParameterVerdict::Violates | ParameterVerdict::NotAnswered
            )
        });
    CheckReport {
        coverage,
        total,
        answered,
        answered_share: ratio(answered, total),
        mandatory_answered_share: ratio(
            mandatory_total - unanswered_mandatory.len(),
            mandatory_total,
        ),
        unanswered,
        unanswered_mandatory,
        disqualification_unaddressed,
        parameters,
        fact_mismatches,
        failed_sections,
        pending_sections,
        passed,
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn first_number(text: &str) -> Option<f64> {
    static NUMBER: OnceLock<Option<Regex>> = OnceLock::new();
    let number = NUMBER
        .get_or_init(|| Regex::new(r"-?\d+(?:\.\d+)?").ok())
        .as_ref()?;
    number.find(text).and_then(|m| m.as_str().parse().ok())
}

/// Offered vs required, where both are numbers.
pub fn compare(comparator: &str, required: &str, offered: &str) -> ParameterVerdict {
    if offered.contains("待填写") {
        return ParameterVerdict::NotComparable;
    }
    let (Some(required), Some(offered)) = (first_number(required), first_number(offered)) else {
        return ParameterVerdict::NotComparable;
    };
    let meets = match comparator {
        "≥" | ">=" => offered >= required,
        "≤" | "<=" => offered <= required,
        ">" => offered > required,
        "<" => offered < required,
        "=" | "==" => (offered - required).abs() < 1e-9,
        _ => return ParameterVerdict::NotComparable,
    };
    if meets {
        ParameterVerdict::Meets
    } else {
        ParameterVerdict::Violates
    }
}

/// "项目编号：X" / "项目名称：Y" written in a section but different from the ledger's facts.
fn fact_mismatches_in(
    section_id: &str,
    text: &str,
    ledger: &RequirementLedger,
) -> Vec<FactMismatch> {
    static PATTERNS: OnceLock<Option<(Regex, Regex)>> = OnceLock::new();
    let Some((code, name)) = PATTERNS
        .get_or_init(|| {
            Some((
                Regex::new(r"项目编号[：:]\s*([A-Za-z0-9][A-Za-z0-9\-_/#.（）()〔〕\[\]【】]*)")
                    .ok()?,
                Regex::new(r"项目名称[：:]\s*([^\s，。；,;：:（(]+)").ok()?,
            ))
        })
        .as_ref()
    else {
        return Vec::new();
    };
    let compact = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let mut mismatches = Vec::new();
    for (fact, pattern, expected) in [
        ("project_code", code, ledger.facts.project_code.as_deref()),
        ("project_name", name, ledger.facts.project_name.as_deref()),
    ] {
        let Some(expected) = expected else { continue };
        let expected = compact(expected);
        for capture in pattern.captures_iter(text) {
            let found = if fact == "project_code" {
                trim_code(&capture[1])
            } else {
                compact(&capture[1])
            };
            if found.contains("待填写") {
                continue;
            }
            if !(found == expected || expected.starts_with(&found) && fact == "project_name") {
                mismatches.push(FactMismatch {
                    section_id: section_id.to_string(),
                    fact: fact.to_string(),
                    expected: expected.clone(),
                    found,
                });
            }
        }
    }
    mismatches
}

/// Drops sentence punctuation and unbalanced closing brackets that follow a code in running text.
fn trim_code(raw: &str) -> String {
    let mut code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    while let Some(last) = code.chars().last() {
        let opens = |open: char| code.chars().filter(|c| *c == open).count();
        let closes = |close: char| code.chars().filter(|c| *c == close).count();
        let unbalanced = match last {
            '）' => closes('）') > opens('（'),
            ')' => closes(')') > opens('('),
            '〕' => closes('〕') > opens('〔'),
            ']' => closes(']') > opens('['),
            '】' => closes('】') > opens('【'),
            '.' | '-' | '_' | '/' | '#' => true,
            _ => false,
        };
        if !unbalanced {
            break;
        }
        code.pop();
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_values_are_compared_with_required_ones() {
        assert_eq!(compare("≥", "16", "32核"), ParameterVerdict::Meets);
        assert_eq!(compare("≥", "16", "8核"), ParameterVerdict::Violates);
        assert_eq!(compare("≤", "2", "1.5ms"), ParameterVerdict::Meets);
        assert_eq!(
            compare("≥", "16", "【待填写：实际值】"),
            ParameterVerdict::NotComparable
        );
        assert_eq!(compare("=", "220", "220V"), ParameterVerdict::Meets);
    }

    #[test]
    fn a_different_project_code_in_the_text_is_reported() {
        let ledger = RequirementLedger {
            facts: aibid_tender::ProjectFacts {
                project_code: Some("ZB-2024-001".into()),
                ..Default::default()
            },
            requirements: vec![],
            ..Default::default()
        };
        let found = fact_mismatches_in(
            "sec-1",
            "本项目（项目编号：ZB-2023-999）……项目编号：ZB-2024-001。",
            &ledger,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].found, "ZB-2023-999");
    }
}
