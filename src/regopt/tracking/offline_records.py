"""Read a W&B run record (`run-<id>.wandb`) without W&B's servers or its (removed) Python reader.

An offline run writes no summary or history JSON: only this file, which `wandb sync` uploads. It is
a LevelDB-style log: a 7-byte file header (`:W&B`, magic 0xBEE1, version 0), then 32 KiB blocks of
chunks, each with a 7-byte header (CRC-32 of type + data, length, type: full, first, middle,
last) and holding one serialised `wandb_internal_pb2.Record` or a piece of one. A block's last
bytes are zero padding when fewer than 7 remain.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HEADER = struct.Struct("<4sHB")
CHUNK = struct.Struct("<IHB")
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def raw_records(path: str | Path) -> Iterator[bytes]:
    data = Path(path).read_bytes()
    ident, magic, version = HEADER.unpack_from(data)
    if ident != b":W&B" or magic != 0xBEE1 or version != 0:
        raise ValueError(
            f"{path} is not a W&B run record (header {ident!r}, {magic:#x}, {version})"
        )
    pos, pending = HEADER.size, b""
    while pos + CHUNK.size <= len(data):
        if BLOCK - pos % BLOCK < CHUNK.size:
            pos += BLOCK - pos % BLOCK  # padding at the end of a block
            continue
        crc, length, kind = CHUNK.unpack_from(data, pos)
        payload = data[pos + CHUNK.size : pos + CHUNK.size + length]
        pos += CHUNK.size + length
        if kind == 0 and length == 0:
            break  # zero fill: the end of what was written
        if zlib.crc32(payload, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF != crc:
            raise ValueError(f"{path}: corrupt chunk before byte {pos}")
        if kind == FULL:
            yield payload
        elif kind == FIRST:
            pending = payload
        elif kind == MIDDLE:
            pending += payload
        elif kind == LAST:
            yield pending + payload
            pending = b""


def records(path: str | Path) -> Iterator[Any]:
    from wandb.proto import wandb_internal_pb2

    for payload in raw_records(path):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        yield record


def _path(item: Any) -> list[str]:
    return list(item.nested_key) if item.nested_key else [item.key]


def _set(target: dict[str, Any], item: Any) -> None:
    """`nested_key` ["curves", "_type"] -> target["curves"]["_type"]; a metric named `val/loss`
    is one key."""
    *parents, last = _path(item)
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = json.loads(item.value_json)


def _remove(target: dict[str, Any], item: Any) -> None:
    *parents, last = _path(item)
    for key in parents:
        target = target.get(key, {})
    target.pop(last, None)


def _fields(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        _set(out, item)
    return out


def read_run(path: str | Path) -> dict[str, Any]:
    """`summary` (the last value of every key), `history` (one dict per logged row), `config`,
    `run` (name, group, job_type, tags) and `finished` (the exit record has been written)."""
    summary: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    config: dict[str, Any] = {}
    run: dict[str, Any] = {}
    finished = False
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "summary":
            for item in record.summary.update:
                _set(summary, item)
            for item in record.summary.remove:
                _remove(summary, item)
        elif kind == "history":
            history.append(_fields(record.history.item))
        elif kind == "config":
            config.update(_fields(record.config.update))
        elif kind == "exit":
            finished = True
        elif kind == "run":
            r = record.run
            config.update(_fields(r.config.update))
            run = {
                "name": r.display_name,
                "group": r.run_group,
                "job_type": r.job_type,
                "tags": list(r.tags),
                "id": r.run_id,
            }
    return {
        "summary": summary,
        "history": history,
        "config": config,
        "run": run,
        "finished": finished,
    }
