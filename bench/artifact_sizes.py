"""Size of every artifact `sam build` produced: unzipped (what counts against Lambda's 250 MB for a
function plus its layers) and zipped as `sam package` uploads it.

    python bench/artifact_sizes.py [--build-dir .aws-sam/build]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
MB = 1024 * 1024


@dataclass(frozen=True)
class Size:
    name: str
    files: int
    unzipped: int
    zipped: int
    bytecode: int


def human(size: int) -> str:
    return f"{size / MB:.2f} MB" if size >= MB else f"{size / 1024:.1f} KB"


def measure(folder: Path, name: str) -> Size:
    files = unzipped = bytecode = 0
    buffer = io.BytesIO()
    # ZIP_DEFLATED at the default level, as SAM CLI zips an artifact for upload.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            for file_name in sorted(names):
                path = Path(root) / file_name
                size = path.stat().st_size
                files += 1
                unzipped += size
                if file_name.endswith(".pyc"):
                    bytecode += size
                archive.write(path, path.relative_to(folder).as_posix())
    return Size(name, files, unzipped, buffer.getbuffer().nbytes, bytecode)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, default=REPO_ROOT / ".aws-sam" / "build")
    args = parser.parse_args()
    build_dir: Path = args.build_dir
    folders = sorted(p for p in build_dir.iterdir() if p.is_dir()) if build_dir.is_dir() else []
    if not folders:
        print(f"No artifacts in {build_dir}: run `make build` (or `make build-x86`) first.", file=sys.stderr)
        return 1

    sizes = [measure(folder, folder.name) for folder in folders]
    layers = [s for s in sizes if s.name.endswith("Layer")]
    print(f"Artifacts in {build_dir}\n")
    header = f"{'artifact':<24} {'files':>6} {'unzipped':>11} {'zipped':>11} {'of which .pyc':>14}"
    print(header)
    print("-" * len(header))
    for s in sizes:
        print(f"{s.name:<24} {s.files:>6} {human(s.unzipped):>11} {human(s.zipped):>11} {human(s.bytecode):>14}")
    layer_bytes = sum(s.unzipped for s in layers)
    largest = max((s for s in sizes if s not in layers), key=lambda s: s.unzipped)
    total = largest.unzipped + layer_bytes
    print(
        f"\nLargest function + layers, unzipped: {human(total)}"
        f" of Lambda's {LAMBDA_UNZIPPED_LIMIT // MB} MB ({largest.name})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
