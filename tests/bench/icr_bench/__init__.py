# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make bench`: the fleet job's costs as ratios, the role against Ansible's floor and against what users do today.

Tests only; never part of the built collection (galaxy.yml build_ignore lists tests/bench). See tests/bench/README.md.
"""

from __future__ import annotations
