"""PyMISP's side of tests/tests/misp.rs (run with the interop venv's python).

  misp_events.py build        prints a JSON list of MISP events as PyMISP exports them
                              (MISPEvent.to_json(), some wrapped as {"Event": ...} the
                              way MISP's API answers)
  misp_events.py load FILE... loads each served feed event with MISPEvent().load and
                              prints what PyMISP read: uuid, tags, attributes, as JSON
"""

import json
import sys

from pymisp import MISPEvent, MISPGalaxy, MISPGalaxyCluster, MISPObject


def attack_galaxy(value, external_id, tactic):
    galaxy = MISPGalaxy()
    galaxy.from_dict(name="Attack Pattern", type="mitre-attack-pattern",
                     uuid="c4e851fa-775f-11e7-8163-b774922098cd")
    cluster = MISPGalaxyCluster()
    cluster.from_dict(value=value, type="mitre-attack-pattern",
                      uuid="2e34237d-8574-43f6-aace-ae2915de8597",
                      tag_name='misp-galaxy:mitre-attack-pattern="%s"' % value,
                      meta={"external_id": [external_id], "kill_chain": ["mitre-attack:" + tactic]})
    galaxy.clusters.append(cluster)
    return galaxy


def build():
    events = []

    # 1. A GREEN event shared with all communities: typed attributes, one tighter
    #    attribute, an object of narrower distribution, an unsupported type, an ATT&CK
    #    galaxy (and its tag, as MISP adds one).
    e = MISPEvent()
    e.uuid = "5a1b0000-0000-4000-8000-000000000001"
    e.info = "Phishing wave against grid operators"
    e.distribution = 3
    e.add_tag("tlp:green")
    e.add_tag('misp-galaxy:mitre-attack-pattern="Spearphishing Attachment - T1566.001"')
    e.add_tag("campaign:grid-phish")
    a = e.add_attribute("ip-dst", "198.51.100.7", comment="C2 server")
    a.uuid = "5a1b0000-0000-4000-8000-0000000000a1"
    a.add_tag("tlp:amber")
    e.add_attribute("domain", "Evil-Grid[.]Example").uuid = "5a1b0000-0000-4000-8000-0000000000a2"
    e.add_attribute("url", "hxxps://evil-grid.example/login").uuid = "5a1b0000-0000-4000-8000-0000000000a3"
    e.add_attribute("filename|md5", "invoice.pdf.exe|" + "ab" * 16).uuid = "5a1b0000-0000-4000-8000-0000000000a4"
    e.add_attribute("email-src", "billing@evil-grid.example").uuid = "5a1b0000-0000-4000-8000-0000000000a5"
    e.add_attribute("vulnerability", "CVE-2021-44228", comment="Log4Shell").uuid = "5a1b0000-0000-4000-8000-0000000000a6"
    e.add_attribute("btc", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT").uuid = "5a1b0000-0000-4000-8000-0000000000a7"
    e.add_attribute("ip-src|port", "2001:db8::7|8443").uuid = "5a1b0000-0000-4000-8000-0000000000a8"
    o = MISPObject("file")
    o.distribution = 1
    o.add_attribute("sha256", "cd" * 32).uuid = "5a1b0000-0000-4000-8000-0000000000b1"
    o.add_attribute("filename", "invoice.pdf.exe").uuid = "5a1b0000-0000-4000-8000-0000000000b2"
    e.add_object(o)
    e.galaxies.append(attack_galaxy("Spearphishing Attachment - T1566.001", "T1566.001", "initial-access"))
    events.append(json.loads(e.to_json()))

    # 2. No TLP tag, your organisation only: AMBER+STRICT, whatever the default.
    e = MISPEvent()
    e.uuid = "5a1b0000-0000-4000-8000-000000000002"
    e.info = "Internal triage"
    e.distribution = 0
    e.add_attribute("hostname", "beacon.evil-grid.example").uuid = "5a1b0000-0000-4000-8000-0000000000c1"
    events.append({"Event": json.loads(e.to_json())})

    # 3. A sharing group: a closed audience, RED, refused unless recipients are named.
    e = MISPEvent()
    e.uuid = "5a1b0000-0000-4000-8000-000000000003"
    e.info = "Sharing group only"
    e.distribution = 4
    e.sharing_group_id = 7
    e.add_tag("tlp:green")
    e.add_attribute("sha1", "ef" * 20).uuid = "5a1b0000-0000-4000-8000-0000000000d1"
    events.append({"Event": json.loads(e.to_json())})

    # 4. A tlp: tag that is not a TLP 2.0 label: the whole event is refused.
    e = MISPEvent()
    e.uuid = "5a1b0000-0000-4000-8000-000000000004"
    e.info = "Chatham House"
    e.add_tag("tlp:ex:chr")
    e.add_attribute("domain", "chr.example")
    events.append(json.loads(e.to_json()))

    # 5. Two labels on one attribute: that attribute is refused, the rest imported.
    e = MISPEvent()
    e.uuid = "5a1b0000-0000-4000-8000-000000000005"
    e.info = "Mixed"
    e.add_tag("tlp:clear")
    e.distribution = 3
    a = e.add_attribute("domain", "mixed.example")
    a.add_tag("tlp:green")
    a.add_tag("tlp:red")
    e.add_attribute("domain", "clear.example").uuid = "5a1b0000-0000-4000-8000-0000000000e2"
    events.append(json.loads(e.to_json()))

    print(json.dumps(events))


def load(paths):
    out = []
    for path in paths:
        event = MISPEvent()
        with open(path, "rb") as served:
            event.load(served)
        out.append({
            "uuid": event.uuid,
            "info": event.info,
            "distribution": int(event.distribution),
            "orgc": event.Orgc.name,
            "tags": [t.name for t in event.tags],
            "attributes": [[a.type, a.value, a.uuid] for a in event.attributes],
        })
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"]:
        build()
    elif sys.argv[1:2] == ["load"]:
        load(sys.argv[2:])
    else:
        sys.exit(__doc__)
