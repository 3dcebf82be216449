//! Benchmark half of `hack/bench-export.sh`: writes a 60-section proposal (4 heading levels, ~1,500
//! characters and one 21x4 table per section) with our exporter. `export_bench OUT.docx`

use aibid_proposal::content::ContentBlock;
use aibid_proposal::outline::{Outline, OutlineSection, OutlineSource};
use aibid_proposal::write::{SectionDraft, Usage};
use aibid_proposal::{export_docx, Proposal, SectionResult, SectionStatus};
use aibid_tender::{ProjectFacts, RequirementLedger};

/// One block of 20 sections; three of them make the 60.
const LEVELS: [u8; 20] = [1, 2, 3, 4, 4, 4, 2, 3, 4, 4, 4, 2, 3, 4, 4, 4, 2, 3, 4, 4];
const SENTENCE: &str = "我方将严格按照招标文件要求组织实施，确保项目质量、进度和安全全面受控，";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: export_bench OUT.docx")?;
    let mut counters = [0usize; 4];
    let mut sections = Vec::new();
    let mut results = Vec::new();
    for (i, level) in LEVELS.iter().cycle().take(60).enumerate() {
        let depth = *level as usize;
        counters[depth - 1] += 1;
        for deeper in counters.iter_mut().skip(depth) {
            *deeper = 0;
        }
        let number = counters[..depth]
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(".");
        let id = format!("sec-{}", number.replace('.', "-"));
        sections.push(OutlineSection {
            id: id.clone(),
            number,
            title: format!("第{}节 技术方案与实施保障", i + 1),
            level: *level,
            requirement_ids: vec![],
            word_budget: 1500,
        });
        // ~1,500 characters in three paragraphs, then one table of 21 rows x 4 columns.
        let paragraph = SENTENCE.repeat(14);
        let mut blocks: Vec<ContentBlock> = (0..3)
            .map(|_| ContentBlock::Paragraph {
                text: paragraph.clone(),
            })
            .collect();
        blocks.push(ContentBlock::Table {
            header: ["序号", "招标要求", "投标响应", "偏离情况"]
                .map(String::from)
                .to_vec(),
            rows: (1..=20)
                .map(|r| {
                    vec![
                        r.to_string(),
                        format!("参数{r}≥{r}0"),
                        format!("{r}2"),
                        "无偏离".to_string(),
                    ]
                })
                .collect(),
        });
        let draft = SectionDraft {
            blocks,
            answered_ids: vec![],
            deviations: vec![],
            usage: Usage::default(),
        };
        results.push(SectionResult {
            section_id: id,
            status: SectionStatus::Complete { draft },
        });
    }
    let ledger = RequirementLedger {
        facts: ProjectFacts {
            project_name: Some("基准测试项目".into()),
            ..Default::default()
        },
        requirements: vec![],
        ..Default::default()
    };
    let outline = Outline {
        sections,
        source: OutlineSource::ScoringCategories,
    };
    let proposal = Proposal::assemble(&ledger, &outline, results, "bench");
    std::fs::write(&out, export_docx(&proposal, &ledger)?)?;
    Ok(())
}
