//! A hub's signing key changes (`renkei-hub key rotate`): the hub announces the new key
//! in its change feed, in an entry of kind [`FEED_KIND`] whose object is an
//! [`Announcement`] (canonical JSON) signed by the key it replaces. Whoever pinned the
//! old key (a member's client, a peer hub) checks it with [`follow`] and pins the new
//! one; versions before `from_seq` still verify with the old key, those from it on with
//! the new. The hub, its clients and its peers decide the same way because they run
//! this code.

use serde::{Deserialize, Serialize};

/// The kind of key announcements in the change feed.
pub const FEED_KIND: &str = "hub-key";

/// The STIX-style type of announcements (their ids are `x-renkei-hub-key--<uuid>`).
pub const ANNOUNCEMENT_TYPE: &str = "x-renkei-hub-key";

/// A new signing key, announced by the key it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    /// The hub whose key it is.
    pub hub: String,
    /// The key it replaces (base64url), which signs the announcement.
    pub old_key: String,
    pub new_key: String,
    /// The first sequence number (the hub's) the new key signs.
    pub from_seq: i64,
    pub at: String,
}

impl Announcement {
    /// The canonical JSON that is signed (and sent as the feed entry's object).
    pub fn canonical(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        crate::stix::canonical_json(&value)
    }

    /// Reads one; None if the text is not an announcement.
    pub fn parse(text: &str) -> Option<Announcement> {
        serde_json::from_str::<Announcement>(text).ok().filter(|a| a.kind == ANNOUNCEMENT_TYPE)
    }
}

/// Why an announcement (or a key history) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationRefusal {
    #[error("the key announcement is not one (unreadable)")]
    Unreadable,
    #[error("the key announcement does not verify with the pinned key")]
    BadSignature,
    #[error("the key announcement is of another hub ({0})")]
    OtherHub(String),
    #[error("the key announcement replaces another key than the pinned one")]
    NotThePinnedKey,
    #[error("the key announcement's new key is not a valid Ed25519 key")]
    BadNewKey,
    #[error("the new key must sign from after the announcement (from_seq {from_seq}, announced at {seq})")]
    BadSequence { from_seq: i64, seq: i64 },
    #[error("a key of the history comes without its announcement")]
    MissingAnnouncement,
    #[error("the key history does not end at the hub's current key")]
    NotCurrent,
}

impl RotationRefusal {
    /// The reason in Japanese.
    pub fn message_ja(&self) -> String {
        match self {
            RotationRefusal::Unreadable => "鍵の告知として読めません".into(),
            RotationRefusal::BadSignature => "鍵の告知が固定済みの鍵で検証できません".into(),
            RotationRefusal::OtherHub(hub) => format!("別のハブ（{hub}）の鍵の告知です"),
            RotationRefusal::NotThePinnedKey => "鍵の告知が固定済みの鍵とは別の鍵を置き換えています".into(),
            RotationRefusal::BadNewKey => "鍵の告知の新しい鍵が有効なEd25519鍵ではありません".into(),
            RotationRefusal::BadSequence { from_seq, seq } => {
                format!("新しい鍵の署名開始番号（{from_seq}）が告知の番号（{seq}）より後ではありません")
            }
            RotationRefusal::MissingAnnouncement => "鍵の履歴に告知のない鍵があります".into(),
            RotationRefusal::NotCurrent => "鍵の履歴がハブの現在の鍵で終わっていません".into(),
        }
    }
}

/// Checks an announcement met at sequence number `seq` in hub `hub_id`'s feed against
/// the key pinned for that hub (`pinned`): it must verify with that key, replace it,
/// and name a valid new key that signs from after the announcement. Returns it to pin
/// its `new_key` from its `from_seq`.
pub fn follow(
    hub_id: &str,
    pinned: &str,
    seq: i64,
    object: &str,
    signature: &str,
) -> Result<Announcement, RotationRefusal> {
    crate::sign::verify_object(pinned, object.as_bytes(), signature).map_err(|_| RotationRefusal::BadSignature)?;
    let a = Announcement::parse(object).ok_or(RotationRefusal::Unreadable)?;
    if a.hub != hub_id {
        return Err(RotationRefusal::OtherHub(a.hub));
    }
    if a.old_key != pinned {
        return Err(RotationRefusal::NotThePinnedKey);
    }
    crate::sign::Verifier::new(&a.new_key).map_err(|_| RotationRefusal::BadNewKey)?;
    if a.from_seq <= seq {
        return Err(RotationRefusal::BadSequence { from_seq: a.from_seq, seq });
    }
    Ok(a)
}

/// One key of a hub's history as the hub publishes it (`hub { signingKeys }`): the
/// announcement that made it current, signed by the key before (none for the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedKey {
    pub public_key: String,
    pub from_seq: i64,
    pub announcement: Option<String>,
    pub signature: Option<String>,
}

/// Checks a whole key history, oldest first (what a new follower does before it pins
/// it): every announcement verifies with the key before, replaces it and names the next
/// key from its `from_seq`, and the last key is `current`. Returns the `(from_seq, key)`
/// pairs to pin.
pub fn check_history(
    hub_id: &str,
    current: &str,
    keys: &[PublishedKey],
) -> Result<Vec<(i64, String)>, RotationRefusal> {
    let mut out: Vec<(i64, String)> = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some((previous_from, previous)) = out.last() {
            let (Some(text), Some(signature)) = (&key.announcement, &key.signature) else {
                return Err(RotationRefusal::MissingAnnouncement);
            };
            let a = follow(hub_id, previous, key.from_seq - 1, text, signature)?;
            if a.new_key != key.public_key || a.from_seq != key.from_seq || a.from_seq <= *previous_from {
                return Err(RotationRefusal::NotThePinnedKey);
            }
        }
        out.push((key.from_seq, key.public_key.clone()));
    }
    if out.last().map(|(_, k)| k.as_str()) != Some(current) {
        return Err(RotationRefusal::NotCurrent);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::SigningKey;

    fn announce(hub: &str, old: &SigningKey, new: &SigningKey, from_seq: i64) -> (String, String) {
        let a = Announcement {
            kind: ANNOUNCEMENT_TYPE.into(),
            id: format!("{ANNOUNCEMENT_TYPE}--00000000-0000-4000-8000-000000000001"),
            hub: hub.into(),
            old_key: old.public_key(),
            new_key: new.public_key(),
            from_seq,
            at: "2026-12-10T00:00:00.000000Z".into(),
        };
        let text = a.canonical();
        let signature = old.sign_batch(&[text.as_bytes()]).concat();
        (text, signature)
    }

    #[test]
    fn an_announcement_is_followed_only_when_the_pinned_key_signed_it() {
        let (k1, _) = SigningKey::generate().expect("key");
        let (k2, _) = SigningKey::generate().expect("key");
        let (other, _) = SigningKey::generate().expect("key");
        let (text, signature) = announce("hub-a", &k1, &k2, 11);
        let a = follow("hub-a", &k1.public_key(), 10, &text, &signature).expect("follows");
        assert_eq!((a.new_key, a.from_seq), (k2.public_key(), 11));
        // Pinned to another key, of another hub, or signed by someone else: refused.
        assert_eq!(follow("hub-a", &other.public_key(), 10, &text, &signature), Err(RotationRefusal::BadSignature));
        assert!(matches!(follow("hub-b", &k1.public_key(), 10, &text, &signature), Err(RotationRefusal::OtherHub(_))));
        let (forged, forged_sig) = announce("hub-a", &other, &k2, 11);
        assert_eq!(follow("hub-a", &k1.public_key(), 10, &forged, &forged_sig), Err(RotationRefusal::BadSignature));
        // Signed by the pinned key but naming another old key.
        let mut a = Announcement::parse(&forged).expect("parses");
        a.old_key = other.public_key();
        let text2 = a.canonical();
        let sig2 = k1.sign_batch(&[text2.as_bytes()]).concat();
        assert_eq!(follow("hub-a", &k1.public_key(), 10, &text2, &sig2), Err(RotationRefusal::NotThePinnedKey));
        assert!(matches!(
            follow("hub-a", &k1.public_key(), 11, &text, &signature),
            Err(RotationRefusal::BadSequence { .. })
        ));
        assert!(!RotationRefusal::BadSignature.message_ja().is_ascii());
    }

    #[test]
    fn a_history_checks_from_the_first_key_to_the_current() {
        let (k1, _) = SigningKey::generate().expect("key");
        let (k2, _) = SigningKey::generate().expect("key");
        let (k3, _) = SigningKey::generate().expect("key");
        let (a2, s2) = announce("hub-a", &k1, &k2, 5);
        let (a3, s3) = announce("hub-a", &k2, &k3, 9);
        let history = vec![
            PublishedKey { public_key: k1.public_key(), from_seq: 0, announcement: None, signature: None },
            PublishedKey { public_key: k2.public_key(), from_seq: 5, announcement: Some(a2), signature: Some(s2) },
            PublishedKey {
                public_key: k3.public_key(),
                from_seq: 9,
                announcement: Some(a3.clone()),
                signature: Some(s3),
            },
        ];
        let pins = check_history("hub-a", &k3.public_key(), &history).expect("checks");
        assert_eq!(pins, vec![(0, k1.public_key()), (5, k2.public_key()), (9, k3.public_key())]);
        assert_eq!(check_history("hub-a", &k2.public_key(), &history), Err(RotationRefusal::NotCurrent));
        let mut broken = history.clone();
        broken[2].signature = Some(k3.sign_batch(&[a3.as_bytes()]).concat());
        assert_eq!(check_history("hub-a", &k3.public_key(), &broken), Err(RotationRefusal::BadSignature));
        broken[2].announcement = None;
        assert_eq!(check_history("hub-a", &k3.public_key(), &broken), Err(RotationRefusal::MissingAnnouncement));
    }
}
