"""The settings declaration (siamfc.settings): types, ranges and keys checked by the declaration."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from siamfc.errors import SettingError
from siamfc.settings import build, check, option, setting


@dataclass
class Optim:
    lr: float = setting(0.01, gt=0)
    final_lr: float = setting(1e-5, gt=0, le="lr")
    name: str = setting("sgd", choices=("sgd", "adamw"))
    epochs: int = setting(10, ge=1)
    freeze: list[str] = setting(factory=list)

    def __post_init__(self) -> None:
        check(self)


@dataclass
class Run:
    optim: Optim = setting(factory=Optim)
    seed: int = setting(0, ge=0)
    teacher: str | None = None

    def __post_init__(self) -> None:
        check(self)


def test_build_converts_and_keeps_defaults() -> None:
    run = build(Run, {"optim": {"lr": 1, "final_lr": "1e-4"}, "seed": 3})
    assert run.optim.lr == 1.0 and isinstance(run.optim.lr, float)
    assert run.optim.final_lr == pytest.approx(1e-4) and run.optim.epochs == 10 and run.seed == 3


@pytest.mark.parametrize(("data", "key"), [
    ({"optim": {"lr": 0}}, "optim.lr"),
    ({"optim": {"lr": "fast"}}, "optim.lr"),
    ({"optim": {"final_lr": 0.1}}, "optim.final_lr"),  # above lr: bounded by another field
    ({"optim": {"name": "adam"}}, "optim.name"),
    ({"optim": {"epochs": True}}, "optim.epochs"),  # a switch is not a count
    ({"optim": {"epochs": 2.5}}, "optim.epochs"),
    ({"optim": {"freeze": "backbone"}}, "optim.freeze"),
    ({"optim": {"momentum": 0.9}}, "optim.momentum"),  # unknown key
    ({"optim": 3}, "optim"),
    ({"seed": -1}, "seed"),
    ({"teacher": 5}, "teacher"),
])
def test_bad_values_name_their_key(data: dict, key: str) -> None:
    with pytest.raises(SettingError) as info:
        build(Run, data)
    assert info.value.key == key
    assert "\n" not in str(info.value)


def test_python_keywords_are_checked_by_the_same_declaration() -> None:
    with pytest.raises(SettingError) as info:
        Optim(lr=-1.0)
    assert info.value.key == "lr"
    assert Run(teacher=None).teacher is None


def test_option_reads_a_command_line_value_by_the_declaration() -> None:
    parse = option(Optim, "epochs")
    assert parse("4") == 4
    with pytest.raises(argparse.ArgumentTypeError):
        parse("0")
    with pytest.raises(argparse.ArgumentTypeError):
        parse("x")
    assert option(Optim, "lr")("1e-3") == pytest.approx(1e-3)
