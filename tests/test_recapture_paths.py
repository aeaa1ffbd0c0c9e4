"""Camera paths: the documented format, its errors, and what each parameter does to the camera."""

from __future__ import annotations

import numpy as np
import pytest

from motionbench.errors import ConfigError
from motionbench.recapture.cameras import intrinsics, invert_rigid, look_at, rotation_angle_deg
from motionbench.recapture.trajectory import KINDS, CameraPath

PIVOT = 4.0


def centre_and_forward(path: CameraPath, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    poses = path.poses(n, PIVOT)
    return poses[:, :3, 3], poses[:, :3, 2]


def test_identity_is_the_source_camera():
    path = CameraPath.parse("identity")
    assert np.allclose(path.relative_extrinsics(7, PIVOT), np.eye(4))
    assert np.allclose(path.intrinsics(intrinsics(64, 48), 7), intrinsics(64, 48))


@pytest.mark.parametrize("spec, axis, sign", [("orbit:phi=30", 0, +1), ("orbit:phi=-30", 0, -1),
                                               ("arc:theta=20", 1, -1),  # up is -y
                                               ("pan:x=0.25", 0, +1), ("pan:y=0.25", 1, -1),
                                               ("dolly:r=0.5", 2, -1), ("dolly:r=-0.5", 2, +1)])
def test_each_parameter_moves_the_camera_the_documented_way(spec, axis, sign):
    centres, _ = centre_and_forward(CameraPath.parse(spec))
    assert np.allclose(centres[0], 0)  # ramps start at the source camera
    assert np.sign(centres[-1][axis]) == sign
    assert abs(centres[-1][axis]) > 0.1 * PIVOT


def test_orbit_keeps_aiming_at_the_pivot_at_the_same_distance():
    centres, forward = centre_and_forward(CameraPath.parse("orbit:phi=40,theta=15"), n=9)
    pivot = np.array([0.0, 0.0, PIVOT])
    to_pivot = pivot - centres
    dist = np.linalg.norm(to_pivot, axis=1)
    assert np.allclose(dist, PIVOT)
    assert np.allclose(to_pivot / dist[:, None], forward, atol=1e-9)
    # The last camera is 40 degrees round (azimuth) and 15 up: the angle at the pivot between the
    # first and last camera positions is the combined rotation.
    first, last = -to_pivot[0], -to_pivot[-1]
    angle = np.degrees(np.arccos(first @ last / PIVOT ** 2))
    assert angle == pytest.approx(np.degrees(np.arccos(np.cos(np.radians(40)) * np.cos(np.radians(15)))), abs=1e-6)


def test_turn_rotates_in_place_and_zoom_scales_the_focal_length():
    turn = CameraPath.parse("turn:yaw=12,pitch=5")
    centres, forward = centre_and_forward(turn)
    assert np.allclose(centres, 0)
    assert forward[-1][0] > 0 and forward[-1][1] < 0  # turned right and tilted up
    assert rotation_angle_deg(turn.poses(5, PIVOT)[-1, :3, :3]) == pytest.approx(
        np.degrees(np.arccos((np.trace(_ry(12) @ _rx(5)) - 1) / 2)))
    k = intrinsics(64, 64)
    ks = CameraPath.parse("zoom:zoom=2").intrinsics(k, 5)
    assert ks[0, 0, 0] == pytest.approx(k[0, 0]) and ks[-1, 0, 0] == pytest.approx(2 * k[0, 0])
    assert np.allclose(ks[:, :2, 2], k[:2, 2])


def _rx(d):
    a = np.radians(d)
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def _ry(d):
    a = np.radians(d)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def test_relative_extrinsics_invert_the_poses_and_look_at_agrees():
    path = CameraPath.parse("orbit:phi=25")
    rel, poses = path.relative_extrinsics(3, PIVOT), path.poses(3, PIVOT)
    assert np.allclose(rel @ poses, np.eye(4))
    assert np.allclose(rel[-1], look_at(poses[-1, :3, 3], np.array([0.0, 0.0, PIVOT])), atol=1e-9)
    assert np.allclose(invert_rigid(invert_rigid(poses)), poses)


def test_keys_interpolate_linearly_or_smoothly_and_hold_outside():
    spec = {"keys": [{"at": 0.25, "phi": 0}, {"at": 0.75, "phi": 20}], "interpolation": "linear"}
    phi = CameraPath.parse(spec).values(5)["phi"]
    assert np.allclose(phi, [0, 0, 10, 20, 20])
    smooth = CameraPath.parse({**spec, "interpolation": "smooth"}).values(9)["phi"]
    assert smooth[2] == 0 and smooth[6] == 20 and smooth[4] == pytest.approx(10)
    assert smooth[3] < 5  # eases in: slower than linear (5) a quarter of the way


def test_bullet_time_freezes_the_source_frame_and_follow_needs_the_same_count():
    bullet = CameraPath.parse("bullet:phi=30,at=0.5")
    assert bullet.time == "freeze"
    assert list(bullet.source_frames(9)) == [4] * 9
    assert list(bullet.source_frames(9, 3)) == [4] * 3
    frozen = CameraPath.parse("frozen:x=0.1")
    poses = frozen.poses(4, PIVOT)
    assert np.allclose(poses, poses[0]) and poses[0, 0, 3] == pytest.approx(0.1 * PIVOT)
    assert list(frozen.source_frames(4)) == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="follow"):
        frozen.source_frames(4, 6)


@pytest.mark.parametrize("spec", [f"{k}" for k in KINDS] + ["orbit:phi=-20,theta=5", "bullet:phi=40,at=0",
                                                            {"kind": "orbit", "phi": 12, "pivot": 3},
                                                            {"keys": [{"at": 0}, {"at": 1, "r": -0.2, "zoom": 1.2}],
                                                             "interpolation": "smooth", "pivot": "auto"}])
def test_long_form_round_trips(spec):
    path = CameraPath.parse(spec)
    again = CameraPath.parse(path.to_dict())
    assert again == path
    assert again.key == path.key
    assert np.allclose(again.poses(5, PIVOT), path.poses(5, PIVOT))


def test_key_depends_on_geometry_not_on_the_label():
    a = CameraPath.parse({"kind": "orbit", "phi": 10, "name": "left"})
    b = CameraPath.parse({"kind": "orbit", "phi": 10, "name": "other"})
    c = CameraPath.parse({"kind": "orbit", "phi": 11})
    assert a.key == b.key != c.key


@pytest.mark.parametrize("spec, message", [
    ("spiral", "unknown path kind 'spiral'"),
    ("orbit:phi=abc", "phi: 'abc' is not a number"),
    ("orbit:fi=3", "unknown key 'fi'"),
    ("orbit:phi", "not of the form key=value"),
    ("orbit:phi=200", r"phi = 200 is outside the allowed range \[-180, 180\]"),
    ("dolly:r=-1", "r = -1 is outside"),
    ("zoom:zoom=0", "zoom = 0 is outside"),
    ("identity:phi=3", "takes no values"),
    ({"keys": []}, "keys is empty"),
    ({"keys": [{"at": 0.5}, {"at": 0.5, "phi": 3}]}, r"keys\[1\]: at = 0.5 does not come after"),
    ({"keys": [{"phi": 3}]}, r"keys\[0\]: missing at"),
    ({"keys": [{"at": 0, "phi": "x"}]}, r"keys\[0\].phi: 'x' is not a number"),
    ({"keys": [{"at": 0, "spin": 1}]}, r"keys\[0\]: unknown key 'spin'"),
    ({"keys": [{"at": 0}], "time": "reverse"}, "time 'reverse' is not one of"),
    ({"keys": [{"at": 0}], "pivot": -2}, "pivot = -2"),
    ({"keys": [{"at": 0}], "speed": 2}, "unknown field 'speed'"),
    ({"kind": "orbit", "keys": []}, "either kind"),
    (3, "expected a string"),
])
def test_bad_paths_name_the_field_and_value(spec, message):
    with pytest.raises(ConfigError, match=message) as info:
        CameraPath.parse(spec, where="manifest.yaml: samples[2].paths[0]")
    assert str(info.value).startswith("manifest.yaml: samples[2].paths[0]")


def test_auto_pivot_needs_a_default():
    path = CameraPath.parse("orbit")
    with pytest.raises(ConfigError, match="pivot is 'auto'"):
        path.poses(3)
    assert np.allclose(path.poses(3, 2.0), path.with_pivot(2.0).poses(3))
