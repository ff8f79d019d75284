//! Sensor identities and their tokens.
//!
//! `STATE/sensors.json` lists the sensors, each with the SHA-256 of its
//! token (tokens are 256 random bits, so a fast hash is enough; the token
//! itself is printed once when the sensor is added and never stored).
//! The file is replaced atomically on every change, and the running
//! collector reloads it when its modification time changes, so sensors are
//! added and revoked without a restart.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::state_file::write_atomically;

/// The file name under the state folder.
pub const SENSORS_FILE: &str = "sensors.json";

/// One sensor's entry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SensorEntry {
    /// The sensor id.
    pub name: String,
    /// Hex SHA-256 of the token.
    pub token_sha256: String,
    /// When it was added (RFC 3339).
    pub added: String,
    /// Revoked sensors are refused.
    #[serde(default)]
    pub revoked: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SensorsFile {
    sensors: Vec<SensorEntry>,
}

/// Problems with the sensor list.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The name is not a valid sensor id.
    #[error("`{0}` is not a valid sensor id: use 1–64 letters, digits, `.`, `_` or `-`")]
    BadName(String),
    /// The sensor exists and is active.
    #[error("sensor `{0}` already exists; revoke it first to issue a new token")]
    Exists(String),
    /// No such sensor.
    #[error("no sensor `{0}`")]
    Unknown(String),
    /// Reading or writing the list failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The list is not valid JSON of the expected shape.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
}

/// Whether `name` is a valid sensor id (`[A-Za-z0-9._-]{1,64}`).
pub fn valid_sensor_id(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn read(path: &Path) -> Result<SensorsFile, TokenError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| TokenError::Corrupt { path: path.to_path_buf(), message: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SensorsFile::default()),
        Err(source) => Err(TokenError::Io { path: path.to_path_buf(), source }),
    }
}

fn write(path: &Path, file: &SensorsFile) -> Result<(), TokenError> {
    let bytes = serde_json::to_vec_pretty(file).expect("the sensor list always serialises");
    write_atomically(path, &bytes).map_err(|source| TokenError::Io { path: path.to_path_buf(), source })
}

/// Add a sensor and return its new token (shown once, stored only hashed).
pub fn add_sensor(state_dir: &Path, name: &str) -> Result<String, TokenError> {
    if !valid_sensor_id(name) {
        return Err(TokenError::BadName(name.into()));
    }
    let path = state_dir.join(SENSORS_FILE);
    let mut file = read(&path)?;
    if file.sensors.iter().any(|s| s.name == name && !s.revoked) {
        return Err(TokenError::Exists(name.into()));
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("njs_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
    file.sensors.retain(|s| s.name != name);
    file.sensors.push(SensorEntry {
        name: name.into(),
        token_sha256: hash(&token),
        added: chrono::Utc::now().to_rfc3339(),
        revoked: false,
    });
    fs::create_dir_all(state_dir).map_err(|source| TokenError::Io { path: state_dir.into(), source })?;
    write(&path, &file)?;
    Ok(token)
}

/// Revoke a sensor: its token stops working at once.
pub fn revoke_sensor(state_dir: &Path, name: &str) -> Result<(), TokenError> {
    let path = state_dir.join(SENSORS_FILE);
    let mut file = read(&path)?;
    let entry = file.sensors.iter_mut().find(|s| s.name == name).ok_or_else(|| TokenError::Unknown(name.into()))?;
    entry.revoked = true;
    write(&path, &file)
}

/// Every sensor in the list, revoked ones included.
pub fn list_sensors(state_dir: &Path) -> Result<Vec<SensorEntry>, TokenError> {
    Ok(read(&state_dir.join(SENSORS_FILE))?.sensors)
}

/// Token checks for the running collector, reloading the list when it changes.
#[derive(Debug)]
pub struct TokenDirectory {
    path: PathBuf,
    cached: RwLock<(Option<SystemTime>, HashMap<String, String>)>,
}

impl TokenDirectory {
    /// Token checks against `STATE/sensors.json`.
    pub fn new(state_dir: &Path) -> Self {
        TokenDirectory { path: state_dir.join(SENSORS_FILE), cached: RwLock::new((None, HashMap::new())) }
    }

    /// The sensor a token belongs to, if it is valid and not revoked.
    pub fn sensor_for(&self, token: &str) -> Result<Option<String>, TokenError> {
        let modified = fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        let stale = self.cached.read().map(|c| c.0 != modified || modified.is_none()).unwrap_or(true);
        if stale {
            let file = read(&self.path)?;
            let active = file.sensors.into_iter().filter(|s| !s.revoked).map(|s| (s.token_sha256, s.name)).collect();
            if let Ok(mut cached) = self.cached.write() {
                *cached = (modified, active);
            }
        }
        let digest = hash(token);
        Ok(self.cached.read().ok().and_then(|c| c.1.get(&digest).cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_work_until_revoked_and_are_stored_only_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let directory = TokenDirectory::new(dir.path());
        let token = add_sensor(dir.path(), "tokyo-1").unwrap();
        assert!(token.starts_with("njs_") && token.len() > 40);
        assert_eq!(directory.sensor_for(&token).unwrap().as_deref(), Some("tokyo-1"));
        assert_eq!(directory.sensor_for("njs_wrong").unwrap(), None);
        let stored = fs::read_to_string(dir.path().join(SENSORS_FILE)).unwrap();
        assert!(!stored.contains(&token), "the token itself is never stored");
        assert!(matches!(add_sensor(dir.path(), "tokyo-1"), Err(TokenError::Exists(_))));

        // Revocation is seen without reopening the directory. File times can
        // be coarse, so wait until the change is visible as one.
        std::thread::sleep(std::time::Duration::from_millis(20));
        revoke_sensor(dir.path(), "tokyo-1").unwrap();
        assert_eq!(directory.sensor_for(&token).unwrap(), None);
        // A new token can be issued after revocation; the old one stays dead.
        let fresh = add_sensor(dir.path(), "tokyo-1").unwrap();
        assert_eq!(directory.sensor_for(&fresh).unwrap().as_deref(), Some("tokyo-1"));
        assert_eq!(directory.sensor_for(&token).unwrap(), None);
    }

    #[test]
    fn bad_names_and_unknown_sensors_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(add_sensor(dir.path(), "has space"), Err(TokenError::BadName(_))));
        assert!(matches!(add_sensor(dir.path(), ""), Err(TokenError::BadName(_))));
        assert!(matches!(revoke_sensor(dir.path(), "ghost"), Err(TokenError::Unknown(_))));
    }
}
