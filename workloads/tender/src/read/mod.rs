//! Entry point for reading a tender: limits first, then the format sniffed from the bytes
//! (never from a file name), then the format's own reader.

mod docx;
mod numbering;
mod pdf;
mod pdf_grid;
mod text;
mod xml;

use crate::document::TenderDocument;
use crate::error::{ReadError, ReadLimits};
use std::io::Cursor;

/// What the first bytes say the input is.
enum Sniffed {
    Pdf,
    Zip,
    Text(String),
}

/// Reads a tender document from its bytes. Fails fast with an actionable error on empty, oversized,
/// wrong-type, corrupt, encrypted and zip-bomb inputs, and on fully scanned PDFs.
pub fn read_document(bytes: &[u8], limits: &ReadLimits) -> Result<TenderDocument, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(ReadError::TooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    match sniff(bytes)? {
        Sniffed::Pdf => pdf::read(bytes),
        Sniffed::Zip => {
            let mut archive = open_zip(bytes, limits)?;
            docx::read(&mut archive, limits)
        }
        Sniffed::Text(text) => Ok(text::read(&text)),
    }
}

fn sniff(bytes: &[u8]) -> Result<Sniffed, ReadError> {
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_some() {
        return Ok(Sniffed::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Ok(Sniffed::Zip);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // Password-protected .docx files are OLE containers holding an "EncryptedPackage" stream.
        let marker: Vec<u8> = "EncryptedPackage"
            .encode_utf16()
            .flat_map(|unit| unit.to_le_bytes())
            .collect();
        if find(bytes, &marker).is_some() {
            return Err(ReadError::Encrypted);
        }
        return Err(unsupported(
            "a legacy Office file (.doc/.xls/.ppt); save it as .docx",
        ));
    }
    for (magic, what) in [
        (&b"\x89PNG"[..], "a PNG image (a scan needs OCR)"),
        (&b"\xFF\xD8\xFF"[..], "a JPEG image (a scan needs OCR)"),
        (&b"GIF8"[..], "a GIF image"),
        (&b"II*\x00"[..], "a TIFF image (a scan needs OCR)"),
        (&b"MM\x00*"[..], "a TIFF image (a scan needs OCR)"),
        (&b"{\\rtf"[..], "an RTF document; save it as .docx"),
        (&b"Rar!"[..], "a RAR archive"),
        (&b"7z\xBC\xAF"[..], "a 7-Zip archive"),
        (&b"\x1F\x8B"[..], "a gzip archive"),
    ] {
        if bytes.starts_with(magic) {
            return Err(unsupported(what));
        }
    }
    decode_text(bytes)
        .map(Sniffed::Text)
        .ok_or_else(|| unsupported("binary data of an unknown type"))
}

/// Plain text in UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030.
fn decode_text(bytes: &[u8]) -> Option<String> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return (!had_errors && looks_like_text(&text)).then(|| text.into_owned());
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return looks_like_text(text).then(|| text.to_owned());
    }
    // GB18030 is a superset of GBK and GB2312, so one decoder covers all three.
    let decoded =
        encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes)?;
    looks_like_text(&decoded).then(|| decoded.into_owned())
}

/// Rejects binary data that happens to decode: real text has almost no control characters.
fn looks_like_text(text: &str) -> bool {
    let mut total = 0usize;
    let mut control = 0usize;
    for c in text.chars().take(65_536) {
        total += 1;
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0C') {
            control += 1;
        }
    }
    total > 0 && control * 100 <= total
}

fn open_zip<'a>(
    bytes: &'a [u8],
    limits: &ReadLimits,
) -> Result<zip::ZipArchive<Cursor<&'a [u8]>>, ReadError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ReadError::Corrupt(format!("the ZIP container is damaged ({e})")))?;
    if archive.len() > limits.max_zip_entries {
        return Err(ReadError::ZipBomb(format!(
            "{} entries, limit {}",
            archive.len(),
            limits.max_zip_entries
        )));
    }
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    if !has("word/document.xml") {
        let what = if has("xl/workbook.xml") {
            "an Excel workbook (.xlsx)"
        } else if has("ppt/presentation.xml") {
            "a PowerPoint presentation (.pptx)"
        } else if has("content.xml") && has("mimetype") {
            "an OpenDocument file (.odt/.ods); save it as .docx"
        } else {
            "a ZIP archive that holds no Word document"
        };
        return Err(unsupported(what));
    }
    Ok(archive)
}

fn unsupported(what: &str) -> ReadError {
    ReadError::UnsupportedType(what.to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
