#!/usr/bin/env python3
"""Whole-process benchmark: `pstation render --icao-only J1.json ... J50.json --out-dir DIR` against
the reportlab peer (`scripts/bench-reportlab.py --batch`) laying out the same data page from the
same job files.

It writes 50 jobs to a temporary folder: fixtures/jobs/valid/santoso-budi.json with the portrait
replaced by fixtures/portraits/silhouette-600x800.jpg (600 x 800 JPEG, 123 KB) and a distinct
job_id (BENCH-000001 ...) and document.number (X2000001 ...) each; converts OCR-B to TrueType once
(not charged to the peer); runs each side once untimed (warm page cache); then for each round
times both whole processes (time.perf_counter around subprocess.run, start-up included), taking
turns at going first, with their output folders emptied before each run. Both must exit 0 and
write 50 PDFs. Printed: ms per page of each run and the ratio peer / pstation, then the medians,
the ratio of the medians, and the mean PDF size per page of each tool; also the machine and the
versions.

Usage (from the checkout, after `cargo build --release`):
    pip install reportlab==5.1.0 rl_accel==0.9.1 fonttools==4.68.0 pillow==13.0.0
    python3 scripts/bench-render.py [--rounds 5] [--pstation target/release/pstation] [--jobs 50]
With BENCH_KEEP=DIR set, the first job's PDF of each tool is copied to DIR (pstation.pdf,
reportlab.pdf) for a visual comparison.
"""
import argparse
import base64
import copy
import importlib.metadata
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PEER = ROOT / "scripts/bench-reportlab.py"


def make_jobs(folder: pathlib.Path, count: int) -> list[pathlib.Path]:
    template = json.loads((ROOT / "fixtures/jobs/valid/santoso-budi.json").read_text())
    template["portrait"] = {
        "media_type": "image/jpeg",
        "data": base64.b64encode((ROOT / "fixtures/portraits/silhouette-600x800.jpg").read_bytes()).decode(),
    }
    paths = []
    for i in range(1, count + 1):
        job = copy.deepcopy(template)
        job["job_id"] = f"BENCH-{i:06d}"
        job["document"]["number"] = f"X{2000000 + i:07d}"
        path = folder / f"J{i}.json"
        path.write_text(json.dumps(job, indent=2))
        paths.append(path)
    return paths


def run(name: str, cmd: list[str], out_dir: pathlib.Path, count: int) -> float:
    """Empties out_dir, runs cmd, checks it, returns the wall time in seconds."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    pdfs = list(out_dir.glob("*.pdf"))
    if done.returncode != 0 or len(pdfs) != count:
        sys.exit(f"{name}: exit {done.returncode}, {len(pdfs)} PDFs of {count}\n"
                 f"{done.stderr.decode(errors='replace')[-3000:]}")
    return elapsed


def mean_pdf_bytes(out_dir: pathlib.Path) -> float:
    return statistics.mean(p.stat().st_size for p in out_dir.glob("*.pdf"))


def package_version(name: str) -> str:
    """The installed version, or a warning: without rl_accel reportlab runs its slower Python fallbacks."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "NOT INSTALLED: the peer runs slower than it should"


def machine() -> str:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"nproc {nproc}, {model}, {platform.platform()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=50)
    ap.add_argument("--pstation", type=pathlib.Path, default=ROOT / "target/release/pstation")
    args = ap.parse_args()
    pstation = args.pstation.resolve()
    if not pstation.is_file():
        sys.exit(f"{pstation}: not found (cargo build --release)")

    print(f"machine: {machine()}")
    version = subprocess.run([str(pstation), "--version"], capture_output=True, text=True).stdout.strip()
    print(f"versions: {version or 'pstation ?'}; Python {platform.python_version()}; "
          f"reportlab {importlib.metadata.version('reportlab')} (rl_accel {package_version('rl_accel')}); "
          f"Pillow {importlib.metadata.version('pillow')}; fontTools {importlib.metadata.version('fonttools')} "
          f"(OCR-B conversion only)")

    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "jobs").mkdir()
        jobs = [str(p) for p in make_jobs(tmp / "jobs", args.jobs)]
        ocrb = tmp / "OCRB.ttf"
        subprocess.run([sys.executable, str(PEER), "--make-ocrb", str(ocrb)], check=True)
        out_station, out_peer = tmp / "out-pstation", tmp / "out-reportlab"
        sides = {
            "pstation": ([str(pstation), "render", "--icao-only", *jobs, "--out-dir", str(out_station)], out_station),
            "reportlab": ([sys.executable, str(PEER), "--batch", "--ocrb", str(ocrb), "--out-dir", str(out_peer),
                           *jobs], out_peer),
        }
        print(f"{args.jobs} jobs per run, {args.rounds} rounds; output folders in {tmp}")
        for name, (cmd, out) in sides.items():  # untimed warm-up
            run(name, cmd, out, args.jobs)

        per_page = {name: [] for name in sides}
        for r in range(args.rounds):
            order = ["pstation", "reportlab"] if r % 2 == 0 else ["reportlab", "pstation"]
            for name in order:
                cmd, out = sides[name]
                per_page[name].append(run(name, cmd, out, args.jobs) * 1000 / args.jobs)
            st, rl = per_page["pstation"][-1], per_page["reportlab"][-1]
            print(f"round {r + 1} ({order[0]} first): pstation {st:.2f} ms/page, reportlab {rl:.2f} ms/page, "
                  f"ratio reportlab/pstation {rl / st:.2f}")

        st, rl = statistics.median(per_page["pstation"]), statistics.median(per_page["reportlab"])
        print(f"median: pstation {st:.2f} ms/page, reportlab {rl:.2f} ms/page; "
              f"ratio of medians reportlab/pstation {rl / st:.2f}")
        print(f"mean PDF size per page: pstation {mean_pdf_bytes(out_station):,.0f} bytes, "
              f"reportlab {mean_pdf_bytes(out_peer):,.0f} bytes")
        if os.environ.get("BENCH_KEEP"):  # keep one page of each for a visual check
            keep = pathlib.Path(os.environ["BENCH_KEEP"])
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(out_station / "BENCH-000001.pdf", keep / "pstation.pdf")
            shutil.copy(out_peer / "BENCH-000001.pdf", keep / "reportlab.pdf")


if __name__ == "__main__":
    main()
