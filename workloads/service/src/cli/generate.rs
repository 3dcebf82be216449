//! `aibid generate FILE -o OUT.docx`: the whole pipeline once, with progress on a terminal. The .docx is written
//! even when sections failed (they stay visible in it); the exit code is then non-zero.

use crate::config;
use crate::pipeline::section_writer;
use aibid_proposal::{
    check_proposal, export_docx, generate, plan_outline, GenerateOptions, ProgressEvent,
    SectionStatus,
};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The tender document (.docx, .pdf or .txt).
    pub file: PathBuf,
    /// Where to write the proposal.
    #[arg(short, long, value_name = "OUT.docx")]
    pub output: PathBuf,
    /// OpenAI-compatible endpoint (used when LLM_API_KEY is set; LLM_BASE_URL in the environment wins).
    #[arg(long, value_name = "URL")]
    pub llm_base_url: Option<String>,
    /// Model name (LLM_MODEL in the environment wins).
    #[arg(long, value_name = "M")]
    pub llm_model: Option<String>,
    /// Sections written at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let mut overrides = Vec::new();
    if let Some(url) = &args.llm_base_url {
        overrides.push(("LLM_BASE_URL".to_string(), url.clone()));
    }
    if let Some(model) = &args.llm_model {
        overrides.push(("LLM_MODEL".to_string(), model.clone()));
    }
    let settings = config::load(None, &overrides).context("invalid configuration")?;
    let writer = section_writer(&settings, None)?;

    let (document, ledger) = super::read_tender(&args.file)?;
    let outline = plan_outline(&document, &ledger);
    let coverage = outline.coverage(&ledger);
    eprintln!(
        "{}: {} requirements, {} sections, writer {}",
        args.file.display(),
        ledger.requirements.len(),
        outline.sections.len(),
        writer.name()
    );

    let bar = progress_bar(outline.sections.len() as u64);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let options = GenerateOptions {
        concurrency: args.concurrency.max(1),
    };
    let proposal = runtime.block_on(generate(
        &document,
        &ledger,
        &outline,
        writer,
        &options,
        |event| {
            if let ProgressEvent::SectionFinished { number, ok, .. } = event {
                bar.inc(1);
                if !ok {
                    bar.println(format!("section {number} failed"));
                }
            }
        },
    ));
    bar.finish_and_clear();

    let docx = export_docx(&proposal, &ledger).context("cannot build the .docx")?;
    std::fs::write(&args.output, docx)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let report = check_proposal(&proposal, &ledger);

    println!("wrote {}", args.output.display());
    println!(
        "sections: {} complete, {} failed, {} total",
        proposal.complete_count(),
        proposal.failed,
        proposal.sections.len()
    );
    println!(
        "coverage: {}/{} requirements assigned ({:.1} %), mandatory {}/{} ({:.1} %)",
        coverage.assigned,
        coverage.total,
        coverage.assigned_share * 100.0,
        coverage.mandatory_assigned,
        coverage.mandatory_total,
        coverage.mandatory_share * 100.0
    );
    println!(
        "answered: {}/{} ({:.1} %), mandatory answered {:.1} %",
        report.answered,
        report.total,
        report.answered_share * 100.0,
        report.mandatory_answered_share * 100.0
    );
    println!(
        "tokens: {} prompt, {} completion",
        proposal.usage.prompt_tokens, proposal.usage.completion_tokens
    );
    for section in &proposal.sections {
        if let SectionStatus::Failed { error } = &section.status {
            let title = outline
                .section(&section.section_id)
                .map(|s| format!("{} {}", s.number, s.title));
            println!(
                "FAILED {}: {error}",
                title.unwrap_or_else(|| section.section_id.clone())
            );
        }
    }
    if proposal.failed > 0 {
        eprintln!(
            "error: {} section(s) failed; they are marked in {}",
            proposal.failed,
            args.output.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A bar on a terminal, nothing when output is piped (logs and tests stay clean).
fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} 撰写章节 [{bar:40}] {pos}/{len} {elapsed_precise} 剩余 {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
