# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What one `make bench` runs, decided before anything runs (pure functions, unit-tested): rounds and forks per size,
which contenders run at which size, how long it should take, and how a fleet is cut into AWX-style slices."""

from __future__ import annotations

import math
from collections.abc import Sequence

DEFAULT_SIZES = (20, 50, 200)
DEFAULT_FORKS = 5
MAX_TUNED_FORKS = 25  # forks N/2, but no more than 25 on a 2-core controller (the issue: at 200, at least 5 and 25)
# Rounds per size when BENCH_REPEATS is not given: 3 up to 20 hosts, 2 from 50 (a run at 50 costs 2.5 times one at 20,
# at 200 about 9 times): what fits the default `make bench` in about an hour on 2 cores (see estimate()).
ROUNDS_SMALL, ROUNDS_LARGE, LARGE_FROM = 3, 2, 50
# The alternatives (community.docker, containers.podman, docker command) run only up to 50 hosts, the helper method
# (with its floor) only at 20 and below: their ratios are settled there; the role and its two floors run at every size.
ALTERNATIVES_MAX_N = 50
HELPER_MAX_N = 20
HELPER_KEYS = ('floor_become', 'role_helper')
# Strategy `free` and mitogen: the role against the floor under the same strategy, at these sizes, default forks only.
STRATEGY_SIZES = (20,)


def parse_rounds(text: str, sizes: Sequence[int]) -> dict[int, int]:
    """BENCH_REPEATS: '' (the default plan), '3' (every size), or '20:3,50:3,200:2' (per size; a size not named gets
    the default plan). Raises ValueError with a message naming the variable."""
    text = text.replace(' ', '')
    plan = {n: (ROUNDS_LARGE if n >= LARGE_FROM else ROUNDS_SMALL) for n in sizes}
    if not text:
        return plan
    if ':' not in text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError('BENCH_REPEATS must be a number of rounds (at least 1) or size:rounds pairs such as 20:3,200:2;'
                             ' got %r' % text)
        return {n: int(text) for n in sizes}
    for part in text.split(','):
        size, _colon, rounds = part.partition(':')
        if not size.isdigit() or not rounds.isdigit() or int(rounds) < 1:
            raise ValueError('BENCH_REPEATS: %r is not size:rounds (such as 200:2)' % part)
        if int(size) not in plan:
            raise ValueError('BENCH_REPEATS names size %s, which BENCH_SIZES (%s) does not have'
                             % (size, ','.join(map(str, sizes))))
        plan[int(size)] = int(rounds)
    return plan


def forks_for(n: int, tuned: str = 'half') -> list[int]:
    """The default forks (5) and the tuned value: 'half' = N/2, at least 5 and at most 25; or a number."""
    value = min(MAX_TUNED_FORKS, max(DEFAULT_FORKS, math.ceil(n / 2))) if tuned == 'half' else int(tuned)
    return [DEFAULT_FORKS] if value == DEFAULT_FORKS else [DEFAULT_FORKS, value]


def max_n(key: str, kind: str) -> int | None:
    """The largest size a contender runs at (None: every size)."""
    if key in HELPER_KEYS or kind == 'helper':
        return HELPER_MAX_N
    if kind == 'alternative':
        return ALTERNATIVES_MAX_N
    return None


def contenders_at(n: int, keys: Sequence[str], kinds: dict[str, str]) -> list[str]:
    """The contenders (keys, in the given order) that run at size n (see max_n)."""
    return [k for k in keys if max_n(k, kinds[k]) is None or n <= max_n(k, kinds[k])]


# Seconds one ansible-playbook run costs on this 2-core machine, from earlier `make bench` pages (the one-task floor
# 0.4 s + 0.205 s per host at forks 5, the role and the alternatives 1.2-1.3 times that) and the bench's own work
# around each run (closing the ssh masters, resetting the hosts): a fixed part, plus per host.
RUN_FIXED_S = 0.5
RUN_PER_HOST_S = 0.25
TUNED_FORKS_FACTOR = 0.85  # forks N/2 against forks 5, same N (the floor at N=50: 8.68 s against 10.64 s)


def run_seconds(n: int, per_host: float = RUN_PER_HOST_S, fixed: float = RUN_FIXED_S) -> float:
    return fixed + per_host * n


def runs_per_round(n: int, phases: dict[str, int], kinds: dict[str, str]) -> int:
    """ansible-playbook runs in one round at one forks value: each linear contender's phases (first + rerun = 2)."""
    return sum(count for key, count in phases.items()
               if kinds[key] != 'strategy' and key in contenders_at(n, [key], kinds))


def estimate(sizes: Sequence[int], rounds: dict[int, int], phases: dict[str, int], kinds: dict[str, str], *,
             strategy_runs: int = 0, per_host: float = RUN_PER_HOST_S, fixed: float = RUN_FIXED_S,
             extra_s: float = 0.0) -> dict[int, float]:
    """Estimated seconds of each size's measurement (every round, every forks value; strategy_runs more per round at
    STRATEGY_SIZES, default forks only), plus extra_s once (key -1: set-up, warm-up, probes, slices, profiles)."""
    out: dict[int, float] = {}
    for n in sizes:
        forks_weight = 1.0 + TUNED_FORKS_FACTOR * (len(forks_for(n)) - 1)
        runs = runs_per_round(n, phases, kinds) * forks_weight * rounds[n]
        if n in STRATEGY_SIZES:
            runs += strategy_runs * rounds[n]
        out[n] = runs * run_seconds(n, per_host, fixed)
    out[-1] = extra_s
    return out


def slices(hosts: Sequence[str], k: int) -> list[list[str]]:
    """AWX job slicing: slice i (1-based) runs hosts[i-1::k] of the inventory, so every slice gets about N/k hosts."""
    if k < 1:
        raise ValueError('the number of slices must be at least 1')
    return [list(hosts[i::k]) for i in range(k) if hosts[i::k]]


def limit_pattern(hosts: Sequence[str]) -> str:
    """--limit for one slice: the hosts by name, comma-separated (the form AWX's sliced inventory amounts to)."""
    if not hosts:
        raise ValueError('a slice with no host has no --limit')
    return ','.join(hosts)
