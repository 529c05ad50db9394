# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One fleet report from the icr_login_info results of many hosts, as data and as Markdown (internal use only).

Runs on the controller (the filters icr.auth.fleet_audit_report and icr.auth.fleet_audit_markdown); no module imports
it. An API key names no identity on the host: its fingerprint is matched against ``known_keys``, a list of
{name, fingerprint, iam_id (optional)} the controller computed from the keys it holds with
icr.auth.credential_fingerprint, so the report says which hosts still hold which key. The items the module
icr_api_key_info returns fit as they are: the identity IAM named for the key (iam_id, service ID, account) is then in
the report, and a host holding a key IAM does not know, or a disabled or expired one, has a problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError

FINGERPRINT_RE = re.compile(r'^sha256:[0-9a-f]{12}$')
ENTRY_FIELDS = ('registry', 'host', 'namespace', 'region', 'method', 'helper', 'username_type', 'fingerprint', 'iam_id',
                'account_id', 'expires_at', 'expired')
NO_CREDENTIAL = 'no credential'
# What icr_api_key_info says of a key, kept from a known_keys item.
LOOKUP_FIELDS = ('key_name', 'account_id', 'service_id', 'service_id_name', 'found', 'locked', 'disabled', 'expired',
                 'problem')
FILE_FIELDS = ('path', 'format', 'exists', 'readable', 'parsed', 'owner', 'mode', 'dir_mode', 'creds_store',
               'other_registries')


def check_known_keys(known_keys: object) -> dict[str, dict]:
    """{fingerprint: {name, iam_id}} of known_keys; InputError naming the item that is wrong (never its values)."""
    if known_keys is None:
        return {}
    if not isinstance(known_keys, Sequence) or isinstance(known_keys, (str, bytes)):
        raise InputError('known_keys: give a list of {name, fingerprint} items.')
    found = {}
    for index, item in enumerate(known_keys):
        where = f'known_keys[{index}]'
        if not isinstance(item, Mapping) or not isinstance(item.get('name'), str) or not item.get('name'):
            raise InputError(f'{where}: give a mapping with a name and a fingerprint.')
        fp = item.get('fingerprint')
        if not isinstance(fp, str) or not FINGERPRINT_RE.match(fp):
            # Never echo the value: a key given by mistake in place of its fingerprint must not be shown.
            raise InputError(f'{where} ({item["name"]}): fingerprint is not a fingerprint ("sha256:" and 12 hex digits). '
                             'Compute it on the controller from the key with the filter icr.auth.credential_fingerprint; '
                             'never give the key itself.')
        if item.get('key') is not None or item.get('key_file') is not None:
            raise InputError(f'{where} ({item["name"]}): give the fingerprint only, never the key or its file; the '
                             'module icr.auth.icr_api_key_info turns keys into fingerprints and identities.')
        if fp in found and found[fp]['name'] != item['name']:
            raise InputError(f'{where} ({item["name"]}): the same fingerprint as {found[fp]["name"]}.')
        iam_id = item.get('iam_id')
        found[fp] = {'name': item['name'], 'iam_id': iam_id if isinstance(iam_id, str) and iam_id else None}
        found[fp].update((k, item.get(k)) for k in LOOKUP_FIELDS)
    return found


def key_label(key: Mapping) -> str:
    """API key <name>[ of service ID <name>][ (<iam_id>)][, and why it does not work]."""
    label = f"API key {key['name']}"
    if key.get('service_id_name'):
        label += f" of service ID {key['service_id_name']}"
    if key.get('iam_id'):
        label += f" ({key['iam_id']})"
    if key.get('found') is False:
        label += ', unknown to IAM'
    elif key.get('disabled'):
        label += ', disabled'
    elif key.get('expired'):
        label += ', expired'
    return label


def identity_of(entry: Mapping, known: Mapping[str, dict]) -> tuple[str, str | None]:
    """(a label of the identity an entry holds, the known key's name or None)."""
    kind = entry.get('username_type')
    fp = entry.get('fingerprint')
    if entry.get('method') in ('helper', 'store'):
        # What Docker uses; a credential left in the file beside it is a problem of its own.
        return f"{entry['method']} docker-credential-{entry.get('helper')}", None
    if kind == 'iamapikey':
        key = known.get(fp)
        if key is None:
            return f'unknown API key {fp}', None
        return key_label(key), key['name']
    if kind == 'trusted_profile':
        # The profile is the identity; the password is a service ID's API key, named when the controller knows it.
        profile = f"trusted profile {entry.get('iam_id')}" if entry.get('iam_id') else 'trusted profile'
        key = known.get(fp)
        if key is None:
            return f'{profile} with unknown API key {fp}', None
        return f"{profile} with API key {key['name']}", key['name']
    if kind in ('iambearer', 'iamrefresh') and entry.get('iam_id'):
        return entry['iam_id'], None
    if kind:
        return f'{kind} {fp}', None
    return NO_CREDENTIAL, None


def _host_view(host: str, result: object, known: Mapping[str, dict]) -> dict:
    view = {'host': host, 'audited': False, 'error': None, 'users': [], 'files': [], 'entries': [], 'problems': []}
    if not isinstance(result, Mapping):
        view['error'] = 'the host was not reached, or the play did not run the audit on it'
        return view
    if result.get('unreachable') or result.get('failed') or not isinstance(result.get('files'), list):
        view['error'] = str(result.get('msg') or 'the audit failed without a message')
        return view
    view['audited'] = True
    view['users'] = list(result.get('users') or [])
    for item in result['files']:
        view['files'].append(dict((k, item.get(k)) for k in ('user',) + FILE_FIELDS))
        for entry in item.get('registries') or []:
            row = {'user': item.get('user'), 'path': item.get('path'), 'format': item.get('format')}
            row.update((k, entry.get(k)) for k in ENTRY_FIELDS)
            row['identity'], row['key_name'] = identity_of(entry, known)
            key = known.get(entry.get('fingerprint')) if row['key_name'] else None
            if key:
                # The identity IAM named for the key, where the host could not know it.
                row['iam_id'] = row['iam_id'] or key['iam_id']
                row['account_id'] = row['account_id'] or key['account_id']
                if key['problem']:
                    view['problems'].append({'code': 'api_key_not_working', 'user': item.get('user'),
                                             'path': item.get('path'),
                                             'msg': f"{entry.get('registry')}: API key {key['name']} - {key['problem']}"})
            view['entries'].append(row)
        for found in item.get('problems') or []:
            view['problems'].append(dict(found, user=item.get('user'), path=item.get('path')))
    return view


def build_report(results: Mapping[str, object], known_keys: object = None, generated_at: str | None = None) -> dict:
    """The fleet report: per host its files, entries and problems; a summary by identity and by problem."""
    known = check_known_keys(known_keys)
    hosts = [_host_view(str(host), results[host], known) for host in sorted(results, key=str)]
    identities: dict[str, set] = {}
    for view in hosts:
        for row in view['entries']:
            if row['identity'] != NO_CREDENTIAL:
                identities.setdefault(row['identity'], set()).add(view['host'])
    codes: dict[str, int] = {}
    for view in hosts:
        for found in view['problems']:
            codes[found['code']] = codes.get(found['code'], 0) + 1
    summary = {
        'hosts': len(hosts),
        'audited': sum(1 for v in hosts if v['audited']),
        'without_result': [{'host': v['host'], 'error': v['error']} for v in hosts if not v['audited']],
        'identities': [{'identity': name, 'hosts': sorted(identities[name])} for name in sorted(identities)],
        'hosts_with_problems': [{'host': v['host'], 'problems': len(v['problems']),
                                 'codes': sorted(set(p['code'] for p in v['problems']))} for v in hosts if v['problems']],
        'problem_counts': dict(sorted(codes.items())),
        'known_keys_unused': sorted(k['name'] for fp, k in known.items()
                                    if not any(r.get('fingerprint') == fp for v in hosts for r in v['entries'])),
    }
    return {'generated_at': generated_at, 'summary': summary, 'hosts': hosts}


def _cell(value: object) -> str:
    if value is None or value == '':
        return '-'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return str(value).replace('\\', '\\\\').replace('|', '\\|').replace('\n', ' ')


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    lines.extend('| ' + ' | '.join(_cell(c) for c in row) + ' |' for row in rows)
    return lines + ['']


def markdown(report: Mapping) -> str:
    """The report as a Markdown document."""
    s = report['summary']
    out = ['# IBM Cloud Container Registry credentials of the fleet', '']
    when = f"{report['generated_at']}: " if report.get('generated_at') else ''
    out += [f"{when}{s['hosts']} hosts, {s['audited']} audited, {len(s['without_result'])} without a result, "
            f"{len(s['hosts_with_problems'])} with problems.", '', '## Summary', '', '### Hosts per identity', '']
    out += _table(('Identity', 'Hosts', 'Count'), [(i['identity'], ', '.join(i['hosts']), len(i['hosts']))
                                                   for i in s['identities']])
    if s['known_keys_unused']:
        out += [f"Known keys no host holds: {', '.join(s['known_keys_unused'])}.", '']
    out += ['### Hosts with problems', '']
    out += _table(('Host', 'Problems', 'Kinds'),
                  [(p['host'], p['problems'], ', '.join(p['codes'])) for p in s['hosts_with_problems']])
    if s['without_result']:
        out += ['### Hosts without a result', '']
        out += _table(('Host', 'Why'), [(w['host'], w['error']) for w in s['without_result']])
    out += ['## Hosts', '']
    for view in report['hosts']:
        out += [f"### {_cell(view['host'])}", '']
        if not view['audited']:
            out += [f"No result: {_cell(view['error'])}", '']
            continue
        out += [f"Users: {', '.join(view['users']) or 'none'}.", '']
        if view['entries']:
            out += _table(('User', 'File', 'Registry', 'Method', 'Username type', 'Identity', 'Fingerprint', 'Expires',
                           'Expired'),
                          [(r['user'], r['path'], r['registry'], r['method'] + (f" ({r['helper']})" if r['helper'] else ''),
                            r['username_type'], r['identity'], r['fingerprint'], r['expires_at'], r['expired'])
                           for r in view['entries']])
        else:
            out += ['No ICR credentials.', '']
        if view['problems']:
            out += ['Problems:', '']
            out += [f"- {_cell(p['user'])}, `{p['path']}`, {p['code']}: {_cell(p['msg'])}" for p in view['problems']]
            out += ['']
    return '\n'.join(out).rstrip('\n') + '\n'
