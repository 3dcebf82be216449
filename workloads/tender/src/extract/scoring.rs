//! Scoring items from the bid evaluation criteria (评分标准/评分办法/评标办法): name, maximum
//! points and category, from Word tables or from tables flattened to one cell per line (PDF, TXT).
//! Look-alike tables (monthly 考核 tables) are recognised by their header and context and skipped.

use super::{Found, Line};
use crate::headings;
use crate::ledger::RequirementKind;
use regex::Regex;
use std::sync::LazyLock;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static scoring pattern")
}

/// Header cell of the points column.
static POINTS_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:标准)?分值(?:[（(]分[）)])?$|^分数$|^满分$|^最高分$|^分值(?:范围|区间)$|^评分分值$|^得分$|^权重(?:[（(]%[）)])?$|^分值[（(]?满分",
    )
});
/// Header cell naming the item.
static NAME_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:评审|评分|评价|评标)(?:项目|因素|因子|内容|项|指标)(?:及权重)?$|^(?:评分|评审)?因素$|^评分项目?$|^项目$|^评审要素$|^评分内容$",
    )
});
/// Points as written in a cell: "10", "10分", "21.5", "0~15", "0-15分".
static POINTS_CELL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:0\s*[~～\-－—至]\s*)?([0-9]{1,3}(?:\.[0-9]{1,2})?)\s*分?$"));
/// "（25分）" / "(满分100分)" inside a name or title.
static POINTS_IN_TEXT: LazyLock<Regex> =
    LazyLock::new(|| re(r"[（(](?:满分|最高|共)?\s*([0-9]{1,3}(?:\.[0-9]{1,2})?)\s*分[）)]"));
static TOTAL_ROW: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:合\s*计|总\s*计|小\s*计|总\s*分|满\s*分)"));
static SCORING_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"评分标准|评分办法|评标办法|评审标准|评分细则|评审细则|评分表|评审表|评标标准|综合评分|评分因素|详细评审|评审因素",
    )
});
static REVIEW_CONTEXT: LazyLock<Regex> =
    LazyLock::new(|| re(r"考核|考评|月度|绩效|质量评价|满意度"));

pub fn extract(lines: &[Line], warnings: &mut Vec<String>) -> Vec<Found> {
    let mut items = raw_items(lines, warnings);
    if !items.is_empty() && !items.iter().any(is_price_item) {
        items.extend(price_formula_item(lines));
    }
    for item in &mut items {
        item.category = Some(normalized_category(item.category.as_deref(), &item.text).to_owned());
    }
    items
}

/// Price words in an item's own name: a price item is 价格 whatever group it sits in
/// ("商务标" tables often hold the price formula).
static PRICE_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"报价|价格|总价|评标价"));
static BUSINESS_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"商务|业绩|资质|资信|信誉|证书|认证|财务|实力|规模|纳税|注册资本|营业|利润|履约能力|企业|公司",
    )
});
static TECHNICAL_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"技术|方案|服务|设计|实施|人员|团队|培训|应急|质量|售后|工艺|设备|产品|响应|措施|管理|需求")
});

/// 商务 / 技术 / 价格 from the group title, else from the item's name; 其他 when neither says.
pub fn normalized_category(group: Option<&str>, text: &str) -> &'static str {
    let name = text.split(['：', ':']).next().unwrap_or(text);
    if PRICE_NAME.is_match(name) {
        return "价格";
    }
    if let Some(group) = group {
        let business = group.contains("商务") || group.contains("资信");
        let technical = group.contains("技术");
        match (business, technical) {
            (true, false) => return "商务",
            (false, true) => return "技术",
            (false, false) if group.contains('价') => return "价格",
            _ => {}
        }
    }
    if BUSINESS_NAME.is_match(name) {
        "商务"
    } else if TECHNICAL_NAME.is_match(name) {
        "技术"
    } else {
        "其他"
    }
}

fn is_price_item(item: &Found) -> bool {
    normalized_category(item.category.as_deref(), &item.text) == "价格"
}

/// "价格分=(1-价格调整系数x|1-评标价/基准值|)x100": the price score's maximum is the formula's
/// final factor, times a weight written as a percentage just before it ("×10%×100" is 10 points).
static PRICE_FORMULA: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:价格分|价格得分|报价得分|投标报价得分|价格评分|评标价格分)\s*[=＝].*?(?:[×xX*＊]\s*([0-9]{1,3}(?:\.[0-9]{1,2})?)\s*[%％]\s*)?[×xX*＊]\s*([0-9]{1,3})\s*分?\s*$",
    )
});

/// The price item of a scoring scheme whose tables score only the other parts and give price
/// as a formula elsewhere (a 50/50 technical/commercial weighting).
fn price_formula_item(lines: &[Line]) -> Option<Found> {
    lines.iter().find_map(|line| {
        let texts: Vec<&str> = match line.cells {
            Some(cells) => cells.iter().map(String::as_str).collect(),
            None => vec![line.text.as_str()],
        };
        texts.into_iter().find_map(|text| {
            let first = compact(text.lines().next().unwrap_or(""));
            let caps = PRICE_FORMULA.captures(&first)?;
            let factor: f64 = caps[2].parse().ok()?;
            let weight = match caps.get(1) {
                Some(w) => w.as_str().parse::<f64>().ok()? / 100.0,
                None => 1.0,
            };
            let points = (factor * weight * 100.0).round() / 100.0;
            let mut found = Found::new(
                RequirementKind::Scoring,
                format!("价格分（公式计分）：{first}"),
                line.anchor,
            );
            found.points = Some(points);
            found.category = Some("价格".to_owned());
            Some(found)
        })
    })
}

fn raw_items(lines: &[Line], warnings: &mut Vec<String>) -> Vec<Found> {
    let mut items = from_tables(lines, warnings);
    if items.is_empty() {
        items = from_flattened(lines, warnings);
    }
    if items.is_empty() {
        items = from_running_text(lines, warnings);
    }
    if items.is_empty() {
        items = from_inline_rows(lines);
    }
    items
}

/// Points as written in a points cell.
pub fn parse_points(cell: &str) -> Option<f64> {
    let compact: String = cell.chars().filter(|c| !c.is_whitespace()).collect();
    POINTS_CELL.captures(&compact)?[1].parse().ok()
}

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether the lines just before `at` introduce bid scoring rather than a performance review.
fn scoring_context(lines: &[Line], at: usize, header: &[String]) -> bool {
    if header.iter().any(|c| REVIEW_CONTEXT.is_match(c)) {
        return false;
    }
    for line in lines[at.saturating_sub(12)..at].iter().rev() {
        if line.is_row() {
            continue;
        }
        let text = &line.text;
        if REVIEW_CONTEXT.is_match(text) && !SCORING_CONTEXT.is_match(text) {
            return false;
        }
        if SCORING_CONTEXT.is_match(text) {
            return true;
        }
    }
    // No title nearby: the header itself must say it scores (评分/评审).
    header
        .iter()
        .any(|c| c.contains("评分") || c.contains("评审"))
}

/// The title line right before a table or block: where the category comes from ("附表3 商务评审标准表").
fn title_before(lines: &[Line], at: usize) -> Option<String> {
    lines[at.saturating_sub(3)..at]
        .iter()
        .rev()
        .find(|l| !l.is_row() && l.text.chars().count() <= 40 && !l.text.is_empty())
        .map(|l| l.text.clone())
}

struct Columns {
    header_row: usize,
    name: usize,
    points: usize,
}

fn columns(rows: &[&Line]) -> Option<Columns> {
    for (r, row) in rows.iter().take(3).enumerate() {
        let cells = row.cells?;
        let points = cells
            .iter()
            .position(|c| POINTS_HEADER.is_match(&compact(c)));
        let name = cells.iter().position(|c| {
            NAME_HEADER.is_match(&compact(c))
                || compact(c).contains("评审因素")
                || compact(c).contains("评分因素")
        });
        if let (Some(points), Some(name)) = (points, name) {
            return Some(Columns {
                header_row: r,
                name,
                points,
            });
        }
        if let Some(points) = points {
            let name = if points > 1 { 1 } else { 0 };
            return Some(Columns {
                header_row: r,
                name,
                points,
            });
        }
    }
    None
}

fn from_tables(lines: &[Line], warnings: &mut Vec<String>) -> Vec<Found> {
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(table) = lines[i].table else {
            i += 1;
            continue;
        };
        let start = i;
        while i < lines.len() && lines[i].table == Some(table) {
            i += 1;
        }
        let rows: Vec<&Line> = lines[start..i].iter().collect();
        items.extend(table_items(lines, start, &rows, warnings));
    }
    items
}

fn table_items(
    lines: &[Line],
    start: usize,
    rows: &[&Line],
    warnings: &mut Vec<String>,
) -> Vec<Found> {
    let header: Vec<String> = rows
        .first()
        .and_then(|r| r.cells)
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let title = title_before(lines, start);
    let columns = columns(rows);
    let context_ok = scoring_context(lines, start, &header);
    let Some(columns) = columns else {
        // Tables with points only inside the name ("投标人类似业绩（25分）") and a 评分细则 label.
        return if context_ok {
            embedded_points_items(rows, title.as_deref(), warnings)
        } else {
            Vec::new()
        };
    };
    if !context_ok {
        return Vec::new();
    }
    let mut items = Vec::new();
    let mut group: Option<String> = None;
    let mut stated_total: Option<f64> = header.iter().find_map(|c| points_in_text(c));
    for row in &rows[columns.header_row + 1..] {
        let Some(cells) = row.cells else { continue };
        let first_text = cells
            .iter()
            .find(|c| !c.is_empty())
            .map(|c| compact(c))
            .unwrap_or_default();
        if TOTAL_ROW.is_match(&first_text) {
            stated_total = cells
                .iter()
                .skip(1)
                .find_map(|c| parse_points(c))
                .or(stated_total);
            continue;
        }
        let points = cells
            .get(columns.points)
            .and_then(|c| parse_points(c))
            .or_else(|| {
                // Rows with merged cells are shorter than the header: take the last points-like cell.
                (cells.len() != header.len())
                    .then(|| cells.iter().rev().find_map(|c| parse_points(c)))
                    .flatten()
            });
        let name_cell = cells
            .get(columns.name)
            .map(|c| c.trim().to_owned())
            .unwrap_or_default();
        if !name_cell.is_empty() {
            group = Some(name_cell.clone());
        }
        let Some(points) = points else { continue };
        let detail = cells
            .iter()
            .enumerate()
            .filter(|(k, c)| *k != columns.name && *k != columns.points && c.chars().count() > 8)
            .map(|(_, c)| c.as_str())
            .next()
            .unwrap_or("");
        let name = if name_cell.is_empty() {
            group.clone().unwrap_or_default()
        } else {
            name_cell.clone()
        };
        if name.is_empty() && detail.is_empty() {
            continue;
        }
        let category = category_of(&name, name_cell.is_empty(), points, title.as_deref());
        let text = item_text(&name, detail);
        let mut found = Found::new(RequirementKind::Scoring, text, row.anchor);
        found.points = Some(points);
        found.category = category;
        items.push(found);
    }
    check_total(&items, stated_total, title.as_deref(), warnings);
    items
}

/// A group cell stating its own points ("针对本项目的服务方案（30分）") is the category of its rows;
/// otherwise the table's title is.
fn category_of(name: &str, continued: bool, points: f64, title: Option<&str>) -> Option<String> {
    if let Some(group_points) = points_in_text(name) {
        if continued || group_points > points {
            return Some(name.to_owned());
        }
    }
    title.map(str::to_owned)
}

fn points_in_text(text: &str) -> Option<f64> {
    POINTS_IN_TEXT.captures(text)?[1].parse().ok()
}

fn item_text(name: &str, detail: &str) -> String {
    let detail: String = detail.chars().take(120).collect();
    if detail.is_empty() {
        name.to_owned()
    } else {
        format!("{name}：{detail}")
    }
}

fn embedded_points_items(
    rows: &[&Line],
    title: Option<&str>,
    warnings: &mut Vec<String>,
) -> Vec<Found> {
    let mut items = Vec::new();
    let mut in_scoring_rows = false;
    for row in rows {
        let Some(cells) = row.cells else { continue };
        let points_cell = cells.iter().enumerate().skip(1).find_map(|(k, c)| {
            (c.chars().count() <= 30)
                .then(|| points_in_text(c))
                .flatten()
                .map(|p| (k, p))
        });
        // The row's label is its first worded cell before the item (a clause number such as
        // "2.2.4（1）" may precede it); rows of a merged label cell keep the one above.
        let label_end = points_cell.map_or(1, |(k, _)| k);
        let label = cells[..label_end.min(cells.len())]
            .iter()
            .map(|c| compact(c))
            .find(|c| c.chars().any(char::is_alphabetic))
            .unwrap_or_default();
        if !label.is_empty() {
            in_scoring_rows = label.contains("评分") || label.contains("评审");
        }
        if !in_scoring_rows {
            continue;
        }
        let Some((k, points)) = points_cell else {
            continue;
        };
        let detail = cells.get(k + 1).map(String::as_str).unwrap_or("");
        let mut found = Found::new(
            RequirementKind::Scoring,
            item_text(cells[k].trim(), detail),
            row.anchor,
        );
        found.points = Some(points);
        found.category = title.map(str::to_owned);
        items.push(found);
    }
    let _ = warnings;
    items
}

fn check_total(
    items: &[Found],
    stated: Option<f64>,
    title: Option<&str>,
    warnings: &mut Vec<String>,
) {
    let Some(stated) = stated else { return };
    let sum: f64 = items.iter().filter_map(|f| f.points).sum();
    if !items.is_empty() && (sum - stated).abs() > 0.01 {
        warnings.push(format!(
            "scoring table {}: items add up to {sum} points but the table states {stated}",
            title.unwrap_or("(untitled)")
        ));
    }
}

/// Tables flattened to one cell per line (PDF text, text dumps): after a header block that names
/// a points column, rows are read back in the header's column order.
fn from_flattened(lines: &[Line], warnings: &mut Vec<String>) -> Vec<Found> {
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((body_start, points_first)) = flattened_header(lines, i) else {
            i += 1;
            continue;
        };
        let near: Vec<&Line> = lines[i.saturating_sub(4)..i].iter().collect();
        let header_text: String = lines[i..body_start]
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        if !scoring_context(lines, i, std::slice::from_ref(&header_text))
            && !near
                .iter()
                .any(|l| l.text.contains("评分") || l.text.contains("评审"))
        {
            i = body_start;
            continue;
        }
        let title = title_before(lines, i);
        let stated_total = title.as_deref().and_then(points_in_text);
        let (found, end) = if points_first {
            rows_points_first(lines, body_start, title.as_deref())
        } else {
            rows_points_last(lines, body_start, title.as_deref())
        };
        check_total(&found, stated_total, title.as_deref(), warnings);
        items.extend(found);
        i = end.max(body_start);
    }
    items
}

static DETAIL_HEADER: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:评分|评审|评价)(?:标准|细则|办法|内容|依据|方法|说明)$|^评审要求"));

/// A run of up to eight short lines with a points header and a name or criteria header. Returns the
/// first body line and whether the points column comes before the criteria column.
fn flattened_header(lines: &[Line], at: usize) -> Option<(usize, bool)> {
    let mut points_at = None;
    let mut detail_at = None;
    let mut saw_name = false;
    let mut k = at;
    while k < lines.len() && k < at + 8 {
        let text = compact(&lines[k].text);
        if text.chars().count() > 10 || lines[k].is_row() {
            break;
        }
        if POINTS_HEADER.is_match(&text) {
            points_at.get_or_insert(k);
        } else if DETAIL_HEADER.is_match(&text) {
            detail_at.get_or_insert(k);
        } else if NAME_HEADER.is_match(&text)
            || text == "序号"
            || text.ends_with('因')
            || text == "素"
            || text == "评分项"
        {
            saw_name = true;
        } else if k == at {
            return None;
        } else {
            break;
        }
        k += 1;
    }
    let points_at = points_at?;
    if !saw_name {
        return None;
    }
    let points_first = detail_at.is_none_or(|d| points_at < d);
    Some((k, points_first))
}

fn is_name_like(text: &str) -> bool {
    let n = text.chars().count();
    (1..=10).contains(&n)
        && !text.contains(['，', '。', '；', '：', ',', ';', ':', '、', '*', '/'])
        && parse_points(text).is_none()
}

fn ends_table(line: &Line) -> bool {
    let text = compact(&line.text);
    text.starts_with("附表")
        || text.starts_with("说明：")
        || text.starts_with("备注")
        || (line.heading.is_some() && (text.contains('章') || text.contains("附件")))
}

/// Rows laid out as [number] name… points criteria…: a points line takes its name from the
/// short name-like lines right before it.
fn rows_points_first(lines: &[Line], start: usize, title: Option<&str>) -> (Vec<Found>, usize) {
    let mut items: Vec<Found> = Vec::new();
    let mut k = start;
    while k < lines.len() && k < start + 400 {
        let line = &lines[k];
        if ends_table(line) {
            break;
        }
        let text = compact(&line.text);
        if let Some(points) = parse_points(&text) {
            let mut name_parts = Vec::new();
            let mut j = k;
            while j > start && is_name_like(&compact(&lines[j - 1].text)) && name_parts.len() < 4 {
                j -= 1;
                name_parts.insert(0, compact(&lines[j].text));
            }
            if !name_parts.is_empty() {
                let detail: String = lines[k + 1..]
                    .iter()
                    .take(3)
                    .map(|l| l.text.as_str())
                    .collect();
                let mut found = Found::new(
                    RequirementKind::Scoring,
                    item_text(&name_parts.concat(), &detail),
                    line.anchor,
                );
                found.points = Some(points);
                found.category = title.map(str::to_owned);
                items.push(found);
            }
        }
        k += 1;
    }
    (items, k)
}

/// Rows laid out as [number] name… criteria… points: the name is the run of short lines after the
/// row number (or after the previous row's points), the criteria run until the points line.
fn rows_points_last(lines: &[Line], start: usize, title: Option<&str>) -> (Vec<Found>, usize) {
    let mut items = Vec::new();
    let mut name_parts: Vec<String> = Vec::new();
    let mut detail_parts: Vec<&str> = Vec::new();
    let mut expected_seq = 1u32;
    let mut k = start;
    while k < lines.len() && k < start + 400 {
        let line = &lines[k];
        let text = compact(&line.text);
        if name_parts.is_empty() && detail_parts.is_empty() {
            if ends_table(line) {
                break;
            }
            if text.parse::<u32>().is_ok_and(|n| n == expected_seq) {
                k += 1;
                continue;
            }
            if parse_points(&text).is_some() {
                // A page number between rows.
                k += 1;
                continue;
            }
        }
        if let Some(points) = parse_points(&text).filter(|_| !name_parts.is_empty()) {
            let mut found = Found::new(
                RequirementKind::Scoring,
                item_text(&name_parts.concat(), &detail_parts.concat()),
                line.anchor,
            );
            found.points = Some(points);
            found.category = title.map(str::to_owned);
            items.push(found);
            name_parts.clear();
            detail_parts.clear();
            expected_seq += 1;
            k += 1;
            continue;
        }
        if detail_parts.is_empty() && is_name_like(&text) && text.chars().count() <= 8 {
            name_parts.push(text);
        } else if !name_parts.is_empty() {
            detail_parts.push(line.text.as_str());
        } else {
            // Criteria text with no name before it: not a row of this table.
            break;
        }
        k += 1;
    }
    (items, k)
}

static RUNNING_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^([^（(：:，。；]{2,24}?)\s*[（(](?:满分|最高|共)?\s*([0-9]{1,3}(?:\.[0-9]{1,2})?)\s*分[）)]",
    )
});

/// Scoring written as running text: "二、技术方案（35分）" groups with "1.深化设计能力（10分）：…"
/// items under them; a group without scored items under it is an item itself.
fn from_running_text(lines: &[Line], warnings: &mut Vec<String>) -> Vec<Found> {
    let entries = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            !l.is_row() && l.text.chars().count() <= 40 && SCORING_CONTEXT.is_match(&l.text)
        })
        .map(|(start, _)| running_entries(lines, start))
        .max_by_key(|e| e.len())
        .unwrap_or_default();
    let mut items = Vec::new();
    for (n, (rank, name, points, k)) in entries.iter().enumerate() {
        let children: Vec<f64> = entries[n + 1..]
            .iter()
            .take_while(|(r, ..)| r > rank)
            .map(|(_, _, p, _)| *p)
            .collect();
        if !children.is_empty() {
            let sum: f64 = children.iter().sum();
            if (sum - points).abs() > 0.01 {
                warnings.push(format!("scoring group {name}: items add up to {sum} points but the group states {points}"));
            }
            continue;
        }
        let parent = entries[..n].iter().rev().find(|(r, ..)| r < rank);
        let mut found = Found::new(
            RequirementKind::Scoring,
            lines[*k].text.clone(),
            lines[*k].anchor,
        );
        found.points = Some(*points);
        found.category = parent.map(|(_, name, points, _)| format!("{name}（{points}分）"));
        items.push(found);
    }
    items
}

/// Lines under a scoring title that read "name（N分）", as (ladder rank, name, points, line index).
fn running_entries(lines: &[Line], start: usize) -> Vec<(u8, String, f64, usize)> {
    let mut entries = Vec::new();
    for (k, line) in lines.iter().enumerate().skip(start + 1).take(120) {
        if line.is_row() {
            continue;
        }
        if line.text.starts_with('第') && line.text.contains('章') && line.heading.is_some() {
            break;
        }
        let (rank, rest) = match headings::ladder_number(&line.text) {
            Some((rank, _, rest)) => (rank, rest),
            None => (u8::MAX, line.text.as_str()),
        };
        if let Some(caps) = RUNNING_ITEM.captures(rest) {
            if let Ok(points) = caps[2].parse::<f64>() {
                entries.push((rank, caps[1].trim().to_owned(), points, k));
            }
        }
    }
    entries
}

static INLINE_ROW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:[0-9]{1,2}\s*)?([\p{Han}、（）()]{2,16}?)\s*(?:0\s*[~～\-－]\s*)?([0-9]{1,3}(?:\.[0-9])?)\s*分?$",
    )
});

/// PDF text where a table row's name and points land on one line ("服务方案0~15", "3综合实力14"),
/// read only below a points header that follows a scoring title.
fn from_inline_rows(lines: &[Line]) -> Vec<Found> {
    let mut items = Vec::new();
    let mut active_until = 0;
    let mut title: Option<String> = None;
    for (k, line) in lines.iter().enumerate() {
        let text = compact(&line.text);
        if text.chars().count() <= 20
            && text.contains("分值")
            && scoring_context(lines, k, std::slice::from_ref(&text))
        {
            active_until = k + 150;
            title = title_before(lines, k);
            continue;
        }
        if k > active_until || line.is_row() {
            continue;
        }
        if let Some(caps) = INLINE_ROW.captures(&text) {
            let (Some(name), Some(points)) = (
                caps.get(1),
                caps.get(2).and_then(|p| p.as_str().parse::<f64>().ok()),
            ) else {
                continue;
            };
            let mut found = Found::new(RequirementKind::Scoring, name.as_str(), line.anchor);
            found.points = Some(points);
            found.category = title.clone();
            items.push(found);
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_as_written() {
        for (cell, expected) in [
            ("10", Some(10.0)),
            ("15分", Some(15.0)),
            ("21.5", Some(21.5)),
            ("5.5 分", Some(5.5)),
            ("0~15", Some(15.0)),
            ("0-8分", Some(8.0)),
            ("客观", None),
            ("2023", None),
        ] {
            assert_eq!(parse_points(cell), expected, "{cell}");
        }
    }

    #[test]
    fn categories_are_normalised() {
        for (group, text, expected) in [
            (
                Some("附表1：商务评分细则表（40分）"),
                "同类业绩：根据投标人",
                "商务",
            ),
            (Some("技术（45分）"), "总体服务思路", "技术"),
            (Some("商务标（权重50%）"), "价格分（公式计分）", "价格"),
            (Some("报价（10分）"), "报价", "价格"),
            (Some("商务技术"), "投标人资质和证书", "商务"),
            (Some("商务技术"), "技术响应情况", "技术"),
            (Some("服务（40分）"), "食堂服务方案", "技术"),
            (None, "商务报价分", "价格"),
            (None, "其他加分", "其他"),
        ] {
            assert_eq!(
                normalized_category(group, text),
                expected,
                "{group:?} {text}"
            );
        }
    }

    #[test]
    fn price_formula_gives_the_price_item() {
        let row = vec![
            "计算公式".to_owned(),
            "价格分=(1-价格调整系数x|1-该供应商评标价/满分基准值|)x100".to_owned(),
        ];
        let lines = [Line {
            text: row.join(" | "),
            cells: Some(&row),
            table: Some(0),
            heading: None,
            anchor: crate::document::SourceAnchor::Line { line: 1 },
        }];
        let item = price_formula_item(&lines).expect("price formula read");
        assert_eq!(item.points, Some(100.0));
        let weighted = Line {
            text: "投标报价得分=（评标基准价/投标报价）×10%×100".to_owned(),
            cells: None,
            table: None,
            heading: None,
            anchor: crate::document::SourceAnchor::Line { line: 2 },
        };
        let item = price_formula_item(std::slice::from_ref(&weighted)).expect("weighted formula");
        assert_eq!(item.points, Some(10.0));
        assert!(PRICE_FORMULA
            .captures("价格分=(评标基准价/投标报价)×30")
            .is_some());
        assert!(PRICE_FORMULA.captures("价格分计算公式").is_none());
    }

    #[test]
    fn points_inside_names() {
        assert_eq!(points_in_text("投标人类似业绩（25分）"), Some(25.0));
        assert_eq!(points_in_text("评分细则（满分100分）"), Some(100.0));
        assert_eq!(points_in_text("商务部分"), None);
    }
}
