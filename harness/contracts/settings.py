"""Where a project keeps its contracts, and who produces its messages: ``contracts.yaml``.

The file sits in the contracts directory (``<root>/contracts/contracts.yaml`` by default;
``contracts.settings`` in the configuration moves it); every path in it is relative to
that directory. Without the file the defaults hold: ``pacts/`` and ``openapi/`` there, and
the matrix in the git notes ref ``refs/notes/harness-contracts``.

```yaml
version: 1
pacts: pacts               # the committed pact files, <consumer>-<provider>.json
openapi: openapi           # the committed OpenAPI baselines, <service>.json
matrix: refs/notes/harness-contracts  # git notes: every verification (can-i-deploy reads it)
messages:                  # provider -> "module:attribute" of its message producers
  orders: contracts.producers:ORDERS
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from harness.contracts.errors import ContractsFileError
from harness.contracts.matrix_notes import DEFAULT_REF
from harness.errors import SpecIssue
from harness.yamlsource import load_model

DEFAULT_DIR = "contracts"
FILE_NAME = "contracts.yaml"

ObjectPath = Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")]


def _notes_ref(value: str) -> str:
    # Not a file in the tree: a committed file can never hold the verification of the
    # commit that contains it, and writing it dirties the tree its version is read from.
    if not re.fullmatch(r"refs/notes/[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*", value):
        raise ValueError(
            "the verification matrix is a git notes ref such as refs/notes/harness-contracts "
            "(kept outside the tracked tree), not a file"
        )
    return value


NotesRef = Annotated[str, AfterValidator(_notes_ref)]


class _ContractsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    pacts: str = "pacts"
    openapi: str = "openapi"
    matrix: NotesRef = DEFAULT_REF
    messages: dict[str, ObjectPath] = Field(default_factory=dict)


@dataclass(frozen=True)
class ContractsSettings:
    """Resolved, absolute paths of a project's contracts."""

    root: Path
    directory: Path
    pacts: Path
    openapi: Path
    # the git notes ref holding the verification matrix (see harness.contracts.matrix_notes)
    matrix: str
    # provider -> "module:attribute" naming a mapping of message description -> producer
    messages: dict[str, str] = field(default_factory=dict)
    source: Path | None = None

    def baseline(self, service: str) -> Path:
        return self.openapi / f"{service}.json"


def load_settings(
    root: Path, path: Path | None = None, *, required: bool = False
) -> ContractsSettings:
    """The settings of the project at ``root`` from ``path`` (the configuration's
    ``contracts.settings``; default ``contracts/contracts.yaml``); a bad file raises
    ``file:line: field: why``. A missing file gives the defaults unless ``required`` (the
    user named it)."""
    path = path or root / DEFAULT_DIR / FILE_NAME
    named = required
    if path.is_file():
        spec = load_model(path, _ContractsFile, error=ContractsFileError)
        source: Path | None = path
    elif named:
        raise ContractsFileError([SpecIssue(str(path), 0, "", "file not found")])
    else:
        spec, source = _ContractsFile(version=1), None
    directory = path.parent
    return ContractsSettings(
        root=root,
        directory=directory,
        pacts=(directory / spec.pacts).resolve(),
        openapi=(directory / spec.openapi).resolve(),
        matrix=spec.matrix,
        messages=dict(spec.messages),
        source=source,
    )
