//! Rules that turn a [`TenderDocument`] into a [`RequirementLedger`]: facts, qualification,
//! scoring, marked (★/▲) items, parameters, commercial terms, format rules and 废标 clauses.
//! Rules only, no model: the same input always gives the same ledger and the same ids.

mod clauses;
mod facts;
mod markers;
mod qualification;
mod scoring;

use crate::document::{numbered_heading, Block, SourceAnchor, TenderDocument};
use crate::ledger::{Requirement, RequirementKind, RequirementLedger};
use std::collections::BTreeMap;

/// One line of the document as the rules see it: a heading, a paragraph or one table row.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    pub text: String,
    /// Cells when the line is a table row.
    pub cells: Option<&'a [String]>,
    /// Ordinal of the table among the document's tables, for rows.
    pub table: Option<usize>,
    pub heading: Option<u8>,
    pub anchor: SourceAnchor,
}

impl Line<'_> {
    pub fn is_row(&self) -> bool {
        self.cells.is_some()
    }
}

#[cfg(test)]
impl Line<'static> {
    /// A body paragraph at line 1, for the rules' unit tests.
    pub fn paragraph(text: &str) -> Line<'static> {
        Line {
            text: text.into(),
            cells: None,
            table: None,
            heading: None,
            anchor: SourceAnchor::Line { line: 1 },
        }
    }
}

pub fn lines_of(doc: &TenderDocument) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut table_ordinal = 0;
    for block in &doc.blocks {
        match block {
            Block::Heading {
                level,
                number,
                text,
                anchor,
            } => lines.push(Line {
                text: numbered_heading(number.as_deref(), text),
                cells: None,
                table: None,
                heading: Some(*level),
                anchor: *anchor,
            }),
            Block::Paragraph { text, anchor } => lines.push(Line {
                text: text.clone(),
                cells: None,
                table: None,
                heading: None,
                anchor: *anchor,
            }),
            Block::Table { rows, anchor } => {
                for (i, row) in rows.iter().enumerate() {
                    let anchor = match anchor {
                        SourceAnchor::Table { index, .. } => SourceAnchor::Table {
                            index: *index,
                            row: i as u32,
                        },
                        other => *other,
                    };
                    lines.push(Line {
                        text: row
                            .iter()
                            .filter(|c| !c.is_empty())
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(" | "),
                        cells: Some(row.as_slice()),
                        table: Some(table_ordinal),
                        heading: None,
                        anchor,
                    });
                }
                table_ordinal += 1;
            }
            Block::PageBreak { .. } => {}
        }
    }
    lines
}

/// A requirement before ids are assigned.
#[derive(Debug, Clone)]
pub struct Found {
    pub kind: RequirementKind,
    pub text: String,
    pub marker: Option<String>,
    pub points: Option<f64>,
    pub category: Option<String>,
    pub anchor: SourceAnchor,
    pub parameter: Option<crate::ledger::ParameterValue>,
}

impl Found {
    pub fn new(kind: RequirementKind, text: impl Into<String>, anchor: SourceAnchor) -> Self {
        Self {
            kind,
            text: text.into(),
            marker: None,
            points: None,
            category: None,
            anchor,
            parameter: None,
        }
    }
}

pub fn build_ledger(doc: &TenderDocument) -> RequirementLedger {
    let lines = lines_of(doc);
    let mut warnings = Vec::new();
    let facts = facts::extract(&lines);
    let markers = markers::meanings(&lines);
    let mut found = Vec::new();
    found.extend(qualification::extract(&lines));
    found.extend(scoring::extract(&lines, &mut warnings));
    found.extend(markers::marked_items(&lines, &markers));
    found.extend(markers::worded_mandatory_items(&lines));
    found.extend(clauses::extract(&lines));
    let response_format = clauses::response_format(&lines);
    RequirementLedger {
        facts,
        requirements: assign_ids(found),
        response_format,
        markers,
        warnings,
    }
}

/// Ids are a kind prefix plus the item's ordinal within its kind in document order, so the same
/// document always gives the same ids.
fn assign_ids(found: Vec<Found>) -> Vec<Requirement> {
    let mut counters: BTreeMap<RequirementKind, usize> = BTreeMap::new();
    found
        .into_iter()
        .map(|f| {
            let n = counters.entry(f.kind).or_default();
            *n += 1;
            Requirement {
                id: format!("{}-{:03}", prefix(f.kind), n),
                kind: f.kind,
                text: f.text,
                marker: f.marker,
                points: f.points,
                category: f.category,
                anchor: f.anchor,
                parameter: f.parameter,
            }
        })
        .collect()
}

fn prefix(kind: RequirementKind) -> &'static str {
    match kind {
        RequirementKind::Qualification => "QU",
        RequirementKind::Scoring => "SC",
        RequirementKind::Mandatory => "MA",
        RequirementKind::Parameter => "PA",
        RequirementKind::Commercial => "CO",
        RequirementKind::Format => "FO",
        RequirementKind::Disqualification => "DQ",
    }
}
