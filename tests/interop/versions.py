"""The installed versions of the given distributions.

    python versions.py NAME ...

Prints {"ok", "versions": {NAME: VERSION or null}}.
"""

import argparse
import importlib.metadata

from common import run


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="+")
    args = ap.parse_args()
    versions = {}
    for name in args.names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {"versions": versions}


if __name__ == "__main__":
    run(main)
