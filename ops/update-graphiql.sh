#!/usr/bin/env bash
# Fetches the pinned GraphiQL browser assets from the npm registry (`npm pack`), checks
# each tarball against the integrity pinned below, and writes the files the hub serves
# (hub/src/graphiql.rs includes them into the binary) to hub/assets/graphiql/.
#
#   ops/update-graphiql.sh           re-fetch and (re)write the files
#   ops/update-graphiql.sh --check   re-fetch and only compare with the files in the tree
#
# To move to other versions: change a line of PINS to the new version and the integrity
# the registry publishes for it (`npm view PKG@VERSION dist.integrity`), run this script,
# rename the paths in hub/src/graphiql.rs (`include_bytes!` and the served names carry
# the version), update hub/assets/graphiql/README.md, remove the old folder, and check
# the page in a browser under its Content-Security-Policy (README there says how).
# GraphiQL 4 and later no longer fit: 5 ships no standalone bundle, and React 19 no UMD.
set -euo pipefail
cd "$(dirname "$0")/.."

# package  version  tarball integrity (sha512, as the npm registry publishes it)  files (package-relative)
PINS=(
  "react     18.3.1 sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ== umd/react.production.min.js LICENSE"
  "react-dom 18.3.1 sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw== umd/react-dom.production.min.js LICENSE"
  "graphiql  3.9.0  sha512-rJYFlHdBbug9+YbFSwRVvgfPjCayC7wHecZkx/qB4XLuQPFQZw/yB9pmHFtOJV6RiNBBHro3u1GdocKa3YcGRA== graphiql.min.js graphiql.min.css LICENSE"
)

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

command -v npm >/dev/null || { echo "update-graphiql: npm is required" >&2; exit 1; }
command -v openssl >/dev/null || { echo "update-graphiql: openssl is required" >&2; exit 1; }

dest=hub/assets/graphiql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

for pin in "${PINS[@]}"; do
  read -r pkg version integrity files <<<"$pin"
  tarball=$(cd "$work" && npm pack --silent --no-audit --no-fund "$pkg@$version")
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | openssl base64 -A)"
  if [ "$actual" != "$integrity" ]; then
    echo "update-graphiql: $pkg@$version: tarball integrity $actual, pinned $integrity" >&2
    exit 1
  fi
  echo "$pkg@$version: tarball $integrity (sha1 $(openssl dgst -sha1 -r "$work/$tarball" | cut -d' ' -f1))"
  mkdir -p "$work/$pkg"
  tar -xzf "$work/$tarball" -C "$work/$pkg"
  for file in $files; do
    src="$work/$pkg/package/$file"
    out="$dest/$pkg-$version/$(basename "$file")"
    sri="sha384-$(openssl dgst -sha384 -binary "$src" | openssl base64 -A)"
    if $check; then
      if cmp -s "$src" "$out"; then
        echo "  same     $out  $sri"
      else
        echo "  DIFFERS  $out  (registry: $sri)" >&2
        status=1
      fi
    else
      mkdir -p "$(dirname "$out")"
      cp "$src" "$out"
      echo "  wrote    $out  $(wc -c <"$out") bytes  $sri"
    fi
  done
done
exit $status
