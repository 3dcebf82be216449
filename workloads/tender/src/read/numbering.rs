//! Word auto-numbering (`numbering.xml`): resolves the number Word would print before a paragraph
//! ("1.2", "第三章", "（一）", "①"). No crate does this, so it is written here.

use super::xml::Element;
use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
struct Level {
    start: u32,
    format: String,
    text: String,
    /// "isLgl": every level shown as a decimal number.
    legal: bool,
}

#[derive(Debug, Clone, Default)]
struct AbstractNum {
    levels: HashMap<u8, Level>,
}

#[derive(Debug, Clone)]
struct NumInstance {
    abstract_id: String,
    start_overrides: HashMap<u8, u32>,
}

/// The numbering definitions plus the running counters of one document pass.
#[derive(Debug, Default)]
pub struct Numbering {
    abstracts: HashMap<String, AbstractNum>,
    instances: HashMap<String, NumInstance>,
    /// Counters per numbering sequence: instances sharing an abstract definition share counters
    /// (as Word does) unless they restart with a start override.
    counters: HashMap<String, [u32; 9]>,
}

impl Numbering {
    pub fn parse(root: &Element) -> Self {
        let mut numbering = Numbering::default();
        let Some(top) = root.child("numbering") else {
            return numbering;
        };
        for el in top.elements() {
            match el.name.as_str() {
                "abstractNum" => {
                    let Some(id) = el.attr("abstractNumId") else {
                        continue;
                    };
                    let mut levels = HashMap::new();
                    for lvl in el.elements().filter(|e| e.name == "lvl") {
                        let Some(ilvl) = lvl.attr("ilvl").and_then(|v| v.parse::<u8>().ok()) else {
                            continue;
                        };
                        let val = |name: &str| lvl.child(name).and_then(|e| e.attr("val"));
                        levels.insert(
                            ilvl,
                            Level {
                                start: val("start").and_then(|v| v.parse().ok()).unwrap_or(1),
                                format: val("numFmt").unwrap_or("decimal").to_owned(),
                                text: val("lvlText").unwrap_or("").to_owned(),
                                legal: lvl.child("isLgl").is_some_and(|e| e.attr("val") != Some("0")),
                            },
                        );
                    }
                    numbering.abstracts.insert(id.to_owned(), AbstractNum { levels });
                }
                "num" => {
                    let (Some(id), Some(abstract_id)) = (
                        el.attr("numId"),
                        el.child("abstractNumId").and_then(|e| e.attr("val")),
                    ) else {
                        continue;
                    };
                    let start_overrides = el
                        .elements()
                        .filter(|e| e.name == "lvlOverride")
                        .filter_map(|o| {
                            let ilvl = o.attr("ilvl")?.parse().ok()?;
                            let start = o.child("startOverride")?.attr("val")?.parse().ok()?;
                            Some((ilvl, start))
                        })
                        .collect();
                    numbering.instances.insert(
                        id.to_owned(),
                        NumInstance {
                            abstract_id: abstract_id.to_owned(),
                            start_overrides,
                        },
                    );
                }
                _ => {}
            }
        }
        numbering
    }

    /// Advances the counter for (num_id, ilvl) and returns the printed label, e.g. "1.2" or "第三章".
    /// None for bullets, "none" formats and unknown ids.
    pub fn next_label(&mut self, num_id: &str, ilvl: u8) -> Option<String> {
        if num_id == "0" {
            return None;
        }
        let instance = self.instances.get(num_id)?;
        let definition = self.abstracts.get(&instance.abstract_id)?;
        let level = definition.levels.get(&ilvl)?.clone();
        let sequence = if instance.start_overrides.is_empty() {
            format!("a{}", instance.abstract_id)
        } else {
            format!("n{num_id}")
        };
        let start_of = |l: u8| {
            instance
                .start_overrides
                .get(&l)
                .copied()
                .or_else(|| definition.levels.get(&l).map(|d| d.start))
                .unwrap_or(1)
        };
        let starts: [u32; 9] = std::array::from_fn(|l| start_of(l as u8));
        let counters = self.counters.entry(sequence).or_insert_with(|| {
            let mut c = [0u32; 9];
            for (l, slot) in c.iter_mut().enumerate() {
                *slot = starts[l].saturating_sub(1);
            }
            c
        });
        let i = usize::from(ilvl.min(8));
        counters[i] += 1;
        for (deeper, slot) in counters.iter_mut().enumerate().skip(i + 1) {
            *slot = starts[deeper].saturating_sub(1);
        }
        // Levels above that never printed yet count from their start value.
        for (above, slot) in counters.iter_mut().enumerate().take(i) {
            if *slot < starts[above] {
                *slot = starts[above];
            }
        }
        let counters = *counters;
        if matches!(level.format.as_str(), "bullet" | "none") || level.text.is_empty() {
            return None;
        }
        let mut label = String::new();
        let mut chars = level.text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '%' {
                if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    chars.next();
                    let l = (d as usize).saturating_sub(1).min(8);
                    let format = if level.legal && l < i {
                        "decimal".to_owned()
                    } else {
                        definition
                            .levels
                            .get(&(l as u8))
                            .map(|d| d.format.clone())
                            .unwrap_or_else(|| "decimal".into())
                    };
                    label.push_str(&format_number(counters[l], &format));
                    continue;
                }
            }
            label.push(c);
        }
        let label = label.trim().to_owned();
        (!label.is_empty()).then_some(label)
    }
}

/// Formats a counter in one of Word's number formats (ST_NumberFormat).
pub fn format_number(n: u32, format: &str) -> String {
    match format {
        "chineseCounting" | "chineseCountingThousand" | "japaneseCounting"
        | "taiwaneseCounting" | "taiwaneseCountingThousand" | "koreanCounting" => chinese_counting(n),
        "chineseLegalSimplified" => chinese_counting(n)
            .chars()
            .map(|c| match c {
                '一' => '壹',
                '二' => '贰',
                '三' => '叁',
                '四' => '肆',
                '五' => '伍',
                '六' => '陆',
                '七' => '柒',
                '八' => '捌',
                '九' => '玖',
                '十' => '拾',
                '百' => '佰',
                other => other,
            })
            .collect(),
        "ideographDigital" | "japaneseDigitalTenThousand" | "taiwaneseDigital" => n
            .to_string()
            .chars()
            .map(|d| ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'][d as usize - '0' as usize])
            .collect(),
        "ideographTraditional" => nth(&['甲', '乙', '丙', '丁', '戊', '己', '庚', '辛', '壬', '癸'], n),
        "ideographZodiac" => nth(
            &['子', '丑', '寅', '卯', '辰', '巳', '午', '未', '申', '酉', '戌', '亥'],
            n,
        ),
        "decimalEnclosedCircle" | "decimalEnclosedCircleChinese" | "decimalEnclosedFullstop"
            if (1..=20).contains(&n) =>
        {
            char::from_u32(0x2460 + n - 1).map(String::from).unwrap_or_default()
        }
        "decimalEnclosedParen" => format!("({n})"),
        "decimalFullWidth" | "decimalFullWidth2" => n
            .to_string()
            .chars()
            .filter_map(|d| char::from_u32(d as u32 - '0' as u32 + 0xFF10))
            .collect(),
        "decimalZero" => format!("{n:02}"),
        "lowerLetter" => letters(n, b'a'),
        "upperLetter" => letters(n, b'A'),
        "lowerRoman" => roman(n).to_lowercase(),
        "upperRoman" => roman(n),
        _ => n.to_string(),
    }
}

fn nth(symbols: &[char], n: u32) -> String {
    let i = (n.max(1) as usize - 1) % symbols.len();
    symbols[i].to_string()
}

/// 1 -> 一, 10 -> 十, 12 -> 十二, 21 -> 二十一, 105 -> 一百零五.
pub fn chinese_counting(n: u32) -> String {
    const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    if n == 0 {
        return "零".into();
    }
    if n >= 1000 {
        return n.to_string();
    }
    let (hundreds, tens, ones) = (n / 100, (n / 10) % 10, n % 10);
    let mut s = String::new();
    if hundreds > 0 {
        s.push(DIGITS[hundreds as usize]);
        s.push('百');
        if tens == 0 && ones > 0 {
            s.push('零');
        }
    }
    if tens > 0 {
        if !(tens == 1 && hundreds == 0) {
            s.push(DIGITS[tens as usize]);
        }
        s.push('十');
    }
    if ones > 0 {
        s.push(DIGITS[ones as usize]);
    }
    s
}

fn letters(n: u32, base: u8) -> String {
    let n = n.max(1) - 1;
    let letter = (base + (n % 26) as u8) as char;
    letter.to_string().repeat(n as usize / 26 + 1)
}

fn roman(mut n: u32) -> String {
    const TABLE: [(u32, &str); 13] = [
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ];
    let mut s = String::new();
    for (value, symbol) in TABLE {
        while n >= value {
            s.push_str(symbol);
            n -= value;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_counting_matches_word() {
        for (n, expected) in [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (21, "二十一"), (105, "一百零五")] {
            assert_eq!(chinese_counting(n), expected, "{n}");
        }
    }

    #[test]
    fn formats_used_in_tenders() {
        assert_eq!(format_number(3, "ideographTraditional"), "丙");
        assert_eq!(format_number(2, "decimalEnclosedCircleChinese"), "②");
        assert_eq!(format_number(4, "chineseLegalSimplified"), "肆");
        assert_eq!(format_number(12, "ideographDigital"), "一二");
        assert_eq!(format_number(4, "upperRoman"), "IV");
        assert_eq!(format_number(28, "lowerLetter"), "bb");
    }
}
