"""Places of the synthetic population: territories, neighbours, facilities, spatial fields.

Bogotá's territories are cadastral sectors of its 20 localidades; Mexico's are urban areas
and rural localities of municipalities of Guerrero (a state that joined IMSS-Bienestar), each
municipality standing for a *Distrito de Salud para el Bienestar*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from masrisk.synth.targets import RURAL_SHARE

# Localidades of Bogotá: number, name, population 2024 (Secretaría Distrital de Planeación,
# projections from DANE's CNPV 2018), centroid of the urban part (lon, lat), urban area in
# km2, baseline deprivation (latent scale, peripheral localidades higher) and typical stratum.
BOGOTA_LOCALIDADES: tuple[tuple[int, str, int, float, float, float, float, int], ...] = (
    (1, "Usaquén", 580_000, -74.031, 4.721, 38.0, -0.6, 4),
    (2, "Chapinero", 170_000, -74.058, 4.648, 13.0, -1.0, 5),
    (3, "Santa Fe", 104_000, -74.070, 4.603, 7.0, 0.6, 2),
    (4, "San Cristóbal", 395_000, -74.090, 4.555, 16.0, 0.8, 2),
    (5, "Usme", 385_000, -74.115, 4.515, 21.0, 1.0, 1),
    (6, "Tunjuelito", 183_000, -74.135, 4.578, 10.0, 0.3, 2),
    (7, "Bosa", 800_000, -74.190, 4.620, 24.0, 0.7, 2),
    (8, "Kennedy", 1_040_000, -74.150, 4.630, 39.0, 0.2, 2),
    (9, "Fontibón", 415_000, -74.145, 4.678, 33.0, -0.3, 3),
    (10, "Engativá", 820_000, -74.110, 4.705, 36.0, -0.1, 3),
    (11, "Suba", 1_220_000, -74.085, 4.745, 60.0, -0.2, 3),
    (12, "Barrios Unidos", 140_000, -74.075, 4.668, 12.0, -0.4, 3),
    (13, "Teusaquillo", 155_000, -74.090, 4.640, 14.0, -1.1, 4),
    (14, "Los Mártires", 85_000, -74.090, 4.605, 6.5, 0.4, 3),
    (15, "Antonio Nariño", 85_000, -74.100, 4.590, 4.9, 0.1, 3),
    (16, "Puente Aranda", 250_000, -74.115, 4.615, 17.0, -0.1, 3),
    (17, "La Candelaria", 21_000, -74.071, 4.597, 2.0, 0.3, 2),
    (18, "Rafael Uribe Uribe", 375_000, -74.115, 4.570, 14.0, 0.7, 2),
    (19, "Ciudad Bolívar", 665_000, -74.155, 4.560, 33.0, 1.1, 1),
    (20, "Sumapaz", 0, -74.230, 4.140, 0.0, 1.3, 1),
)
# Rural parts of Bogotá: localidad number, share of the rural population, centroid, area km2,
# baseline deprivation (Secretaría Distrital de Planeación, Política pública de ruralidad).
BOGOTA_RURAL: tuple[tuple[int, float, float, float, float, float], ...] = (
    (5, 0.40, -74.130, 4.400, 190.0, 1.3),
    (19, 0.35, -74.185, 4.460, 97.0, 1.3),
    (20, 0.25, -74.230, 4.140, 781.0, 1.5),
)
# Municipalities of Guerrero: number, name, population (INEGI Censo 2020, rounded),
# centroid (lon, lat), share living in rural localities, baseline deprivation (CONAPO
# marginación), urban area km2, total area km2.
GUERRERO_MUNICIPIOS: tuple[tuple[int, str, int, float, float, float, float, float, float], ...] = (
    (1, "Acapulco de Juárez", 779_566, -99.886, 16.853, 0.10, -0.3, 120.0, 1880.0),
    (2, "Chilpancingo de los Bravo", 283_354, -99.501, 17.551, 0.15, -0.2, 40.0, 2338.0),
    (3, "Iguala de la Independencia", 154_173, -99.540, 18.345, 0.12, -0.2, 25.0, 567.0),
    (4, "Zihuatanejo de Azueta", 126_001, -101.552, 17.641, 0.15, -0.2, 20.0, 1468.0),
    (5, "Chilapa de Álvarez", 123_722, -99.178, 17.594, 0.70, 0.8, 8.0, 566.0),
    (6, "Taxco de Alarcón", 105_586, -99.605, 18.556, 0.45, 0.1, 10.0, 576.0),
    (7, "Tlapa de Comonfort", 96_125, -98.574, 17.546, 0.45, 0.7, 8.0, 786.0),
    (8, "Ayutla de los Libres", 69_123, -99.093, 16.965, 0.85, 1.1, 3.0, 1002.0),
    (9, "Ometepec", 68_207, -98.408, 16.690, 0.60, 0.6, 6.0, 1050.0),
    (10, "Coyuca de Benítez", 73_000, -100.086, 17.008, 0.60, 0.4, 5.0, 1683.0),
    (11, "Atoyac de Álvarez", 60_680, -100.437, 17.208, 0.55, 0.3, 5.0, 1688.0),
    (12, "Tecpan de Galeana", 62_071, -100.631, 17.220, 0.55, 0.3, 5.0, 2538.0),
    (13, "San Marcos", 50_124, -99.386, 16.797, 0.70, 0.6, 3.0, 960.0),
    (14, "Eduardo Neri", 52_000, -99.717, 17.783, 0.45, 0.3, 4.0, 1289.0),
    (15, "Teloloapan", 53_000, -99.872, 18.366, 0.55, 0.3, 4.0, 1002.0),
    (16, "Petatlán", 44_000, -101.268, 17.538, 0.55, 0.2, 4.0, 2071.0),
    (17, "Tixtla de Guerrero", 43_000, -99.397, 17.567, 0.30, 0.3, 4.0, 300.0),
    (18, "Coyuca de Catalán", 40_000, -100.698, 18.326, 0.70, 0.5, 3.0, 2144.0),
    (19, "Pungarabato", 39_000, -100.665, 18.356, 0.20, 0.0, 6.0, 219.0),
    (20, "Huitzuco de los Figueroa", 39_000, -99.337, 18.306, 0.50, 0.2, 3.0, 1300.0),
    (21, "Metlatónoc", 20_000, -98.410, 17.195, 1.00, 1.6, 0.0, 560.0),
    (22, "Cochoapa el Grande", 21_000, -98.459, 17.196, 1.00, 1.8, 0.0, 614.0),
)
# Share of each zone's population without social security, the population MAS-Bienestar
# serves (INEGI Censo 2020, Guerrero: ~60 % urban, ~85 % rural without derechohabiencia).
GUERRERO_UNINSURED = {"urban": 0.60, "rural": 0.85}

BOGOTA_SECTORS, BOGOTA_PERSONS = 1170, 7.9e6  # cadastral sectors and persons, full scale
MEXICO_PERSONS_PER_TERRITORY = 4000
RURAL_SECTOR_SHARE = 0.04  # of Bogotá's sectors; at least 4 (each rural part >= 1)
NEIGHBOURS = 6  # k of the k-nearest-neighbour adjacency
# Facilities per person at each level of care (Bogotá's four Subredes Integradas: ~1 primary
# care unit per 20,000 people), with floors so that small populations keep some.
FACILITY_PERSONS = {1: 20_000, 2: 150_000, 3: 400_000}
FACILITY_FLOOR = {1: 12, 2: 4, 3: 2}
FACILITY_TEAMS = {1: (4, 13), 2: (15, 31), 3: (40, 81)}  # teams of 40 hours a week
KM_PER_DEGREE = 111.2


@dataclass(frozen=True)
class Geography:
    """Territories as arrays (one entry per territory), plus adjacency and facilities."""

    ids: np.ndarray  # str
    names: np.ndarray  # str
    district: np.ndarray  # str
    rural: np.ndarray  # bool
    weight: np.ndarray  # expected share of the population
    lon: np.ndarray
    lat: np.ndarray
    area_km2: np.ndarray
    stratum: np.ndarray | None  # int8, Bogotá only
    deprivation: np.ndarray  # latent territorial deprivation
    health_field: np.ndarray  # spatially correlated health effect, standardised
    access_km: np.ndarray  # distance to the nearest level-1 facility
    adjacency: pd.DataFrame
    facilities: pd.DataFrame


def _parts(profile: str) -> pd.DataFrame:
    """One row per (district, zone) part with its population weight and place data."""
    if profile == "bogota":
        loc = pd.DataFrame(
            BOGOTA_LOCALIDADES,
            columns=["number", "district", "pop", "lon", "lat", "area", "dep", "stratum"],
        )
        urban = loc[loc["pop"] > 0].assign(rural=False)
        urban["weight"] = urban["pop"] / urban["pop"].sum() * (1 - RURAL_SHARE["bogota"])
        rural = pd.DataFrame(
            BOGOTA_RURAL, columns=["number", "share", "lon", "lat", "area", "dep"]
        ).assign(rural=True, stratum=1)
        rural["district"] = rural["number"].map(loc.set_index("number")["district"])
        rural["weight"] = rural["share"] * RURAL_SHARE["bogota"]
        parts = pd.concat([urban, rural], ignore_index=True)
        return parts.sort_values(["number", "rural"], kind="stable").reset_index(drop=True)
    mun = pd.DataFrame(
        GUERRERO_MUNICIPIOS,
        columns=["number", "district", "pop", "lon", "lat", "rshare", "dep", "area", "total"],
    )
    urban = mun.assign(
        rural=False, weight=mun["pop"] * (1 - mun["rshare"]) * GUERRERO_UNINSURED["urban"]
    )
    rural = mun.assign(
        rural=True,
        weight=mun["pop"] * mun["rshare"] * GUERRERO_UNINSURED["rural"],
        area=mun["total"] - mun["area"],
        dep=mun["dep"] + 0.8,
    )
    parts = pd.concat([urban, rural], ignore_index=True)
    parts = parts[parts["weight"] > 0].sort_values(["number", "rural"], kind="stable")
    parts = parts.reset_index(drop=True)
    return parts.assign(weight=parts["weight"] / parts["weight"].sum())


def allocate(total: int, weights: np.ndarray, minimum: int = 1) -> np.ndarray:
    """Split ``total`` into integer counts proportional to ``weights``, each >= ``minimum``."""
    weights = np.asarray(weights, dtype="float64")
    spare = total - minimum * len(weights)
    if spare < 0:
        raise ValueError(f"cannot give {len(weights)} parts at least {minimum} of {total}")
    exact = spare * weights / weights.sum()
    counts = np.floor(exact).astype("int64")
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: spare - counts.sum()]] += 1
    return counts + minimum


def _territory_counts(profile: str, parts: pd.DataFrame, persons: int) -> np.ndarray:
    if profile == "bogota":
        n = max(50, round(BOGOTA_SECTORS * persons / BOGOTA_PERSONS))
        n_rural = max(4, round(RURAL_SECTOR_SHARE * n))
        rural = parts["rural"].to_numpy()
        counts = np.zeros(len(parts), dtype="int64")
        counts[rural] = allocate(n_rural, np.array([0.35, 0.25, 0.40]))
        counts[~rural] = allocate(n - n_rural, parts.loc[~rural, "weight"].to_numpy())
        return counts
    n = max(50, round(persons / MEXICO_PERSONS_PER_TERRITORY))
    density = np.where(parts["rural"], 2.5, 1.0)  # rural localities are smaller
    return allocate(n, parts["weight"].to_numpy() * density)


def _scatter(rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, radius_km) -> tuple:
    """Points drawn uniformly in discs of ``radius_km`` around (``lon``, ``lat``)."""
    r = radius_km * np.sqrt(rng.random(len(lon)))
    angle = rng.uniform(0, 2 * np.pi, len(lon))
    lat = lat + r * np.sin(angle) / KM_PER_DEGREE
    return lon + r * np.cos(angle) / (KM_PER_DEGREE * np.cos(np.deg2rad(lat))), lat


def _projected(lon: np.ndarray, lat: np.ndarray, lat0: float) -> np.ndarray:
    """Equirectangular projection in km around latitude ``lat0``."""
    scale = np.cos(np.deg2rad(lat0))
    return np.column_stack([lon * KM_PER_DEGREE * scale, lat * KM_PER_DEGREE])


def _knn_pairs(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric k-nearest-neighbour pairs (i, j), i != j, each pair in both directions."""
    k = min(NEIGHBOURS, len(xy) - 1)
    _, idx = cKDTree(xy).query(xy, k=k + 1)
    i = np.repeat(np.arange(len(xy)), k)
    j = idx[:, 1:].ravel()
    both = np.unique(np.concatenate([i * len(xy) + j, j * len(xy) + i]))
    return both // len(xy), both % len(xy)


def _spatial_field(rng: np.random.Generator, i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    """Standardised Gaussian noise smoothed over neighbours (a cheap Gaussian field)."""
    w = sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    w = sparse.diags(1 / np.asarray(w.sum(axis=1)).ravel()) @ w
    z = rng.standard_normal(n)
    for _ in range(3):
        z = 0.35 * z + 0.65 * (w @ z)
    return (z - z.mean()) / z.std()


def build_geography(profile: str, persons: int, rng: np.random.Generator) -> Geography:
    """Territories with place data, a symmetric kNN adjacency and facilities of levels 1-3."""
    parts = _parts(profile)
    part = np.repeat(np.arange(len(parts)), _territory_counts(profile, parts, persons))
    p = parts.iloc[part].reset_index(drop=True)
    rural = p["rural"].to_numpy()
    within = rng.lognormal(0.0, 0.45, len(p))
    share = within / np.bincount(part, within)[part]
    area = np.maximum(p["area"].to_numpy(), 1.0)
    radius = np.sqrt(area / np.pi) * np.where(rural, 0.8, 1.0)
    lon, lat = _scatter(rng, p["lon"].to_numpy(), p["lat"].to_numpy(), radius)
    lat0 = float(lat.mean())
    xy = _projected(lon, lat, lat0)
    i, j = _knn_pairs(xy)
    field_dep = _spatial_field(rng, i, j, len(p))
    health = _spatial_field(rng, i, j, len(p))
    ids, names = _territory_names(profile, p)
    stratum = None
    if profile == "bogota":
        raw = p["stratum"].to_numpy() - 0.8 * field_dep + rng.normal(0, 0.4, len(p))
        stratum = np.clip(np.rint(raw), 1, 6).astype("int8")
    weight = p["weight"].to_numpy() * share
    facilities = _facilities(profile, p.assign(lon=lon, lat=lat, weight=weight), ids, rng, persons)
    fac_xy = _projected(facilities["lon"].to_numpy(), facilities["lat"].to_numpy(), lat0)
    access, _ = cKDTree(fac_xy[facilities["level"].to_numpy() == 1]).query(xy)
    adjacency = pd.DataFrame(
        {
            "territory_id": pd.Series(ids[i], dtype="str"),
            "neighbor_id": pd.Series(ids[j], dtype="str"),
            "weight": np.ones(len(i)),
        }
    )
    return Geography(
        ids=ids,
        names=names,
        district=p["district"].to_numpy(dtype=object),
        rural=rural,
        weight=weight / weight.sum(),
        lon=lon,
        lat=lat,
        area_km2=area * share,
        stratum=stratum,
        deprivation=1.2 * p["dep"].to_numpy() + 0.4 * field_dep,
        health_field=health,
        access_km=access,
        adjacency=adjacency,
        facilities=facilities,
    )


def _territory_names(profile: str, p: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ids numbered within each district ("BOG-08-0042", "MEX-D03-0012") and display names."""
    number, rural = p["number"].to_numpy(), p["rural"].to_numpy()
    in_district = _seq_within(number) + 1
    in_part = _seq_within(number * 2 + rural) + 1
    if profile == "bogota":
        prefix, kind = "BOG-", np.where(rural, "sector rural", "sector")
    else:
        prefix, kind = "MEX-D", np.where(rural, "localidad rural", "AGEB urbana")
    ids = [f"{prefix}{a:02d}-{b:04d}" for a, b in zip(number, in_district, strict=True)]
    names = [f"{d} - {k} {s}" for d, k, s in zip(p["district"], kind, in_part, strict=True)]
    return np.array(ids, dtype=object), np.array(names, dtype=object)


def _seq_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values (groups are contiguous)."""
    start = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    return np.arange(len(groups)) - np.repeat(start, np.diff(np.r_[start, len(groups)]))


def _facilities(
    profile: str, p: pd.DataFrame, ids: np.ndarray, rng: np.random.Generator, persons: int
) -> pd.DataFrame:
    """Facilities of levels 1-3 in territories ``p``, by population (2-3 also by centrality)."""
    rural, lon, lat, weight = (p[c].to_numpy() for c in ("rural", "lon", "lat", "weight"))
    if profile == "bogota":
        hub = np.hypot((lon + 74.075) * KM_PER_DEGREE, (lat - 4.625) * KM_PER_DEGREE)
        central = {2: np.exp(-hub / 8.0), 3: np.exp(-hub / 4.0)}
    else:
        size = p["pop"].to_numpy() / p["pop"].max()
        central = {2: size, 3: size**3}
    chosen, levels = [], []
    for level in (1, 2, 3):
        n = max(FACILITY_FLOOR[level], round(persons / FACILITY_PERSONS[level]))
        w = weight * (np.where(rural, 2.0, 1.0) if level == 1 else (~rural) * central[level])
        fixed = np.array([], dtype="int64")
        if level == 1 and profile == "bogota":  # a health post in each rural part
            first = np.unique(p["number"].to_numpy()[rural], return_index=True)[1]
            fixed = np.flatnonzero(rural)[first]
            w = w * ~rural
        n_free = n - len(fixed)
        pick = rng.choice(len(p), size=n_free, replace=n_free > np.count_nonzero(w), p=w / w.sum())
        chosen.append(np.concatenate([fixed, pick]))
        levels.append(np.full(n, level, dtype="int8"))
    where = np.concatenate(chosen)
    level = np.concatenate(levels)
    teams = rng.integers(*np.array([FACILITY_TEAMS[int(v)] for v in level]).T)
    f_lon, f_lat = _scatter(rng, lon[where], lat[where], 0.3)
    label = {
        "bogota": {1: "USS", 2: "Hospital", 3: "Hospital de alta complejidad"},
        "mexico": {1: "Centro de Salud", 2: "Hospital General", 3: "Hospital de Especialidades"},
    }[profile]
    prefix = "BOG" if profile == "bogota" else "MEX"
    number = range(1, len(where) + 1)
    district = p["district"].to_numpy()[where]
    names = [f"{label[int(v)]} {d} {k}" for v, d, k in zip(level, district, number, strict=True)]
    return pd.DataFrame(
        {
            "facility_id": pd.Series([f"{prefix}-F{k:04d}" for k in number], dtype="str"),
            "lon": f_lon,
            "lat": f_lat,
            "level": level,
            "capacity": (40.0 * teams).astype("float64"),
            "name": pd.Series(names, dtype="str"),
            "territory_id": pd.Series(ids[where], dtype="str"),
        }
    )
