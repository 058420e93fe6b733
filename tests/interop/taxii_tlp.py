"""What each member reads over TAXII 2.1 with taxii2-client 2.3.0: every collection it
may read, paged with as_pages, through HTTP Basic and through Bearer (which must agree),
each page checked with stix2-validator 3.3.2 and stix2; the manifest must list exactly
the objects served. By-id probes show how a hidden object answers next to a missing one.

    python taxii_tlp.py DISCOVERY_URL --member NAME=TOKEN ... [--probe STIX_ID ...]
                        [--per-request N] [--basic-only]

Prints {"ok", "members": {NAME: {"collections": {TITLE: {"id", "can_read", "can_write",
"objects": [full objects], "pages": [sizes]}}, "probes": {TITLE: {ID: {"object": [status,
body], "versions": [status, body]}}}}}, "problems": [...]}. In each probe body the
probed id is replaced by "<id>"; for each probed type, "missing:<type>" is a random id
of that type no server holds, probed the same way.
"""

import argparse
import uuid

from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from common import bound_total_time, check, check_objects, fail_on, raw_session, run, taxii_connection

MAX_PAGES = 10_000


def read_collection(coll, per_request, where, problems):
    objects, sizes = [], []
    for envelope in as_pages(coll.get_objects, per_request=per_request):
        check(len(sizes) < MAX_PAGES, f"{where}: more than {MAX_PAGES} pages")
        page = envelope.get("objects") or []
        check(len(page) <= per_request, f"{where}: {len(page)} objects on a page of limit {per_request}")
        check_objects(page, f"{where} page {len(sizes) + 1}", problems)
        objects.extend(page)
        sizes.append(len(page))
    manifest = []
    for envelope in as_pages(coll.get_manifest, per_request=per_request):
        check(len(manifest) < MAX_PAGES * per_request, f"{where}: manifest without end")
        manifest.extend(envelope.get("objects") or [])
    served = sorted((o["id"], o.get("modified", o.get("created"))) for o in objects)
    listed = sorted((r["id"], r["version"]) for r in manifest)
    check(served == listed, f"{where}: the manifest lists {len(listed)} objects, the objects endpoint serves {len(served)}")
    ids = [o["id"] for o in objects]
    check(len(ids) == len(set(ids)), f"{where}: an object served twice")
    return objects, sizes


def read_member(discovery, token, scheme, per_request, problems, name):
    conn = taxii_connection(token, scheme=scheme)
    server = Server(discovery, conn=conn)
    root = ApiRoot((server.default or server.api_roots[0]).url, conn=conn)
    result = {}
    for listed in root.collections:
        coll = Collection(listed.url, conn=conn)
        entry = {"id": coll.id, "can_read": coll.can_read, "can_write": coll.can_write, "url": coll.url}
        if coll.can_read:
            objects, sizes = read_collection(coll, per_request, f"{name} ({scheme}) {coll.title!r}", problems)
            entry["objects"] = objects
            entry["pages"] = sizes
        check(coll.title not in result, f"two collections titled {coll.title!r}")
        result[coll.title] = entry
    return result


def probe(session, token, url, ident):
    r = session.get(url, auth=("member", token))
    return [r.status_code, r.text.replace(ident, "<id>")]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("discovery")
    ap.add_argument("--member", action="append", default=[], help="NAME=TOKEN")
    ap.add_argument("--probe", action="append", default=[], help="a STIX id to GET by id as every member")
    ap.add_argument("--per-request", type=int, default=2)
    ap.add_argument("--basic-only", action="store_true", help="skip Bearer (medallion has only Basic)")
    args = ap.parse_args()
    bound_total_time(300)
    problems = []
    members = {}
    raw = raw_session()
    kinds = sorted({p.split("--")[0] for p in args.probe})
    missing = {f"missing:{kind}": f"{kind}--{uuid.uuid4()}" for kind in kinds}
    probe_ids = list(args.probe) + list(missing)
    for spec in args.member:
        name, _, token = spec.partition("=")
        check(name and token, f"--member {spec!r}: expected NAME=TOKEN")
        basic = read_member(args.discovery, token, "basic", args.per_request, problems, name)
        if not args.basic_only:
            bearer = read_member(args.discovery, token, "bearer", args.per_request, [], name)
            for title, entry in basic.items():
                other = bearer.get(title, {})
                same = [o["id"] for o in entry.get("objects", [])] == [o["id"] for o in other.get("objects", [])]
                check(same and set(bearer) == set(basic), f"{name}: Basic and Bearer read {title!r} differently")
        probes = {}
        for title, entry in basic.items():
            answers = {}
            for label in probe_ids:
                ident = missing.get(label, label)
                answers[label] = {
                    "object": probe(raw, token, f"{entry['url']}objects/{ident}/", ident),
                    "versions": probe(raw, token, f"{entry['url']}objects/{ident}/versions/", ident),
                }
            probes[title] = answers
        members[name] = {"collections": basic, "probes": probes}
    out = {"members": members, "problems": problems}
    return fail_on(out, problems)


if __name__ == "__main__":
    run(main)
