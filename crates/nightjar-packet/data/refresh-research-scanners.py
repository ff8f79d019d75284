#!/usr/bin/env python3
"""Rebuild research-scanners.txt from the MISP warninglists shipped in the
PyPI package pymispwarninglists.

    crates/nightjar-packet/data/refresh-research-scanners.py            # the latest version on PyPI
    crates/nightjar-packet/data/refresh-research-scanners.py 1.7.0      # a pinned version
    crates/nightjar-packet/data/refresh-research-scanners.py --wheel FILE.whl

Takes every CIDR warninglist of internet-wide scanning organisations (list
folders named `*-scanning` or `*-scanner`, and `shadowserver`), labels each
prefix with the organisation's name, and writes them sorted, one prefix a
line, in the format of nightjar_packet::ResearchScanners. Refuses a package
whose licence is not BSD-3-Clause. Then updates the version and hash in
README.md and NOTICE. The same wheel always gives the same file.
"""

import argparse
import hashlib
import ipaddress
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "research-scanners.txt"
README = HERE / "README.md"
NOTICE = HERE.parent.parent.parent / "NOTICE"
PACKAGE = "pymispwarninglists"
LICENCE = "BSD-3-Clause"
LISTS = "pymispwarninglists/data/misp-warninglists/lists/"


def wanted(folder: str) -> bool:
    return folder.endswith("-scanning") or folder.endswith("-scanner") or folder == "shadowserver"


def organisation(name: str) -> str:
    """'Censys IP Ranges Used for Scanning' -> 'Censys'."""
    name = re.sub(r"^List of published IP address ranges for ", "", name)
    name = re.sub(r"\s+IP[- ]Ranges\b.*$", "", name, flags=re.IGNORECASE)
    name = re.sub(r"\s+Scanner$", "", name)
    return " ".join(name.split())


def download(version: str | None, into: Path) -> Path:
    spec = f"{PACKAGE}=={version}" if version else PACKAGE
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(into), spec],
        check=True,
    )
    wheels = sorted(into.glob(f"{PACKAGE}-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"expected one {PACKAGE} wheel in {into}, found {wheels}")
    return wheels[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version", nargs="?", help=f"{PACKAGE} version (default: the latest)")
    parser.add_argument("--wheel", type=Path, help="use this wheel instead of downloading one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temp:
        wheel = args.wheel or download(args.version, Path(temp))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        with zipfile.ZipFile(wheel) as archive:
            metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            fields = dict(
                line.split(": ", 1) for line in archive.read(metadata).decode().splitlines() if ": " in line
            )
            version = fields["Version"]
            licence = fields.get("License-Expression") or fields.get("License")
            if licence != LICENCE:
                sys.exit(f"{PACKAGE} {version} is licensed {licence!r}, not {LICENCE}: not bundling it")
            lists = {}
            for entry in sorted(archive.namelist()):
                if not entry.startswith(LISTS) or not entry.endswith("/list.json"):
                    continue
                folder = entry[len(LISTS) : -len("/list.json")]
                if wanted(folder):
                    lists[folder] = json.loads(archive.read(entry))

    prefixes = {}
    sources = []
    for folder, warninglist in sorted(lists.items()):
        if warninglist.get("type") != "cidr":
            continue
        label = organisation(warninglist["name"])
        count = 0
        for text in warninglist["list"]:
            network = ipaddress.ip_network(text.strip(), strict=False)
            # The first list (by folder name) that names a prefix labels it.
            if network not in prefixes:
                prefixes[network] = label
                count += 1
        sources.append((folder, warninglist.get("version"), label, count))

    ordered = sorted(prefixes.items(), key=lambda item: (item[0].version, item[0]))
    lines = [
        "# Research and measurement scanners: prefixes of internet-wide scanning organisations.",
        f"# Source: the MISP warninglists in PyPI package {PACKAGE} {version}",
        f"#   (wheel SHA-256 {digest}), licence {LICENCE}; see README.md beside this file.",
        "# Made by refresh-research-scanners.py; do not edit by hand.",
        "# warninglist (version): label, prefixes taken",
    ]
    lines += [f"#   {folder} ({list_version}): {label}, {count}" for folder, list_version, label, count in sources]
    lines += [f"{network.with_prefixlen:<20} {label}" for network, label in ordered]
    OUT.write_text("\n".join(lines) + "\n")

    for path in (README, NOTICE):
        text = path.read_text()
        text = re.sub(rf"{PACKAGE} \d+(\.\d+)*", f"{PACKAGE} {version}", text)
        text = re.sub(r"(wheel SHA-256:? `?)[0-9a-f]{64}", rf"\g<1>{digest}", text)
        path.write_text(text)
    print(f"{OUT.name}: {len(ordered)} prefixes from {len(sources)} warninglists of {PACKAGE} {version}")


if __name__ == "__main__":
    main()
