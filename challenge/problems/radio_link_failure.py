"""Radio link failure: will a microwave link fail tomorrow, given its KPIs and a forecast."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from challenge.problems.base import (
    PUBLIC_FRACTION,
    GeneratedData,
    Problem,
    competition_settings,
    markdown_page,
    save_joblib_baseline,
    split_column,
)

PROBLEM_ID = "radio-link-failure"
ID_COLUMN = "id"
TARGET = "failure"
FEATURES = [
    "length_km",
    "frequency_ghz",
    "polarization_vertical",
    "fade_margin_db",
    "rx_level_dbm",
    "day_of_year",
    "rain_yesterday_mm_h",
    "forecast_rain_mm_h",
    "forecast_temperature_c",
    "forecast_wind_m_s",
]
TRAIN_RATIO = 2
N_REGIONS = 24
DESIGN_RAIN_MM_H = 25.0
"""The rain rate links are planned against (a P.837 0.01 % rate of a temperate climate)."""
THRESHOLD_DBM = (-90.0, -65.0)
"""Receiver sensitivity at the failure bit-error rate, from QPSK to 1024-QAM radios."""
DISHES_M = np.array([0.3, 0.6, 0.9, 1.2, 1.8])
DISH_EFFICIENCY = 0.55
FEEDER_LOSS_DB = 2.0
"""Waveguide, radome and branching losses, both ends together."""

# ITU-R P.838-3 coefficients, tabulated at a few frequencies (GHz): k_H, alpha_H, k_V, alpha_V.
_P838 = np.array(
    [
        [6.0, 0.0007056, 1.5900, 0.0004878, 1.5728],
        [7.0, 0.001915, 1.4810, 0.001425, 1.4745],
        [8.0, 0.004115, 1.3905, 0.003450, 1.3797],
        [10.0, 0.01217, 1.2571, 0.01129, 1.2156],
        [12.0, 0.02386, 1.1825, 0.02455, 1.1216],
        [15.0, 0.04481, 1.1233, 0.05008, 1.0440],
        [20.0, 0.09164, 1.0568, 0.09611, 0.9847],
        [25.0, 0.1571, 0.9991, 0.1533, 0.9491],
        [30.0, 0.2403, 0.9485, 0.2291, 0.9129],
        [35.0, 0.3374, 0.9047, 0.3224, 0.8761],
        [40.0, 0.4431, 0.8673, 0.4274, 0.8421],
        [50.0, 0.6600, 0.8084, 0.6472, 0.7871],
        [60.0, 0.8606, 0.7656, 0.8515, 0.7486],
        [70.0, 1.0315, 0.7345, 1.0253, 0.7215],
        [80.0, 1.1704, 0.7115, 1.1668, 0.7021],
    ]
)
_BANDS_GHZ = np.array([7.0, 8.0, 11.0, 13.0, 15.0, 18.0, 23.0, 26.0, 32.0, 38.0, 42.0, 80.0])


def rain_coefficients(
    frequency_ghz: np.ndarray, vertical: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """P.838 `k` and `alpha` per link: log-log interpolation of k, log interpolation of alpha."""
    log_f = np.log10(_P838[:, 0])
    log_fq = np.log10(frequency_ghz)
    k_h = 10 ** np.interp(log_fq, log_f, np.log10(_P838[:, 1]))
    a_h = np.interp(log_fq, log_f, _P838[:, 2])
    k_v = 10 ** np.interp(log_fq, log_f, np.log10(_P838[:, 3]))
    a_v = np.interp(log_fq, log_f, _P838[:, 4])
    return np.where(vertical, k_v, k_h), np.where(vertical, a_v, a_h)


def rain_attenuation_db(
    rain_mm_h: np.ndarray, length_km: np.ndarray, k: np.ndarray, alpha: np.ndarray
) -> np.ndarray:
    """Path attenuation: specific attenuation k*R^alpha times a P.530-style effective length."""
    specific = k * np.power(rain_mm_h, alpha)
    d0 = 35.0 * np.exp(-0.015 * np.minimum(rain_mm_h, 100.0))
    effective = length_km / (1.0 + length_km / d0)
    return specific * effective


def dish_gain_dbi(diameter_m: np.ndarray, frequency_ghz: np.ndarray) -> np.ndarray:
    """Gain of a parabolic dish: 10 log10(efficiency * (pi * D / wavelength)^2)."""
    wavelength = 0.299792458 / frequency_ghz
    return np.asarray(10 * np.log10(DISH_EFFICIENCY * (np.pi * diameter_m / wavelength) ** 2))


def _links(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Link inventory: band, length suited to the band, polarization, link budget, region.

    The planner picks the smallest dish that gives the link a fade margin (clear-sky received
    level minus the receiver's threshold) above its design rain fade, with a spread in how
    conservative it was; the margin is what the budget leaves, never set by hand.
    """
    freq = rng.choice(_BANDS_GHZ, size=n)
    max_len = np.clip(55.0 * (7.0 / freq) ** 0.9, 3.0, 55.0)
    length = rng.uniform(0.3, 1.0, n) * max_len
    vertical = rng.random(n) < 0.5
    k, alpha = rain_coefficients(freq, vertical)
    design = rain_attenuation_db(np.full(n, DESIGN_RAIN_MM_H), length, k, alpha)
    wanted = design * rng.lognormal(0.0, 0.35, n)
    fspl = 92.45 + 20 * np.log10(freq) + 20 * np.log10(length)
    tx_power = rng.uniform(10.0, 24.0, n) - 6.0 * (freq > 50)  # E-band radios transmit less
    threshold = rng.uniform(*THRESHOLD_DBM, n)  # from robust (QPSK) to high-order QAM receivers
    gains = dish_gain_dbi(DISHES_M[:, None], freq[None, :])  # (dishes, links)
    rx_levels = tx_power + 2 * gains - fspl - FEEDER_LOSS_DB
    # dishes above 0.6 m are not made for E-band, nor above 1.2 m for bands over 20 GHz
    largest = np.select([freq > 50, freq > 20], [0.6, 1.2], DISHES_M[-1])
    allowed = DISHES_M[:, None] <= largest[None, :]
    enough = allowed & (rx_levels - threshold >= wanted)
    fallback = allowed.sum(axis=0) - 1
    dish = np.where(enough.any(axis=0), np.argmax(enough, axis=0), fallback)
    rx_level = rx_levels[dish, np.arange(n)]
    return {
        "frequency": freq,
        "length": length,
        "vertical": vertical,
        "k": k,
        "alpha": alpha,
        "margin": rx_level - threshold,
        "rx_level": rx_level,
        "region": rng.integers(0, N_REGIONS, n),
    }


def _weather(n_days: int, start: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Daily (day x region) weather: Markov wet days, log-normal peak rain, wind, temperature."""
    day = np.arange(n_days) + start
    season = np.sin(2 * np.pi * (day[:, None] - 110) / 365.0)
    offset = rng.normal(0.0, 4.0, N_REGIONS)
    wet = np.zeros((n_days, N_REGIONS), dtype=bool)
    temp_noise = np.zeros((n_days, N_REGIONS))
    state = rng.random(N_REGIONS) < 0.3
    noise = np.zeros(N_REGIONS)
    for d in range(n_days):
        p_wet = np.where(state, 0.6, 0.18)
        state = rng.random(N_REGIONS) < p_wet
        noise = 0.7 * noise + rng.normal(0.0, 2.0, N_REGIONS)
        wet[d], temp_noise[d] = state, noise
    temperature = 11.0 + 10.0 * season + offset + temp_noise
    convective = 1.8 + 0.5 * season
    rain = wet * rng.lognormal(convective, 1.0, (n_days, N_REGIONS))
    wind = rng.weibull(2.0, (n_days, N_REGIONS)) * 5.0 + 0.12 * rain
    return {"rain": rain, "temperature": temperature, "wind": wind}


def _forecast(weather: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A regional forecast per (day, region): the realised weather plus an error shared by every
    link of the region that day, with missed events and false alarms."""
    rain, shape = weather["rain"], weather["rain"].shape
    missed = rng.random(shape) < 0.08
    false_alarm = (rain == 0) & (rng.random(shape) < 0.1)
    forecast = np.where(missed, 0.0, rain * rng.lognormal(0.0, 0.5, shape))
    return {
        "rain": np.where(false_alarm, rng.lognormal(0.5, 0.8, shape), forecast),
        "temperature": weather["temperature"] + rng.normal(0.0, 1.5, shape),
        "wind": np.maximum(weather["wind"] + rng.normal(0.0, 1.5, shape), 0.0),
    }


def _table(
    links: dict[str, np.ndarray],
    weather: dict[str, np.ndarray],
    forecast: dict[str, np.ndarray],
    days: np.ndarray,
    start: int,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Link-day rows for the given days: forecast features, failure label, noiseless attenuation."""
    n_links = len(links["length"])
    li = np.tile(np.arange(n_links), len(days))
    di = np.repeat(days, n_links)
    region = links["region"][li]
    region_rain = weather["rain"][di, region]
    temperature = weather["temperature"][di, region]
    wind = weather["wind"][di, region]
    n = len(li)
    local_rain = region_rain * rng.lognormal(0.0, 0.35, n)
    sleet = np.where((temperature > -1.0) & (temperature < 2.0), 1.6, 1.0)
    rain_db = sleet * rain_attenuation_db(
        local_rain, links["length"][li], links["k"][li], links["alpha"][li]
    )
    sway_db = 0.03 * np.maximum(wind - 12.0, 0.0) ** 2 * np.sqrt(links["length"][li] / 10.0)
    attenuation = rain_db + sway_db
    failure = (attenuation + rng.normal(0.0, 1.0, n) > links["margin"][li]).astype(np.int64)
    columns = {
        "length_km": links["length"][li],
        "frequency_ghz": links["frequency"][li],
        "polarization_vertical": links["vertical"][li].astype(np.float64),
        "fade_margin_db": links["margin"][li],
        "rx_level_dbm": links["rx_level"][li],
        "day_of_year": ((di + start) % 365).astype(np.float64),
        "rain_yesterday_mm_h": weather["rain"][di - 1, region],
        "forecast_rain_mm_h": forecast["rain"][di, region],
        "forecast_temperature_c": forecast["temperature"][di, region],
        "forecast_wind_m_s": forecast["wind"][di, region],
    }
    frame = pd.DataFrame({k: v.astype(np.float32) for k, v in columns.items()})
    frame[TARGET] = failure
    return frame, attenuation


def simulate(seed: int, size: int) -> GeneratedData:
    """Links x days: train on earlier days, test (`size` rows, in random order) on later days.

    Only every other day is published, so that no row's `rain_yesterday_mm_h` is the rain of a
    day whose failures are asked (the day before a published day is never published itself).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    n_links = int(np.clip(size // 40, 100, 5000))
    test_days = -(-size // n_links)
    train_days = TRAIN_RATIO * test_days
    links = _links(n_links, rng)
    start = int(rng.integers(0, 365))
    weather = _weather(2 * (train_days + test_days) + 1, start, rng)
    forecast = _forecast(weather, rng)
    days = 1 + 2 * np.arange(train_days + test_days)
    train, _ = _table(links, weather, forecast, days[:train_days], start, rng)
    test, attenuation = _table(links, weather, forecast, days[train_days:], start, rng)
    order = rng.permutation(size)  # a random sample of the last days' link-days, shuffled
    test, attenuation = test.iloc[order].reset_index(drop=True), attenuation[order]
    train.insert(0, ID_COLUMN, np.arange(len(train), dtype=np.int64))
    test.insert(0, ID_COLUMN, np.arange(len(train), len(train) + size, dtype=np.int64))
    labels = pd.DataFrame(
        {
            ID_COLUMN: test[ID_COLUMN],
            TARGET: test.pop(TARGET),
            "split": split_column(size, PUBLIC_FRACTION, rng),
        }
    )
    oracle = pd.DataFrame({ID_COLUMN: test[ID_COLUMN], "attenuation_db": attenuation})
    return GeneratedData(train=train, test=test, labels=labels, extras={"attenuation": oracle})


def settings() -> dict[str, Any]:
    """competition.yaml for this problem, with its full ML intent."""
    return competition_settings(
        PROBLEM,
        id_column=ID_COLUMN,
        target=TARGET,
        classes=[0, 1],
        metrics=[("f1", {}), ("precision", {}), ("recall", {})],
    )


def write_baseline(train: pd.DataFrame, bundle_dir: Path) -> tuple[str, str]:
    """A class-weighted logistic regression on the standardised features."""
    model = make_pipeline(
        StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=500)
    )
    model.fit(train[FEATURES], train[TARGET])
    return save_joblib_baseline(model, bundle_dir, compress=3)


PROBLEM = Problem(
    id=PROBLEM_ID,
    title="Radio link failure prediction",
    summary="Predict which microwave links fail tomorrow from link KPIs and a weather forecast.",
    task="binary",
    default_size=20_000,
    settings=settings,
    simulate=simulate,
    description=partial(markdown_page, __file__),
    write_baseline=write_baseline,
    intelligence_level="L3",
    data_handling={
        "source": "simulated by the built-in simulator challenge/problems/radio_link_failure.py",
        "nature": "synthetic",
        "sharing": "open: generated by the platform from a seed; anyone may redistribute it",
    },
)
