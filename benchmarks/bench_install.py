"""How much disk the installation takes, and how much of it is EnvPool.

Walks the dependency closure of ``spatial-snn`` (its ``Requires-Dist``
entries whose environment markers hold here, without extras unless given) in
the running interpreter's installed distributions, and sums the sizes of the
files each distribution recorded (``RECORD``). Prints one row per
distribution over 10 MB, the total, and EnvPool's share (``envpool`` and
its ``envpool-assets-*`` packages).

    python benchmarks/bench_install.py [--extras dev]

Measured on this project's machine (Linux x86_64, Python 3.11): see
``benchmarks/README.md``. Packages shared with other software in the same
environment count fully.
"""

from __future__ import annotations

import argparse
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement


def _size(dist: metadata.Distribution) -> int:
    total = 0
    for f in dist.files or ():
        path = Path(dist.locate_file(f))
        if path.is_file():
            total += path.stat().st_size
    return total


def closure(root: str, extras: tuple[str, ...] = ()) -> dict[str, int]:
    """Installed size in bytes of ``root`` and everything it requires, by normalised distribution name."""
    sizes: dict[str, int] = {}
    todo = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in sizes:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        sizes[key] = _size(dist)
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (*wanted, "")):
                todo.append((req.name, tuple(req.extras)))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--extras", nargs="*", default=[], help="extras of spatial-snn to include, e.g. dev")
    args = parser.parse_args()
    sizes = closure("spatial-snn", tuple(args.extras))
    total = sum(sizes.values())
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        if size >= 10e6:
            print(f"{name:<45} {size / 1e6:8.0f} MB")
    envpool = sum(size for name, size in sizes.items() if name.startswith("envpool"))  # with its asset packages
    print(
        f"{'total':<45} {total / 1e6:8.0f} MB in {len(sizes)} distributions; EnvPool with its assets "
        f"{envpool / 1e6:.0f} MB ({100 * envpool / max(total, 1):.0f} %)"
    )


if __name__ == "__main__":
    main()
