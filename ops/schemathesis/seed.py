"""Seeds a fresh hub for ops/schemathesis.sh and writes schemathesis's configuration.

usage: seed.py BASE_URL TOKEN COORDINATOR_TOKEN OTHER_ORG_ID OUT_TOML

Shares a few items as the member (indicators under CLEAR, GREEN, AMBER and RED, a
technique, an incident, an advisory, a proposed supplier, a sighting, a correction);
the coordinator registers a supplier and an offering (which members may assess). Then
it writes OUT_TOML: fuzz dictionaries with the ids, values and cursors the hub
answered, bound to the arguments that take them, so that part of the generated
queries reach items that exist instead of stopping at NOT_FOUND or INVALID_INPUT.
Standard library only (it runs in the schemathesis virtual environment).
"""

from __future__ import annotations

import json
import sys
import urllib.request

BASE, TOKEN, COORDINATOR, OTHER_ORG, OUT = sys.argv[1:6]


def gql(query: str, token: str = TOKEN) -> dict:
    request = urllib.request.Request(
        f"{BASE}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    if answer.get("errors") or not answer.get("data"):
        sys.exit(f"seeding failed: {query}\n-> {json.dumps(answer, ensure_ascii=False)}")
    return answer["data"]


VALUES = [
    ("IPV4", "45.155.205.17"),
    ("DOMAIN", "update-check.kairo-cdn.net"),
    ("SHA256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    ("URL", "http://91.92.240.8/payload.bin"),
    ("IPV4", "80.66.88.211"),
    ("EMAIL", "invoice@seikyu-mail.top"),
    ("DOMAIN", "grid-portal-login.com"),
]


def indicators(entries, sharing: str) -> list[str]:
    items = ", ".join(f'{{type: {t}, value: {json.dumps(v)}, description: "seen at a substation"}}' for t, v in entries)
    data = gql(f"mutation {{ shareIndicators(input: [{items}], sharing: {sharing}) {{ id }} }}")
    return [i["id"] for i in data["shareIndicators"]]


me = gql("{ me { organization { id } } }")["me"]["organization"]["id"]
items = indicators(VALUES[:4], '{tlp: GREEN, confidence: 80, labels: ["scada"]}')
items += indicators(VALUES[4:5], "{tlp: CLEAR}")
items += indicators(VALUES[5:6], "{tlp: AMBER}")
items += indicators(VALUES[6:7], f'{{tlp: RED, recipients: ["{OTHER_ORG}"]}}')
items.append(
    gql(
        'mutation { shareTechnique(input: {attackId: "T0866", name: "Exploitation of Remote Services", '
        'narrative: "Exploitation of remote services on an HMI"}, sharing: {tlp: GREEN}) { id } }'
    )["shareTechnique"]["id"]
)
items.append(
    gql(
        'mutation { reportIncident(input: {title: "Phishing wave", summary: "Invoices with macros", '
        'sector: "energy", serviceImpact: NONE, techniqueIds: ["T0866"]}, sharing: {tlp: GREEN}) { id } }'
    )["reportIncident"]["id"]
)
items.append(
    gql(
        'mutation { shareAdvisory(input: {cveId: "CVE-2024-12345", title: "RTU firmware flaw", '
        'affected: [{cpe: "cpe:2.3:o:example:rtu-500_firmware:*:*:*:*:*:*:*:*", versionEndExcluding: "2.4"}]}, sharing: {tlp: CLEAR}) { id } }'
    )["shareAdvisory"]["id"]
)
proposed = gql(
    'mutation { addSupplier(input: {legalName: "Example Controls K.K.", nameJa: "例制御株式会社", country: "JP"}) { id } }'
)["addSupplier"]["id"]
supplier = gql(
    'mutation { addSupplier(input: {legalName: "Kanto Relay Works Co., Ltd.", nameJa: "関東リレー工業株式会社", '
    'country: "JP", cpeVendors: ["kanto_relay"]}) { id } }',
    COORDINATOR,
)["addSupplier"]["id"]
offering = gql(
    f'mutation {{ addOffering(input: {{supplierId: "{supplier}", name: "KR-7 protection relay", kind: OT_DEVICE, '
    'cpeProducts: ["cpe:2.3:h:kanto_relay:kr-7:*:*:*:*:*:*:*:*"]}) { id } }',
    COORDINATOR,
)["addOffering"]["id"]
gql(f'mutation {{ reportSighting(indicator: "{items[0]}", count: 3) {{ id }} }}')
gql(f'mutation {{ correct(id: "{items[1]}", correction: {{description: "also seen on a second site"}}) {{ __typename }} }}')
schemes = gql("{ assessmentSchemes { id version criteria { id } } }")["assessmentSchemes"]
cursors = [gql("{ changes(limit: 3) { cursor } }")["changes"]["cursor"]]
end = gql("{ indicators(first: 2) { pageInfo { endCursor } } }")["indicators"]["pageInfo"]["endCursor"]
if end:
    cursors.append(end)


def toml_list(values) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


dictionaries = {
    "items": items,
    "orgs": [me, OTHER_ORG],
    "suppliers": [supplier, proposed],
    "offerings": [offering],
    "values": [v for _, v in VALUES] + ["8.8.8.8", "localhost"],
    "cursors": cursors,
    "past": ["2025-11-03T08:15:00Z", "2025-12-01T00:00:00+09:00"],
    "future": ["2031-06-30T12:00:00+09:00", "2040-01-01T00:00:00Z"],
    "attack": ["T0866", "T1566.001"],
    "cves": ["CVE-2024-12345", "CVE-2025-0001"],
    "countries": ["JP", "US"],
    "counts": [0, 1, 50, 100],
    "texts": ["Example Controls K.K.", "例制御株式会社", "Phishing wave at a substation", "HMI exposed on port 502"],
    "cpes": ["cpe:2.3:o:example:rtu-500_firmware:2.1:*:*:*:*:*:*:*", "cpe:2.3:a:example:scada_hmi:*:*:*:*:*:*:*:*"],
    "vendors": ["example", "example_controls"],
    "labels": ["scada", "phishing", "ot"],
    "platforms": ["Windows", "Linux", "Human-Machine Interface"],
    "schemes": sorted({s["id"] for s in schemes}),
    "versions": sorted({s["version"] for s in schemes}),
    "criteria": sorted({c["id"] for s in schemes for c in s["criteria"]}),
    "conclusions": ["ok", "warning", "blocker", "not_applicable"],
    "answers": [0, 2, 4],
}
bindings = {
    "items": [
        "Query.node.id",
        "Query.sightingReports.indicator",
        "Mutation.revoke.id",
        "Mutation.approve.id",
        "Mutation.approveWithChanges.id",
        "Mutation.reject.id",
        "Mutation.changeLabel.id",
        "Mutation.correct.id",
        "Mutation.reportSighting.indicator",
        "Mutation.recordDispute.assessment",
        "*.*.input.indicatorIds[*]",
    ],
    "orgs": [
        "Mutation.setOrganizationTrust.id",
        "Mutation.changeLabel.recipients[*]",
        "*.*.sharing.recipients[*]",
    ],
    "suppliers": [
        "Query.supplier.id",
        "Mutation.approveRegistryEntry.id",
        "*.*.input.supplierId",
        "*.*.input.supplierIds[*]",
        "*.*.input.parentId",
    ],
    "values": [
        "Query.lookup.values[*]",
        "Query.checkAllowlist.values[*]",
        "Mutation.shareIndicators.input[*].value",
    ],
    "cursors": ["*.*.after"],
    "past": [
        "*.*.input.observed",
        "Mutation.reportSighting.firstSeen",
        "Mutation.reportSighting.lastSeen",
        "*.*.input.occurredAt",
    ],
    "future": ["*.*.sharing.validUntil", "*.*.correction.validUntil", "*.*.input.validUntil"],
    "offerings": ["Query.offering.id", "*.*.input.offeringIds[*]"],
    "attack": ["*.*.input.attackId", "*.*.input.techniqueIds[*]"],
    "cves": ["*.*.input.cveId"],
    "countries": ["*.*.input.country"],
    "counts": ["*.*.first", "*.*.limit", "*.*.sharing.confidence", "Mutation.reportSighting.count"],
    "texts": [
        "*.*.input.legalName",
        "*.*.input.nameJa",
        "*.*.input.nameEn",
        "*.*.input.name",
        "*.*.input.title",
        "*.*.input.summary",
        "*.*.input.narrative",
        "*.*.input.description",
        "*.*.input.impactDescription",
        "*.*.input.sector",
        "*.*.input[*].description",
        "*.*.input.findings[*].description",
        "*.*.input.assessorName",
    ],
    "cpes": ["*.*.input.affected[*].cpe", "*.*.input.cpeProducts[*]"],
    "vendors": ["*.*.input.cpeVendors[*]"],
    "labels": ["*.*.sharing.labels[*]", "*.*.input.tactics[*]", "*.*.input.sectors[*]"],
    "platforms": ["*.*.input.platforms[*]", "*.*.input.icsAssetTypes[*]"],
    "schemes": ["*.*.input.schemeId"],
    "versions": ["*.*.input.schemeVersion"],
    "criteria": ["*.*.input.results[*].criterion"],
    "conclusions": ["*.*.input.conclusion"],
    "answers": ["*.*.input.results[*].answer"],
}

# Free text and formats the hub checks closely: mostly valid values, so that whole
# inputs pass now and then; ids and the rest: half and half.
PROBABILITY = {
    name: 0.8
    for name in ("texts", "cpes", "vendors", "labels", "platforms", "past", "future", "criteria", "attack", "cves")
}

with open(OUT, "w", encoding="utf-8") as out:
    out.write("# Written by ops/schemathesis/seed.py for one run: what the seeded hub answered.\n")
    for name, values in dictionaries.items():
        out.write(f"[dictionaries.{name}]\nvalues = {toml_list(values)}\n\n")
    out.write("[parameters]\n")
    for name, keys in bindings.items():
        for key in keys:
            out.write(f'"{key}" = {{ dictionary = "{name}", probability = {PROBABILITY.get(name, 0.5)} }}\n')
print(f"seeded {len(items)} items, 2 suppliers and an offering; dictionaries in {OUT}")
