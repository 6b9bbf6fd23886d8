"""Every torch file the package loads is data: refused when it holds code, is corrupt, holds
non-finite weights, or has a config that asks for more than the file holds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mars_gym.checkpoint import (
    CheckpointError,
    payload_digest,
    read_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from mars_gym.lmm.checkpoint import NAMED, load_lmm
from mars_gym.minutes.checkpoint import ASSETS as MINUTE_ASSETS
from mars_gym.minutes.model import load_minute_model
from mars_gym.minutes.tokenizer import MinuteTokenizer


class Payload:
    """Pickled, it runs code on load: it writes ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


LOADERS = {
    "lmm": load_lmm,
    "minute tokenizer": MinuteTokenizer.load,
    "minute model": load_minute_model,
}
SHIPPED = {"lmm": NAMED["default"], "minute tokenizer": MINUTE_ASSETS / "minute_tokenizer.pt",
           "minute model": MINUTE_ASSETS / "minute_model.pt"}


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_a_checkpoint_holding_pickled_code_is_refused_and_the_code_never_runs(kind, tmp_path):
    marker = tmp_path / "marker"
    payload = torch.load(SHIPPED[kind], map_location="cpu", weights_only=True)
    payload["config"] = Payload(marker)
    torch.save(payload, tmp_path / "crafted.pt")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        LOADERS[kind](tmp_path / "crafted.pt")
    assert not marker.exists()


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_the_shipped_checkpoints_load(kind):
    assert LOADERS[kind](SHIPPED[kind]) is not None


def test_two_thousand_flipped_bytes_in_the_shipped_model_are_detected(tmp_path):
    data = bytearray(NAMED["default"].read_bytes())
    rng = np.random.default_rng(0)
    for position in rng.choice(np.arange(4_096, len(data) - 4_096), 2_000, replace=False):
        data[position] ^= 0xFF
    (tmp_path / "flipped.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256|not a readable checkpoint"):
        load_lmm(tmp_path / "flipped.pt")


def test_an_edited_weight_fails_the_digest(tmp_path):
    payload = torch.load(NAMED["default"], map_location="cpu", weights_only=True)
    name = next(iter(payload["model"]))
    payload["model"][name] = payload["model"][name].clone()
    payload["model"][name].view(-1)[0] += 1.0
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="does not match its sha256"):
        load_lmm(tmp_path / "edited.pt")


def _resave(tmp_path: Path, name: str, edit) -> Path:
    """The shipped model with ``edit`` applied, saved consistently (a valid digest), as a
    crafted file would be (the writer itself refuses non-finite tensors)."""
    payload = torch.load(NAMED["default"], map_location="cpu", weights_only=True)
    edit(payload)
    payload["sha256"] = payload_digest(payload)
    torch.save(payload, tmp_path / name)
    return tmp_path / name


def test_non_finite_weights_are_refused(tmp_path):
    def poison(payload):
        name = next(k for k, v in payload["model"].items() if v.is_floating_point())
        payload["model"][name] = payload["model"][name].clone()
        payload["model"][name].view(-1)[3] = float("nan")

    with pytest.raises(CheckpointError, match=r"tensor model\..* holds NaN"):
        load_lmm(_resave(tmp_path, "nan.pt", poison))


@pytest.mark.parametrize("config, fragment", [
    ({"n_layer": 10**9}, r"n_layer must be an integer in \[1, 256\]"),
    ({"n_embd": 4_096, "n_head": 32, "n_layer": 2}, "weights do not fit the model config"),
    ({"context": 10**7}, "context must be an integer"),
    # the rotary table and the key/value caches are not in the file: the context has a ceiling
    ({"context": 65_536}, (r"context must be an integer in \[1, 8192\] \(the rotary table and "
                           r"every stream's key/value cache are allocated to it")),
    ({"n_embd": 16_384, "n_head": 128, "n_layer": 200},
     r"one stream's key/value cache would take 12,800 MiB .* more than 64 MiB"),
    ({"n_embd": "128"}, "n_embd must be an integer"),
    ({"dropout": float("nan")}, r"dropout must be in \[0, 1\) \(the share of activations"),
    ({"rope_base": float("inf")}, r"rope_base must be finite and > 1 \(the base of the rotary"),
])
def test_a_crafted_config_cannot_make_the_loader_allocate(tmp_path, config, fragment):
    path = _resave(tmp_path, "config.pt", lambda payload: payload["config"].update(config))
    with pytest.raises(CheckpointError, match=fragment):
        load_lmm(path)


def test_writes_are_atomic_and_keep_the_old_file_on_failure(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "x.pt", "test.format", 1, {"w": torch.ones(3)})
    before = path.read_bytes()

    def broken_save(obj, f):
        Path(f).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, "test.format", 1, {"w": torch.zeros(3)})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pt"]
    monkeypatch.undo()
    assert torch.equal(read_checkpoint(path, "test.format", 1)["w"], torch.ones(3))
    with pytest.raises(CheckpointError, match="version 1, this code reads version 2"):
        read_checkpoint(path, "test.format", 2)


def test_an_unsupported_object_is_refused_when_saving(tmp_path):
    with pytest.raises(TypeError, match="tensors and plain containers only"):
        save_checkpoint(tmp_path / "y.pt", "test.format", 1, {"array": np.ones(2)})
    assert not list(tmp_path.iterdir())


def test_a_non_finite_tensor_is_not_written_and_the_old_file_stays(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", "test.format", 1, {"w": torch.ones(3)})
    with pytest.raises(ValueError, match=r"last\.pt is not written: tensor model\.w holds NaN"):
        save_checkpoint(path, "test.format", 1, {"model": {"w": torch.tensor([1.0, math.nan])}})
    assert torch.equal(read_checkpoint(path, "test.format", 1)["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_stale_temporary_files_of_the_writer_are_removed_and_nothing_else(tmp_path):
    names = [".last.pt.k3j_9xq2.tmp", ".last.pt.abcdefgh.tmp", ".best.pt.abcdefgh.tmp",
             ".last.pt.tmp", "last.pt.abcdefgh.tmp", ".last.pt.abcdefgh.tmp.keep", "notes.tmp"]
    for name in names:
        (tmp_path / name).write_bytes(b"half")
    removed = remove_stale_temporaries(tmp_path / "last.pt")
    assert [p.name for p in removed] == [".last.pt.abcdefgh.tmp", ".last.pt.k3j_9xq2.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])


def _tokenizer_header(payload, **fields) -> None:
    """Set header ``fields`` of the tokenizer inside a checkpoint ``payload``."""
    header = json.loads(bytes(payload["tokenizer"]["header"].numpy()).decode()) | fields
    payload["tokenizer"]["header"] = torch.frombuffer(bytearray(json.dumps(header).encode()),
                                                      dtype=torch.uint8)


@pytest.mark.parametrize("edit, fragment", [
    (lambda p: _tokenizer_header(p, volume_scale={"0": 100.0, "1": 100.0, "2": float("nan"),
                                                  "3": 7e6}),
     r"volume_scale of source 2 must be a finite number of lots > 0, got nan"),
    (lambda p: p["tokenizer"].update({"price1.lower": torch.zeros(0, dtype=torch.float64)}),
     r"price1\.lower holds 0 bins, not 1 to 32"),
])
def test_a_bad_tokenizer_inside_a_checkpoint_is_refused_at_load(tmp_path, edit, fragment):
    path = _resave(tmp_path, "tokenizer.pt", edit)
    with pytest.raises(CheckpointError, match=rf"^{path} \(tokenizer\): {fragment}"):
        load_lmm(path)


def test_a_deeply_nested_payload_is_refused_by_name_not_by_recursion(tmp_path):
    from mars_gym.checkpoint import MAX_PAYLOAD_DEPTH, payload_digest

    nested: list = []
    for _ in range(20_000):
        nested = [nested]
    with pytest.raises(TypeError, match=f"a checkpoint's payload nests containers at most "
                                        f"{MAX_PAYLOAD_DEPTH} deep; this one nests deeper"):
        payload_digest({"weights": nested})
    with pytest.raises(TypeError, match="nests deeper"):
        save_checkpoint(tmp_path / "deep.pt", "test.deep", 1, {"weights": nested})
    assert not (tmp_path / "deep.pt").exists()
    shallow: list = []
    for _ in range(MAX_PAYLOAD_DEPTH - 1):  # with the payload's own dict: at the limit
        shallow = [shallow]
    assert len(payload_digest({"weights": shallow})) == 64
