# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The filters credential_fingerprint, fleet_audit_report and fleet_audit_markdown."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.icr.auth.plugins.filter import credential_fingerprint, fleet_audit_markdown, fleet_audit_report
from ansible_collections.icr.auth.plugins.module_utils._credential import encode_auth
from ansible_collections.icr.auth.plugins.module_utils._audit import analyse
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY


def test_the_fingerprint_is_the_one_icr_login_info_reports():
    fp = credential_fingerprint.FilterModule().filters()['credential_fingerprint'](API_KEY)
    seen = analyse({'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)}}}, 'docker')
    assert fp == seen['registries'][0]['fingerprint'] and fp.startswith('sha256:') and len(fp) == 19


@pytest.mark.parametrize('value', [None, '', '  ', 42])
def test_no_fingerprint_of_nothing(value):
    with pytest.raises(AnsibleFilterError, match='give the secret'):
        credential_fingerprint.credential_fingerprint(value)


def test_report_and_markdown_filters():
    fp = credential_fingerprint.credential_fingerprint(API_KEY)
    row = {'registry': 'us.icr.io', 'method': 'file', 'username_type': 'iamapikey', 'fingerprint': fp}
    results = {'h1': {'users': ['u'], 'files': [{'user': 'u', 'path': '/p', 'format': 'docker', 'problems': [],
                                                 'registries': [row]}]}}
    built = fleet_audit_report.FilterModule().filters()['fleet_audit_report'](
        results, known_keys=[{'name': 'new', 'fingerprint': fp}], generated_at='T')
    assert built['summary']['identities'] == [{'identity': 'API key new', 'hosts': ['h1']}]
    text = fleet_audit_markdown.FilterModule().filters()['fleet_audit_markdown'](built)
    assert '| API key new | h1 | 1 |' in text
    with pytest.raises(AnsibleFilterError, match=r'fleet_audit_report: known_keys\[0\] \(new\)'):
        fleet_audit_report.fleet_audit_report(results, known_keys=[{'name': 'new', 'fingerprint': API_KEY}])
    with pytest.raises(AnsibleFilterError, match='mapping of host name'):
        fleet_audit_report.fleet_audit_report(['h1'])
    with pytest.raises(AnsibleFilterError, match='result of the filter'):
        fleet_audit_markdown.fleet_audit_markdown({'hosts': []})
