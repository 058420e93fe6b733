//! Where the hub's keys live: in the database (`identity_keys`), each sealed with
//! ChaCha20-Poly1305 under the operator's key-encryption key (KEK), a file that is never
//! in the database (`key_encryption_key_file`, by default `<data_dir>/key-encryption.key`).
//! Every replica on one database with the same KEK file has the same keys: tokens issued
//! through one work on all, and all sign with the one public key.
//!
//! At the first start on a database that holds no identity, the key files of a hub made
//! before (`hub-signing-key.pk8`, `token-hmac.key`, `audit-hmac.key` in the data folder)
//! are imported, or new keys made; the KEK file is made then if there is none. Once the
//! database holds an identity nothing is ever made again: a process without the KEK, with
//! another KEK, or with a data folder whose old key files are not the database's keys
//! refuses to start, saying what to do.
//!
//! `hub_meta` names the current signing key (`signing_key_id`, the fingerprint of its
//! public key) and the token key (`token_key_id`); the audit key's id is `audit_key_id`
//! (`services::audit::prepare_chain`). A rotation (`services::identity::rotate`) adds a
//! signing key that signs from a sequence number on; writers call [`HubKeys::follow`]
//! under the write lock, which reads the current key's id once and, when another replica
//! (or the command line) rotated, unseals the new key and signs with it from then on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use diesel::prelude::*;
use renkei_schema::sign::SigningKey;

use crate::config::Config;
use crate::crypto::{
    constant_time_eq, random_bytes, read_secret, write_secret, ActiveKey, HubKeys, Kek, KeyError, AUDIT_KEY_FILE,
    SIGNING_KEY_FILE, TOKEN_KEY_FILE,
};
use crate::error::{AppError, AppResult, Code};
use crate::store::models::IdentityKeyRow;
use crate::store::schema::{hub_meta, identity_keys, object_versions};
use crate::store::{acquire_write_lock, now_text, DbConn};

/// The purposes of the hub's keys (`identity_keys.purpose`).
pub const SIGNING: &str = "signing";
pub const TOKEN: &str = "token";
pub const AUDIT: &str = "audit";

/// Where `hub_meta` names the current signing key and the token key.
pub const SIGNING_META: &str = "signing_key_id";
pub const TOKEN_META: &str = "token_key_id";
/// Where `services::audit::prepare_chain` records the audit key's id.
const AUDIT_META: &str = "audit_key_id";

/// Where a process finds what is not in the database: the KEK file, and the data folder
/// that may hold a hub's old key files.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    pub data_dir: PathBuf,
    pub kek_file: PathBuf,
}

impl KeyFiles {
    pub fn of(config: &Config) -> KeyFiles {
        KeyFiles { data_dir: config.data_dir.clone(), kek_file: config.key_encryption_key_path() }
    }
}

/// Whether a process may make a new identity for a database that holds none (the
/// server and writing commands may; commands that only read may not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenMissing {
    Create,
    Refuse,
}

/// The associated data a key is sealed with: the hub, the key's purpose and its id, so
/// sealed material cannot be passed off as another key.
fn aad(hub_id: &str, purpose: &str, id: &str) -> Vec<u8> {
    format!("renkei hub key v1\0{hub_id}\0{purpose}\0{id}").into_bytes()
}

fn refused(en: String, ja: String) -> KeyError {
    KeyError::Refused { en, ja }
}

fn no_kek(path: &Path) -> KeyError {
    let p = path.display();
    refused(
        format!(
            "HUB_KEY_MISMATCH: the database holds this hub's keys, sealed under a key-encryption key, but there is none at {p}. \
             Copy key-encryption.key from the first replica (the host where the hub's keys were made) to that path, \
             or set key_encryption_key_file (RENKEI_KEY_ENCRYPTION_KEY_FILE) to where it is. \
             No new keys are made for a database that has them."
        ),
        format!(
            "HUB_KEY_MISMATCH: データベースにはこのハブの鍵が鍵暗号化鍵で封印されて保存されていますが、{p} に鍵暗号化鍵がありません。\
             最初のレプリカ（ハブの鍵を作成したホスト）の key-encryption.key をこのパスにコピーするか、\
             key_encryption_key_file（RENKEI_KEY_ENCRYPTION_KEY_FILE）でその場所を指定してください。\
             鍵を持つデータベースに新しい鍵は作りません。"
        ),
    )
}

fn wrong_kek(path: &Path) -> KeyError {
    let p = path.display();
    refused(
        format!(
            "HUB_KEY_MISMATCH: the key-encryption key at {p} does not open this hub's keys in the database: \
             it is another hub's, or was replaced. Copy key-encryption.key from the first replica to that path, \
             or set key_encryption_key_file (RENKEI_KEY_ENCRYPTION_KEY_FILE) to the hub's own."
        ),
        format!(
            "HUB_KEY_MISMATCH: {p} の鍵暗号化鍵ではデータベースにあるこのハブの鍵を開けません（別のハブの鍵か、置き換えられた鍵です）。\
             最初のレプリカの key-encryption.key をこのパスにコピーするか、\
             key_encryption_key_file（RENKEI_KEY_ENCRYPTION_KEY_FILE）でハブ自身の鍵暗号化鍵を指定してください。"
        ),
    )
}

fn other_folder(file: &Path) -> KeyError {
    let f = file.display();
    refused(
        format!(
            "HUB_KEY_MISMATCH: {f} is not one of this hub's keys in the database: the data folder belongs to another hub. \
             Start with the hub's own data folder (--data-dir), or move the old key files out of it \
             (the hub's keys are in the database now; the files are no longer read)."
        ),
        format!(
            "HUB_KEY_MISMATCH: {f} はデータベースにあるこのハブの鍵ではありません（データフォルダーが別のハブのものです）。\
             ハブ自身のデータフォルダー（--data-dir）で起動するか、古い鍵ファイルを移動してください\
             （ハブの鍵は現在データベースにあり、鍵ファイルは使われません）。"
        ),
    )
}

fn damaged(what: &str) -> KeyError {
    refused(
        format!("HUB_KEY_MISMATCH: the hub's {what} in the database is damaged or missing; restore the database from a backup"),
        format!("HUB_KEY_MISMATCH: データベースにあるハブの{what}が壊れているか、ありません。バックアップから復元してください"),
    )
}

/// The mismatch a writer meets when it may not sign (see [`HubKeys::follow`]).
fn mismatch() -> AppError {
    AppError::new(
        Code::HubKeyMismatch,
        "this process cannot sign with the hub's current key (not in the database, or sealed under another key-encryption key); nothing was written",
        "このプロセスはハブの現在の鍵で署名できません（データベースにないか、別の鍵暗号化鍵で封印されています）。何も書き込んでいません",
    )
}

/// The id `hub_meta` gives the current signing key, if the database holds an identity.
pub fn current_signing_id(conn: &mut DbConn) -> QueryResult<Option<String>> {
    hub_meta::table.find(SIGNING_META).select(hub_meta::value).first(conn).optional()
}

/// The KEK in a file, None if there is no file.
fn read_kek(path: &Path) -> Result<Option<Kek>, KeyError> {
    if !path.exists() {
        return Ok(None);
    }
    let content = read_secret(path)?;
    Kek::parse_file(&content).map(Some).ok_or_else(|| {
        let p = path.display();
        refused(
            format!("the key-encryption key file {p} holds neither 32 bytes nor 64 hex digits"),
            format!("鍵暗号化鍵ファイル {p} の内容が32バイトでも16進64桁でもありません"),
        )
    })
}

/// Makes a KEK file (32 random bytes, readable by the hub's user only).
fn create_kek(path: &Path) -> Result<Kek, KeyError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|source| KeyError::Io { path: parent.display().to_string(), source })?;
    }
    let bytes = random_bytes::<32>()?;
    write_secret(path, &bytes)?;
    Kek::from_bytes(&bytes).ok_or(KeyError::Rng)
}

/// The key files of a hub made before the keys moved into the database.
#[derive(Default)]
struct OldFiles {
    signing: Option<(SigningKey, Vec<u8>)>,
    token: Option<Vec<u8>>,
    audit: Option<Vec<u8>>,
}

impl OldFiles {
    fn read(data_dir: &Path) -> Result<OldFiles, KeyError> {
        let mut files = OldFiles::default();
        let path = data_dir.join(SIGNING_KEY_FILE);
        if path.exists() {
            let pkcs8 = read_secret(&path)?;
            let key = SigningKey::from_pkcs8(&pkcs8).map_err(|_| KeyError::Damaged(path.display().to_string()))?;
            files.signing = Some((key, pkcs8));
        }
        for (name, slot) in [(TOKEN_KEY_FILE, &mut files.token), (AUDIT_KEY_FILE, &mut files.audit)] {
            let path = data_dir.join(name);
            if path.exists() {
                let key = read_secret(&path)?;
                if key.len() != 32 {
                    return Err(KeyError::Damaged(path.display().to_string()));
                }
                *slot = Some(key);
            }
        }
        Ok(files)
    }

    fn any(&self) -> bool {
        self.signing.is_some() || self.token.is_some() || self.audit.is_some()
    }
}

/// The hub's keys for a process: loaded from the database and unsealed with the KEK; at
/// the first start on a database with no identity, imported from the data folder's old
/// key files or (with `WhenMissing::Create`) made. See the module's documentation for
/// what is refused.
pub fn open(conn: &mut DbConn, files: &KeyFiles, hub_id: &str, missing: WhenMissing) -> Result<HubKeys, KeyError> {
    if current_signing_id(conn)?.is_none() {
        create(conn, files, hub_id, missing)?;
    }
    load(conn, files, hub_id)
}

/// Stores the hub's first identity (imported or new) unless another process stored one
/// meanwhile; the KEK file is made here if there is none.
fn create(conn: &mut DbConn, files: &KeyFiles, hub_id: &str, missing: WhenMissing) -> Result<(), KeyError> {
    let old = OldFiles::read(&files.data_dir)?;
    conn.transaction(|c| -> Result<(), KeyError> {
        acquire_write_lock(c)?;
        if current_signing_id(c)?.is_some() {
            // Another replica made it first: this process loads it (with the KEK).
            return Ok(());
        }
        let audit_keyed: Option<String> = hub_meta::table.find(AUDIT_META).select(hub_meta::value).first(c).optional()?;
        let signed: i64 = object_versions::table.count().get_result(c)?;
        if old.signing.is_none() {
            let dir = files.data_dir.display();
            if audit_keyed.is_some() || signed > 0 {
                return Err(refused(
                    format!(
                        "HUB_KEY_MISMATCH: this database holds a hub's signed data but no keys, and {dir} holds no key files \
                         ({SIGNING_KEY_FILE}, {TOKEN_KEY_FILE}, {AUDIT_KEY_FILE}): start the hub (or the command) once with \
                         its own data folder (--data-dir) so its keys are imported. No new keys are made for it."
                    ),
                    format!(
                        "HUB_KEY_MISMATCH: このデータベースには署名済みのハブのデータがありますが鍵がなく、{dir} にも鍵ファイル\
                         （{SIGNING_KEY_FILE}、{TOKEN_KEY_FILE}、{AUDIT_KEY_FILE}）がありません。\
                         ハブ自身のデータフォルダー（--data-dir）で一度起動して鍵を取り込んでください。新しい鍵は作りません。"
                    ),
                ));
            }
            if missing == WhenMissing::Refuse {
                return Err(refused(
                    format!(
                        "no hub keys in this database, nor key files in {dir}: give the hub's database (--database) and data folder (--data-dir)"
                    ),
                    format!(
                        "このデータベースにハブの鍵がなく、{dir} にも鍵ファイルがありません。ハブのデータベース（--database）とデータフォルダー（--data-dir）を指定してください"
                    ),
                ));
            }
        }
        let kek = match read_kek(&files.kek_file)? {
            Some(kek) => kek,
            None => create_kek(&files.kek_file)?,
        };
        let (signing, pkcs8) = match &old.signing {
            Some((_, pkcs8)) => {
                (SigningKey::from_pkcs8(pkcs8).map_err(|_| KeyError::Damaged(SIGNING_KEY_FILE.into()))?, pkcs8.clone())
            }
            None => SigningKey::generate().map_err(|_| KeyError::Rng)?,
        };
        let token = match &old.token {
            Some(k) => k.clone(),
            None => random_bytes::<32>()?.to_vec(),
        };
        let audit = match &old.audit {
            Some(k) => k.clone(),
            None => random_bytes::<32>()?.to_vec(),
        };
        let active = ActiveKey::new(signing);
        let signing_id = active.id.clone();
        let public_key = active.public_key.clone();
        let keys = HubKeys::from_material(active, &token, &audit, kek, hub_id);
        // What the database already holds must be this hub's: the audit chain keyed with
        // this audit key, and the newest version this hub signed verifying with this key.
        if audit_keyed.as_ref().is_some_and(|id| *id != keys.audit_key_id()) {
            return Err(other_folder(&files.data_dir.join(AUDIT_KEY_FILE)));
        }
        let newest: Option<(String, String)> = object_versions::table
            .filter(object_versions::origin.is_null())
            .order(object_versions::seq.desc())
            .select((object_versions::stix, object_versions::signature))
            .first(c)
            .optional()?;
        if let Some((stix, signature)) = newest {
            if renkei_schema::sign::verify_object(&public_key, stix.as_bytes(), &signature).is_err() {
                return Err(other_folder(&files.data_dir.join(SIGNING_KEY_FILE)));
            }
        }
        let now = now_text();
        let token_id = keys.token_key_id();
        let audit_id = keys.audit_key_id();
        let rows = [
            IdentityKeyRow {
                id: signing_id.clone(),
                purpose: SIGNING.into(),
                public_key: Some(public_key),
                sealed: keys.kek.seal(&aad(hub_id, SIGNING, &signing_id), &pkcs8)?,
                created_at: now.clone(),
                from_seq: Some(0),
                retired: false,
            },
            IdentityKeyRow {
                id: token_id.clone(),
                purpose: TOKEN.into(),
                public_key: None,
                sealed: keys.kek.seal(&aad(hub_id, TOKEN, &token_id), &token)?,
                created_at: now.clone(),
                from_seq: None,
                retired: false,
            },
            IdentityKeyRow {
                id: audit_id.clone(),
                purpose: AUDIT.into(),
                public_key: None,
                sealed: keys.kek.seal(&aad(hub_id, AUDIT, &audit_id), &audit)?,
                created_at: now,
                from_seq: None,
                retired: false,
            },
        ];
        for row in &rows {
            diesel::insert_into(identity_keys::table).values(row).execute(c)?;
        }
        for (key, value) in [(SIGNING_META, &signing_id), (TOKEN_META, &token_id)] {
            diesel::insert_into(hub_meta::table).values((hub_meta::key.eq(key), hub_meta::value.eq(value))).execute(c)?;
        }
        if old.any() {
            tracing::info!(
                data_dir = %files.data_dir.display(),
                "the hub's key files were imported into the database (sealed under the key-encryption key); the files are no longer read"
            );
        } else {
            tracing::info!(kek = %files.kek_file.display(), "the hub's keys were made, sealed in the database under the key-encryption key");
        }
        Ok(())
    })
}

/// Unseals the hub's current keys from the database, and refuses a data folder whose
/// old key files are not among them.
fn load(conn: &mut DbConn, files: &KeyFiles, hub_id: &str) -> Result<HubKeys, KeyError> {
    let kek = read_kek(&files.kek_file)?.ok_or_else(|| no_kek(&files.kek_file))?;
    let signing_id = current_signing_id(conn)?.ok_or_else(|| damaged("signing key"))?;
    let token_id: Option<String> = hub_meta::table.find(TOKEN_META).select(hub_meta::value).first(conn).optional()?;
    let rows: Vec<IdentityKeyRow> = identity_keys::table.select(IdentityKeyRow::as_select()).load(conn)?;
    let row = |purpose: &str, id: Option<&str>| {
        rows.iter().find(|r| r.purpose == purpose && id.is_none_or(|id| r.id == id) && (id.is_some() || !r.retired))
    };
    let signing_row = row(SIGNING, Some(&signing_id)).ok_or_else(|| damaged("signing key"))?;
    let pkcs8 = kek
        .open(&aad(hub_id, SIGNING, &signing_row.id), &signing_row.sealed)
        .ok_or_else(|| wrong_kek(&files.kek_file))?;
    let signing = SigningKey::from_pkcs8(&pkcs8).map_err(|_| damaged("signing key"))?;
    let active = ActiveKey::new(signing);
    if active.id != signing_id {
        return Err(damaged("signing key"));
    }
    let unseal = |purpose: &str, id: Option<&str>| -> Result<Vec<u8>, KeyError> {
        let r = row(purpose, id).ok_or_else(|| damaged(&format!("{purpose} key")))?;
        kek.open(&aad(hub_id, purpose, &r.id), &r.sealed).ok_or_else(|| wrong_kek(&files.kek_file))
    };
    let token = unseal(TOKEN, token_id.as_deref())?;
    let audit = unseal(AUDIT, None)?;
    let old = OldFiles::read(&files.data_dir)?;
    if let Some((key, _)) = &old.signing {
        let public = key.public_key();
        if !rows.iter().any(|r| r.purpose == SIGNING && r.public_key.as_deref() == Some(public.as_str())) {
            return Err(other_folder(&files.data_dir.join(SIGNING_KEY_FILE)));
        }
    }
    if old.token.as_ref().is_some_and(|k| !constant_time_eq(k, &token)) {
        return Err(other_folder(&files.data_dir.join(TOKEN_KEY_FILE)));
    }
    if old.audit.as_ref().is_some_and(|k| !constant_time_eq(k, &audit)) {
        return Err(other_folder(&files.data_dir.join(AUDIT_KEY_FILE)));
    }
    Ok(HubKeys::from_material(active, &token, &audit, kek, hub_id))
}

impl HubKeys {
    /// The hub's current signing key as the database names it, read once: the key this
    /// process holds, or (when another replica or the command line rotated) the new one,
    /// unsealed and from then on signed with. Writers call it holding the write lock,
    /// before they sign, so nothing is signed with a key the hub has replaced; a process
    /// that cannot unseal the current key writes nothing (`HUB_KEY_MISMATCH`).
    pub fn follow(&self, conn: &mut DbConn) -> AppResult<Arc<ActiveKey>> {
        let current = self.signing.get();
        let Some(id) = current_signing_id(conn)? else { return Err(mismatch()) };
        if id == current.id {
            return Ok(current);
        }
        let row: Option<IdentityKeyRow> = identity_keys::table
            .find(&id)
            .filter(identity_keys::purpose.eq(SIGNING))
            .select(IdentityKeyRow::as_select())
            .first(conn)
            .optional()?;
        let row = row.ok_or_else(mismatch)?;
        let pkcs8 = self.kek.open(&aad(&self.hub_id, SIGNING, &row.id), &row.sealed).ok_or_else(mismatch)?;
        let key = SigningKey::from_pkcs8(&pkcs8).map_err(|_| mismatch())?;
        let active = Arc::new(ActiveKey::new(key));
        if active.id != id {
            return Err(mismatch());
        }
        tracing::info!(public_key = %active.public_key, "signing with the hub's new key (rotated by another process)");
        self.signing.replace(Arc::clone(&active));
        Ok(active)
    }

    /// Stores a new signing key that signs from `from_seq` on, sealed under this
    /// process's KEK, and makes it the current one (the previous ones retired). Call in
    /// the rotation's transaction, holding the write lock (`services::identity::rotate`).
    pub fn store_signing_key(&self, conn: &mut DbConn, pkcs8: &[u8], from_seq: i64) -> AppResult<Arc<ActiveKey>> {
        let key = SigningKey::from_pkcs8(pkcs8).map_err(AppError::internal)?;
        let active = Arc::new(ActiveKey::new(key));
        let sealed = self.kek.seal(&aad(&self.hub_id, SIGNING, &active.id), pkcs8).map_err(AppError::internal)?;
        diesel::update(identity_keys::table.filter(identity_keys::purpose.eq(SIGNING)))
            .set(identity_keys::retired.eq(true))
            .execute(conn)?;
        diesel::insert_into(identity_keys::table)
            .values(&IdentityKeyRow {
                id: active.id.clone(),
                purpose: SIGNING.into(),
                public_key: Some(active.public_key.clone()),
                sealed,
                created_at: now_text(),
                from_seq: Some(from_seq),
                retired: false,
            })
            .execute(conn)?;
        diesel::update(hub_meta::table.find(SIGNING_META)).set(hub_meta::value.eq(&active.id)).execute(conn)?;
        Ok(active)
    }
}

/// One of the hub's signing keys, as `key list` and the feed see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    /// The fingerprint of its public key.
    pub id: String,
    pub public_key: String,
    /// The first feed sequence number it signs.
    pub from_seq: i64,
    pub created_at: String,
    pub retired: bool,
}

/// Every signing key the hub has had, oldest first: which key signed which version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigningHistory {
    pub keys: Vec<SigningKeyInfo>,
}

impl SigningHistory {
    /// Reads the history (a few rows). Read it after the entries it labels: a key signs
    /// only versions committed after it was, so it is then in the history.
    pub fn load(conn: &mut DbConn) -> QueryResult<SigningHistory> {
        let rows: Vec<IdentityKeyRow> = identity_keys::table
            .filter(identity_keys::purpose.eq(SIGNING))
            .select(IdentityKeyRow::as_select())
            .load(conn)?;
        let mut keys: Vec<SigningKeyInfo> = rows
            .into_iter()
            .map(|r| SigningKeyInfo {
                id: r.id,
                public_key: r.public_key.unwrap_or_default(),
                from_seq: r.from_seq.unwrap_or(0),
                created_at: r.created_at,
                retired: r.retired,
            })
            .collect();
        keys.sort_by_key(|k| k.from_seq);
        Ok(SigningHistory { keys })
    }

    /// The key that signed what this hub published at `seq`: the latest whose `from_seq`
    /// is at most `seq`.
    pub fn key_for_seq(&self, seq: i64) -> Option<&str> {
        self.keys.iter().rev().find(|k| k.from_seq <= seq).map(|k| k.public_key.as_str())
    }

    /// The current key (the latest).
    pub fn current(&self) -> Option<&SigningKeyInfo> {
        self.keys.last()
    }

    /// Whether the hub ever signed with this public key.
    pub fn contains(&self, public_key: &str) -> bool {
        self.keys.iter().any(|k| k.public_key == public_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

    /// A migrated SQLite database in a folder of its own, and that folder.
    fn database() -> (store::PooledConn, PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("renkei-keystore-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let pool = store::connect(&format!("sqlite://{}", dir.join("hub.db").display()), 1).expect("pool");
        let mut conn = pool.get().expect("conn");
        store::migrate(&mut conn).expect("migrate");
        let hub_id = crate::state::hub_id(&mut conn).expect("hub id");
        (conn, dir, hub_id)
    }

    fn files(dir: &Path, name: &str) -> KeyFiles {
        let data_dir = dir.join(name);
        KeyFiles { kek_file: data_dir.join("key-encryption.key"), data_dir }
    }

    fn refusal(result: Result<HubKeys, KeyError>) -> String {
        match result {
            Err(e @ KeyError::Refused { .. }) => e.to_string(),
            Err(e) => panic!("expected a refusal, got {e}"),
            Ok(_) => panic!("expected a refusal, got keys"),
        }
    }

    #[test]
    fn keys_are_sealed_in_the_database_and_open_only_with_the_same_kek() {
        let (mut conn, dir, hub_id) = database();
        let first = files(&dir, "one");
        let keys = open(&mut conn, &first, &hub_id, WhenMissing::Create).expect("made");
        // The KEK file is private; no old key files are written.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first.kek_file).expect("kek").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!first.data_dir.join(SIGNING_KEY_FILE).exists());
        // Sealed: the database does not show the key material.
        let rows: Vec<IdentityKeyRow> =
            identity_keys::table.select(IdentityKeyRow::as_select()).load(&mut conn).expect("rows");
        assert_eq!(rows.len(), 3);
        let token = keys.token_digest("rk_x_y");
        assert!(rows.iter().all(|r| !r.sealed.contains(&token)));
        assert_eq!(current_signing_id(&mut conn).expect("meta"), Some(keys.signing.get().id.clone()));

        // Another replica with the same KEK file (another data folder) gets the same keys.
        let second = KeyFiles { data_dir: dir.join("two"), kek_file: first.kek_file.clone() };
        let again = open(&mut conn, &second, &hub_id, WhenMissing::Create).expect("loaded");
        assert_eq!(again.signing.public_key(), keys.signing.public_key());
        assert!(again.token_matches("rk_x_y", &token));
        assert_eq!(again.audit_key_id(), keys.audit_key_id());

        // Without the KEK, or with another one, it refuses and makes nothing.
        let without = files(&dir, "three");
        let message = refusal(open(&mut conn, &without, &hub_id, WhenMissing::Create));
        assert!(message.contains("there is none at") && message.contains("鍵暗号化鍵"), "{message}");
        assert!(!without.kek_file.exists(), "no KEK is made for a database that holds keys");
        std::fs::create_dir_all(&without.data_dir).expect("dir");
        write_secret(&without.kek_file, &[9u8; 32]).expect("kek");
        let message = refusal(open(&mut conn, &without, &hub_id, WhenMissing::Create));
        assert!(message.contains("does not open this hub's keys") && message.contains("HUB_KEY_MISMATCH"), "{message}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn old_key_files_are_imported_once_and_other_ones_refused() {
        let (mut conn, dir, hub_id) = database();
        let old = files(&dir, "old");
        std::fs::create_dir_all(&old.data_dir).expect("dir");
        let (key, pkcs8) = SigningKey::generate().expect("key");
        write_secret(&old.data_dir.join(SIGNING_KEY_FILE), &pkcs8).expect("write");
        write_secret(&old.data_dir.join(TOKEN_KEY_FILE), &[1u8; 32]).expect("write");
        write_secret(&old.data_dir.join(AUDIT_KEY_FILE), &[2u8; 32]).expect("write");
        let keys = open(&mut conn, &old, &hub_id, WhenMissing::Refuse).expect("imported");
        assert_eq!(keys.signing.public_key(), key.public_key(), "the hub keeps its identity");
        let same = HubKeys::from_material(
            ActiveKey::new(key),
            &[1u8; 32],
            &[2u8; 32],
            Kek::from_bytes(&[0u8; 32]).expect("kek"),
            &hub_id,
        );
        assert_eq!(keys.token_key_id(), same.token_key_id());
        assert_eq!(keys.audit_key_id(), same.audit_key_id());
        // Started again with the same folder: loaded, the files agreeing.
        open(&mut conn, &old, &hub_id, WhenMissing::Create).expect("reloaded");

        // A folder whose old files are another hub's is refused.
        let other = KeyFiles { data_dir: dir.join("other"), kek_file: old.kek_file.clone() };
        std::fs::create_dir_all(&other.data_dir).expect("dir");
        write_secret(&other.data_dir.join(TOKEN_KEY_FILE), &[3u8; 32]).expect("write");
        let message = refusal(open(&mut conn, &other, &hub_id, WhenMissing::Create));
        assert!(message.contains(TOKEN_KEY_FILE) && message.contains("another hub"), "{message}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_database_with_data_but_no_keys_is_never_given_new_ones() {
        let (mut conn, dir, hub_id) = database();
        diesel::insert_into(hub_meta::table)
            .values((hub_meta::key.eq(AUDIT_META), hub_meta::value.eq("0123")))
            .execute(&mut conn)
            .expect("meta");
        let empty = files(&dir, "empty");
        let message = refusal(open(&mut conn, &empty, &hub_id, WhenMissing::Create));
        assert!(message.contains("signed data but no keys"), "{message}");
        assert!(!empty.kek_file.exists());
        assert_eq!(current_signing_id(&mut conn).expect("meta"), None);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_replica_follows_a_key_the_database_names() {
        let (mut conn, dir, hub_id) = database();
        let one = files(&dir, "one");
        let first = open(&mut conn, &one, &hub_id, WhenMissing::Create).expect("made");
        let second = open(&mut conn, &one, &hub_id, WhenMissing::Create).expect("loaded");
        let before = second.signing.public_key();
        let (next, pkcs8) = SigningKey::generate().expect("key");
        let stored = first.store_signing_key(&mut conn, &pkcs8, 10).expect("stored");
        assert_eq!(stored.public_key, next.public_key());
        // The second process still holds the old key until it follows.
        assert_eq!(second.signing.public_key(), before);
        assert_eq!(second.follow(&mut conn).expect("follows").public_key, next.public_key());
        assert_eq!(second.signing.public_key(), next.public_key());
        let history = SigningHistory::load(&mut conn).expect("history");
        assert_eq!(history.key_for_seq(9), Some(before.as_str()));
        assert_eq!(history.key_for_seq(10), Some(next.public_key().as_str()));
        assert!(history.keys[0].retired && !history.keys[1].retired);
        // A key the database names that this process cannot unseal: it does not sign.
        diesel::update(identity_keys::table.find(&stored.id))
            .set(identity_keys::sealed.eq("00"))
            .execute(&mut conn)
            .expect("damage");
        let third = HubKeys::from_material(
            ActiveKey::new(SigningKey::generate().expect("key").0),
            &[0u8; 32],
            &[0u8; 32],
            Kek::from_bytes(&[0u8; 32]).expect("kek"),
            &hub_id,
        );
        match third.follow(&mut conn) {
            Err(refused) => assert_eq!(refused.code, Code::HubKeyMismatch),
            Ok(_) => panic!("a process that cannot unseal the current key may not sign"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
