"""Where the generators write: the fast CPU backend's source folder, or the folder given with
--out DIR (the tests generate into a temporary folder and compare with the checked-in files)."""
import argparse
from pathlib import Path

SOURCES = Path("java/cpu/src/main/java/dev/mnv3/cpu/fast")


def write(files, description):
    """Writes each {file name: text} into the output folder and names what it wrote."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=SOURCES,
                        help=f"folder to write into (default: {SOURCES}, run from the repository root)")
    out = parser.parse_args().out
    if not out.is_dir():
        parser.error(f"--out {out} is not a folder (run from the repository root, or give --out)")
    for name, text in files.items():
        (out / name).write_text(text)
        print(f"wrote {out / name}")
