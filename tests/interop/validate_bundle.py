"""stix2-validator 3.3.2 (every check, nothing disabled) and stix2 3.0.2's parser on
one STIX 2.1 bundle file.

    python validate_bundle.py BUNDLE.json

Prints {"ok", "objects", "types", "errors", "warnings", "parse_error"}; ok (exit 0) only
with no error, no warning and a bundle stix2 parses.
"""

import argparse
import collections

from common import bound_total_time, parse, read_bundle, run, validate


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("bundle")
    args = ap.parse_args()
    bound_total_time(120)
    bundle = read_bundle(args.bundle)
    objects = bundle.get("objects") or []
    errors, warnings = validate(bundle)
    parse_error = None
    try:
        parse(bundle)
    except Exception as e:  # noqa: BLE001 - any failure to parse is the finding
        parse_error = f"{type(e).__name__}: {e}"
    types = collections.Counter(o.get("type") for o in objects if isinstance(o, dict))
    return {
        "ok": not errors and not warnings and parse_error is None,
        "objects": len(objects),
        "types": dict(types),
        "errors": errors,
        "warnings": warnings,
        "parse_error": parse_error,
    }


if __name__ == "__main__":
    run(main)
