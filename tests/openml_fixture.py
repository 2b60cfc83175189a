"""Tiny OpenML data sets in the files fetch_openml caches: gzipped JSON descriptions and a gzipped
ARFF table, at the paths it looks in under `<data_home>/openml/openml.org/`. Only the files it
reads for a fetch by data id; nothing else of OpenML's is imitated."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np


def pixel(i: int, c: int, h: int, w: int) -> int:
    """The value image i has at (channel c, row h, column w): distinct enough to catch a wrong
    reshape (channel order, transposed rows and columns)."""
    return (37 * i + 101 * c + 11 * h + 3 * w) % 256


def image_table(n: int, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows in OpenML's column order: channel-major, then row-major (MNIST: pixel1..pixel784;
    CIFAR-10: 1,024 red, 1,024 green, 1,024 blue). Labels cycle through 0..9."""
    c, h, w = shape
    grid = np.indices((n, c, h, w))
    values = (37 * grid[0] + 101 * grid[1] + 11 * grid[2] + 3 * grid[3]) % 256
    return values.reshape(n, -1), np.arange(n) % 10


def write_openml_images(data_home: Path, data_id: int, shape: tuple[int, int, int], n: int) -> None:
    table, labels = image_table(n, shape)
    columns = [f"pixel{j + 1}" if shape[0] == 1 else f"a{j}" for j in range(table.shape[1])]
    classes = ",".join(str(k) for k in range(10))
    lines = [
        "@RELATION fixture",
        *(f"@ATTRIBUTE {name} NUMERIC" for name in columns),
        f"@ATTRIBUTE class {{{classes}}}",
        "@DATA",
    ]
    lines += [
        ",".join(map(str, row)) + f",{label}" for row, label in zip(table, labels, strict=True)
    ]
    arff = ("\n".join(lines) + "\n").encode()
    file_id = 900_000 + data_id
    base = data_home / "openml" / "openml.org"
    description = {
        "data_set_description": {
            "id": str(data_id),
            "name": "fixture",
            "version": "1",
            "format": "ARFF",
            "status": "active",
            "description": "test fixture",
            "file_id": str(file_id),
            "url": f"https://api.openml.org/data/v1/download/{file_id}/fixture.arff",
            "default_target_attribute": "class",
            "md5_checksum": hashlib.md5(arff).hexdigest(),
        }
    }
    features = [
        {
            "index": str(j),
            "name": name,
            "data_type": "numeric",
            "is_target": "false",
            "is_ignore": "false",
            "is_row_identifier": "false",
            "number_of_missing_values": "0",
        }
        for j, name in enumerate(columns)
    ]
    features.append(
        {
            "index": str(len(columns)),
            "name": "class",
            "data_type": "nominal",
            "nominal_values": json.dumps([str(k) for k in range(10)]),
            "is_target": "true",
            "is_ignore": "false",
            "is_row_identifier": "false",
            "number_of_missing_values": "0",
        }
    )
    qualities = {"data_qualities": {"quality": [{"name": "NumberOfInstances", "value": f"{n}.0"}]}}
    _gzip(base / f"api/v1/json/data/{data_id}.gz", json.dumps(description).encode())
    _gzip(
        base / f"api/v1/json/data/features/{data_id}.gz",
        json.dumps({"data_features": {"feature": features}}).encode(),
    )
    _gzip(base / f"api/v1/json/data/qualities/{data_id}.gz", json.dumps(qualities).encode())
    _gzip(base / f"data/v1/download/{file_id}/fixture.arff.gz", arff)


def _gzip(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as out:
        out.write(content)
