"""Finding methods by name through the ``motionbench.methods`` entry-point group.

Built-in methods are registered in MotionBench's own pyproject.toml exactly as a third-party
package registers its own, so a new method plugs in without touching this repository:

    [project.entry-points."motionbench.methods"]
    my-method = "my_package.adapter:MyMethod"

The registry is the one shared with metrics (:class:`motionbench.plugins.Registry`): listing names
imports nothing, and a method's module is imported only when it is loaded. Methods of every task
share it; a class says which tasks it serves (``tasks``), and :func:`load_method_for_task` refuses
a method of another task by name, listing the methods that do serve it.
"""

from __future__ import annotations

from motionbench.errors import ConfigError
from motionbench.methods.base import MethodBase
from motionbench.plugins import Registry

METHODS: Registry[MethodBase] = Registry("motionbench.methods", "method", MethodBase, "motionbench methods")


def load_method_class(name: str) -> type[MethodBase]:
    """Import and return the method class registered under ``name`` (see :meth:`Registry.load`)."""
    return METHODS.load(name)


def methods_of_task(task: str) -> list[str]:
    """The registered methods that serve ``task`` (imports each; plug-ins that cannot load are left out)."""
    names = []
    for name in METHODS.names():
        try:
            cls = METHODS.load(name)
        except ConfigError:
            continue
        if task in cls.tasks:
            names.append(name)
    return names


def load_method_for_task(name: str, task: str) -> type[MethodBase]:
    """The class of ``name``, which must serve ``task``.

    Raises:
        ConfigError: unknown name (see :meth:`Registry.load`), or a method of another task (naming
            the tasks it serves and the methods of ``task``).
    """
    cls = METHODS.load(name)
    if task not in cls.tasks:
        serves = ", ".join(cls.tasks) or "no task"
        raise ConfigError(f"method {name!r} serves {serves}, not {task}; methods of {task}: "
                          f"{', '.join(methods_of_task(task)) or 'none'} (choose the task with --task)")
    return cls
