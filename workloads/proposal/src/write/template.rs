//! The template writer: a deterministic Chinese draft that answers every ledger item of a section
//! (响应 statements, deviation rows) and marks with 【待填写：…】 what only the bidder can supply.

use super::{DeviationRow, SectionDraft, SectionRequest, SectionWriter, Usage, WriteError};
use crate::content::ContentBlock;
use aibid_tender::{Requirement, RequirementKind};

/// Used when no LLM is configured; same input, same output.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateWriter;

const BIDDER: &str = "【待填写：投标人名称（盖章）】";

#[async_trait::async_trait]
impl SectionWriter for TemplateWriter {
    fn name(&self) -> String {
        "template".into()
    }

    async fn write(&self, request: &SectionRequest) -> Result<SectionDraft, WriteError> {
        Ok(TemplateWriter::draft(request))
    }
}

impl TemplateWriter {
    /// The draft for a section, synchronously (the writer has no I/O).
    pub fn draft(request: &SectionRequest) -> SectionDraft {
        let mut blocks = Vec::new();
        let mut deviations = Vec::new();
        let project = project_label(request);
        let title = request.section.title.as_str();

        blocks.extend(opening(title, &project, request));

        let of = |kind: RequirementKind| request.items.iter().filter(move |i| i.kind == kind);
        let scoring: Vec<&Requirement> = of(RequirementKind::Scoring).collect();
        for item in &scoring {
            blocks.extend(scoring_answer(item, &project, scoring.len() > 1));
        }

        let qualifications: Vec<&Requirement> = of(RequirementKind::Qualification).collect();
        if !qualifications.is_empty() {
            blocks.push(ContentBlock::SubHeading { text: "资格要求响应表".into() });
            blocks.push(ContentBlock::Table {
                header: cells(&["编号", "资格要求", "响应情况", "证明材料"]),
                rows: qualifications
                    .iter()
                    .map(|q| vec![q.id.clone(), q.text.clone(), "我方满足该项资格要求".into(), evidence_hint(&q.text)])
                    .collect(),
            });
        }

        let mandatory: Vec<&Requirement> =
            of(RequirementKind::Mandatory).filter(|m| m.parameter.is_none()).collect();
        if !mandatory.is_empty() {
            blocks.push(ContentBlock::SubHeading { text: "实质性要求响应".into() });
            for item in mandatory {
                let marker = item.marker.clone().unwrap_or_default();
                blocks.push(ContentBlock::Paragraph { text: format!("招标要求（{}{}）：{}", marker, item.id, item.text.trim()) });
                blocks.push(ContentBlock::Paragraph {
                    text: "我方响应：我方完全响应该项实质性要求，无任何偏离，并承诺在合同履行期间严格执行。".into(),
                });
            }
        }

        let parameters: Vec<&Requirement> = request
            .items
            .iter()
            .filter(|i| i.kind == RequirementKind::Parameter || (i.kind == RequirementKind::Mandatory && i.parameter.is_some()))
            .collect();
        if !parameters.is_empty() {
            blocks.push(ContentBlock::SubHeading { text: "技术参数响应及偏离表".into() });
            blocks.push(ContentBlock::Paragraph {
                text: "下表逐项列明招标文件的技术参数要求及我方所投产品的实际响应值，投标人须按所投产品的技术资料如实填写，并附相应证明材料。".into(),
            });
            let mut rows = Vec::new();
            for item in parameters {
                let required = required_value(item);
                let offered = format!("【待填写：所投产品实际参数（须{}）】", compact_requirement(item));
                let deviation = "【待填写：无偏离/正偏离/负偏离】".to_string();
                rows.push(vec![item.id.clone(), required.clone(), offered.clone(), deviation.clone()]);
                deviations.push(DeviationRow { requirement_id: item.id.clone(), required, offered, deviation });
            }
            blocks.push(ContentBlock::Table { header: cells(&["编号", "招标要求", "投标响应", "偏离情况"]), rows });
        }

        let commercial: Vec<&Requirement> = of(RequirementKind::Commercial).collect();
        if !commercial.is_empty() {
            blocks.push(ContentBlock::SubHeading { text: "商务条款响应表".into() });
            blocks.push(ContentBlock::Table {
                header: cells(&["编号", "招标要求", "投标响应", "偏离情况"]),
                rows: commercial
                    .iter()
                    .map(|c| vec![c.id.clone(), c.text.clone(), "完全响应".into(), "无偏离".into()])
                    .collect(),
            });
        }

        let formats: Vec<&Requirement> = of(RequirementKind::Format).collect();
        if !formats.is_empty() {
            blocks.push(ContentBlock::SubHeading { text: "投标文件格式要求响应".into() });
            blocks.push(ContentBlock::Bullets {
                items: formats
                    .iter()
                    .map(|f| format!("{}（{}）：我方投标文件严格按此要求编制。", f.text.trim(), f.id))
                    .collect(),
            });
        }

        let disqualifications: Vec<&Requirement> = of(RequirementKind::Disqualification).collect();
        if !disqualifications.is_empty() {
            blocks.push(ContentBlock::SubHeading { text: "废标（无效投标）条款自查表".into() });
            blocks.push(ContentBlock::Table {
                header: cells(&["编号", "条款内容", "自查结论"]),
                rows: disqualifications
                    .iter()
                    .map(|d| vec![d.id.clone(), d.text.clone(), "已逐项核对，我方不存在该情形".into()])
                    .collect(),
            });
        }

        SectionDraft {
            blocks,
            answered_ids: request.items.iter().map(|i| i.id.clone()).collect(),
            deviations,
            usage: Usage::default(),
        }
    }
}

fn cells(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

fn project_label(request: &SectionRequest) -> String {
    let name = request.facts.project_name.clone().unwrap_or_else(|| "【待填写：项目名称】".into());
    match &request.facts.project_code {
        Some(code) => format!("{name}（项目编号：{code}）"),
        None => name,
    }
}

/// The first paragraphs of a section, by what the section title says it is.
fn opening(title: &str, project: &str, request: &SectionRequest) -> Vec<ContentBlock> {
    let paragraph = |text: String| ContentBlock::Paragraph { text };
    if title.contains("投标函") || title.contains("响应函") {
        let deadline = request.facts.deadline.clone().unwrap_or_else(|| "招标文件规定的投标截止时间".into());
        return vec![
            paragraph("致：【待填写：采购人/招标代理机构名称】".into()),
            paragraph(format!(
                "根据贵方{project}的招标文件，签字代表【待填写：姓名、职务】经正式授权并代表投标人{BIDDER}提交投标文件，并就有关事项郑重声明如下："
            )),
            ContentBlock::Bullets {
                items: vec![
                    "我方已详细审阅全部招标文件及其澄清、修改文件，完全理解并接受招标文件的各项规定和要求，放弃提出含糊不清或误解问题的权利。".into(),
                    format!("我方投标报价为【待填写：投标总价（大写、小写）】，投标有效期自{deadline}起【待填写：投标有效期】日。"),
                    "我方承诺所提交的投标文件及有关资料真实、准确、完整，如有虚假，愿承担相应法律责任。".into(),
                    "如我方中标，我方将按招标文件规定签订合同，全面履行合同约定的责任和义务。".into(),
                ],
            },
            paragraph(format!("投标人：{BIDDER}　　法定代表人或授权代表（签字）：【待填写】　　日期：【待填写】")),
        ];
    }
    if title.contains("授权") {
        return vec![
            paragraph(format!(
                "本授权书声明：注册于【待填写：注册地址】的{BIDDER}的法定代表人【待填写：姓名、职务】代表本公司授权【待填写：被授权人姓名、职务】为本公司的合法代理人，就{project}的投标及合同谈判、签署、执行等事宜，以本公司名义处理一切与之有关的事务。"
            )),
            paragraph("本授权书于签字盖章之日起生效，特此声明。附：法定代表人及被授权人身份证复印件【待填写：附件】。".into()),
        ];
    }
    let mut blocks = vec![paragraph(format!(
        "本章针对{project}招标文件中与“{title}”相关的要求逐项作出响应。我方已认真研究招标文件的全部内容，对下列各项要求均作出明确、完整的响应。"
    ))];
    if request.items.is_empty() {
        blocks.push(paragraph(format!("【待填写：{title}（按招标文件规定的格式和内容填写，并加盖公章）】")));
    }
    blocks
}

fn scoring_answer(item: &Requirement, project: &str, with_heading: bool) -> Vec<ContentBlock> {
    let mut blocks = Vec::new();
    let name = short_name(&item.text);
    if with_heading {
        blocks.push(ContentBlock::SubHeading { text: name.clone() });
    }
    let points = item.points.map(|p| format!("（分值：{p}分）")).unwrap_or_default();
    blocks.push(ContentBlock::Paragraph { text: format!("评分要求（{}）：{}{}", item.id, item.text.trim(), points) });
    let category = item.category.as_deref().unwrap_or("");
    if category.contains('价') {
        blocks.push(ContentBlock::Paragraph {
            text: "我方响应：投标报价为【待填写：投标总价（大写、小写）】，报价已包含完成本项目所需的全部费用，且不高于招标文件规定的最高限价。分项报价详见报价一览表【待填写：页码】。".into(),
        });
    } else if category.contains("商务") || category.contains("资信") {
        blocks.push(ContentBlock::Paragraph {
            text: format!("我方响应：针对“{name}”，我方提供以下证明材料，供评标委员会评审。"),
        });
        blocks.push(ContentBlock::Bullets {
            items: vec![
                format!("证明材料：【待填写：与“{name}”对应的合同、证书或获奖文件复印件（加盖公章）】"),
                "材料所在页码：【待填写】".into(),
            ],
        });
    } else {
        blocks.push(ContentBlock::Paragraph {
            text: format!("我方响应：我方充分理解{project}对“{name}”的要求，将从以下方面确保该项要求得到全面满足。"),
        });
        blocks.push(ContentBlock::Bullets {
            items: vec![
                format!("需求理解：结合本项目的建设目标和使用场景，梳理“{name}”涉及的业务需求、技术约束和验收标准，作为方案设计的依据。"),
                format!("实施措施：【待填写：针对“{name}”的具体方案、技术路线、实施步骤及所投产品或服务的关键指标】"),
                "组织保障：成立专门项目组，明确项目经理及各岗位职责，【待填写：项目组人员姓名、职称及证书】。".into(),
                "质量与进度控制：按计划分阶段实施，关键节点设置评审与验收，发现问题及时整改并形成书面记录。".into(),
                "响应承诺：以上内容均为我方的正式承诺，将在合同履行中全部兑现。".into(),
            ],
        });
    }
    blocks
}

fn short_name(text: &str) -> String {
    let text = text.trim();
    let cut = text
        .find(|c: char| matches!(c, '：' | ':' | '（' | '(' | '。' | '；' | '，'))
        .map(|at| &text[..at])
        .unwrap_or(text);
    let name: String = cut.chars().take(30).collect();
    if name.is_empty() {
        "本评分项".into()
    } else {
        name
    }
}

/// What proves a qualification, by the words of the requirement.
fn evidence_hint(text: &str) -> String {
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    let what = if has(&["营业执照", "法人", "独立承担民事责任"]) {
        "营业执照副本复印件"
    } else if has(&["财务", "审计"]) {
        "近年度经审计的财务报告或银行资信证明"
    } else if has(&["社保", "社会保障", "纳税", "税收"]) {
        "近六个月依法缴纳税收和社会保障资金的证明"
    } else if has(&["信用", "失信", "违法记录", "行贿"]) {
        "“信用中国”“中国政府采购网”查询截图及无重大违法记录声明"
    } else if has(&["业绩", "合同"]) {
        "类似项目合同复印件"
    } else if has(&["资质", "证书", "认证", "许可"]) {
        "有效资质或认证证书复印件"
    } else if has(&["授权"]) {
        "制造商授权书原件"
    } else {
        "相关证明材料"
    };
    format!("【待填写：{what}（加盖公章），所在页码】")
}

fn required_value(item: &Requirement) -> String {
    match &item.parameter {
        Some(p) => format!("{}{}{}{}", p.name, p.comparator, p.value, p.unit.clone().unwrap_or_default()),
        None => item.text.trim().to_string(),
    }
}

fn compact_requirement(item: &Requirement) -> String {
    match &item.parameter {
        Some(p) => format!("{}{}{}", p.comparator, p.value, p.unit.clone().unwrap_or_default()),
        None => "满足招标要求".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outline::OutlineSection;
    use crate::write::OutlineContext;
    use aibid_tender::{ParameterValue, ProjectFacts, SourceAnchor};

    fn item(id: &str, kind: RequirementKind, text: &str) -> Requirement {
        Requirement {
            id: id.into(),
            kind,
            text: text.into(),
            marker: None,
            points: None,
            category: None,
            anchor: SourceAnchor::Line { line: 1 },
            parameter: None,
        }
    }

    fn request() -> SectionRequest {
        let mut cpu = item("PA-001", RequirementKind::Parameter, "CPU核数≥16核");
        cpu.parameter =
            Some(ParameterValue { name: "CPU核数".into(), comparator: "≥".into(), value: "16".into(), unit: Some("核".into()) });
        let mut star = item("MA-001", RequirementKind::Mandatory, "投标人须提供原厂授权书");
        star.marker = Some("★".into());
        let mut tech = item("SC-001", RequirementKind::Scoring, "技术方案：方案完整合理（10分）");
        tech.points = Some(10.0);
        tech.category = Some("技术".into());
        let items = vec![
            tech,
            item("QU-001", RequirementKind::Qualification, "具有独立承担民事责任的能力，提供营业执照"),
            star,
            cpu,
            item("CO-001", RequirementKind::Commercial, "交货期：合同签订后30日内"),
            item("FO-001", RequirementKind::Format, "投标文件须逐页加盖公章"),
            item("DQ-001", RequirementKind::Disqualification, "未按要求提交投标保证金的，投标无效"),
        ];
        SectionRequest {
            section: OutlineSection {
                id: "sec-3".into(),
                number: "3".into(),
                title: "技术方案".into(),
                level: 1,
                requirement_ids: items.iter().map(|i| i.id.clone()).collect(),
                word_budget: 1500,
            },
            items,
            passages: vec![],
            facts: ProjectFacts {
                project_name: Some("某市政务云平台扩容项目".into()),
                project_code: Some("ZB-2024-001".into()),
                ..Default::default()
            },
            context: OutlineContext::default(),
        }
    }

    #[test]
    fn the_template_answers_every_item_with_its_text_and_marks_what_the_bidder_fills_in() {
        let request = request();
        let draft = TemplateWriter::draft(&request);
        let text = draft.text();
        for item in &request.items {
            assert!(text.contains(item.text.trim()), "item {} text missing from:\n{text}", item.id);
            assert!(draft.answered_ids.contains(&item.id), "{} not answered", item.id);
        }
        assert!(text.contains("我方完全响应"));
        assert!(text.contains("【待填写：营业执照副本复印件"), "{text}");
        assert!(text.contains("某市政务云平台扩容项目（项目编号：ZB-2024-001）"));
        assert_eq!(draft.deviations.len(), 1);
        assert_eq!(draft.deviations[0].required, "CPU核数≥16核");
        let deviation_table = draft.blocks.iter().any(|b| {
            matches!(b, ContentBlock::Table { header, .. } if header == &cells(&["编号", "招标要求", "投标响应", "偏离情况"]))
        });
        assert!(deviation_table);
    }

    #[test]
    fn the_template_is_deterministic() {
        let request = request();
        assert_eq!(TemplateWriter::draft(&request), TemplateWriter::draft(&request));
    }
}
