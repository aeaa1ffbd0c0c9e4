"""The benchmark manifests MotionBench ships, installed as the package data ``motionbench.data``.

``manifest.yaml`` is the default benchmark and ``toy.yaml`` the toy world. The program finds them with
:mod:`importlib.resources` (see :mod:`motionbench.package_data`), from a wheel as from this checkout.
This file holds no code: it only makes the folder a package, so that it has one location.
"""
