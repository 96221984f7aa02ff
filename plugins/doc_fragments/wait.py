# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the object reaches the state that means done (for example its C(Active)
        condition is C(True)) before returning.
      - Ignored in check mode.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait at most when O(wait=true). On timeout the module fails with a
        message saying what it waited for and what it saw last.
    type: int
    default: 60
"""
