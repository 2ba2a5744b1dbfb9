"""Bodies from MuJoCo XML: checked once, stored as text, loaded from a private file.

A scenario names a body file (``[env] xml_file``); the run keeps the file's
**text** (the task's ``body_xml``, stored in archives and genome files), so a
champion replays on another machine without the original file. Gymnasium's
MuJoCo environments load a body from a path (their ``xml_file`` keyword), so
:func:`body_file` writes the text once per process into a private temporary
folder (``tempfile.mkdtemp``, removed at exit), never beside the user's files.
A body must therefore be self-contained: meshes, textures from files or
``<include>`` elements are refused by :func:`check_body`, which parses the text
with ``mujoco.MjModel.from_xml_string`` before any run starts.

Our own environments are registered here (:func:`register_ours`), under the
``spatial_snn/`` namespace, with string entry points (nothing is imported
until one is made).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

#: Our environments: id -> (entry point, episode cap).
OUR_ENVS = {"spatial_snn/Hexapod-v0": ("spatial_snn.tasks.hexapod:HexapodEnv", 1000)}

_FILES: dict[str, str] = {}  # sha256 of a body's text -> its private file, in this process
_DIR: list[str] = []


def register_ours() -> None:
    """Register :data:`OUR_ENVS` with gymnasium (once per process)."""
    import gymnasium

    for env_id, (entry_point, steps) in OUR_ENVS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point=entry_point, max_episode_steps=steps)


def load_body(path, where: str = "env.xml_file") -> str:
    """The text of a body file (path relative to the working directory), checked by :func:`check_body`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"{where}: body file {str(path)!r} not found (relative to {os.getcwd()}); fix the path, "
            'e.g. xml_file = "bodies/hexapod.xml"'
        )
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{where}: cannot read body file {str(path)!r} as text ({exc})") from None
    check_body(text, f"{where} {str(path)!r}")
    return text


def check_body(text: str, where: str = "body") -> None:
    """Raise one ValueError unless ``text`` is a self-contained MuJoCo model that compiles."""
    import mujoco

    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: expected the text of a MuJoCo XML model, got {type(text).__name__}")
    try:
        mujoco.MjModel.from_xml_string(text)
    except (ValueError, mujoco.FatalError) as exc:
        reason = " ".join(str(exc).split())
        raise ValueError(
            f"{where}: not a MuJoCo model that compiles on its own ({reason}); fix the XML "
            "(a stored body must be self-contained: no meshes, files or includes)"
        ) from None


def body_key(text: str | None) -> str:
    """A short digest naming a body's text ("" for none)."""
    return "" if text is None else hashlib.sha256(text.encode()).hexdigest()[:16]


def body_file(text: str) -> str:
    """Absolute path of a private file holding ``text`` (written once per process, removed at exit)."""
    key = body_key(text)
    path = _FILES.get(key)
    if path is None:
        if not _DIR:
            _DIR.append(tempfile.mkdtemp(prefix="spatial_snn-body-"))
            atexit.register(shutil.rmtree, _DIR[0], True)
        path = os.path.join(_DIR[0], f"{key}.xml")
        with open(path, "x") as f:
            f.write(text)
        _FILES[key] = path
    return path
