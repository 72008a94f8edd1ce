"""GHC's ``show`` for values of the table types, emulated exactly.

Responsible for: ``show_value``, the text GHC's ``showsPrec`` gives for a Python value of a
canonical table type (``core.protocol.type_table``), down to ``showLitString``'s escapes and
``GHC.Float``'s shortest-digits rendering of ``Double`` and ``Float``; and
``sorted_for_show``, the order in which a Python set is shown as a Haskell ``Set``.

Must not: decode payloads or build Haskell expressions (``core.protocol.payload``,
``core.protocol.to_haskell``), or perform I/O.
"""

from __future__ import annotations

import math
import re
import struct
from fractions import Fraction
from typing import Any, Final

from core.protocol.haskell_types import HsType, is_tuple_con
from core.protocol.type_table import INTEGRAL_TYPE_NAMES
from core.protocol.value_classes import Just, Left, Nothing, Right

__all__ = ["show_value", "sorted_for_show"]


def show_value(value: object, t: HsType, prec: int = 0) -> str:
    """GHC's ``showsPrec prec`` text of ``value``, a Python value of canonical table type
    ``t`` (Sets and Maps may also be given as lists / lists of pairs in GHC's order).

    Raises:
        ValueError: the value does not fit the type.
    """
    try:
        return _shows(value, t, prec)
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"value does not fit type {t.render()}: {exc}") from None


def _paren(cond: bool, text: str) -> str:
    return f"({text})" if cond else text


_DECIMAL_LIMIT: Final = 10 ** 4000


def _to_decimal(n: int) -> str:
    if -_DECIMAL_LIMIT < n < _DECIMAL_LIMIT:
        return str(n)
    if n < 0:
        return "-" + _to_decimal(-n)
    k = 4000
    while 10 ** (2 * k) <= n:
        k *= 2
    high, low = divmod(n, 10 ** k)
    return _to_decimal(high) + _to_decimal(low).rjust(k, "0")


def _shows(v: object, t: HsType, p: int) -> str:
    con = t.con
    if con in INTEGRAL_TYPE_NAMES:
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"expected int, got {type(v).__name__}")
        return _paren(p > 6 and v < 0, _to_decimal(v))
    if con == "Double":
        assert isinstance(v, float)
        return _show_float(v, p, double=True)
    if con == "Float":
        assert isinstance(v, float)
        return _show_float(v, p, double=False)
    if con == "Bool":
        if not isinstance(v, bool):
            raise TypeError("expected bool")
        return "True" if v else "False"
    if con == "()":
        if v is not None:
            raise TypeError("expected None")
        return "()"
    if con == "Char":
        assert isinstance(v, str) and len(v) == 1
        return "'\\''" if v == "'" else "'" + _show_lit_string(v, in_char=True) + "'"
    if con in ("Text", "LazyText"):
        assert isinstance(v, str)
        return '"' + _show_lit_string(v) + '"'
    if con in ("ByteString", "LazyByteString"):
        assert isinstance(v, (bytes, bytearray))
        return '"' + _show_lit_string(bytes(v).decode("latin-1")) + '"'
    if con == "[]":
        elem = t.args[0]
        if elem.con == "Char":
            if not isinstance(v, str):
                raise TypeError("expected str")
            return '"' + _show_lit_string(v) + '"'
        return _show_list(_as_list(v), elem)
    if is_tuple_con(con):
        assert isinstance(v, tuple) and len(v) == len(t.args)
        return "(" + ",".join(_shows(x, a, 0) for x, a in zip(v, t.args, strict=True)) + ")"
    if con == "Maybe":
        if v is Nothing:
            return "Nothing"
        if not isinstance(v, Just):
            raise TypeError("expected Just or Nothing")
        return _paren(p > 10, "Just " + _shows(v.value, t.args[0], 11))
    if con == "Either":
        if isinstance(v, Left):
            return _paren(p > 10, "Left " + _shows(v.value, t.args[0], 11))
        if isinstance(v, Right):
            return _paren(p > 10, "Right " + _shows(v.value, t.args[1], 11))
        raise TypeError("expected Left or Right")
    if con == "Ratio":
        assert isinstance(v, Fraction)
        # GHC.Real: showsPrec p (x :% y) = showParen (p > 7) $ showsPrec 8 x . " % " . ...
        return _paren(p > 7, _shows(v.numerator, t.args[0], 8) + " % "
                      + _shows(v.denominator, t.args[0], 8))
    if con in ("Map", "IntMap"):
        key_t = HsType("Int") if con == "IntMap" else t.args[0]
        items = list(v.items()) if isinstance(v, dict) else _as_list(v)
        pair = HsType("(,)", (key_t, t.args[-1]))
        return _paren(p > 10, "fromList " + _show_list(items, pair))
    if con in ("Set", "IntSet"):
        elem = HsType("Int") if con == "IntSet" else t.args[0]
        items = _as_list(v)
        if isinstance(v, (set, frozenset)):
            items = sorted_for_show(items)
        return _paren(p > 10, "fromList " + _show_list(items, elem))
    raise TypeError(f"not a table type: {t.render()}")


def _as_list(v: object) -> list[Any]:
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, (set, frozenset)):
        return list(v)
    raise TypeError(f"expected a sequence, got {type(v).__name__}")


def sorted_for_show(items: list[Any]) -> list[Any]:
    """The elements of a Python set in the order GHC shows the Haskell ``Set``.

    A Python set has no order; GHC shows a Set ascending. Python's order agrees with
    Haskell's Ord for the table's scalars and sequences; anything else keeps set order.
    """
    try:
        return sorted(items)
    except TypeError:
        return items


def _show_list(items: list[Any], elem: HsType) -> str:
    if elem.con == "Char":
        # showList for Char is a string literal (show (Data.Set.fromList "ab") is
        # fromList "ab").
        return '"' + _show_lit_string("".join(items)) + '"'
    if elem.con in INTEGRAL_TYPE_NAMES and all(type(x) is int for x in items):
        # showList for integral types: no parentheses around negatives inside brackets.
        return "[" + ",".join(map(_to_decimal, items)) + "]"
    return "[" + ",".join(_shows(x, elem, 0) for x in items) + "]"


# showLitChar's table of control-character names (GHC.Show.asciiTab).
_ASCII_NAMES: Final = (
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
    "ESC", "FS", "GS", "RS", "US", "SP",
)
_CHAR_ESCAPES: Final = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
    "\v": "\\v", "\\": "\\\\", "\x7f": "\\DEL",
}
_NEEDS_ESCAPE_RE: Final = re.compile(r'[^\x20-\x7e]|["\\]')


def _show_lit_string(s: str, *, in_char: bool = False) -> str:
    """GHC.Show.showLitString (``in_char``: showLitChar of one Char, where '"' is plain)."""
    if _NEEDS_ESCAPE_RE.search(s) is None:
        return s

    def escape(m: re.Match[str]) -> str:
        c = m.group()
        o = ord(c)
        nxt = m.string[m.end():m.end() + 1]
        if c == '"':
            return '"' if in_char else '\\"'
        if o > 0x7F:
            # A numeric escape followed by a digit gets "\&" (protectEsc isDigit).
            return f"\\{o}" + ("\\&" if nxt.isascii() and nxt.isdigit() else "")
        if c in _CHAR_ESCAPES:
            return _CHAR_ESCAPES[c]
        if c == "\x0e":
            # "\SO" followed by 'H' would read back as "\SOH" (protectEsc (== 'H')).
            return "\\SO" + ("\\&" if nxt == "H" else "")
        return "\\" + _ASCII_NAMES[o]

    return _NEEDS_ESCAPE_RE.sub(escape, s)


def _show_float(x: float, p: int, *, double: bool) -> str:
    # GHC.Float: showSignedFloat (parentheses when p > 6 and x < 0 or -0.0) over
    # formatRealFloat FFGeneric Nothing, whose digits come from floatToDigits 10.
    if x != x:
        return "NaN"
    if x in (math.inf, -math.inf):
        return _paren(p > 6, "-Infinity") if x < 0 else "Infinity"
    negative = x < 0 or (x == 0 and math.copysign(1.0, x) < 0)
    ds, e = _float_digits(-x if negative else x, double=double)
    if e < 0 or e > 7:  # FFExponent
        if ds == "0":
            text = "0.0e0"
        elif len(ds) == 1:
            text = f"{ds}.0e{e - 1}"
        else:
            text = f"{ds[0]}.{ds[1:]}e{e - 1}"
    elif e <= 0:  # FFFixed, below 1
        text = "0." + "0" * -e + ds
    else:
        if len(ds) < e:
            ds += "0" * (e - len(ds))
        text = ds[:e] + "." + (ds[e:] or "0")
    if negative:
        return f"(-{text})" if p > 6 else "-" + text
    return text


_F64: Final = struct.Struct("<d")
_U64: Final = struct.Struct("<Q")
_F32: Final = struct.Struct("<f")
_U32: Final = struct.Struct("<I")
_MIN_NORMAL: Final = 2.2250738585072014e-308


def _decompose(x: float, *, double: bool) -> tuple[int, int]:
    """(f, e) with x == f * 2**e, as GHC's floatToDigits has them after its denormal fix-up:
    f has the full precision except for denormals, whose exponent is the minimum."""
    if double:
        bits = _U64.unpack(_F64.pack(x))[0]
        exp, frac = (bits >> 52) & 0x7FF, bits & ((1 << 52) - 1)
        return (frac, -1074) if exp == 0 else (frac | (1 << 52), exp - 1075)
    bits = _U32.unpack(_F32.pack(x))[0]
    exp, frac = (bits >> 23) & 0xFF, bits & ((1 << 23) - 1)
    return (frac, -149) if exp == 0 else (frac | (1 << 23), exp - 150)


def _float_digits(x: float, *, double: bool) -> tuple[str, int]:
    """GHC.Float.floatToDigits 10 for a non-negative finite x: digits d1..dn and exponent
    e with x ~ 0.d1..dn * 10**e (the shortest digits that read back as x, with GHC's rule
    that a rounding boundary itself is never used)."""
    if not double:
        x = _F32.unpack(_F32.pack(x))[0]
    if x == 0:
        return "0", 0
    if double:
        fast = _repr_digits(x)
        if fast is not None:
            return fast
    return _burger_dybvig(*_decompose(x, double=double), precision=53 if double else 24,
                          min_exp=-1074 if double else -149)


def _repr_digits(x: float) -> tuple[str, int] | None:
    # Python's repr also gives the shortest digits that read back as x, but it differs from
    # GHC in two corners, which are detected exactly here (None: use the full algorithm):
    # * a tie between two nearest candidates: repr rounds half to even, GHC up
    #   (1110976277310404.25 is "...404.2" in Python, "...404.3" in GHC);
    # * a rounding boundary: repr may use one that round-half-even maps back to x (even
    #   mantissa), GHC never does (show (1.0e23 :: Double) == "9.999999999999999e22").
    # Both need x or the boundary to end exactly one decimal place after repr's last
    # digit, which the cheap tests below rule out for almost every number.
    mant, _, exp = repr(x).partition("e")
    whole, _, frac = mant.partition(".")
    if frac == "0":
        frac = ""
    digits = (whole + frac).lstrip("0")
    q = (int(exp) if exp else 0) - len(frac)  # the power of ten of the last digit
    stripped = digits.rstrip("0")
    q += len(digits) - len(stripped)
    digits = stripped
    num, den = x.as_integer_ratio()
    x_places = den.bit_length() - 1  # decimal places of x's exact expansion
    if (q <= 0 and x_places == 1 - q) or (q >= 1 and x_places == 0):
        distance = abs(Fraction(num, den) - int(digits) * Fraction(10) ** q)
        if distance * 2 == Fraction(10) ** q:
            return None
    e = math.frexp(x)[1] - 53 if x >= _MIN_NORMAL else -1074
    if (e <= 1 and -q in (1 - e, 2 - e)) or (e >= 1 and q >= 0):
        f, e = _decompose(x, double=True)
        if f % 2 == 0:
            decimal = int(digits) * Fraction(10) ** q
            high = Fraction(2 * f + 1) * Fraction(2) ** (e - 1)
            low = (Fraction(4 * f - 1) * Fraction(2) ** (e - 2) if f == 1 << 52 and e > -1074
                   else Fraction(2 * f - 1) * Fraction(2) ** (e - 1))
            if decimal in (low, high):
                return None
    return digits, len(digits) + q


def _burger_dybvig(f: int, e: int, *, precision: int, min_exp: int) -> tuple[str, int]:
    # The free-format algorithm of Burger & Dybvig as GHC.Float.floatToDigits runs it:
    # r/s is the value, m_up/m_dn the distances to the rounding boundaries (both excluded).
    p = precision
    if e >= 0:
        be = 1 << e
        if f == 1 << (p - 1):
            r, s, m_up, m_dn = f * be * 4, 4, be * 2, be
        else:
            r, s, m_up, m_dn = f * be * 2, 2, be, be
    elif e > min_exp and f == 1 << (p - 1):
        r, s, m_up, m_dn = f * 4, (1 << (-e + 1)) * 2, 2, 1
    else:
        r, s, m_up, m_dn = f * 2, (1 << -e) * 2, 1, 1
    # k: GHC's estimate from log10 2 ~ 8651/28738 (quot truncates), then the fix-up.
    lx = f.bit_length() - 1 + e
    k1 = int(lx * 8651 / 28738) if lx >= 0 else -((-lx * 8651) // 28738)
    k = k1 + 1 if lx >= 0 else k1
    while True:
        if k >= 0:
            if r + m_up <= 10 ** k * s:
                break
        elif 10 ** (-k) * (r + m_up) <= s:
            break
        k += 1
    if k >= 0:
        s *= 10 ** k
    else:
        scale = 10 ** (-k)
        r, m_up, m_dn = r * scale, m_up * scale, m_dn * scale
    digits: list[int] = []
    while True:
        d, r = divmod(r * 10, s)
        m_up *= 10
        m_dn *= 10
        low, high = r < m_dn, r + m_up > s
        if low and not high:
            digits.append(d)
            break
        if high and not low:
            digits.append(d + 1)
            break
        if low and high:
            digits.append(d if r * 2 < s else d + 1)
            break
        digits.append(d)
    return "".join(map(str, digits)), k

