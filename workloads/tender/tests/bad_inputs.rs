//! Bad inputs fail fast with the specific error and a message a user can act on.

use aibid_tender::{read_document, Block, DocumentFormat, ReadError, ReadLimits};
use std::io::Write;

fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options)
                .expect("start zip entry in memory");
            zip.write_all(bytes).expect("write zip entry in memory");
        }
        zip.finish().expect("finish zip in memory");
    }
    out.into_inner()
}

const MINIMAL_DOCUMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>项目名称：测试项目</w:t></w:r></w:p></w:body></w:document>"#;

/// A one-page PDF whose trailer names a standard security handler the empty password does not open.
fn encrypted_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_owned(),
        "<< /Length 0 >>\nstream\n\nendstream".to_owned(),
        format!(
            "<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <{}> /U <{}> >>",
            "7a".repeat(32),
            "3c".repeat(32)
        ),
    ];
    let mut pdf = b"%PDF-1.6\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Encrypt 5 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1,
            id = "0123456789abcdef0123456789abcdef"
        )
        .as_bytes(),
    );
    pdf
}

#[test]
fn empty_input_is_rejected() {
    let err = read_document(b"", &ReadLimits::default()).unwrap_err();
    assert_eq!(err, ReadError::Empty);
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn oversized_input_is_rejected_before_parsing() {
    let limits = ReadLimits {
        max_bytes: 1024,
        ..ReadLimits::default()
    };
    let err = read_document(&vec![b'a'; 2048], &limits).unwrap_err();
    assert_eq!(
        err,
        ReadError::TooLarge {
            size: 2048,
            limit: 1024
        }
    );
    assert!(err.to_string().contains("limit of 1024 bytes"), "{err}");
}

#[test]
fn default_size_limit_is_50_mib() {
    assert_eq!(ReadLimits::default().max_bytes, 50 * 1024 * 1024);
}

#[test]
fn corrupt_docx_is_reported_as_corrupt() {
    let mut bytes = zip_with(&[("word/document.xml", MINIMAL_DOCUMENT.as_bytes())]);
    bytes.truncate(bytes.len() / 2);
    let err = read_document(&bytes, &ReadLimits::default()).unwrap_err();
    assert!(matches!(err, ReadError::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("corrupt"), "{err}");
}

#[test]
fn docx_with_broken_xml_is_corrupt() {
    let bytes = zip_with(&[("word/document.xml", b"<w:document><w:body><w:p></w:body>")]);
    let err = read_document(&bytes, &ReadLimits::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::Corrupt(ref d) if d.contains("word/document.xml")),
        "{err:?}"
    );
}

#[test]
fn corrupt_pdf_is_reported_as_corrupt() {
    let err = read_document(
        b"%PDF-1.7\n1 0 obj << /Type /Catalog",
        &ReadLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ReadError::Corrupt(_)), "{err:?}");
}

#[test]
fn encrypted_pdf_is_reported_as_encrypted() {
    let err = read_document(&encrypted_pdf(), &ReadLimits::default()).unwrap_err();
    assert_eq!(err, ReadError::Encrypted);
    assert!(err.to_string().contains("password"), "{err}");
}

#[test]
fn zip_bomb_is_refused_before_inflating() {
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bytes = zip_with(&[
        ("word/document.xml", MINIMAL_DOCUMENT.as_bytes()),
        ("word/media/bomb.bin", &zeros),
    ]);
    assert!(
        bytes.len() < 100 * 1024,
        "the test bomb should compress well"
    );
    let limits = ReadLimits {
        max_uncompressed_bytes: 1024 * 1024,
        ..ReadLimits::default()
    };
    let err = read_document(&bytes, &limits).unwrap_err();
    assert!(matches!(err, ReadError::ZipBomb(_)), "{err:?}");
    assert!(err.to_string().contains("suspicious"), "{err}");
}

#[test]
fn too_many_zip_entries_are_refused() {
    let names: Vec<String> = (0..50).map(|i| format!("word/part{i}.xml")).collect();
    let mut entries: Vec<(&str, &[u8])> =
        names.iter().map(|n| (n.as_str(), &b"<x/>"[..])).collect();
    entries.push(("word/document.xml", MINIMAL_DOCUMENT.as_bytes()));
    let limits = ReadLimits {
        max_zip_entries: 10,
        ..ReadLimits::default()
    };
    let err = read_document(&zip_with(&entries), &limits).unwrap_err();
    assert!(
        matches!(err, ReadError::ZipBomb(ref d) if d.contains("entries")),
        "{err:?}"
    );
}

#[test]
fn gbk_text_is_decoded() {
    let text = "项目名称：某单位食堂服务项目\n一、资格要求\n1.具有独立承担民事责任的能力\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the fixture must not be valid UTF-8"
    );
    let doc = read_document(&gbk, &ReadLimits::default()).expect("GBK text reads");
    assert_eq!(doc.format, DocumentFormat::Txt);
    let first = match &doc.blocks[0] {
        Block::Paragraph { text, .. } => text.clone(),
        other => panic!("first block should be a paragraph, got {other:?}"),
    };
    assert_eq!(first, "项目名称：某单位食堂服务项目");
    assert!(doc
        .blocks
        .iter()
        .any(|b| matches!(b, Block::Heading { text, .. } if text == "资格要求")));
}

#[test]
fn png_is_an_unsupported_type() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    let err = read_document(png, &ReadLimits::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::UnsupportedType(ref what) if what.contains("PNG")),
        "{err:?}"
    );
    assert!(err.to_string().contains(".docx, .pdf or .txt"), "{err}");
}

#[test]
fn xlsx_is_an_unsupported_type() {
    let bytes = zip_with(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("xl/workbook.xml", b"<workbook/>"),
    ]);
    let err = read_document(&bytes, &ReadLimits::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::UnsupportedType(ref what) if what.contains("Excel")),
        "{err:?}"
    );
}

#[test]
fn zip_without_a_word_document_is_unsupported() {
    let bytes = zip_with(&[("readme.txt", b"hello")]);
    let err = read_document(&bytes, &ReadLimits::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::UnsupportedType(ref what) if what.contains("no Word document")),
        "{err:?}"
    );
}

#[test]
fn legacy_doc_is_unsupported_with_advice() {
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.extend(std::iter::repeat_n(0u8, 504));
    let err = read_document(&bytes, &ReadLimits::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::UnsupportedType(ref what) if what.contains(".doc")),
        "{err:?}"
    );
}

#[test]
fn binary_garbage_is_unsupported() {
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let err = read_document(&bytes, &ReadLimits::default()).unwrap_err();
    assert!(matches!(err, ReadError::UnsupportedType(_)), "{err:?}");
}

/// A password-protected .docx as Word writes it: an OLE compound file (not a zip) whose directory
/// holds the EncryptionInfo and EncryptedPackage streams.
fn encrypted_docx() -> Vec<u8> {
    const SECTOR: usize = 512;
    let mut header = vec![0u8; SECTOR];
    header[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    header[0x18..0x1A].copy_from_slice(&0x003Eu16.to_le_bytes()); // minor version
    header[0x1A..0x1C].copy_from_slice(&3u16.to_le_bytes()); // major version 3
    header[0x1C..0x1E].copy_from_slice(&0xFFFEu16.to_le_bytes()); // little endian
    header[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes()); // 512-byte sectors
    header[0x20..0x22].copy_from_slice(&6u16.to_le_bytes()); // 64-byte mini sectors
    header[0x2C..0x30].copy_from_slice(&1u32.to_le_bytes()); // one FAT sector
    header[0x30..0x34].copy_from_slice(&1u32.to_le_bytes()); // directory starts at sector 1
    header[0x38..0x3C].copy_from_slice(&4096u32.to_le_bytes()); // mini stream cutoff
    header[0x3C..0x40].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // no mini FAT
    header[0x44..0x48].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // no DIFAT sectors
    header[0x4C..0x50].copy_from_slice(&0u32.to_le_bytes()); // FAT in sector 0
    for slot in header[0x50..].chunks_mut(4) {
        slot.copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    }
    let mut fat = vec![0xFFu8; SECTOR];
    fat[..4].copy_from_slice(&0xFFFF_FFFDu32.to_le_bytes()); // sector 0 is the FAT
    fat[4..8].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // directory chain ends
    let entry = |name: &str, kind: u8| {
        let mut e = vec![0u8; 128];
        let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
        for (i, unit) in units.iter().enumerate() {
            e[i * 2..i * 2 + 2].copy_from_slice(&unit.to_le_bytes());
        }
        e[0x40..0x42].copy_from_slice(&((units.len() * 2) as u16).to_le_bytes());
        e[0x42] = kind;
        e
    };
    let mut directory = Vec::new();
    directory.extend(entry("Root Entry", 5));
    directory.extend(entry("EncryptionInfo", 2));
    directory.extend(entry("EncryptedPackage", 2));
    directory.resize(SECTOR, 0);
    [header, fat, directory].concat()
}

#[test]
fn encrypted_docx_is_reported_as_encrypted() {
    let err = read_document(&encrypted_docx(), &ReadLimits::default()).unwrap_err();
    assert_eq!(err, ReadError::Encrypted);
    let message = err.to_string();
    assert!(
        message.contains("password-protected") && message.contains("remove the password"),
        "{message}"
    );
}
