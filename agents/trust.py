"""Which saved stable-baselines3 agents may be loaded.

An SB3 ``.zip`` holds pickled Python objects: loading one can run any code its author put in
it. An agent is therefore loaded only when the user trusts it, in one of two ways:

* its sha256 is listed in the ``SHA256SUMS`` file beside it (``sha256sum`` format, so
  ``sha256sum -c SHA256SUMS`` checks it too). :func:`agents.saved.save` adds every agent it writes
  to the manifest of its folder, and the agents shipped in ``benchmarks/agents`` are listed in
  theirs: a file planted or altered later does not match;
* the caller says so explicitly: ``trust=True`` in Python, ``--trust-agent PATH`` on the command
  line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

MANIFEST = "SHA256SUMS"


class UntrustedAgentError(ValueError):
    """A saved agent that is neither listed in its folder's manifest nor trusted explicitly."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest(folder: Path) -> dict[str, str]:
    """File name -> sha256 of the manifest in ``folder`` (empty when there is none)."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    listed = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise UntrustedAgentError(f"{path}:{number}: expected '<sha256>  <file name>'")
        listed[name.strip()] = digest.lower()
    return listed


def check_manifest(folder: Path) -> None:
    """Raise :class:`UntrustedAgentError` (naming file and line) if ``folder``'s manifest is
    malformed, before anything is written beside it (nothing when there is none)."""
    _manifest(Path(folder))


def record_trusted(path: Path) -> None:
    """List ``path``'s current sha256 in the manifest of its folder (replacing an old entry)."""
    path = Path(path)
    listed = _manifest(path.parent)
    listed[path.name] = file_sha256(path)
    (path.parent / MANIFEST).write_text(
        "".join(f"{digest}  {name}\n" for name, digest in sorted(listed.items())),
        encoding="utf-8")


def check_trusted(path: Path, trust: bool = False) -> None:
    """Raise :class:`UntrustedAgentError` unless ``path`` may be loaded (see the module doc)."""
    if trust:
        return
    path = Path(path)
    listed = _manifest(path.parent).get(path.name)
    actual = file_sha256(path)
    if listed == actual:
        return
    why = ("is not listed in" if listed is None
           else "has changed since it was listed in")
    raise UntrustedAgentError(
        f"{path} {why} {path.parent / MANIFEST} (sha256 {actual}). Loading an SB3 agent runs "
        "code stored in it; if you trust where this file came from, load it with trust=True "
        "(command line: --trust-agent PATH).")
