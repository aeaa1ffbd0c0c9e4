"""What pyproject.toml cannot declare: the import names the repository's top-level folders install under.

The repository keeps Follow-Your-Motion in ``fym/``, the baselines in ``baselines/``, Follow-Your-Creation
in ``fyc/``, the benchmark manifests in ``data/`` and the published numbers in ``results/reported/``.
Installed (as a wheel, or editable), they are the import packages ``motionbench_fym``,
``motionbench_baselines``, ``motionbench_fyc``, ``motionbench.data`` and ``motionbench.data.reported``:
names no other project uses (``fym`` and ``baselines`` on the package index are other projects, and a
wheel installing those names would shadow them or be shadowed). The package list is computed, so a new
subpackage of any of these folders is never left out of the wheel. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

# import package -> folder of the repository
CODE = {"motionbench": "motionbench", "motionbench_fym": "fym", "motionbench_baselines": "baselines",
        "motionbench_fyc": "fyc"}
DATA = {"motionbench.data": "data", "motionbench.data.reported": "results/reported"}


def packages() -> list[str]:
    found = [f"{name}.{sub}" for name, folder in CODE.items() for sub in find_packages(folder)]
    return [*CODE, *found, *DATA]


setup(packages=packages(), package_dir={**CODE, **DATA})
