# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """The options of icr_login, shared with icr_login_network, which its action plugin runs on hosts that need the
    network (internal use only)."""

    DOCUMENTATION = r'''
options:
  state:
    description:
      - V(present) makes the registries' entries hold the credential; V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  method:
    description:
      - V(file) writes the credential (O(password) or O(api_key)) for the registries, in the file or in a credential
        store (O(credential_store)).
      - V(helper) writes no credential - C(credHelpers) sends each registry to C(docker-credential-icr), which gets a
        fresh IAM token whenever a client pulls or pushes (install it with M(icr.auth.icr_credential_helper)). The
        registries' C(auths) entries are removed, so no old key or token is left; C(credsStore) is never touched. No
        O(password), O(api_key) or O(validate) is taken; O(credential_store) and O(username_type) are not used.
      - With V(file), a C(credHelpers) entry that sends one of the registries to C(docker-credential-icr) is removed (it
        is never asked to store a credential), so switching back from V(helper) leaves no stale entry.
      - With O(state=absent), either method removes the registries' C(auths) entries and their C(credHelpers) entries
        that name C(docker-credential-icr).
    type: str
    choices: [file, helper]
    default: file
    version_added: 2.0.0
  regions:
    description:
      - ICR regions to log in to, such as V(us-south), V(eu-de), V(global); former names such as V(ap-north) and
        registry hosts such as V(us.icr.io) are accepted too.
      - An unknown region fails and lists the valid ones.
      - At least one of O(regions) and O(registries) is required.
    type: list
    elements: str
    aliases: [region]
  registries:
    description:
      - Registry hosts to log in to, such as V(us.icr.io) or a mirror V(registry.example.com:5000).
      - V(https://us.icr.io/) is written as V(us.icr.io), the key Docker and podman look up.
      - With O(format=containers), a host may carry a namespace, V(us.icr.io/web) - an entry of that namespace only
        (see O(namespaces)). Docker looks credentials up by host only, so with O(format=docker) or O(format=both) a
        path other than V(/v1/) or V(/v2/) is refused.
      - Deprecated C(*.bluemix.net) names are written as their C(icr.io) names, with a warning.
    type: list
    elements: str
    aliases: [registry]
  namespaces:
    description:
      - Namespace-scoped credentials - write an entry for each namespace of each registry, such as V(us.icr.io/web),
        instead of one for the whole registry. podman, skopeo and buildah use the entry with the longest matching
        prefix, so one host can hold different identities for different namespaces of one registry (and a whole-host
        entry for the rest).
      - Only in the containers C(auth.json) (O(format=containers)) with O(method=file) and the credential in the file -
        Docker matches hosts only, and credential helpers store per host. Anything else fails and says why.
      - A namespace is a path of lower-case components, V(web) or V(web/app). O(validate) proves the credential at
        the registry host.
    type: list
    elements: str
    version_added: 2.0.0
  private_endpoint:
    description:
      - Use the private-network names of the ICR hosts (V(private.us.icr.io)). Other hosts are not changed.
    type: bool
    default: false
  username_type:
    description:
      - What the password is. V(iamapikey) an IBM Cloud API key (user or service ID), V(iambearer) an IAM access
        token, V(iamrefresh) an IAM refresh token.
      - V(trusted_profile) the API key of a service ID that the trusted profile O(trusted_profile_id) trusts, in this
        or another account; the username written is the profile id, and pulls get the profile's access (ICR's
        trusted-profile login). The key is written as it is, like V(iamapikey)'s.
    type: str
    choices: [iamapikey, iambearer, iamrefresh, trusted_profile]
    default: iamapikey
  trusted_profile_id:
    description:
      - The id of the trusted profile to log in as (V(Profile-<uuid>)), with O(username_type=trusted_profile) only,
        where it is required.
    type: str
    version_added: 2.0.0
  password:
    description:
      - The secret for O(username_type) - for example the RV(icr.auth.icr_credential#module:password) of
        M(icr.auth.icr_credential).
      - With O(username_type=iambearer) a C(Bearer ) prefix is dropped.
      - Required with O(state=present) and O(method=file) unless O(api_key) is given.
    type: str
  api_key:
    description:
      - An IBM Cloud API key to turn into the credential on the host itself (needs C(requests) there for the
        token types). For a fleet, exchange once with M(icr.auth.icr_credential) on the controller instead.
      - Mutually exclusive with O(password).
    type: str
  user:
    description:
      - The user whose files are written; the home is read from the password database, not from E($HOME).
      - When root writes into another user's home it does so with that user's identity, so the files belong to
        the user and a link the user planted cannot redirect the write.
      - If neither O(user) nor O(config_path) is given, the files of the user the module runs as are written, and
        E(DOCKER_CONFIG), E(REGISTRY_AUTH_FILE) and E(XDG_CONFIG_HOME) are honoured.
    type: str
  config_path:
    description:
      - The file to write, in place of the default C(~/.docker/config.json) or C(~/.config/containers/auth.json).
      - An absolute path without C(..) steps; only with O(format=docker) or O(format=containers).
      - When root writes it (O(user=root) included), the path is resolved when it is used, and root acts as the first
        user other than root who owns a directory or symlink on the way, so that user cannot redirect the write; the
        file's own owner never decides this. A root-owned directory on the way that other users may write (and is not
        sticky) is refused, and so is an entry that a user the play did not name (O(user), O(owner)) owns in a sticky,
        group- or world-writable directory such as C(/tmp).
    type: path
  format:
    description:
      - V(docker) writes Docker's C(config.json) (also read by skopeo, podman and buildah), V(containers) the
        containers C(auth.json), V(both) writes the two.
    type: str
    choices: [docker, containers, both]
    default: docker
  credential_store:
    description:
      - V(auto) stores where Docker looks - the C(credHelpers) entry of the registry, else C(credsStore), else the file.
        skopeo, podman and buildah follow C(credHelpers) but ignore C(credsStore); with a C(credsStore) only Docker
        finds the credential, so use a C(credHelpers) entry (an explicit helper name does that) when all of them must.
      - V(file) writes the file even when a store is configured (Docker then ignores the file's entry; skopeo and
        podman use it).
      - Any other value is a helper name such as V(pass); the credential is stored with C(docker-credential-<name>)
        and the registry is added to C(credHelpers) so Docker looks there.
      - A helper runs as the identity the file is written with, and receives only C(PATH), C(HOME), C(USER),
        C(LOGNAME) and that user's runtime directory and D-Bus address (for the module's own user also the variables
        that locate its store, such as C(GNUPGHOME) and C(PASSWORD_STORE_DIR)); the secret goes on its standard input.
        When root acts as itself for a file another user can change, helpers named in that file are refused.
    type: str
    default: auto
  min_validity:
    description:
      - With O(username_type=iambearer), keep a stored token of the same identity that is still valid for at least
        this many seconds instead of replacing it.
    type: int
    default: 600
  validate:
    description:
      - Prove the credential against every registry (the Docker token handshake) before writing; a refused
        credential is never written and the existing entries stay. Skipped in check mode.
    type: bool
    default: false
  reauthorize:
    description:
      - Write the credential even when the stored one is the same.
    type: bool
    default: false
  owner:
    description:
      - Owner of the file, when running as root. By default a new file belongs to O(user) (or the module's user)
        and an existing file keeps its owner.
    type: str
  group:
    description:
      - Group of the file, when running as root.
    type: str
  mode:
    description:
      - Mode of the file, as an octal string such as V('0600'). A new file is V(0600) in a V(0700) directory; an
        existing file keeps its mode.
      - A file that holds a secret and that its group or other users can read or change is kept so, but the module
        warns on every run until it is private.
    type: raw
attributes:
  check_mode:
    support: full
    details:
      - Reads the files (and asks credential helpers) but writes nothing and makes no network call.
      - With O(api_key) and a token O(username_type), the token IAM would issue is unknown, so a stored token is
        reported as kept when it is still valid for O(min_validity) seconds.
  diff_mode:
    support: full
    details:
      - Shows each registry's username and a short fingerprint of the secret, never the secret.
  idempotent:
    support: full
notes:
  - A bearer or refresh token expires (60 minutes at most for IAM access tokens); for long-lived hosts prefer
    O(username_type=iamapikey) with a service ID API key that has only the roles it needs.
  - Symlinked config files are followed, as Docker does.
'''
