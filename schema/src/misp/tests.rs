use super::*;
use serde_json::json;

const EVENT_UUID: &str = "1e644f05-1302-4d5b-8c38-39ef4b52ff58";

fn tags(names: &[&str]) -> Value {
    Value::Array(names.iter().map(|n| json!({ "name": n })).collect())
}

/// An event with one attribute, tagged and distributed as given.
fn one_attribute(event_tags: &[&str], event_dist: Option<&str>, attr_tags: &[&str], attr_dist: Option<&str>) -> Value {
    let mut attribute = json!({
        "uuid": "3783a128-6e68-410f-9b6c-b8d97b8669cc",
        "type": "ip-dst",
        "value": "203.0.113.7",
        "Tag": tags(attr_tags),
    });
    if let Some(d) = attr_dist {
        attribute["distribution"] = json!(d);
    }
    let mut event = json!({"uuid": EVENT_UUID, "info": "t", "Tag": tags(event_tags), "Attribute": [attribute]});
    if let Some(d) = event_dist {
        event["distribution"] = json!(d);
    }
    json!({ "Event": event })
}

/// What the single attribute of such an event becomes: its label, or the refusal's code.
fn outcome(event: &Value, default: Tlp, recipients: &[String]) -> Result<Tlp, String> {
    match candidates(event, default, recipients) {
        Err(r) => Err(format!("event {}", r.code)),
        Ok(list) => {
            assert_eq!(list.len(), 1, "{list:?}");
            match list[0].body().expect("an item or a refusal") {
                Ok(_) => Ok(list[0].tlp.expect("MISP settles every label")),
                Err(r) => Err(r.code.as_str().to_string()),
            }
        }
    }
}

#[test]
fn tags_and_distributions_map_to_labels_never_wider_than_the_source() {
    use Tlp::*;
    let amber_default = Amber;
    let red_to = vec!["org-b".to_string()];
    // (event tags, event distribution, attribute tags, attribute distribution, default,
    //  RED recipients given, expected label or refusal code)
    #[allow(clippy::type_complexity)]
    let table: Vec<(&[&str], Option<&str>, &[&str], Option<&str>, Tlp, bool, Result<Tlp, &str>)> = vec![
        // Tags alone; the most restrictive of event and attribute wins.
        (&["tlp:clear"], None, &[], None, amber_default, false, Ok(Clear)),
        (&["tlp:white"], None, &[], None, amber_default, false, Ok(Clear)),
        (&["tlp:green"], None, &[], None, amber_default, false, Ok(Green)),
        (&["TLP:AMBER"], None, &[], None, Clear, false, Ok(Amber)),
        (&["tlp:amber+strict"], None, &[], None, amber_default, false, Ok(AmberStrict)),
        (&["tlp:green"], None, &["tlp:amber"], None, amber_default, false, Ok(Amber)),
        (&["tlp:amber"], None, &["tlp:clear"], None, amber_default, false, Ok(Amber)),
        (&[], None, &["tlp:green"], None, amber_default, false, Ok(Green)),
        // No tag anywhere: the caller's default.
        (&[], None, &[], None, amber_default, false, Ok(Amber)),
        (&[], None, &[], None, Green, false, Ok(Green)),
        // Distributions bound the label: never wider than the source let it travel.
        (&["tlp:clear"], Some("3"), &[], None, amber_default, false, Ok(Clear)),
        (&["tlp:clear"], Some("2"), &[], None, amber_default, false, Ok(Green)),
        (&["tlp:clear"], Some("1"), &[], None, amber_default, false, Ok(Amber)),
        (&["tlp:green"], Some("1"), &[], None, amber_default, false, Ok(Amber)),
        (&["tlp:clear"], Some("3"), &[], Some("1"), amber_default, false, Ok(Amber)),
        (&["tlp:clear"], Some("3"), &[], Some("5"), amber_default, false, Ok(Clear)),
        (&["tlp:amber+strict"], Some("3"), &[], None, amber_default, false, Ok(AmberStrict)),
        // Untagged: the default, tightened by the distribution, never loosened by it.
        (&[], Some("3"), &[], None, Green, false, Ok(Green)),
        (&[], Some("3"), &[], None, Clear, false, Ok(Clear)),
        (&[], Some("2"), &[], None, Clear, false, Ok(Green)),
        (&[], Some("1"), &[], None, Green, false, Ok(Amber)),
        // Your organisation only: AMBER+STRICT, as TLP words it.
        (&["tlp:clear"], Some("0"), &[], None, amber_default, false, Ok(AmberStrict)),
        (&[], Some("3"), &[], Some("0"), Green, false, Ok(AmberStrict)),
        (&["tlp:red"], Some("0"), &[], None, amber_default, true, Ok(Red)),
        // A sharing group (a closed list of organisations) and tlp:red are RED: the
        // importer names the recipients, or the item is refused.
        (&["tlp:green"], Some("4"), &[], None, amber_default, false, Err("TLP_RED_NEEDS_RECIPIENTS")),
        (&["tlp:green"], Some("3"), &[], Some("4"), amber_default, true, Ok(Red)),
        (&["tlp:red"], Some("3"), &[], None, amber_default, false, Err("TLP_RED_NEEDS_RECIPIENTS")),
        (&["tlp:red"], None, &[], None, amber_default, true, Ok(Red)),
        (&[], None, &["tlp:red"], None, Clear, true, Ok(Red)),
        (&[], None, &[], None, Red, false, Err("TLP_RED_NEEDS_RECIPIENTS")),
        // Unknown or contradictory tags are refused, never guessed; on the event they
        // refuse the whole event.
        (&["tlp:ex:chr"], None, &[], None, amber_default, false, Err("event MISP_UNKNOWN_TLP")),
        (&["tlp:unclear"], None, &[], None, amber_default, false, Err("event MISP_UNKNOWN_TLP")),
        (&["tlp:green", "tlp:amber"], None, &[], None, amber_default, false, Err("event MISP_CONFLICTING_TLP")),
        (&["tlp:green"], None, &["tlp:amber", "tlp:red"], None, amber_default, true, Err("MISP_CONFLICTING_TLP")),
        (&["tlp:green"], None, &["tlp:purple"], None, amber_default, false, Err("MISP_UNKNOWN_TLP")),
        (&["tlp:white", "tlp:clear"], None, &[], None, amber_default, false, Ok(Clear)),
        // Distribution levels MISP does not have are refused.
        (&["tlp:clear"], Some("7"), &[], None, amber_default, false, Err("event MISP_UNKNOWN_DISTRIBUTION")),
        (&["tlp:clear"], Some("5"), &[], None, amber_default, false, Err("event MISP_UNKNOWN_DISTRIBUTION")),
        (&["tlp:clear"], None, &[], Some("x"), amber_default, false, Err("MISP_UNKNOWN_DISTRIBUTION")),
        // Other tags are labels, not labels of TLP.
        (&["osint:source-type=\"blog-post\""], None, &["PAP:GREEN"], None, Green, false, Ok(Green)),
    ];
    let mut wrong = Vec::new();
    for (event_tags, event_dist, attr_tags, attr_dist, default, with_recipients, expected) in &table {
        let event = one_attribute(event_tags, *event_dist, attr_tags, *attr_dist);
        let given: &[String] = if *with_recipients { &red_to } else { &[] };
        let got = outcome(&event, *default, given);
        let expected = expected.map_err(str::to_string);
        if got != expected {
            wrong.push(format!(
                "event {event_tags:?} dist {event_dist:?}, attribute {attr_tags:?} dist {attr_dist:?}, default {default}, recipients {with_recipients}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{} of {} rows wrong:\n{}", wrong.len(), table.len(), wrong.join("\n"));
}

#[test]
fn red_candidates_carry_the_named_recipients_and_no_other_label_does() {
    let red = one_attribute(&["tlp:red"], None, &[], None);
    let list = candidates(&red, Tlp::Amber, &["org-b".into(), "org-c".into()]).expect("event");
    assert_eq!(list[0].recipients, vec!["org-b", "org-c"]);
    let green = one_attribute(&["tlp:green"], None, &[], None);
    let list = candidates(&green, Tlp::Amber, &["org-b".into()]).expect("event");
    assert!(list[0].recipients.is_empty());
    let refused = candidates(&one_attribute(&[], Some("4"), &[], None), Tlp::Green, &[]).expect("event");
    let reason = refused[0].body().expect("an item or a refusal").expect_err("RED without recipients");
    assert!(reason.message.contains("a sharing group"), "{}", reason.message);
}

/// An event as PyMISP 2.5 writes it (`MISPEvent.to_json()`): strings for numbers, an
/// object, a galaxy with its tag, attribute tags.
fn pymisp_event() -> Value {
    json!({
        "uuid": EVENT_UUID,
        "info": "Phishing wave",
        "distribution": "3",
        "Tag": [{"name": "tlp:green"}, {"name": "misp-galaxy:mitre-attack-pattern=\"Spearphishing Attachment - T1566.001\""}],
        "Attribute": [
            {"uuid": "3783a128-6e68-410f-9b6c-b8d97b8669cc", "type": "ip-dst", "value": "203.0.113.7",
             "category": "Network activity", "to_ids": true, "comment": "C2", "Tag": [{"name": "tlp:amber"}]},
            {"uuid": "ee49d6fe-785c-4eec-a97b-de606456d899", "type": "ip-dst|port", "value": "2001:DB8::1|443",
             "category": "Network activity", "to_ids": true},
            {"uuid": "def803ed-ee13-4860-afb4-f21ac34b2d1d", "type": "filename|sha256",
             "value": format!("evil.exe|{}", "A".repeat(64)), "category": "Payload delivery"},
            {"uuid": "0b7e1c1e-1111-4c1c-9c1c-111111111111", "type": "domain", "value": "Evil[.]Example"},
            {"uuid": "0b7e1c1e-2222-4c1c-9c1c-222222222222", "type": "vulnerability", "value": "cve-2021-44228",
             "comment": "Log4Shell"},
            {"uuid": "0b7e1c1e-3333-4c1c-9c1c-333333333333", "type": "btc", "value": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"},
            {"uuid": "0b7e1c1e-4444-4c1c-9c1c-444444444444", "type": "ip-src", "value": "999.1.1.1"},
            {"uuid": "0b7e1c1e-5555-4c1c-9c1c-555555555555", "type": "domain", "value": "gone.example", "deleted": true},
            {"uuid": "0b7e1c1e-6666-4c1c-9c1c-666666666666", "type": "domain", "value": "evil.example"},
        ],
        "Object": [{
            "name": "file", "uuid": "992591ec-9c16-4f18-9a21-ceeaa04ba73b", "distribution": "1",
            "Attribute": [
                {"uuid": "809aca53-8056-41a6-beb8-0a5119616bf6", "object_relation": "sha256", "type": "sha256", "value": "b".repeat(64)},
                {"uuid": "3fcb9dc9-e4a7-4018-9f56-b65c0228f884", "object_relation": "filename", "type": "filename", "value": "x.exe",
                 "Galaxy": [{"type": "mitre-attack-pattern", "GalaxyCluster": [{
                     "type": "mitre-attack-pattern", "value": "User Execution - T1204", "uuid": "8c32eb4d-805f-4fc5-bf60-c4d476c131b5",
                     "meta": {"external_id": ["T1204"], "kill_chain": ["mitre-attack:execution"]}, "distribution": "0"}]}]}
            ]
        }],
        "Galaxy": [{
            "type": "mitre-attack-pattern", "name": "Attack Pattern",
            "GalaxyCluster": [
                {"type": "mitre-attack-pattern", "value": "Spearphishing Attachment - T1566.001",
                 "uuid": "2e34237d-8574-43f6-aace-ae2915de8597", "distribution": "0",
                 "meta": {"external_id": ["T1566.001"], "kill_chain": ["mitre-attack:initial-access"]}},
                {"type": "mitre-intrusion-set", "value": "APT28 - G0007", "meta": {"external_id": ["G0007"]}}
            ]
        }]
    })
}

fn summary(c: &Candidate) -> String {
    let body = match c.body().expect("an item or a refusal") {
        Ok(Body::Indicator(b)) => format!("{} {} {:?}", b.indicator_type, b.value, b.description),
        Ok(Body::Advisory(a)) => format!("advisory {} {:?}", a.cve_id, a.description),
        Ok(Body::Technique(t)) => format!("technique {} {} {:?}", t.attack_id, t.name, t.tactics),
        Ok(other) => format!("{:?}", other.kind()),
        Err(r) => format!("refused {}", r.code),
    };
    format!("{body} {} {}", c.tlp.expect("MISP settles every label"), c.id.as_deref().unwrap_or("-"))
}

#[test]
fn a_pymisp_event_becomes_typed_candidates_with_their_labels() {
    for wrapped in [false, true] {
        let event = if wrapped { json!({"Event": pymisp_event()}) } else { pymisp_event() };
        let list = candidates(&event, Tlp::Amber, &[]).expect("an event");
        let got: Vec<String> = list.iter().map(summary).collect();
        let technique_id = |t: &str| {
            let ns = uuid::Uuid::parse_str(EVENT_UUID).expect("uuid");
            format!("attack-pattern--{}", uuid::Uuid::new_v5(&ns, t.as_bytes()))
        };
        let expected = vec![
            "ipv4 203.0.113.7 Some(\"C2\") TLP:AMBER indicator--3783a128-6e68-410f-9b6c-b8d97b8669cc".to_string(),
            "ipv6 2001:db8::1 Some(\"port 443\") TLP:GREEN indicator--ee49d6fe-785c-4eec-a97b-de606456d899".into(),
            format!(
                "sha256 {} Some(\"file name evil.exe\") TLP:GREEN indicator--def803ed-ee13-4860-afb4-f21ac34b2d1d",
                "a".repeat(64)
            ),
            "domain evil.example None TLP:GREEN indicator--0b7e1c1e-1111-4c1c-9c1c-111111111111".into(),
            "advisory CVE-2021-44228 Some(\"Log4Shell\") TLP:GREEN vulnerability--0b7e1c1e-2222-4c1c-9c1c-222222222222"
                .into(),
            "refused MISP_UNSUPPORTED_TYPE TLP:GREEN -".into(),
            "refused INVALID_INDICATOR TLP:GREEN -".into(),
            // The deleted attribute is skipped; the same domain again is a duplicate.
            "refused DUPLICATE_IN_BATCH TLP:GREEN -".into(),
            // The object's distribution 1 (this community only) bounds its attributes.
            format!("sha256 {} None TLP:AMBER indicator--809aca53-8056-41a6-beb8-0a5119616bf6", "b".repeat(64)),
            "filename x.exe None TLP:AMBER indicator--3fcb9dc9-e4a7-4018-9f56-b65c0228f884".into(),
            // Techniques: once each (the event's galaxy and its tag name the same one),
            // labelled like what named them; the intrusion set is not a technique.
            format!("technique T1204 User Execution [\"execution\"] TLP:AMBER {}", technique_id("T1204")),
            format!(
                "technique T1566.001 Spearphishing Attachment [\"initial-access\"] TLP:GREEN {}",
                technique_id("T1566.001")
            ),
        ];
        assert_eq!(got, expected, "wrapped {wrapped}");
        // Every candidate has a source naming what it came from.
        assert!(list[0].source.starts_with("Attribute[0] ip-dst 203.0.113.7"), "{}", list[0].source);
        assert!(list[8].source.starts_with("Object[0] file / Attribute[0] sha256"), "{}", list[8].source);
        // Other tags are labels, on the attribute's candidate and the event's techniques.
        assert!(list[0].labels.iter().any(|l| l.contains("T1566.001")), "{:?}", list[0].labels);
        assert!(list.iter().all(|c| !c.labels.iter().any(|l| l.starts_with("tlp:"))));
        // The same event read twice gives the same ids (a re-import finds duplicates).
        let again = candidates(&event, Tlp::Amber, &[]).expect("an event");
        assert_eq!(list.iter().map(|c| &c.id).collect::<Vec<_>>(), again.iter().map(|c| &c.id).collect::<Vec<_>>());
    }
}

#[test]
fn what_is_not_an_event_is_refused_whole() {
    for bad in [
        json!([1, 2]),
        json!("event"),
        json!({"Event": 3}),
        json!({"hello": "world"}),
        json!({"uuid": EVENT_UUID, "Attribute": {"type": "ip-dst"}}),
        json!({"uuid": EVENT_UUID, "Tag": [{"colour": "#fff"}]}),
    ] {
        let refused = candidates(&bad, Tlp::Amber, &[]).expect_err("not an event");
        assert_eq!(refused.code, Code::MispNotAnEvent, "{bad}");
        assert!(!refused.message_ja.is_ascii());
    }
    let huge: Vec<Value> = (0..=MAX_ATTRIBUTES)
        .map(|i| json!({"type": "ip-dst", "value": format!("10.0.{}.{}", i / 256, i % 256)}))
        .collect();
    let refused = candidates(&json!({"Attribute": huge}), Tlp::Amber, &[]).expect_err("too many");
    assert_eq!(refused.code, Code::BatchTooLarge);
}

#[test]
fn attribute_types_validate_like_the_typed_mutations() {
    let ok = |kind: &str, value: &str| {
        attribute_body(kind, value, "").map(|b| match b {
            Body::Indicator(i) => format!("{} {}", i.indicator_type, i.value),
            Body::Advisory(a) => format!("advisory {}", a.cve_id),
            other => format!("{:?}", other.kind()),
        })
    };
    assert_eq!(ok("ip-src", " 192.0.2.1 "), Ok("ipv4 192.0.2.1".into()));
    assert_eq!(ok("ip-dst", "192.0.2.0/24"), Ok("cidr 192.0.2.0/24".into()));
    assert_eq!(ok("hostname", "WWW.Example.COM"), Ok("domain www.example.com".into()));
    assert_eq!(ok("url", "hxxp://evil.example/x"), Ok("url http://evil.example/x".into()));
    assert_eq!(ok("md5", &"F".repeat(32)), Ok(format!("md5 {}", "f".repeat(32))));
    assert_eq!(ok("sha1", &"0".repeat(40)), Ok(format!("sha1 {}", "0".repeat(40))));
    assert_eq!(ok("filename|md5", &format!("a.exe|{}", "1".repeat(32))), Ok(format!("md5 {}", "1".repeat(32))));
    assert_eq!(ok("email-dst", "Bob@Example.com"), Ok("email Bob@example.com".into()));
    assert_eq!(ok("email-src", "x@example.com"), Ok("email x@example.com".into()));
    assert_eq!(ok("vulnerability", "CVE-2024-3094"), Ok("advisory CVE-2024-3094".into()));
    let code = |kind: &str, value: &str| attribute_body(kind, value, "").map(|_| ()).expect_err(value).code;
    assert_eq!(code("md5", "xyz"), Code::InvalidIndicator);
    assert_eq!(code("ip-dst|port", "192.0.2.1"), Code::InvalidInput);
    assert_eq!(code("vulnerability", "GHSA-xxxx"), Code::InvalidInput);
    assert_eq!(code("domain", "bad domain.example"), Code::InvalidIndicator);
    for unsupported in ["btc", "regkey", "text", "uri", "domain|ip", "AS", ""] {
        assert_eq!(code(unsupported, "x"), Code::MispUnsupportedType, "{unsupported}");
    }
    // The same bounds as the typed mutation: a description over 10,000 characters.
    let long = "x".repeat(10_001);
    assert_eq!(attribute_body("ip-dst", "192.0.2.1", &long).map(|_| ()).expect_err("long").code, Code::InvalidInput);
}

fn envelope(id: &str, tlp: Tlp, labels: &[&str]) -> Envelope {
    let t = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").expect("time").with_timezone(&Utc);
    Envelope {
        id: id.to_string(),
        kind: Kind::of_id(id).expect("kind"),
        revision: 2,
        created: t,
        modified: t + chrono::Duration::hours(1),
        origin_hub: "hub-a".into(),
        created_by: "org-secret".into(),
        anonymous: true,
        tlp,
        recipients: if tlp == Tlp::Red { vec!["org-b".into()] } else { Vec::new() },
        status: crate::tlp::Status::Published,
        status_reason: None,
        confidence: Some(80),
        valid_from: t,
        valid_until: None,
        labels: labels.iter().map(|l| l.to_string()).collect(),
    }
}

#[test]
fn feed_events_carry_the_label_never_name_the_submitter_and_read_back_as_the_same_item() {
    let orgc = Orgc::hub("hub-a", "Sector ISAC");
    let id = "indicator--6a1f3e0c-6e0a-4a55-9d0e-2f2d3b0a9c11";
    for tlp in Tlp::ALL {
        let env = envelope(id, tlp, &["campaign-x", "tlp:clear"]);
        let body = Body::Indicator(IndicatorBody {
            indicator_type: IndicatorType::Domain,
            value: "evil.example".into(),
            description: Some("C2".into()),
        });
        let event = feed_event(&env, &body, &orgc).expect("served");
        let text = event.to_string();
        assert!(!text.contains("org-secret") && !text.contains("org-b"), "{text}");
        let names: Vec<&str> =
            event["Event"]["Tag"].as_array().expect("tags").iter().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!(names.iter().filter(|n| n.starts_with("tlp:")).copied().collect::<Vec<_>>(), vec![tlp_tag(tlp)]);
        assert!(names.contains(&"campaign-x"));
        assert_eq!(event["Event"]["uuid"], "6a1f3e0c-6e0a-4a55-9d0e-2f2d3b0a9c11");
        assert_eq!(event["Event"]["distribution"], distribution_for(tlp).to_string());
        // Read back by the importer: the same id, body and label (RED needs its
        // recipients named again: a feed never carries them).
        let back = candidates(&event, Tlp::Clear, &["org-b".to_string()]).expect("reads back");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].id.as_deref(), Some(id));
        assert_eq!(back[0].body().expect("an item").expect("valid"), &body);
        assert_eq!(back[0].tlp, Some(tlp), "round trip of {tlp}");
        let (uuid, entry) = manifest_entry(&env, &body, &orgc).expect("listed");
        assert_eq!(uuid, "6a1f3e0c-6e0a-4a55-9d0e-2f2d3b0a9c11");
        assert_eq!(entry["timestamp"], json!(env.modified.timestamp()));
        assert_eq!(entry["Orgc"], event["Event"]["Orgc"]);
        assert_eq!(entry["Tag"], event["Event"]["Tag"]);
    }
    let technique = Body::Technique(TechniqueBody {
        attack_id: "T1566.001".into(),
        name: "Spearphishing Attachment".into(),
        tactics: vec!["initial-access".into()],
        narrative: "seen".into(),
        platforms: vec![],
        ics_asset_types: vec![],
    });
    let env = envelope("attack-pattern--6a1f3e0c-6e0a-4a55-9d0e-2f2d3b0a9c12", Tlp::Green, &[]);
    let event = feed_event(&env, &technique, &orgc).expect("served");
    assert!(event
        .to_string()
        .contains("misp-galaxy:mitre-attack-pattern=\\\"Spearphishing Attachment - T1566.001\\\""));
    let back = candidates(&event, Tlp::Amber, &[]).expect("reads back");
    assert_eq!(summary(&back[0]).split(" TLP").next(), Some("technique T1566.001 Spearphishing Attachment []"));
    let incident_env = envelope("incident--6a1f3e0c-6e0a-4a55-9d0e-2f2d3b0a9c13", Tlp::Green, &[]);
    let incident = Body::Incident(crate::model::IncidentBody {
        title: "t".into(),
        summary: "s".into(),
        sector: "energy".into(),
        occurred_at: None,
        service_impact: crate::model::ServiceImpact::None,
        impact_description: None,
        technique_ids: vec![],
        indicator_refs: vec![],
        supplier_refs: vec![],
    });
    assert!(feed_event(&incident_env, &incident, &orgc).is_none());
    assert_eq!(hash_lines(&env, &technique), Vec::<String>::new());
}

#[test]
fn feed_uuids_name_items_only_in_canonical_form() {
    let u = "6a1f3e0c-6e0a-4a55-9d0e-2f2d3b0a9c11";
    assert_eq!(
        item_ids(u).expect("canonical"),
        vec![format!("indicator--{u}"), format!("vulnerability--{u}"), format!("attack-pattern--{u}")]
    );
    assert_eq!(item_ids(&u.to_uppercase()), None);
    assert_eq!(item_ids("6a1f3e0c6e0a4a559d0e2f2d3b0a9c11"), None);
    assert_eq!(item_ids("../etc/passwd"), None);
    assert_eq!(event_uuid(&format!("indicator--{u}")), Some(u));
}

#[test]
fn hash_lines_are_md5_of_the_value_and_the_event_uuid() {
    let env = envelope("indicator--6a1f3e0c-6e0a-4a55-9d0e-2f2d3b0a9c11", Tlp::Green, &[]);
    let body = Body::Indicator(IndicatorBody {
        indicator_type: IndicatorType::Domain,
        value: "abc".into(),
        description: None,
    });
    assert_eq!(hash_lines(&env, &body), vec!["900150983cd24fb0d6963f7d28e17f72,6a1f3e0c-6e0a-4a55-9d0e-2f2d3b0a9c11"]);
}
