"""Temporary: the config fuzz of tests/test_fuzz_configs.py for one base (FUZZ_BASE), listing escapes."""
import os

import numpy as np
import yaml

import test_fuzz_configs as F
from test_fuzz_configs import stubs, workspace  # noqa: F401 - fixtures

BASE = os.environ.get("FUZZ_BASE", "ctc")
F.BASES = {BASE: F.BASES[BASE]}


def test_one_base(workspace, stubs, tmp_path, capsys):  # noqa: F811
    root, bases = workspace
    rng = np.random.default_rng(0)
    counts, unhandled, broken = {}, {}, []
    for name, cfg in bases.items():
        for k, (case, mutated, overrides) in enumerate(F._mutations(name, cfg, rng)):
            path = tmp_path / "config.yml"
            if isinstance(mutated, bytes):
                path.write_bytes(mutated)
            else:
                path.write_text(yaml.safe_dump(mutated, allow_unicode=True, sort_keys=False), encoding="utf-8")
            for command in ("summary", "train", "export"):
                outcome, detail = F._run(command, path, overrides)
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome == "unhandled":
                    unhandled.setdefault(detail.split(": ", 1)[0], []).append(f"{command} {case}: {detail}")
                if outcome == "broken":
                    broken.append(f"{command} {case}: {detail}")
            capsys.readouterr()
    with capsys.disabled():
        print(f"\n{BASE}: {counts}")
        for v in unhandled.values():
            print("UNHANDLED", len(v), v[0])
        for b in broken:
            print("BROKEN", b)
    assert not unhandled and not broken
