//! Supplier qualification requirements (资格要求): the items under every 资格要求/资格条件 section
//! and the rows of 资格审查 tables, once each.

use super::{Found, Line};
use crate::document::SourceAnchor;
use crate::ledger::RequirementKind;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static qualification pattern")
}

static SECTION_START: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:供应商|投标人|申请人|响应人|投标供应商|竞标人|磋商供应商)?(?:的)?(?:资格要求|资格条件|资质要求|资格审查(?:要求|内容|表)?|合格(?:的)?(?:投标人|供应商)|资格性审查|投标人资格|Eligibility Criteria|Eligibility|Qualification Criteria|Pre-?Qualification)",
    )
});
/// Short lines that open a different part of a notice or chapter.
static SECTION_END: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"获取(?:招标|采购|磋商|谈判)?文件|提交(?:投标|响应)文件|投标截止|响应文件提交|开标|公告期限|其他补充事宜|联系方式|采购需求|项目概况|评分|评审|投标保证金|报名|Scope of Work|Terms and Conditions|Bid Submission",
    )
});
static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:[0-9]{1,2}(?:\.[0-9]{1,2})*\s*[.、．)）]|[（(][0-9一二三四五六七八九十]{1,3}[）)]|[一二三四五六七八九十]{1,3}[、．]|[①-⑳]|[a-zA-Z][.)]|\([a-zA-Z]\)|[ivx]{1,4}[.)]|[•·●▪-])",
    )
});
/// Lines looked at after a section title at most, in case no end marker is found.
const MAX_SECTION_LINES: usize = 60;
/// An item whose bigrams are this much inside an item already kept repeats it (the notice, the
/// instructions and the review table usually list the same conditions).
const REPEAT_SIMILARITY: f64 = 0.8;

/// Notes, pointers and review-procedure sentences inside a qualification section: not conditions.
static EXPLANATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:注|备注|说明|提示|特别提示|温馨提示)\s*[0-9]*\s*[：:]|^[（(]?(?:注|说明)[）)]|未通过资格审查|通过资格审查的|不通过资格审查|资格审查的依据|资格审查时|^详见|^见本(?:章|文件|招标文件)|以下(?:简称|内容)|评标委员会|采购人(?:或|和)?(?:采购)?代理机构(?:将|依据|应|对|负责)|是否通过|原因说明|^序号|^(?:根据|依据)|^[^。；]{0,30}(?:应当提供|可以提供|可由)|^以[^。；]{0,30}为准[）)]?[。；]?$|[：:]\s*(?:详见|见)|第\s*[0-9.]+\s*(?:项|款|条)规定|(?:签字|盖章|签章)\s*[)）]?\s*[：:]\s*$|^日期\s*[：:]|^特此|^审查(?:内容|项目|标准)$",
    )
});
/// A sentence after the first one is kept as its own condition only when it states one.
static CONDITION_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"不得|须|应当?|必须|具有|具备|未被|不接受|接受|满足|符合|提供|持有|取得|\bmust\b|\bshould\b|\bshall\b",
    )
});
static EXPLANATION_START: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:若|如|其中|以|即|包括|注|说明|此|上述|该|本条)"));

pub fn extract(lines: &[Line]) -> Vec<Found> {
    let mut kept = Kept::default();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let Some(same_line) = opening(line) else {
            i += 1;
            continue;
        };
        for part in same_line {
            kept.push(&part, line);
        }
        let end = section_end(lines, i);
        let body = &lines[i + 1..end];
        if wrapped_lines(line) {
            for (text, at) in joined_items(body) {
                kept.push(&text, at);
            }
        } else {
            for next in body {
                for text in requirement_texts(next) {
                    kept.push(&text, next);
                }
            }
        }
        i = end.max(i + 1);
    }
    kept.items
}

/// Index of the first line after the section opened at `start`.
fn section_end(lines: &[Line], start: usize) -> usize {
    let opening = &lines[start];
    let start_rank = ladder_rank(&opening.text);
    let mut entered_table = opening.table;
    // A title in a row's label cell (a 须知前附表 entry) opens only that row and the rows
    // continuing it; a title in a table's first row makes the whole table a qualification table.
    let row_entry = opening.table.is_some() && start > 0 && lines[start - 1].table == opening.table;
    let mut j = start + 1;
    while j < lines.len() && j <= start + MAX_SECTION_LINES {
        let next = &lines[j];
        if row_entry
            && next
                .cells
                .and_then(|c| c.first())
                .is_none_or(|label| !label.trim().is_empty())
        {
            break;
        }
        if ends_section(next, opening.heading, entered_table) {
            break;
        }
        if !next.is_row() {
            if let (Some(rank), Some(start_rank)) = (ladder_rank(&next.text), start_rank) {
                // "1." under a "2.1.1" title is a list item, not the next clause.
                let list_item = rank == 50 && start_rank > 50;
                if rank <= start_rank && !list_item && !is_title(&next.text, next.heading.is_some())
                {
                    break;
                }
            }
        }
        if entered_table.is_none() {
            entered_table = next.table;
        }
        j += 1;
    }
    j
}

/// Rank of the ladder number a line starts with; PDF text often drops the space after "1.5", so
/// decimal numbers are also taken when a title follows directly ("1.5费用承担" ranks as "1.5").
fn ladder_rank(text: &str) -> Option<crate::headings::Rank> {
    if let Some((rank, _, _)) = crate::headings::ladder_number(text) {
        return Some(rank);
    }
    let number = DECIMAL_NUMBER.captures(text.trim_start())?;
    let depth = number[1].matches('.').count() as u8;
    Some(50 + depth.min(2))
}

static DECIMAL_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([0-9]{1,2}(?:\.[0-9]{1,2}){1,2})[^0-9.%％]"));

/// PDF and text lines are wrapped at the page width; Word paragraphs are whole.
fn wrapped_lines(line: &Line) -> bool {
    matches!(
        line.anchor,
        SourceAnchor::Page { .. } | SourceAnchor::Line { .. }
    )
}

/// Wrapped lines joined back into items: a numbered line starts an item, and so does a line after
/// one that ends a sentence or introduces a list; table rows stay items of their own.
fn joined_items<'l, 'a>(body: &'l [Line<'a>]) -> Vec<(String, &'l Line<'a>)> {
    let mut items: Vec<(String, &Line)> = Vec::new();
    let mut open = false;
    for line in body {
        if line.is_row() {
            items.extend(requirement_texts(line).into_iter().map(|t| (t, line)));
            open = false;
            continue;
        }
        let text = line.text.trim();
        match items.last_mut() {
            Some((current, _)) if open && !NUMBERED.is_match(text) && line.heading.is_none() => {
                current.push_str(text)
            }
            _ => items.push((text.to_owned(), line)),
        }
        open = !text.ends_with(['。', '；', ';', '：', ':']);
    }
    items
}

#[derive(Default)]
struct Kept {
    items: Vec<Found>,
    bigrams: Vec<HashSet<(char, char)>>,
}

impl Kept {
    /// Keeps the conditions an item states, each once.
    fn push(&mut self, text: &str, line: &Line) {
        for condition in conditions(text) {
            let grams = bigrams(&condition);
            if grams.is_empty() {
                continue;
            }
            let repeated = self.bigrams.iter().any(|have| {
                grams.iter().filter(|g| have.contains(g)).count() as f64 / grams.len() as f64
                    >= REPEAT_SIMILARITY
            });
            if repeated {
                continue;
            }
            self.bigrams.push(grams.into_iter().collect());
            self.items.push(Found::new(
                RequirementKind::Qualification,
                super::markers::shorten(&condition),
                line.anchor,
            ));
        }
    }
}

/// The conditions in an item: its sentences (split at 。 and ； outside brackets), a sentence that
/// states no condition of its own staying with the one before; titles and notes are dropped.
fn conditions(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.chars().count() < 6 || EXPLANATION.is_match(text) {
        return Vec::new();
    }
    let bare = NUMBERED.replace(text, "");
    let bare = bare.trim().trim_end_matches(['：', ':', '。', ' ']);
    if is_title(bare, false)
        && bare.chars().count() <= 40
        && SECTION_START
            .find(bare)
            .is_some_and(|m| m.end() == bare.len())
    {
        return Vec::new();
    }
    // A group title inside a list ("三、财务要求") or a piece of a line broken out of its
    // sentence ("其他利害关系；", "…文书为准）；") is no condition of its own.
    let short_title = bare.chars().count() <= 10 && bare.ends_with(['求', '件']);
    let unnumbered_piece = !NUMBERED.is_match(text) && text.chars().count() < 12;
    let opens = bare.matches(['（', '(']).count();
    let closes = bare.matches(['）', ')']).count();
    if short_title || unnumbered_piece || closes > opens {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for sentence in sentences(text) {
        let trimmed = sentence.trim();
        if trimmed.is_empty() || EXPLANATION.is_match(trimmed) {
            continue;
        }
        let parenthetical = trimmed.starts_with(['（', '(']) && trimmed.ends_with(['）', ')']);
        let own_condition = trimmed.chars().count() >= 15
            && CONDITION_WORDS.is_match(trimmed)
            && !EXPLANATION_START.is_match(trimmed)
            && !parenthetical;
        match out.last_mut() {
            Some(last) if !own_condition => last.push_str(&sentence),
            _ => out.push(trimmed.to_owned()),
        }
    }
    out.retain(|c| c.chars().count() >= 6);
    out
}

/// Sentences split at full stops and semicolons outside brackets.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    for c in text.chars() {
        current.push(c);
        match c {
            '（' | '(' | '《' | '“' => depth += 1,
            '）' | ')' | '》' | '”' => depth = (depth - 1).max(0),
            '。' | '；' if depth == 0 => out.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

fn bigrams(text: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Whether a text opens a qualification section: a title, not a sentence mentioning 资格要求 in passing.
fn is_title(text: &str, is_heading: bool) -> bool {
    let text = text.trim();
    let len = text.chars().count();
    SECTION_START.find(text).is_some_and(|m| {
        let before = text[..m.start()].chars().count();
        let colon_after = text[m.end()..].trim_start().starts_with(['：', ':']);
        is_heading || (before <= 12 && (len <= 40 || colon_after))
    }) && !text.contains("资格要求的证明")
        && !text.contains("见")
        && !NOT_A_TITLE.is_match(text)
}

/// Lines that mention a qualification section without opening one: references to it ("符合
/// “二、申请人的资格要求”中规定的"), the review procedure (bare 资格审查), the forms that prove
/// it (资格证明文件, 资格声明函) and review-table columns (是否通过).
static NOT_A_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"^[^：:]*[。；;]$|^[^：:]*[。；;].*(?:资格要求|资格条件)|^(?:注|备注|说明)|[“”"]|所述|评标委员会|是否|通过|原因|欢迎|承诺|符合性|符合(?:参与)?.{0,12}资格条件|(?:资格审查|资格性审查|资格证明|资格声明)(?:文件|函|材料|资料)|^[（(].*[）)]$|(?:^|[0-9.、．\s）)])(?:资格审查|资格性审查)$"#,
    )
});

/// When the line opens a section, the requirement texts it carries itself (rest of the title line,
/// other cells of the row, lines of a multi-line cell).
fn opening(line: &Line) -> Option<Vec<String>> {
    match line.cells {
        None => {
            let first = line.text.lines().next().unwrap_or("");
            if !is_title(first, line.heading.is_some()) {
                return None;
            }
            Some(after_title(&line.text).map(split_items).unwrap_or_default())
        }
        Some(cells) => {
            let title_cell = cells
                .iter()
                .position(|c| is_title(c.lines().next().unwrap_or(""), false))?;
            let mut parts = Vec::new();
            for (k, cell) in cells.iter().enumerate() {
                if k == title_cell {
                    parts.extend(cell.lines().skip(1).map(str::to_owned));
                    if let Some(rest) = cell.lines().next().and_then(after_title) {
                        parts.insert(0, rest.to_owned());
                    }
                } else if cell.chars().count() >= 6 {
                    parts.extend(split_items(cell));
                }
            }
            Some(
                parts
                    .into_iter()
                    .filter(|p| p.chars().count() >= 6)
                    .collect(),
            )
        }
    }
}

fn split_items(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.chars().count() >= 6)
        .map(str::to_owned)
        .collect()
}

fn after_title(text: &str) -> Option<&str> {
    let first = text.lines().next()?;
    let m = SECTION_START.find(first)?;
    let rest = first[m.end()..].trim_start_matches(['：', ':', ' ']).trim();
    (rest.chars().count() >= 6).then_some(rest)
}

fn ends_section(line: &Line, start_level: Option<u8>, start_table: Option<usize>) -> bool {
    if let (Some(level), Some(start)) = (line.heading, start_level) {
        if level <= start {
            return true;
        }
    }
    // A qualification table ends where the table ends.
    if start_table.is_some() && line.table != start_table {
        return true;
    }
    let len = line.text.chars().count();
    (line.heading.is_some() || len <= 30) && SECTION_END.is_match(&line.text) && !line.is_row()
}

/// A row's requirements are in its longest cell (the others are numbers, "是/否", page
/// references), one per line of a multi-line cell.
fn requirement_texts(line: &Line) -> Vec<String> {
    match line.cells {
        Some(cells) => cells
            .iter()
            .max_by_key(|c| c.chars().count())
            .map(|c| split_items(c))
            .unwrap_or_default(),
        None => vec![line.text.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[&str]) -> Vec<String> {
        let lines: Vec<Line> = lines.iter().map(|t| Line::paragraph(t)).collect();
        extract(&lines).into_iter().map(|f| f.text).collect()
    }

    #[test]
    fn conditions_end_at_the_next_section_and_wrapped_lines_are_joined() {
        let got = texts(&[
            "二、申请人的资格要求",
            "1.满足《中华人民共和国政府采购法》第二十二条规定；",
            "2.具有良好的商业信誉和健全的财务会计制度（提供2024年度",
            "审计报告）；",
            "注：联合体投标的，各方均须提供上述材料。",
            "三、获取招标文件",
            "1.时间：2025年6月24日至2025年7月1日",
        ]);
        assert_eq!(
            got,
            [
                "1.满足《中华人民共和国政府采购法》第二十二条规定；",
                "2.具有良好的商业信誉和健全的财务会计制度（提供2024年度审计报告）；",
            ]
        );
    }

    #[test]
    fn repeated_lists_and_references_to_the_section_add_nothing() {
        let got = texts(&[
            "二、申请人的资格要求",
            "1.具有独立承担民事责任的能力；",
            "三、获取招标文件",
            "1.3.4 符合本项目招标公告“二、申请人的资格要求”中规定的资格条件。",
            "22.资格审查",
            "22.1 采购人或采购代理机构依据法律法规对投标人的资格进行审查。",
            "附件1：资格审查表",
            "1.具有独立承担民事责任的能力",
        ]);
        assert_eq!(got, ["1.具有独立承担民事责任的能力；"]);
    }

    #[test]
    fn a_second_condition_in_one_item_is_its_own_requirement() {
        let got = texts(&[
            "投标人资格要求",
            "（3）其他条件：单位负责人为同一人的不同供应商，不得同时参加投标；为本项目提供整体设计服务的供应商，不得再参与本项目投标。",
        ]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].starts_with("为本项目提供整体设计"));
    }
}
