"""Where the webhook server reports on itself, and the probe a container's health check runs:
`python -m bot.health` asks this machine's webhook server for /healthz and exits 0 when it
answers 200, 1 otherwise. Standard library only, so a probe every 30 s costs little."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
DEFAULT_LISTEN = "127.0.0.1"
DEFAULT_PORT = 8443
LISTEN_SETTING = "BRIEFBOT_LISTEN"
PORT_SETTING = "BRIEFBOT_PORT"
EVERY_ADDRESS = ("", "0.0.0.0", "::")


def health_url(listen: str, port: int) -> str:
    """The /healthz URL of a server listening on `listen`:`port`, as seen from this machine."""
    host = "127.0.0.1" if listen in EVERY_ADDRESS else listen
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}{HEALTH_PATH}"


def probe(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Whether `url` answers 200, and what it said (or why nothing answered)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return False, error.read().decode(errors="replace")
    except OSError as error:
        return False, f"{url}: {error}"


def main() -> int:
    """Probe the server that `briefbot run --webhook` started with this environment."""
    listen = os.environ.get(LISTEN_SETTING) or DEFAULT_LISTEN
    port = int(os.environ.get(PORT_SETTING) or DEFAULT_PORT)
    healthy, said = probe(health_url(listen, port))
    print(said.strip())
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
