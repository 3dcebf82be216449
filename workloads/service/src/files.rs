//! Files the service keeps under UPLOAD_PATH and OUTPUT_PATH (uploaded tenders, exported .docx). Every write and
//! read of them goes through [`StoredFiles`], which encrypts at rest when ENCRYPTION_KEY is set.
//!
//! Format of an encrypted file: [`MAGIC`], a 12-byte random nonce, then AES-256-GCM ciphertext with its tag (the
//! magic is the associated data). The key is SHA-256 of the ENCRYPTION_KEY string, so any string of the minimum
//! length works. A file without the magic is read as plaintext: turning encryption on later keeps old files readable.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Deletes files the store names as (`upload` | `export`, stored name), e.g. [`crate::store::Store::project_stored_files`];
/// returns how many were removed. An absent file is no error (retention may have taken it); others are logged.
pub async fn remove_stored(
    settings: &crate::config::Settings,
    files: &[(String, String)],
) -> usize {
    let mut removed = 0;
    for (kind, name) in files {
        let dir = if kind == "upload" {
            &settings.upload_path
        } else {
            &settings.output_path
        };
        match tokio::fs::remove_file(dir.join(name)).await {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(file = %name, error = %e, "stored file not removed"),
        }
    }
    removed
}

/// First bytes of every encrypted file (the version digit lets a later format coexist).
pub const MAGIC: &[u8] = b"AIBIDENC1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("stored file {0} is encrypted but ENCRYPTION_KEY is not set")]
    KeyMissing(String),
    #[error(
        "stored file {0} cannot be decrypted: ENCRYPTION_KEY is not the key it was written with, or the file is damaged"
    )]
    WrongKeyOrDamaged(String),
    #[error("stored file {0} is truncated (shorter than an encrypted file's header)")]
    Truncated(String),
    #[error("encrypting {0} failed")]
    Encrypt(String),
}

impl FileError {
    /// The file is absent (as opposed to present but unreadable with this key).
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Reads and writes stored files, encrypting them when a key is configured.
#[derive(Clone)]
pub struct StoredFiles {
    cipher: Option<Aes256Gcm>,
}

impl StoredFiles {
    /// `encryption_key`: the ENCRYPTION_KEY setting; None stores plaintext.
    pub fn new(encryption_key: Option<&str>) -> StoredFiles {
        let cipher = encryption_key.map(|text| {
            let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            Aes256Gcm::new(&Key::<Aes256Gcm>::from(digest))
        });
        StoredFiles { cipher }
    }

    pub fn from_settings(settings: &crate::config::Settings) -> StoredFiles {
        StoredFiles::new(settings.encryption_key.as_deref())
    }

    /// The bytes to put on disk for `plain` (`label` names the file in errors).
    pub fn seal(&self, plain: &[u8], label: &str) -> Result<Vec<u8>, FileError> {
        let Some(cipher) = &self.cipher else {
            return Ok(plain.to_vec());
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: MAGIC,
                },
            )
            .map_err(|_| FileError::Encrypt(label.to_string()))?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ciphertext.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// The plaintext of bytes read from disk: decrypted when they carry [`MAGIC`], as they are otherwise.
    pub fn open(&self, stored: &[u8], label: &str) -> Result<Vec<u8>, FileError> {
        let Some(sealed) = stored.strip_prefix(MAGIC) else {
            return Ok(stored.to_vec());
        };
        let Some(cipher) = &self.cipher else {
            return Err(FileError::KeyMissing(label.to_string()));
        };
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(FileError::Truncated(label.to_string()));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| FileError::Truncated(label.to_string()))?;
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: MAGIC,
                },
            )
            .map_err(|_| FileError::WrongKeyOrDamaged(label.to_string()))
    }

    /// Writes `plain` as `dir/name`, creating `dir` when needed.
    pub async fn write(&self, dir: &Path, name: &str, plain: &[u8]) -> Result<(), FileError> {
        let bytes = self.seal(plain, name)?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| FileError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        let path = dir.join(name);
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|source| FileError::Io { path, source })
    }

    /// The plaintext of `dir/name`.
    pub async fn read(&self, dir: &Path, name: &str) -> Result<Vec<u8>, FileError> {
        let path = dir.join(name);
        let stored = tokio::fs::read(&path)
            .await
            .map_err(|source| FileError::Io { path, source })?;
        self.open(&stored, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL";
    const TEXT: &[u8] = "招标文件：智慧校园网络建设项目，投标保证金人民币伍万元".as_bytes();

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn encrypted_files_round_trip_and_hide_the_plaintext() {
        let files = StoredFiles::new(Some(KEY));
        let sealed = files.seal(TEXT, "t.txt").unwrap();
        assert!(sealed.starts_with(MAGIC));
        assert!(!contains(&sealed, "智慧校园".as_bytes()));
        assert_eq!(files.open(&sealed, "t.txt").unwrap(), TEXT);
        // A fresh nonce each time: the same plaintext never gives the same file.
        assert_ne!(sealed, files.seal(TEXT, "t.txt").unwrap());
    }

    #[test]
    fn a_wrong_or_missing_key_is_an_error_naming_encryption_key() {
        let sealed = StoredFiles::new(Some(KEY)).seal(TEXT, "t.txt").unwrap();
        let other = StoredFiles::new(Some("another-key-of-at-least-thirty-two-chars"));
        let wrong = other.open(&sealed, "t.txt").unwrap_err();
        assert!(matches!(wrong, FileError::WrongKeyOrDamaged(_)));
        assert!(wrong.to_string().contains("ENCRYPTION_KEY"), "{wrong}");
        let missing = StoredFiles::new(None).open(&sealed, "t.txt").unwrap_err();
        assert!(matches!(missing, FileError::KeyMissing(_)));
        assert!(missing.to_string().contains("ENCRYPTION_KEY"), "{missing}");
    }

    #[test]
    fn plaintext_files_from_before_encryption_are_read_as_they_are() {
        let files = StoredFiles::new(Some(KEY));
        assert_eq!(files.open(TEXT, "old.txt").unwrap(), TEXT);
        let plain = StoredFiles::new(None);
        assert_eq!(plain.seal(TEXT, "t.txt").unwrap(), TEXT);
        assert_eq!(plain.open(TEXT, "t.txt").unwrap(), TEXT);
    }

    #[test]
    fn truncated_or_altered_files_are_errors() {
        let files = StoredFiles::new(Some(KEY));
        let sealed = files.seal(TEXT, "t.txt").unwrap();
        let header_only = &sealed[..MAGIC.len() + 5];
        assert!(matches!(
            files.open(header_only, "t.txt"),
            Err(FileError::Truncated(_))
        ));
        let cut = &sealed[..sealed.len() - 1];
        assert!(matches!(
            files.open(cut, "t.txt"),
            Err(FileError::WrongKeyOrDamaged(_))
        ));
        let mut flipped = sealed.clone();
        let middle = MAGIC.len() + NONCE_LEN + 3;
        flipped[middle] ^= 0x01;
        assert!(matches!(
            files.open(&flipped, "t.txt"),
            Err(FileError::WrongKeyOrDamaged(_))
        ));
    }

    #[tokio::test]
    async fn files_on_disk_are_encrypted_and_read_back_plain() {
        let dir = std::env::temp_dir().join(format!("aibid-files-{}", crate::store::new_id()));
        let files = StoredFiles::new(Some(KEY));
        files.write(&dir, "t.txt", TEXT).await.unwrap();
        let on_disk = std::fs::read(dir.join("t.txt")).unwrap();
        assert!(on_disk.starts_with(MAGIC));
        assert!(!contains(&on_disk, "智慧校园".as_bytes()));
        assert_eq!(files.read(&dir, "t.txt").await.unwrap(), TEXT);
        let absent = files.read(&dir, "absent.txt").await.unwrap_err();
        assert!(absent.is_not_found());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
