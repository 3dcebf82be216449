//! Marker symbols (★, ▲, ...): what each means in this tender, read from the tender's own
//! definitions, and the items that carry one. Explanatory mentions (标有“★”的条款...) are not items.

use super::{Found, Line};
use crate::ledger::{MarkerMeaning, RequirementKind};
use regex::Regex;
use std::sync::LazyLock;

pub const SYMBOLS: [char; 2] = ['★', '▲'];

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static marker pattern")
}

/// "带“▲”的条款是实质性条款", "标有“★”的条款为实质性条款", "★号条款为主要性能参数".
static DEFINITION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"[“"‘「『]?([★▲])[”"’」』]?\s*(?:号|标记|标识|符号)?\s*(?:标注|标示|标识)?\s*的?\s*(?:条款|项目|项|内容|指标|参数|要求|技术参数|技术要求|部分)?(?:均)?\s*(?:为|是|属于|表示|代表|系|作为)\s*([^，,。；;）)]{2,24})"#,
    )
});
static MANDATORY_WORDS: LazyLock<Regex> =
    LazyLock::new(|| re(r"实质性|不可偏离|不允许偏离|必须满足|强制|否决|废标|无效"));
/// A marker at an item's start, optionally after the item's own number ("17.★", "（1）★").
static ITEM_START: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:第[一二三四五六七八九十0-9]{1,3}[章节部分]+\s*|[0-9]{1,3}(?:\.[0-9]{1,3})*\s*[.、．]?\s*|[（(][0-9一二三四五六七八九十]{1,3}[）)]\s*|[一二三四五六七八九十]{1,3}\s*[、．.]\s*|[①-⑳]\s*)?([★▲])",
    )
});

/// The meaning of each marker the tender defines. ★ with no definition keeps the usual sense
/// (实质性, mandatory) because that is the national template's convention.
pub fn meanings(lines: &[Line]) -> Vec<MarkerMeaning> {
    let mut meanings: Vec<MarkerMeaning> = Vec::new();
    for line in lines {
        for caps in DEFINITION.captures_iter(&line.text) {
            let symbol = caps[1].to_owned();
            let meaning = caps[2].trim().to_owned();
            if meanings.iter().any(|m| m.symbol == symbol) {
                continue;
            }
            let mandatory = MANDATORY_WORDS.is_match(&meaning);
            meanings.push(MarkerMeaning {
                symbol,
                meaning,
                mandatory,
            });
        }
    }
    if !meanings.iter().any(|m| m.symbol == "★") {
        meanings.push(MarkerMeaning {
            symbol: "★".into(),
            meaning: "实质性条款（未定义，按通用约定）".into(),
            mandatory: true,
        });
    }
    meanings
}

/// The marker printed at the start of this text, if the text is a marked item.
pub fn item_marker(text: &str) -> Option<char> {
    let caps = ITEM_START.captures(text)?;
    let m = caps.get(1)?;
    let after = text[m.end()..].trim_start();
    // "★号条款…", "▲的为…", "★：" read as explanations, not items.
    if after.is_empty() || after.starts_with(['号', '的', '”', '"', '标', '）', ')']) {
        return None;
    }
    m.as_str().chars().next()
}

/// Every marked item, once: a template that repeats a clause (响应表) does not add a second item.
pub fn marked_items(lines: &[Line], meanings: &[MarkerMeaning]) -> Vec<Found> {
    let mut seen: Vec<(char, String)> = Vec::new();
    let mut items = Vec::new();
    for line in lines {
        let texts: Vec<&str> = match line.cells {
            Some(cells) => cells.iter().map(String::as_str).collect(),
            None => vec![line.text.as_str()],
        };
        for text in texts {
            let Some(symbol) = item_marker(text) else {
                continue;
            };
            let key: String = text
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_ascii_digit() && !SYMBOLS.contains(c))
                .take(24)
                .collect();
            // The same clause repeated (a response table, a wrapped copy) counts once.
            let repeated = seen.iter().any(|(s, k)| {
                *s == symbol
                    && (k.starts_with(&key) || key.starts_with(k.as_str()))
                    && k.chars().count().min(key.chars().count()) >= 6
            });
            if repeated {
                continue;
            }
            seen.push((symbol, key));
            let meaning = meanings.iter().find(|m| m.symbol.starts_with(symbol));
            let mandatory = meaning.is_some_and(|m| m.mandatory);
            let kind = if mandatory {
                RequirementKind::Mandatory
            } else {
                RequirementKind::Parameter
            };
            let mut found = Found::new(kind, shorten(text), line.anchor);
            found.marker = Some(symbol.to_string());
            if kind == RequirementKind::Parameter {
                found.parameter = super::clauses::parameter_of(text);
            }
            items.push(found);
        }
    }
    items
}

/// A tag on the item itself: "（实质性要求）", "【实质性条款】", "实质性要求：…", "…，此项为实质性要求。".
static WORDED_MANDATORY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"[（(【\[〔]\s*实质性(?:要求|条款|响应条款|响应要求)?\s*[）)】\]〕]|^\s*(?:[0-9]{1,3}(?:\.[0-9]{1,3})*\s*[.、．]?\s*|[（(][0-9一二三四五六七八九十]{1,3}[）)]\s*)?实质性(?:要求|条款)\s*[:：]\s*\S{4}|(?:此项|本项|该项|本条|此条|该条|以上|上述)?(?:为|属于|系|是)实质性(?:要求|条款)[。.；;]?\s*$",
    )
});
/// Sentences that explain what 实质性 means rather than state a requirement.
static MANDATORY_EXPLANATION: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"标有|带有?[“"]|以[“"]|[★▲]|实质性要求和条件见|(?:条款|内容|要求)均?(?:为|是)实质性"#)
});

/// Items worded as 实质性 without a ★/▲: "服务期限：三年（实质性要求）". Each is mandatory, marker
/// None; explanations of the term and items already carrying a marker are left out.
pub fn worded_mandatory_items(lines: &[Line]) -> Vec<Found> {
    let mut seen = std::collections::HashSet::new();
    let mut items = Vec::new();
    for line in lines {
        let texts: Vec<&str> = match line.cells {
            Some(cells) => cells.iter().map(String::as_str).collect(),
            None => vec![line.text.as_str()],
        };
        for text in texts {
            let text = text.trim();
            let Some(tag) = WORDED_MANDATORY.find(text) else {
                continue;
            };
            let statement: String = text[..tag.start()]
                .chars()
                .chain(text[tag.end()..].chars())
                .filter(|c| c.is_alphanumeric())
                .collect();
            if statement.chars().count() < 4
                || item_marker(text).is_some()
                || MANDATORY_EXPLANATION.is_match(text)
            {
                continue;
            }
            let key: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            if seen.insert(key) {
                items.push(Found::new(
                    RequirementKind::Mandatory,
                    shorten(text),
                    line.anchor,
                ));
            }
        }
    }
    items
}

pub fn shorten(text: &str) -> String {
    const MAX: usize = 400;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_meanings_are_read_from_the_tender() {
        let lines = [
            Line::paragraph("3. 带“▲”的条款是实质性条款，不满足的投标无效；"),
            Line::paragraph("4. 带“★”的条款是主要性能参数，每负偏离一项扣1分。"),
        ];
        let m = meanings(&lines);
        let star = m.iter().find(|m| m.symbol == "★").map(|m| m.mandatory);
        let triangle = m.iter().find(|m| m.symbol == "▲").map(|m| m.mandatory);
        assert_eq!(star, Some(false));
        assert_eq!(triangle, Some(true));
    }

    #[test]
    fn items_worded_substantive_are_mandatory() {
        let lines = [
            Line::paragraph("五、商务要求"),
            Line::paragraph("1. 服务期限：自合同签订之日起12个月（实质性要求）。"),
            Line::paragraph("2.实质性要求：供应商须在接到通知后2小时内到达现场。"),
            Line::paragraph("3. 付款方式：按季度支付，此项为实质性条款。"),
            Line::paragraph("4. 验收标准：按国家现行标准执行。"),
            Line::paragraph("标有“▲”的条款为实质性条款，不满足的投标无效。"),
            Line::paragraph("投标文件应当对招标文件的实质性要求和条件作出响应。"),
            Line::paragraph("★（5）投标人须承诺驻场服务（实质性要求）"),
            Line::paragraph("实质性要求和条件见投标人须知前附表。"),
        ];
        let items = worded_mandatory_items(&lines);
        let texts: Vec<&str> = items.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "1. 服务期限：自合同签订之日起12个月（实质性要求）。",
                "2.实质性要求：供应商须在接到通知后2小时内到达现场。",
                "3. 付款方式：按季度支付，此项为实质性条款。",
            ]
        );
        assert!(items
            .iter()
            .all(|f| f.kind == RequirementKind::Mandatory && f.marker.is_none()));
    }

    #[test]
    fn explanatory_mentions_are_not_items() {
        for (text, expected) in [
            ("★一、技术及服务要求", Some('★')),
            ("17.★供应商须承诺配送车辆具备冷链", Some('★')),
            ("★（1）总价包干", Some('★')),
            ("（2）▲服务人员须经采购人审核", Some('▲')),
            ("标有“★”的条款为实质性条款", None),
            ("以“★”标注的产品，实行强制采购", None),
            ("★号条款为实质性条款", None),
            ("投标人应对★一、技术及服务要求逐条响应", None),
        ] {
            assert_eq!(item_marker(text), expected, "{text}");
        }
    }
}
