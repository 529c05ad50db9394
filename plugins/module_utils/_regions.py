# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""IBM Cloud Container Registry regions and registry host names (internal use only)."""

from __future__ import annotations

import re

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError

# region -> public registry host.  IBM Cloud Container Registry, "Regions" (registry_overview).
REGION_HOSTS = {
    'global': 'icr.io',
    'au-syd': 'au.icr.io',
    'br-sao': 'br.icr.io',
    'ca-mon': 'ca2.icr.io',
    'ca-tor': 'ca.icr.io',
    'eu-de': 'de.icr.io',
    'eu-es': 'es.icr.io',
    'eu-gb': 'uk.icr.io',
    'in-che': 'in.icr.io',
    'in-mum': 'in2.icr.io',
    'jp-osa': 'jp2.icr.io',
    'jp-tok': 'jp.icr.io',
    'us-south': 'us.icr.io',
}

# Former registry region names, and IAM regions without a registry of their own.
REGION_ALIASES = {
    'ap-south': 'au-syd',
    'eu-central': 'eu-de',
    'uk-south': 'eu-gb',
    'ap-north': 'jp-tok',
    'us-east': 'us-south',
}

# Deprecated domain names: the registry still answers them, but logins belong on the icr.io names.
DEPRECATED_HOSTS = {
    'registry.bluemix.net': 'icr.io',
    'registry.au-syd.bluemix.net': 'au.icr.io',
    'registry.eu-de.bluemix.net': 'de.icr.io',
    'registry.eu-gb.bluemix.net': 'uk.icr.io',
    'registry.ng.bluemix.net': 'us.icr.io',
}

PRIVATE_PREFIX = 'private.'

_HOST_TO_REGION = dict((host, region) for region, host in REGION_HOSTS.items())
_LABEL = r'(?!-)[a-z0-9-]{1,63}(?<!-)'
_HOST_RE = re.compile(rf'^(?:{_LABEL})(?:\.{_LABEL})*(?::[0-9]{{1,5}})?$')
_IPV6_RE = re.compile(r'^\[[0-9a-f:.]+\](?::[0-9]{1,5})?$')
_ALLOWED_PATHS = ('', '/', '/v1', '/v1/', '/v2', '/v2/')


def valid_regions() -> list[str]:
    """The region names a user may give, for error messages."""
    return sorted(REGION_HOSTS) + sorted(REGION_ALIASES)


def region_host(region: object, private: bool = False) -> str:
    """Registry host of a region name (current or former), or a registry host given in its place."""
    if not isinstance(region, str) or not region.strip():
        raise InputError(f"regions: an empty region was given. Valid regions: {', '.join(valid_regions())}.")
    name = region.strip().lower()
    name = REGION_ALIASES.get(name, name)
    host = REGION_HOSTS.get(name)
    if host is None:
        if name in _HOST_TO_REGION or (name.startswith(PRIVATE_PREFIX) and name[len(PRIVATE_PREFIX):] in _HOST_TO_REGION):
            host = name
        else:
            raise InputError(f"regions: unknown region {region!r}. Valid regions: {', '.join(valid_regions())} (or give "
                             'the host with registries).')
    return with_private(host) if private else host


def with_private(host: str) -> str:
    """The private-network form of an icr.io host (private.us.icr.io, private.us.icr.io/web); other hosts are returned
    as they are."""
    bare, _sep, path = host.partition('/')
    if bare.startswith(PRIVATE_PREFIX) or not is_icr_host(bare):
        return host
    return PRIVATE_PREFIX + host


def is_icr_host(host: str) -> bool:
    """True for the public and private icr.io registry hosts."""
    bare = host[len(PRIVATE_PREFIX):] if host.startswith(PRIVATE_PREFIX) else host
    return bare in _HOST_TO_REGION


def host_region(host: str) -> str | None:
    """The IAM region of an icr.io registry host, or None for other hosts."""
    bare = host[len(PRIVATE_PREFIX):] if host.startswith(PRIVATE_PREFIX) else host
    return _HOST_TO_REGION.get(bare)


# A namespace (or a deeper repository path) of a containers auth.json key: distribution's path components.
_PATH_COMPONENT_RE = re.compile(r'^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$')


def split_scope(key: str) -> tuple[str, str]:
    """(host, path) of an entry key: ('us.icr.io', '') or ('us.icr.io', 'web')."""
    host, _sep, path = key.partition('/')
    return host, path


def check_namespace(value: object, option: str = 'namespaces') -> str:
    """A namespace (or repository path) as containers tools match it: lower-case components joined by '/'."""
    text = value.strip('/') if isinstance(value, str) else value
    if not isinstance(text, str) or not text or not all(_PATH_COMPONENT_RE.match(c) for c in text.split('/')):
        raise InputError(f'{option}: {value!r} is not a registry namespace; give one such as web or team-a (lower-case '
                         'letters, digits and . _ - between them), or a repository path such as web/app.')
    return text


def normalize_registry(value: object, option: str = 'registries', scoped: bool = False) -> tuple[str, str | None]:
    """Turn user input into the key Docker and containers tools look up.

    Returns (host, warning or None).  ``https://us.icr.io/`` becomes ``us.icr.io``;
    a deprecated ``*.bluemix.net`` name becomes its icr.io name, with a warning. With scoped, a namespace path is
    kept: ``us.icr.io/web`` (containers tools match the longest prefix; Docker matches hosts only).
    """
    if not isinstance(value, str) or not value.strip():
        raise InputError(f'{option}: an empty registry host was given; give a host such as us.icr.io.')
    if value != value.strip() or re.search(r'\s', value):
        raise InputError(f'{option}: registry {value!r} contains white space; give a bare host such as us.icr.io.')
    rest = value
    scheme_match = re.match(r'^([A-Za-z][A-Za-z0-9+.-]*)://', rest)
    if scheme_match:
        if scheme_match.group(1).lower() not in ('http', 'https'):
            raise InputError(f'{option}: registry {value!r} has the scheme {scheme_match.group(1)!r}; give a bare host '
                             'such as us.icr.io.')
        rest = rest[scheme_match.end():]
    slash = rest.find('/')
    host, path = (rest, '') if slash < 0 else (rest[:slash], rest[slash:])
    namespace = ''
    if scoped and path not in _ALLOWED_PATHS:
        namespace, path = check_namespace(path, option), ''
    if path not in _ALLOWED_PATHS:
        raise InputError(f'{option}: registry {value!r} has the path {path!r}, but Docker and podman look up credentials '
                         f"by host only; give the host alone ({host or 'us.icr.io'}).")
    host = host.lower()
    if not (_HOST_RE.match(host) or _IPV6_RE.match(host)):
        raise InputError(f'{option}: {value!r} is not a valid registry host; give a host such as us.icr.io or '
                         '127.0.0.1:5000.')
    warning = None
    if host in DEPRECATED_HOSTS:
        new = DEPRECATED_HOSTS[host]
        warning = (f'The registry domain {host} is deprecated; the credential is written for {new}, the name IBM Cloud '
                   f'Container Registry logins use. Update your image references to {new}.')
        host = new
    return (host + '/' + namespace if namespace else host), warning


def resolve_registries(regions: list | None = None, registries: list | None = None,
                       private: bool = False, namespaces: list | None = None,
                       scoped: bool = False) -> tuple[list[str], list[str]]:
    """All registry hosts asked for by regions and registries, in order and without repeats.

    With scoped, a registry may carry a namespace (``us.icr.io/web``), and namespaces scope every host to each of
    them: the entry keys of a containers auth.json. Returns (keys, warnings).
    """
    hosts = []
    warnings = []
    for region in regions or []:
        host = region_host(region, private)
        if host not in hosts:
            hosts.append(host)
    for value in registries or []:
        host, warning = normalize_registry(value, scoped=scoped)
        if warning:
            warnings.append(warning)
        if private:
            host = with_private(host)
        if host not in hosts:
            hosts.append(host)
    if namespaces:
        paths = [check_namespace(n) for n in namespaces]
        scoped_keys = []
        for key in hosts:
            host, path = split_scope(key)
            for scoped_key in ([key] if path else [host + '/' + p for p in paths]):
                if scoped_key not in scoped_keys:
                    scoped_keys.append(scoped_key)
        hosts = scoped_keys
    return hosts, warnings
