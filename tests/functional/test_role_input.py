# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's input checks, as a user meets them: a wrong variable never shows the API key, an unknown one is named.

Real ansible-playbook runs of icr.auth.docker_auth on localhost (connection local). The API key arrives each way a
user gives it - the controller's environment, an extra-vars file, an Ansible Vault variable, an inventory variable -
and every variable of meta/argument_specs.yml in turn gets a value that fails validation. No run touches a network:
validation and the controller's input check stop the play first.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from playrunner import collections_path, run_play
from secret_scan import find_secrets

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
ROLE_DIR = REPO / 'roles' / 'docker_auth'
BIN = pathlib.Path(sys.executable).parent
KEY = 'RoleInputKey0123456789abcdefghijklmnopqrstu'
VAULT_PASSWORD = 'vault-password-of-this-test'
WAYS = ('environment', 'extra_vars', 'vault', 'inventory')
SPEC = yaml.safe_load((ROLE_DIR / 'meta' / 'argument_specs.yml').read_text())['argument_specs']['main']['options']


def bad_value(spec):
    """A value of the variable's spec that validation refuses."""
    if 'choices' in spec:
        return 'not-one-of-the-choices'
    return {'str': {'a': 'mapping'}, 'path': {'a': 'mapping'}, 'bool': 'neither-true-nor-false',
            'int': 'not-a-number', 'list': {'a': 'mapping'}}[spec['type']]


# docker_auth_api_key (type str) converts anything to a string, so it cannot fail validation; every other one can.
# Free-form strings and paths pass validation whatever they hold (a mapping becomes its text): every other variable
# can fail it.
VALIDATED = sorted(name for name, spec in SPEC.items() if 'choices' in spec or spec['type'] not in ('str', 'path'))


class RoleRun(object):
    def __init__(self, proc, config):
        self.rc = proc.returncode
        self.text = proc.stdout + proc.stderr
        self.config = config

    def tail(self):
        return 'rc=%s\n%s' % (self.rc, self.text[-5000:])

    def leaked(self):
        """Where the API key appears in the output, in any encoding (secret_scan)."""
        return find_secrets([KEY], self.text)


def run_role(tmp_path, role_vars, way='environment', args=('-vvvv',), imported=False, hosts=('localhost',)):
    """The role on localhost with role_vars, the API key given `way`; secrets never on a command line.

    imported: the role through import_role with rolespec_validate false (ansible-core's own validation, a task per host,
    turned off), as the README recommends for large fleets. hosts: inventory names, all local connections."""
    tmp = pathlib.Path(tmp_path)
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / 'config.json'
    variables = {'docker_auth_regions': ['us-south'], 'docker_auth_validate': False,
                 'docker_auth_config_path': str(config)}
    variables.update(role_vars)
    env = dict((k, v) for k, v in os.environ.items()
               if k not in ('IBMCLOUD_API_KEY', 'IC_API_KEY') and not k.startswith('ANSIBLE_'))
    env.update({'ANSIBLE_COLLECTIONS_PATH': collections_path(), 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0',
                'ANSIBLE_LOCALHOST_WARNING': 'false', 'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
                'ANSIBLE_LOCAL_TEMP': str(tmp / 'ansible-local'), 'XDG_CACHE_HOME': str(tmp / 'cache')})
    inventory = tmp / 'inventory.ini'
    inventory.write_text(''.join('%s ansible_connection=local\n' % host for host in hosts))
    extra = tmp / 'extra-vars.json'
    extra.write_text(json.dumps({}))
    cmd = [str(BIN / 'ansible-playbook'), '-i', str(inventory), str(tmp / 'play.yml'), '-e', '@%s' % extra]
    secret_vars = {}
    if way == 'environment':
        env['IBMCLOUD_API_KEY'] = KEY
    elif way == 'ic_environment':
        env['IC_API_KEY'] = KEY
    elif way == 'extra_vars':
        extra.write_text(json.dumps({'docker_auth_api_key': KEY}))
    elif way == 'inventory':
        inventory.write_text('localhost ansible_connection=local docker_auth_api_key=%s\n' % KEY)
    elif way == 'vault':
        password_file = tmp / 'vault-password'
        password_file.write_text(VAULT_PASSWORD)
        vault_file = tmp / 'vault.yml'
        vault_file.write_text(yaml.safe_dump({'docker_auth_api_key': KEY}))
        encrypted = subprocess.run([str(BIN / 'ansible-vault'), 'encrypt', '--vault-password-file', str(password_file),
                                    str(vault_file)], env=env, capture_output=True, text=True, check=False)
        assert encrypted.returncode == 0, encrypted.stderr
        secret_vars = {'vars_files': [str(vault_file)]}
        cmd += ['--vault-password-file', str(password_file)]
    play = dict({'name': 'role input', 'hosts': 'all', 'gather_facts': False}, **secret_vars)
    if imported:
        play['tasks'] = [{'name': 'the role', 'ansible.builtin.import_role': {
            'name': 'icr.auth.docker_auth', 'rolespec_validate': False}, 'vars': variables}]
    else:
        play['roles'] = [{'role': 'icr.auth.docker_auth', 'vars': variables}]
    (tmp / 'play.yml').write_text(yaml.safe_dump([play]))
    proc = subprocess.run(cmd + list(args), env=env, capture_output=True, text=True, timeout=300, check=False)
    return RoleRun(proc, config)


# Free-form strings pass validation whatever they hold; these values fail later, on the controller or on the host.
CLOSED = 'http://127.0.0.1:9'  # nothing listens on the discard port: IAM calls fail at once, on loopback
LATER = {
    'docker_auth_credential_store': ({'docker_auth_credential_store': 'no such/helper'}, 'not a credential helper name'),
    'docker_auth_iam_endpoint': ({'docker_auth_iam_endpoint': 'ftp://127.0.0.1:9/', 'docker_auth_validate': True},
                                 'iam_endpoint'),
    'docker_auth_ca_path': ({'docker_auth_ca_path': '/nonexistent/ca.pem', 'docker_auth_validate': True,
                             'docker_auth_iam_endpoint': CLOSED}, 'ca_path'),
    'docker_auth_cache_dir': ({'docker_auth_cache_dir': '/dev/null/cache', 'docker_auth_validate': True,
                               'docker_auth_iam_endpoint': CLOSED}, None),
    'docker_auth_config_path': ({'docker_auth_config_path': 'relative/config.json'}, 'config_path'),
}
# The helper method's free-form variables, each wrong, stop the play on the controller. Should a check ever let one
# through, the helper's files go where nothing can be created (/proc), never into this machine's /usr/local/bin.
PROFILE_ID = 'Profile-0d4f58e5-2b1c-4a2e-9f5d-3c8e7a1b6f20'
NOWHERE = {'docker_auth_method': 'helper', 'docker_auth_helper_path': '/proc/icr-auth-test/docker-credential-icr',
           'docker_auth_helper_config_path': '/proc/icr-auth-test/credential-helper.json'}
LATER.update({
    'docker_auth_trusted_profile': (dict(NOWHERE, docker_auth_trusted_profile='my-profile'),
                                    'docker_auth_trusted_profile is neither a trusted profile id'),
    'docker_auth_profile_id': (dict(NOWHERE, docker_auth_profile_id=PROFILE_ID),
                               'docker_auth_profile_id is only used with docker_auth_identity: compute_resource'),
    'docker_auth_profile_name': (dict(NOWHERE, docker_auth_profile_name='reader'),
                                 'docker_auth_profile_name is only used with docker_auth_identity: compute_resource'),
    'docker_auth_cr_token_file': (dict(NOWHERE, docker_auth_identity='compute_resource', docker_auth_profile_name='r',
                                       docker_auth_cr_token_file='run/token'),
                                  'docker_auth_cr_token_file: run/token is not an absolute path'),
    'docker_auth_api_key_file': (dict(NOWHERE, docker_auth_api_key_file='~/key'),
                                 'docker_auth_api_key_file is only used with docker_auth_identity: api_key_file'),
    'docker_auth_metadata_endpoint': (dict(NOWHERE, docker_auth_metadata_endpoint='169.254.169.254'),
                                      'docker_auth_metadata_endpoint is not a base URL'),
    'docker_auth_helper_path': (dict(NOWHERE, docker_auth_helper_path='/proc/icr-auth-test/icr-helper'),
                                'docker_auth_helper_path: clients look the helper up by its name'),
    'docker_auth_helper_config_path': (dict(NOWHERE, docker_auth_helper_config_path='etc/helper.json'),
                                       'docker_auth_helper_config_path: etc/helper.json is not an absolute path'),
    'docker_auth_helper_ca_path': (dict(NOWHERE, docker_auth_helper_ca_path='ca.pem'),
                                   'docker_auth_helper_ca_path: ca.pem is not an absolute path'),
    'docker_auth_helper_cache_dir': (dict(NOWHERE, docker_auth_helper_cache_dir='cache'),
                                     'docker_auth_helper_cache_dir: cache is neither an absolute path'),
})


def test_every_variable_is_covered():
    assert sorted(VALIDATED + list(LATER) + ['docker_auth_api_key']) == sorted(SPEC)


@pytest.mark.parametrize('name', sorted(LATER))
def test_a_wrong_free_form_variable_never_shows_the_api_key(tmp_path, name):
    role_vars, message = LATER[name]
    for way in WAYS:
        run = run_role(tmp_path / way, role_vars, way=way)
        assert run.rc != 0, run.tail()
        assert message is None or message in run.text, run.tail()
        assert run.leaked() == [], run.tail()


@pytest.mark.parametrize('name', VALIDATED)
def test_a_wrong_variable_never_shows_the_api_key(tmp_path, name):
    """Each variable fails validation in turn, with the key arriving a different way each time, at -vvvv."""
    way = WAYS[VALIDATED.index(name) % len(WAYS)]
    run = run_role(tmp_path, {name: bad_value(SPEC[name])}, way=way)
    assert run.rc != 0, run.tail()
    assert 'Validation of arguments failed' in run.text and name in run.text, run.tail()
    assert run.leaked() == [], run.tail()
    assert not run.config.exists()


@pytest.mark.parametrize('way', WAYS)
@pytest.mark.parametrize('verbosity', [(), ('-vvvv',)])
def test_every_variable_wrong_at_once_shows_no_key(tmp_path, way, verbosity):
    run = run_role(tmp_path, dict((name, bad_value(SPEC[name])) for name in VALIDATED), way=way, args=verbosity)
    assert run.rc != 0, run.tail()
    for name in VALIDATED:
        assert name in run.text, (name, run.tail())
    assert run.leaked() == [], run.tail()


@pytest.mark.parametrize('way', WAYS)
def test_the_key_is_used_whichever_way_it_arrives(tmp_path, way):
    """The negative tests above mean something only if the key really reaches the role each of these ways."""
    run = run_role(tmp_path, {}, way=way)
    assert run.rc == 0, run.tail()
    auth = json.loads(run.config.read_text())['auths']['us.icr.io']['auth']
    assert base64.b64decode(auth).decode() == 'iamapikey:' + KEY
    assert run.leaked() == [], run.tail()


def test_ic_api_key_is_read_when_ibmcloud_api_key_is_not_set(tmp_path):
    run = run_role(tmp_path, {}, way='none', args=())
    assert run.rc != 0 and 'docker_auth_api_key is empty' in run.text, run.tail()
    run = run_role(tmp_path / 'ic', {}, way='ic_environment', args=())
    assert run.rc == 0, run.tail()
    auth = json.loads(run.config.read_text())['auths']['us.icr.io']['auth']
    assert base64.b64decode(auth).decode() == 'iamapikey:' + KEY


def test_a_misspelled_variable_is_named_with_the_one_meant(tmp_path):
    run = run_role(tmp_path, {'docker_auth_user': ['deploy'], 'docker_auth_formt': 'containers'}, args=())
    assert run.rc == 0, run.tail()
    text = ' '.join(run.text.split())
    assert 'docker_auth_user is not a variable of icr.auth.docker_auth and is ignored (did you mean ' \
           'docker_auth_users?)' in text, run.tail()
    assert '(did you mean docker_auth_format?)' in text, run.tail()
    assert run.config.exists()


def test_unknown_variables_fail_the_play_before_any_host_is_touched_when_asked(tmp_path):
    run = run_role(tmp_path, {'docker_auth_user': ['deploy'], 'docker_auth_unknown_variables': 'fail'}, args=())
    assert run.rc != 0, run.tail()
    assert 'did you mean docker_auth_users?' in ' '.join(run.text.split()), run.tail()
    assert not run.config.exists()
    assert 'Write the registry credential' not in run.text, run.tail()


def test_unknown_variables_can_be_ignored(tmp_path):
    run = run_role(tmp_path, {'docker_auth_user': ['deploy'], 'docker_auth_unknown_variables': 'ignore'}, args=())
    assert run.rc == 0, run.tail()
    assert 'docker_auth_user is not a variable' not in run.text, run.tail()
    assert run.config.exists()


def test_known_variables_do_not_warn(tmp_path):
    run = run_role(tmp_path, dict((name, spec.get('default')) for name, spec in SPEC.items()
                                  if name not in ('docker_auth_regions', 'docker_auth_validate', 'docker_auth_config_path',
                                                  'docker_auth_api_key')), args=())
    assert run.rc == 0, run.tail()
    assert 'is not a variable of icr.auth.docker_auth' not in run.text, run.tail()


def test_helper_problems_are_all_named_before_any_host_is_touched(tmp_path):
    role_vars = dict(NOWHERE, docker_auth_identity='compute_resource', docker_auth_trusted_profile=PROFILE_ID,
                     docker_auth_helper_ca_path='ca.pem')
    run = run_role(tmp_path, role_vars, way='extra_vars', args=())
    assert run.rc != 0, run.tail()
    text = ' '.join(run.text.split())
    for words in ('docker_auth_trusted_profile is only used with docker_auth_identity: vpc_trusted_profile',
                  'docker_auth_profile_id and docker_auth_profile_name: docker_auth_identity: compute_resource needs',
                  'docker_auth_api_key is not used with docker_auth_method: helper',
                  'docker_auth_helper_ca_path: ca.pem is not an absolute path'):
        assert words in text, (words, run.tail())
    assert 'Install and configure docker-credential-icr' not in run.text and not run.config.exists()
    assert run.leaked() == [], run.tail()


def test_the_helper_method_needs_no_api_key(tmp_path):
    role_vars = {'docker_auth_method': 'helper', 'docker_auth_validate': True,
                 'docker_auth_helper_path': str(tmp_path / 'bin' / 'docker-credential-icr'),
                 'docker_auth_helper_config_path': str(tmp_path / 'etc' / 'credential-helper.json')}
    run = run_role(tmp_path, role_vars, way='none', args=())
    assert run.rc == 0, run.tail()
    assert json.loads(run.config.read_text()) == {'credHelpers': {'us.icr.io': 'icr'}}
    assert (tmp_path / 'bin' / 'docker-credential-icr').exists()


def test_the_api_key_file_identity_takes_the_key_only_from_the_variable(tmp_path):
    """The controller's IBMCLOUD_API_KEY (an administrator's own key, often) is never copied to the hosts."""
    key_file = tmp_path / 'keys' / 'apikey'
    role_vars = {'docker_auth_method': 'helper', 'docker_auth_identity': 'api_key_file',
                 'docker_auth_api_key_file': str(key_file), 'docker_auth_users': ['root'],
                 'docker_auth_helper_path': str(tmp_path / 'bin' / 'docker-credential-icr'),
                 'docker_auth_helper_config_path': str(tmp_path / 'etc' / 'credential-helper.json')}
    run = run_role(tmp_path / 'env', role_vars, way='environment', args=('-vvvv',))
    assert run.rc == 0, run.tail()
    assert not key_file.exists() and run.leaked() == []
    run = run_role(tmp_path / 'vault', role_vars, way='vault', args=('-vvvv', '--diff'))
    assert run.rc == 0, run.tail()
    assert key_file.read_text() == KEY and run.leaked() == [], run.tail()


def test_key_files_need_the_users_named(tmp_path):
    role_vars = dict(NOWHERE, docker_auth_identity='api_key_file')
    run = run_role(tmp_path, role_vars, way='vault', args=('-vvvv',))
    assert run.rc != 0 and 'docker_auth_users is empty: with docker_auth_identity: api_key_file' in \
        ' '.join(run.text.split()), run.tail()
    assert run.leaked() == [] and 'Install and configure docker-credential-icr' not in run.text


# ansible-core prepends its own validation (a task per host) to a role listed in `roles:`; the role's first task checks
# the same meta/argument_specs.yml once, on the controller, so that import_role with rolespec_validate false (no task
# per host) refuses the same input, before any host is touched.
IMPLICIT = "Validating arguments against arg spec 'main'"
ON_THE_CONTROLLER = "Check the role's variables and get the registry credential, once, on the controller"


@pytest.mark.parametrize('imported', [False, True], ids=['roles', 'import_role-rolespec_validate-false'])
@pytest.mark.parametrize('way', WAYS)
def test_every_wrong_variable_is_refused_either_way_the_role_is_used(tmp_path, way, imported):
    run = run_role(tmp_path, dict((name, bad_value(SPEC[name])) for name in VALIDATED), way=way, imported=imported)
    assert run.rc != 0 and 'Validation of arguments failed' in run.text, run.tail()
    for name in VALIDATED:
        assert name in run.text, (name, run.tail())
    assert (IMPLICIT in run.text) is not imported, run.tail()
    assert run.leaked() == [] and not run.config.exists(), run.tail()
    assert 'Write the registry credential' not in run.text, run.tail()


@pytest.mark.parametrize('name', ['docker_auth_method', 'docker_auth_users', 'docker_auth_min_validity'])
def test_one_wrong_variable_is_named_by_the_controller_check_alone(tmp_path, name):
    run = run_role(tmp_path, {name: bad_value(SPEC[name])}, imported=True, args=())
    assert run.rc != 0 and 'Validation of arguments failed' in run.text and name in run.text, run.tail()
    assert IMPLICIT not in run.text and ON_THE_CONTROLLER in run.text, run.tail()
    assert run.leaked() == [] and not run.config.exists()


def test_with_the_file_method_icr_login_is_the_only_task_per_host(tmp_path):
    """The helper tasks (skipped with the file method) and the controller's tasks run once, not once per host."""
    hosts = ('h1', 'h2', 'h3')
    run = run_role(tmp_path, {'docker_auth_config_path': str(tmp_path / '{{ inventory_hostname }}.json')},
                   imported=True, hosts=hosts, args=('-v',))
    assert run.rc == 0, run.tail()
    for host in hosts:
        assert (tmp_path / (host + '.json')).exists()
        recap = [line for line in run.text.splitlines() if line.startswith(host + ' ')]
        # h1 runs the run_once tasks: its own validation and icr_login ok, the rest skipped; h2 and h3 only icr_login.
        expected = 'ok=2 changed=1' if host == 'h1' else 'ok=1 changed=1'
        assert len(recap) == 1 and expected in ' '.join(recap[0].split()), run.tail()
        if host != 'h1':
            assert ' skipped=0 ' in ' '.join(recap[0].split()) + ' ', run.tail()


@pytest.mark.parametrize('state', ['present', 'absent'])
def test_a_host_whose_method_differs_from_the_first_hosts_is_stopped_before_its_files_change(tmp_path, state):
    """The helper's tasks run once with the file method; a host that says helper where the first host says file would
    get no helper (or keep it): its icr_login stops with a message naming docker_auth_method, the other hosts go on."""
    # The play's value is the default, file; h2's inventory says helper (role variables would override it).
    role_vars = dict((k, v) for k, v in NOWHERE.items() if k != 'docker_auth_method')
    role_vars.update(docker_auth_state=state, docker_auth_config_path=str(tmp_path / '{{ inventory_hostname }}.json'))
    run = run_role(tmp_path, role_vars, imported=True, hosts=('h1', 'h2 docker_auth_method=helper', 'h3'), args=())
    assert run.rc != 0, run.tail()
    text = ' '.join(run.text.split())
    assert 'docker_auth_method is helper on h2 but file on the first host of the play' in text, run.tail()
    assert not (tmp_path / 'h2.json').exists()
    assert (tmp_path / 'h3.json').exists() is (state == 'present'), run.tail()
    assert run.leaked() == [], run.tail()


def test_the_controller_action_outside_the_role_fails_and_says_so(tmp_path):
    """icr.auth.docker_auth_controller reads the role's internal variables: called alone it refuses, naming the role."""
    run = run_play(tmp_path, [{'name': 'alone', 'icr.auth.docker_auth_controller': None}],
                   play_vars={'docker_auth_regions': ['us-south']}, secret_vars={'docker_auth_api_key': KEY})
    result = run.result('alone')
    assert result['status'] == 'failed', run.text
    assert result['result']['msg'] == ('icr.auth.docker_auth_controller is internal to the role icr.auth.docker_auth, '
                                       'which runs it as its first task: use the role, not this action.'), run.text
    assert find_secrets([KEY], run.text) == [], run.text
