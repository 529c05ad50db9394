# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unsigned JWTs shaped like IAM access tokens, for tests that read claims only."""

from __future__ import annotations

import base64
import json
import time

API_KEY = 'T3stKeyT3stKeyT3stKeyT3stKeyT3stKeyT3st_-ab'
OTHER_KEY = 'Z9otherZ9otherZ9otherZ9otherZ9otherZ9other_x'


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b'=').decode()


def iam_token(iam_id='iam-ServiceId-1234', account='a' * 32, lifetime=3600, now=None, **extra):
    now = int(time.time() if now is None else now)
    claims = {'iam_id': iam_id, 'sub': iam_id, 'account': {'bss': account, 'valid': True}, 'iat': now,
              'exp': now + lifetime}
    claims.update(extra)
    return '%s.%s.%s' % (_b64({'alg': 'RS256', 'kid': 'k1'}), _b64(claims), 'c2lnbmF0dXJl')
