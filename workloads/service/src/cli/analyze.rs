//! `aibid analyze FILE [--json]`: the AnalysisReport as JSON, or a short human summary.

use aibid_tender::RequirementKind;
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = super::read_file(path)?;
    let report = aibid_tender::analyze(&bytes, &aibid_tender::ReadLimits::default())
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), crate::pipeline::explain(&e)))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(path, &report);
    }
    if !report.document.needs_ocr_pages.is_empty() {
        eprintln!(
            "warning: {} page(s) have no text layer and need OCR; their text is missing from this analysis: pages {}",
            report.document.needs_ocr_pages.len(),
            page_list(&report.document.needs_ocr_pages)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn page_list(pages: &[u32]) -> String {
    pages
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_summary(path: &Path, report: &aibid_tender::AnalysisReport) {
    let none = || "—（文件未载明）".to_string();
    println!("{}", path.display());
    println!(
        "  格式: {:?}, 页数: {}",
        report.document.format,
        report
            .document
            .pages
            .map(|p| p.to_string())
            .unwrap_or_else(|| "—".into())
    );
    println!(
        "  项目名称: {}",
        report.facts.project_name.clone().unwrap_or_else(none)
    );
    println!(
        "  项目编号: {}",
        report.facts.project_code.clone().unwrap_or_else(none)
    );
    println!(
        "  预算/最高限价: {}",
        report.facts.budget.clone().unwrap_or_else(none)
    );
    println!(
        "  投标截止时间: {}",
        report.facts.deadline.clone().unwrap_or_else(none)
    );
    let count = |kind: RequirementKind| {
        report
            .requirements
            .iter()
            .filter(|r| r.kind == kind)
            .count()
    };
    println!(
        "  要求: {} 项（资格 {}，评分 {}，实质性 {}，技术参数 {}，商务 {}，格式 {}，废标 {}）",
        report.requirements.len(),
        count(RequirementKind::Qualification),
        count(RequirementKind::Scoring),
        count(RequirementKind::Mandatory),
        count(RequirementKind::Parameter),
        count(RequirementKind::Commercial),
        count(RequirementKind::Format),
        count(RequirementKind::Disqualification),
    );
    let points: f64 = report.requirements.iter().filter_map(|r| r.points).sum();
    if points > 0.0 {
        println!("  评分项合计: {points} 分");
    }
}
