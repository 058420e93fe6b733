"""The full taxii2-client 2.3.0 sequence against a TAXII 2.1 server (interop.md §1.9),
as a member's TAXII client would run it, every page checked with stix2-validator 3.3.2
(no error, no warning) and stix2 3.0.2's parser.

    python taxii_smoke.py DISCOVERY_URL TOKEN [--collection TITLE] [--bearer] [--medallion]

TOKEN is the member's hub token, sent as the HTTP Basic password (any user name) and,
with --bearer, also as `Authorization: Bearer`. The collection (default: the first
the member may read and write) is read, written to and paged through; the script
posts two versions of one indicator (deleted at the end) and one more indicator it
keeps. --medallion makes room for medallion 3.0.0's known deviations (interop.md §2.2),
for checking this script against the reference server: it deletes only the latest
version without match[version]=all, and counts a duplicate POST as a failure.

Prints {"ok", "collections", "collection", "added", "kept", "versions", "paged_ids",
"pages", "manifest_ids", "added_after_ids", "headers", "problems", ...}.
"""

import argparse
import datetime
import uuid

import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from common import (
    TAXII_MEDIA_TYPE,
    TAXII_TIMESTAMP,
    bound_total_time,
    check,
    check_objects,
    fail_on,
    raw_session,
    run,
    taxii_connection,
)

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
MAX_PAGES = 10_000


def stix_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def indicator(ident, value, created, modified, description):
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": ident,
        "created": stix_time(created),
        "modified": stix_time(modified),
        "name": f"taxii smoke {value}",
        "description": description,
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": stix_time(created),
        "object_marking_refs": [TLP_GREEN],
    }


def walk(func, per_request, where, problems, validate=True, **filters):
    """Every page of a paged endpoint through as_pages; returns (records, page sizes)."""
    records, sizes = [], []
    for envelope in as_pages(func, per_request=per_request, **filters):
        check(len(sizes) < MAX_PAGES, f"{where}: more than {MAX_PAGES} pages")
        page = envelope.get("objects") or []
        check(isinstance(page, list), f"{where}: 'objects' is not a list: {envelope!r:.200}")
        check("objects" in envelope or not envelope.get("more"), f"{where}: an empty page says more")
        if per_request:
            check(len(page) <= per_request, f"{where}: {len(page)} objects on a page of limit {per_request}")
        if validate:
            check_objects(page, f"{where} page {len(sizes) + 1}", problems)
        records.extend(page)
        sizes.append(len(page))
    return records, sizes


def one_envelope(envelope, where, problems):
    objects = envelope.get("objects") or []
    check_objects(objects, where, problems)
    return objects


def check_status(status, total, where):
    check(status.status == "complete", f"{where}: status {status.status!r}, not complete")
    check(
        (status.total_count, status.success_count, status.failure_count, status.pending_count) == (total, total, 0, 0),
        f"{where}: counts total={status.total_count} success={status.success_count} "
        f"failure={status.failure_count} pending={status.pending_count}, expected {total} successes",
    )


def http_status(call):
    """The HTTP status of a taxii2-client call that must fail."""
    try:
        call()
    except requests.HTTPError as e:
        return e.response.status_code, e.response
    return 200, None


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("discovery")
    ap.add_argument("token")
    ap.add_argument("--collection", help="the title of the collection to use")
    ap.add_argument("--bearer", action="store_true", help="also check Authorization: Bearer")
    ap.add_argument("--medallion", action="store_true", help="allow medallion 3.0.0's known deviations")
    args = ap.parse_args()
    bound_total_time(300)
    problems = []
    out = {"problems": problems}

    # 0. A wrong password, and none at all: 401 with a challenge.
    raw = raw_session()
    for label, auth in [("a wrong token", ("member", args.token + "x")), ("no credentials", None)]:
        r = raw.get(args.discovery, auth=auth)
        check(r.status_code == 401, f"discovery with {label}: HTTP {r.status_code}, expected 401")
        check("WWW-Authenticate" in r.headers, f"discovery with {label}: 401 without WWW-Authenticate")
    out["challenge"] = r.headers["WWW-Authenticate"]

    conn = taxii_connection(args.token)
    # 1. Discovery.
    server = Server(args.discovery, conn=conn)
    check(bool(server.title), "discovery: no title")
    check(len(server.api_roots) >= 1, "discovery: no API root")
    if server.default is not None:
        check(server.default.url in [a.url for a in server.api_roots], "discovery: default is not an API root")
    out["discovery"] = {"title": server.title, "api_roots": [a.url for a in server.api_roots]}
    if args.bearer:
        bearer = Server(args.discovery, conn=taxii_connection(args.token, scheme="bearer"))
        check(bearer.title == server.title, "discovery with Bearer differs from Basic")

    # 2. The API root.
    api_root = server.default or server.api_roots[0]
    api_root = ApiRoot(api_root.url, conn=conn)
    check(bool(api_root.title), "API root: no title")
    check(TAXII_MEDIA_TYPE in api_root.versions, f"API root: versions {api_root.versions}")
    check(
        isinstance(api_root.max_content_length, int) and api_root.max_content_length > 0,
        f"API root: max_content_length {api_root.max_content_length!r}",
    )
    out["api_root"] = {"url": api_root.url, "title": api_root.title, "max_content_length": api_root.max_content_length}

    # 3. Collections.
    collections = api_root.collections
    out["collections"] = [
        {"id": c.id, "title": c.title, "can_read": c.can_read, "can_write": c.can_write, "media_types": c.media_types}
        for c in collections
    ]
    if args.collection:
        chosen = [c for c in collections if c.title == args.collection]
    else:
        chosen = [c for c in collections if c.can_read and c.can_write]
    check(chosen, f"no collection to read and write among {out['collections']}")
    coll = Collection(chosen[0].url, conn=conn)
    check(coll.id == chosen[0].id and coll.title == chosen[0].title, "the collection reloads differently")
    check(coll.can_read and coll.can_write, f"collection {coll.title!r}: can_read/can_write not both true")
    out["collection"] = {"id": coll.id, "title": coll.title, "url": coll.url}

    # 4-5. Add an indicator and wait for its status; read the status again.
    ident = f"indicator--{uuid.uuid4()}"
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(seconds=10)
    v1 = indicator(ident, "198.51.100.77", now, now, "first version")
    status = coll.add_objects({"objects": [v1]}, poll_interval=1, timeout=30)
    check_status(status, 1, "POST of the first version")
    check([s.get("id") for s in status.successes] == [ident], f"status successes {status.successes}")
    again = api_root.get_status(status.id)
    check_status(again, 1, "GET status")
    check(again.id == status.id, "GET status: another id")
    out["added"] = ident
    out["status_id"] = status.id

    # 6. A second version: two versions, the latest by default, all, first.
    later = now + datetime.timedelta(seconds=5)
    v2 = indicator(ident, "198.51.100.77", now, later, "second version")
    check_status(coll.add_objects({"objects": [v2]}, poll_interval=1, timeout=30), 1, "POST of the second version")
    # The exact same object again is no error (TAXII 2.1 §5.5).
    duplicate = coll.add_objects({"objects": [v2]}, poll_interval=1, timeout=30)
    if not args.medallion:
        check_status(duplicate, 1, "POST of a duplicate")
    versions = coll.object_versions(ident)
    got = sorted(versions.get("versions") or [])
    check(got == sorted([v1["modified"], v2["modified"]]), f"versions {got}, expected v1 and v2")
    out["versions"] = len(got)
    latest = one_envelope(coll.get_object(ident), "object by id", problems)
    check([o["modified"] for o in latest] == [v2["modified"]], f"object by id: {[o.get('modified') for o in latest]}")
    check(latest[0].get("description") == "second version", "object by id: not the second version's content")
    every = one_envelope(coll.get_object(ident, version="all"), "object by id, version=all", problems)
    check(
        sorted(o["modified"] for o in every) == sorted([v1["modified"], v2["modified"]]),
        f"version=all: {[o.get('modified') for o in every]}",
    )
    first = one_envelope(coll.get_object(ident, version="first"), "object by id, version=first", problems)
    check([o["modified"] for o in first] == [v1["modified"]], f"version=first: {[o.get('modified') for o in first]}")
    exact = one_envelope(coll.get_object(ident, version=v1["modified"]), "object by id, exact version", problems)
    check([o["modified"] for o in exact] == [v1["modified"]], f"exact version: {[o.get('modified') for o in exact]}")

    # One more indicator, kept: the caller checks it arrived through the share pipeline.
    kept = f"indicator--{uuid.uuid4()}"
    check_status(
        coll.add_objects({"objects": [indicator(kept, "198.51.100.78", now, now, "kept")]}, poll_interval=1, timeout=30),
        1,
        "POST of the kept indicator",
    )
    out["kept"] = kept

    # 7. Filters.
    indicators, _ = walk(coll.get_objects, 0, "match[type]=indicator", problems, type="indicator")
    check(all(o.get("type") == "indicator" for o in indicators), "match[type]=indicator returned other types")
    check(ident in {o["id"] for o in indicators}, "match[type]=indicator misses the added indicator")
    check(
        [o["modified"] for o in indicators if o["id"] == ident] == [v2["modified"]],
        "match[type]: not exactly the latest version of the added indicator",
    )
    by_id, _ = walk(coll.get_objects, 0, "match[id]", problems, id=ident)
    check([o["id"] for o in by_id] == [ident], f"match[id]: {[o.get('id') for o in by_id]}")
    two_types = ["indicator", "attack-pattern"]
    typed, _ = walk(coll.get_objects, 0, "match[spec_version]+match[type]", problems, spec_version="2.1", type=two_types)
    check(all(o.get("type") in two_types and o.get("spec_version") == "2.1" for o in typed), "spec_version/type filter")
    none, _ = walk(coll.get_objects, 0, "match[type]=grouping", problems, type="grouping")
    check(not none, "match[type]=grouping: objects of another type")
    both, _ = walk(coll.get_objects, 0, "match[version]=all", problems, id=ident, version="all")
    check(len(both) == 2, f"match[id] with match[version]=all: {len(both)} objects")

    # 8. The manifest.
    manifest, _ = walk(coll.get_manifest, 0, "manifest", problems, validate=False, type="indicator")
    for record in manifest:
        check({"id", "date_added", "version"} <= set(record), f"manifest record without id/date_added/version: {record}")
        check(TAXII_TIMESTAMP.match(record["date_added"]), f"manifest date_added {record['date_added']!r}")
    mine = [r for r in manifest if r["id"] == ident]
    check([r["version"] for r in mine] == [v2["modified"]], f"manifest of the added indicator: {mine}")
    check(
        all(r.get("media_type", "application/stix+json;version=2.1").startswith("application/stix+json") for r in manifest),
        "manifest media_type",
    )
    out["manifest_ids"] = sorted(r["id"] for r in manifest)

    # 9. Paging through as_pages, three at a time; the same as one walk without limit.
    paged, sizes = walk(coll.get_objects, 3, "as_pages(per_request=3)", problems)
    ids = [o["id"] for o in paged]
    check(len(ids) == len(set(ids)), f"as_pages: an object twice: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
    whole, _ = walk(coll.get_objects, 0, "objects without limit", problems, validate=False)
    check(sorted(ids) == sorted(o["id"] for o in whole), "as_pages and one walk without limit differ")
    full_manifest, _ = walk(coll.get_manifest, 5, "manifest, 5 a page", problems, validate=False)
    check(sorted(ids) == sorted(r["id"] for r in full_manifest), "the manifest and the objects differ")
    out["paged_ids"] = sorted(ids)
    out["pages"] = sizes

    # 10. The X-TAXII-Date-Added headers (taxii2-client never reads them) and added_after.
    headers = {}
    for name, path, params in [
        ("objects", "objects/", {"limit": 2}),
        ("manifest", "manifest/", {"limit": 2}),
        ("object", f"objects/{ident}/", {}),
        ("versions", f"objects/{ident}/versions/", {}),
    ]:
        r = raw.get(coll.url + path, params=params, auth=("member", args.token))
        check(r.status_code == 200, f"raw GET {path}: HTTP {r.status_code}")
        ctype = r.headers.get("Content-Type", "").replace(" ", "")
        check(ctype.startswith("application/taxii+json") and "version=2.1" in ctype, f"{path}: Content-Type {ctype!r}")
        first_added = r.headers.get("X-TAXII-Date-Added-First")
        last_added = r.headers.get("X-TAXII-Date-Added-Last")
        for header, value in [("First", first_added), ("Last", last_added)]:
            check(value is not None, f"{path}: no X-TAXII-Date-Added-{header}")
            check(TAXII_TIMESTAMP.match(value), f"{path}: X-TAXII-Date-Added-{header} {value!r} is no TAXII timestamp")
        check(first_added <= last_added, f"{path}: Date-Added-First {first_added} after Last {last_added}")
        headers[name] = {"first": first_added, "last": last_added, "body": r.json()}
    out["headers"] = {k: {"first": v["first"], "last": v["last"]} for k, v in headers.items()}
    page = headers["objects"]["body"]
    first_two = [o["id"] for o in page.get("objects") or []]
    check(len(first_two) == min(2, len(ids)), f"limit=2 returned {len(first_two)} objects")
    after, _ = walk(
        coll.get_objects, 0, "added_after=X-TAXII-Date-Added-Last", problems, added_after=headers["objects"]["last"]
    )
    after_ids = [o["id"] for o in after]
    check(not set(after_ids) & set(first_two), "added_after=Last returned an object of the first page again")
    check(sorted(first_two + after_ids) == sorted(ids), "the first page and added_after=Last do not make the whole")
    out["added_after_ids"] = sorted(after_ids)

    # 11. Delete, then 404 on every read of it; a missing object is a TAXII error too.
    if args.medallion:
        coll.delete_object(ident, version="all")
    else:
        coll.delete_object(ident)
    for label, call in [
        ("object", lambda: coll.get_object(ident)),
        ("object version=all", lambda: coll.get_object(ident, version="all")),
        ("versions", lambda: coll.object_versions(ident)),
    ]:
        code, _ = http_status(call)
        check(code == 404, f"after DELETE, GET {label}: HTTP {code}, expected 404")
    manifest_after, _ = walk(coll.get_manifest, 0, "manifest after DELETE", problems, validate=False)
    check(ident not in {r["id"] for r in manifest_after}, "after DELETE the manifest still lists the object")
    code, resp = http_status(lambda: coll.get_object(f"indicator--{uuid.uuid4()}"))
    check(code == 404, f"GET a missing object: HTTP {code}")
    check(
        resp.headers.get("Content-Type", "").replace(" ", "").startswith("application/taxii+json"),
        f"the 404 is no TAXII error: Content-Type {resp.headers.get('Content-Type')!r}",
    )
    error = resp.json()
    check(bool(error.get("title")) and error.get("http_status") == "404", f"the 404 body is no TAXII error: {error}")
    out["deleted"] = ident

    return fail_on(out, problems)


if __name__ == "__main__":
    run(main)
