# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The contenders: the role (two username types), Ansible's floors, and what users do today."""

from __future__ import annotations

import dataclasses
import os

PLAYBOOKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'playbooks')


@dataclasses.dataclass(frozen=True)
class Contender:
    key: str
    label: str
    playbook: str
    phases: tuple[str, ...]  # ('first', 'rerun'): a fresh fleet, then the same play again; ('once',): stateless
    host_task: str  # the task that runs on every host (its per-host durations are reported)
    kind: str  # 'role', 'helper' (the role's helper method), 'floor' or 'alternative'
    role_vars: tuple[tuple[str, object], ...] = ()
    floor: str = ''  # the floor this contender is compared with
    strategy: str = ''  # '' (linear), 'free' or 'mitogen_linear' (ANSIBLE_STRATEGY for the run; plan.STRATEGY_SIZES only)

    @property
    def path(self) -> str:
        return os.path.join(PLAYBOOKS, self.playbook)


ROLE_TASK = 'icr.auth.docker_auth : Write the registry credential for each user'
PING_TASK = 'Ping every host'
LOGIN_TASK = 'Log in to the registry'

CONTENDERS = (
    Contender('floor1', 'floor: 1 task (ping)', 'floor_one_task.yml', ('once',), PING_TASK, 'floor'),
    Contender('floor2', 'floor: 2 tasks (ping once + ping)', 'floor_two_tasks.yml', ('once',), PING_TASK, 'floor'),
    Contender('role_apikey', 'docker_auth iamapikey, validate=false', 'role.yml', ('first', 'rerun'), ROLE_TASK, 'role',
              (('docker_auth_username_type', 'iamapikey'), ('docker_auth_validate', False)), floor='floor1'),
    Contender('role_bearer', 'docker_auth iambearer (validated)', 'role.yml', ('first', 'rerun'), ROLE_TASK, 'role',
              (('docker_auth_username_type', 'iambearer'), ('docker_auth_validate', True)), floor='floor2'),
    Contender('role_apikey_import', 'docker_auth iamapikey, validate=false, import_role (rolespec_validate false)',
              'role_import.yml', ('first', 'rerun'), ROLE_TASK, 'role',
              (('docker_auth_username_type', 'iamapikey'), ('docker_auth_validate', False)), floor='floor1'),
    Contender('floor_become', 'floor: 2 tasks (ping as root + ping)', 'floor_become.yml', ('once',), PING_TASK, 'floor'),
    Contender('role_helper', 'docker_auth helper (vpc_trusted_profile)', 'role.yml', ('first', 'rerun'), ROLE_TASK, 'helper',
              (('docker_auth_method', 'helper'),), floor='floor_become'),
    Contender('docker_login', 'community.docker.docker_login', 'docker_login.yml', ('first', 'rerun'), LOGIN_TASK,
              'alternative'),
    Contender('podman_login', 'containers.podman.podman_login', 'podman_login.yml', ('first', 'rerun'), LOGIN_TASK,
              'alternative'),
    Contender('docker_command', 'command: docker login --password-stdin', 'docker_command.yml', ('first', 'rerun'),
              'Run docker login', 'alternative'),
    # The role against the one-task floor under another strategy (large users run these): free, and mitogen's.
    Contender('floor1_free', 'floor: 1 task (ping), strategy free', 'floor_one_task.yml', ('once',), PING_TASK, 'floor',
              strategy='free'),
    Contender('role_apikey_free', 'docker_auth iamapikey, validate=false, strategy free', 'role.yml', ('first', 'rerun'),
              ROLE_TASK, 'strategy', (('docker_auth_username_type', 'iamapikey'), ('docker_auth_validate', False)),
              floor='floor1_free', strategy='free'),
    Contender('floor1_mitogen', 'floor: 1 task (ping), mitogen_linear', 'floor_one_task.yml', ('once',), PING_TASK, 'floor',
              strategy='mitogen_linear'),
    Contender('role_apikey_mitogen', 'docker_auth iamapikey, validate=false, mitogen_linear', 'role.yml',
              ('first', 'rerun'), ROLE_TASK, 'strategy',
              (('docker_auth_username_type', 'iamapikey'), ('docker_auth_validate', False)), floor='floor1_mitogen',
              strategy='mitogen_linear'),
)
# Diagnosis (run when a target is missed, with floor1 and role_apikey): the module without the role around it.
MODULE_ALONE = Contender('icr_login_alone', 'icr_login alone (one task, 3 arguments)', 'diag_icr_login_alone.yml', ('first',),
                         'Write the registry credential', 'role', (('docker_auth_username_type', 'iamapikey'),), floor='floor1')
BY_KEY = {c.key: c for c in CONTENDERS + (MODULE_ALONE,)}
# Contenders that need the fleet's users to become root (passwordless sudo for the length of the run).
NEEDS_SUDO = ('floor_become', 'role_helper')
# Contenders that run only at plan.STRATEGY_SIZES (another strategy than linear).
STRATEGY_KEYS = tuple(c.key for c in CONTENDERS if c.strategy)
# The controller alone: icr_credential on localhost, twice (the second run with the token cached); not a fleet run.
CREDENTIAL_ALONE = Contender('credential_alone', 'icr_credential on the controller (localhost)', 'credential_alone.yml',
                             ('first', 'rerun'), 'Get the registry credential on the controller', 'controller')
ROLES = tuple(c for c in CONTENDERS if c.kind == 'role')
ALTERNATIVES = tuple(c for c in CONTENDERS if c.kind == 'alternative')


def rotated(items: tuple[Contender, ...], by: int) -> list[Contender]:
    """ABC, BCA, CAB...: each round starts one contender later, so no contender always runs first or last. No contender
    (a round whose forks value leaves only contenders that run at other forks) gives an empty round."""
    if not items:
        return []
    shift = by % len(items)
    return list(items[shift:] + items[:shift])


def select(names: str) -> tuple[Contender, ...]:
    """BENCH_CONTENDERS: 'role_helper,docker_login' -> those contenders and the floors they are compared with, in the
    order of CONTENDERS; '' or 'all' = every contender."""
    wanted = [n for n in names.replace(' ', '').split(',') if n]
    if not wanted or wanted == ['all']:
        return CONTENDERS
    known = {c.key for c in CONTENDERS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError('BENCH_CONTENDERS: unknown %s; give a comma-separated list of %s'
                         % (', '.join(unknown), ', '.join(c.key for c in CONTENDERS)))
    keep = set(wanted)
    for name in wanted:
        contender = BY_KEY[name]
        keep.add(contender.floor or ('floor1' if contender.kind == 'alternative' else name))
        if contender.kind == 'strategy':
            keep.add(contender.floor)
    return tuple(c for c in CONTENDERS if c.key in keep)
