"""Helpers of scripts/docs-site (the collection's docs site, built with antsibull-docs and Sphinx).

Two parts, both offline (CI machines do not reach docs.ansible.com, GitHub or any other site):

* A Sphinx extension (``extensions.append("docs_site")`` in the generated conf.py). antsibull-docs
  renders references to other collections (kubernetes.core's auth options, community.okd) and to
  ansible-core's docs (``common_return_values``) as ``:ref:`` labels that intersphinx resolves
  against docs.ansible.com's inventory, which cannot be downloaded here. The extension resolves
  exactly those labels to their docs.ansible.com URLs (lint-collection-docs has already checked
  the ones into dependencies: kubernetes.core's modules and options exist). Every other
  unresolved reference - this collection's modules, roles, options, guides - stays a Sphinx
  warning, and the build runs with -W.

* A link checker on the built HTML: ``python3 docs_site.py check-links <html dir> <repo root>``.
  Every relative link and every ``#anchor`` must resolve to a built file and an id in it; links
  to this collection's repository on GitHub (edit-on-GitHub, blob/tree links) must name a file
  or directory that exists in the checkout; other external links are listed, not fetched. Exits
  1 naming every broken link and the page it is on.
"""
import html.parser
import os
import posixpath
import re
import sys
import urllib.parse

THIS_COLLECTION = "gpuaas.orchestration"
REPOSITORY = "https://github.com/gpuaas/orchestration"
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
# ansible-core documentation labels antsibull-docs' templates reference.
ANSIBLE_CORE_LABELS = {
    "action_plugins": "plugins/action.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
    "callback_plugins": "plugins/callback.html",
    "collections_keyword": "collections_guide/collections_using_playbooks.html",
    "common_return_values": "reference_appendices/common_return_values.html",
    "list_of_callback_plugins": "collections/callback_index_stdout.html",
    "list_of_collections": "collections/index.html",
}
_PLUGIN_LABEL = re.compile(
    r"^ansible_collections\.(?P<ns>[a-z0-9_]+)\.(?P<name>[a-z0-9_]+)\."
    r"(?P<page>[a-z0-9_]+_(?:module|role|[a-z]+))(?:__(?P<anchor>.+))?$"
)


def external_url(label):
    """docs.ansible.com URL of an unresolved label, or None when it must resolve in this site."""
    if label in ANSIBLE_CORE_LABELS:
        return ANSIBLE_DOCS + ANSIBLE_CORE_LABELS[label]
    m = _PLUGIN_LABEL.match(label)
    if not m or f"{m['ns']}.{m['name']}" == THIS_COLLECTION:
        return None
    url = f"{ANSIBLE_DOCS}collections/{m['ns']}/{m['name']}/{m['page']}.html"
    return url + "#" + m["anchor"] if m["anchor"] else url


def _missing_reference(app, env, node, contnode):
    if node.get("refdomain") != "std" or node.get("reftype") != "ref":
        return None
    url = external_url(node["reftarget"])
    if url is None:
        return None
    from docutils import nodes  # pylint: disable=import-outside-toplevel

    ref = nodes.reference("", "", internal=False, refuri=url, reftitle="docs.ansible.com")
    ref.append(contnode)
    return ref


def setup(app):
    app.connect("missing-reference", _missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (attribute, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag in ("a", "span", "div", "section", "dt") else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None and not (tag == "link" and attrs.get("rel") == "canonical"):
                self.links.append(attrs[key])


def _parse(path, cache):
    if path not in cache:
        page = _Page()
        with open(path, encoding="utf-8") as f:
            page.feed(f.read())
        cache[path] = page
    return cache[path]


def check_links(site, repo):
    site = os.path.abspath(site)
    cache = {}
    broken, external, repo_links, internal = [], set(), set(), 0
    pages = sorted(
        os.path.join(d, f) for d, _dirs, fs in os.walk(site) for f in fs if f.endswith(".html")
    )
    for path in pages:
        rel_page = os.path.relpath(path, site)
        for url in _parse(path, cache).links:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme in ("http", "https"):
                if url.startswith(REPOSITORY + "/"):
                    m = re.match(r"^/gpuaas/orchestration/(?:blob|tree|edit)/[^/]+/(.*)$", parts.path)
                    if m:
                        repo_links.add(url)
                        target = urllib.parse.unquote(m.group(1))
                        if not os.path.exists(os.path.join(repo, target)):
                            broken.append((rel_page, url, f"{target} is not in the repository"))
                        continue
                external.add(url)
                continue
            if parts.scheme in ("mailto", "data", "javascript") or parts.netloc:
                external.add(url)
                continue
            internal += 1
            target = path
            if parts.path:
                target = os.path.normpath(os.path.join(os.path.dirname(path), urllib.parse.unquote(parts.path)))
                if os.path.isdir(target):
                    target = os.path.join(target, "index.html")
                if not target.startswith(site + os.sep) or not os.path.isfile(target):
                    broken.append((rel_page, url, "no such file in the site"))
                    continue
            fragment = urllib.parse.unquote(parts.fragment)
            if fragment and target.endswith(".html") and fragment not in _parse(target, cache).ids:
                broken.append((rel_page, url, f"no id {fragment!r} in {posixpath.relpath(target, site)}"))
    print(f"links: {len(pages)} pages, {internal} internal links and anchors checked, "
          f"{len(repo_links)} links into {REPOSITORY} checked against the checkout, "
          f"{len(external)} other external URLs not fetched (offline)")
    for page, url, why in broken:
        print(f"BROKEN LINK in {page}: {url} ({why})", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "check-links":
        sys.exit("usage: docs_site.py check-links <html dir> <repo root>")
    sys.exit(check_links(sys.argv[2], sys.argv[3]))
