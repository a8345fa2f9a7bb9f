"""The vehicle around the pack: a speed profile and the power it takes, at 10 Hz.

A drive is a chain of legs: stop, pull away (now and then hard, which gives the current
spikes), cruise with small wobbles, slow down (regenerating) to a lower speed or to a
stop. Town and motorway stretches alternate. From speed and acceleration a road-load model
(mass, rolling resistance, aerodynamic drag) gives the wheel force; the pack supplies the
wheel power through the drive train, and takes back part of the braking power (regeneration,
capped). Auxiliary loads (heating, air conditioning, the 12 V system) come on top, at rest too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.simulate.battery import FAST_HZ

DT_S = 1.0 / FAST_HZ
GRAVITY = 9.81
AIR_DENSITY = 1.2


@dataclass(frozen=True)
class Vehicle:
    mass_kg: float = 1900.0
    drag_area_m2: float = 0.62  # drag coefficient times frontal area
    rolling: float = 0.011
    wheel_radius_m: float = 0.33
    gear_ratio: float = 9.0
    drive_efficiency: float = 0.88
    regen_efficiency: float = 0.72
    max_drive_w: float = 150_000.0
    max_regen_w: float = 60_000.0
    max_torque_nm: float = 360.0


@dataclass
class DriveProfile:
    """One drive at 10 Hz (speed in m/s, power in W, positive out of the pack)."""

    speed_m_s: np.ndarray
    accel_m_s2: np.ndarray
    battery_w: np.ndarray
    torque_nm: np.ndarray
    pedal_percent: np.ndarray
    brake: np.ndarray  # bool


def speed_profile(duration_s: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Speed (m/s) and acceleration at 10 Hz for a drive that starts and ends at rest."""
    n = duration_s * FAST_HZ
    legs: list[np.ndarray] = [np.zeros(int(rng.uniform(2, 6) * FAST_HZ))]
    speed = 0.0
    motorway = bool(rng.random() < 0.3)
    total = len(legs[0])

    while total < n:
        if rng.random() < 0.08:
            motorway = not motorway
        if speed > 0 and rng.random() < (0.15 if motorway else 0.35):
            target = 0.0
        elif motorway:
            target = rng.uniform(85, 130) / 3.6
        else:
            target = rng.uniform(25, 60) / 3.6

        ramp = _ramp(speed, target, rng)
        cruise_s = rng.uniform(5, 25) if target == 0 else rng.uniform(10, 120 if motorway else 40)
        hold = _cruise(target, cruise_s, rng)
        legs += [ramp, hold]
        total += len(ramp) + len(hold)
        speed = target

    speed_m_s = np.concatenate(legs)[:n]
    # Come to rest by the end: cap the speed by a gentle braking envelope.
    envelope = 1.8 * DT_S * np.arange(n)[::-1]
    speed_m_s = np.minimum(speed_m_s, envelope)
    speed_m_s = _smooth(np.maximum(speed_m_s, 0.0), 5)
    accel = np.gradient(speed_m_s, DT_S)
    return speed_m_s, accel


def road_load(
    vehicle: Vehicle, speed: np.ndarray, accel: np.ndarray, aux_w: np.ndarray
) -> DriveProfile:
    """Battery power, motor torque, pedal and brake from speed and acceleration."""
    moving = speed > 0.05
    force = (
        vehicle.mass_kg * accel
        + 0.5 * AIR_DENSITY * vehicle.drag_area_m2 * speed**2
        + np.where(moving, vehicle.rolling * vehicle.mass_kg * GRAVITY, 0.0)
    )
    wheel_w = force * speed

    drive_w = np.minimum(wheel_w / vehicle.drive_efficiency, vehicle.max_drive_w)
    regen_w = np.maximum(wheel_w * vehicle.regen_efficiency, -vehicle.max_regen_w)
    battery_w = np.where(wheel_w > 0, drive_w, regen_w) + aux_w

    torque = force * vehicle.wheel_radius_m / vehicle.gear_ratio
    regen_torque = np.where(
        speed > 1,
        regen_w
        / np.maximum(speed, 1)
        * vehicle.wheel_radius_m
        / vehicle.gear_ratio
        / vehicle.regen_efficiency,
        0.0,
    )
    torque = np.where(force >= 0, torque, np.maximum(torque, regen_torque))
    torque = np.clip(torque, -vehicle.max_torque_nm, vehicle.max_torque_nm)
    pedal = np.clip(100 * torque / vehicle.max_torque_nm, 0, 100)
    brake = (accel < -0.6) | ~moving
    return DriveProfile(speed, accel, battery_w, torque, pedal, brake)


def auxiliary_w(n: int, ambient_c: float, rng: np.random.Generator) -> np.ndarray:
    """Auxiliary load at 10 Hz: 12 V system, plus heating or cooling that cycles."""
    base = 350.0 + 90.0 * abs(ambient_c - 21.0)
    period = int(rng.uniform(40, 120) * FAST_HZ)
    compressor = (np.arange(n) // max(period // 2, 1)) % 2 == 0
    return base + 400.0 * compressor + 30.0 * rng.standard_normal(n)


def _ramp(v0: float, v1: float, rng: np.random.Generator) -> np.ndarray:
    """Speed from v0 to v1 at 10 Hz. Pulling away eases out (strongest at the start, 1.5
    times the mean); braking eases in and out (strongest midway)."""
    if v1 >= v0:
        hard = rng.random() < 0.18
        accel = rng.uniform(2.5, 3.4) if hard else rng.uniform(0.8, 2.0)
    else:
        accel = rng.uniform(2.8, 3.8) if rng.random() < 0.08 else rng.uniform(0.8, 2.4)
    steps = max(int(abs(v1 - v0) / accel / DT_S), 1)
    x = np.arange(steps) / steps
    shape = 1 - (1 - x) ** 1.5 if v1 >= v0 else x * x * (3 - 2 * x)
    return v0 + (v1 - v0) * shape


def _cruise(speed: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    n = max(int(duration_s * FAST_HZ), 1)
    if speed == 0:
        return np.zeros(n)
    t = np.arange(n) * DT_S
    wobble = 0.25 * np.sin(2 * np.pi * t / rng.uniform(15, 40) + rng.uniform(0, 6.3))
    return np.maximum(speed + wobble + 0.02 * rng.standard_normal(n), 0.0)


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    kernel = np.ones(width) / width
    padded = np.concatenate(
        [np.full(width // 2, values[0]), values, np.full(width - 1 - width // 2, values[-1])]
    )
    return np.convolve(padded, kernel, mode="valid")
