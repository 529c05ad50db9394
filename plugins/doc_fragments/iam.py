# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """Options for talking to IBM Cloud IAM and to registries (internal use only)."""

    DOCUMENTATION = r'''
options:
  iam_endpoint:
    description:
      - Where IBM Cloud IAM is reached.
      - V(public) is U(https://iam.cloud.ibm.com), V(private) is U(https://private.iam.cloud.ibm.com) (reachable from
        IBM Cloud's private network and VPC endpoints).
      - Any other value is taken as the base URL of an IAM token service, for example V(https://private.us-south.iam.cloud.ibm.com).
      - If not set, the environment variable E(IBMCLOUD_IAM_ENDPOINT) is used, then V(public).
    type: str
  validate_certs:
    description:
      - Verify the TLS certificates of IAM and of the registries.
      - Only turn this off against a test service you control.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates to trust for IAM and the registries, in place of the system's.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP answer from IAM or a registry.
    type: float
    default: 30
  retries:
    description:
      - How many times a request to IAM or a registry is retried after a rate limit (429), a server error
        (500, 502, 503, 504) or a connection error, with exponential backoff that honours C(Retry-After).
      - V(0) makes a single attempt.
    type: int
    default: 4
  proxy:
    description:
      - An HTTP(S) proxy URL for IAM and the registries.
      - If not set, the usual environment variables (E(HTTPS_PROXY), E(NO_PROXY)) apply.
    type: str
notes:
  - Network calls need the Python library C(requests) where the module runs.
'''
