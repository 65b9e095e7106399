"""``emotrack devices``: list audio inputs, system-audio sources and audio outputs."""
from __future__ import annotations

import argparse
import json

from ...model.errors import DeviceError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "devices",
        help="list audio inputs (microphones), system-audio monitor sources and audio outputs",
        description="List PortAudio input devices (capture one with 'listen --input N' or "
        "'gui --input N'), on Linux with PulseAudio/PipeWire the monitor sources usable as "
        "system audio ('listen --source system --input NAME'), and PortAudio output devices "
        "(play files through one with 'listen FILE --output N' or 'gui --output N'). "
        "(--device is not an audio device: it is the torch device the model runs on.)",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..devices import list_input_devices, list_monitor_sources, list_output_devices

    report: dict = {"inputs": [], "monitors": [], "outputs": [], "problems": []}
    for key, what, lister in (("inputs", "microphones", list_input_devices),
                              ("monitors", "system audio", list_monitor_sources),
                              ("outputs", "audio outputs", list_output_devices)):
        try:
            report[key] = [d.__dict__ for d in lister()]
        except DeviceError as exc:
            report["problems"].append(f"{what}: {exc}")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_portaudio("Audio inputs (PortAudio)  -- capture with: emotrack listen --input "
                         "INDEX|NAME", report["inputs"])
        print()
        print("System audio (PulseAudio/PipeWire monitors)  -- capture with: "
              "emotrack listen --source system --input NAME")
        if not report["monitors"]:
            print("  (none found)")
        for m in report["monitors"]:
            print(f"    {m['name']}  [{m['sample_spec']}]")
        print()
        _print_portaudio("Audio outputs (PortAudio)  -- play files through with: emotrack listen "
                         "FILE --output INDEX|NAME", report["outputs"])
        for problem in report["problems"]:
            print(f"\nnote: {problem}")
    # Listing partially is still useful; fail only when nothing at all could be listed.
    found = report["inputs"] or report["monitors"] or report["outputs"]
    return 0 if (found or not report["problems"]) else 1


def _print_portaudio(title: str, devices: list[dict]) -> None:
    print(title)
    if not devices:
        print("  (none found)")
    for d in devices:
        star = "*" if d["is_default"] else " "
        print(f" {star}{d['index']:3d}  {d['name']}  [{d['host_api']}, {d['channels']} ch, "
              f"{d['default_samplerate']:g} Hz]")
