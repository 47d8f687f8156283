"""Hardware profiles: what the devices of a physical resistive network can be.

A profile is a TOML file (docs/hardware.md; examples in ``examples/hardware/``)::

    name = "memristor crossbar, 5 bits"
    references = ["Li et al., Nature Electronics 1, 52 (2018)"]

    [scale]
    volts_per_unit = 0.002        # V0: a network voltage of 1 is 2 mV
    siemens_per_unit = 1e-5       # G0: a conductance of 1 is 10 uS

    [conductance]
    g_min = 1e-6                  # siemens: the off state; a weight of 0 becomes g_min
    g_max = 1e-4                  # siemens
    zero_is_open = false          # true: a weight of exactly 0 is no device (discrete parts)
    bits = 5                      # 2**bits levels from g_min to g_max (or series = "E96")
    variation = 0.03              # device to device, log-normal sigma
    programming_noise = 0.02      # at each write, log-normal sigma

    [diode]
    model = "pwl"                 # "ideal", "pwl" (vfwd, ron) or "shockley" (is, n, rs)
    vfwd = 0.1
    ron = 10.0

    [crossbar]
    wire_ohms = 1.0               # per wire segment between neighbouring crossings; 0: ideal wires
    array_rows = 128              # the largest array: a layer is tiled onto arrays of at most
    array_columns = 64            #   128 rows x 64 columns (0: one array for the whole layer)

Every key has a type, a default and a range; an unknown key, a wrong type or a value out of
range is a :class:`ProfileError` at the key's line (exit 3), saying what would be accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import NetlistError
from ..tomlfile import error_at, read_toml

#: resistor series of IEC 60063 that a profile may name for its levels
SERIES = ("E12", "E24", "E48", "E96")
DIODE_MODELS = ("ideal", "pwl", "shockley")


class ProfileError(NetlistError):
    """A bad hardware profile (exit 3, as a bad netlist or run.toml)."""


@dataclass(frozen=True)
class Diode:
    """The hidden units' diodes: ``ideal`` (0 V threshold, no resistance), ``pwl``
    (threshold ``vfwd`` volts, on-resistance ``ron`` ohms) or ``shockley`` (saturation
    current ``is_`` amperes, emission coefficient ``n``, series resistance ``rs`` ohms)."""

    model: str = "ideal"
    vfwd: float = 0.0
    ron: float = 0.0
    is_: float = 1e-14
    n: float = 1.0
    rs: float = 0.0

    @property
    def ideal(self) -> bool:
        return self.model == "ideal" or (self.model == "pwl" and self.vfwd == 0.0 and self.ron == 0.0)

    def model_card(self, name: str) -> str:
        """The ``.model`` card of this diode (resim's and ngspice's syntax)."""
        if self.model == "shockley":
            return f".model {name} D(IS={self.is_!r} N={self.n!r} RS={self.rs!r})"
        if self.ideal:
            return f".model {name} D(Ron=0 Vfwd=0)"
        return f".model {name} D(Ron={self.ron!r} Vfwd={self.vfwd!r})"


@dataclass(frozen=True)
class Profile:
    """A checked hardware profile (see the module docstring for the keys and their units)."""

    name: str = "ideal"
    references: tuple[str, ...] = ()
    volts_per_unit: float = 1.0
    siemens_per_unit: float = 1.0
    g_min: float = 0.0
    g_max: float = math.inf
    zero_is_open: bool = False  # a weight of exactly 0 is no device (else the window's g_min)
    bits: int = 0  # 0: any conductance in the window
    series: str = ""  # or one of SERIES
    variation: float = 0.0
    programming_noise: float = 0.0
    diode: Diode = field(default_factory=Diode)
    wire_ohms: float = 0.0
    array_rows: int = 0  # 0: a layer's fan-in
    array_columns: int = 0  # 0: a layer's fan-out
    path: str = ""

    @property
    def ideal(self) -> bool:
        """No non-ideality at all: the mapped network is the trained one, scaled."""
        return (self.g_min == 0.0 and self.g_max == math.inf and not self.bits and not self.series
                and not self.variation and not self.programming_noise and self.diode.ideal and not self.wire_ohms)


_NUMBER, _INTEGER, _STRING, _STRINGS, _BOOLEAN = "number", "integer", "string", "list of strings", "boolean"
#: section -> key -> (type, default); "" is the top level
SCHEMA: dict[str, dict[str, tuple[str, object]]] = {
    "": {"name": (_STRING, "unnamed profile"), "references": (_STRINGS, [])},
    "scale": {"volts_per_unit": (_NUMBER, 1.0), "siemens_per_unit": (_NUMBER, 1.0)},
    "conductance": {"g_min": (_NUMBER, 0.0), "g_max": (_NUMBER, math.inf), "zero_is_open": (_BOOLEAN, False),
                    "bits": (_INTEGER, 0),
                    "series": (_STRING, ""), "variation": (_NUMBER, 0.0), "programming_noise": (_NUMBER, 0.0)},
    "diode": {"model": (_STRING, "ideal"), "vfwd": (_NUMBER, 0.0), "ron": (_NUMBER, 0.0), "is": (_NUMBER, 1e-14),
              "n": (_NUMBER, 1.0), "rs": (_NUMBER, 0.0)},
    "crossbar": {"wire_ohms": (_NUMBER, 0.0), "array_rows": (_INTEGER, 0), "array_columns": (_INTEGER, 0)},
}


def load_profile(path: str) -> Profile:
    """The profile in the TOML file ``path``; a :class:`ProfileError` naming the key that is wrong."""
    doc, text = read_toml(path, ProfileError, "profile")
    return check_profile(doc, text, path)


def check_profile(doc: dict, text: str = "", path: str = "<profile>") -> Profile:
    """The :class:`Profile` of a parsed TOML document, every key checked."""
    def err(section: str, key: str | None, message: str, hint: str | None = None) -> ProfileError:
        return error_at(path, text, section or None, key, message, hint, ProfileError)

    values = {s: {k: d for k, (_, d) in keys.items()} for s, keys in SCHEMA.items()}
    for top, value in doc.items():
        if isinstance(value, dict):
            if top not in SCHEMA or not top:
                raise err(top, None, f"unknown section [{top}]",
                          "sections: " + ", ".join(f"[{s}]" for s in SCHEMA if s))
            for key, v in value.items():
                values[top][key] = _checked(top, key, v, err)
        else:
            values[""][top] = _checked("", top, value, err)
    s, c, d, x = values["scale"], values["conductance"], values["diode"], values["crossbar"]
    for key in ("volts_per_unit", "siemens_per_unit"):
        if not (0 < s[key] < math.inf):
            raise err("scale", key, f"[scale] {key} must be a positive number, got {s[key]!r}")
    if not 0 <= c["g_min"] < math.inf:
        raise err("conductance", "g_min", f"[conductance] g_min must be 0 or more siemens, got {c['g_min']!r}")
    if not c["g_max"] > c["g_min"]:
        raise err("conductance", "g_max", f"[conductance] g_max ({c['g_max']!r} S) must be above g_min "
                  f"({c['g_min']!r} S)")
    if c["bits"] and c["series"]:
        raise err("conductance", "series", "[conductance] give bits or series, not both",
                  "bits: evenly spaced levels (memristors); series: a resistor series (discrete parts)")
    if not 0 <= c["bits"] <= 24:
        raise err("conductance", "bits", f"[conductance] bits must be 1 to 24 (0: no levels), got {c['bits']}")
    if c["bits"] and c["g_max"] == math.inf:
        raise err("conductance", "bits", "[conductance] bits needs a finite g_max: the levels lie between "
                  "g_min and g_max", "set g_max (siemens)")
    if c["series"] and c["series"].upper() not in SERIES:
        raise err("conductance", "series", f"[conductance] unknown series '{c['series']}'",
                  f"choose from {', '.join(SERIES)}")
    for key in ("variation", "programming_noise"):
        if not 0 <= c[key] <= 2:
            raise err("conductance", key, f"[conductance] {key} is a log-normal sigma from 0 to 2, got {c[key]!r}")
    if d["model"] not in DIODE_MODELS:
        raise err("diode", "model", f"unknown diode model '{d['model']}'", f"choose from {', '.join(DIODE_MODELS)}")
    for key in ("vfwd", "ron", "rs"):
        if not 0 <= d[key] < math.inf:
            raise err("diode", key, f"[diode] {key} must be 0 or more, got {d[key]!r}")
    for key in ("is", "n"):
        if not 0 < d[key] < math.inf:
            raise err("diode", key, f"[diode] {key} must be a positive number, got {d[key]!r}")
    if not 0 <= x["wire_ohms"] < math.inf:
        raise err("crossbar", "wire_ohms", f"[crossbar] wire_ohms must be 0 or more, got {x['wire_ohms']!r}")
    for key in ("array_rows", "array_columns"):
        if x[key] < 0:
            raise err("crossbar", key, f"[crossbar] {key} must be 0 (the whole layer) or more, got {x[key]}")
    top = values[""]
    return Profile(top["name"], tuple(top["references"]), s["volts_per_unit"], s["siemens_per_unit"], c["g_min"],
                   c["g_max"], c["zero_is_open"], c["bits"], c["series"].upper(), c["variation"], c["programming_noise"],
                   Diode(d["model"], d["vfwd"], d["ron"], d["is"], d["n"], d["rs"]), x["wire_ohms"],
                   x["array_rows"], x["array_columns"], path)


def _checked(section: str, key: str, value, err):
    """``value`` of ``[section] key`` in its schema type (an int where a number is asked is a float)."""
    keys = SCHEMA.get(section, {})
    where = f"[{section}] " if section else ""
    if key not in keys:
        raise err(section, key, f"unknown key '{key}'{' in [' + section + ']' if section else ''}",
                  f"keys{' of [' + section + ']' if section else ' at the top'}: {', '.join(keys)}")
    kind = keys[key][0]
    if kind == _NUMBER and isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isnan(value):
            raise err(section, key, f"{where}{key} must be a number, got nan")
        return float(value)
    if kind == _INTEGER and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == _BOOLEAN and isinstance(value, bool):
        return value
    if kind == _STRING and isinstance(value, str):
        return value
    if kind == _STRINGS and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise err(section, key, f"{where}{key} must be a {kind}, got {value!r}")
