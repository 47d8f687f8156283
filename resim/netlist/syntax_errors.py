"""The wording of syntax errors: a line the grammar rejects, said in the netlist's terms.

A Lark error (:class:`lark.exceptions.UnexpectedInput`) becomes a :class:`NetlistError` at
the physical ``file:line:column`` of the offending token, naming the statement
(``resistor 'r1'``, ``'.model'``), what was found and what the grammar expected there in
words (``a number``, ``the end of the line``), with the element kind's usage as the hint.
A line that ends early (Lark's ``UnexpectedEOF``, or an unexpected ``$END`` token, which
has no usable column) is reported just after its last character.

Lark is imported only when a line has already failed to parse.
"""

from __future__ import annotations

from ..elements import ELEMENTS, REFUSED, SIMULATES, letters
from ..errors import NetlistError, printable
from .source import LogicalLine

_EXPECT_WORDS = {
    "NAME": "a name",
    "NODE": "a node name",
    "NUMBER": "a number",
    "UNUMBER": "a number",
    "IDENT": "a parameter name",
    "LBRACE": "'{expression}'",
    "QUOTE": "a quoted expression",
    "DC_KW": "DC",
    "AC_KW": "AC",
    "PARAMS_KW": "params:",
    "EQUAL": "'='",
    "LPAR": "'('",
    "RPAR": "')'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "QMARK": "'?'",
    "COLON": "':'",
    "SQ_STRING": "a quoted path",
    "STRING": "a quoted path",
    "PATH": "a file path",
    "$END": "the end of the line",
}


def describe_expected(expected: set[str]) -> str:
    """Terminal names (``{"NUMBER", "LBRACE"}``) as words: ``a number or '{expression}'``."""
    words = []
    for name in sorted(expected):
        w = _EXPECT_WORDS.get(name)
        if w is None:
            if name.endswith("_NAME") or name.startswith("DOT_") or name == "OTHER_DOT":
                w = "an element or dot-command"
            elif name in ("PLUS", "MINUS", "STAR", "SLASH", "BANG") or name.endswith("_OP"):
                w = "an operator"
            else:
                w = name.lower()
        if w not in words:
            words.append(w)
    if len(words) > 1:
        return ", ".join(words[:-1]) + " or " + words[-1]
    return words[0] if words else "something else"


def shown(token: str) -> str:
    """A token of the user's as a message quotes it: printable, and cut when long."""
    return printable(token, 40)


def statement_label(text: str) -> str:
    """How a message names the statement on logical line ``text``: ``resistor 'r1'``, ``'.model'``."""
    word = text.split(maxsplit=1)[0] if text.strip() else ""
    kind = word[:1].lower()
    if kind in ELEMENTS:
        return f"{ELEMENTS[kind].word} '{shown(word.lower())}'"
    return f"'{shown(word.lower())}'"


def unsupported_element(line: LogicalLine) -> NetlistError | None:
    """The error for a line that starts with a letter no element kind has, else None."""
    text = line.text
    first = text[:1].lower()
    if not first.isalpha() or first in ELEMENTS or first == "k":
        return None
    word = text.split()[0]
    what = REFUSED.get(first)
    if what is not None:
        article = "an" if what[0].lower() in "aeiox" else "a"
        return line.error(1, f"'{shown(word)}': {article} {what} is not supported", SIMULATES)
    return line.error(1, f"unsupported element type '{word[0].upper()}' ('{shown(word)}')",
                      f"resim reads {letters(tuple(ELEMENTS))} elements (DC analysis only)")


def syntax_error(exc: Exception, line: LogicalLine) -> NetlistError:
    """The :class:`NetlistError` for Lark's ``UnexpectedInput`` ``exc`` on ``line``."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    text = line.text
    label = statement_label(text)
    kind = ELEMENTS.get(text[:1].lower())
    hint = kind.hint if kind and not text.startswith(".") else None
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        expected = getattr(exc, "expected", None) or getattr(exc, "accepts", None) or set()
        column = len(text) + 1
        message = f"{label}: line ends early; expected {describe_expected(set(expected))}"
    elif isinstance(exc, UnexpectedToken):
        column = exc.column
        expected = exc.accepts or exc.expected
        message = f"{label}: unexpected '{shown(str(exc.token))}'; expected {describe_expected(set(expected))}"
    elif isinstance(exc, UnexpectedCharacters):
        column = exc.column
        allowed = set(exc.allowed or ())
        rest = text[exc.pos_in_stream:]
        bad = rest[:12].split()[0] if rest.strip() else text[exc.pos_in_stream]
        message = f"{label}: unexpected '{shown(bad)}'; expected {describe_expected(allowed)}"
    else:  # pragma: no cover - lark raises only the three above
        column = 1
        message = f"{label}: syntax error"
    return line.error(column, message, hint)


# Dot cards resim reads, and those of SPICE dialects (ngspice, HSPICE, LTspice) it ignores:
# any other is a typo's likely sign (.modle), said with the card it probably meant.
RESIM_DOT_CARDS = (".model", ".param", ".func", ".options", ".option", ".opt", ".temp", ".subckt", ".ends",
                   ".include", ".inc", ".lib", ".endl", ".global", ".op", ".dc", ".end", ".control", ".endc")
SPICE_DOT_CARDS = frozenset(RESIM_DOT_CARDS + (
    ".tran", ".ac", ".noise", ".disto", ".pz", ".sens", ".tf", ".four", ".sp", ".pss", ".print", ".plot", ".save",
    ".probe", ".ic", ".nodeset", ".meas", ".measure", ".width", ".title", ".csparam", ".if", ".elseif", ".else",
    ".endif", ".alter", ".data", ".enddata", ".protect", ".unprotect", ".hdl", ".connect", ".macro", ".eom",
    ".step", ".backanno", ".wave", ".net", ".ferret", ".loadbias", ".savebias", ".machine", ".endmachine",
    ".mc", ".wcase", ".distribution", ".stimulus", ".stimlib", ".extract"))


def meant_card(word: str) -> str | None:
    """The dot card a misspelled ``word`` probably meant (``.modle``: ``.model``), or None."""
    from difflib import get_close_matches

    close = get_close_matches(word.lower(), sorted(SPICE_DOT_CARDS), n=1, cutoff=0.6)
    return close[0] if close else None

