# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
name: closest
short_description: The closest of a list of names to a given one, for "did you mean" messages
version_added: 2.0.0
description:
  - Returns the name of O(choices) that is most like O(_input) (by Python's C(difflib) ratio), or an empty string when
    none is close enough.
  - The role P(icr.auth.docker_auth#role) uses it to name the variable that a misspelled C(docker_auth_*) variable was
    probably meant to be.
author:
  - icr.auth contributors (@icr-auth)
options:
  _input:
    description: The name that is not known.
    type: str
    required: true
  choices:
    description: The names that are known.
    type: list
    elements: str
    required: true
  cutoff:
    description: How alike two names must be, from V(0) (anything) to V(1) (equal), to count as close.
    type: float
    default: 0.6
'''

EXAMPLES = r'''
---
- name: Say which variable was meant
  ansible.builtin.debug:
    msg: "did you mean {{ 'docker_auth_user' | icr.auth.closest(['docker_auth_users', 'docker_auth_format']) }}?"
  # => did you mean docker_auth_users?
'''

RETURN = r'''
_value:
  description: The closest of O(choices), or an empty string when none is close enough.
  type: str
'''

import difflib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text


def closest(name: object, choices: list | tuple, cutoff: float | str = 0.6) -> str:
    """The element of choices most like name, or '' when none is at least cutoff alike."""
    if not isinstance(choices, (list, tuple)):
        raise AnsibleFilterError(f'closest: choices must be a list of names, not {type(choices).__name__}.')
    try:
        cutoff = float(cutoff)
    except (TypeError, ValueError):
        raise AnsibleFilterError('closest: cutoff must be a number from 0 to 1.')
    if not 0 <= cutoff <= 1:
        raise AnsibleFilterError('closest: cutoff must be a number from 0 to 1.')
    found = difflib.get_close_matches(to_text(name), [to_text(c) for c in choices], n=1, cutoff=cutoff)
    return found[0] if found else ''


class FilterModule(object):
    def filters(self) -> dict:
        return {'closest': closest}
