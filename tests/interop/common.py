"""What the interop scripts share: bounded connections, STIX checks with the real
tools, and the one JSON line each script prints for the Rust test that runs it.

Every script prints exactly one JSON object on standard output (its last line) and
exits 0 when every check it makes passed, 1 when one failed (the JSON then has
"failure"), 2 on bad arguments. Diagnostics go to standard error.
"""

import json
import re
import signal
import sys
import traceback
import uuid

import requests
from taxii2client.common import _HTTPConnection

# Every HTTP request is bounded, and so is every script (the Rust side bounds it too).
REQUEST_TIMEOUT = 30
TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
# A TAXII timestamp (TAXII 2.1 §2): RFC 3339, UTC, microseconds.
TAXII_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


class CheckFailed(Exception):
    """A check a script makes did not hold."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def bound_total_time(seconds):
    """Ends the script with a failure after `seconds`, whatever it is waiting for."""

    def expired(_signum, _frame):
        raise CheckFailed(f"the script did not finish within {seconds} s")

    signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)


def _bounded(session):
    request = session.request

    def with_timeout(method, url, **kwargs):
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return request(method, url, **kwargs)

    session.request = with_timeout
    return session


def taxii_connection(token, scheme="basic", user="member"):
    """A taxii2-client connection for a member's hub token: HTTP Basic with the token
    as the password (any user name), or `Authorization: Bearer <token>`."""
    if scheme == "basic":
        conn = _HTTPConnection(user=user, password=token, version="2.1")
    else:
        conn = _HTTPConnection(version="2.1")
        conn.session.headers["Authorization"] = f"Bearer {token}"
    _bounded(conn.session)
    return conn


def raw_session(token=None, user="member"):
    """A plain `requests` session (for what taxii2-client never reads: headers)."""
    session = _bounded(requests.Session())
    if token is not None:
        session.auth = (user, token)
    session.headers["Accept"] = TAXII_MEDIA_TYPE
    return session


def bundle_of(objects):
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}


def validate(bundle):
    """stix2-validator 3.3.2 on a bundle (dict): (errors, warnings), each a list of
    strings naming the object. Nothing is disabled: every warning counts."""
    from stix2validator import ValidationOptions, validate_instance

    # For a bundle the validator gives one result; each message names its object.
    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    errors = [str(e) for e in result.errors]
    warnings = [str(w) for w in (result.warnings or [])]
    if not result.is_valid and not errors:
        errors.append("the validator found the bundle invalid without saying why")
    return errors, warnings


def parse(bundle):
    """stix2 3.0.2 parses the bundle (custom content allowed); raises if it cannot."""
    import stix2

    return stix2.parse(bundle, allow_custom=True)


def check_objects(objects, where, problems):
    """Validates and parses objects served by a TAXII endpoint; adds what is wrong to
    `problems` (a list), naming `where`."""
    if not objects:
        return
    bundle = bundle_of(objects)
    errors, warnings = validate(bundle)
    problems.extend(f"{where}: validator error: {e}" for e in errors)
    problems.extend(f"{where}: validator warning: {w}" for w in warnings)
    try:
        parse(bundle)
    except Exception as e:  # noqa: BLE001 - any failure to parse is the finding
        problems.append(f"{where}: stix2.parse: {type(e).__name__}: {e}")


def read_bundle(path):
    """A STIX bundle from a file (a CheckFailed if it is not one)."""
    with open(path, encoding="utf-8") as f:
        bundle = json.load(f)
    check(isinstance(bundle, dict) and bundle.get("type") == "bundle", "not a STIX bundle")
    return bundle


def fail_on(out, problems):
    """Marks the answer `out` failed when `problems` holds any, naming the first."""
    if problems:
        log("\n".join(problems))
        out["ok"] = False
        out["failure"] = f"{len(problems)} validation problems, the first: {problems[0]}"
    return out


def run(main):
    """Runs `main()` (which returns a dict), prints the JSON line and exits with the
    script's code."""
    try:
        result = main()
        result.setdefault("ok", True)
        print(json.dumps(result, sort_keys=True), flush=True)
        sys.exit(0 if result["ok"] else 1)
    except CheckFailed as e:
        print(json.dumps({"ok": False, "failure": str(e)}), flush=True)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - report anything else as a failure too
        traceback.print_exc()
        detail = str(e)
        if isinstance(e, requests.HTTPError) and e.response is not None:
            detail += f" (body: {e.response.text[:500]})"
        print(json.dumps({"ok": False, "failure": f"{type(e).__name__}: {detail}"}), flush=True)
        sys.exit(1)
