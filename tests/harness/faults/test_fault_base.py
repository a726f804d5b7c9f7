"""The Fault interface: applied() and ReversibleFault's idempotence."""

from __future__ import annotations

import pytest

from harness.faults.base import Fault, ReversibleFault, applied


class Recording(ReversibleFault):
    def __init__(self, fail_inject: bool = False) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.fail_inject = fail_inject
        self.description = "recording"

    def _inject(self) -> None:
        self.calls.append("inject")
        if self.fail_inject:
            raise OSError("could not inject")

    def _revert(self) -> None:
        self.calls.append("revert")


def test_applied_reverts_when_the_body_raises() -> None:
    fault = Recording()
    assert isinstance(fault, Fault)

    def body() -> None:
        with applied(fault) as same:
            assert same is fault
            assert fault.active
            raise KeyError("x")

    with pytest.raises(KeyError):
        body()
    assert fault.calls == ["inject", "revert"]
    assert not fault.active


def test_a_failed_inject_is_not_reverted() -> None:
    fault = Recording(fail_inject=True)
    with pytest.raises(OSError, match="could not inject"), applied(fault):
        pass
    assert fault.calls == ["inject"]
    assert not fault.active


def test_inject_and_revert_are_idempotent() -> None:
    fault = Recording()
    fault.revert()
    with fault:
        fault.inject()
    fault.revert()
    assert fault.calls == ["inject", "revert"]
