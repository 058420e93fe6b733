//! Sealed TLP:RED on the member's side (`renkei_schema::seal`): this installation's keys
//! (kept owner-only beside the register), the organisations' public keys the register
//! trusts (pinned at first sight, or introduced by a key pinned before), sealing what
//! `renkei share --tlp RED` sends, and opening what `sync` receives. The hub stores and
//! signs envelopes it cannot read; everything that reads content happens here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use renkei_schema::model::{Body, Kind};
use renkei_schema::seal::{
    check_published, Content, KeyCheck, Opener, OrgKey, OrgKeyPair, PublishedKey, SealError, SealedBody, Submitter,
};
pub use renkei_schema::seal::{SealedShare, SealedShareItem, SHARE_FORMAT};

use crate::error::{Context as _, Result};
use crate::hub_api::HubApi;
use crate::register::{self, ItemRow};
use crate::tables::{items, org_keys, sealed_items, unopened_items};
use crate::{bail, ensure};

/// Settings key: where this installation's private keys are.
pub const KEY_FILE: &str = "key_file";
/// Organisations asked for in one `organizationKeys` request (the hub's bound).
const ORGS_PER_REQUEST: usize = 200;

/// One private key as kept in the key file.
#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct StoredKey {
    key_id: String,
    org: String,
    /// X25519 seed, base64url.
    seed: String,
    /// Ed25519 PKCS#8, base64url.
    signing: String,
    created: DateTime<Utc>,
    #[serde(default)]
    replaces: Option<String>,
    /// Replaced by a newer key or revoked: kept to open what was sealed to it.
    #[serde(default)]
    retired: bool,
}

#[derive(Serialize, Deserialize, Default)]
struct KeyFile {
    keys: Vec<StoredKey>,
}

/// This installation's keys (the file `<register>.keys`, mode 0600).
pub struct Keys {
    path: PathBuf,
    file: KeyFile,
}

impl Keys {
    /// Where a register's keys are kept: beside it.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut p = db.as_os_str().to_owned();
        p.push(".keys");
        PathBuf::from(p)
    }

    /// The keys the register names, if it has any.
    pub fn load(conn: &mut SqliteConnection) -> Result<Option<Keys>> {
        let Some(path) = register::get(conn, KEY_FILE)? else { return Ok(None) };
        Keys::load_at(Path::new(&path)).map(Some)
    }

    fn load_at(path: &Path) -> Result<Keys> {
        if !path.exists() {
            return Ok(Keys { path: path.to_path_buf(), file: KeyFile::default() });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
            ensure!(
                mode & 0o077 == 0,
                "the key file {} may be read by others (mode {mode:o}): `chmod 600` it / \
                 鍵ファイル{}が他者から読める状態です（モード{mode:o}）。`chmod 600`してください",
                path.display(),
                path.display()
            );
        }
        let text = std::fs::read_to_string(path).with_context(|| format!("reading the key file {}", path.display()))?;
        let file: KeyFile = serde_json::from_str(&text).with_context(|| format!("the key file {}", path.display()))?;
        Ok(Keys { path: path.to_path_buf(), file })
    }

    /// Writes the file owner-only from its first byte, under a temporary name renamed
    /// into place (a crash leaves the old file or the new one, never half of one).
    fn save(&self) -> Result<()> {
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let text = serde_json::to_string_pretty(&self.file)?;
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    fn pair(k: &StoredKey) -> Result<OrgKeyPair> {
        let bad = |what: &str| {
            crate::error::Error::Invalid(format!("the key file: key {}'s {what} is not base64url", k.key_id))
        };
        let seed = URL_SAFE_NO_PAD.decode(&k.seed).map_err(|_| bad("seed"))?;
        let signing = URL_SAFE_NO_PAD.decode(&k.signing).map_err(|_| bad("signing key"))?;
        OrgKeyPair::from_secrets(&seed, &signing).map_err(seal_error)
    }

    /// Every key pair, current and retired (each opens what was sealed to it).
    pub fn pairs(&self) -> Result<Vec<OrgKeyPair>> {
        self.file.keys.iter().map(Keys::pair).collect()
    }

    /// The key this installation seals and signs with.
    fn current(&self) -> Option<&StoredKey> {
        self.file.keys.iter().rev().find(|k| !k.retired)
    }

    /// (key id, organisation, created, current) of each key, newest last.
    pub fn list(&self) -> Vec<(String, String, String, bool)> {
        let current = self.current().map(|k| k.key_id.clone());
        self.file
            .keys
            .iter()
            .map(|k| (k.key_id.clone(), k.org.clone(), k.created.to_rfc3339(), Some(&k.key_id) == current.as_ref()))
            .collect()
    }
}

fn seal_error(e: SealError) -> crate::error::Error {
    crate::error::Error::Invalid(format!("{e}\n{}", e.message_ja()))
}

/// The caller's organisation, as the hub knows the token.
pub fn own_org(api: &HubApi) -> Result<String> {
    let data = api.query("{ me { organization { id } } }", json!({}))?;
    Ok(data["me"]["organization"]["id"].as_str().context("the hub did not say whose token this is")?.to_string())
}

fn published_of(v: &Value) -> Result<PublishedKey> {
    let record = v["record"].as_str().context("an organisation key without its record")?;
    serde_json::from_str(record).context("an organisation key's record")
}

/// Makes a key pair, registers it with the hub (introduced by this installation's
/// current key, and replacing it when `rotate`), and keeps it in the key file named by
/// the register (`<db>.keys` the first time). Returns the new key's id.
pub fn new_key(conn: &mut SqliteConnection, db: &Path, api: &HubApi, rotate: bool) -> Result<String> {
    let mut keys = match Keys::load(conn)? {
        Some(k) => k,
        None => Keys::load_at(&Keys::path_for(db))?,
    };
    let org = own_org(api)?;
    let current = keys.current().cloned();
    ensure!(
        !rotate || current.is_some(),
        "no key to rotate: make one with `renkei key new` / ローテーションする鍵がありません。`renkei key new`で作成してください"
    );
    let introducer = current.as_ref().map(Keys::pair).transpose()?;
    let pair = OrgKeyPair::generate().map_err(seal_error)?;
    // Whole seconds: the statement's time survives every round trip unchanged.
    let created = DateTime::<Utc>::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    let replaces = if rotate { current.as_ref().map(|k| k.key_id.as_str()) } else { None };
    let public = pair.public(&org, created, replaces);
    let registration = pair.registration(public, introducer.as_ref());
    let (seed, signing) = pair.secrets();
    // Kept before it is registered: a key the hub knows must never be lost here.
    keys.file.keys.push(StoredKey {
        key_id: pair.key_id().to_string(),
        org: org.clone(),
        seed: URL_SAFE_NO_PAD.encode(seed),
        signing: URL_SAFE_NO_PAD.encode(signing),
        created,
        replaces: replaces.map(str::to_string),
        retired: false,
    });
    if rotate {
        let n = keys.file.keys.len();
        keys.file.keys.iter_mut().take(n - 1).for_each(|k| k.retired = true);
    }
    keys.save()?;
    register::set(conn, KEY_FILE, &keys.path.to_string_lossy())?;
    api.query(
        "mutation($r: String!) { registerOrganizationKey(registration: $r) { keyId } }",
        json!({"r": serde_json::to_string(&registration)?}),
    )?;
    // Our own key is trusted as we made it.
    pin(conn, &registration.key)?;
    Ok(pair.key_id().to_string())
}

/// Introduces another installation's key of this organisation with this installation's
/// current key, so members who pinned ours trust it too.
pub fn endorse(conn: &mut SqliteConnection, api: &HubApi, key_id: &str) -> Result<()> {
    let keys = Keys::load(conn)?.context("this register has no key: run `renkei key new`")?;
    let current = keys.current().context("this installation has no current key")?;
    let introducer = Keys::pair(current)?;
    let data = api
        .query("query($o: [String!]!) { organizationKeys(orgs: $o) { keyId record } }", json!({"o": [current.org]}))?;
    let listed = data["organizationKeys"].as_array().context("the hub listed no keys")?;
    let target = listed
        .iter()
        .find(|k| k["keyId"].as_str() == Some(key_id))
        .with_context(|| format!("organisation {} has no key {key_id} / 鍵{key_id}がありません", current.org))?;
    let published = published_of(target)?;
    published.registration.check().map_err(seal_error)?;
    let signature = introducer.introduce(&published.registration.key);
    api.query(
        "mutation($k: String!, $b: String!, $s: String!) { introduceOrganizationKey(keyId: $k, introducedBy: $b, introduction: $s) { keyId } }",
        json!({"k": key_id, "b": current.key_id, "s": signature}),
    )?;
    pin(conn, &published.registration.key)?;
    Ok(())
}

/// Revokes one of this organisation's keys at the hub (nothing new is sealed to it);
/// a key of this installation is retired here too (it still opens older items).
pub fn revoke(conn: &mut SqliteConnection, api: &HubApi, key_id: &str) -> Result<()> {
    api.query("mutation($k: String!) { revokeOrganizationKey(keyId: $k) { keyId } }", json!({"k": key_id}))?;
    if let Some(mut keys) = Keys::load(conn)? {
        if let Some(k) = keys.file.keys.iter_mut().find(|k| k.key_id == key_id) {
            k.retired = true;
            keys.save()?;
        }
    }
    Ok(())
}

/// Trusts a key of another organisation that no pinned key introduced (an organisation
/// that lost every installation made a new key), after its id was checked with that
/// organisation out of band: the hub must still list it, signed, with its own signature.
pub fn trust(conn: &mut SqliteConnection, api: &HubApi, org: &str, key_id: &str) -> Result<()> {
    let hub_key = register::get(conn, register::HUB_KEY)?.context("the register has no hub yet: run `renkei init`")?;
    let data =
        api.query("query($o: [String!]!) { organizationKeys(orgs: $o) { keyId record } }", json!({"o": [org]}))?;
    let listed = data["organizationKeys"].as_array().context("the hub listed no keys")?;
    let published = listed
        .iter()
        .find(|k| k["keyId"].as_str() == Some(key_id))
        .map(published_of)
        .transpose()?
        .with_context(|| format!("organisation {org} has no key {key_id} / 組織{org}に鍵{key_id}はありません"))?;
    // Checked as at a first sight: the hub's signature and the key's own.
    let check = check_published(org, &hub_key, std::slice::from_ref(&published), &[]);
    if let Some((_, why)) = check.refused.first() {
        bail!("key {key_id} does not check: {why} / 鍵{key_id}を検証できません: {}", why.message_ja());
    }
    ensure!(!published.revoked, "key {key_id} is revoked / 鍵{key_id}は失効しています");
    pin(conn, &published.registration.key)
}

fn pin(conn: &mut SqliteConnection, key: &OrgKey) -> Result<()> {
    diesel::insert_or_ignore_into(org_keys::table)
        .values((
            org_keys::key_id.eq(&key.key_id),
            org_keys::org.eq(&key.org),
            org_keys::public.eq(serde_json::to_string(key)?),
            org_keys::pinned_at.eq(register::stamp(Utc::now())),
        ))
        .execute(conn)?;
    Ok(())
}

fn pinned(conn: &mut SqliteConnection, org: &str) -> Result<Vec<OrgKey>> {
    let rows: Vec<String> = org_keys::table.filter(org_keys::org.eq(org)).select(org_keys::public).load(conn)?;
    rows.iter().map(|r| Ok(serde_json::from_str(r)?)).collect()
}

/// What a refresh of the organisations' keys found.
#[derive(Debug, Default)]
pub struct KeysRefreshed {
    pub checked: HashMap<String, KeyCheck>,
    /// Keys pinned now.
    pub pinned: usize,
    /// Keys the hub lists but this register does not trust: (org, key, why).
    pub refused: Vec<(String, String, String)>,
}

/// Reads the keys of `orgs` (every organisation when `None`) from the hub, checks each
/// with the pinned hub key and the keys pinned before, and pins what is now trusted.
pub fn refresh_keys(conn: &mut SqliteConnection, api: &HubApi, orgs: Option<&[String]>) -> Result<KeysRefreshed> {
    let orgs: Vec<String> = match orgs {
        Some(o) => o.to_vec(),
        None => {
            let data = api.query("{ organizations { id } }", json!({}))?;
            data["organizations"]
                .as_array()
                .context("the hub listed no organisations")?
                .iter()
                .filter_map(|o| o["id"].as_str().map(str::to_string))
                .collect()
        }
    };
    let hub_key = register::get(conn, register::HUB_KEY)?.context("the register has no hub yet: run `renkei init`")?;
    let mut by_org: HashMap<String, Vec<PublishedKey>> = orgs.iter().map(|o| (o.clone(), Vec::new())).collect();
    for chunk in orgs.chunks(ORGS_PER_REQUEST) {
        let data =
            api.query("query($o: [String!]!) { organizationKeys(orgs: $o) { org record } }", json!({"o": chunk}))?;
        for k in data["organizationKeys"].as_array().context("the hub listed no keys")? {
            let org = k["org"].as_str().context("a key without its organisation")?.to_string();
            by_org.entry(org).or_default().push(published_of(k)?);
        }
    }
    let mut out = KeysRefreshed::default();
    conn.transaction(|c| -> Result<()> {
        for (org, published) in by_org {
            let before = pinned(c, &org)?;
            let check = check_published(&org, &hub_key, &published, &before);
            for key in &check.newly_pinned {
                pin(c, key)?;
                out.pinned += 1;
            }
            for (key, why) in &check.refused {
                out.refused.push((org.clone(), key.clone(), format!("{why} / {}", why.message_ja())));
            }
            out.checked.insert(org, check);
        }
        Ok(())
    })?;
    Ok(out)
}

/// How many sealed items are shared in one call (each call is one batch: one batch key).
const SEALED_PER_CALL: usize = 1000;

/// Seals `bodies` to every current trusted key of every recipient (and of this
/// organisation unless anonymous), signed with this installation's key unless
/// anonymous, and shares them: (id, status) of each.
pub fn share(
    conn: &mut SqliteConnection,
    api: &HubApi,
    bodies: Vec<Body>,
    sharing: &crate::share::Sharing,
) -> Result<Vec<(String, String)>> {
    let document = seal_share(conn, api, bodies, sharing)?;
    send(api, &document)
}

/// Seals `bodies` as [`share`] does (the recipients' keys refreshed from the hub and
/// checked) and returns the document instead of sending it: the `shareSealed`
/// variables, to send with [`send`] or to hand to the web console
/// (`renkei share --envelope-out FILE`, [`write_envelope`]).
pub fn seal_share(
    conn: &mut SqliteConnection,
    api: &HubApi,
    bodies: Vec<Body>,
    sharing: &crate::share::Sharing,
) -> Result<SealedShare> {
    ensure!(
        !sharing.recipients.is_empty(),
        "TLP:RED names its recipients (--recipient ORG) / TLP:REDには受領組織の指定が必要です"
    );
    let keys = Keys::load(conn)?.context(
        "this installation has no encryption key: run `renkei key new` / この環境には暗号鍵がありません。`renkei key new`を実行してください",
    )?;
    let current = keys.current().context("this installation has no current key: run `renkei key new`")?.clone();
    let sender_pair = Keys::pair(&current)?;
    let mut orgs: Vec<String> = sharing.recipients.clone();
    if !sharing.anonymous {
        orgs.push(current.org.clone());
    }
    orgs.sort();
    orgs.dedup();
    let refreshed = refresh_keys(conn, api, Some(&orgs))?;
    let mut to: Vec<OrgKey> = Vec::new();
    for org in &orgs {
        let check = refreshed.checked.get(org);
        let current_keys = check.map(|c| c.current.clone()).unwrap_or_default();
        if current_keys.is_empty() {
            let why: Vec<String> =
                refreshed.refused.iter().filter(|(o, _, _)| o == org).map(|(_, k, w)| format!("  {k}: {w}")).collect();
            bail!(
                "organisation {org} has no key this register trusts, so nothing can be sealed to it{}{}\n\
                 組織{org}には信頼できる鍵がないため封緘できません（相手に鍵IDを確認して`renkei key trust`するか、--no-sealで平文のREDとして共有してください）",
                if why.is_empty() { String::new() } else { format!(":\n{}", why.join("\n")) },
                " (check a key's id with them by phone and run `renkei key trust ORG KEY`, ask them to run \
                 `renkei key new`, or share plaintext RED with --no-seal where the hub allows it)"
            );
        }
        to.extend(current_keys);
    }
    let sender = if sharing.anonymous { None } else { Some((current.org.as_str(), &sender_pair)) };
    let mut items = Vec::with_capacity(bodies.len());
    let mut bodies = bodies.into_iter().peekable();
    while bodies.peek().is_some() {
        let chunk: Vec<Content> =
            bodies.by_ref().take(SEALED_PER_CALL).map(|body| Content { id: body.kind().new_id(), body }).collect();
        let sealed = renkei_schema::seal::seal(&chunk, &to, sender).map_err(seal_error)?;
        for (c, s) in chunk.iter().zip(&sealed) {
            items.push(SealedShareItem { id: c.id.clone(), sealed: serde_json::to_string(s)? });
        }
    }
    Ok(SealedShare {
        format: SHARE_FORMAT.to_string(),
        items,
        recipients: sharing.recipients.clone(),
        anonymous: sharing.anonymous,
        confidence: sharing.confidence,
        valid_until: sharing.valid_until.clone(),
    })
}

/// Sends a sealed share to the hub (`shareSealed`, [`SEALED_PER_CALL`] items a call,
/// one batch key each as sealed): (id, status) of each.
pub fn send(api: &HubApi, document: &SealedShare) -> Result<Vec<(String, String)>> {
    let mut receipts = Vec::with_capacity(document.items.len());
    for chunk in document.items.chunks(SEALED_PER_CALL) {
        let data = api.query(
            "mutation($i: [SealedItemInput!]!, $r: [String!]!, $a: Boolean, $c: Int, $v: String) { \
             shareSealed(items: $i, recipients: $r, anonymous: $a, confidence: $c, validUntil: $v) { id status } }",
            json!({"i": chunk, "r": document.recipients, "a": document.anonymous, "c": document.confidence, "v": document.valid_until}),
        )?;
        for r in data["shareSealed"].as_array().context("the hub's answer has no items")? {
            let id = r["id"].as_str().context("the hub's answer has no id")?;
            receipts.push((id.to_string(), r["status"].as_str().unwrap_or("?").to_string()));
        }
    }
    Ok(receipts)
}

/// Writes a sealed share to `path`, owner-only (0600, also when replacing a file),
/// for the web console's sealed share page.
pub fn write_envelope(path: &Path, document: &SealedShare) -> Result<()> {
    use std::io::Write as _;
    let text = serde_json::to_string_pretty(document)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = (|| -> std::io::Result<()> {
        let mut file = options.open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    })();
    written.with_context(|| {
        format!("writing the sealed share {} / 封緘した共有{}を書けません", path.display(), path.display())
    })
}

/// Opens sealed items as the feed brings them (see `sync::prepare`).
pub struct Unsealer {
    opener: Opener,
    /// Trusted signing keys by key id: (organisation, key).
    senders: HashMap<String, (String, String)>,
}

/// An opened item: the object the register holds in place of the sealed one.
pub struct OpenedItem {
    pub stix: String,
    pub sender: Option<(String, String)>,
}

impl Unsealer {
    /// An opener of these keys, trusting these senders' keys (key id: organisation and
    /// signing key).
    pub fn new(keys: Vec<OrgKeyPair>, senders: HashMap<String, (String, String)>) -> Unsealer {
        Unsealer { opener: Opener::new(keys), senders }
    }

    /// This installation's keys and the trusted senders' keys; `None` without keys.
    pub(crate) fn load(conn: &mut SqliteConnection) -> Result<Option<Unsealer>> {
        let Some(keys) = Keys::load(conn)? else { return Ok(None) };
        let rows: Vec<(String, String)> = org_keys::table.select((org_keys::key_id, org_keys::public)).load(conn)?;
        let mut senders = HashMap::with_capacity(rows.len());
        for (id, public) in rows {
            let key: OrgKey = serde_json::from_str(&public)?;
            senders.insert(id, (key.org, key.signing_key));
        }
        Ok(Some(Unsealer::new(keys.pairs()?, senders)))
    }

    /// The sealed body of a signed object, if it is a sealed one (the cheap test first:
    /// most objects are not).
    pub fn sealed_object(canonical: &str) -> Option<Value> {
        if !canonical.contains("\"sealed\":{") {
            return None;
        }
        let value: Value = serde_json::from_str(canonical).ok()?;
        value.get("extensions")?.get(renkei_schema::stix::EXTENSION_ID)?.get(renkei_schema::stix::prop::SEALED)?;
        Some(value)
    }

    /// Opens a sealed object (its text verified against the hub's key).
    pub fn open(&mut self, id: &str, kind: &str, canonical: &str) -> std::result::Result<OpenedItem, String> {
        let value = Unsealer::sealed_object(canonical).ok_or("not a sealed object")?;
        self.open_value(id, kind, &value)
    }

    /// Opens a sealed object given parsed: its content checked, the sender's signature
    /// verified.
    pub fn open_value(&mut self, id: &str, kind: &str, value: &Value) -> std::result::Result<OpenedItem, String> {
        let ext = &value["extensions"][renkei_schema::stix::EXTENSION_ID];
        let sealed = SealedBody::deserialize(&ext[renkei_schema::stix::prop::SEALED])
            .map_err(|e| format!("the sealed envelope is malformed: {e} / 封緘の形式が不正です"))?;
        let kind = Kind::parse(kind).ok_or_else(|| format!("unknown kind {kind}"))?;
        let creator = value["created_by_ref"].as_str().unwrap_or_default();
        let origin = ext[renkei_schema::stix::prop::ORIGIN_HUB].as_str().unwrap_or_default();
        let anonymous = creator == renkei_schema::stix::hub_identity_ref(origin);
        let is_creator = |org: &str| renkei_schema::stix::identity_ref(org) == creator;
        let submitter = if anonymous { Submitter::Anonymous } else { Submitter::Named(&is_creator) };
        let senders = &self.senders;
        let mut sender_key =
            |org: &str, key: &str| senders.get(key).filter(|(o, _)| o == org).map(|(_, signing)| signing.clone());
        let opened = self
            .opener
            .open(id, kind, &sealed, submitter, &mut sender_key)
            .map_err(|e| format!("{e} / {}", e.message_ja()))?;
        let stix = renkei_schema::stix::open_sealed(value, &opened.body)
            .ok_or("the sealed object lacks its envelope properties")?;
        Ok(OpenedItem { stix: renkei_schema::stix::canonical_json(&stix), sender: opened.sender })
    }
}

/// A sealed item that did not open, kept to report and to try again.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = unopened_items)]
pub struct Unopened {
    pub id: String,
    pub kind: String,
    pub revision: i64,
    pub tlp: String,
    pub seq: i64,
    pub sealed: String,
    pub signature: String,
    pub reason: String,
    pub received_at: String,
}

/// What the register keeps of a sealed item it opened.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sealed_items)]
pub(crate) struct SealedRow {
    pub id: String,
    pub seq: i64,
    pub sealed: String,
    pub sender_org: Option<String>,
    pub sender_key: Option<String>,
    pub opened_at: String,
}

/// Stores what a page opened and what it could not (in the page's transaction).
pub(crate) fn store(conn: &mut SqliteConnection, opened: &[SealedRow], unopened: &[Unopened]) -> Result<()> {
    for row in opened {
        diesel::replace_into(sealed_items::table).values(row).execute(conn)?;
        diesel::delete(unopened_items::table.find(&row.id)).execute(conn)?;
    }
    for row in unopened {
        diesel::replace_into(unopened_items::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// Forgets a sealed item the hub took away (a tombstone).
pub(crate) fn forget(conn: &mut SqliteConnection, id: &str) -> Result<()> {
    diesel::delete(sealed_items::table.find(id)).execute(conn)?;
    diesel::delete(unopened_items::table.find(id)).execute(conn)?;
    Ok(())
}

/// The sealed items not opened, with why.
pub fn unopened(conn: &mut SqliteConnection) -> Result<Vec<Unopened>> {
    Ok(unopened_items::table.order(unopened_items::seq.asc()).select(Unopened::as_select()).load(conn)?)
}

/// Tries the unopened items again (after a key refresh: a sender's key may be known
/// now); what opens moves into the register and raises its flags. Returns the flags.
pub fn retry_unopened(conn: &mut SqliteConnection) -> Result<crate::flags::Recorded> {
    let waiting = unopened(conn)?;
    if waiting.is_empty() {
        return Ok(crate::flags::Recorded::default());
    }
    let Some(mut unsealer) = Unsealer::load(conn)? else { return Ok(crate::flags::Recorded::default()) };
    let index = crate::flags::MatchIndex::load(conn)?;
    conn.transaction(|c| -> Result<crate::flags::Recorded> {
        let mut rows = Vec::new();
        for w in waiting {
            // A newer version of the item may be held already.
            let held: Option<i64> = items::table.find(&w.id).select(items::seq).first(c).optional()?;
            if held.is_some_and(|s| s >= w.seq) {
                diesel::delete(unopened_items::table.find(&w.id)).execute(c)?;
                continue;
            }
            match unsealer.open(&w.id, &w.kind, &w.sealed) {
                Ok(opened) => {
                    let row = ItemRow {
                        id: w.id.clone(),
                        kind: w.kind.clone(),
                        revision: w.revision,
                        tlp: w.tlp.clone(),
                        seq: w.seq,
                        stix: opened.stix,
                        signature: w.signature.clone(),
                        received_at: w.received_at.clone(),
                    };
                    let sealed = SealedRow {
                        id: w.id.clone(),
                        seq: w.seq,
                        sealed: w.sealed.clone(),
                        sender_org: opened.sender.as_ref().map(|s| s.0.clone()),
                        sender_key: opened.sender.map(|s| s.1),
                        opened_at: register::stamp(Utc::now()),
                    };
                    diesel::replace_into(items::table).values(&row).execute(c)?;
                    store(c, &[sealed], &[])?;
                    rows.push(row);
                }
                Err(reason) => {
                    diesel::update(unopened_items::table.find(&w.id))
                        .set(unopened_items::reason.eq(reason))
                        .execute(c)?;
                }
            }
        }
        crate::flags::match_items(c, &index, &rows)
    })
}
