# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a module's main() in-process with arguments, as Ansible would, and capture its JSON result."""

from __future__ import annotations

import contextlib
import io
import json

from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from unittest import mock

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode()):
            yield


def run_module(module, args):
    """(failed, result, raw stdout) of module.main() with args."""
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit as exc:
            code = exc.code
        else:  # pragma: no cover - modules always exit
            code = 0
    raw = out.getvalue()
    result = json.loads(raw)
    return bool(code) or bool(result.get('failed')), result, raw
