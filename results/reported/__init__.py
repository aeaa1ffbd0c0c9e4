"""Published numbers (other papers' tables, cited), installed as the package data ``motionbench.data.reported``.

``motionbench report --with-reported`` reads every ``*.yaml``/``*.json`` here (the format is in
:mod:`motionbench.report.reported`); a ``results/reported/`` folder in the working directory is read instead
when there is one. This file holds no code: it only makes the folder a package, so that it has one location.
"""
