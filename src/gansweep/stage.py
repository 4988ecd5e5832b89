"""What every pipeline/ script shares: load params.yaml, and turn bad input into one line + exit 2."""
from __future__ import annotations

import sys
from typing import Callable

from gansweep.config import Config, load_config
from gansweep.data.sources import ChecksumError, DownloadError
from gansweep.registry import ConfigError


def run(stage: Callable[[Config], None], params: str = "params.yaml") -> None:
    try:
        stage(load_config(params))
    except (ConfigError, ChecksumError, DownloadError, FloatingPointError) as err:  # the last: a NaN loss (gansweep.module)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
