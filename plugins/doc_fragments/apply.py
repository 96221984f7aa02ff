# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  force_conflicts:
    description:
      - What to do when a write would take over a field that another field manager set (for
        example a C(stopPolicy) set by M(gpuaas.orchestration.kueue_queue_control), or a value set
        with C(kubectl edit) or by a controller).
      - C(true) (the default, as before this option existed) takes the field over, as
        server-side apply with C(force) does, and says so in a warning naming the field and the
        other field manager.
      - C(false) fails the task instead, naming each field and its manager, and writes nothing to
        that object (objects written before it in the same task stay written; the result says
        which).
      - The same name and meaning as O(kubernetes.core.k8s#module:server_side_apply.force_conflicts).
    type: bool
    default: true
notes:
  - Change detection is exact. Every write carries a digest of what this collection applied, in
    the annotation C(applied-intent.gpuaas.io/<field manager>); an option removed since the last
    run (a map key, a list item, a field inside a list item) is removed in the cluster and
    reported as a change, and fields that someone else changed or removed are written again.
    Values compare as Kubernetes quantities only where the field is a quantity; server-filled
    defaults are not changes. An unchanged rerun sends no write request.
  - When a task stops half-way (an API error, a wait timeout), it fails with C(changed=true) when
    something was already written, the per-object C(results) so far, and C(failed_object) naming the
    object and the API's answer.
"""
