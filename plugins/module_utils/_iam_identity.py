# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Service IDs and their API keys through the IAM Identity API (internal use only).

Names are not unique in IAM: things are found by name, and more than one match is an error that lists them. Updates
carry the entity tag (If-Match). An API key's value is in the create answer only; it is handed to the caller and
never kept, shown or put in a message here.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._iam_admin import PAGE_SIZE, AdminSession

SERVICE_IDS = '/v1/serviceids/'
APIKEYS = '/v1/apikeys'
APIKEY_DETAILS = '/v1/apikeys/details'
SERVICE_ID_RE = re.compile(r'^ServiceId-[0-9a-fA-F-]{8,}$')
EXPIRES_RE = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[+-]\d{4}$')
EXPIRES_FORMAT = '%Y-%m-%dT%H:%M%z'
# A time as IAM answers it: yyyy-MM-ddTHH:mm, maybe seconds and a fraction, then Z, +hhmm, +hh:mm or no offset (UTC).
IAM_TIME_RE = re.compile(r'(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?[0-5]\d)?')


def looks_like_id(value: str) -> bool:
    """True for a service ID's id (ServiceId-<uuid>), as opposed to its name."""
    return bool(SERVICE_ID_RE.match(value or ''))


def parse_expiry(value: str | None, option: str = 'expires_at') -> datetime.datetime | None:
    """An expiry in IAM's format (yyyy-MM-ddTHH:mm+0000) as an aware datetime; InputError names the option."""
    if value is None or value == '':
        return None
    text = str(value).strip()
    if not EXPIRES_RE.match(text):
        raise InputError(f'{option}: {text!r} is not of the form yyyy-MM-ddTHH:mm+0000 (for example '
                         '2027-06-01T00:00+0000), the form IAM takes.')
    try:
        return datetime.datetime.strptime(text, EXPIRES_FORMAT)
    except ValueError:
        raise InputError(f'{option}: {text!r} is not a date and time that exists; give yyyy-MM-ddTHH:mm+0000.')


def expiry_text(value: datetime.datetime | None) -> str | None:
    """An expiry in IAM's format, in UTC."""
    if value is None:
        return None
    return value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M+0000')


def parse_iam_time(value: str | None) -> datetime.datetime | None:
    """A time IAM answers (expires_at, created_at) as an aware datetime - Z, +hhmm or +hh:mm, no offset is UTC;
    None for no value or one that is not such a time."""
    match = IAM_TIME_RE.fullmatch(str(value).strip()) if value else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        zone = datetime.timezone.utc
        if offset not in (None, 'Z'):
            delta = datetime.timedelta(hours=int(offset[1:3]), minutes=int(offset[-2:]))
            zone = datetime.timezone(-delta if offset[0] == '-' else delta)
        return datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                                 int((fraction or '')[:6].ljust(6, '0')), tzinfo=zone)
    except ValueError:
        return None


def same_expiry(current: str | None, wanted: datetime.datetime | None) -> bool:
    """True if IAM's expires_at (any form parse_iam_time reads) is the wanted instant, to the minute."""
    if wanted is None:
        return True
    have = parse_iam_time(current)
    return have is not None and have.replace(second=0, microsecond=0) == wanted.replace(second=0, microsecond=0)


def _one(found: list[dict], what: str, name: str, where: str) -> dict | None:
    if len(found) > 1:
        ids = ', '.join(sorted(str(item.get('id')) for item in found))
        raise IamError(f'{len(found)} {what}s are named {name!r}{where} ({ids}); IAM does not keep names unique, so it is '
                       f'unclear which one is meant. Delete or rename the extra ones, or give the id.')
    return found[0] if found else None


class Identity(object):
    """Service IDs and API keys of one account."""

    def __init__(self, admin: AdminSession, account_id: str) -> None:
        self.admin = admin
        self.account_id = account_id

    # Service IDs

    def find_service_id(self, name: str) -> dict | None:
        """The service ID of that name, None if there is none; IamError listing them if there are several."""
        params = {'account_id': self.account_id, 'name': name, 'pagesize': PAGE_SIZE}
        found = [item for item in self.admin.pages(SERVICE_IDS, params, 'serviceids', f'list the service IDs named {name!r}')
                 if item.get('name') == name]
        return _one(found, 'service ID', name, f' in account {self.account_id}')

    def get_service_id(self, sid: str) -> dict | None:
        """The service ID of that id with its entity tag (None if IAM does not know it)."""
        answer = self.admin.call('GET', SERVICE_IDS + sid, f'read service ID {sid}', allow=(404,))
        if answer.status == 404 or not isinstance(answer.body, dict):
            return None
        body = answer.body
        body.setdefault('entity_tag', answer.etag)
        return body

    def resolve_service_id(self, value: str) -> dict | None:
        """A service ID given by id or by name."""
        return self.get_service_id(value) if looks_like_id(value) else self.find_service_id(value)

    def create_service_id(self, name: str, description: str | None, locked: bool) -> dict:
        body = {'account_id': self.account_id, 'name': name}
        if description is not None:
            body['description'] = description
        answer = self.admin.call('POST', SERVICE_IDS, f'create service ID {name!r}', body=body,
                                 headers={'Entity-Lock': 'true' if locked else 'false'})
        return answer.body if isinstance(answer.body, dict) else {}

    def update_service_id(self, sid: str, name: str, description: str | None) -> dict:
        """Change the description, with If-Match: the entity tag read just before."""
        current = self.get_service_id(sid)
        if current is None:
            raise IamError(f'Could not update service ID {sid}: IAM no longer knows it (deleted meanwhile?). Run again.')
        body = {'name': name, 'description': description or ''}
        tag = current.get('entity_tag') or '*'
        answer = self.admin.call('PUT', SERVICE_IDS + sid, f'update service ID {sid}', body=body,
                                 headers={'If-Match': tag})
        return answer.body if isinstance(answer.body, dict) else current

    def set_service_id_lock(self, sid: str, locked: bool) -> None:
        self.admin.call('POST' if locked else 'DELETE', f'{SERVICE_IDS}{sid}/lock',
                        f"{'lock' if locked else 'unlock'} service ID {sid}")

    def delete_service_id(self, sid: str) -> None:
        """Delete a service ID (IAM deletes its API keys first); a 409 is retried by a rerun."""
        self.admin.call('DELETE', SERVICE_IDS + sid, f'delete service ID {sid}', allow=(404,))

    # API keys

    def find_api_key(self, iam_id: str, name: str) -> dict | None:
        """The API key of that name on the identity iam_id; IamError listing them if there are several."""
        params = {'account_id': self.account_id, 'iam_id': iam_id, 'scope': 'entity', 'type': 'serviceid',
                  'pagesize': PAGE_SIZE}
        keys = self.admin.pages(APIKEYS, params, 'apikeys', f'list the API keys of {iam_id}')
        found = [key for key in keys if key.get('name') == name and key.get('iam_id', iam_id) == iam_id]
        return _one(found, 'API key', name, f' on {iam_id}')

    def get_api_key(self, key_id: str) -> dict | None:
        answer = self.admin.call('GET', f'{APIKEYS}/{key_id}', f'read API key {key_id}', allow=(404,))
        if answer.status == 404 or not isinstance(answer.body, dict):
            return None
        body = answer.body
        body.setdefault('entity_tag', answer.etag)
        return body

    def create_api_key(self, iam_id: str, name: str, description: str | None, expires_at: str | None,
                       locked: bool, disabled: bool) -> dict:
        """The created key, value included (the only time IAM gives it): the caller must not show it."""
        body = {'name': name, 'iam_id': iam_id, 'account_id': self.account_id, 'store_value': False}
        if description is not None:
            body['description'] = description
        if expires_at is not None:
            body['expires_at'] = expires_at
        headers = {'Entity-Lock': 'true' if locked else 'false', 'Entity-Disable': 'true' if disabled else 'false'}
        answer = self.admin.call('POST', APIKEYS, f'create API key {name!r} for {iam_id}', body=body, headers=headers)
        if not isinstance(answer.body, dict) or not answer.body.get('id'):
            raise IamError(f'Could not create API key {name!r}: IAM answered HTTP {answer.status} without the key.')
        return answer.body

    def update_api_key(self, key_id: str, changes: dict) -> dict:
        """Change name, description or expires_at with If-Match."""
        current = self.get_api_key(key_id)
        if current is None:
            raise IamError(f'Could not update API key {key_id}: IAM no longer knows it (deleted meanwhile?). Run again.')
        answer = self.admin.call('PUT', f'{APIKEYS}/{key_id}', f'update API key {key_id}', body=changes,
                                 headers={'If-Match': current.get('entity_tag') or '*'})
        return answer.body if isinstance(answer.body, dict) else current

    def set_api_key_flag(self, key_id: str, flag: str, on: bool) -> None:
        """Lock/unlock (flag lock) or disable/enable (flag disable) an API key."""
        verb = {('lock', True): 'lock', ('lock', False): 'unlock', ('disable', True): 'disable',
                ('disable', False): 'enable'}[(flag, on)]
        self.admin.call('POST' if on else 'DELETE', f'{APIKEYS}/{key_id}/{flag}', f'{verb} API key {key_id}')

    def delete_api_key(self, key_id: str) -> None:
        self.admin.call('DELETE', f'{APIKEYS}/{key_id}', f'delete API key {key_id}', allow=(404,))

    def api_key_details(self, value: str, label: str) -> dict | None:
        """The record of the API key whose value is value (GET /v1/apikeys/details, header IAM-ApiKey), never with the
        value; None when IAM does not know it (deleted, or never created). label names the key in messages."""
        answer = self.admin.call('GET', APIKEY_DETAILS, f'look up the identity of API key {label}',
                                 headers={'IAM-ApiKey': value}, allow=(404,))
        if answer.status == 404 or not isinstance(answer.body, dict):
            return None
        return dict((k, v) for k, v in answer.body.items() if k != 'apikey')
