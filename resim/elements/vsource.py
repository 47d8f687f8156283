"""V: the independent voltage source, ``v_p - v_n = value``; its current flows into ``p``,
through the source, out of ``n`` (a source delivering power has a negative current).

Its card (I's too, :mod:`.isource`), as ngspice 39 reads it (:func:`read`): ``[DC] value``,
``DC=value``, ``DC(value)``, ``AC mag [phase]``, and the waveforms ``PULSE``, ``SIN``,
``EXP``, ``PWL``, ``SFFM``, ``AM``, ``TRNOISE``, ``TRRANDOM``, whose value at t = 0 is the
operating point's when no DC value is given (:class:`DcValue` settles several). Native to
the bulk reader (plain ``Vname a b value`` lines without the grammar) and to both solvers;
a 0 V source is a short, merged by compilation unless a current-controlled source reads
its current.
"""

from __future__ import annotations

from .kind import ElementKind, NgspiceLine

KEYWORDS = ("dc", "ac", "distof1", "distof2")  # a V or I card's keywords, besides its waveforms


def read(card):
    """A V or I card's DC value, read as ngspice 39 reads it (:class:`DcValue`)."""
    items = [i for i in card.items if not card.is_(i, "comma")]
    params: dict = {}
    columns: dict[str, int] = {}
    dc = DcValue()
    wave = None  # (word, its arguments, its item)
    refused = None  # a waveform resim cannot take the value of at t = 0
    k = 0
    while k < len(items):
        item = items[k]
        nxt = items[k + 1] if k + 1 < len(items) else None
        word = card.word(item)
        if word == "dc":
            inner = [c for c in nxt.children if not card.is_(c, "comma")] if card.is_(nxt, "group") else []
            if len(inner) == 1 and card.is_(inner[0], "number", "braced"):  # dc(5), as KiCad writes it
                nxt = inner[0]
            after = items[k + 2] if k + 2 < len(items) else None
            if card.is_(nxt, "number", "braced"):
                dc.keyword(card.value(nxt), card.column(nxt))
                k += 1
            elif (card.is_(nxt, "word") and card.identifier(card.text(nxt))
                  and card.word(nxt) not in (*KEYWORDS, *card.WAVEFORMS)
                  and not card.is_(after, "group")):  # DC A: parameter A's value (ngspice reads `V1 1 0 DC A`)
                dc.keyword(card.parameter(nxt), card.column(nxt))
                k += 1
            else:
                dc.keyword(None, card.column(item))
        elif word in KEYWORDS[1:]:
            for _ in range(2):  # magnitude and phase: no DC meaning
                if card.is_(items[k + 1] if k + 1 < len(items) else None, "number", "braced"):
                    k += 1
        elif word in card.WAVEFORMS:
            if card.is_(nxt, "group"):
                args = [card.value(a) if card.is_(a, "number", "braced") else card.parameter(a)
                        for a in nxt.children if not card.is_(a, "comma")]
                k += 1
            else:
                args = []
                while k + 1 < len(items) and card.is_(items[k + 1], "number", "braced"):
                    args.append(card.value(items[k + 1]))
                    k += 1
            wave = (word, args, item)
        elif word is not None and card.is_(nxt, "group"):
            refused = item
            k += 1 if card.is_(nxt, "group") else 0
        elif card.is_(item, "number", "braced") and dc.empty and wave is None:
            dc.lead = card.value(item)
            dc.lead_column = card.column(item)
        elif word is not None and dc.empty and wave is None and card.identifier(card.text(item)) and not any(
                card.is_(later, "number", "braced") for later in items[k + 1:]):
            dc.lead = card.parameter(item)  # a bare parameter name: its value (ngspice reads `V1 1 0 A`)
            dc.lead_column = card.column(item)
        elif card.is_(item, "assignment") and card.key(item) == "dc":
            dc.keyword(card.value(item.children[1]), card.column(item))
        elif card.is_(item, "assignment") and card.key(item) == "ac":
            pass  # no DC meaning
        elif card.is_(item, "assignment") and card.key(item) == "m" and card.kind == "i":
            card.params(item, ("m",), params, columns)  # m copies in parallel
        else:
            raise card.unexpected(item, "DC, AC, a waveform or the end of the line" if not dc.empty or wave
                                  else card.EXPECT_VALUE)
        k += 1
    value = dc.value()
    if value is None and wave is not None:
        value = card.at_time_zero(*wave)
    elif value is None and refused is not None:
        raise card.error(refused, f"the waveform '{card.word(refused)}' has no DC value resim can take",
                         f"give the source a DC value (write: {card.name.upper()} n+ n- DC value ...); resim reads "
                         f"{', '.join(w.upper() for w in card.WAVEFORMS)} at t = 0")
    dc.warn(card, overridden=wave is not None or refused is not None)
    return card.stmt(card.nodes(), 0.0 if value is None else value, params=params,
                     columns=columns)


class DcValue:
    """The DC value of a V or I card, as ngspice 39 settles it when several are given
    (measured: ``tests/test_spice_constructs.py::REPEATED_DC``):

    * a value right after the nodes (``V1 a 0 1 DC 2``: 1 V) wins over every DC keyword;
    * else the last ``DC v``, ``DC=v`` or ``DC(v)`` wins (``DC 1 AC 1 DC 3``: 3 V), and a
      ``DC`` without a value sets 0 (``DC 1 DC``: 0 V; ``DC PULSE(1 5)``: 0 V, not the
      waveform's 1 V).

    What was given more than once is said in a warning (:meth:`warn`)."""

    def __init__(self) -> None:
        self.lead: object = None
        self.lead_column = 0
        self.keywords: list[tuple[object, int]] = []  # (value, column) of each DC keyword, None: no value

    @property
    def empty(self) -> bool:
        return self.lead is None and not self.keywords

    def keyword(self, value: object, column: int) -> None:
        self.keywords.append((value, column))

    def value(self) -> object:
        """The DC value (None: none given)."""
        if self.lead is not None:
            return self.lead
        if self.keywords:
            last = self.keywords[-1][0]
            return 0.0 if last is None else last
        return None

    def warn(self, card, overridden: bool) -> None:
        """A warning where the value used is not the only one written (``overridden``: a
        waveform whose value at t = 0 a DC keyword replaces)."""
        values = [c for v, c in self.keywords if v is not None] + ([self.lead_column] if self.lead is not None else [])
        used = self.value()
        shown_value = f" ({used:g})" if isinstance(used, float) else ""
        if self.lead is not None and len(values) > 1:
            column, why = self.lead_column, (f"{len(values)} DC values given; the one after the nodes{shown_value} "
                                             "is used, as ngspice 39 does (it wins over DC keywords)")
        elif self.lead is None and self.keywords and self.keywords[-1][0] is None and (values or overridden):
            column = self.keywords[-1][1]
            why = ("DC without a value is read as DC 0, as ngspice 39 does; the "
                   + ("earlier DC value" if values else "waveform's value at t = 0") + " is not used")
        elif self.lead is None and len(self.keywords) > 1:
            column, why = self.keywords[-1][1], (f"{len(self.keywords)} DC values given; the last one{shown_value} "
                                                 "is used, as ngspice 39 does")
        else:
            return
        card.warnings.append(f"{card.line.location(column)}: warning: {card.label}: {why}")


def write(line: NgspiceLine) -> str:
    return f"{line.name} {' '.join(line.nodes)} dc {line.value}"


KIND = ElementKind("v", "vsource", "voltage source", 2, "V", "write: Vname node+ node- [DC] value   (e.g. V1 in 0 DC 5)",
                   source=True, sweepable=True, holds_voltage=True, read=read, write=write)
