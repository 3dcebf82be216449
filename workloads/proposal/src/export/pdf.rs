//! PDF through `libreoffice --headless --convert-to pdf`, with a private profile per run so parallel
//! conversions do not fight over one user installation.

use super::ExportError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// Converts a .docx into `out_dir/<stem>.pdf` and returns that path.
pub fn convert_to_pdf(docx_path: &Path, out_dir: &Path) -> Result<PathBuf, ExportError> {
    if !docx_path.is_file() {
        return Err(ExportError::Input { path: docx_path.to_path_buf(), reason: "no such file".into() });
    }
    let program = ["libreoffice", "soffice"].into_iter().find(|p| on_path(p)).ok_or(ExportError::LibreOfficeMissing)?;
    std::fs::create_dir_all(out_dir)
        .map_err(|e| ExportError::Input { path: out_dir.to_path_buf(), reason: e.to_string() })?;

    static RUN: AtomicU64 = AtomicU64::new(0);
    let profile = std::env::temp_dir().join(format!(
        "aibid-lo-profile-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let output = Command::new(program)
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
        .arg(out_dir)
        .arg(docx_path)
        .output();
    // The profile is only scratch for this run.
    let _ = std::fs::remove_dir_all(&profile);
    let output =
        output.map_err(|e| ExportError::Conversion { path: docx_path.to_path_buf(), reason: format!("cannot start {program}: {e}") })?;

    let stem = docx_path.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
    let pdf = out_dir.join(stem).with_extension("pdf");
    if !output.status.success() || !pdf.is_file() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        return Err(ExportError::Conversion {
            path: docx_path.to_path_buf(),
            reason: format!("{} (exit {}): {} {}", program, output.status, stdout.trim(), stderr.trim()),
        });
    }
    Ok(pdf)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}
