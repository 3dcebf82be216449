//! Scores `analyze` against hand-written `*.labels.json` files (format: corpus MANIFEST.md,
//! "Label conventions") and prints a per-document, per-field table with totals.
//!
//! How each field is judged (stated so the figures can be trusted):
//! - name, code, deadline: equal after removing whitespace and punctuation and lower-casing.
//! - every fact: a value reported where the label says the document states none is wrong (missing
//!   facts must be null, never guessed); a fact judged is one the label states or one reported.
//! - budget: judged on the amounts it states: the label's first amount must be among the extracted
//!   amounts and every extracted amount must appear in the label (commas ignored, no unit conversion).
//! - scoring items: a label item is recalled when an extracted scoring item, used once, has equal
//!   points and contains at least half of the label name's character bigrams. Precision is the share
//!   of extracted scoring items matched to a label item; items extracted from a document whose label
//!   says it has no scoring table are all unmatched.
//! - ★ count: the number of distinct extracted items marked ★ equals the label's count.
//! - qualification: a label paraphrase is recalled when an extracted qualification item, used once,
//!   contains at least 40 % of its character bigrams and is not a long passage that merely mentions
//!   them (at most 600 characters). Precision is the share of extracted items matched to a label.
//!
//! A document the label calls scanned must fail with `NoTextLayer`; that counts as expected.

use crate::error::{ReadError, ReadLimits};
use crate::ledger::RequirementKind;
use crate::report::{analyze, AnalysisReport};
use regex::Regex;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

const SCORING_SIMILARITY: f64 = 0.5;
const QUALIFICATION_SIMILARITY: f64 = 0.4;
const MAX_QUALIFICATION_MATCH_CHARS: usize = 600;

#[derive(Debug, Clone, Deserialize)]
pub struct LabelScoringItem {
    pub name: String,
    pub points: f64,
    #[serde(default)]
    pub category: Option<String>,
}

/// The fields of a `.labels.json` file that are scored.
#[derive(Debug, Clone, Deserialize)]
pub struct Labels {
    #[serde(default)]
    pub format: String,
    pub project_name: Option<String>,
    pub project_code: Option<String>,
    pub budget: Option<String>,
    pub deadline: Option<String>,
    #[serde(default)]
    pub qualification_requirements: Vec<String>,
    pub scoring_items: Option<Vec<LabelScoringItem>>,
    pub mandatory_star_items_count: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("label file {path} is not valid: {source}")]
    Labels {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("no document next to label file {0}")]
    MissingDocument(PathBuf),
    #[error("no *.labels.json files in {0}")]
    NoLabels(PathBuf),
}

/// A fact's judgement: None when the label states no value (not counted towards accuracy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactResult {
    Correct,
    Wrong,
    /// Label null, nothing extracted.
    AbsentCorrect,
    /// Label null, something extracted (a guess).
    AbsentButReported,
}

#[derive(Debug, Clone)]
pub struct DocumentEval {
    pub name: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Scored(DocumentScore),
    /// A scanned document rejected with NoTextLayer, as its label expects.
    ExpectedNoText(String),
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct DocumentScore {
    /// name, code, budget, deadline.
    pub facts: [FactResult; 4],
    /// (recalled, labelled) or None when the label has no scoring table.
    pub scoring: Option<(usize, usize)>,
    /// (extracted scoring items matched to a label item, extracted scoring items).
    pub scoring_precision: (usize, usize),
    /// (extracted, labelled) ★ counts, None when the label does not apply.
    pub stars: Option<(u32, u32)>,
    /// (recalled, labelled).
    pub qualification: (usize, usize),
    /// (extracted qualification items matched to a label, extracted qualification items).
    pub qualification_precision: (usize, usize),
    pub requirements: usize,
}

#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    pub documents: Vec<DocumentEval>,
}

pub const FACT_NAMES: [&str; 4] = ["name", "code", "budget", "deadline"];

impl EvalReport {
    fn scored(&self) -> impl Iterator<Item = &DocumentScore> {
        self.documents.iter().filter_map(|d| match &d.outcome {
            Outcome::Scored(s) => Some(s),
            _ => None,
        })
    }

    /// (correct, judged) for one fact: judged are documents whose label states it plus documents
    /// where a value was reported although the label says none is stated (a guess is wrong).
    pub fn fact(&self, index: usize) -> (usize, usize) {
        let results: Vec<FactResult> = self.scored().map(|s| s.facts[index]).collect();
        let judged = results
            .iter()
            .filter(|r| **r != FactResult::AbsentCorrect)
            .count();
        let correct = results
            .iter()
            .filter(|r| **r == FactResult::Correct)
            .count();
        (correct, judged)
    }

    /// (correct, judged) over all four facts of all documents.
    pub fn facts(&self) -> (usize, usize) {
        (0..4)
            .map(|i| self.fact(i))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// Facts reported where the label says the document states none.
    pub fn guessed_facts(&self) -> usize {
        self.scored()
            .flat_map(|s| s.facts)
            .filter(|r| *r == FactResult::AbsentButReported)
            .count()
    }

    pub fn scoring(&self) -> (usize, usize) {
        self.scored()
            .filter_map(|s| s.scoring)
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    pub fn scoring_precision(&self) -> (usize, usize) {
        self.scored()
            .map(|s| s.scoring_precision)
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// (documents with the exact ★ count, documents where the count applies).
    pub fn stars(&self) -> (usize, usize) {
        let applicable: Vec<(u32, u32)> = self.scored().filter_map(|s| s.stars).collect();
        (
            applicable.iter().filter(|(got, want)| got == want).count(),
            applicable.len(),
        )
    }

    pub fn qualification(&self) -> (usize, usize) {
        self.scored()
            .map(|s| s.qualification)
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    pub fn qualification_precision(&self) -> (usize, usize) {
        self.scored()
            .map(|s| s.qualification_precision)
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    pub fn failures(&self) -> Vec<&DocumentEval> {
        self.documents
            .iter()
            .filter(|d| matches!(d.outcome, Outcome::Failed(_)))
            .collect()
    }
}

pub fn ratio((hit, total): (usize, usize)) -> f64 {
    if total == 0 {
        1.0
    } else {
        hit as f64 / total as f64
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frac = |x: (usize, usize)| format!("{}/{}", x.0, x.1);
        writeln!(
            f,
            "{:<40} {:>6} {:>6} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>5}",
            "document",
            "name",
            "code",
            "budget",
            "deadline",
            "sc.rec",
            "sc.prec",
            "★",
            "q.rec",
            "q.prec",
            "reqs"
        )?;
        for doc in &self.documents {
            match &doc.outcome {
                Outcome::Scored(s) => {
                    let fact = |r: FactResult| match r {
                        FactResult::Correct => "ok",
                        FactResult::Wrong => "WRONG",
                        FactResult::AbsentCorrect => "-",
                        FactResult::AbsentButReported => "GUESS",
                    };
                    let stars = match s.stars {
                        Some((got, want)) if got == want => format!("{got}"),
                        Some((got, want)) => format!("{got}≠{want}"),
                        None => "-".into(),
                    };
                    writeln!(
                        f,
                        "{:<40} {:>6} {:>6} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>5}",
                        doc.name,
                        fact(s.facts[0]),
                        fact(s.facts[1]),
                        fact(s.facts[2]),
                        fact(s.facts[3]),
                        s.scoring.map(frac).unwrap_or_else(|| "-".into()),
                        frac(s.scoring_precision),
                        stars,
                        frac(s.qualification),
                        frac(s.qualification_precision),
                        s.requirements
                    )?;
                }
                Outcome::ExpectedNoText(message) => {
                    writeln!(f, "{:<40} expected: {message}", doc.name)?
                }
                Outcome::Failed(message) => writeln!(f, "{:<40} FAILED: {message}", doc.name)?,
            }
        }
        let pct = |x: (usize, usize)| format!("{}/{} = {:.1} %", x.0, x.1, 100.0 * ratio(x));
        writeln!(f)?;
        for (i, name) in FACT_NAMES.iter().enumerate() {
            writeln!(
                f,
                "fact {name:<9} exact (stated or reported): {}",
                pct(self.fact(i))
            )?;
        }
        writeln!(
            f,
            "facts overall:        {}  (facts reported where none is stated: {})",
            pct(self.facts()),
            self.guessed_facts()
        )?;
        writeln!(
            f,
            "scoring items recalled with correct points: {}",
            pct(self.scoring())
        )?;
        writeln!(
            f,
            "scoring precision (extracted items matching a label item): {}",
            pct(self.scoring_precision())
        )?;
        writeln!(f, "★ count exact:        {} documents", pct(self.stars()))?;
        writeln!(f, "qualification recall: {}", pct(self.qualification()))?;
        writeln!(
            f,
            "qualification precision: {}",
            pct(self.qualification_precision())
        )?;
        writeln!(f, "failed documents:     {}", self.failures().len())
    }
}

/// Scores every `*.labels.json` in `dir` against the analysis of the document beside it.
pub fn evaluate_dir(dir: &Path, limits: &ReadLimits) -> Result<EvalReport, EvalError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvalError::Io { path, source }
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let label_files: Vec<&PathBuf> = entries
        .iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".labels.json"))
        })
        .collect();
    if label_files.is_empty() {
        return Err(EvalError::NoLabels(dir.to_path_buf()));
    }
    let mut report = EvalReport::default();
    for label_path in label_files {
        let file_name = label_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let stem = file_name.trim_end_matches(".labels.json");
        let text = std::fs::read_to_string(label_path).map_err(io(label_path))?;
        let labels: Labels = serde_json::from_str(&text).map_err(|source| EvalError::Labels {
            path: label_path.clone(),
            source,
        })?;
        let document = entries
            .iter()
            .find(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(&format!("{stem}.")) && !n.ends_with(".labels.json")
                })
            })
            .ok_or_else(|| EvalError::MissingDocument(label_path.clone()))?;
        let bytes = std::fs::read(document).map_err(io(document))?;
        let name = document
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(stem)
            .to_owned();
        let outcome = match analyze(&bytes, limits) {
            Ok(analysis) => Outcome::Scored(score(&analysis, &labels)),
            Err(error @ ReadError::NoTextLayer { .. }) if labels.format.contains("scanned") => {
                Outcome::ExpectedNoText(error.to_string())
            }
            Err(error) => Outcome::Failed(error.to_string()),
        };
        report.documents.push(DocumentEval { name, outcome });
    }
    Ok(report)
}

/// Scores one analysis against its labels.
pub fn score(analysis: &AnalysisReport, labels: &Labels) -> DocumentScore {
    let facts = &analysis.facts;
    let facts = [
        judge_text(
            labels.project_name.as_deref(),
            facts.project_name.as_deref(),
        ),
        judge_text(
            labels.project_code.as_deref(),
            facts.project_code.as_deref(),
        ),
        judge_budget(labels.budget.as_deref(), facts.budget.as_deref()),
        judge_text(labels.deadline.as_deref(), facts.deadline.as_deref()),
    ];
    let of_kind = |kind| analysis.requirements.iter().filter(move |r| r.kind == kind);
    let scored: Vec<(&str, f64)> = of_kind(RequirementKind::Scoring)
        .filter_map(|r| r.points.map(|p| (r.text.as_str(), p)))
        .collect();
    let mut scoring_used = HashSet::new();
    let scoring = labels.scoring_items.as_ref().map(|items| {
        let hits = items
            .iter()
            .filter(|item| {
                best_match(
                    &item.name,
                    &scored,
                    &scoring_used,
                    SCORING_SIMILARITY,
                    |(_, p)| (p - item.points).abs() < 0.01,
                )
                .map(|k| scoring_used.insert(k))
                .is_some()
            })
            .count();
        (hits, items.len())
    });
    let stars = labels.mandatory_star_items_count.map(|want| {
        let got = analysis
            .requirements
            .iter()
            .filter(|r| r.marker.as_deref() == Some("★"))
            .count() as u32;
        (got, want)
    });
    // A passage this long "contains" any paraphrase; it is not a matched requirement.
    let qualification_items: Vec<(&str, f64)> = of_kind(RequirementKind::Qualification)
        .map(|r| (r.text.as_str(), 0.0))
        .collect();
    let mut used = HashSet::new();
    let recalled = labels
        .qualification_requirements
        .iter()
        .filter(|label| {
            best_match(
                label,
                &qualification_items,
                &used,
                QUALIFICATION_SIMILARITY,
                |(text, _)| text.chars().count() <= MAX_QUALIFICATION_MATCH_CHARS,
            )
            .map(|k| used.insert(k))
            .is_some()
        })
        .count();
    DocumentScore {
        facts,
        scoring,
        scoring_precision: (scoring_used.len(), scored.len()),
        stars,
        qualification: (recalled, labels.qualification_requirements.len()),
        qualification_precision: (used.len(), qualification_items.len()),
        requirements: analysis.requirements.len(),
    }
}

/// Index of the unused candidate most similar to `label` (at least `threshold`) that passes `accept`.
fn best_match(
    label: &str,
    candidates: &[(&str, f64)],
    used: &HashSet<usize>,
    threshold: f64,
    accept: impl Fn(&(&str, f64)) -> bool,
) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .filter(|(k, c)| !used.contains(k) && accept(c))
        .map(|(k, (text, _))| (k, containment(label, text)))
        .filter(|(_, s)| *s >= threshold)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

/// Share of the label's character bigrams (letters and digits only) found in the text.
pub fn containment(label: &str, text: &str) -> f64 {
    let bigrams = |s: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = normalize(s).chars().collect();
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let wanted = bigrams(label);
    if wanted.is_empty() {
        return 0.0;
    }
    let have: HashSet<(char, char)> = bigrams(text).into_iter().collect();
    wanted.iter().filter(|b| have.contains(b)).count() as f64 / wanted.len() as f64
}

/// Lower case, letters and digits only (CJK characters are letters).
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn judge_text(label: Option<&str>, got: Option<&str>) -> FactResult {
    match (label, got) {
        (Some(want), Some(got)) if normalize(want) == normalize(got) => FactResult::Correct,
        (Some(_), _) => FactResult::Wrong,
        (None, None) => FactResult::AbsentCorrect,
        (None, Some(_)) => FactResult::AbsentButReported,
    }
}

static AMOUNT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9][0-9,]*(?:\.[0-9]+)?").expect("static amount pattern"));

fn amounts(text: &str) -> Vec<f64> {
    AMOUNT
        .find_iter(text)
        .filter_map(|m| m.as_str().replace(',', "").parse().ok())
        .collect()
}

fn judge_budget(label: Option<&str>, got: Option<&str>) -> FactResult {
    match (label, got) {
        (Some(want), Some(got)) => {
            let want = amounts(want);
            let got = amounts(got);
            let has = |set: &[f64], x: f64| set.iter().any(|y| (x - y).abs() < 1e-6);
            let ok = want.first().is_some_and(|first| has(&got, *first))
                && got.iter().all(|x| has(&want, *x));
            if ok {
                FactResult::Correct
            } else {
                FactResult::Wrong
            }
        }
        (Some(_), None) => FactResult::Wrong,
        (None, None) => FactResult::AbsentCorrect,
        (None, Some(_)) => FactResult::AbsentButReported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_compare_without_spacing_or_punctuation() {
        assert_eq!(
            judge_text(
                Some("2024 年 6 月 18 日 9：00（北京时间）"),
                Some("2024年6月18日9:00(北京时间)")
            ),
            FactResult::Correct
        );
        assert_eq!(
            judge_text(Some("2024年6月18日9:00"), Some("2024年6月19日9:00")),
            FactResult::Wrong
        );
        assert_eq!(judge_text(None, Some("x")), FactResult::AbsentButReported);
    }

    #[test]
    fn budgets_are_judged_on_their_amounts() {
        let label = "预算金额：330万元（大写金额：叁佰叁拾万元整）；最高限价（如有）：330万元";
        assert_eq!(
            judge_budget(Some(label), Some("预算金额：330万元")),
            FactResult::Correct
        );
        assert_eq!(
            judge_budget(Some(label), Some("预算金额：500万元")),
            FactResult::Wrong
        );
        assert_eq!(
            judge_budget(
                Some("评标价最高限价为：157,320元"),
                Some("最高限价：157320元")
            ),
            FactResult::Correct
        );
    }

    #[test]
    fn bigram_containment() {
        assert!(containment("服务方案（特点难点、人员管理等）", "针对本项目的服务方案（30分）：根据投标单位所提供的针对本项目服务特点、难点分析、人员管理措施") >= 0.5);
        assert!(containment("同类业绩", "价格分") < 0.5);
    }
}
