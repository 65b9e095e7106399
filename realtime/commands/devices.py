"""``emotrack devices``: list microphones and system-audio sources."""
from __future__ import annotations

import argparse
import json

from ...model.errors import DeviceError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "devices",
        help="list audio inputs (microphones) and system-audio monitor sources",
        description="List PortAudio input devices (usable with 'listen --source mic --device N') "
        "and, on Linux with PulseAudio/PipeWire, the monitor sources usable as system audio "
        "('listen --source system --device NAME').",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..devices import list_input_devices, list_monitor_sources

    report: dict = {"inputs": [], "monitors": [], "problems": []}
    try:
        report["inputs"] = [d.__dict__ for d in list_input_devices()]
    except DeviceError as exc:
        report["problems"].append(f"microphones: {exc}")
    try:
        report["monitors"] = [m.__dict__ for m in list_monitor_sources()]
    except DeviceError as exc:
        report["problems"].append(f"system audio: {exc}")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("Audio inputs (PortAudio)  -- use with: emotrack listen --source mic --device INDEX|NAME")
        if not report["inputs"]:
            print("  (none found)")
        for d in report["inputs"]:
            star = "*" if d["is_default"] else " "
            print(f" {star}{d['index']:3d}  {d['name']}  [{d['host_api']}, {d['channels']} ch, "
                  f"{d['default_samplerate']:g} Hz]")
        print()
        print("System audio (PulseAudio/PipeWire monitors)  -- use with: "
              "emotrack listen --source system --device NAME")
        if not report["monitors"]:
            print("  (none found)")
        for m in report["monitors"]:
            print(f"    {m['name']}  [{m['sample_spec']}]")
        for problem in report["problems"]:
            print(f"\nnote: {problem}")
    # Listing partially is still useful; fail only when nothing at all could be listed.
    return 0 if (report["inputs"] or report["monitors"] or not report["problems"]) else 1
