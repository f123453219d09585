"""The YAML reader of every configuration file (``check``, ``load``, ``run``, SMS policies).

PyYAML's safe loader turns unquoted dates and timestamps (``2026-12-31``) into ``date`` and
``datetime`` objects and fails inside the parser on impossible ones (``2026-02-30``), before
the configuration parser can name the path. This loader keeps them as text, so the
project's own field parsers validate every date and report the file, path and value.
"""

from __future__ import annotations

from typing import Any

import yaml


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without the timestamp resolver: dates and times stay strings."""


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    """Parse one YAML (or JSON) document as configuration data."""
    return yaml.load(text, Loader=ConfigLoader)  # a SafeLoader subclass
