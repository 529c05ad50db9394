# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`python -m icr_bench helper-get`: what one `docker-credential-icr get` costs a client, against `python3 -c pass`.

The zipapp of plugins/module_utils/_helper_bundle.bundle(), built for the host's python3, runs as a real process against
the emulator's VPC metadata service and IAM (identity vpc_trusted_profile, in this process, on loopback). Each round
runs, in an order that rotates from round to round: the floor (`python3 -c pass`, the start-up any Python helper pays),
`get` with a warm cache (the token cached), and `get` with a refresh (the cache removed first: metadata token, IAM
token, then the cache written). No root needed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .runs import median

KINDS = ('floor', 'warm', 'refresh')
LABELS = {'floor': 'floor: python3 -c pass', 'warm': 'get, token cached (warm cache)',
          'refresh': 'get, cache removed (metadata + IAM exchange)'}
PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'  # the emulator's profile-reader, linked to its default instance
REGISTRY = 'us.icr.io'
DEFAULT_ROUNDS = 30


def rounds_from_env(environ: Mapping[str, str]) -> int:
    text = environ.get('BENCH_HELPER_ROUNDS', str(DEFAULT_ROUNDS)).strip()
    try:
        rounds = int(text)
    except ValueError:
        raise SystemExit('bench: BENCH_HELPER_ROUNDS must be a whole number such as 30, not %r' % text) from None
    if rounds < 1:
        raise SystemExit('bench: BENCH_HELPER_ROUNDS must be at least 1, not %d' % rounds)
    return rounds


def order(rnd: int) -> list[str]:
    """floor, warm, refresh; then warm, refresh, floor; ...: no kind always runs first or last."""
    shift = rnd % len(KINDS)
    return list(KINDS[shift:] + KINDS[:shift])


def summarize(samples: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """Per-round seconds {floor, warm, refresh} -> medians, ratios of medians to the floor's, and the spread
    (min, median, max) of the per-round ratios (each kind against the floor of the same round)."""
    complete = [s for s in samples if all(isinstance(s.get(k), (int, float)) for k in KINDS)]
    out: dict[str, Any] = {'rounds': len(complete), 'median': {}, 'min': {}, 'max': {}, 'ratio': {}, 'ratio_spread': {},
                           'over_floor_ms': {}}
    if not complete:
        return out
    for kind in KINDS:
        values = [s[kind] for s in complete]
        out['median'][kind] = median(values)
        out['min'][kind] = min(values)
        out['max'][kind] = max(values)
    floor = out['median']['floor']
    for kind in ('warm', 'refresh'):
        out['ratio'][kind] = out['median'][kind] / floor if floor else None
        out['over_floor_ms'][kind] = (out['median'][kind] - floor) * 1000.0
        paired = sorted(s[kind] / s['floor'] for s in complete if s['floor'] > 0)
        out['ratio_spread'][kind] = [paired[0], median(paired), paired[-1]] if paired else []
    return out


def timed(argv: Sequence[str], env: Mapping[str, str], stdin: bytes = b'') -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    proc = subprocess.run(list(argv), input=stdin, env=dict(env), capture_output=True, timeout=60, check=False)
    return time.monotonic() - started, proc


def check_get(proc: subprocess.CompletedProcess, kind: str) -> None:
    """A get that did not give a credential is no measurement: stop, naming the kind and the helper's one line
    (its stderr never holds a token; stdout, which does, is not shown)."""
    if proc.returncode != 0:
        raise RuntimeError('bench: docker-credential-icr get (%s) failed with rc=%d: %s'
                           % (kind, proc.returncode, proc.stderr.decode('utf-8', 'replace').strip()[-500:]))
    try:
        reply = json.loads(proc.stdout)
    except ValueError:
        raise RuntimeError('bench: docker-credential-icr get (%s) printed no JSON' % kind) from None
    if not isinstance(reply, dict) or not reply.get('Secret') or reply.get('ServerURL') != REGISTRY:
        raise RuntimeError('bench: docker-credential-icr get (%s) gave no credential for %s' % (kind, REGISTRY))


def measure(python: str, rounds: int, *, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Build the helper, start the emulator, run the rounds; the figures and the emulator's exchange counts."""
    from icr_emulator import Emulator  # pylint: disable=import-outside-toplevel

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    work = tempfile.mkdtemp(prefix='icr-bench-helper-')
    try:
        link = os.path.join(work, 'collections', 'ansible_collections', 'icr', 'auth')
        os.makedirs(os.path.dirname(link))
        os.symlink(repo, link, target_is_directory=True)
        sys.path.insert(0, os.path.join(work, 'collections'))
        try:
            # pylint: disable-next=import-outside-toplevel
            from ansible_collections.icr.auth.plugins.module_utils._helper_bundle import bundle
        finally:
            sys.path.remove(os.path.join(work, 'collections'))
        exe = os.path.join(work, 'bin', 'docker-credential-icr')
        os.makedirs(os.path.dirname(exe))
        with open(exe, 'wb') as handle:
            handle.write(bundle(python))
        os.chmod(exe, 0o755)
        cache = os.path.join(work, 'cache')
        config_path = os.path.join(work, 'credential-helper.json')
        with Emulator(state_dir=os.path.join(work, 'emulator-state')) as emu:
            config = {'version': 1, 'identity': 'vpc_trusted_profile', 'trusted_profile_id': PROFILE,
                      'registries': [REGISTRY], 'metadata_endpoint': emu.metadata_url, 'iam_endpoint': emu.url,
                      'cache_dir': cache, 'timeout': 5, 'retries': 0}
            with open(config_path, 'w', encoding='utf-8') as handle:
                json.dump(config, handle)
            env = {'PATH': '/usr/bin:/bin', 'HOME': work, 'LANG': 'C.UTF-8', 'DOCKER_CREDENTIAL_ICR_CONFIG': config_path}
            get = [exe, 'get']
            runs = {'floor': lambda: timed([python, '-c', 'pass'], env),
                    'warm': lambda: timed(get, env, REGISTRY.encode()),
                    'refresh': lambda: timed(get, env, REGISTRY.encode())}
            # Untimed warm-up: the page cache holds python3, the zipapp and the helper's byte code alike; the cache is warm.
            for kind in KINDS:
                if kind == 'refresh':
                    shutil.rmtree(cache, ignore_errors=True)
                _seconds, proc = runs[kind]()
                if kind != 'floor':
                    check_get(proc, kind)
            before = emu.counters()
            samples: list[dict[str, float]] = []
            for rnd in range(rounds):
                sample: dict[str, float] = {}
                for kind in order(rnd):
                    if kind == 'refresh':
                        shutil.rmtree(cache, ignore_errors=True)
                    seconds, proc = runs[kind]()
                    if kind == 'floor' and proc.returncode != 0:
                        raise RuntimeError('bench: %s -c pass failed with rc=%d' % (python, proc.returncode))
                    if kind != 'floor':
                        check_get(proc, kind)
                    sample[kind] = seconds  # a refresh leaves a cache behind: the next warm get reads it
                samples.append(sample)
            after = emu.counters()
        calls = {k: after[k] - before.get(k, 0) for k in sorted(after) if after[k] != before.get(k, 0)}
        result = {'python': python, 'python_version': subprocess.run([python, '-c', 'import sys; print(sys.version.split()[0])'],
                                                                     capture_output=True, text=True, check=False).stdout.strip(),
                  'zipapp_bytes': os.path.getsize(exe), 'samples': samples, 'calls': calls, 'rounds_asked': rounds}
        result.update(summarize(samples))
        say(summary_line(result))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summary_line(result: Mapping[str, Any]) -> str:
    med, ratio = result.get('median', {}), result.get('ratio', {})
    if not med:
        return 'helper get: no complete round'
    return ('helper get (%d rounds): floor %.1f ms, warm cache %.1f ms (x%.2f floor), refresh %.1f ms (x%.2f floor)'
            % (result['rounds'], med['floor'] * 1000, med['warm'] * 1000, ratio['warm'], med['refresh'] * 1000, ratio['refresh']))
