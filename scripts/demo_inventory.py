# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of `make demo` (scripts/demo.sh); standard library only.

  demo_inventory.py inventory --emulator-url URL --workdir DIR [--hosts N]   write DIR/inventory.yml, print its path
  demo_inventory.py api-key [--name svc-reader]                               print a FAKE key of the emulator's fixture
  demo_inventory.py counters --emulator-url URL                               print the emulator's IAM token call count
  demo_inventory.py recap FILE...                                             per-host changed/failed of each run's output
  demo_inventory.py redact CONFIG                                             print a config.json with every secret masked
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, 'tests', 'emulator', 'fixtures', 'default.json')
RECAP_LINE = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
ANSI = re.compile(r'\x1b\[[0-9;]*m')


def host_config_path(workdir, host):
    return os.path.join(workdir, 'hosts', host, '.docker', 'config.json')


def write_inventory(args):
    """Three "hosts" on this machine (local connection), each with its own Docker config directory."""
    registry = args.emulator_url.split('://', 1)[1].rstrip('/')
    hosts = ['demo-host-%d' % i for i in range(1, args.hosts + 1)]
    inventory = {'all': {
        'vars': {
            'ansible_connection': 'local',
            'ansible_python_interpreter': sys.executable,
            # The emulator stands in for IAM and for the registry (it answers /v2/ with the token challenge).
            'docker_auth_iam_endpoint': args.emulator_url,
            'docker_auth_registries': [registry],
            'docker_auth_username_type': 'iambearer',
            'docker_auth_cache_dir': os.path.join(args.workdir, 'controller-cache'),
        },
        'hosts': dict((h, {'docker_auth_config_path': host_config_path(args.workdir, h)}) for h in hosts),
    }}
    path = os.path.join(args.workdir, 'inventory.yml')
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(inventory, handle, indent=2)  # JSON is YAML
        handle.write('\n')
    print(path)


def api_key(args):
    with open(FIXTURE, encoding='utf-8') as handle:
        fixture = json.load(handle)
    for key in fixture['apikeys']:
        if key['name'] == args.name:
            print(key['value'])
            return
    sys.exit('no API key named %r in %s' % (args.name, FIXTURE))


def counters(args):
    with urllib.request.urlopen(args.emulator_url.rstrip('/') + '/_emulator/counters', timeout=10) as answer:  # nosec - loopback
        print(json.load(answer)['iam_token'])


def recap(args):
    """One line per host: the changed (and failed/unreachable) count of each run, from ansible's PLAY RECAP."""
    runs = []
    for path in args.files:
        with open(path, encoding='utf-8', errors='replace') as handle:
            text = ANSI.sub('', handle.read())
        runs.append(dict((m.group(1), m.groups()[1:]) for m in RECAP_LINE.finditer(text)))
    hosts = sorted(set(h for run in runs for h in run))
    print('  %-14s %s' % ('host', ''.join('%-18s' % ('run %d' % (i + 1)) for i in range(len(runs)))))
    for host in hosts:
        cells = []
        for run in runs:
            ok, changed, unreachable, failed = run.get(host, ('-', '-', '-', '-'))
            cell = 'changed=%s' % changed
            if failed not in ('0', '-') or unreachable not in ('0', '-'):
                cell += ' FAILED'
            cells.append(cell)
        print('  %-14s %s' % (host, ''.join('%-18s' % c for c in cells)))


def redact(args):
    with open(args.config, encoding='utf-8') as handle:
        config = json.load(handle)
    for entry in (config.get('auths') or {}).values():
        if isinstance(entry, dict) and entry.get('auth'):
            username, _sep, secret = base64.b64decode(entry['auth']).decode('utf-8').partition(':')
            entry['auth'] = '<%s:secret sha256:%s>' % (username, hashlib.sha256(secret.encode('utf-8')).hexdigest()[:12])
        for field in ('password', 'identitytoken', 'registrytoken'):
            if isinstance(entry, dict) and entry.get(field):
                entry[field] = '<redacted>'
    print(json.dumps(config, indent=2, sort_keys=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    one = sub.add_parser('inventory')
    one.add_argument('--emulator-url', required=True)
    one.add_argument('--workdir', required=True)
    one.add_argument('--hosts', type=int, default=3)
    one.set_defaults(func=write_inventory)
    one = sub.add_parser('api-key')
    one.add_argument('--name', default='svc-reader')
    one.set_defaults(func=api_key)
    one = sub.add_parser('counters')
    one.add_argument('--emulator-url', required=True)
    one.set_defaults(func=counters)
    one = sub.add_parser('recap')
    one.add_argument('files', nargs='+')
    one.set_defaults(func=recap)
    one = sub.add_parser('redact')
    one.add_argument('config')
    one.set_defaults(func=redact)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == '__main__':
    main()
