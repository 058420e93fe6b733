use super::*;
use crate::model::indicator::IndicatorType;
use crate::model::{IndicatorBody, TechniqueBody};

fn indicator(value: &str) -> Content {
    Content {
        id: Kind::Indicator.new_id(),
        body: Body::Indicator(IndicatorBody {
            indicator_type: IndicatorType::Ipv4,
            value: value.into(),
            description: Some("C2 seen at our substation".into()),
        }),
    }
}

fn org(name: &str) -> (OrgKeyPair, OrgKey, KeyRegistration) {
    let pair = OrgKeyPair::generate().expect("test setup");
    let key = pair.public(name, Utc::now(), None);
    let registration = pair.registration(key.clone(), None);
    (pair, key, registration)
}

fn is_s(org: &str) -> bool {
    org == "org-s"
}
fn is_t(org: &str) -> bool {
    org == "org-t"
}
fn named(org: &str) -> Submitter<'static> {
    if org == "org-s" {
        Submitter::Named(&is_s)
    } else {
        Submitter::Named(&is_t)
    }
}

fn no_sender(_: &str, _: &str) -> Option<String> {
    None
}

#[test]
fn a_recipient_opens_what_was_sealed_to_it_and_checks_the_sender() {
    let (sender, sender_key, _) = org("org-s");
    let (r1, r1_key, _) = org("org-r1");
    let (r2, r2_key, _) = org("org-r2");
    let items = vec![indicator("198.51.100.7"), indicator("198.51.100.8")];
    let sealed =
        seal(&items, &[r1_key.clone(), r2_key, sender_key.clone()], Some(("org-s", &sender))).expect("test setup");
    assert_eq!(sealed.len(), 2);
    assert!(sealed.iter().all(|s| s.wraps.len() == 3 && s.batch == sealed[0].batch));
    let readers = sealed[1].for_readers();
    assert!(readers.wraps.iter().all(|w| w.key.is_none()));
    let text = serde_json::to_string(&readers).expect("test setup");
    assert!(!text.contains("198.51.100"), "the value is readable in {text}");
    for pair in [r1, r2] {
        let mut opener = Opener::new(vec![pair]);
        let mut lookup =
            |org: &str, key: &str| (org == "org-s" && key == sender_key.key_id).then(|| sender_key.signing_key.clone());
        let opened =
            opener.open(&items[1].id, Kind::Indicator, &readers, named("org-s"), &mut lookup).expect("test setup");
        assert_eq!(opened.body, items[1].body);
        assert_eq!(opened.sender, Some(("org-s".to_string(), sender_key.key_id.clone())));
    }
    // Someone else's key opens nothing.
    let (other, _, _) = org("org-x");
    let err = Opener::new(vec![other]).open(&items[0].id, Kind::Indicator, &sealed[0], named("org-s"), &mut no_sender);
    assert_eq!(err, Err(SealError::NotForUs));
    let _ = r1_key;
}

#[test]
fn tampering_moving_forging_and_anonymity_are_caught() {
    let (sender, sender_key, _) = org("org-s");
    let (r1, r1_key, _) = org("org-r1");
    let items = vec![indicator("203.0.113.5"), indicator("203.0.113.6")];
    let sealed = seal(&items, std::slice::from_ref(&r1_key), Some(("org-s", &sender))).expect("test setup");
    let keys = || vec![OrgKeyPair::from_secrets(r1.secrets().0, r1.secrets().1).expect("test setup")];
    let mut lookup = |_: &str, key: &str| (key == sender_key.key_id).then(|| sender_key.signing_key.clone());

    // A flipped ciphertext byte.
    let mut tampered = sealed[0].clone();
    let mut bytes = URL_SAFE_NO_PAD.decode(&tampered.ciphertext).expect("test setup");
    bytes[3] ^= 1;
    tampered.ciphertext = URL_SAFE_NO_PAD.encode(&bytes);
    let mut opener = Opener::new(keys());
    assert_eq!(
        opener.open(&items[0].id, Kind::Indicator, &tampered, named("org-s"), &mut lookup),
        Err(SealError::Tampered)
    );
    // The ciphertext of one item moved to another.
    assert_eq!(
        opener.open(&items[1].id, Kind::Indicator, &sealed[0], named("org-s"), &mut lookup),
        Err(SealError::Tampered)
    );
    // Another kind.
    assert!(matches!(
        opener.open(&items[0].id, Kind::Technique, &sealed[0], named("org-s"), &mut lookup),
        Err(SealError::KindMismatch { .. })
    ));
    // The hub names another submitter.
    assert!(matches!(
        opener.open(&items[0].id, Kind::Indicator, &sealed[0], named("org-t"), &mut lookup),
        Err(SealError::SenderMismatch { .. })
    ));
    // A sender whose key the recipient does not trust.
    assert!(matches!(
        opener.open(&items[0].id, Kind::Indicator, &sealed[0], named("org-s"), &mut no_sender),
        Err(SealError::UnknownSenderKey { .. })
    ));
    // Signed by another key than the one the recipient pinned for the sender.
    let (forger, _, _) = org("org-s");
    let forged = seal(&items[..1], std::slice::from_ref(&r1_key), Some(("org-s", &forger))).expect("test setup");
    let mut pinned_real = |_: &str, _: &str| Some(sender_key.signing_key.clone());
    assert!(matches!(
        Opener::new(keys()).open(&items[0].id, Kind::Indicator, &forged[0], named("org-s"), &mut pinned_real),
        Err(SealError::ForgedSignature { .. })
    ));
    // Anonymous: no sender, no signature; opened only as from "a member".
    let anonymous = seal(&items[..1], &[r1_key], None).expect("test setup");
    let opened = Opener::new(keys())
        .open(&items[0].id, Kind::Indicator, &anonymous[0], Submitter::Anonymous, &mut no_sender)
        .expect("test setup");
    assert_eq!(opened.sender, None);
    // An unsigned item the hub says is from a named member is refused.
    assert_eq!(
        Opener::new(keys()).open(&items[0].id, Kind::Indicator, &anonymous[0], named("org-s"), &mut no_sender),
        Err(SealError::Unsigned)
    );
}

#[test]
fn content_is_checked_before_sealing() {
    let (_, key, _) = org("org-r");
    let bad = Content {
        id: Kind::Indicator.new_id(),
        body: Body::Indicator(IndicatorBody {
            indicator_type: IndicatorType::Ipv4,
            value: "not an address".into(),
            description: None,
        }),
    };
    assert!(matches!(seal(&[bad], std::slice::from_ref(&key), None), Err(SealError::Invalid(_))));
    let wrong_id = Content {
        id: Kind::Technique.new_id(),
        body: Body::Indicator(IndicatorBody {
            indicator_type: IndicatorType::Ipv4,
            value: "192.0.2.1".into(),
            description: None,
        }),
    };
    assert!(matches!(seal(&[wrong_id], &[key], None), Err(SealError::Invalid(_))));
    let technique = Body::Technique(TechniqueBody {
        attack_id: "T0855".into(),
        name: "Unauthorized Command Message".into(),
        tactics: vec![],
        narrative: "  padded  ".into(),
        platforms: vec![],
        ics_asset_types: vec![],
    });
    assert!(check_content(&technique).is_err(), "texts must be in canonical (trimmed) form");
}

fn publish(hub: &SigningKey, registration: &KeyRegistration, revoked: bool) -> PublishedKey {
    let statement = PublishedKey::hub_statement(registration, revoked, false);
    PublishedKey {
        registration: registration.clone(),
        revoked,
        pending: false,
        hub_signature: hub.sign_batch(&[statement.as_bytes()]).remove(0),
    }
}

#[test]
fn keys_are_pinned_at_first_sight_and_new_ones_need_an_introduction() {
    let (hub, _) = SigningKey::generate().expect("test setup");
    let hub_key = hub.public_key();
    let (a, a_key, a_reg) = org("org-r");
    let first = check_published("org-r", &hub_key, &[publish(&hub, &a_reg, false)], &[]);
    assert_eq!(first.newly_pinned, vec![a_key.clone()]);
    assert_eq!(first.current, vec![a_key.clone()]);

    // A second installation introduced by the first: trusted, and both are current.
    let b = OrgKeyPair::generate().expect("test setup");
    let b_key = b.public("org-r", Utc::now(), None);
    let b_reg = b.registration(b_key.clone(), Some(&a));
    let both = [publish(&hub, &a_reg, false), publish(&hub, &b_reg, false)];
    let check = check_published("org-r", &hub_key, &both, &first.trusted);
    assert_eq!(check.newly_pinned, vec![b_key.clone()]);
    assert_eq!(check.current.len(), 2);

    // A second installation's key not yet introduced (pending): neither pinned at first
    // sight nor sealed to.
    let (_, _, waiting_reg) = org("org-r");
    let mut waiting = publish(&hub, &waiting_reg, false);
    waiting.pending = true;
    waiting.hub_signature =
        hub.sign_batch(&[PublishedKey::hub_statement(&waiting_reg, false, true).as_bytes()]).remove(0);
    let check = check_published("org-r", &hub_key, &[publish(&hub, &a_reg, false), waiting], &[]);
    assert_eq!(check.current, vec![a_key.clone()]);
    assert_eq!(check.newly_pinned, vec![a_key.clone()]);

    // A key the hub slipped in, introduced by nobody: refused.
    let (_, _, rogue_reg) = org("org-r");
    let with_rogue = [publish(&hub, &a_reg, false), publish(&hub, &rogue_reg, false)];
    let check = check_published("org-r", &hub_key, &with_rogue, &first.trusted);
    assert_eq!(check.current, vec![a_key.clone()]);
    assert_eq!(check.refused.len(), 1);

    // A rotation: the old key introduces its replacement and is no longer current.
    let c = OrgKeyPair::generate().expect("test setup");
    let c_key = c.public("org-r", Utc::now(), Some(a.key_id()));
    let c_reg = c.registration(c_key.clone(), Some(&a));
    let rotated = [publish(&hub, &a_reg, false), publish(&hub, &c_reg, false)];
    let check = check_published("org-r", &hub_key, &rotated, &first.trusted);
    assert_eq!(check.current, vec![c_key]);
    assert_eq!(check.trusted.len(), 2, "the old key still verifies what it signed");

    // Revoked: not current.
    let check = check_published("org-r", &hub_key, &[publish(&hub, &a_reg, true)], &first.trusted);
    assert!(check.current.is_empty());

    // A record the hub did not sign, or whose keys were swapped under a pinned id.
    let mut unsigned = publish(&hub, &a_reg, false);
    unsigned.revoked = true;
    assert_eq!(check_published("org-r", &hub_key, &[unsigned], &[]).refused.len(), 1);
    let mut swapped = a_reg.clone();
    swapped.key.encryption_key = b_key.encryption_key.clone();
    let check = check_published("org-r", &hub_key, &[publish(&hub, &swapped, false)], &[]);
    assert!(check.current.is_empty() && check.refused.len() == 1);
}
