//! Project facts: name, code, budget and bid deadline, copied as written; None when not stated.

use super::Line;
use crate::ledger::ProjectFacts;
use regex::Regex;
use std::sync::LazyLock;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static facts pattern")
}

static NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:采购|招标|磋商|谈判)?项目名称\s*[:：]\s*(.*)$"));
static NAME_LABEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*(?:[0-9.]+\s*)?(?:招标|采购)?项目名称\s*[:：]?\s*$"));
static CODE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:(?:采购|招标)?项目|采购|招标|文件|磋商|谈判|询价)编号\s*[:：]?\s*([A-Za-z0-9][A-Za-z0-9\-_/.]*[A-Za-z0-9])")
});
static BUDGET: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(项目预算|采购预算|预算金额|预算|评标价最高限价|最高投标限价|最高限价|招标控制价|采购单价控制价|控制价)(?:\s*[（(][^）)]{0,10}[）)])?\s*(?:[:：]|为[:：]?)?\s*(?:人民币)?\s*([0-9][0-9,]*(?:\.[0-9]+)?\s*(?:万元|元|万)(?:\s*/\s*[年月条人]+)*(?:\s*[（(](?:含税|人民币)[）)])?)")
});
static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"([0-9]{4}\s*[-年/.]\s*[0-9]{1,2}\s*[-月/.]\s*[0-9]{1,2}\s*日?\s*(?:[上下]午\s*)?[0-9]{1,2}\s*(?:[:：]\s*[0-9]{2}(?:\s*[:：]\s*[0-9]{2})?(?:\s*时)?|[时点](?:\s*[0-9]{1,2}\s*分)?)(?:\s*[（(]北京时间[）)])?)")
});
static DEADLINE_KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:投标|响应|递交|提交|磋商|谈判|报价)[^，。；]{0,12}截止时间|截止时间[（(]开标时间[）)]|开标时间"));
static DEADLINE_EXCLUDE: LazyLock<Regex> =
    LazyLock::new(|| re(r"获取|澄清|质疑|保证金|答疑|踏勘|发售"));
static ENGLISH_DEADLINE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?:last date|deadline)[^.]{0,40}?\b([0-9]{1,2}(?:st|nd|rd|th)?\s+(?:January|February|March|April|May|June|July|August|September|October|November|December)\s*,?\s*[0-9]{4}(?:\s*(?:at|,)?\s*[0-9]{3,4}\s*hrs\.?)?)")
});
static NOTICE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:招标|采购|磋商|谈判|询价|比选)公告|投标邀请|邀请函|采购邀请|Invitation"));
static DEADLINE_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"截止(?:时间|日期)(?:[（(][^）)]{0,8}[）)])?(?:及[^：:，。]{0,10})?\s*(?:[:：为]|\|)?[\s|]*")
});
static NAME_END: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:项目|采购|服务|工程|标段|包|）|\))$"));

pub fn extract(lines: &[Line]) -> ProjectFacts {
    ProjectFacts {
        project_name: project_name(lines),
        project_code: first(lines, |text| {
            CODE.captures(text).map(|c| c[1].to_owned())
        }),
        budget: budget(lines),
        deadline: deadline(lines),
    }
}

fn first(lines: &[Line], find: impl Fn(&str) -> Option<String>) -> Option<String> {
    lines.iter().find_map(|l| find(&l.text))
}

/// The name as the notice states it: candidates from "项目名称：" lines and label/value cells,
/// wrapped PDF lines joined; the most repeated value wins (a cover may differ from the notice).
fn project_name(lines: &[Line]) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    // The notice (招标公告/投标邀请) is authoritative where a cover words the name differently.
    let notice_start = lines
        .iter()
        .position(|l| !l.is_row() && l.text.chars().count() <= 30 && NOTICE.is_match(&l.text))
        .unwrap_or(0);
    let mut notice_candidates = 0;
    for (i, line) in lines.iter().enumerate() {
        if i == notice_start {
            notice_candidates = candidates.len();
        }
        if let Some(cells) = line.cells {
            let cells: Vec<&String> = cells.iter().filter(|c| !c.is_empty()).collect();
            for pair in cells.windows(2) {
                if NAME_LABEL.is_match(pair[0]) {
                    candidates.push(clean_name(pair[1]));
                }
            }
            for cell in &cells {
                if let Some(c) = NAME.captures(cell) {
                    candidates.push(clean_name(&c[1]));
                }
            }
            continue;
        }
        let Some(c) = NAME.captures(&line.text) else { continue };
        let mut value = c[1].trim().to_owned();
        if value.is_empty() {
            continue;
        }
        // A PDF line break inside the name: take the short follow-on lines.
        let mut next = i + 1;
        while !NAME_END.is_match(&value) && next < lines.len() && next <= i + 2 {
            let follow = &lines[next];
            if follow.is_row() || follow.text.contains(['：', ':']) || follow.text.chars().count() > 30 {
                break;
            }
            value.push_str(&follow.text);
            next += 1;
        }
        candidates.push(clean_name(&value));
    }
    let usable = |c: &String| c.chars().count() >= 4 && !c.contains(['_', '[', '＿', '：', ':']) && !c.starts_with("见");
    if candidates[notice_candidates.min(candidates.len())..].iter().any(usable) {
        candidates.drain(..notice_candidates.min(candidates.len()));
    }
    candidates.retain(usable);
    let key = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let mut best: Option<(usize, usize, &String)> = None;
    for (i, c) in candidates.iter().enumerate() {
        let count = candidates.iter().filter(|o| key(o) == key(c)).count();
        if best.is_none_or(|(n, _, _)| count > n) {
            best = Some((count, i, c));
        }
    }
    best.map(|(_, _, c)| c.clone())
}

fn clean_name(value: &str) -> String {
    let value = value.trim();
    let value = value.split(['；', ';', '。']).next().unwrap_or(value);
    value.trim().trim_end_matches(['，', ','])
        .trim()
        .to_owned()
}

/// The first stated budget amount, with a ceiling price stated right after it joined on.
fn budget(lines: &[Line]) -> Option<String> {
    let mut found: Vec<String> = Vec::new();
    let mut start = None;
    for (i, line) in lines.iter().enumerate() {
        if start.is_some_and(|s| i > s + 4) {
            break;
        }
        for text in texts_of(line) {
            for c in BUDGET.captures_iter(&text) {
                let phrase = format!("{}：{}", &c[1], c[2].trim());
                let is_ceiling = c[1].contains("限价") || c[1].contains("控制价");
                if start.is_none() {
                    start = Some(i);
                    found.push(phrase);
                } else if is_ceiling && !found.contains(&phrase) {
                    found.push(phrase);
                }
            }
        }
    }
    (!found.is_empty()).then(|| found.join("；"))
}

/// The bid deadline: a date and time on a 截止时间 line, or on one of the two lines after it
/// (table layouts put the value in the next cell or row).
fn deadline(lines: &[Line]) -> Option<String> {
    // A date right after "截止时间：" on a bid/response deadline line is the surest reading.
    for line in lines {
        if !DEADLINE_KEY.is_match(&line.text) || DEADLINE_EXCLUDE.is_match(&line.text) {
            continue;
        }
        for key in DEADLINE_VALUE.find_iter(&line.text) {
            if let Some(date) = DATE_TIME.captures(&line.text[key.end()..]).filter(|c| c.get(0).is_some_and(|m| m.start() == 0)) {
                return Some(date[1].trim().to_owned());
            }
        }
    }
    for (i, line) in lines.iter().enumerate() {
        if !DEADLINE_KEY.is_match(&line.text) || DEADLINE_EXCLUDE.is_match(&line.text) {
            continue;
        }
        for candidate in lines.iter().skip(i).take(3) {
            let key_at = DEADLINE_KEY.find(&candidate.text).map(|m| m.start()).unwrap_or(0);
            if let Some(m) = DATE_TIME.captures_iter(&candidate.text).find(|c| c.get(1).is_some_and(|m| m.start() >= key_at)) {
                return Some(m[1].trim().to_owned());
            }
        }
    }
    lines
        .iter()
        .find_map(|l| ENGLISH_DEADLINE.captures(&l.text).map(|c| c[1].trim().to_owned()))
}

/// A row's cells one by one (so one cell's label does not reach into another's value), else the line.
fn texts_of(line: &Line) -> Vec<String> {
    match line.cells {
        Some(cells) => {
            let mut texts: Vec<String> = cells.iter().filter(|c| !c.is_empty()).cloned().collect();
            texts.push(cells.iter().filter(|c| !c.is_empty()).cloned().collect::<Vec<_>>().join(""));
            texts
        }
        None => vec![line.text.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::SourceAnchor;

    fn lines(texts: &[&str]) -> Vec<Line<'static>> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Line { text: t.to_string(), cells: None, table: None, heading: None, anchor: SourceAnchor::Line { line: i as u32 + 1 } })
            .collect()
    }

    #[test]
    fn facts_from_real_notice_lines() {
        let doc = lines(&[
            "项目名称：国家税务总局阳江高新技术产业开发区税务局 2024-2025",
            "年度食堂配送服务采购项目",
            "项目编号：GD2023-DLGK-C0424-B00",
            "20.4预算金额在500万元以下项目，或重新组织采购",
            "预算金额：330万元（大写金额：叁佰叁拾万元整）",
            "最高限价（如有）：330万元。",
            "（一）获取招标文件截止时间： 2024 年 6 月 18 日 9：00 止。",
            "投标截止时间：2026年3月25日10:00（北京时间）",
        ]);
        let facts = extract(&doc);
        assert_eq!(facts.project_name.as_deref(), Some("国家税务总局阳江高新技术产业开发区税务局 2024-2025年度食堂配送服务采购项目"));
        assert_eq!(facts.project_code.as_deref(), Some("GD2023-DLGK-C0424-B00"));
        assert_eq!(facts.budget.as_deref(), Some("预算金额：330万元；最高限价：330万元"));
        assert_eq!(facts.deadline.as_deref(), Some("2026年3月25日10:00（北京时间）"));
    }

    #[test]
    fn deadline_formats() {
        for (line, expected) in [
            ("1、谈判响应截止时间及解密时间：2025-06-20 10:30，迟到", "2025-06-20 10:30"),
            ("5.2 投标文件递交截止时间：2023 年 3 月 29 日 9:00 时", "2023 年 3 月 29 日 9:00 时"),
            ("投标截止时间：2024年1月16日09点30分（北京时间）", "2024年1月16日09点30分（北京时间）"),
            ("（二）响应文件递交截止时间：2026年6月11日10时00分(北京时间)；", "2026年6月11日10时00分(北京时间)"),
            ("Last date for submission 08 March 2016 at 1700 hrs.", "08 March 2016 at 1700 hrs."),
        ] {
            assert_eq!(deadline(&lines(&[line])).as_deref(), Some(expected), "{line}");
        }
    }

    #[test]
    fn absent_facts_stay_none() {
        let facts = extract(&lines(&["最高投标限价：☑无", "投标人须知"]));
        assert_eq!(facts, ProjectFacts::default());
    }
}
