//! Hand-built tenders and ledgers shared by the integration tests.
#![allow(dead_code)]

use aibid_tender::ledger::ParameterValue;
use aibid_tender::{
    Block, DocumentFormat, ProjectFacts, Requirement, RequirementKind, RequirementLedger,
    SourceAnchor, TenderDocument,
};

/// A paragraph that only the unrelated 第八章 holds; no prompt may contain it.
pub const SENTINEL: &str = "SENTINEL-只在无关章节出现的段落-7f3a";

pub fn paragraph(text: &str, index: u32) -> Block {
    Block::Paragraph {
        text: text.into(),
        anchor: SourceAnchor::Paragraph { index },
    }
}

pub fn heading(level: u8, text: &str, index: u32) -> Block {
    Block::Heading {
        level,
        number: None,
        text: text.into(),
        anchor: SourceAnchor::Paragraph { index },
    }
}

pub fn item(id: &str, kind: RequirementKind, text: &str, index: u32) -> Requirement {
    Requirement {
        id: id.into(),
        kind,
        text: text.into(),
        marker: None,
        points: None,
        category: None,
        anchor: SourceAnchor::Paragraph { index },
        parameter: None,
    }
}

/// A small tender: requirements in chapters 1-5, an unrelated chapter 8 holding the sentinel.
pub fn tender() -> (TenderDocument, RequirementLedger) {
    let blocks = vec![
        heading(1, "第一章 投标邀请", 0),
        paragraph(
            "项目名称：某市政务云平台扩容项目；项目编号：ZB-2024-001；预算金额：380万元。",
            1,
        ),
        heading(1, "第二章 投标人须知", 2),
        paragraph("投标人须具有独立法人资格，提供有效的营业执照。", 3),
        paragraph("投标人近三年内无重大违法记录，提供信用中国查询截图。", 4),
        paragraph("未按要求提交投标保证金的，投标无效。", 5),
        paragraph("投标文件须逐页加盖公章并按顺序装订。", 6),
        heading(1, "第三章 采购需求", 7),
        paragraph("★服务器须为原厂全新正品，提供原厂授权书。", 8),
        paragraph("CPU核数≥16核，主频≥2.4GHz。", 9),
        paragraph("内存容量≥256GB。", 10),
        paragraph("交货期：合同签订后30日内完成交货安装。", 11),
        heading(1, "第四章 评分办法", 12),
        paragraph("技术方案：方案完整、合理、可行，得10分。", 13),
        paragraph("实施计划：进度安排合理，得8分。", 14),
        paragraph("售后服务：7×24小时响应，得6分。", 15),
        paragraph("类似业绩：每提供一个得1分，最高4分。", 16),
        paragraph("价格分：满足要求的最低报价为基准价，得30分。", 17),
        heading(1, "第八章 其他事项", 18),
        paragraph(SENTINEL, 19),
    ];
    let document = TenderDocument {
        format: DocumentFormat::Docx,
        pages: None,
        needs_ocr_pages: vec![],
        blocks,
    };

    let scoring = |id: &str, text: &str, index: u32, points: f64, category: &str| Requirement {
        points: Some(points),
        category: Some(category.into()),
        ..item(id, RequirementKind::Scoring, text, index)
    };
    let parameter =
        |id: &str, text: &str, index: u32, name: &str, value: &str, unit: &str| Requirement {
            parameter: Some(ParameterValue {
                name: name.into(),
                comparator: "≥".into(),
                value: value.into(),
                unit: Some(unit.into()),
            }),
            ..item(id, RequirementKind::Parameter, text, index)
        };
    let mut star = item(
        "MA-001",
        RequirementKind::Mandatory,
        "★服务器须为原厂全新正品，提供原厂授权书",
        8,
    );
    star.marker = Some("★".into());
    let ledger = RequirementLedger {
        facts: ProjectFacts {
            project_name: Some("某市政务云平台扩容项目".into()),
            project_code: Some("ZB-2024-001".into()),
            budget: Some("380万元".into()),
            deadline: Some("2024年6月30日9:30".into()),
        },
        requirements: vec![
            item(
                "QU-001",
                RequirementKind::Qualification,
                "投标人须具有独立法人资格，提供有效的营业执照",
                3,
            ),
            item(
                "QU-002",
                RequirementKind::Qualification,
                "投标人近三年内无重大违法记录",
                4,
            ),
            item(
                "DQ-001",
                RequirementKind::Disqualification,
                "未按要求提交投标保证金的，投标无效",
                5,
            ),
            item(
                "FO-001",
                RequirementKind::Format,
                "投标文件须逐页加盖公章并按顺序装订",
                6,
            ),
            star,
            parameter("PA-001", "CPU核数≥16核", 9, "CPU核数", "16", "核"),
            parameter("PA-002", "主频≥2.4GHz", 9, "主频", "2.4", "GHz"),
            parameter("PA-003", "内存容量≥256GB", 10, "内存容量", "256", "GB"),
            item(
                "CO-001",
                RequirementKind::Commercial,
                "交货期：合同签订后30日内完成交货安装",
                11,
            ),
            scoring("SC-001", "技术方案：方案完整、合理、可行", 13, 10.0, "技术"),
            scoring("SC-002", "实施计划：进度安排合理", 14, 8.0, "技术"),
            scoring("SC-003", "售后服务：7×24小时响应", 15, 6.0, "技术"),
            scoring(
                "SC-004",
                "类似业绩：每提供一个得1分，最高4分",
                16,
                4.0,
                "商务",
            ),
            scoring(
                "SC-005",
                "价格分：满足要求的最低报价为基准价",
                17,
                30.0,
                "价格",
            ),
        ],
        ..Default::default()
    };
    (document, ledger)
}
