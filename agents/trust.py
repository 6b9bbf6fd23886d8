"""Which saved stable-baselines3 agents may be loaded.

An SB3 ``.zip`` holds pickled Python objects: loading one can run any code its author put in
it. An agent is therefore loaded only when the user trusts it, in one of two ways:

* its sha256 is listed in the ``SHA256SUMS`` file beside it (``sha256sum`` format, so
  ``sha256sum -c SHA256SUMS`` checks it too). :func:`agents.saved.save` adds every agent it writes
  to the manifest of its folder, and the agents shipped in ``benchmarks/agents`` are listed in
  theirs: a file planted or altered later does not match;
* the caller says so explicitly: ``trust=True`` in Python, ``--trust-agent PATH`` on the command
  line.

The file is read once (:func:`read_trusted`): the bytes whose sha256 is checked are the bytes
that are loaded, from memory, so replacing the file between the check and the load changes
nothing; a symbolic link is refused rather than followed.

A manifest protects only as well as its folder: whoever can write to the folder can rewrite
``SHA256SUMS`` along with the agent, so a ``SHA256SUMS`` in a folder an attacker can write
protects nothing. Keep trusted agents in a folder only you can write to.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

MANIFEST = "SHA256SUMS"


class UntrustedAgentError(ValueError):
    """A saved agent that is neither listed in its folder's manifest nor trusted explicitly."""


def read_agent(path: Path) -> bytes:
    """The whole content of the regular file ``path``; a symbolic link is refused
    (:class:`UntrustedAgentError`), not followed: where it points could change after a check."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        if os.path.islink(path):
            raise UntrustedAgentError(
                f"{path} is a symbolic link; an agent is loaded from the file itself "
                "(a link can be pointed elsewhere after the check)") from None
        raise FileNotFoundError(f"cannot read agent {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UntrustedAgentError(f"{path} is not a regular file")
        return handle.read()


def file_sha256(path: Path) -> str:
    """The sha256 of the regular file ``path`` (hex; a symbolic link is refused)."""
    return hashlib.sha256(read_agent(path)).hexdigest()


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


def read_trusted(path: Path, trust: bool = False) -> bytes:
    """The content of ``path``, read once, if it may be loaded (see the module doc); else
    :class:`UntrustedAgentError`. Load these bytes (e.g. through ``io.BytesIO``), never the
    path again: they are the ones that were checked."""
    path = Path(path)
    content = read_agent(path)
    if trust:
        return content
    listed = _manifest(path.parent).get(path.name)
    actual = hashlib.sha256(content).hexdigest()
    if listed == actual:
        return content
    why = ("is not listed in" if listed is None
           else "has changed since it was listed in")
    raise UntrustedAgentError(
        f"{path} {why} {path.parent / MANIFEST} (sha256 {actual}). Loading an SB3 agent runs "
        "code stored in it; if you trust where this file came from, load it with trust=True "
        "(command line: --trust-agent PATH).")


def check_trusted(path: Path, trust: bool = False) -> None:
    """Raise :class:`UntrustedAgentError` unless ``path`` may be loaded now (to load it, use
    :func:`read_trusted`'s bytes: the file may change after this check)."""
    read_trusted(path, trust)
