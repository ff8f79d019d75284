#!/usr/bin/env python3
"""Rebuild world-110m.json, the country shapes of the published map.

Fetches two npm packages with `npm pack` (the only network access), then
converts with the standard library alone:

- world-atlas (ISC; the data is Natural Earth 1:110m Admin 0 countries,
  public domain): TopoJSON with ISO 3166-1 numeric ids;
- i18n-iso-countries (MIT): the ISO 3166-1 numeric -> alpha-2 table.

Shapes are projected once with the Equal Earth projection (Savric, Patterson
and Jenny, 2018), rounded to 0.1 px and written as SVG path data, so the site
draws them with no script. Antarctica is left out (no sources, much space); rings
crossing the antimeridian are folded onto the map's edge.

Usage: crates/nightjar-risk/data/refresh-shapes.py [WORLD_ATLAS_VERSION [I18N_VERSION]]
"""

import json
import math
import pathlib
import subprocess
import sys
import tarfile
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "world-110m.json"
WORLD_ATLAS = sys.argv[1] if len(sys.argv) > 1 else "2.0.2"
I18N = sys.argv[2] if len(sys.argv) > 2 else "7.14.0"
WIDTH = 960.0
# Natural Earth features without an ISO numeric code in world-atlas, by name.
NO_NUMERIC_ID = {"Kosovo": "XK", "N. Cyprus": "CY", "Somaliland": "SO"}
LEFT_OUT = {"AQ"}


def npm_file(package, version, member, workdir):
    subprocess.run(["npm", "pack", "--silent", f"{package}@{version}"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    tgz = next(pathlib.Path(workdir).glob(f"{package}-{version}.tgz"))
    with tarfile.open(tgz) as archive:
        return json.load(archive.extractfile(f"package/{member}"))


def equal_earth(lon, lat):
    a1, a2, a3, a4 = 1.340264, -0.081106, 0.000893, 0.003796
    m = math.sqrt(3) / 2
    lam, phi = math.radians(lon), math.radians(lat)
    theta = math.asin(m * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = lam * math.cos(theta) / (m * (a1 + 3 * a2 * t2 + t6 * (7 * a3 + 9 * a4 * t2)))
    y = theta * (a1 + a2 * t2 + t6 * (a3 + a4 * t2))
    return x, y


def decode_arcs(topology):
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs, indexes):
    points = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc if not points else arc[1:])
    return points


def unwrap(points):
    """Rings of Russia and Fiji cross the antimeridian: world-atlas leaves the
    clipping to the renderer. Make each ring's longitudes continuous, then
    clamp them to ±180, so the part beyond the edge folds onto the edge
    instead of drawing a stripe across the map."""
    out = []
    offset = 0.0
    previous = None
    for lon, lat in points:
        if previous is not None:
            if lon + offset - previous > 180:
                offset -= 360
            elif lon + offset - previous < -180:
                offset += 360
        previous = lon + offset
        out.append((max(-180.0, min(180.0, lon + offset)), lat))
    return out


def main():
    with tempfile.TemporaryDirectory() as workdir:
        topology = npm_file("world-atlas", WORLD_ATLAS, "countries-110m.json", workdir)
        codes = npm_file("i18n-iso-countries", I18N, "codes.json", workdir)
    alpha2 = {numeric: a2 for a2, _a3, numeric, *_ in codes}
    arcs = decode_arcs(topology)
    scale = WIDTH / (2 * equal_earth(180, 0)[0])
    shapes = []
    bounds = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry["properties"]["name"]
        code = alpha2.get(geometry.get("id")) or NO_NUMERIC_ID.get(name)
        if code is None:
            sys.exit(f"no ISO alpha-2 code for {name!r} (id {geometry.get('id')!r}): add it to NO_NUMERIC_ID")
        if code in LEFT_OUT:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        path = []
        for polygon in polygons:
            for indexes in polygon:
                projected = []
                for lon, lat in unwrap(ring(arcs, indexes)):
                    x, y = equal_earth(lon, lat)
                    point = (round(x * scale * 10), round(-y * scale * 10))  # tenths of a pixel
                    if not projected or projected[-1] != point:
                        projected.append(point)
                        bounds.append(point)
                if len(projected) < 3:
                    continue
                fx, fy = projected[0]
                parts = [f"M{fx / 10:g} {fy / 10:g}l"]
                steps = []
                for (px, py), (qx, qy) in zip(projected, projected[1:]):
                    steps.append(f"{(qx - px) / 10:g} {(qy - py) / 10:g}")
                parts.append(" ".join(steps))
                parts.append("z")
                path.append("".join(parts))
        shapes.append({"iso_a2": code, "name": name, "d": "".join(path)})
    # The box around every kept point, with a pixel of margin.
    min_x = min(x for x, _ in bounds) / 10 - 1
    min_y = min(y for _, y in bounds) / 10 - 1
    max_x = max(x for x, _ in bounds) / 10 + 1
    max_y = max(y for _, y in bounds) / 10 + 1
    shapes.sort(key=lambda s: (s["iso_a2"], s["name"]))
    document = {
        "source": f"Natural Earth 1:110m Admin 0 countries (public domain), via npm world-atlas@{WORLD_ATLAS}; "
                  f"ISO codes from npm i18n-iso-countries@{I18N}",
        "projection": "Equal Earth",
        "view_box": [round(min_x, 1), round(min_y, 1), round(max_x - min_x, 1), round(max_y - min_y, 1)],
        "countries": shapes,
    }
    OUT.write_text(json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(shapes)} shapes)")


if __name__ == "__main__":
    main()
