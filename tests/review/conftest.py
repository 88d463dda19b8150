"""Fixtures for the review tests: the default app's template as the review reads it, and edited copies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cloud_assembly import Assembly, Stack, load_assembly
from review.template import Template


@pytest.fixture(scope="session")
def default_assembly(cloud_assembly: Path) -> Assembly:
    return load_assembly(cloud_assembly)


@pytest.fixture(scope="session")
def default_template(default_assembly: Assembly) -> Template:
    return Template(stack=default_assembly.stack)


def find(template: Template, kind: str, path_prefix: str) -> str:
    """The one logical id of a type whose readable name starts with path_prefix."""
    [found] = [lid for lid, _ in template.of_type(kind) if template.name(lid).startswith(path_prefix)]
    return found


@pytest.fixture
def edited_template(default_assembly: Assembly) -> Callable[[Callable[[dict[str, Any], Template], None]], Template]:
    """A copy of the default template changed by `edit(resources, original)`: a template fixture."""

    def make(edit: Callable[[dict[str, Any], Template], None]) -> Template:
        stack = default_assembly.stack
        raw = copy.deepcopy(stack.template)
        edit(raw["Resources"], Template(stack=stack))
        return Template(stack=Stack(name=stack.name, template=raw, template_path=stack.template_path,
                                    paths=dict(stack.paths)))

    return make
