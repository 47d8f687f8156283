"""``.model`` cards and instance parameters to element values, as ngspice 39 computes them.

Diodes (level 1): a model's ``IS``, ``RS`` and ``BV`` are taken to the circuit's temperature
``T`` (kelvin) from the model's ``TNOM`` (``.options tnom``, default 27 C), with
``dT = T - TNOM`` and ``Vt = k T / q``::

    IS(T) = IS exp((T/TNOM - 1) EG / (N Vt) + (XTI / N) ln(T/TNOM))     (EG = 1.11, XTI = 3)
    RS(T) = RS (1 + TRS1 dT + TRS2 dT^2)                                (TRS is TRS1)
    BV(T) = BV - TCV dT

The recombination current (``ISR`` given; ``NR`` default 1, as ngspice 39 measures) and
the knee currents ``IKF`` (alias ``IK``) and ``IKR`` (off when below 1e-28 A, as ngspice)::

    ISR(T) = ISR exp((T/TNOM - 1) EG / (NR Vt) + (XTI / NR) ln(T/TNOM))
    VJ(T)  = ngspice's junction-potential law (TLEVC=0; TLEVC=1: VJ - TPB (T - 300.15 K)),
             capped at 1/FC                                               (VJ = 1, FC = 0.5)
    M(T)   = M (1 + TM1 dT + TM2 dT^2), capped at 0.9                     (M = 0.5)

An instance's ``area`` and ``m`` scale the junction (the diode's value is ``area * m``:
``IS``, ``ISR``, ``IKF`` and ``IKR`` times it, ``RS`` over it); a sidewall ``JSW * PJ`` adds
to ``IS`` (``m`` times); the breakdown current ``IBV`` scales by ``m`` only. Where an instance
needs other values than its model's (a sidewall, a breakdown with ``m``), it gets a variant
of the model of its own. Parameters that change a DC answer and are not modelled (``TLEV``,
a separate sidewall ``NS``, ``LEVEL`` other than 1) are refused; those of capacitance and
noise are accepted and have no effect.

Resistors: the value on the card wins; else, with a model, ``RSH (L - 2 SHORT) / (W - 2
NARROW)`` when ``L W RSH > 0`` (``L``, ``W`` default to the model's ``L`` and ``DEFW``, 10 um),
else the model's ``R``; else 1 milliohm (with a warning, as ngspice). Then::

    R_eff = R factor scale / m,   factor = 1.01^(TCE dT) if TCE is given, else 1 + TC1 dT + TC2 dT^2

with ``dT = T_inst - TNOM``, ``T_inst`` the instance's ``temp`` (C) or the circuit's plus ``dtemp``.
An ``R_eff`` of 0 or not finite (ngspice: NaN) is refused; a negative ``factor`` is kept, as
ngspice keeps it (the caller warns).

Every temperature (the circuit's, ``TNOM``, an instance's) must be above absolute zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, NamedTuple

from ..circuit import BOLTZMANN, CELSIUS, CHARGE, NOMINAL_TEMPERATURE, DiodeModel
from ..errors import NetlistError
from .expressions import Value
from .options import ABSOLUTE_ZERO_HINT, above_absolute_zero, below_absolute_zero
from .statements import ModelStmt

_SHOCKLEY = {"is": "IS", "n": "N", "rs": "RS", "bv": "BV", "ibv": "IBV", "nbv": "NBV"}
_PWL = {"ron": "Ron", "roff": "Roff", "vfwd": "Vfwd"}
_TEMPERATURE = ("eg", "xti", "tnom", "trs", "trs1", "trs2", "tcv", "jsw", "area", "pj", "level", "tlev", "ns")
# The recombination current and its junction-potential factor (VJ, M, FC, TM1, TM2, TLEVC,
# TPB: they shape the DC law only with ISR), and the knee currents.
_RECOMBINATION = {"isr", "nr", "vj", "pb", "m", "mj", "fc", "tm1", "tm2", "tlevc", "tpb", "tvj", "ikf", "ik", "ikr"}
# Diode parameters with no effect on a DC operating point (capacitance, transit time, noise, geometry).
_NO_DC_EFFECT = {"cjo", "cj0", "cj", "tt", "kf", "af", "cjsw", "cjp", "mjsw", "vjsw",
                 "php", "fcs", "tt1", "tt2", "cp", "cta", "ctp", "tphp", "xti_",
                 "lm", "lp", "wm", "wp", "xom", "xoi", "xm", "xp", "fv_max", "bv_max", "id_max", "pd_max", "te_max",
                 "rth0", "cth0", "tm", "dtemp", "lf", "wf", "ef"}
_IGNORED_AS_NGSPICE = {"tbv1", "tbv2"}  # ngspice 39 reads and ignores them, with a warning: so does resim
EPSMIN = 1e-28  # A: ngspice's CKTepsmin; a knee current below it is off (ngspice warns "IKF too small")
GRADING_MAX = 0.9  # ngspice's cap of the temperature-adjusted grading coefficient M
RESISTOR_MODEL_KEYS = {"rsh", "narrow", "short", "tc1", "tc2", "tce", "defw", "l", "w", "r", "res", "resistance",
                       "tnom", "kf", "af", "lf", "wf", "ef", "bv_max", "noise", "dw", "dlr", "defl", "level"}
DEFAULT_LENGTH = 10e-6  # m: ngspice's default resistor L and DEFW


def thermal_voltage(temperature: float) -> float:
    """``k T / q`` (V) at ``temperature`` (K), with ngspice's constants."""
    return BOLTZMANN * temperature / CHARGE


@dataclass
class ModelError(Exception):
    """A model or instance that resim cannot take, to be located by the caller."""

    message: str
    hint: str | None = None


class DiodeModels:
    """The diode models of a netlist at the circuit's temperature, and their variants.

    :attr:`models` and :attr:`index` (name to position) grow as instances ask for variants
    (:meth:`ref`)."""

    def __init__(self, statements: dict[str, ModelStmt], evaluate: Callable[[ModelStmt, Value, str], float],
                 temperature: float, tnom: float, warnings: list[str]) -> None:
        self.temperature = temperature
        self.models: list[DiodeModel] = []
        self.index: dict[str, int] = {}
        self.sidewall: dict[str, tuple[float, float, float]] = {}  # name: (JSW(T), model AREA, model PJ)
        self.tnom = tnom
        self.warnings = warnings
        self._variants: dict[tuple, str] = {}
        for name, m in statements.items():
            if m.type == "d":
                self.add(name, m, evaluate)

    def add(self, name: str, m: ModelStmt, evaluate: Callable[[ModelStmt, Value, str], float]) -> None:
        """Add diode model card ``m`` under ``name`` (a subcircuit's own models: once per instance)."""
        params = {key: evaluate(m, v, key) for key, v in m.params.items()}
        ignored = [key for key in params if key in _IGNORED_AS_NGSPICE]
        if ignored:
            self.warnings.append(f"{m.location}: warning: model '{m.name}': {', '.join(ignored).upper()} "
                                 "ignored (as ngspice 39 does)")
        try:
            model, sidewall = self._model(name, params, self.tnom)
        except ModelError as exc:
            raise NetlistError(f"model '{m.name}': {exc.message}", location=m.location,
                               source_line=m.line.physical_text(m.location.line), hint=exc.hint) from None
        self.index[name] = len(self.models)
        self.models.append(replace(model, location=m.location))
        self.sidewall[name] = sidewall

    def _model(self, name: str, params: dict[str, float], tnom: float) -> tuple[DiodeModel, tuple]:
        shockley = {_SHOCKLEY[k]: v for k, v in params.items() if k in _SHOCKLEY}
        pwl = {_PWL[k]: v for k, v in params.items() if k in _PWL}
        for key, value in params.items():
            if key in _SHOCKLEY or key in _PWL or key in _NO_DC_EFFECT or key in _TEMPERATURE or key in _RECOMBINATION:
                continue
            if key in _IGNORED_AS_NGSPICE:  # warned about in add()
                continue
            if key in ("vrev", "rrev", "revepsilon", "epsilon", "ilimit", "revilimit"):
                raise ModelError(f"parameter '{key}' (reverse breakdown/smoothing) is not supported",
                                 "resim's piecewise-linear diode takes Ron, Roff and Vfwd")
            raise ModelError(f"unknown diode parameter '{key}'",
                             "Shockley diodes take IS, N, RS, BV, IBV, NBV, EG, XTI, TNOM, TRS1, TRS2, TCV, JSW, "
                             "ISR, NR, IKF, IKR; "
                             "piecewise-linear diodes take Ron, Roff, Vfwd")
        if params.get("level", 1.0) != 1.0:
            raise ModelError(f"LEVEL={params['level']:g} is not supported", "resim reads level-1 diodes")
        if params.get("tlev", 0.0) != 0.0:
            raise ModelError("TLEV other than 0 is not supported", "remove TLEV (the default temperature laws)")
        if params.get("jsw", 0.0) != 0.0 and "ns" in params:
            raise ModelError("a sidewall junction with its own NS is not modelled",
                             "remove NS (the sidewall current then joins IS, as in ngspice)")
        if pwl and shockley:
            raise ModelError(f"mixes Shockley ({', '.join(shockley)}) and piecewise-linear ({', '.join(pwl)}) "
                             "parameters", "use IS/N/RS or Ron/Roff/Vfwd, not both")
        area, pj = params.get("area", 1.0), params.get("pj", 0.0)
        if pwl:
            model = DiodeModel(name, "pwl", **pwl)
            _check(model)
            return model, (0.0, area, pj)
        T = self.temperature
        t0 = params["tnom"] + CELSIUS if "tnom" in params else tnom
        if not above_absolute_zero(t0 - CELSIUS):
            raise ModelError(below_absolute_zero("TNOM", t0 - CELSIUS), ABSOLUTE_ZERO_HINT)
        n = shockley.get("N", 1.0)
        if not n > 0:
            raise ModelError(f"N must be positive, got {n}")
        eg, xti = params.get("eg", 1.11), params.get("xti", 3.0)

        def at_temperature(saturation: float, key: str) -> float:
            return saturation_at(key, saturation, T, t0, eg, xti, n)

        dt = T - t0
        IS = at_temperature(shockley.get("IS", 1e-14), "IS")
        trs1 = params.get("trs1", params.get("trs", 0.0))
        RS = shockley.get("RS", 0.0) * (1.0 + trs1 * dt + params.get("trs2", 0.0) * dt * dt)
        bv = shockley.get("BV", 0.0)
        BV = bv - params.get("tcv", 0.0) * dt if bv != 0.0 else math.inf
        model = DiodeModel(name, "shockley", IS=IS, N=n, RS=RS, BV=BV, IBV=shockley.get("IBV", 1e-3),
                           NBV=shockley.get("NBV"), **_recombination(params, T, t0), **_knees(params))
        _check(model)
        return model, (at_temperature(params.get("jsw", 0.0), "JSW"), area, pj)

    def ref(self, name: str, area: float | None, pj: float | None, m: float) -> tuple[str, float]:
        """The model (its name: ``name`` or a variant's) and the value (``area * m``) of a
        diode of model ``name`` with instance ``area``, ``pj`` (None: the model's) and ``m``.
        An unknown ``name`` is returned as it is (reported later, where the diode is)."""
        k = self.index.get(name)
        if k is None:
            return name, (1.0 if area is None else area) * m
        jsw, model_area, model_pj = self.sidewall[name]
        area = model_area if area is None else area
        pj = model_pj if pj is None else pj
        base = self.models[k]
        changes = {}
        if jsw and pj:
            if math.isfinite(base.BV):  # ngspice's breakdown knee uses the bottom IS alone: not modelled
                raise ModelError(f"model '{name}': a sidewall current (JSW with PJ) together with breakdown (BV) is "
                                 "not modelled", "remove JSW, PJ or BV")
            changes["IS"] = base.IS + jsw * pj / area
        if m != 1.0 and math.isfinite(base.BV):
            changes["IBV"] = base.IBV * m
        if not changes:
            return name, area * m
        key = (name, *sorted(changes.items()))
        variant = self._variants.get(key)
        if variant is None:
            j = len(self._variants) + 1
            while f"{name}_{j}" in self.index:
                j += 1
            variant = self._variants[key] = f"{name}_{j}"
            self.index[variant] = len(self.models)
            self.models.append(replace(base, name=variant, **changes))
        return variant, area * m


def _recombination(params: dict[str, float], T: float, t0: float) -> dict[str, float]:
    """``ISR``, ``NR``, ``VJ``, ``MJ`` of a diode model card at temperature ``T`` (K) from
    ``TNOM`` ``t0`` (ngspice's diotemp.c; none without ``ISR``)."""
    if "isr" not in params:
        return {}
    nr = params.get("nr", 1.0)
    isr = params["isr"]
    if not nr > 0:
        raise ModelError(f"NR must be positive, got {nr}")
    if not (isr >= 0 and math.isfinite(isr)):
        raise ModelError(f"ISR must be >= 0, got {isr}")
    tlevc = params.get("tlevc", 0.0)
    if tlevc not in (0.0, 1.0):
        raise ModelError(f"TLEVC={tlevc:g} is not supported", "TLEVC is 0 or 1")
    dt = T - t0
    isr_t = saturation_at("ISR", isr, T, t0, params.get("eg", 1.11), params.get("xti", 3.0), nr)
    vj = params.get("vj", params.get("pb", 1.0))
    if tlevc == 0.0:
        vj_t = junction_potential(vj, T, t0)
    else:
        vj_t = vj - params.get("tpb", params.get("tvj", 0.0)) * (T - NOMINAL_TEMPERATURE)
    fc = params.get("fc", 0.5)
    if fc * vj_t > 1.0:  # ngspice: "junction potential VJ too large, limited to 1/FC"
        vj_t = 1.0 / fc
    grading = params.get("m", params.get("mj", 0.5))
    grading *= 1.0 + params.get("tm1", 0.0) * dt + params.get("tm2", 0.0) * dt * dt
    if not vj_t > 0:
        raise ModelError(f"the junction potential VJ at {T - CELSIUS:g} C is {vj_t:g} V, not positive",
                         "check VJ, TPB and FC")
    return {"ISR": isr_t, "NR": nr, "VJ": vj_t, "MJ": min(grading, GRADING_MAX)}


def saturation_at(key: str, saturation: float, T: float, t0: float, eg: float, xti: float, n: float) -> float:
    """A saturation current (``IS``, ``ISR``, ``JSW``: ``key``) at ``T`` (K) from ``TNOM`` ``t0``::

        I(T) = I exp((T/t0 - 1) EG / (n Vt) + (XTI / n) ln(T/t0))

    Raises ModelError where a positive current leaves double precision there (0 near
    absolute zero, inf at astronomical temperatures; ngspice 39 gives NaN)."""
    exponent = (T / t0 - 1.0) * eg / (n * thermal_voltage(T)) + xti / n * math.log(T / t0)
    if not 0.0 < saturation < math.inf:  # none (JSW's default 0), or a negative one (_check refuses an IS)
        return saturation * math.exp(min(exponent, 709.78))
    try:
        value = saturation * math.exp(exponent)  # (exactly IS at TNOM, where exp(0) = 1)
    except OverflowError:  # exp(exponent) alone is beyond 1.8e308; IS times it may not be
        log_value = math.log(saturation) + exponent
        value = math.exp(log_value) if log_value < 709.78 else math.inf
    if not value > 0.0 or value == math.inf:
        raise ModelError(f"{key}={saturation:g} A taken to the circuit's temperature, {T - CELSIUS:g} C, is {value:g} A "
                         "there, outside double precision (ngspice gives NaN)",
                         f"give a temperature nearer the model's TNOM ({t0 - CELSIUS:g} C), or check EG and XTI")
    return value


def junction_potential(vj: float, T: float, t0: float) -> float:
    """ngspice's junction potential at ``T`` (K) of ``VJ`` at ``TNOM`` ``t0`` (diotemp.c, TLEVC=0:
    a silicon band gap ``1.16 - 7.02e-4 T^2 / (T + 1108)`` eV referred to 300.15 K)."""

    def pbfact(t: float) -> float:
        egfet = 1.16 - 7.02e-4 * t * t / (t + 1108.0)
        arg = -egfet / (2.0 * BOLTZMANN * t) + 1.1150877 / (2.0 * BOLTZMANN * NOMINAL_TEMPERATURE)
        return -2.0 * thermal_voltage(t) * (1.5 * math.log(t / NOMINAL_TEMPERATURE) + CHARGE * arg)

    pbo = (vj - pbfact(t0)) / (t0 / NOMINAL_TEMPERATURE)
    return pbfact(T) + T / NOMINAL_TEMPERATURE * pbo


def _knees(params: dict[str, float]) -> dict[str, float]:
    """``IKF`` (or ``IK``) and ``IKR`` of a card: those below ngspice's 1e-28 A are off."""
    knees = {"IKF": params.get("ikf", params.get("ik")), "IKR": params.get("ikr")}
    return {key: value for key, value in knees.items() if value is not None and value >= EPSMIN}


def _check(m: DiodeModel) -> None:
    if m.family == "shockley":
        if not (m.IS > 0 and math.isfinite(m.IS)):
            raise ModelError(f"IS must be positive, got {m.IS}")
        if m.RS < 0:
            raise ModelError(f"RS must be >= 0, got {m.RS}")
        if not m.IBV > 0:
            raise ModelError(f"IBV must be positive, got {m.IBV}")
        if m.NBV is not None and not m.NBV > 0:
            raise ModelError(f"NBV must be positive, got {m.NBV}")
    else:
        if m.Ron < 0:
            raise ModelError(f"Ron must be >= 0, got {m.Ron}")
        if not m.Roff > 0:
            raise ModelError(f"Roff must be positive, got {m.Roff}")
        if m.Roff <= m.Ron:
            raise ModelError(f"Roff ({m.Roff}) must exceed Ron ({m.Ron})")


class ResistorModels:
    """The resistor models (``.model NAME R(...)``) of a netlist, their parameters evaluated."""

    def __init__(self, statements: dict[str, ModelStmt], evaluate: Callable[[ModelStmt, Value, str], float]) -> None:
        self.params: dict[str, dict[str, float]] = {}
        for name, m in statements.items():
            if m.type in ("r", "res"):
                self.add(name, m, evaluate)

    def add(self, name: str, m: ModelStmt, evaluate: Callable[[ModelStmt, Value, str], float]) -> None:
        """Add resistor model card ``m`` under ``name``."""
        def error(message: str, hint: str) -> NetlistError:
            return NetlistError(f"model '{m.name}': {message}", location=m.location,
                                source_line=m.line.physical_text(m.location.line), hint=hint)

        for key in m.params:
            if key not in RESISTOR_MODEL_KEYS:
                raise error(f"unknown resistor parameter '{key}'",
                            "resistor models take RSH, DEFW, L, NARROW, SHORT, R, TC1, TC2, TCE, TNOM")
        params = self.params[name] = {key: evaluate(m, v, key) for key, v in m.params.items()}
        if "tnom" in params and not above_absolute_zero(params["tnom"]):
            raise error(below_absolute_zero("TNOM", params["tnom"]), ABSOLUTE_ZERO_HINT)


class Resistance(NamedTuple):
    """A resistor's resistance at its temperature (:func:`resistance`)."""

    ohms: float
    defaulted: bool  # no value nor a model that gives one: 1 milliohm, as ngspice
    factor: float  # the temperature factor (1 + TC1 dT + TC2 dT^2, or 1.01^(TCE dT))
    celsius: float  # the instance's temperature, C


def resistance(value: float | None, model: dict[str, float] | None, inst: dict[str, float], temperature: float,
               tnom: float) -> Resistance:
    """A resistor's resistance at ``temperature`` (K), as ngspice computes it (see the module
    docstring; ``inst``: its instance parameters).

    Raises :class:`ModelError` for an instance temperature at or below absolute zero, and
    for a resistance that is 0 or not finite at its temperature (where ngspice gives NaN: a
    temperature factor of 0, or one that overflows)."""
    model = model or {}
    defaulted = False
    if value is None:
        length = inst.get("l", model.get("l", model.get("defl", DEFAULT_LENGTH)))
        width = inst.get("w", model.get("defw", model.get("w", DEFAULT_LENGTH)))
        rsh = model.get("rsh", 0.0)
        if length * width * rsh > 0:
            effective_width = width - 2.0 * model.get("narrow", 0.0)
            if effective_width == 0.0:  # ngspice: an open circuit
                return Resistance(math.inf, False, 1.0, temperature - CELSIUS)
            value = (length - 2.0 * model.get("short", 0.0)) / effective_width * rsh
        elif model.get("r", model.get("resistance", model.get("res", 0.0))) != 0.0:
            value = model.get("r", model.get("resistance", model.get("res", 0.0)))
        else:
            value, defaulted = 1e-3, True
    elif value == 0.0:
        value = 1e-3
    t_inst = inst["temp"] + CELSIUS if "temp" in inst else temperature + inst.get("dtemp", 0.0)
    celsius = t_inst - CELSIUS
    if not above_absolute_zero(celsius):
        raise ModelError(below_absolute_zero("its temperature (temp=, dtemp=)", celsius), ABSOLUTE_ZERO_HINT)
    dt = t_inst - (model["tnom"] + CELSIUS if "tnom" in model else tnom)
    tce = inst.get("tce", model.get("tce"))
    if tce is not None:
        law = "1.01^(TCE dT)"
        try:
            factor = 1.01 ** (tce * dt)
        except OverflowError:
            factor = math.inf
    else:
        law = "1 + TC1 dT + TC2 dT^2"
        factor = 1.0 + inst.get("tc1", model.get("tc1", 0.0)) * dt + inst.get("tc2", model.get("tc2", 0.0)) * dt * dt
    ohms = value * factor * inst.get("scale", 1.0) / inst.get("m", 1.0)
    if ohms == 0.0 or not math.isfinite(ohms):
        raise ModelError(f"its resistance at {celsius:g} C is {ohms:g} ohm: {value:g} ohm times the temperature factor "
                         f"{law} = {factor:g} (dT = {dt:g} K)",
                         "ngspice gives NaN here; check TC1/TC2/TCE and the temperature (.temp, temp=, dtemp=)")
    return Resistance(ohms, defaulted, factor, celsius)
