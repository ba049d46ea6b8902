//! Customer secrets (GitHub tokens) encrypted at rest with ChaCha20-Poly1305: a random 96-bit
//! nonce per encryption, the tenant id as associated data (a ciphertext moved to another
//! tenant's row does not decrypt), stored as `v1:<hex nonce || ciphertext || tag>`. The key is
//! 32 bytes from `WAOOAW_MASTER_KEY` (hex or base64-free hex only, to keep one encoding) or a
//! key file created once in the data directory with mode 0600.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use std::path::Path;

const PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SecretError {
    #[error("the master key must be 64 hex characters (32 bytes): {0}")]
    BadKey(String),
    #[error("the stored secret is not in the `v1:<hex>` format")]
    Format,
    #[error("the stored secret does not decrypt with this master key for this tenant (wrong key, or tampered with)")]
    Decrypt,
    #[error("key file {path}: {error}")]
    KeyFile { path: String, error: String },
}

/// The master key. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey(Key);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

impl MasterKey {
    pub fn from_hex(text: &str) -> Result<Self, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|e| SecretError::BadKey(e.to_string()))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|v: Vec<u8>| SecretError::BadKey(format!("{} bytes", v.len())))?;
        Ok(Self(Key::from(bytes)))
    }

    /// `WAOOAW_MASTER_KEY` when given, else the key file in `dir` (created on first use).
    pub fn load(env_value: Option<&str>, dir: &Path) -> Result<Self, SecretError> {
        if let Some(v) = env_value {
            return Self::from_hex(v);
        }
        let path = dir.join("master.key");
        let err = |e: std::io::Error| SecretError::KeyFile { path: path.display().to_string(), error: e.to_string() };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                use std::io::Write;
                opts.open(&path).and_then(|mut f| f.write_all(hex::encode(bytes).as_bytes())).map_err(err)?;
                Ok(Self(Key::from(bytes)))
            }
            Err(e) => Err(err(e)),
        }
    }

    pub fn encrypt(&self, tenant: &str, secret: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = ChaCha20Poly1305::new(&self.0);
        // Encryption of a short in-memory buffer cannot fail (only too-long inputs can).
        let sealed =
            cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: secret.as_bytes(), aad: tenant.as_bytes() }).unwrap_or_default();
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", hex::encode(out))
    }

    pub fn decrypt(&self, tenant: &str, stored: &str) -> Result<String, SecretError> {
        let bytes = stored.strip_prefix(PREFIX).and_then(|h| hex::decode(h).ok()).ok_or(SecretError::Format)?;
        if bytes.len() < 12 + 16 {
            return Err(SecretError::Format);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = ChaCha20Poly1305::new(&self.0)
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: tenant.as_bytes() })
            .map_err(|_| SecretError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| SecretError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "8f3a1c2e9b7d4f6a0c5e8b1d3f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d0f2a";

    #[test]
    fn round_trip_bound_to_the_tenant_and_the_key() {
        let k = MasterKey::from_hex(KEY).unwrap();
        let token = "ghp_R4nd0mT0k3nF0rT3st1ng0nly0000000000";
        let a = k.encrypt("tenant-a", token);
        let b = k.encrypt("tenant-a", token);
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("ghp_") && !a.contains(&hex::encode(token)));
        assert_eq!(k.decrypt("tenant-a", &a).unwrap(), token);
        assert_eq!(k.decrypt("tenant-b", &a), Err(SecretError::Decrypt), "another tenant's row");
        let other = MasterKey::from_hex(&KEY.replace('8', "7")).unwrap();
        assert_eq!(other.decrypt("tenant-a", &a), Err(SecretError::Decrypt), "another key");
        assert_eq!(k.decrypt("tenant-a", "plaintext"), Err(SecretError::Format));
        assert_eq!(k.decrypt("tenant-a", "v1:00ff"), Err(SecretError::Format));
        assert!(matches!(MasterKey::from_hex("abc"), Err(SecretError::BadKey(_))));
        assert!(matches!(MasterKey::from_hex(&KEY[..62]), Err(SecretError::BadKey(_))));
        assert_eq!(format!("{k:?}"), "MasterKey(redacted)");
    }

    #[test]
    fn the_key_file_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = MasterKey::load(None, dir.path()).unwrap();
        let sealed = k1.encrypt("t", "secret");
        let k2 = MasterKey::load(None, dir.path()).unwrap();
        assert_eq!(k2.decrypt("t", &sealed).unwrap(), "secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
