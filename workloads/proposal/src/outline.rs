//! Plans the proposal outline: the tender's prescribed response format (投标文件格式/组成) when it has one,
//! else the scoring categories, plus deviation and compliance parts; every ledger item lands in exactly one
//! section and word budgets follow points. Pure and rule-based: no model is asked.

use aibid_tender::{Block, Requirement, RequirementKind, RequirementLedger, TenderDocument};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Words of proposal text planned per scoring point.
pub const WORDS_PER_POINT: u32 = 150;
/// Words planned for an answered item that carries no points.
pub const WORDS_PER_ITEM: u32 = 80;
/// No section is planned shorter than this.
pub const MIN_SECTION_WORDS: u32 = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outline {
    /// Sections in document order; a section's children follow it with a higher level.
    pub sections: Vec<OutlineSection>,
    /// Where the top-level structure came from.
    pub source: OutlineSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutlineSource {
    /// The tender's own 投标文件格式/组成 list.
    PrescribedFormat,
    /// No prescribed format found: parts follow the scoring categories.
    ScoringCategories,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutlineSection {
    /// Stable for the same ledger: derived from the section number ("sec-1-2").
    pub id: String,
    /// Visible number, "1", "1.2".
    pub number: String,
    pub title: String,
    /// 1..=4.
    pub level: u8,
    /// Ledger items this section answers (each ledger item is in exactly one section).
    pub requirement_ids: Vec<String>,
    pub word_budget: u32,
}

/// How completely an outline covers a ledger. Mandatory items must be 100 % assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub total: usize,
    pub assigned: usize,
    pub assigned_share: f64,
    pub mandatory_total: usize,
    pub mandatory_assigned: usize,
    pub mandatory_share: f64,
    pub unassigned: Vec<String>,
    /// Ids placed in more than one section (a planning error).
    pub assigned_twice: Vec<String>,
}

impl Coverage {
    pub fn is_complete(&self) -> bool {
        self.unassigned.is_empty() && self.assigned_twice.is_empty()
    }
}

impl Outline {
    pub fn coverage(&self, ledger: &RequirementLedger) -> Coverage {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for section in &self.sections {
            for id in &section.requirement_ids {
                *seen.entry(id.as_str()).or_default() += 1;
            }
        }
        let mut unassigned = Vec::new();
        let mut assigned_twice = Vec::new();
        let (mut mandatory_total, mut mandatory_assigned) = (0, 0);
        for item in &ledger.requirements {
            let count = seen.get(item.id.as_str()).copied().unwrap_or(0);
            if count == 0 {
                unassigned.push(item.id.clone());
            } else if count > 1 {
                assigned_twice.push(item.id.clone());
            }
            if is_mandatory(item, ledger) {
                mandatory_total += 1;
                if count > 0 {
                    mandatory_assigned += 1;
                }
            }
        }
        let total = ledger.requirements.len();
        let assigned = total - unassigned.len();
        Coverage {
            total,
            assigned,
            assigned_share: share(assigned, total),
            mandatory_total,
            mandatory_assigned,
            mandatory_share: share(mandatory_assigned, mandatory_total),
            unassigned,
            assigned_twice,
        }
    }

    pub fn section(&self, id: &str) -> Option<&OutlineSection> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The section that answers a ledger item.
    pub fn section_of(&self, requirement_id: &str) -> Option<&OutlineSection> {
        self.sections
            .iter()
            .find(|s| s.requirement_ids.iter().any(|id| id == requirement_id))
    }
}

/// Items a bid is rejected for when left unanswered: 实质性 items, 废标 clauses, and items carrying a marker
/// the tender declares mandatory (in some tenders ★ only means "main parameter"; then it does not count).
pub fn is_mandatory(item: &Requirement, ledger: &RequirementLedger) -> bool {
    if matches!(
        item.kind,
        RequirementKind::Mandatory | RequirementKind::Disqualification
    ) {
        return true;
    }
    match &item.marker {
        Some(marker) => ledger
            .markers
            .iter()
            .find(|m| &m.symbol == marker)
            .map(|m| m.mandatory)
            .unwrap_or(true),
        None => false,
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// What a top-level part of the proposal is for; ledger items are routed by role, not by title text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Letter,
    Authorization,
    Qualification,
    Business,
    Technical,
    Price,
    TechDeviation,
    CommercialDeviation,
    Compliance,
    Other,
}

impl Role {
    fn default_title(self) -> &'static str {
        match self {
            Role::Letter => "投标函及项目概述",
            Role::Authorization => "法定代表人授权书",
            Role::Qualification => "资格证明文件",
            Role::Business => "商务部分",
            Role::Technical => "技术方案",
            Role::Price => "报价部分",
            Role::TechDeviation => "技术参数响应及偏离表",
            Role::CommercialDeviation => "商务条款响应及偏离表",
            Role::Compliance => "实质性条款及废标条款响应",
            Role::Other => "其他响应内容",
        }
    }

    fn of_title(title: &str) -> Role {
        let has = |words: &[&str]| words.iter().any(|w| title.contains(w));
        if has(&["技术"]) && has(&["偏离", "参数", "规格"]) {
            Role::TechDeviation
        } else if has(&["商务"]) && has(&["偏离", "条款"]) {
            Role::CommercialDeviation
        } else if has(&["偏离"]) {
            Role::TechDeviation
        } else if has(&["报价", "价格", "开标一览", "分项"]) {
            Role::Price
        } else if has(&["资格", "资质", "证明文件", "营业执照"]) {
            Role::Qualification
        } else if has(&["授权", "身份证明"]) {
            Role::Authorization
        } else if has(&["投标函", "响应函", "磋商函"]) {
            Role::Letter
        } else if has(&["技术", "方案", "实施", "售后", "服务"]) {
            Role::Technical
        } else if has(&["商务", "业绩", "信誉", "企业"]) {
            Role::Business
        } else if has(&["承诺", "符合性", "声明", "实质性", "废标"]) {
            Role::Compliance
        } else {
            Role::Other
        }
    }
}

/// Where an item may go, best first; the last resort is a section added for it.
fn roles_for(item: &Requirement) -> &'static [Role] {
    use Role::*;
    match item.kind {
        RequirementKind::Qualification => &[Qualification, Business, Compliance],
        RequirementKind::Scoring => {
            let category = item.category.as_deref().unwrap_or("");
            let text = item.text.as_str();
            if category.contains("价")
                || (category.is_empty() && (text.contains("报价") || text.contains("价格分")))
            {
                &[Price, Business]
            } else if category.contains("商务")
                || category.contains("资信")
                || category.contains("信誉")
            {
                &[Business, Qualification, Technical]
            } else {
                &[Technical, Business]
            }
        }
        RequirementKind::Parameter => &[TechDeviation, Technical, Compliance],
        RequirementKind::Mandatory if item.parameter.is_some() => {
            &[TechDeviation, Technical, Compliance]
        }
        RequirementKind::Mandatory => &[Compliance, CommercialDeviation, TechDeviation, Technical],
        RequirementKind::Commercial => &[CommercialDeviation, Business, Compliance],
        RequirementKind::Format | RequirementKind::Disqualification => &[Compliance, Letter],
    }
}

struct Part {
    title: String,
    role: Role,
    items: Vec<usize>,
    prescribed: bool,
}

/// Plans the outline for a tender. Deterministic; runs in well under a second on real tenders.
pub fn plan_outline(doc: &TenderDocument, ledger: &RequirementLedger) -> Outline {
    // The ledger's reading of 投标文件组成 comes first; the heading tree is the fallback.
    let prescribed = if ledger.response_format.len() >= 3 {
        let mut seen = HashSet::new();
        ledger
            .response_format
            .iter()
            .map(|title| clean_title(title))
            .filter(|title| !title.is_empty() && seen.insert(title.clone()))
            .collect()
    } else {
        prescribed_format(doc)
    };
    let source = if prescribed.is_empty() {
        OutlineSource::ScoringCategories
    } else {
        OutlineSource::PrescribedFormat
    };
    let mut parts: Vec<Part> = if prescribed.is_empty() {
        [
            Role::Letter,
            Role::Qualification,
            Role::Business,
            Role::Technical,
            Role::Price,
            Role::TechDeviation,
            Role::CommercialDeviation,
            Role::Compliance,
        ]
        .into_iter()
        .map(|role| Part {
            title: role.default_title().to_string(),
            role,
            items: Vec::new(),
            prescribed: false,
        })
        .collect()
    } else {
        prescribed
            .into_iter()
            .map(|title| Part {
                role: Role::of_title(&title),
                title,
                items: Vec::new(),
                prescribed: true,
            })
            .collect()
    };

    for (index, item) in ledger.requirements.iter().enumerate() {
        let roles = roles_for(item);
        let found = roles
            .iter()
            .find_map(|role| parts.iter().position(|p| p.role == *role));
        let part = match found {
            Some(part) => part,
            None => {
                // The prescribed format has no place for this item: add a part for its first role.
                let role = roles[0];
                parts.push(Part {
                    title: role.default_title().to_string(),
                    role,
                    items: Vec::new(),
                    prescribed: false,
                });
                parts.len() - 1
            }
        };
        parts[part].items.push(index);
    }

    let mut sections = Vec::new();
    let mut number = 0;
    for part in parts {
        let keep = part.prescribed
            || !part.items.is_empty()
            || matches!(part.role, Role::Letter | Role::Technical);
        if !keep {
            continue;
        }
        number += 1;
        let scoring: Vec<usize> = part
            .items
            .iter()
            .copied()
            .filter(|&i| ledger.requirements[i].kind == RequirementKind::Scoring)
            .collect();
        // One sub-section per scoring item, so each scored criterion gets its own answer and budget.
        let split = scoring.len() > 1;
        let own: Vec<usize> = if split {
            part.items
                .iter()
                .copied()
                .filter(|i| !scoring.contains(i))
                .collect()
        } else {
            part.items.clone()
        };
        sections.push(section(vec![number], &part.title, &own, ledger));
        if split {
            for (child, &item) in scoring.iter().enumerate() {
                let title = scoring_title(&ledger.requirements[item]);
                sections.push(section(vec![number, child + 1], &title, &[item], ledger));
            }
        }
    }
    Outline { sections, source }
}

fn section(
    path: Vec<usize>,
    title: &str,
    items: &[usize],
    ledger: &RequirementLedger,
) -> OutlineSection {
    let number = path
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(".");
    let id = format!("sec-{}", number.replace('.', "-"));
    let words: u32 = items
        .iter()
        .map(|&i| {
            let item = &ledger.requirements[i];
            match item.points {
                Some(points) if item.kind == RequirementKind::Scoring && points > 0.0 => {
                    (points * WORDS_PER_POINT as f64).round() as u32
                }
                _ => WORDS_PER_ITEM,
            }
        })
        .sum();
    OutlineSection {
        id,
        number,
        title: title.to_string(),
        level: path.len().min(4) as u8,
        requirement_ids: items
            .iter()
            .map(|&i| ledger.requirements[i].id.clone())
            .collect(),
        word_budget: words.max(MIN_SECTION_WORDS),
    }
}

/// A short title for a scoring item: its name before the first separator, without the points.
fn scoring_title(item: &Requirement) -> String {
    let text = item.text.trim();
    let cut = text
        .find(['：', ':', '（', '(', '。', '；', '，', '\n'])
        .map(|at| &text[..at])
        .unwrap_or(text);
    let name: String = cut.trim().chars().take(30).collect();
    if name.chars().count() < 2 {
        format!("评分项 {}", item.id)
    } else {
        name
    }
}

/// The entries of the tender's 投标文件格式/组成, if it prescribes one (at least three entries).
pub fn prescribed_format(doc: &TenderDocument) -> Vec<String> {
    let mut best: Vec<String> = Vec::new();
    for (at, block) in doc.blocks.iter().enumerate() {
        let Block::Heading { level, text, .. } = block else {
            continue;
        };
        if !is_format_heading(text) {
            continue;
        }
        let mut entries = child_headings(&doc.blocks[at + 1..], *level);
        if entries.len() < 3 {
            entries = enumerated_in_paragraphs(&doc.blocks[at + 1..], *level);
        }
        if (3..=40).contains(&entries.len()) && entries.len() > best.len() {
            best = entries;
        }
    }
    let mut seen = HashSet::new();
    best.retain(|title| seen.insert(title.clone()));
    best
}

fn is_format_heading(text: &str) -> bool {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    [
        "投标文件格式",
        "投标文件组成",
        "投标文件的组成",
        "响应文件格式",
        "响应文件组成",
        "响应文件的组成",
        "投标文件的构成",
    ]
    .iter()
    .any(|k| text.contains(k))
}

/// Titles of the direct sub-headings under a heading, up to the next heading of the same or higher rank.
fn child_headings(after: &[Block], parent_level: u8) -> Vec<String> {
    let mut child_level: Option<u8> = None;
    let mut titles = Vec::new();
    for block in after {
        let Block::Heading { level, text, .. } = block else {
            continue;
        };
        if *level <= parent_level {
            break;
        }
        let child = *child_level.get_or_insert(*level);
        if *level < child {
            child_level = Some(*level);
            titles.clear();
        }
        if *level == child_level.unwrap_or(child) {
            let title = clean_title(text);
            if !title.is_empty() {
                titles.push(title);
            }
        }
    }
    titles
}

/// "投标文件应包括：（1）投标函；（2）法定代表人授权书；……" written as text under the heading.
fn enumerated_in_paragraphs(after: &[Block], parent_level: u8) -> Vec<String> {
    static ITEM: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(item) = ITEM
        .get_or_init(|| Regex::new(r"(?:（\d{1,2}）|\(\d{1,2}\)|^\d{1,2}[、.．]|[；;]\s*\d{1,2}[、.．])\s*([^；;。（(\n]{2,30})").ok())
        .as_ref()
    else {
        return Vec::new();
    };
    static PARTS: OnceLock<Option<Regex>> = OnceLock::new();
    let parts = PARTS
        .get_or_init(|| {
            Regex::new(r"由([^。；;：:]{4,80}?)(?:等)?(?:[两二三四五六七八九十]+)?(?:个)?部分组成")
                .ok()
        })
        .as_ref();
    let mut titles = Vec::new();
    for block in after.iter().take(60) {
        match block {
            Block::Heading { level, .. } if *level <= parent_level => break,
            Block::Paragraph { text, .. } => {
                // "投标文件一般由价格文件、商务技术文件、资格证明文件三部分组成"
                if let Some(listed) = parts.and_then(|p| p.captures(text)) {
                    let named: Vec<String> = listed[1]
                        .split(['、', '，', ','])
                        .flat_map(|part| part.split("和"))
                        .flat_map(|part| part.split("及"))
                        .map(clean_title)
                        .filter(|t| t.chars().count() >= 2)
                        .collect();
                    if named.len() >= 3 {
                        return named;
                    }
                }
                for capture in item.captures_iter(text.trim()) {
                    let title = clean_title(&capture[1]);
                    if !title.is_empty() {
                        titles.push(title);
                    }
                }
            }
            _ => {}
        }
    }
    titles
}

/// Drops a leading visible number ("一、", "（三）", "1.", "第一部分") and trailing punctuation.
fn clean_title(text: &str) -> String {
    static NUMBER: OnceLock<Option<Regex>> = OnceLock::new();
    let text = text.trim();
    let stripped = match NUMBER
        .get_or_init(|| {
            Regex::new(r"^(?:第[一二三四五六七八九十百\d]+[章节部分篇]+|[一二三四五六七八九十]+[、.．]|（[一二三四五六七八九十\d]+）|\([一二三四五六七八九十\d]+\)|\d+(?:\.\d+)*[、.．]?)\s*").ok()
        })
        .as_ref()
    {
        Some(number) => number.replace(text, "").into_owned(),
        None => text.to_string(),
    };
    stripped
        .trim()
        .trim_end_matches(['；', ';', '。', '，', ',', '：', ':'])
        .trim()
        .chars()
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aibid_tender::ledger::ParameterValue;
    use aibid_tender::{DocumentFormat, ProjectFacts, SourceAnchor};

    fn item(id: &str, kind: RequirementKind, text: &str) -> Requirement {
        Requirement {
            id: id.into(),
            kind,
            text: text.into(),
            marker: None,
            points: None,
            category: None,
            anchor: SourceAnchor::Line { line: 1 },
            parameter: None,
        }
    }

    fn scoring(id: &str, text: &str, points: f64, category: &str) -> Requirement {
        Requirement {
            points: Some(points),
            category: Some(category.into()),
            ..item(id, RequirementKind::Scoring, text)
        }
    }

    fn sample_ledger() -> RequirementLedger {
        let mut star = item(
            "MA-001",
            RequirementKind::Mandatory,
            "★投标人须提供原厂授权书",
        );
        star.marker = Some("★".into());
        let mut cpu = item("PA-001", RequirementKind::Parameter, "CPU核数≥16核");
        cpu.parameter = Some(ParameterValue {
            name: "CPU核数".into(),
            comparator: "≥".into(),
            value: "16".into(),
            unit: Some("核".into()),
        });
        RequirementLedger {
            facts: ProjectFacts {
                project_name: Some("某市政务云平台扩容项目".into()),
                project_code: Some("ZB-2024-001".into()),
                ..Default::default()
            },
            requirements: vec![
                item("QU-001", RequirementKind::Qualification, "具有独立法人资格"),
                scoring("SC-001", "技术方案：方案完整合理（10分）", 10.0, "技术"),
                scoring("SC-002", "售后服务：响应及时（5分）", 5.0, "技术"),
                scoring("SC-003", "类似业绩：每个得1分", 3.0, "商务"),
                scoring("SC-004", "价格分", 30.0, "价格"),
                star,
                cpu,
                item(
                    "CO-001",
                    RequirementKind::Commercial,
                    "交货期：合同签订后30日内",
                ),
                item("FO-001", RequirementKind::Format, "投标文件须逐页加盖公章"),
                item(
                    "DQ-001",
                    RequirementKind::Disqualification,
                    "未按要求提交投标保证金的，投标无效",
                ),
            ],
            ..Default::default()
        }
    }

    fn heading(level: u8, text: &str, index: u32) -> Block {
        Block::Heading {
            level,
            number: None,
            text: text.into(),
            anchor: SourceAnchor::Paragraph { index },
        }
    }

    fn paragraph(text: &str, index: u32) -> Block {
        Block::Paragraph {
            text: text.into(),
            anchor: SourceAnchor::Paragraph { index },
        }
    }

    fn doc(blocks: Vec<Block>) -> TenderDocument {
        TenderDocument {
            format: DocumentFormat::Docx,
            pages: None,
            needs_ocr_pages: vec![],
            blocks,
        }
    }

    fn assert_every_item_once(outline: &Outline, ledger: &RequirementLedger) {
        let coverage = outline.coverage(ledger);
        assert_eq!(coverage.unassigned, Vec::<String>::new());
        assert_eq!(coverage.assigned_twice, Vec::<String>::new());
        assert_eq!(coverage.assigned_share, 1.0);
        assert_eq!(coverage.mandatory_share, 1.0);
        assert_eq!(coverage.mandatory_total, 2);
    }

    #[test]
    fn without_a_prescribed_format_parts_follow_scoring_categories_and_cover_everything() {
        let ledger = sample_ledger();
        let outline = plan_outline(&doc(vec![paragraph("无格式章节", 0)]), &ledger);
        assert_eq!(outline.source, OutlineSource::ScoringCategories);
        assert_every_item_once(&outline, &ledger);
        let technical = outline.section_of("SC-001").map(|s| s.number.clone());
        assert_eq!(technical.as_deref(), Some("4.1"), "{outline:#?}");
        assert_eq!(
            outline.section_of("SC-002").map(|s| s.title.as_str()),
            Some("售后服务")
        );
        assert_eq!(
            outline.section_of("PA-001").map(|s| s.title.as_str()),
            Some("技术参数响应及偏离表")
        );
        assert_eq!(
            outline.section_of("QU-001").map(|s| s.title.as_str()),
            Some("资格证明文件")
        );
        let ids: HashSet<_> = outline.sections.iter().map(|s| s.id.clone()).collect();
        assert_eq!(ids.len(), outline.sections.len(), "section ids are unique");
        assert!(outline.sections.iter().all(|s| (1..=4).contains(&s.level)));
    }

    #[test]
    fn a_prescribed_format_becomes_the_top_level_and_still_covers_everything() {
        let ledger = sample_ledger();
        let document = doc(vec![
            heading(1, "第一章 投标邀请", 0),
            paragraph("本项目……", 1),
            heading(1, "第六章 投标文件格式", 2),
            heading(2, "一、投标函", 3),
            paragraph("致：采购人", 4),
            heading(2, "二、法定代表人授权书", 5),
            heading(2, "三、资格证明文件", 6),
            heading(3, "（一）营业执照", 7),
            heading(2, "四、技术方案", 8),
            heading(2, "五、报价一览表", 9),
        ]);
        let outline = plan_outline(&document, &ledger);
        assert_eq!(outline.source, OutlineSource::PrescribedFormat);
        let top: Vec<&str> = outline
            .sections
            .iter()
            .filter(|s| s.level == 1)
            .map(|s| s.title.as_str())
            .collect();
        assert_eq!(
            top[..5],
            [
                "投标函",
                "法定代表人授权书",
                "资格证明文件",
                "技术方案",
                "报价一览表"
            ],
            "{top:?}"
        );
        assert_every_item_once(&outline, &ledger);
        assert_eq!(
            outline.section_of("QU-001").map(|s| s.title.as_str()),
            Some("资格证明文件")
        );
        assert_eq!(
            outline.section_of("SC-004").map(|s| s.title.as_str()),
            Some("报价一览表")
        );
        assert_eq!(
            outline.section_of("PA-001").map(|s| s.title.as_str()),
            Some("技术方案")
        );
        // Items the format has no place for get a part of their own after the prescribed ones.
        let commercial = outline.section_of("CO-001");
        assert_eq!(
            commercial.map(|s| (s.number.as_str(), s.title.as_str())),
            Some(("6", "商务条款响应及偏离表"))
        );
    }

    #[test]
    fn a_format_listed_in_text_is_read_too() {
        let document = doc(vec![
            heading(2, "投标文件的组成", 0),
            paragraph("投标文件应包括下列内容：（1）投标函；（2）开标一览表；（3）资格证明文件；（4）技术响应文件。", 1),
            heading(2, "投标文件的递交", 2),
        ]);
        assert_eq!(
            prescribed_format(&document),
            ["投标函", "开标一览表", "资格证明文件", "技术响应文件"]
        );
    }

    #[test]
    fn parts_named_in_one_sentence_are_read() {
        let document = doc(vec![
            heading(4, "13.投标文件组成", 0),
            paragraph("13.1投标文件一般由价格文件、商务技术文件、资格证明文件三部分组成。每部分应当分别编制目录。", 1),
            heading(4, "14.投标文件的编制", 2),
        ]);
        assert_eq!(
            prescribed_format(&document),
            ["价格文件", "商务技术文件", "资格证明文件"]
        );
        let outline = plan_outline(&document, &sample_ledger());
        assert_every_item_once(&outline, &sample_ledger());
        assert_eq!(
            outline.section_of("SC-001").map(|s| s.number.as_str()),
            Some("2.1")
        );
    }

    #[test]
    fn the_ledgers_response_format_wins_and_marker_meanings_decide_what_is_mandatory() {
        let mut ledger = sample_ledger();
        ledger.response_format = vec![
            "一、投标函".into(),
            "二、资格证明文件".into(),
            "三、技术部分".into(),
        ];
        let mut main_parameter = item("PA-002", RequirementKind::Parameter, "★内存≥256GB");
        main_parameter.marker = Some("★".into());
        ledger.requirements.push(main_parameter);
        ledger.markers = vec![aibid_tender::MarkerMeaning {
            symbol: "★".into(),
            meaning: "主要性能参数".into(),
            mandatory: false,
        }];
        let outline = plan_outline(&doc(vec![]), &ledger);
        assert_eq!(outline.source, OutlineSource::PrescribedFormat);
        let top: Vec<&str> = outline
            .sections
            .iter()
            .filter(|s| s.level == 1)
            .map(|s| s.title.as_str())
            .collect();
        assert_eq!(top[..3], ["投标函", "资格证明文件", "技术部分"]);
        let coverage = outline.coverage(&ledger);
        assert!(coverage.is_complete());
        // MA-001 (kind mandatory) and DQ-001 count; the ★ main parameter does not.
        assert_eq!(coverage.mandatory_total, 2);
    }

    #[test]
    fn word_budgets_are_proportional_to_points() {
        let ledger = sample_ledger();
        let outline = plan_outline(&doc(vec![]), &ledger);
        let budget = |id: &str| outline.section_of(id).map(|s| s.word_budget).unwrap_or(0);
        assert_eq!(budget("SC-001"), 10 * WORDS_PER_POINT);
        assert_eq!(budget("SC-002"), 5 * WORDS_PER_POINT);
        assert_eq!(budget("SC-001"), 2 * budget("SC-002"));
    }

    #[test]
    fn an_empty_ledger_still_gets_a_letter_and_a_technical_part() {
        let outline = plan_outline(&doc(vec![]), &RequirementLedger::default());
        let titles: Vec<&str> = outline.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["投标函及项目概述", "技术方案"]);
        assert!(outline
            .coverage(&RequirementLedger::default())
            .is_complete());
    }
}
