"""misp-stix (MISP's own STIX 2.1 importer, ExternalSTIX2toMISPParser) on one bundle,
as a MISP instance would import the hub's export (reference: interop.md §5.1).

    python misp_stix.py BUNDLE.json

Prints {"ok", "errors", "warnings", "event_tags", "attributes", "objects", "galaxies"}:
the tags of the MISP event, and of each attribute (type, value, tags), including those
inside MISP objects. ok (exit 0) only with no error and no warning.
"""

import argparse

from common import bound_total_time, read_bundle, run


def _tags(entity):
    return sorted(t.name for t in (getattr(entity, "tags", None) or []))


def _attribute(attribute):
    return {"type": attribute.type, "value": str(attribute.value), "tags": _tags(attribute)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("bundle")
    args = ap.parse_args()
    bound_total_time(120)
    from misp_stix_converter import ExternalSTIX2toMISPParser
    from stix2.parsing import parse

    bundle = read_bundle(args.bundle)
    parser = ExternalSTIX2toMISPParser()
    parser.load_stix_bundle(parse(bundle, allow_custom=True))
    parser.parse_stix_bundle(single_event=True)
    event = parser.misp_event
    errors = {str(k): [str(m) for m in v] for k, v in parser.errors.items() if v}
    warnings = {str(k): [str(m) for m in v] for k, v in parser.warnings.items() if v}
    objects = [
        {"name": o.name, "tags": _tags(o), "attributes": [_attribute(a) for a in o.attributes]}
        for o in event.objects
    ]
    galaxies = sorted(
        f"{g.type}: {c.value}" for g in (event.galaxies or []) for c in (g.clusters or [])
    ) + sorted(
        f"{g.type}: {c.value}"
        for a in event.attributes
        for g in (getattr(a, "galaxies", None) or [])
        for c in (g.clusters or [])
    )
    return {
        "ok": not errors and not warnings,
        "errors": errors,
        "warnings": warnings,
        "event_info": event.info,
        "event_tags": _tags(event),
        "attributes": [_attribute(a) for a in event.attributes],
        "objects": objects,
        "galaxies": galaxies,
    }


if __name__ == "__main__":
    run(main)
