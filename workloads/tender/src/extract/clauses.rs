//! Technical parameters (name, comparator, value, unit), commercial terms, format rules, 废标
//! clauses, and the response format the tender prescribes (投标文件格式/组成).

use super::{Found, Line};
use crate::headings;
use crate::ledger::{ParameterValue, RequirementKind};
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static clause pattern")
}

static PARAMETER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"([A-Za-z0-9\u4e00-\u9fa5（）()/]{2,24}?)\s*(≥|≤|>=|<=|不低于|不少于|不小于|不高于|不大于|不超过|大于等于|小于等于|大于|小于|>|<|＞|＜|=|＝|：|:)\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z%℃°Ω/]+[0-9]?|[个台套块核颗路口年月日天小时分钟秒次条人张米根盘TGMK万元]{1,3})?")
});
static TECH_SECTION: LazyLock<Regex> =
    LazyLock::new(|| re(r"技术(?:要求|参数|规格|指标)|性能参数|参数要求|配置要求|技术规范|规格要求"));
static COMMERCIAL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:[0-9.、（）()一二三四五六七八九十★▲]+\s*)?(付款方式|付款条件|付款|支付方式|结算方式|交货期|交货时间|交付时间|交货地点|交付(?:（服务）)?(?:时间|地点)|服务期限|服务期|服务时间|合同期限|履行期限|质保期|保修期|质量保证期|售后服务|履约保证金|验收(?:标准|方式)?)[^，。；]{0,12}[:：]")
});
static FORMAT: LazyLock<Regex> = LazyLock::new(|| re(r"签字|签名|盖章|装订|密封|正本|副本|胶装|份数|逐页|骑缝|页码|电子版"));
static BID_FILE: LazyLock<Regex> = LazyLock::new(|| re(r"投标文件|响应文件|报价文件|磋商文件|谈判文件"));
static DISQUALIFY: LazyLock<Regex> =
    LazyLock::new(|| re(r"废标|无效投标|投标无效|响应无效|投标将被拒绝|否决其投标|否决投标|视为无效|按无效|作无效|不予受理|reject(?:ed)?|disqualif"));
static RESPONSE_FORMAT_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:投标|响应|磋商响应|谈判响应|报价)文件(?:的)?(?:格式|组成|构成|编制格式)|投标文件格式|响应文件格式")
});
const MAX_PER_KIND: usize = 300;

pub fn extract(lines: &[Line]) -> Vec<Found> {
    let mut found = Vec::new();
    let mut seen: HashSet<(RequirementKind, String)> = HashSet::new();
    let mut in_tech = false;
    let mut tech_level = u8::MAX;
    let mut counts = std::collections::HashMap::new();
    for line in lines {
        if let Some(level) = line.heading {
            if TECH_SECTION.is_match(&line.text) {
                in_tech = true;
                tech_level = level;
            } else if level <= tech_level {
                in_tech = false;
                tech_level = u8::MAX;
            }
        } else if !line.is_row() && TECH_SECTION.is_match(&line.text) && line.text.chars().count() <= 20 {
            in_tech = true;
        }
        let texts: Vec<&str> = match line.cells {
            Some(cells) => cells.iter().map(String::as_str).filter(|c| !c.is_empty()).collect(),
            None => vec![line.text.as_str()],
        };
        let mut push = |kind: RequirementKind, text: &str, parameter: Option<ParameterValue>| {
            let count = counts.entry(kind).or_insert(0usize);
            if *count >= MAX_PER_KIND {
                return;
            }
            let key: String = text.chars().filter(|c| !c.is_whitespace()).take(60).collect();
            if seen.insert((kind, key)) {
                *count += 1;
                let mut f = Found::new(kind, super::markers::shorten(text.trim()), line.anchor);
                f.parameter = parameter;
                found.push(f);
            }
        };
        // Marked items are reported by the marker rules; do not report them twice.
        if texts.iter().any(|t| super::markers::item_marker(t).is_some()) {
            continue;
        }
        let whole = line.text.as_str();
        if in_tech {
            if let Some(parameter) = parameter_of(whole) {
                push(RequirementKind::Parameter, whole, Some(parameter));
                continue;
            }
        }
        if COMMERCIAL.is_match(whole) || texts.iter().any(|t| COMMERCIAL.is_match(t)) {
            push(RequirementKind::Commercial, whole, None);
            continue;
        }
        if DISQUALIFY.is_match(whole) && whole.chars().count() >= 10 && !line.heading.is_some() {
            push(RequirementKind::Disqualification, whole, None);
            continue;
        }
        if BID_FILE.is_match(whole) && FORMAT.is_match(whole) && whole.chars().count() >= 10 && line.heading.is_none() {
            push(RequirementKind::Format, whole, None);
        }
    }
    found
}

/// The required value of a technical parameter: "内存≥16GB" -> (内存, ≥, 16, GB).
pub fn parameter_of(text: &str) -> Option<ParameterValue> {
    let caps = PARAMETER.captures(text)?;
    let comparator = match &caps[2] {
        "≥" | ">=" | "不低于" | "不少于" | "不小于" | "大于等于" => "≥",
        "≤" | "<=" | "不高于" | "不大于" | "不超过" | "小于等于" => "≤",
        "大于" | ">" | "＞" => ">",
        "小于" | "<" | "＜" => "<",
        _ => "=",
    };
    let name = caps[1].trim_start_matches(|c: char| c.is_ascii_digit() || "、.．★▲ ".contains(c)).trim();
    if name.chars().count() < 2 {
        return None;
    }
    Some(ParameterValue {
        name: name.to_owned(),
        comparator: comparator.to_owned(),
        value: caps[3].to_owned(),
        unit: caps.get(4).map(|u| u.as_str().to_owned()),
    })
}

/// Section titles of the prescribed response format: the items under the 投标文件格式/组成 title
/// that lists the most of them.
pub fn response_format(lines: &[Line]) -> Vec<String> {
    let mut best: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.is_row() || line.text.chars().count() > 30 || !RESPONSE_FORMAT_TITLE.is_match(&line.text) {
            continue;
        }
        let mut items = Vec::new();
        let child_level = line.heading.map(|l| l + 1);
        for next in lines.iter().skip(i + 1).take(400) {
            if let (Some(level), Some(start)) = (next.heading, line.heading) {
                if level <= start {
                    break;
                }
            }
            if next.text.starts_with('第') && next.text.contains('章') && next.heading.is_some() {
                break;
            }
            let is_item = match child_level {
                Some(level) => next.heading == Some(level),
                None => headings::ladder_number(&next.text).is_some_and(|(rank, _, rest)| rank <= 50 && headings::is_heading_like(rank, rest)),
            };
            if is_item && !items.contains(&next.text) {
                items.push(next.text.clone());
            }
            if items.len() >= 40 {
                break;
            }
        }
        if items.len() > best.len() {
            best = items;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparators_and_units() {
        let cases = [
            ("CPU核数≥16核", ("CPU核数", "≥", "16", Some("核"))),
            ("内存不低于256GB", ("内存", "≥", "256", Some("GB"))),
            ("额定电压：40.5kV", ("额定电压", "=", "40.5", Some("kV"))),
            ("整机功耗≤800W", ("整机功耗", "≤", "800", Some("W"))),
            ("质保期不少于3年", ("质保期", "≥", "3", Some("年"))),
        ];
        for (text, (name, cmp, value, unit)) in cases {
            let p = parameter_of(text).unwrap_or_else(|| panic!("no parameter in {text}"));
            assert_eq!((p.name.as_str(), p.comparator.as_str(), p.value.as_str(), p.unit.as_deref()), (name, cmp, value, unit), "{text}");
        }
    }
}
