"""OpenCTI's TAXII 2.1 feed ingestion, replayed (interop.md §5.2; OpenCTI's
`ingestionManager.ts`: prepareTaxiiGetParam, taxiiHttpGet, processTaxiiResponse).

    python opencti_pull.py DISCOVERY_URL TOKEN [--collection TITLE] [--auth basic|bearer]
                           [--user NAME] [--limit N]

The collection's id and its API root are looked up once with taxii2-client (an OpenCTI
user types them into the feed's settings). Then, for each line "poll" read on standard
input, one poll exactly as OpenCTI makes it:
  GET {api_root}/collections/{id}/objects/ with `Accept: application/taxii+json;version=2.1`
  and Basic or Bearer, the params `next` (the stored cursor) and `added_after` (the
  stored date) when set, and `limit` when configured;
  then, if objects came: with `more` and `next`, store the cursor (added_after stays);
  else forget the cursor and store added_after = X-TAXII-Date-Added-Last as a JavaScript
  Date writes it (milliseconds: `utcDate(header).toISOString()`), or now; if no object
  came, only forget the cursor.
Each poll prints one JSON line {"poll", "sent", "received": [[id, version]...], "more",
"next", "added_last", "state"}. On "end" (or end of input) the script prints the summary
{"ok", "polls", "delivered": [[id, version]...], "duplicates": [...], "problems"}:
ok only when no (id, version) came twice and every page validated.
"""

import argparse
import datetime
import json
import sys

from taxii2client.v21 import ApiRoot, Server

from common import TAXII_MEDIA_TYPE, bound_total_time, check, check_objects, log, raw_session, run, taxii_connection


def js_iso(t):
    """What JavaScript's Date#toISOString writes: milliseconds, UTC, Z."""
    t = t.astimezone(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_time(text):
    """A timestamp as moment.js reads it (fractions beyond milliseconds dropped)."""
    base, _, frac = text.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    millis = int((frac + "000")[:3]) if frac else 0
    return t + datetime.timedelta(milliseconds=millis)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("discovery")
    ap.add_argument("token")
    ap.add_argument("--collection", default="shared items")
    ap.add_argument("--auth", choices=["basic", "bearer"], default="basic")
    ap.add_argument("--user", default="opencti", help="the Basic user name (the hub ignores it)")
    ap.add_argument("--limit", type=int, default=0, help="ingestion_manager:taxii_feed:limit_per_request")
    args = ap.parse_args()
    bound_total_time(900)

    conn = taxii_connection(args.token, user=args.user)
    server = Server(args.discovery, conn=conn)
    root = ApiRoot((server.default or server.api_roots[0]).url, conn=conn)
    found = [c for c in root.collections if c.title == args.collection]
    check(found, f"no collection titled {args.collection!r}")
    uri = root.url if root.url.endswith("/") else root.url + "/"
    url = f"{uri}collections/{found[0].id}/objects/"

    session = raw_session()
    session.headers["Accept"] = TAXII_MEDIA_TYPE
    if args.auth == "basic":
        session.auth = (args.user, args.token)
    else:
        session.headers["Authorization"] = f"Bearer {args.token}"

    state = {"current_state_cursor": None, "added_after_start": None}
    delivered, seen, duplicates, problems = [], set(), [], []
    polls = 0
    for line in sys.stdin:
        command = line.strip()
        if command == "end":
            break
        check(command == "poll", f"unknown command {command!r}")
        polls += 1
        # prepareTaxiiGetParam: axios leaves out the parameters that are undefined.
        params = {}
        if state["current_state_cursor"]:
            params["next"] = state["current_state_cursor"]
        if state["added_after_start"]:
            params["added_after"] = state["added_after_start"]
        if args.limit > 0:
            params["limit"] = args.limit
        r = session.get(url, params=params)
        check(r.status_code == 200, f"poll {polls}: HTTP {r.status_code}: {r.text[:300]}")
        data = r.json()
        added_last = r.headers.get("x-taxii-date-added-last")
        objects = data.get("objects") or []
        check_objects(objects, f"poll {polls}", problems)
        received = []
        for o in objects:
            key = (o["id"], o.get("modified", o.get("created")))
            received.append(list(key))
            if key in seen:
                duplicates.append(list(key))
            seen.add(key)
            delivered.append(list(key))
        # processTaxiiResponse
        if objects:
            if data.get("more", False) and data.get("next"):
                state["current_state_cursor"] = data["next"]
            else:
                state["current_state_cursor"] = None
                when = parse_time(added_last) if added_last else datetime.datetime.now(datetime.timezone.utc)
                state["added_after_start"] = js_iso(when)
        else:
            state["current_state_cursor"] = None
        print(
            json.dumps(
                {
                    "poll": polls,
                    "sent": params,
                    "received": received,
                    "more": data.get("more", False),
                    "next": data.get("next"),
                    "added_last": added_last,
                    "state": dict(state),
                }
            ),
            flush=True,
        )
    out = {"polls": polls, "delivered": delivered, "duplicates": duplicates, "problems": problems}
    if duplicates or problems:
        log("\n".join(problems))
        out["ok"] = False
        out["failure"] = f"{len(duplicates)} objects delivered twice (the first {duplicates[:3]}), {len(problems)} validation problems"
    return out


if __name__ == "__main__":
    run(main)
