# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _regions as regions
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError

EXPECTED = {
    'global': 'icr.io', 'au-syd': 'au.icr.io', 'br-sao': 'br.icr.io', 'ca-mon': 'ca2.icr.io', 'ca-tor': 'ca.icr.io',
    'eu-de': 'de.icr.io', 'eu-es': 'es.icr.io', 'eu-gb': 'uk.icr.io', 'in-che': 'in.icr.io', 'in-mum': 'in2.icr.io',
    'jp-osa': 'jp2.icr.io', 'jp-tok': 'jp.icr.io', 'us-south': 'us.icr.io',
}


@pytest.mark.parametrize('region,host', sorted(EXPECTED.items()))
def test_every_region_maps_to_its_host_and_private_form(region, host):
    assert regions.region_host(region) == host
    assert regions.region_host(region, private=True) == 'private.' + host
    assert regions.host_region(host) == region
    assert regions.host_region('private.' + host) == region


def test_table_has_all_thirteen():
    assert regions.REGION_HOSTS == EXPECTED


@pytest.mark.parametrize('former,host', [('ap-south', 'au.icr.io'), ('eu-central', 'de.icr.io'), ('uk-south', 'uk.icr.io'),
                                         ('ap-north', 'jp.icr.io'), ('us-east', 'us.icr.io'), ('US-South', 'us.icr.io')])
def test_former_names_and_case(former, host):
    assert regions.region_host(former) == host


def test_hosts_accepted_as_regions():
    assert regions.region_host('de.icr.io') == 'de.icr.io'
    assert regions.region_host('private.de.icr.io') == 'private.de.icr.io'
    assert regions.region_host('de.icr.io', private=True) == 'private.de.icr.io'


def test_unknown_region_lists_valid_ones():
    with pytest.raises(InputError) as err:
        regions.region_host('moon-base')
    assert "'moon-base'" in err.value.msg
    for name in EXPECTED:
        assert name in err.value.msg


@pytest.mark.parametrize('value,host', [
    ('us.icr.io', 'us.icr.io'), ('https://us.icr.io/', 'us.icr.io'), ('https://US.ICR.IO', 'us.icr.io'),
    ('http://127.0.0.1:5000/v2/', '127.0.0.1:5000'), ('registry.example.com:443', 'registry.example.com:443'),
    ('[::1]:5000', '[::1]:5000'), ('localhost', 'localhost'),
])
def test_normalize(value, host):
    assert regions.normalize_registry(value) == (host, None)


# Written out from the reference (icr-iam-protocol.md, 1.1, column "Deprecated domain"), never read from the table
# under test: a wrong pair in DEPRECATED_HOSTS must fail here.
DEPRECATED = [
    ('registry.bluemix.net', 'icr.io'),
    ('registry.au-syd.bluemix.net', 'au.icr.io'),
    ('registry.eu-de.bluemix.net', 'de.icr.io'),
    ('registry.eu-gb.bluemix.net', 'uk.icr.io'),
    ('registry.ng.bluemix.net', 'us.icr.io'),
]


def test_deprecated_table_is_exactly_the_documented_one():
    assert sorted(regions.DEPRECATED_HOSTS.items()) == sorted(DEPRECATED)


@pytest.mark.parametrize('old,new', DEPRECATED)
def test_deprecated_bluemix_names_warn(old, new):
    host, warning = regions.normalize_registry('https://%s/' % old)
    assert host == new
    assert old in warning and new in warning and 'deprecated' in warning


@pytest.mark.parametrize('value,words', [
    ('', 'empty'), ('us.icr.io/team-a', 'path'), ('ftp://us.icr.io', 'scheme'), (' us.icr.io', 'white space'),
    ('us icr io', 'white space'), ('-bad-.example', 'not a valid'), ('https://', 'not a valid'),
])
def test_bad_registry_values_name_option_and_cause(value, words):
    with pytest.raises(InputError) as err:
        regions.normalize_registry(value, option='registries')
    assert err.value.msg.startswith('registries:')
    assert words in err.value.msg


def test_resolve_dedupes_keeps_order_and_applies_private():
    extra = ['us.icr.io', 'registry.ng.bluemix.net', '127.0.0.1:5000']
    hosts, warnings = regions.resolve_registries(['us-south', 'eu-de', 'us-south'], extra, private=True)
    assert hosts == ['private.us.icr.io', 'private.de.icr.io', '127.0.0.1:5000']
    assert len(warnings) == 1
    hosts, warnings = regions.resolve_registries(['global'], None)
    assert hosts == ['icr.io'] and warnings == []


# ------------------------------------------------------------------ namespace-scoped keys (containers auth.json)

def test_registries_keep_a_namespace_only_when_scoped():
    assert regions.normalize_registry('https://us.icr.io/web/', scoped=True) == ('us.icr.io/web', None)
    assert regions.normalize_registry('US.ICR.IO/web/app', scoped=True) == ('us.icr.io/web/app', None)
    assert regions.normalize_registry('us.icr.io/v2/', scoped=True) == ('us.icr.io', None)
    host, warning = regions.normalize_registry('registry.ng.bluemix.net/web', scoped=True)
    assert host == 'us.icr.io/web' and 'deprecated' in warning
    with pytest.raises(InputError, match='has the path'):
        regions.normalize_registry('us.icr.io/web')


@pytest.mark.parametrize('bad', ['Web', 'web//app', '-web', 'web app', '', 'we$b'])
def test_a_namespace_that_is_no_path_is_refused(bad):
    with pytest.raises(InputError, match='is not a registry namespace'):
        regions.check_namespace(bad)


def test_namespaces_scope_every_host_and_private_keeps_the_path():
    keys, _warnings = regions.resolve_registries(['us-south'], ['de.icr.io', 'icr.io/base'], True, ['web', 'ops/tools'],
                                                 scoped=True)
    assert keys == ['private.us.icr.io/web', 'private.us.icr.io/ops/tools', 'private.de.icr.io/web',
                    'private.de.icr.io/ops/tools', 'private.icr.io/base']
    assert regions.with_private('us.icr.io/web') == 'private.us.icr.io/web'
    assert regions.with_private('registry.example.com/web') == 'registry.example.com/web'
    assert regions.resolve_registries(['us-south'], None, False, None, scoped=True)[0] == ['us.icr.io']


# Written out, never read from the tables under test.
VALID_REGIONS = ('au-syd, br-sao, ca-mon, ca-tor, eu-de, eu-es, eu-gb, global, in-che, in-mum, jp-osa, jp-tok, '
                 'us-south, ap-north, ap-south, eu-central, uk-south, us-east')
NOT_A_NAMESPACE = ("is not a registry namespace; give one such as web or team-a (lower-case letters, digits and . _ - "
                   "between them), or a repository path such as web/app.")


@pytest.mark.parametrize('region', [None, '', '  ', 42])
def test_an_empty_region_is_refused_with_the_valid_ones(region):
    with pytest.raises(InputError) as err:
        regions.region_host(region)
    assert err.value.msg == f'regions: an empty region was given. Valid regions: {VALID_REGIONS}.'


@pytest.mark.parametrize('region', ['moon-base', 'private.moon.example', 'private.', 'private.us-south'])
def test_an_unknown_region_is_refused_with_the_whole_message(region):
    with pytest.raises(InputError) as err:
        regions.region_host(region)
    assert err.value.msg == (f'regions: unknown region {region!r}. Valid regions: {VALID_REGIONS} (or give the host '
                             'with registries).')


def test_icr_hosts_public_and_private():
    assert regions.is_icr_host('us.icr.io') and regions.is_icr_host('private.us.icr.io')
    assert regions.is_icr_host('private.icr.io') and regions.is_icr_host('icr.io')
    assert not regions.is_icr_host('registry.example.com') and not regions.is_icr_host('private.example.com')
    assert not regions.is_icr_host('private.private.us.icr.io')
    assert regions.host_region('registry.example.com') is None


def test_namespace_messages_name_the_option_and_the_value():
    with pytest.raises(InputError) as err:
        regions.check_namespace('Web')
    assert err.value.msg == f"namespaces: 'Web' {NOT_A_NAMESPACE}"
    with pytest.raises(InputError) as err:
        regions.check_namespace('web app', 'paths')
    assert err.value.msg == f"paths: 'web app' {NOT_A_NAMESPACE}"


@pytest.mark.parametrize('value', [None, 42, ['web'], '/', 'Xweb', 'webX'])
def test_a_namespace_that_is_no_text_is_refused(value):
    with pytest.raises(InputError) as err:
        regions.check_namespace(value)
    assert err.value.msg == f'namespaces: {value!r} {NOT_A_NAMESPACE}'


def test_a_namespace_loses_its_outer_slashes_only():
    assert regions.check_namespace('/web/') == 'web'
    assert regions.check_namespace('//team-a/app//') == 'team-a/app'
    assert regions.check_namespace('a.b_c__d--e/x') == 'a.b_c__d--e/x'


@pytest.mark.parametrize('value', ['HTTPS://us.icr.io', 'Http://us.icr.io/v2'])
def test_a_scheme_in_any_case_is_dropped(value):
    assert regions.normalize_registry(value) == ('us.icr.io', None)


@pytest.mark.parametrize('value,msg', [
    ('', "registries: an empty registry host was given; give a host such as us.icr.io."),
    ('ftp://us.icr.io', "registries: registry 'ftp://us.icr.io' has the scheme 'ftp'; give a bare host such as "
                        "us.icr.io."),
    (' us.icr.io', "registries: registry ' us.icr.io' contains white space; give a bare host such as us.icr.io."),
    ('us.icr.io/team-a', "registries: registry 'us.icr.io/team-a' has the path '/team-a', but Docker and podman look "
                         "up credentials by host only; give the host alone (us.icr.io)."),
    ('/web', "registries: registry '/web' has the path '/web', but Docker and podman look up credentials by host only; "
             "give the host alone (us.icr.io)."),
    ('https:///web', "registries: registry 'https:///web' has the path '/web', but Docker and podman look up "
                     "credentials by host only; give the host alone (us.icr.io)."),
    ('-bad-.example', "registries: '-bad-.example' is not a valid registry host; give a host such as us.icr.io or "
                      "127.0.0.1:5000."),
])
def test_bad_registry_values_have_whole_messages_under_the_default_option(value, msg):
    with pytest.raises(InputError) as err:
        regions.normalize_registry(value)
    assert err.value.msg == msg


def test_a_bad_namespace_of_a_scoped_registry_names_the_option():
    with pytest.raises(InputError) as err:
        regions.normalize_registry('us.icr.io/Web', scoped=True)
    assert err.value.msg == f"registries: '/Web' {NOT_A_NAMESPACE}"
    with pytest.raises(InputError) as err:
        regions.normalize_registry('us.icr.io/Web', option='hosts', scoped=True)
    assert err.value.msg == f"hosts: '/Web' {NOT_A_NAMESPACE}"


def test_resolve_gives_the_deprecation_warnings_and_scopes_only_when_asked():
    hosts, warnings = regions.resolve_registries(None, ['registry.ng.bluemix.net', 'registry.eu-de.bluemix.net'])
    assert hosts == ['us.icr.io', 'de.icr.io']
    assert warnings == [
        'The registry domain registry.ng.bluemix.net is deprecated; the credential is written for us.icr.io, the name '
        'IBM Cloud Container Registry logins use. Update your image references to us.icr.io.',
        'The registry domain registry.eu-de.bluemix.net is deprecated; the credential is written for de.icr.io, the '
        'name IBM Cloud Container Registry logins use. Update your image references to de.icr.io.']
    with pytest.raises(InputError) as err:
        regions.resolve_registries(None, ['us.icr.io/web'])
    assert err.value.msg.startswith("registries: registry 'us.icr.io/web' has the path '/web'")
