//! Connection credentials (marketplace access tokens, app secrets) are sealed with ChaCha20-Poly1305 before
//! they touch the database, so a copied database file leaks nothing without the key.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use std::path::Path;

const NONCE_LEN: usize = 12;
/// Associated data of blobs sealed before they were bound to a row; only read, to re-seal them.
const LEGACY_AAD: &[u8] = b"creatorflow/connection-credentials/v1";
/// Marks a blob bound to its row; the associated data is this prefix followed by the row's binding, so a blob
/// copied into another field, row or workspace fails to open.
const BOUND_MAGIC: &[u8] = b"cfc2";
const BOUND_AAD: &[u8] = b"creatorflow/connection-credentials/v2/";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the credentials key must be 32 bytes encoded as base64, found {0} bytes")]
    BadKeyLength(usize),
    #[error("the credentials key is not valid base64: {0}")]
    BadKeyEncoding(String),
    #[error("cannot read or create the credentials key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("stored credentials cannot be decrypted: wrong key or corrupted data")]
    Open,
    #[error("credentials could not be encrypted")]
    Seal,
}

pub struct CredentialCipher {
    aead: ChaCha20Poly1305,
}

impl CredentialCipher {
    pub fn from_key_bytes(key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != 32 {
            return Err(CryptoError::BadKeyLength(key.len()));
        }
        Ok(Self {
            aead: ChaCha20Poly1305::new(Key::from_slice(key)),
        })
    }

    pub fn from_base64(key: &str) -> Result<Self, CryptoError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|e| CryptoError::BadKeyEncoding(e.to_string()))?;
        Self::from_key_bytes(&bytes)
    }

    /// Loads the key file, creating it (mode 0600) with a fresh random key on first use.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let file_err = |e: std::io::Error| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                let encoded = base64::engine::general_purpose::STANDARD.encode(key);
                write_private_file(path, encoded.as_bytes()).map_err(file_err)?;
                Self::from_key_bytes(&key)
            }
            Err(e) => Err(file_err(e)),
        }
    }

    /// Seals `plaintext` for the row identified by `binding` (e.g. workspace and connection id).
    pub fn seal(&self, plaintext: &[u8], binding: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = [BOUND_AAD, binding].concat();
        let ct = self
            .aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut out = BOUND_MAGIC.to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a blob sealed for `binding`; a blob sealed for another row does not open.
    pub fn open(&self, sealed: &[u8], binding: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rest = sealed.strip_prefix(BOUND_MAGIC).ok_or(CryptoError::Open)?;
        let aad = [BOUND_AAD, binding].concat();
        Self::decrypt(&self.aead, rest, &aad)
    }

    /// Whether `sealed` predates row binding and must be re-sealed with [`CredentialCipher::reseal_legacy`].
    pub fn is_legacy(sealed: &[u8]) -> bool {
        !sealed.starts_with(BOUND_MAGIC)
    }

    /// Opens a blob sealed before row binding and seals it again for `binding`.
    pub fn reseal_legacy(&self, sealed: &[u8], binding: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let plain = Self::decrypt(&self.aead, sealed, LEGACY_AAD)?;
        self.seal(&plain, binding)
    }

    fn decrypt(aead: &ChaCha20Poly1305, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        aead.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| CryptoError::Open)
    }
}

/// Seals the way blobs were sealed before row binding, so tests can prove they are re-sealed.
#[cfg(test)]
pub(crate) fn legacy_seal_for_tests(c: &CredentialCipher, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ct = c
        .aead
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: LEGACY_AAD,
            },
        )
        .unwrap_or_default();
    [nonce.as_slice(), &ct].concat()
}

/// Writes a secret file readable only by its owner; refuses to overwrite.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        let c = CredentialCipher::load_or_create(&path).expect("create");
        let sealed = c.seal(b"secret-token", b"w1/c1").expect("seal");
        assert!(!sealed.windows(12).any(|w| w == b"secret-token"));
        assert_eq!(c.open(&sealed, b"w1/c1").expect("open"), b"secret-token");
        let again = CredentialCipher::load_or_create(&path).expect("reload");
        assert_eq!(
            again.open(&sealed, b"w1/c1").expect("open"),
            b"secret-token"
        );
        let mut bad = sealed.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        assert!(matches!(c.open(&bad, b"w1/c1"), Err(CryptoError::Open)));
        let other = CredentialCipher::from_key_bytes(&[7u8; 32]).expect("key");
        assert!(matches!(
            other.open(&sealed, b"w1/c1"),
            Err(CryptoError::Open)
        ));
        assert!(matches!(
            CredentialCipher::from_key_bytes(&[0u8; 16]),
            Err(CryptoError::BadKeyLength(16))
        ));
    }

    #[test]
    fn a_blob_moved_to_another_row_does_not_open() {
        let c = CredentialCipher::from_key_bytes(&[3u8; 32]).expect("key");
        let sealed = c.seal(b"token-of-shop-a", b"w1/c1").expect("seal");
        for other in [&b"w1/c2"[..], b"w2/c1", b"", b"w1/c1 "] {
            assert!(
                matches!(c.open(&sealed, other), Err(CryptoError::Open)),
                "{other:?}"
            );
        }
    }

    #[test]
    fn legacy_blobs_are_resealed_bound_to_their_row() {
        let c = CredentialCipher::from_key_bytes(&[5u8; 32]).expect("key");
        let legacy = legacy_seal_for_tests(&c, b"old");
        assert!(CredentialCipher::is_legacy(&legacy));
        // Never opened as if it were bound.
        assert!(c.open(&legacy, b"w1/c1").is_err());
        let bound = c.reseal_legacy(&legacy, b"w1/c1").expect("reseal");
        assert!(!CredentialCipher::is_legacy(&bound));
        assert_eq!(c.open(&bound, b"w1/c1").expect("open"), b"old");
    }
}
