//! Personal data at rest (UU 27/2022, PDP): the one place that encrypts and decrypts citizens'
//! phone numbers, addresses, notes and accessibility needs, and that derives the keyed hash a
//! phone number is looked up by.
//!
//! A sealed value is stored as text `pdp1:<key id>:<base64(nonce ‖ ciphertext)>`:
//! XChaCha20-Poly1305 with a random 24-byte nonce per value, so the key id travels with each
//! value and keys can be rotated row by row (`jemput rotate-key`). Text without the prefix is a
//! value written before encryption existed; it is read as it is until `protect_existing` (run at
//! start) seals it.
//!
//! diesel's row conversions have no context to carry a key, so the ring the process was started
//! with is installed once here and read by `db`'s [`Personal`] columns.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::PrivacySettings;

const PREFIX: &str = "pdp1:";
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// The development key the demo and the tests run with (never for real data).
const DEVELOPMENT_KEY_ID: &str = "dev";
const DEVELOPMENT_KEY: &str = "amVtcHV0LWRldmVsb3BtZW50LWtleS0zMi1ieXRlcyE=";
const DEVELOPMENT_LOOKUP_KEY: &str = "amVtcHV0LWRldmVsb3BtZW50LXBob25lLWxvb2t1cC1rZXkh";

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("invalid setting `{setting}`: {reason}")]
    Setting {
        setting: &'static str,
        reason: String,
    },
    #[error("a personal value is sealed under key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("a personal value does not decrypt (wrong key or altered data)")]
    Undecryptable,
    #[error("no encryption keys are installed")]
    NotInstalled,
}

/// The keys a process holds: every key id it can open, the one it seals with, and the key of
/// the phone look-up hash.
#[derive(Clone)]
pub struct KeyRing {
    keys: HashMap<String, [u8; KEY_LEN]>,
    active: String,
    lookup: Vec<u8>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("KeyRing")
            .field("key_ids", &ids)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

fn setting(setting: &'static str, reason: impl Into<String>) -> PrivacyError {
    PrivacyError::Setting {
        setting,
        reason: reason.into(),
    }
}

fn valid_key_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl KeyRing {
    /// The ring `settings` describe; a missing or malformed key names its setting.
    pub fn from_settings(settings: &PrivacySettings) -> Result<Self, PrivacyError> {
        let settings = &with_files(settings)?;
        if settings.keys.is_empty() {
            return Err(setting(
                "privacy.keys",
                "no encryption key is configured: set privacy.keys.<id> to a base64 32-byte key \
                 and privacy.active_key_id to its id (or run `serve --demo`)",
            ));
        }
        let mut keys = HashMap::new();
        for (id, encoded) in &settings.keys {
            if !valid_key_id(id) {
                return Err(setting(
                    "privacy.keys",
                    format!("key id {id:?} must be 1-32 letters, digits or '-'"),
                ));
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| setting("privacy.keys", format!("key {id:?} is not valid base64")))?;
            let key: [u8; KEY_LEN] = bytes
                .try_into()
                .map_err(|_| setting("privacy.keys", format!("key {id:?} must be 32 bytes")))?;
            keys.insert(id.clone(), key);
        }
        if !keys.contains_key(&settings.active_key_id) {
            return Err(setting(
                "privacy.active_key_id",
                format!(
                    "{:?} is not one of the ids in privacy.keys",
                    settings.active_key_id
                ),
            ));
        }
        let lookup = STANDARD
            .decode(settings.lookup_key.trim())
            .map_err(|_| setting("privacy.lookup_key", "is not valid base64"))?;
        if lookup.len() < 32 {
            return Err(setting(
                "privacy.lookup_key",
                "must be at least 32 bytes (base64): it keys the phone look-up hash",
            ));
        }
        Ok(Self {
            keys,
            active: settings.active_key_id.clone(),
            lookup,
        })
    }

    /// The id new values are sealed under.
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// Encrypts `plain` under the active key with a fresh random nonce.
    pub fn seal(&self, plain: &str) -> Result<String, PrivacyError> {
        let key = self
            .keys
            .get(&self.active)
            .ok_or_else(|| PrivacyError::UnknownKey(self.active.clone()))?;
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ciphertext = XChaCha20Poly1305::new(key.into())
            .encrypt(&XNonce::from(nonce), plain.as_bytes())
            .map_err(|_| PrivacyError::Undecryptable)?;
        let mut payload = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&ciphertext);
        Ok(format!(
            "{PREFIX}{}:{}",
            self.active,
            STANDARD.encode(payload)
        ))
    }

    /// The plaintext of a stored value; text written before encryption is returned as it is.
    pub fn open(&self, stored: &str) -> Result<String, PrivacyError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, encoded) = rest.split_once(':').ok_or(PrivacyError::Undecryptable)?;
        let key = self
            .keys
            .get(id)
            .ok_or_else(|| PrivacyError::UnknownKey(id.to_string()))?;
        let payload = STANDARD
            .decode(encoded)
            .map_err(|_| PrivacyError::Undecryptable)?;
        if payload.len() < NONCE_LEN {
            return Err(PrivacyError::Undecryptable);
        }
        let (nonce, ciphertext) = payload.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PrivacyError::Undecryptable)?;
        let plain = XChaCha20Poly1305::new(key.into())
            .decrypt(&XNonce::from(nonce), ciphertext)
            .map_err(|_| PrivacyError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| PrivacyError::Undecryptable)
    }

    /// True when `stored` must be (re)sealed to be under the active key: plaintext, or another key.
    pub fn needs_sealing(&self, stored: &str) -> bool {
        sealed_key_id(stored) != Some(self.active.as_str())
    }

    /// The keyed hash a phone number (E.164) is found by: HMAC-SHA256, hex.
    pub fn phone_hash(&self, phone: &str) -> String {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; `from_settings` also checked this one.
            Err(_) => unreachable!("HMAC accepts any key length"),
        };
        mac.update(phone.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// `settings` with the keys of `keys_dir` and the look-up key of `lookup_key_file` read in.
fn with_files(settings: &PrivacySettings) -> Result<PrivacySettings, PrivacyError> {
    let mut out = settings.clone();
    if !settings.keys_dir.is_empty() {
        let entries = std::fs::read_dir(&settings.keys_dir)
            .map_err(|e| setting("privacy.keys_dir", format!("cannot be read: {e}")))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| setting("privacy.keys_dir", format!("cannot be read: {e}")))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || !entry.path().is_file() {
                continue;
            }
            let key = std::fs::read_to_string(entry.path())
                .map_err(|e| setting("privacy.keys_dir", format!("{name}: {e}")))?;
            out.keys.insert(name, key.trim().to_string());
        }
    }
    if settings.lookup_key.is_empty() && !settings.lookup_key_file.is_empty() {
        out.lookup_key = std::fs::read_to_string(&settings.lookup_key_file)
            .map_err(|e| setting("privacy.lookup_key_file", format!("cannot be read: {e}")))?
            .trim()
            .to_string();
    }
    Ok(out)
}

/// The key id a stored value is sealed under; None for plaintext.
pub fn sealed_key_id(stored: &str) -> Option<&str> {
    stored
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .map(|(id, _)| id)
}

impl PrivacySettings {
    /// The development key the demo and the tests run with.
    pub fn development() -> Self {
        Self {
            active_key_id: DEVELOPMENT_KEY_ID.to_string(),
            keys: HashMap::from([(DEVELOPMENT_KEY_ID.to_string(), DEVELOPMENT_KEY.to_string())]),
            lookup_key: DEVELOPMENT_LOOKUP_KEY.to_string(),
            ..Self::default()
        }
    }

    /// True when no encryption key is configured.
    pub fn is_unset(&self) -> bool {
        self.keys.is_empty()
    }
}

static RING: RwLock<Option<Arc<KeyRing>>> = RwLock::new(None);

/// Makes `ring` the process's ring. Keys installed earlier stay readable (a second service in
/// one process, as the tests start, may add keys); a key id may never change its key, and the
/// look-up key never changes, or rows already written could not be found or opened.
pub fn install(ring: &KeyRing) -> Result<(), PrivacyError> {
    let mut slot = RING
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let merged = match slot.as_deref() {
        None => ring.clone(),
        Some(old) => {
            if old.lookup != ring.lookup {
                return Err(setting(
                    "privacy.lookup_key",
                    "differs from the key this process already uses",
                ));
            }
            let mut keys = old.keys.clone();
            for (id, key) in &ring.keys {
                if keys.get(id).is_some_and(|k| k != key) {
                    return Err(setting(
                        "privacy.keys",
                        format!("key {id:?} differs from the key of that id already in use"),
                    ));
                }
                keys.insert(id.clone(), *key);
            }
            KeyRing {
                keys,
                active: ring.active.clone(),
                lookup: ring.lookup.clone(),
            }
        }
    };
    *slot = Some(Arc::new(merged));
    Ok(())
}

/// The installed ring.
pub fn ring() -> Result<Arc<KeyRing>, PrivacyError> {
    RING.read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
        .ok_or(PrivacyError::NotInstalled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_with(id: &str, key: [u8; 32]) -> KeyRing {
        KeyRing::from_settings(&PrivacySettings {
            active_key_id: id.into(),
            keys: HashMap::from([(id.to_string(), STANDARD.encode(key))]),
            lookup_key: STANDARD.encode([7u8; 32]),
            ..PrivacySettings::default()
        })
        .unwrap()
    }

    #[test]
    fn sealed_values_open_to_what_was_sealed() {
        let ring = ring_with("k1", [1; 32]);
        let sealed = ring.seal("Jl. Wates km 5, RT 02").unwrap();
        assert!(sealed.starts_with("pdp1:k1:"), "{sealed}");
        assert!(!sealed.contains("Wates"));
        assert_eq!(ring.open(&sealed).unwrap(), "Jl. Wates km 5, RT 02");
        // A fresh nonce each time: equal plaintexts are not equal at rest.
        assert_ne!(ring.seal("same").unwrap(), ring.seal("same").unwrap());
    }

    #[test]
    fn a_wrong_key_is_an_error() {
        let sealed = ring_with("k1", [1; 32]).seal("secret").unwrap();
        let other = ring_with("k1", [2; 32]);
        assert!(matches!(
            other.open(&sealed),
            Err(PrivacyError::Undecryptable)
        ));
        let unknown = ring_with("k2", [1; 32]);
        assert!(matches!(
            unknown.open(&sealed),
            Err(PrivacyError::UnknownKey(id)) if id == "k1"
        ));
    }

    #[test]
    fn tampered_or_truncated_values_are_errors() {
        let ring = ring_with("k1", [1; 32]);
        let sealed = ring.seal("bedridden, needs a ramp").unwrap();
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut bytes = STANDARD.decode(body).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{head}:{}", STANDARD.encode(&bytes));
        assert!(ring.open(&tampered).is_err());
        assert!(ring.open("pdp1:k1:AAAA").is_err());
        assert!(ring.open("pdp1:k1:not base64!").is_err());
        assert!(ring.open("pdp1:k1").is_err());
    }

    #[test]
    fn plaintext_from_before_encryption_reads_as_it_is() {
        let ring = ring_with("k1", [1; 32]);
        assert_eq!(ring.open("Jl. Lama 1").unwrap(), "Jl. Lama 1");
        assert!(ring.needs_sealing("Jl. Lama 1"));
        assert!(!ring.needs_sealing(&ring.seal("x").unwrap()));
        assert!(ring_with("k2", [1; 32]).needs_sealing(&ring.seal("x").unwrap()));
    }

    #[test]
    fn phone_hashes_are_keyed_and_stable() {
        let a = ring_with("k1", [1; 32]);
        let b = ring_with("k2", [2; 32]);
        // The look-up key, not the encryption key, decides the hash: rotation keeps look-ups.
        assert_eq!(
            a.phone_hash("+6281234567890"),
            b.phone_hash("+6281234567890")
        );
        assert_ne!(
            a.phone_hash("+6281234567890"),
            a.phone_hash("+6281234567891")
        );
        assert_eq!(a.phone_hash("+6281234567890").len(), 64);
    }

    #[test]
    fn keys_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir(&keys).unwrap();
        std::fs::write(keys.join("k7"), format!("{}\n", STANDARD.encode([7u8; 32]))).unwrap();
        std::fs::write(keys.join(".hidden"), "not a key").unwrap();
        let lookup = dir.path().join("lookup");
        std::fs::write(&lookup, STANDARD.encode([8u8; 32])).unwrap();
        let ring = KeyRing::from_settings(&PrivacySettings {
            active_key_id: "k7".into(),
            keys_dir: keys.to_string_lossy().to_string(),
            lookup_key_file: lookup.to_string_lossy().to_string(),
            ..PrivacySettings::default()
        })
        .unwrap();
        let same_key = ring_with("k7", [7; 32]);
        assert_eq!(same_key.open(&ring.seal("x").unwrap()).unwrap(), "x");
        let missing = KeyRing::from_settings(&PrivacySettings {
            keys_dir: "/nonexistent/keys".into(),
            ..PrivacySettings::development()
        })
        .unwrap_err();
        assert!(
            missing.to_string().contains("privacy.keys_dir"),
            "{missing}"
        );
    }

    #[test]
    fn settings_errors_name_the_setting() {
        let none = KeyRing::from_settings(&PrivacySettings::default()).unwrap_err();
        assert!(none.to_string().contains("privacy.keys"), "{none}");
        let mut s = PrivacySettings::development();
        s.active_key_id = "other".into();
        let err = KeyRing::from_settings(&s).unwrap_err();
        assert!(err.to_string().contains("privacy.active_key_id"), "{err}");
        let mut s = PrivacySettings::development();
        s.keys.insert("short".into(), STANDARD.encode([1u8; 16]));
        let err = KeyRing::from_settings(&s).unwrap_err();
        assert!(err.to_string().contains("32 bytes"), "{err}");
        KeyRing::from_settings(&PrivacySettings::development()).unwrap();
    }
}
