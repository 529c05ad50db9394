# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """The administrator identity of the IAM management modules (internal use only)."""

    DOCUMENTATION = r'''
options:
  admin_trusted_profile:
    description:
      - Act as this IBM Cloud IAM trusted profile instead of as the owner of O(api_key) - its id (V(Profile-...)),
        its CRN (V(crn:v1:bluemix:public:iam-identity::a/...::profile:Profile-...)), or its name with O(admin_account).
      - With O(api_key) (or E(IBMCLOUD_API_KEY)), the key's IAM token assumes the profile (IAM's
        C(urn:ibm:params:oauth:grant-type:assume) grant); the profile must trust the key's identity.
      - With O(admin_cr_token_file), the compute resource token is exchanged for the profile's token (IAM's
        C(urn:ibm:params:oauth:grant-type:cr-token) grant); give the id or the name, not the CRN.
      - The profile needs the access an administrator needs here - Editor or Administrator on the IAM Identity
        Service, and Administrator on IAM Access Management or on Container Registry for policies.
    type: str
  admin_account:
    description:
      - The account id of O(admin_trusted_profile) when that is given by name with O(api_key).
    type: str
  admin_cr_token_file:
    description:
      - The compute resource token file of the pod (or Code Engine component) the task runs in - for example an AWX
        execution environment in IBM Cloud Kubernetes Service or Red Hat OpenShift, where the projected service
        account token is typically V(/var/run/secrets/tokens/vault-token).
      - The administrator is then O(admin_trusted_profile), which must be linked to that compute resource, and no
        API key is needed or allowed (O(api_key) must not be set; E(IBMCLOUD_API_KEY) is ignored).
      - The file is read again for every token exchange, since the platform rotates the token. Its content is never
        shown.
    type: path
'''
