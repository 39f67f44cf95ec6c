"""``kiosk doctor``: check that this station can run, and say what is wrong in plain words.

Exit status: 0 all ok; 1 warnings only (the station can run; the operator
should look); 2 at least one fatal finding (the station cannot run), an
unusable config included.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from kiosk import config, doctor
from kiosk.cli.numbers import float_in
from kiosk.config import ConfigError

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk doctor``."""
    p.add_argument("--config", type=Path, default=None, help="kiosk.toml (defaults when omitted)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--camera-seconds", type=float_in(0.05, 60), default=2.0,
                   help="how long to read the camera to measure its frame rate (0.05-60)")
    p.add_argument("--lang", choices=("zh", "en"), default=None,
                   help="language of the first line of each row (default: [station] language)")



def run(args: argparse.Namespace, probes: doctor.Probes | None = None) -> int:
    """Run ``kiosk doctor``."""
    try:
        cfg = config.load_station(args.config)
    except ConfigError as exc:
        log.error("doctor.config_invalid detail=%s", exc.detail)
        findings = [doctor.finding("config", doctor.FATAL, "doctor.config.invalid", exc.detail,
                                   reason=exc.message("zh"), reason_en=exc.message("en"))]
        lang = args.lang or "zh"
    else:
        probes = probes or doctor.Probes()
        probes.camera_seconds = args.camera_seconds
        source = str(args.config) if args.config else "-"
        findings = [doctor.finding("config", doctor.OK, "doctor.config.ok", source, file=source),
                    *doctor.run_checks(cfg, probes)]
        lang = args.lang or cfg.station.language
    if args.json:
        print(json.dumps(doctor.to_json(findings), ensure_ascii=False, indent=1))
    else:
        print(doctor.render_table(findings, lang))
    return doctor.exit_code(findings)
