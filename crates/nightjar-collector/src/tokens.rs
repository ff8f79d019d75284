//! Sensor identities and their tokens.
//!
//! `STATE/sensors.json` lists the sensors, each with the SHA-256 of its token (tokens are
//! 256 random bits, so a fast hash is enough; the token itself is printed once when the
//! sensor is added and never stored):
//!
//! ```json
//! {"sensors": [{"name": "tokyo-1", "token_sha256": "3f0c…(64 hex digits)",
//!               "added": "2026-11-20T08:00:00+00:00", "revoked": false}]}
//! ```
//!
//! Every change (`add-sensor`, `revoke-sensor`) takes the file's lock (`.sensors.json.lock`
//! beside it), reads the file again, changes it and replaces it atomically, so commands
//! running at once keep each other's changes. The running collector follows the file (see
//! [`nightjar_ops::ReloadingFile`]): a sensor added or revoked counts from the first request
//! after the command returned, without a restart.

use std::path::Path;

use nightjar_ops::{NameRule, StateFileError, TokenChecker, TokenDigest, TokenFormat, TokenStore, TokenTable};
use serde::{Deserialize, Serialize};

/// The file name under the state folder.
pub const SENSORS_FILE: &str = "sensors.json";

/// Sensor tokens start with this, so a token pasted in the wrong place is recognisable.
const TOKEN_PREFIX: &str = "njs_";

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
    /// The list could not be read, locked, written, or is not a valid sensor list.
    #[error(transparent)]
    File(#[from] StateFileError),
}

/// Why `sensors.json` is not a valid sensor list.
#[derive(Debug, thiserror::Error)]
enum SensorListError {
    /// Not JSON of the expected shape.
    #[error("not JSON of the form {{\"sensors\": [{{\"name\": …, \"token_sha256\": …, \"added\": …}}]}}")]
    Json(#[source] serde_json::Error),
    /// An active sensor's hash is not 64 hex digits.
    #[error("the token_sha256 of sensor `{0}` is not 64 hex digits")]
    BadDigest(String),
}

/// The layout of `sensors.json`.
enum SensorsJson {}

impl TokenFormat for SensorsJson {
    type Contents = SensorsFile;
    type ParseError = SensorListError;
    const WHAT: &'static str = "a valid sensor list";
    const NEW_FILE_MODE: u32 = nightjar_ops::READABLE_BY_ALL;

    fn empty() -> SensorsFile {
        SensorsFile::default()
    }

    fn parse(bytes: &[u8]) -> Result<SensorsFile, SensorListError> {
        let file: SensorsFile = serde_json::from_slice(bytes).map_err(SensorListError::Json)?;
        if let Some(bad) = file.sensors.iter().find(|s| !s.revoked && TokenDigest::from_hex(&s.token_sha256).is_none())
        {
            return Err(SensorListError::BadDigest(bad.name.clone()));
        }
        Ok(file)
    }

    fn render(file: &SensorsFile) -> Vec<u8> {
        serde_json::to_vec_pretty(file).expect("the sensor list always serialises")
    }

    fn accepted(file: &SensorsFile) -> TokenTable {
        file.sensors
            .iter()
            .filter(|s| !s.revoked)
            .filter_map(|s| Some((s.name.clone(), TokenDigest::from_hex(&s.token_sha256)?)))
            .collect()
    }
}

fn store(state_dir: &Path) -> TokenStore<SensorsJson> {
    TokenStore::new(&state_dir.join(SENSORS_FILE))
}

/// Whether `name` is a valid sensor id (`[A-Za-z0-9._-]{1,64}`).
pub fn valid_sensor_id(name: &str) -> bool {
    NameRule::Sensor.allows(name)
}

/// Add a sensor and return its new token (shown once, stored only hashed).
pub fn add_sensor(state_dir: &Path, name: &str) -> Result<String, TokenError> {
    if !valid_sensor_id(name) {
        return Err(TokenError::BadName(name.into()));
    }
    store(state_dir).update(|file| {
        if file.sensors.iter().any(|s| s.name == name && !s.revoked) {
            return Err(TokenError::Exists(name.into()));
        }
        let token = nightjar_ops::new_token(TOKEN_PREFIX);
        file.sensors.retain(|s| s.name != name);
        file.sensors.push(SensorEntry {
            name: name.into(),
            token_sha256: TokenDigest::of(&token).to_hex(),
            added: chrono::Utc::now().to_rfc3339(),
            revoked: false,
        });
        Ok(token)
    })
}

/// Revoke a sensor: its token is refused from the first request after this returns.
pub fn revoke_sensor(state_dir: &Path, name: &str) -> Result<(), TokenError> {
    store(state_dir).update(|file| {
        let entry = file.sensors.iter_mut().find(|s| s.name == name).ok_or_else(|| TokenError::Unknown(name.into()))?;
        entry.revoked = true;
        Ok(())
    })
}

/// Every sensor in the list, revoked ones included.
pub fn list_sensors(state_dir: &Path) -> Result<Vec<SensorEntry>, TokenError> {
    Ok(store(state_dir).read()?.sensors)
}

/// Token checks for the running collector, following `STATE/sensors.json` as it changes.
#[derive(Debug)]
pub struct TokenDirectory {
    checker: TokenChecker<SensorsJson>,
}

impl TokenDirectory {
    /// Token checks against `STATE/sensors.json` (a missing file lets no sensor in).
    pub fn new(state_dir: &Path) -> Self {
        TokenDirectory { checker: TokenChecker::new(&state_dir.join(SENSORS_FILE)) }
    }

    /// The sensor a token belongs to, if it is valid and not revoked.
    pub fn sensor_for(&self, token: &str) -> Result<Option<String>, TokenError> {
        Ok(self.checker.name_for(token)?)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

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

        // Revocation is seen without reopening the directory, even within the file system
        // clock's tick of the addition.
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

    #[test]
    fn a_list_written_before_the_shared_store_is_read_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let hash = TokenDigest::of("njs_old").to_hex();
        let old = format!(
            "{{\n  \"sensors\": [\n    {{\n      \"name\": \"osaka-1\",\n      \"token_sha256\": \"{hash}\",\n      \
             \"added\": \"2026-11-20T08:00:00+00:00\"\n    }}\n  ]\n}}"
        );
        fs::write(dir.path().join(SENSORS_FILE), old).unwrap();
        let directory = TokenDirectory::new(dir.path());
        assert_eq!(directory.sensor_for("njs_old").unwrap().as_deref(), Some("osaka-1"));
        add_sensor(dir.path(), "kobe-1").unwrap();
        let listed = list_sensors(dir.path()).unwrap();
        assert_eq!(listed[0].token_sha256, hash);
        assert_eq!(listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["osaka-1", "kobe-1"]);
    }

    #[test]
    fn a_corrupt_list_names_the_file_and_the_cause_is_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SENSORS_FILE);
        fs::write(&path, "{\"sensors\": [{\"name\": \"a\", \"token_sha256\": \"xyz\", \"added\": \"\"}]}").unwrap();
        let error = add_sensor(dir.path(), "b").unwrap_err();
        assert_eq!(error.to_string(), format!("{} is not a valid sensor list", path.display()));
        let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains("sensor `a`"), "{cause}");
        assert!(TokenDirectory::new(dir.path()).sensor_for("njs_x").is_err());
    }
}
