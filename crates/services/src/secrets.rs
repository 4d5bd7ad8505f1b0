//! Sealing secrets at rest (activation keys, secret-bearing idempotent responses) with an AEAD whose key lives
//! outside the database: a file in the data folder (created on first start, mode 0600) or an environment variable.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;

pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// Keys the fingerprints of secrets (derived from the secret key, so a stolen database cannot test guesses).
    fingerprint_key: [u8; 32],
}

const NONCE_LEN: usize = 24;

impl SecretBox {
    pub fn from_key(key: [u8; 32]) -> SecretBox {
        use sha2::{Digest, Sha256};
        let fingerprint_key: [u8; 32] =
            Sha256::new().chain_update(b"partnerhub-fingerprint\0").chain_update(key).finalize().into();
        SecretBox { cipher: XChaCha20Poly1305::new(&key.into()), fingerprint_key }
    }

    /// A base64 key (from `PARTNERHUB_SECRET_KEY`).
    pub fn from_base64(s: &str) -> Result<SecretBox, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| "the secret key must be base64".to_string())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "the secret key must be 32 bytes".to_string())?;
        Ok(SecretBox::from_key(key))
    }

    /// Reads the key file, creating it with a fresh random key when missing.
    pub fn from_file(path: &Path) -> Result<SecretBox, String> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return SecretBox::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()));
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        write_private(path, &base64::engine::general_purpose::STANDARD.encode(key))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(SecretBox::from_key(key))
    }

    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and a fresh nonce cannot fail.
        out.extend(self.cipher.encrypt(XNonce::from_slice(&nonce), plain).unwrap_or_default());
        out
    }

    /// A keyed SHA-256 of a secret: equal secrets give equal fingerprints, without storing the secret.
    pub fn fingerprint(&self, secret: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::new().chain_update(self.fingerprint_key).chain_update(secret).finalize())
    }

    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher.decrypt(XNonce::from_slice(nonce), body).ok()
    }
}

impl crate::Services {
    /// Ties the secret key to the database on first use, and refuses a different key later: sealing or
    /// fingerprinting keys under the wrong key would make them unreadable and let duplicates through.
    #[tracing::instrument(skip_all)]
    pub async fn check_secret_key(&self) -> crate::Result<()> {
        let check = self.secrets.fingerprint(b"partnerhub secret key check");
        let stored = self.store.setting_or_insert("secret_key_check", &check).await?;
        if stored != check {
            return Err(crate::Error::Internal(
                "the secret key does not belong to this database: use the secret.key file (or \
                 PARTNERHUB_SECRET_KEY) that was used with it before (check --data-dir)"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let b = SecretBox::from_key([7; 32]);
        let sealed = b.seal(b"XXXXX-XXXXX");
        assert_ne!(&sealed[NONCE_LEN..], b"XXXXX-XXXXX");
        assert_eq!(b.open(&sealed).unwrap(), b"XXXXX-XXXXX");
        assert!(SecretBox::from_key([8; 32]).open(&sealed).is_none());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(b.open(&tampered).is_none());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("ph-secret-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secret.key");
        let a = SecretBox::from_file(&path).unwrap();
        let b = SecretBox::from_file(&path).unwrap();
        assert_eq!(b.open(&a.seal(b"k")).unwrap(), b"k");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
