"""What an import could not carry over, by name and place: ``file:line:column: subject: key: reason``.

``lost`` findings are compose keys or labels whose effect no manifest field can say (``import
compose`` exits 1); ``ignored`` ones are keys ``docker stack deploy`` ignores as well (docker-cli
``types.UnsupportedProperties`` and ``DeprecatedProperties``), listed so nothing disappears unseen;
``note`` ones say how something was written when that differs from what the files say (a stack's
network written external), and change no exit code either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.manifests.errors import escape_control

__all__ = ["Finding"]


@dataclass(frozen=True)
class Finding:
    where: str  # file:line:column
    subject: str  # "service wordpress", "network backend", ...
    key: str  # the compose key path or label, e.g. deploy.resources.limits.pids
    reason: str
    severity: Literal["lost", "ignored", "note"] = "lost"

    def text(self) -> str:
        tag = {"lost": "", "ignored": " (ignored by docker stack deploy too)", "note": " (note)"}[self.severity]
        # A compose key may hold terminal escapes ("\e[2J" in a quoted YAML key): shown escaped.
        return escape_control(f"{self.where}: {self.subject}: {self.key}: {self.reason}{tag}")
