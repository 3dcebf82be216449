//! The Chinese numbering ladder (第X章 > 第X节 > 一、 > （一） > 1. / 1.1 / 1.1.1 > （1） > ①) that gives a
//! heading tree where a document has no heading styles, as in most PDFs and plain-text dumps.

use regex::Regex;
use std::sync::LazyLock;

/// Rank of a numbering pattern: lower is higher in the tree.
pub type Rank = u8;

const CN: &str = "一二三四五六七八九十百零〇两";

static LADDER: LazyLock<Vec<(Rank, Regex)>> = LazyLock::new(|| {
    let p = |rank: Rank, pattern: String| (rank, Regex::new(&pattern).expect("static ladder pattern"));
    vec![
        p(10, format!(r"^(第[{CN}0-9]+[章篇部](?:分)?)\s*")),
        p(20, format!(r"^(第[{CN}0-9]+节)\s*")),
        p(30, format!(r"^([{CN}]+[、．.])\s*")),
        p(40, format!(r"^([（(][{CN}]+[）)])\s*")),
        p(52, r"^([0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2})(?:[\s.、．]|$)\s*".into()),
        p(51, r"^([0-9]{1,2}\.[0-9]{1,2})(?:[\s、．]|$)\s*".into()),
        p(50, r"^([0-9]{1,2}[、．.])(?:[^0-9]|$)".into()),
        p(60, r"^([（(][0-9]{1,2}[）)])\s*".into()),
        p(70, r"^([①-⑳])\s*".into()),
    ]
});

/// The ladder rank and visible number of a line that starts with a ladder number.
pub fn ladder_number(text: &str) -> Option<(Rank, String, &str)> {
    let text = text.trim_start();
    for (rank, re) in LADDER.iter() {
        if let Some(caps) = re.captures(text) {
            let number = caps.get(1)?;
            let rest = text[number.end()..].trim_start();
            return Some((*rank, number.as_str().to_owned(), rest));
        }
    }
    None
}

/// Whether a numbered line reads like a heading rather than a list item or a sentence.
pub fn is_heading_like(rank: Rank, title: &str) -> bool {
    let chars = title.chars().count();
    if chars == 0 {
        return false;
    }
    let ends_sentence = title.ends_with(['。', '；', ';', '，', ',', '：', ':']);
    let inner_sentence = title.contains(['。', '；', ';']);
    match rank {
        10 | 20 => chars <= 40 && !inner_sentence,
        30 | 40 => chars <= 30 && !ends_sentence && !inner_sentence,
        _ => chars <= 20 && !ends_sentence && !inner_sentence && !title.contains(['，', ',']),
    }
}

/// Turns ladder ranks into tree levels as they appear: a rank pops every rank at or below it,
/// so a document that skips 第X节 still gets 一、 at level 2.
#[derive(Debug, Default)]
pub struct LevelTracker {
    stack: Vec<Rank>,
}

impl LevelTracker {
    pub fn level_for(&mut self, rank: Rank) -> u8 {
        while self.stack.last().is_some_and(|top| *top >= rank) {
            self.stack.pop();
        }
        self.stack.push(rank);
        self.stack.len().min(9) as u8
    }

    /// A styled heading at `level` resets the ladder below it.
    pub fn styled(&mut self, level: u8) {
        self.stack.truncate(usize::from(level));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_numbers_of_real_headings() {
        let cases = [
            ("第一章 招标公告", Some((10, "第一章", "招标公告"))),
            ("第三章  用户需求书", Some((10, "第三章", "用户需求书"))),
            ("第二节 评标办法", Some((20, "第二节", "评标办法"))),
            ("一、项目基本情况", Some((30, "一、", "项目基本情况"))),
            ("（二）申请人的资格要求", Some((40, "（二）", "申请人的资格要求"))),
            ("(三)服务期限", Some((40, "(三)", "服务期限"))),
            ("1.1 招标条件", Some((51, "1.1", "招标条件"))),
            ("3.2.1 投标文件组成", Some((52, "3.2.1", "投标文件组成"))),
            ("2. 项目概况", Some((50, "2.", "项目概况"))),
            ("5、付款方式", Some((50, "5、", "付款方式"))),
            ("（1）投标人须知", Some((60, "（1）", "投标人须知"))),
            ("②岗位配置", Some((70, "②", "岗位配置"))),
            ("2024年6月18日", None),
            ("1.5万元", None),
        ];
        for (text, expected) in cases {
            let got = ladder_number(text).map(|(r, n, rest)| (r, n, rest.to_owned()));
            let expected = expected.map(|(r, n, rest)| (r, n.to_owned(), rest.to_owned()));
            assert_eq!(got, expected, "{text}");
        }
    }

    #[test]
    fn numbered_sentences_are_not_headings() {
        assert!(is_heading_like(30, "项目基本情况"));
        assert!(!is_heading_like(50, "具有独立承担民事责任的能力，提供营业执照复印件。"));
        assert!(!is_heading_like(30, "本项目不接受联合体投标；"));
    }

    #[test]
    fn levels_follow_the_ranks_that_appear() {
        let mut tracker = LevelTracker::default();
        assert_eq!(tracker.level_for(10), 1);
        assert_eq!(tracker.level_for(30), 2);
        assert_eq!(tracker.level_for(40), 3);
        assert_eq!(tracker.level_for(30), 2);
        assert_eq!(tracker.level_for(10), 1);
    }
}
