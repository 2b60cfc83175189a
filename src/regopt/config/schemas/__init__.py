"""Typed schemas of every config group (see base.py for how to add one)."""

from regopt.config.schemas import callbacks, data, model, optimizer, regularizer, trainer
from regopt.config.schemas.base import REGISTRY, schema
from regopt.config.schemas.root import NAMED, SINGLE, check_tree

__all__ = ["NAMED", "REGISTRY", "SINGLE", "check_tree", "schema"]
_GROUP_MODULES = (callbacks, data, model, optimizer, regularizer, trainer)  # they register
