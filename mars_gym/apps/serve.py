"""Serve LMM generation over Ray Serve: ``mars-gym serve`` (the ``serve`` extra).

``mars-gym serve [--checkpoint default] [--capacity 256] [--host 127.0.0.1] [--port 8000]``
starts a local Ray instance and the deployment (mars_gym.lmm.ray_serve) and blocks; clients use
``serve.get_app_handle("mars_gym_lmm")``. Ray and Serve's HTTP proxy bind to the loopback
address by default, so only this machine can reach the model; ``--host 0.0.0.0`` (or a given
interface) exposes it to the network deliberately — anyone who reaches it can then drive it,
and a warning says so. Some of Ray's own servers listen beyond loopback whatever ``--host``
says (:data:`mars_gym.lmm.ray_serve.NOT_ON_LOOPBACK`). ``--max-streams-per-owner`` (32) caps
the streams one client holds; ``--idle-timeout`` (600 s) closes streams nobody uses.
"""

from __future__ import annotations

import sys
import time

from ray import serve

from mars_gym.apps import parsers
from mars_gym.lmm.options import ServeConfig
from mars_gym.lmm.ray_serve import APP_NAME, start


def main(argv: list[str] | None = None) -> int:
    config = parsers.config_from_arguments(ServeConfig, parsers.serve().parse_args(argv))
    start(config)
    print(f"serving {config.checkpoint} as Ray Serve app {APP_NAME!r} on {config.host}; "
          "Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        serve.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
