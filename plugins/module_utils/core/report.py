# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reports on the controller's disk: ``<path>.json`` and ``<path>.md`` side by side.

Public API
----------
``write_report(data, path, markdown)`` -> ``{"json": file, "markdown": file}``; ``path`` without
extension or ending in ``.json``/``.md``; ``markdown`` is the text of the ``.md`` file.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os


def write_report(data, path, markdown):
    base, ext = os.path.splitext(path)
    if ext not in (".json", ".md"):
        base = path
    directory = os.path.dirname(os.path.abspath(base))
    if not os.path.isdir(directory):
        os.makedirs(directory)
    with open(base + ".json", "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    with open(base + ".md", "w") as f:
        f.write(markdown)
    return dict(json=base + ".json", markdown=base + ".md")
